-- Checkout needs: the buyer's language for mails sent after the request (production runs
-- from a notification or a worker), and the user a purchase created (to sign that buyer in).
ALTER TABLE bills ADD COLUMN locale TEXT NOT NULL DEFAULT 'en';
ALTER TABLE bills ADD COLUMN created_user_id BIGINT REFERENCES users(id);
CREATE INDEX bills_state_idx ON bills (state, id);
CREATE INDEX customers_user_idx ON customers (user_id);
