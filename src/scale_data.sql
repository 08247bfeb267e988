-- Years of data (issue 16): fills an empty, migrated database with what real purchases write,
-- scaled by `gen.scale` (1 = 100 000 users, 30 000 customers, 300 000 bills, ~2 000 000 seats
-- of which five customers hold 50 000-120 000 each, ~900 000 enrolments, 1 000 000 mails,
-- 300 000 sessions). Run by `lms-shop generate-data [SCALE]` (src/scale_data.rs), which
-- refuses a database that already holds a shop.
--
-- Rows are written as the shop writes them: bills with their items and their whole history
-- (every transition the shop makes, in order), seats only for COMPLETE bills, references with
-- their Luhn mod 32 check character, assigned seats with the learner's student enrolment, the
-- customer's supervisor enrolment and both in the bill's group (`B0000000123`), lock times
-- copied from the enrolment's first access, expired seats past their end date, a customer
-- support enrolment per customer user, mail sent and mail stuck in retries, live and expired
-- sessions. Triggers and foreign-key checks are off while loading (they would fire two
-- million times); the rows are consistent by construction and `tests/api/scale.rs` checks it.

SET session_replication_role = replica;

CREATE FUNCTION pg_temp.scaled(n NUMERIC) RETURNS BIGINT LANGUAGE sql AS $$
    SELECT greatest(1, round(n * current_setting('gen.scale')::NUMERIC))::BIGINT
$$;

-- A seat reference (src/domain/seat_reference.rs): 15 symbols of Crockford's base 32 from
-- `salt` and `seed`, then the Luhn mod 32 check symbol, grouped by four.
CREATE FUNCTION pg_temp.seat_ref(salt TEXT, seed BIGINT) RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
    alphabet CONSTANT TEXT := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    h BYTEA := decode(md5(salt || seed::TEXT), 'hex');
    v INT[];
    total INT := 0;
    factor INT := 2;
    addend INT;
    out TEXT := '';
BEGIN
    FOR i IN 0..14 LOOP
        v[i] := get_byte(h, i) % 32;
    END LOOP;
    FOR i IN REVERSE 14..0 LOOP
        addend := factor * v[i];
        total := total + addend / 32 + addend % 32;
        factor := 3 - factor;
    END LOOP;
    v[15] := (32 - total % 32) % 32;
    FOR i IN 0..15 LOOP
        IF i > 0 AND i % 4 = 0 THEN
            out := out || '-';
        END IF;
        out := out || substr(alphabet, v[i] + 1, 1);
    END LOOP;
    RETURN out;
END
$$;

-- A stable pseudo-random number in [0, m) for row `g` and purpose `k`.
CREATE FUNCTION pg_temp.pick(g BIGINT, k INT, m BIGINT) RETURNS BIGINT LANGUAGE sql IMMUTABLE AS $$
    SELECT ((g * 2654435761 + k * 40503) % 1000003 * 7919 + g / 7) % m
$$;

CREATE TEMP TABLE gen_sizes AS
SELECT pg_temp.scaled(30000) AS customers,
       pg_temp.scaled(70000) AS learners,
       pg_temp.scaled(300000) AS bills,
       pg_temp.scaled(1000000) AS mails,
       pg_temp.scaled(300000) AS sessions,
       -- Seats per bill of the five large customers, and their number of bills.
       pg_temp.scaled(1000) AS big_pack,
       ARRAY[120, 100, 80, 60, 50] AS big_bills,
       200 AS courses,
       500 AS products,
       md5(random()::TEXT) AS salt;

CREATE TEMP TABLE gen_names AS
SELECT ARRAY['Alice','Bruno','Chloé','David','Emma','François','Gabriel','Hélène','Inès','Jules',
             'Karim','Léa','Mathieu','Nadia','Olivier','Pauline','Quentin','Rose','Samuel','Théo']
           AS first,
       ARRAY['Martin','Bernard','Dubois','Thomas','Robert','Richard','Petit','Durand','Leroy',
             'Moreau','Simon','Laurent','Lefebvre','Michel','Garcia','David','Bertrand','Roux',
             'Vincent','Fournier','Morel','Girard','André','Mercier','Dupont']
           AS last,
       ARRAY['Aéroport','Transports','Logistique','Sûreté','Formation','Industries','Services',
             'Fret','Handling','Conseil'] AS org;

