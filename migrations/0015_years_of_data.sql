-- Years of data (issue 16): every page costs what it shows, not what the database holds.

-- Substring search on people and organisations: trigram indexes (one expression per table,
-- the one the search compares).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX customers_search_trgm ON customers
    USING gin ((firstname || ' ' || lastname || ' ' || organisation || ' ' || email) gin_trgm_ops);

-- A customer's products in id order, with what their state and course filters read: the
-- customer space's pages (filtered or not) are read from this index alone. With the filters'
-- columns in the heap only, the planner preferred walking the primary key through every
-- customer's seats (13 ms for the largest customer's "available" page).
CREATE INDEX product_instances_customer_list_idx ON product_instances (customer_id, id)
    INCLUDE (kind, assigned_user_id, locked_at, end_at, assigned_course_id, allowed_course_ids);
DROP INDEX product_instances_customer_idx;

-- A bill's seats (the operator's bill page counted them by reading every seat).
CREATE INDEX product_instances_bill_idx ON product_instances (bill_id);
-- A customer's bills, newest first, and the operator's bill search by customer.
CREATE INDEX bills_customer_id_idx ON bills (customer_id, id);
DROP INDEX bills_customer_idx;

-- Bulk assignment takes, line by line, the first free seat allowing the line's course, most
-- restricted first: this index hands them over in that order without sorting every free seat,
-- and carries what the filter reads (expiry, allowed courses).
CREATE INDEX product_instances_free_idx ON product_instances
    (customer_id,
     (CASE WHEN cardinality(allowed_course_ids) = 0 THEN 2147483647
           ELSE cardinality(allowed_course_ids) END),
     id)
    INCLUDE (end_at, allowed_course_ids)
    WHERE kind = 'seat' AND assigned_user_id IS NULL;

-- Expired seats are counted from their end dates: unassigned products past their end.
CREATE INDEX product_instances_expiry_idx ON product_instances (customer_id, end_at)
    WHERE assigned_user_id IS NULL AND end_at IS NOT NULL;

-- ------------------------------------------------------------------ per-customer counters
-- The customer space shows how many products are Available, In use, Locked and Expired. They
-- were counted from every product of the customer on each view (52 ms for 120 000 seats).
-- They are now kept by statement triggers, as the lock time is kept on the seat: `unassigned`
-- (Available or Expired: time alone moves a seat from one to the other, so the expired ones
-- are counted from product_instances_expiry_idx), `in_use`, `locked`.
--
-- Each statement appends its change as a row; a customer's counts are the sum of its rows,
-- which housekeeping folds into one now and then (`store::seats::fold_counts`). Updating one
-- row per customer instead made that row a lock every assignment of the customer queued on,
-- taken in the middle of the assignment: concurrent bulk uploads of one customer deadlocked
-- against each other's group and enrolment inserts.
CREATE TABLE customer_product_counts (
    customer_id  BIGINT NOT NULL REFERENCES customers(id),
    unassigned   BIGINT NOT NULL DEFAULT 0,
    in_use       BIGINT NOT NULL DEFAULT 0,
    locked       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX customer_product_counts_customer_idx ON customer_product_counts (customer_id);

CREATE FUNCTION count_products_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- One row per customer whose counts the statement changed: after minus before.
    INSERT INTO customer_product_counts (customer_id, unassigned, in_use, locked)
    SELECT customer_id, sum(unassigned), sum(in_use), sum(locked)
    FROM (SELECT customer_id,
                 sign * (assigned_user_id IS NULL)::INT AS unassigned,
                 sign * (assigned_user_id IS NOT NULL AND locked_at IS NULL)::INT AS in_use,
                 sign * (assigned_user_id IS NOT NULL AND locked_at IS NOT NULL)::INT AS locked
          FROM (SELECT customer_id, assigned_user_id, locked_at, 1 AS sign FROM new_rows
                UNION ALL
                SELECT customer_id, assigned_user_id, locked_at, -1 FROM old_rows) r) c
    GROUP BY customer_id
    HAVING sum(unassigned) <> 0 OR sum(in_use) <> 0 OR sum(locked) <> 0;
    RETURN NULL;
END;
$$;

-- A trigger with transition tables has one event: inserts and deletes have their own.
CREATE FUNCTION count_products_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO customer_product_counts (customer_id, unassigned, in_use, locked)
    SELECT customer_id,
           count(*) FILTER (WHERE assigned_user_id IS NULL),
           count(*) FILTER (WHERE assigned_user_id IS NOT NULL AND locked_at IS NULL),
           count(*) FILTER (WHERE assigned_user_id IS NOT NULL AND locked_at IS NOT NULL)
    FROM new_rows GROUP BY customer_id;
    RETURN NULL;
END;
$$;

CREATE FUNCTION count_products_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO customer_product_counts (customer_id, unassigned, in_use, locked)
    SELECT customer_id,
           -count(*) FILTER (WHERE assigned_user_id IS NULL),
           -count(*) FILTER (WHERE assigned_user_id IS NOT NULL AND locked_at IS NULL),
           -count(*) FILTER (WHERE assigned_user_id IS NOT NULL AND locked_at IS NOT NULL)
    FROM old_rows GROUP BY customer_id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER product_instances_count_insert
    AFTER INSERT ON product_instances
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_products_inserted();
CREATE TRIGGER product_instances_count_update
    AFTER UPDATE ON product_instances
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_products_updated();
CREATE TRIGGER product_instances_count_delete
    AFTER DELETE ON product_instances
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_products_deleted();

INSERT INTO customer_product_counts (customer_id, unassigned, in_use, locked)
SELECT customer_id,
       count(*) FILTER (WHERE assigned_user_id IS NULL),
       count(*) FILTER (WHERE assigned_user_id IS NOT NULL AND locked_at IS NULL),
       count(*) FILTER (WHERE assigned_user_id IS NOT NULL AND locked_at IS NOT NULL)
FROM product_instances GROUP BY customer_id;

-- ------------------------------------------------------------------ mail
-- The mail worker takes the next due message in (next_attempt_at, id) order: the index gives
-- that order, so a claim reads one entry however many wait. Messages the shop gave up on
-- (never accepted within housekeeping::MAIL_MAX_AGE_DAYS) leave it.
ALTER TABLE outbox ADD COLUMN given_up_at TIMESTAMPTZ;
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at, id)
    WHERE sent_at IS NULL AND given_up_at IS NULL;
DROP INDEX outbox_pending_idx;
-- Finding the ones too old to send, oldest first.
CREATE INDEX outbox_unsent_age_idx ON outbox (created_at)
    WHERE sent_at IS NULL AND given_up_at IS NULL;
