-- Issue 11 (coupons): discount codes, their redemptions, and the discount kept on bills.

CREATE TABLE coupons (
    id                  BIGSERIAL PRIMARY KEY,
    -- Stored upper-case: codes are compared case-insensitively.
    code                TEXT NOT NULL UNIQUE CHECK (code = upper(code) AND code <> ''),
    -- Exactly one of the two: a percentage (basis points, 1 % to 100 %) or an amount
    -- (minor units of the shop currency).
    percent_bp          INTEGER CHECK (percent_bp BETWEEN 100 AND 10000),
    amount              BIGINT CHECK (amount > 0),
    valid_from          DATE,
    valid_until         DATE,
    usage_limit         INTEGER CHECK (usage_limit >= 1),
    per_customer_limit  INTEGER CHECK (per_customer_limit >= 1),
    active              BOOLEAN NOT NULL DEFAULT TRUE,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((percent_bp IS NULL) <> (amount IS NULL)),
    CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_from <= valid_until)
);

-- The products a coupon is restricted to; none: every product.
CREATE TABLE coupon_products (
    coupon_id   BIGINT NOT NULL REFERENCES coupons(id) ON DELETE CASCADE,
    product_id  BIGINT NOT NULL REFERENCES products(id),
    PRIMARY KEY (coupon_id, product_id)
);

-- One row per bill placed with a coupon, inserted in the transaction that places the bill
-- (with the coupon row locked), released when that bill is refused or cancelled.
CREATE TABLE coupon_redemptions (
    id           BIGSERIAL PRIMARY KEY,
    coupon_id    BIGINT NOT NULL REFERENCES coupons(id),
    bill_id      BIGINT NOT NULL UNIQUE REFERENCES bills(id),
    customer_id  BIGINT NOT NULL REFERENCES customers(id),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    released_at  TIMESTAMPTZ
);
CREATE INDEX coupon_redemptions_live_idx ON coupon_redemptions (coupon_id, customer_id)
    WHERE released_at IS NULL;

ALTER TABLE bills
    -- The code as applied (empty: none). The bill's amounts are already net of it.
    ADD COLUMN coupon_code TEXT NOT NULL DEFAULT '';

ALTER TABLE bill_items
    -- Untaxed minor units taken off this line by the coupon: `untaxed` is what is charged,
    -- `untaxed + discount` the line before the coupon.
    ADD COLUMN discount BIGINT NOT NULL DEFAULT 0 CHECK (discount >= 0);