-- ------------------------------------------------------------------ catalogue
INSERT INTO courses (id, shortname, fullname, visible, created_at)
SELECT g, format('C%s-%s', lpad(g::TEXT, 3, '0'), (ARRAY['FI','FC','REC'])[1 + g % 3]),
       format('Course %s — %s', g, (SELECT org[1 + g % 10] FROM gen_names)), TRUE,
       now() - interval '4 years'
FROM generate_series(1, (SELECT courses FROM gen_sizes)) g;
INSERT INTO courses (id, shortname, fullname, created_at)
SELECT courses + 1, 'CUSTOMER-SUPPORT', 'Customer support — espace client', now() - interval '4 years'
FROM gen_sizes;
UPDATE settings SET default_support_course_id = (SELECT courses + 1 FROM gen_sizes);

INSERT INTO taxes (id, code, name, rate_bp, country) VALUES (1, 'TVA20', 'TVA 20 %', 2000, 'FR');
INSERT INTO categories (id, name, sortorder)
SELECT g, format('Category %s', g), g FROM generate_series(1, 10) g;

-- One product in three allows any course; the others two named courses.
INSERT INTO products (id, code, name, description, category_id, status, price1, tax_code,
                      handler, handler_params, sortorder, created_at)
SELECT g, format('P%s-PACK', lpad(g::TEXT, 4, '0')),
       format('Training seats %s', g),
       'Seats to hand out later to your learners.',
       1 + g % 10, 'available', 10000 + (g % 50) * 1000, 'TVA20', 'std_generateseats',
       CASE WHEN g % 3 = 0 THEN 'courselist=&packsize=1&supervisor=teacher'
            ELSE format('courselist=%s,%s&packsize=1&supervisor=teacher',
                        (SELECT shortname FROM courses WHERE id = 1 + g % 200),
                        (SELECT shortname FROM courses WHERE id = 1 + (g + 1) % 200)) END,
       g, now() - interval '4 years'
FROM generate_series(1, (SELECT products FROM gen_sizes)) g;

CREATE TEMP TABLE gen_products AS
SELECT id, code, name, price1,
       CASE WHEN id % 3 = 0 THEN '{}'::BIGINT[]
            ELSE ARRAY[1 + id % 200, 1 + (id + 1) % 200]::BIGINT[] END AS allowed
FROM products;

-- ------------------------------------------------------------------ accounts
-- Users 1..customers are the customers' users; then the learners; then one operator.
INSERT INTO users (id, email, firstname, lastname, verified_at, created_at, last_login_at)
SELECT g,
       CASE WHEN g <= s.customers THEN format('customer%s@org%s.example', g, g % 5000)
            ELSE format('learner%s@mail%s.example', g - s.customers, g % 97) END,
       n.first[1 + g % 20], n.last[1 + g % 25],
       now() - interval '3 years' + (g % 1000) * interval '1 day',
       now() - interval '3 years' + (g % 1000) * interval '1 day',
       CASE WHEN g % 4 = 0 THEN now() - (g % 300) * interval '1 day' END
FROM gen_sizes s, gen_names n, generate_series(1, s.customers + s.learners) g;
INSERT INTO users (id, email, firstname, lastname, is_operator, verified_at)
SELECT customers + learners + 1, 'operator@scale.example', 'Olga', 'Operator', TRUE, now()
FROM gen_sizes;

INSERT INTO customers (id, user_id, firstname, lastname, email, organisation, address, zip, city,
                       country, created_at, updated_at)
SELECT g, g, n.first[1 + g % 20], n.last[1 + g % 25], format('customer%s@org%s.example', g, g % 5000),
       format('%s %s %s', n.org[1 + g % 10], n.last[1 + (g / 7) % 25], g % 5000),
       format('%s rue de la Gare', 1 + g % 120), lpad((10000 + g % 89999)::TEXT, 5, '0'),
       (ARRAY['Paris','Lyon','Marseille','Toulouse','Nantes','Lille','Nice','Bordeaux'])[1 + g % 8],
       'FR', now() - interval '3 years' + (g % 1000) * interval '1 day',
       now() - interval '3 years' + (g % 1000) * interval '1 day'
FROM gen_sizes s, gen_names n, generate_series(1, s.customers) g;

-- ------------------------------------------------------------------ bills
-- The five large customers' bills (1000-seat packs, all complete) are spread evenly over
-- the three years among everyone else's.
CREATE TEMP TABLE gen_big AS
SELECT 1 + (row_number() OVER (ORDER BY k, j) - 1) * (s.bills / 410) AS bill_id, k AS customer_id
FROM gen_sizes s, generate_series(1, 5) k, generate_series(1, s.big_bills[k]) j;

