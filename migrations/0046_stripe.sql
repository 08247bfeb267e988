-- Issue 11 (Stripe part): Stripe Checkout as an online payment method beside the test gateway.

ALTER TABLE bills DROP CONSTRAINT bills_paymode_check,
    ADD CONSTRAINT bills_paymode_check CHECK (paymode IN ('test', 'transfer', 'free', 'stripe'));
ALTER TABLE settings DROP CONSTRAINT settings_paymodes_known,
    ADD CONSTRAINT settings_paymodes_known
        CHECK (paymodes <@ ARRAY['test', 'transfer', 'free', 'stripe']::TEXT[]);

-- The Checkout Session of a Stripe bill (one per bill: a retry reuses it while it is open),
-- and once paid the PaymentIntent that refunds go through. A table of its own, one row per
-- Stripe bill, rather than columns every other bill would carry empty.
CREATE TABLE stripe_checkouts (
    bill_id         BIGINT PRIMARY KEY REFERENCES bills(id),
    session_id      TEXT NOT NULL UNIQUE,
    url             TEXT NOT NULL,
    -- Stripe's answer for the key used: false for sk_test_ keys.
    livemode        BOOLEAN NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    payment_intent  TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Every webhook event handled, by Stripe's event id: Stripe delivers at least once, and an
-- event seen before changes nothing. Inserted in the transaction that applies the event.
CREATE TABLE stripe_events (
    event_id     TEXT PRIMARY KEY,
    type         TEXT NOT NULL,
    bill_id      BIGINT REFERENCES bills(id),
    -- What the shop made of it: paid, refused, ignored, mismatch (amount or currency), …
    outcome      TEXT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX stripe_events_bill_idx ON stripe_events (bill_id) WHERE bill_id IS NOT NULL;
