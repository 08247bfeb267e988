-- Seats a refund paid back but could not take (they were in use): the line still owes them.
-- The next release of one of the line's seats revokes it instead of freeing it, so a customer
-- never gets back, by releasing a learner, a seat whose money was returned.
ALTER TABLE bill_items
    ADD COLUMN seats_owed INTEGER NOT NULL DEFAULT 0 CHECK (seats_owed >= 0);