CREATE TEMP TABLE gen_bills AS
SELECT g AS id,
       coalesce(b.customer_id, 6 + pg_temp.pick(g, 1, s.customers - 5)) AS customer_id,
       CASE WHEN b.customer_id IS NOT NULL THEN 'COMPLETE'
            ELSE (ARRAY['COMPLETE','COMPLETE','COMPLETE','COMPLETE','COMPLETE','COMPLETE',
                        'COMPLETE','COMPLETE','COMPLETE','COMPLETE','COMPLETE','COMPLETE',
                        'COMPLETE','COMPLETE','COMPLETE','COMPLETE','COMPLETE','CANCELLED',
                        'REFUSED','COMPLETE'])[1 + pg_temp.pick(g, 2, 20)] END AS state,
       CASE WHEN pg_temp.pick(g, 3, 5) = 0 THEN 'transfer' ELSE 'test' END AS paymode,
       CASE WHEN b.customer_id IS NOT NULL THEN s.big_pack ELSE 1 + pg_temp.pick(g, 4, 11) END AS qty,
       CASE WHEN b.customer_id IS NOT NULL THEN 3 * (1 + g % 166)
            ELSE 1 + pg_temp.pick(g, 5, s.products) END AS product_id,
       now() - interval '3 years' + (g::FLOAT8 / s.bills) * interval '3 years' - interval '1 day'
           AS created_at,
       -- One pack in five ends a year after purchase (the older ones are expired now).
       pg_temp.pick(g, 6, 5) = 0 AS ends
FROM gen_sizes s
CROSS JOIN generate_series(1, s.bills) g
LEFT JOIN gen_big b ON b.bill_id = g;
-- The last days still have orders waiting: transfers waiting for the operator, online orders
-- not paid yet, and one production that failed.
UPDATE gen_bills SET state = CASE WHEN paymode = 'transfer' THEN 'PENDING' ELSE 'PLACED' END
WHERE id > (SELECT bills FROM gen_sizes) - 50 AND customer_id > 5;
UPDATE gen_bills SET state = 'FAILED', paymode = 'test'
WHERE id = (SELECT bills FROM gen_sizes) - 60 AND customer_id > 5;

INSERT INTO bills (id, number, public_id, customer_id, buyer_user_id, state, paymode, currency,
                   untaxed, tax, total, failure_reason, created_at, updated_at, paid_at,
                   completed_at, locale)
SELECT gb.id, gb.id, substr(md5(s.salt || 'bill' || gb.id), 1, 22), gb.customer_id, gb.customer_id,
       gb.state, gb.paymode, 'EUR', gb.qty * p.price1, gb.qty * p.price1 / 5,
       gb.qty * p.price1 + gb.qty * p.price1 / 5,
       CASE WHEN gb.state = 'FAILED' THEN 'course list matches no course' END,
       gb.created_at, gb.created_at + interval '2 minutes',
       CASE WHEN gb.state IN ('COMPLETE', 'FAILED') THEN gb.created_at + interval '1 minute' END,
       CASE WHEN gb.state = 'COMPLETE' THEN gb.created_at + interval '2 minutes' END,
       CASE WHEN gb.id % 3 = 0 THEN 'fr' ELSE 'en' END
FROM gen_bills gb JOIN gen_products p ON p.id = gb.product_id, gen_sizes s;

INSERT INTO bill_items (id, bill_id, line_no, product_id, code, name, quantity, unit_price,
                        tax_rate_bp, untaxed, tax, handler, handler_params)
SELECT gb.id, gb.id, 1, p.id, p.code, p.name, gb.qty, p.price1, 2000, gb.qty * p.price1,
       gb.qty * p.price1 / 5, 'std_generateseats', pr.handler_params
FROM gen_bills gb JOIN gen_products p ON p.id = gb.product_id JOIN products pr ON pr.id = p.id;

