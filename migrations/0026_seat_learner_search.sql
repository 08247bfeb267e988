-- The customer space's search by learner (issue 12): part of a learner's name or address,
-- within one customer's seats. The seat keeps its learner's address beside the typed names
-- (kept in step by `store::seats::set_assignment` / `clear_assignment` and by a confirmed
-- change of address, `store::email_changes::apply`), so one trigram index, led by the
-- customer (btree_gin), answers the search without reading other customers' seats, nor
-- every seat of this one.
CREATE EXTENSION IF NOT EXISTS btree_gin;

ALTER TABLE product_instances ADD COLUMN learner_email TEXT;
UPDATE product_instances pi SET learner_email = u.email
FROM users u WHERE u.id = pi.assigned_user_id AND pi.kind = 'seat';

CREATE INDEX product_instances_learner_search_idx ON product_instances
    USING gin (customer_id,
               (coalesce(learner_firstname, '') || ' ' || coalesce(learner_lastname, '') || ' '
                || coalesce(learner_email, '')) gin_trgm_ops)
    WHERE assigned_user_id IS NOT NULL;
