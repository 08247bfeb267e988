-- An account created at checkout is unverified until its owner uses a set-password link
-- (docs/accounts.md). `session_epoch` is part of every signed-in session: bumping it ends
-- every session of the user at once (password set or reset).
ALTER TABLE users
    ADD COLUMN verified_at   TIMESTAMPTZ,
    ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;

-- Whoever already chose a password proved the address (set-password link) or was set up by
-- the operator who runs the shop.
UPDATE users SET verified_at = coalesce(last_login_at, created_at) WHERE password_hash IS NOT NULL;

CREATE INDEX password_tokens_user_open ON password_tokens (user_id) WHERE used_at IS NULL;