-- Every transition the shop records, in order (services/ordering, payment, production).
INSERT INTO bill_events (bill_id, from_state, to_state, note, actor, created_at)
SELECT gb.id, e.from_state, e.to_state, e.note, e.actor, gb.created_at + e.n * interval '30 seconds'
FROM gen_bills gb
CROSS JOIN LATERAL (VALUES
    (0, NULL, 'PLACED', 'order placed', 'customer', TRUE),
    (1, 'PLACED', 'PENDING', 'awaiting bank transfer', 'system',
        gb.paymode = 'transfer' AND gb.state IN ('PENDING', 'COMPLETE')),
    (2, CASE WHEN gb.paymode = 'transfer' THEN 'PENDING' ELSE 'PLACED' END, 'PAID',
        CASE WHEN gb.paymode = 'transfer' THEN 'transfer received'
             ELSE format('test payment, transaction T%s', gb.id) END,
        CASE WHEN gb.paymode = 'transfer' THEN 'operator' ELSE 'gateway' END,
        gb.state IN ('COMPLETE', 'FAILED')),
    (3, 'PAID', 'COMPLETE', 'produced', 'system', gb.state = 'COMPLETE'),
    (3, 'PAID', 'FAILED', 'course list matches no course', 'system', gb.state = 'FAILED'),
    (1, 'PLACED', 'REFUSED', format('declined, transaction T%s', gb.id), 'gateway', gb.state = 'REFUSED'),
    (1, 'PLACED', 'CANCELLED', 'not paid within 1440 minutes', 'system', gb.state = 'CANCELLED')
) AS e(n, from_state, to_state, note, actor, happened)
WHERE e.happened
ORDER BY gb.id, e.n;

-- ------------------------------------------------------------------ seats
-- Seats only for produced bills. A seat of an any-course product is assigned three times in
-- four (the large customers': three in ten, most of their seats still free); the k-th assignment gives learner k mod L a course that learner holds no seat for yet.
CREATE TEMP TABLE gen_seats AS
SELECT row_number() OVER (ORDER BY gb.id, q) AS id, gb.id AS bill_id, q AS seq, gb.customer_id,
       gb.product_id, gb.created_at, gb.ends, p.allowed,
       p.allowed = '{}' AND CASE WHEN gb.customer_id <= 5 THEN pg_temp.pick(gb.id * 1000 + q, 7, 10) < 3
                                 ELSE pg_temp.pick(gb.id * 1000 + q, 7, 4) > 0 END AS assigned
FROM gen_bills gb
JOIN gen_products p ON p.id = gb.product_id
CROSS JOIN generate_series(1, gb.qty) q
WHERE gb.state = 'COMPLETE';

CREATE TEMP TABLE gen_assigned AS
SELECT id, k,
       s.customers + 1 + k % s.learners AS learner_id,
       1 + (k / s.learners + (k % s.learners) * 7) % s.courses AS course_id,
       -- Four learners in ten have opened their course: their seat is locked.
       pg_temp.pick(k, 8, 10) < 4 AS opened
FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM gen_seats WHERE assigned) a,
     gen_sizes s;
CREATE UNIQUE INDEX ON gen_assigned (id);

INSERT INTO product_instances (id, reference, product_id, bill_id, bill_item_id, seq, customer_id,
                               kind, start_at, end_at, allowed_course_ids, supervisor_role,
                               assigned_user_id, assigned_course_id, assigned_at, created_at,
                               locked_at, learner_firstname, learner_lastname, learner_email)
SELECT gs.id, pg_temp.seat_ref(s.salt, gs.id), gs.product_id, gs.bill_id, gs.bill_id, gs.seq,
       gs.customer_id, 'seat', gs.created_at,
       CASE WHEN gs.ends THEN gs.created_at + interval '1 year' END,
       gs.allowed, 'teacher', a.learner_id, a.course_id,
       CASE WHEN a.id IS NOT NULL THEN gs.created_at + interval '3 days' END,
       gs.created_at,
       CASE WHEN a.opened THEN gs.created_at + interval '10 days' END,
       CASE WHEN a.id IS NOT NULL THEN n.first[1 + a.learner_id % 20] END,
       CASE WHEN a.id IS NOT NULL THEN n.last[1 + a.learner_id % 25] END,
       (SELECT u.email FROM users u WHERE u.id = a.learner_id)
FROM gen_seats gs
LEFT JOIN gen_assigned a ON a.id = gs.id
CROSS JOIN gen_sizes s CROSS JOIN gen_names n
ORDER BY gs.id;

-- The learner's enrolment that an assignment creates (its first access locks the seat).
INSERT INTO enrolments (course_id, user_id, role, start_at, end_at, first_access_at, created_at)
SELECT a.course_id, a.learner_id, 'student', pi.start_at, pi.end_at,
       pi.locked_at, pi.assigned_at
FROM gen_assigned a JOIN product_instances pi ON pi.id = a.id;

