-- The remind throttle asks whether an address got a message within minutes: an index on
-- (recipient, created_at) keeps that a lookup however long the outbox grows.
CREATE INDEX outbox_recipient_created ON outbox (recipient, created_at);
