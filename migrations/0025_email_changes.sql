-- A customer's change of sign-in address waits here until a link mailed to the new address
-- is used (single use, expiring; the token is kept as a digest, like password_tokens).
CREATE TABLE email_changes (
    id          BIGSERIAL PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    new_email   TEXT NOT NULL,
    token_hash  BYTEA NOT NULL UNIQUE,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- The pending change of a user (a new request voids the older ones).
CREATE INDEX email_changes_pending_idx ON email_changes (user_id) WHERE used_at IS NULL;
