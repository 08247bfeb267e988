-- The learner's names as the customer typed them when assigning a seat. The customer's pages
-- show these (or only the address), never the names on the learner's own account: assigning
-- a seat to an address must not reveal whose address it is. Assignments made before this
-- column existed show the address only.
ALTER TABLE product_instances
    ADD COLUMN learner_firstname TEXT,
    ADD COLUMN learner_lastname  TEXT;