-- The customer's supervisor role in every course one of its seats went to, and every
-- customer user in the customer-support course.
INSERT INTO enrolments (course_id, user_id, role, created_at)
SELECT DISTINCT pi.assigned_course_id, pi.customer_id, 'teacher', now() - interval '3 years'
FROM product_instances pi WHERE pi.assigned_user_id IS NOT NULL;
INSERT INTO enrolments (course_id, user_id, role, created_at)
SELECT s.courses + 1, c.id, 'student', c.created_at FROM customers c, gen_sizes s;

-- The bill's group in each course its seats went to: the learners and the customer.
INSERT INTO course_groups (course_id, name)
SELECT DISTINCT pi.assigned_course_id, 'B' || lpad(pi.bill_id::TEXT, 10, '0')
FROM product_instances pi WHERE pi.assigned_user_id IS NOT NULL;
INSERT INTO group_members (group_id, user_id)
SELECT DISTINCT g.id, m.user_id
FROM product_instances pi
JOIN course_groups g ON g.course_id = pi.assigned_course_id
                    AND g.name = 'B' || lpad(pi.bill_id::TEXT, 10, '0')
CROSS JOIN LATERAL (VALUES (pi.assigned_user_id), (pi.customer_id)) m(user_id)
WHERE pi.assigned_user_id IS NOT NULL;

-- ------------------------------------------------------------------ mail and sessions
-- Nineteen mails in twenty went out; the rest met a mail server that refused them for days.
INSERT INTO outbox (id, recipient, subject, body, created_at, attempts, next_attempt_at, sent_at,
                    last_error)
SELECT g, u.email,
       (ARRAY['Your seat is ready', 'Choose your password', 'Bill paid', 'New order'])[1 + g % 4],
       format(E'Hello %s,\n\nA seat in course %s is yours: sign in at https://shop.example/my/courses.\n\nReference %s.\n',
              u.firstname, 1 + g % 200, g),
       ts, CASE WHEN unsent THEN 1 + g % 12 ELSE 1 END,
       CASE WHEN unsent THEN now() - interval '2 days' + (g % 5760) * interval '1 minute'
            ELSE ts END,
       CASE WHEN NOT unsent THEN ts + interval '5 seconds' END,
       CASE WHEN unsent THEN 'connection refused (os error 111)' END
FROM gen_sizes s
CROSS JOIN generate_series(1, s.mails) g
CROSS JOIN LATERAL (SELECT now() - interval '3 years' + (g::FLOAT8 / s.mails) * interval '3 years' AS ts,
                           pg_temp.pick(g, 9, 20) = 0 AS unsent) m
JOIN users u ON u.id = 1 + g % (s.customers + s.learners);

-- Two sessions in three have expired (browsers that never came back).
INSERT INTO tower_sessions.session (id, data, expiry_date)
SELECT md5(s.salt || 'session' || g), '\x80'::BYTEA,
       now() + CASE WHEN g % 3 = 0 THEN interval '6 hours' ELSE -(g % 1000) * interval '1 hour' END
FROM gen_sizes s, generate_series(1, s.sessions) g;

-- ------------------------------------------------------------------ sequences
SELECT setval('users_id_seq', (SELECT max(id) FROM users));
SELECT setval('customers_id_seq', (SELECT max(id) FROM customers));
SELECT setval('courses_id_seq', (SELECT max(id) FROM courses));
SELECT setval('products_id_seq', (SELECT max(id) FROM products));
SELECT setval('categories_id_seq', (SELECT max(id) FROM categories));
SELECT setval('taxes_id_seq', (SELECT max(id) FROM taxes));
SELECT setval('bills_id_seq', (SELECT max(id) FROM bills));
SELECT setval('bill_number_seq', (SELECT max(number) FROM bills));
SELECT setval('bill_items_id_seq', (SELECT max(id) FROM bill_items));
SELECT setval('product_instances_id_seq', (SELECT max(id) FROM product_instances));
SELECT setval('outbox_id_seq', (SELECT max(id) FROM outbox));

-- The per-customer product counters (migration 0015) are kept by triggers, off while loading.
INSERT INTO customer_product_counts (customer_id, unassigned, in_use, locked)
SELECT customer_id,
       count(*) FILTER (WHERE assigned_user_id IS NULL),
       count(*) FILTER (WHERE assigned_user_id IS NOT NULL AND locked_at IS NULL),
       count(*) FILTER (WHERE assigned_user_id IS NOT NULL AND locked_at IS NOT NULL)
FROM product_instances GROUP BY customer_id;

SET session_replication_role = origin;
