-- Issue 11, refunds part: operator refunds (full or per line), their credit notes with their
-- own gap-free numbering, and seats revoked by a refund.

-- Credit notes read `{prefix}{year}-{n:06}` (AV: "avoir").
ALTER TABLE settings ADD COLUMN credit_note_prefix TEXT NOT NULL DEFAULT 'AV';

-- As invoice_counters: the refunding transaction holds the year's row until it ends, so
-- credit note numbers are consecutive, and a rolled-back refund gives its number back.
CREATE TABLE credit_note_counters (
    year  INTEGER PRIMARY KEY,
    last  BIGINT NOT NULL CHECK (last >= 0)
);

-- One row per refund, which is one credit note. Amounts are what goes back to the customer
-- (positive here; the credit note prints them negative).
CREATE TABLE refunds (
    id                  BIGSERIAL PRIMARY KEY,
    bill_id             BIGINT NOT NULL REFERENCES bills(id),
    -- Kept on customer-owned rows (see DESIGN.md, scaling by customer).
    customer_id         BIGINT NOT NULL REFERENCES customers(id),
    credit_note_number  TEXT NOT NULL UNIQUE,
    -- The refund form's key: the same form confirmed twice gives one refund.
    submission_key      TEXT NOT NULL,
    currency            TEXT NOT NULL,
    untaxed             BIGINT NOT NULL CHECK (untaxed >= 0),
    tax                 BIGINT NOT NULL CHECK (tax >= 0),
    total               BIGINT NOT NULL CHECK (total = untaxed + tax),
    reason              TEXT NOT NULL,
    actor               TEXT NOT NULL,
    -- The payment provider's id of the money sent back (none for transfer, test, free).
    provider_refund_id  TEXT,
    seats_revoked       INTEGER NOT NULL DEFAULT 0,
    -- Seats the refunded units should have revoked but that were assigned or locked (kept).
    seats_kept          INTEGER NOT NULL DEFAULT 0,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (bill_id, submission_key)
);

CREATE TABLE refund_lines (
    refund_id     BIGINT NOT NULL REFERENCES refunds(id),
    bill_item_id  BIGINT NOT NULL REFERENCES bill_items(id),
    quantity      INTEGER NOT NULL CHECK (quantity >= 0),
    untaxed       BIGINT NOT NULL CHECK (untaxed >= 0),
    tax           BIGINT NOT NULL CHECK (tax >= 0),
    PRIMARY KEY (refund_id, bill_item_id)
);
CREATE INDEX refund_lines_item_idx ON refund_lines (bill_item_id);
-- A bill's refunds, and a customer's (the customer space labels partly refunded bills).
CREATE INDEX refunds_bill_idx ON refunds (bill_id);
CREATE INDEX refunds_customer_idx ON refunds (customer_id);

-- A revoked seat stays (its history, and production's (bill_item_id, seq) key keeps it from
-- being made again) but leaves the customer's space: every reader of a customer's seats skips
-- it, the counters below do not count it, and the free-seat indexes no longer hold it.
ALTER TABLE product_instances
    ADD COLUMN revoked_at  TIMESTAMPTZ,
    ADD COLUMN refund_id   BIGINT REFERENCES refunds(id);

-- The customer space's pages are read from this index alone (migration 0015); they now also
-- skip revoked products, so it carries that column too.
DROP INDEX product_instances_customer_list_idx;
CREATE INDEX product_instances_customer_list_idx ON product_instances (customer_id, id)
    INCLUDE (kind, assigned_user_id, locked_at, end_at, assigned_course_id, allowed_course_ids,
             revoked_at);

DROP INDEX product_instances_free_idx;
CREATE INDEX product_instances_free_idx ON product_instances
    (customer_id,
     (CASE WHEN cardinality(allowed_course_ids) = 0 THEN 2147483647
           ELSE cardinality(allowed_course_ids) END),
     id)
    INCLUDE (end_at, allowed_course_ids)
    WHERE kind = 'seat' AND assigned_user_id IS NULL AND revoked_at IS NULL;

DROP INDEX product_instances_expiry_idx;
CREATE INDEX product_instances_expiry_idx ON product_instances (customer_id, end_at)
    WHERE assigned_user_id IS NULL AND end_at IS NOT NULL AND revoked_at IS NULL;

-- The counters of migration 0015, with revoked products counted nowhere: revoking (an update
-- setting revoked_at) takes the seat out of `unassigned`.
CREATE OR REPLACE FUNCTION count_products_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO customer_product_counts (customer_id, unassigned, in_use, locked)
    SELECT customer_id, sum(unassigned), sum(in_use), sum(locked)
    FROM (SELECT customer_id,
                 sign * (revoked_at IS NULL AND assigned_user_id IS NULL)::INT AS unassigned,
                 sign * (revoked_at IS NULL AND assigned_user_id IS NOT NULL AND locked_at IS NULL)::INT AS in_use,
                 sign * (revoked_at IS NULL AND assigned_user_id IS NOT NULL AND locked_at IS NOT NULL)::INT AS locked
          FROM (SELECT customer_id, assigned_user_id, locked_at, revoked_at, 1 AS sign FROM new_rows
                UNION ALL
                SELECT customer_id, assigned_user_id, locked_at, revoked_at, -1 FROM old_rows) r) c
    GROUP BY customer_id
    HAVING sum(unassigned) <> 0 OR sum(in_use) <> 0 OR sum(locked) <> 0;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION count_products_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO customer_product_counts (customer_id, unassigned, in_use, locked)
    SELECT customer_id,
           count(*) FILTER (WHERE revoked_at IS NULL AND assigned_user_id IS NULL),
           count(*) FILTER (WHERE revoked_at IS NULL AND assigned_user_id IS NOT NULL AND locked_at IS NULL),
           count(*) FILTER (WHERE revoked_at IS NULL AND assigned_user_id IS NOT NULL AND locked_at IS NOT NULL)
    FROM new_rows GROUP BY customer_id;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION count_products_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO customer_product_counts (customer_id, unassigned, in_use, locked)
    SELECT customer_id,
           -count(*) FILTER (WHERE revoked_at IS NULL AND assigned_user_id IS NULL),
           -count(*) FILTER (WHERE revoked_at IS NULL AND assigned_user_id IS NOT NULL AND locked_at IS NULL),
           -count(*) FILTER (WHERE revoked_at IS NULL AND assigned_user_id IS NOT NULL AND locked_at IS NOT NULL)
    FROM old_rows GROUP BY customer_id;
    RETURN NULL;
END;
$$;
