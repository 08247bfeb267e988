-- Initial schema: LMS side, accounts, catalogue, checkout, seats, mail.

-- Secrets shared by every app instance (CSRF signing key, payment gateway key).
CREATE TABLE app_secrets (
    name   TEXT PRIMARY KEY,
    value  BYTEA NOT NULL
);

-- ---------------------------------------------------------------- accounts
CREATE TABLE users (
    id             BIGSERIAL PRIMARY KEY,
    email          TEXT NOT NULL,
    firstname      TEXT NOT NULL DEFAULT '',
    lastname       TEXT NOT NULL DEFAULT '',
    password_hash  TEXT,
    is_operator    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_login_at  TIMESTAMPTZ
);
-- Emails are compared case-insensitively everywhere; the index enforces it.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE password_tokens (
    id          BIGSERIAL PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- SHA-256 of the token: a database leak does not leak usable links.
    token_hash  BYTEA NOT NULL UNIQUE,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------- mail
CREATE TABLE outbox (
    id               BIGSERIAL PRIMARY KEY,
    recipient        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at          TIMESTAMPTZ,
    last_error       TEXT
);
CREATE INDEX outbox_pending_idx ON outbox (next_attempt_at) WHERE sent_at IS NULL;

-- ---------------------------------------------------------------- LMS side
CREATE TABLE roles (
    shortname  TEXT PRIMARY KEY,
    name       TEXT NOT NULL
);
INSERT INTO roles (shortname, name) VALUES
    ('student', 'Student'),
    ('teacher', 'Non-editing teacher'),
    ('editingteacher', 'Teacher');

CREATE TABLE courses (
    id          BIGSERIAL PRIMARY KEY,
    shortname   TEXT NOT NULL UNIQUE CHECK (shortname <> ''),
    fullname    TEXT NOT NULL,
    visible     BOOLEAN NOT NULL DEFAULT TRUE,
    startdate   DATE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE enrolments (
    id               BIGSERIAL PRIMARY KEY,
    course_id        BIGINT NOT NULL REFERENCES courses(id),
    user_id          BIGINT NOT NULL REFERENCES users(id),
    role             TEXT NOT NULL REFERENCES roles(shortname),
    start_at         TIMESTAMPTZ,
    end_at           TIMESTAMPTZ,
    -- First time the user opened the course: activity that locks a seat.
    first_access_at  TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (course_id, user_id)
);
CREATE INDEX enrolments_user_idx ON enrolments (user_id);

CREATE TABLE course_groups (
    id         BIGSERIAL PRIMARY KEY,
    course_id  BIGINT NOT NULL REFERENCES courses(id),
    name       TEXT NOT NULL,
    UNIQUE (course_id, name)
);

CREATE TABLE group_members (
    group_id  BIGINT NOT NULL REFERENCES course_groups(id) ON DELETE CASCADE,
    user_id   BIGINT NOT NULL REFERENCES users(id),
    PRIMARY KEY (group_id, user_id)
);

-- ---------------------------------------------------------------- catalogue
CREATE TABLE categories (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL,
    sortorder  INTEGER NOT NULL DEFAULT 0,
    visible    BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE taxes (
    id       BIGSERIAL PRIMARY KEY,
    code     TEXT NOT NULL UNIQUE,
    name     TEXT NOT NULL,
    -- Basis points (1/100 of a percent): 20 % is 2000. Exact, no floats.
    rate_bp  INTEGER NOT NULL CHECK (rate_bp >= 0 AND rate_bp <= 10000),
    country  TEXT NOT NULL DEFAULT ''
);

CREATE TABLE settings (
    id                        INTEGER PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    shop_name                 TEXT NOT NULL DEFAULT 'lms-shop',
    currency                  TEXT NOT NULL DEFAULT 'EUR',
    default_support_course_id BIGINT REFERENCES courses(id),
    sales_conditions          TEXT NOT NULL DEFAULT '',
    paymodes                  TEXT[] NOT NULL DEFAULT ARRAY['test', 'transfer', 'free'],
    updated_at                TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO settings (id) VALUES (1);

CREATE TABLE products (
    id                BIGSERIAL PRIMARY KEY,
    code              TEXT NOT NULL UNIQUE CHECK (code <> ''),
    name              TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    category_id       BIGINT REFERENCES categories(id),
    status            TEXT NOT NULL DEFAULT 'available'
                      CHECK (status IN ('available', 'preview', 'suspended')),
    -- Unit prices excl. tax in minor units; tier n applies from quantity range_n.
    price1            BIGINT NOT NULL CHECK (price1 >= 0),
    range2            INTEGER, price2 BIGINT,
    range3            INTEGER, price3 BIGINT,
    range4            INTEGER, price4 BIGINT,
    range5            INTEGER, price5 BIGINT,
    tax_code          TEXT REFERENCES taxes(code),
    max_quantity      INTEGER CHECK (max_quantity IS NULL OR max_quantity >= 1),
    logged_in_only    BOOLEAN NOT NULL DEFAULT FALSE,
    handler           TEXT NOT NULL DEFAULT '',
    handler_params    TEXT NOT NULL DEFAULT '',
    sales_conditions  TEXT NOT NULL DEFAULT '',
    sortorder         INTEGER NOT NULL DEFAULT 0,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------- customers
CREATE TABLE customers (
    id                    BIGSERIAL PRIMARY KEY,
    user_id               BIGINT UNIQUE REFERENCES users(id),
    firstname             TEXT NOT NULL,
    lastname              TEXT NOT NULL,
    email                 TEXT NOT NULL,
    organisation          TEXT NOT NULL DEFAULT '',
    address               TEXT NOT NULL DEFAULT '',
    zip                   TEXT NOT NULL DEFAULT '',
    city                  TEXT NOT NULL DEFAULT '',
    country               TEXT NOT NULL DEFAULT '',
    invoice_organisation  TEXT,
    invoice_address       TEXT,
    invoice_zip           TEXT,
    invoice_city          TEXT,
    invoice_country       TEXT,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX customers_email_idx ON customers (lower(email));

-- ---------------------------------------------------------------- bills
CREATE SEQUENCE bill_number_seq;

CREATE TABLE bills (
    id              BIGSERIAL PRIMARY KEY,
    number          BIGINT NOT NULL UNIQUE DEFAULT nextval('bill_number_seq'),
    -- Unguessable id used in URLs; the sequential number is for humans.
    public_id       TEXT NOT NULL UNIQUE,
    customer_id     BIGINT NOT NULL REFERENCES customers(id),
    buyer_user_id   BIGINT REFERENCES users(id),
    state           TEXT NOT NULL CHECK (state IN
                    ('PLACED', 'PENDING', 'PAID', 'COMPLETE', 'REFUSED', 'CANCELLED', 'FAILED', 'REFUNDED')),
    paymode         TEXT NOT NULL CHECK (paymode IN ('test', 'transfer', 'free')),
    currency        TEXT NOT NULL,
    untaxed         BIGINT NOT NULL,
    tax             BIGINT NOT NULL,
    total           BIGINT NOT NULL,
    failure_reason  TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    paid_at         TIMESTAMPTZ,
    completed_at    TIMESTAMPTZ
);
CREATE INDEX bills_customer_idx ON bills (customer_id);
-- Production worker looks for paid bills left unproduced (crash recovery).
CREATE INDEX bills_paid_idx ON bills (updated_at) WHERE state = 'PAID';

CREATE TABLE bill_items (
    id              BIGSERIAL PRIMARY KEY,
    bill_id         BIGINT NOT NULL REFERENCES bills(id),
    line_no         INTEGER NOT NULL,
    product_id      BIGINT NOT NULL REFERENCES products(id),
    -- Snapshot of the catalogue at order time: later edits do not change bills.
    code            TEXT NOT NULL,
    name            TEXT NOT NULL,
    quantity        INTEGER NOT NULL CHECK (quantity >= 1),
    unit_price      BIGINT NOT NULL,
    tax_rate_bp     INTEGER NOT NULL,
    untaxed         BIGINT NOT NULL,
    tax             BIGINT NOT NULL,
    handler         TEXT NOT NULL,
    handler_params  TEXT NOT NULL,
    UNIQUE (bill_id, line_no)
);

CREATE TABLE bill_events (
    id          BIGSERIAL PRIMARY KEY,
    bill_id     BIGINT NOT NULL REFERENCES bills(id),
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    actor       TEXT NOT NULL DEFAULT 'system',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX bill_events_bill_idx ON bill_events (bill_id);

CREATE TABLE payment_notifications (
    id           BIGSERIAL PRIMARY KEY,
    bill_id      BIGINT NOT NULL REFERENCES bills(id),
    txn_id       TEXT NOT NULL UNIQUE,
    status       TEXT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------- seats
CREATE TABLE product_instances (
    id                  BIGSERIAL PRIMARY KEY,
    reference           TEXT NOT NULL UNIQUE,
    product_id          BIGINT NOT NULL REFERENCES products(id),
    bill_id             BIGINT NOT NULL REFERENCES bills(id),
    bill_item_id        BIGINT NOT NULL REFERENCES bill_items(id),
    -- Position within its bill item: makes production idempotent.
    seq                 INTEGER NOT NULL,
    customer_id         BIGINT NOT NULL REFERENCES customers(id),
    kind                TEXT NOT NULL CHECK (kind IN ('seat', 'enrolment')),
    start_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    end_at              TIMESTAMPTZ,
    allowed_course_ids  BIGINT[] NOT NULL DEFAULT '{}',
    supervisor_role     TEXT NOT NULL DEFAULT 'teacher' REFERENCES roles(shortname),
    assigned_user_id    BIGINT REFERENCES users(id),
    assigned_course_id  BIGINT REFERENCES courses(id),
    assigned_at         TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (bill_item_id, seq),
    CHECK ((assigned_user_id IS NULL) = (assigned_course_id IS NULL))
);
CREATE INDEX product_instances_customer_idx ON product_instances (customer_id, id);
