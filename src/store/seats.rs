//! Product instances: seats (assignable later) and enrolment products.

use sqlx::{PgConnection, PgExecutor, PgPool};
use time::OffsetDateTime;

use crate::domain::Cursor;
use crate::domain::search::LearnerSearch;
use crate::domain::seat::{ProductKind, SeatState};

/// A query returning [`SeatRow`]s: the one SELECT of a listed product, then `$tail`
/// (WHERE / ORDER BY). The literals are concatenated by `query_as!`, still checked at compile
/// time. The learner is looked up per row (the `LIMIT 1` keeps the planner from turning the
/// lookup into a join, which hashed the whole users table for a page of 50).
macro_rules! seat_row_query {
    ($tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            SeatRow,
            r#"SELECT pi.id, pi.reference, pi.kind AS "kind: ProductKind", pi.bill_id, pi.start_at, pi.end_at, pi.assigned_at, p.code, p.name,
                  CASE WHEN pi.kind = 'seat' THEN pi.learner_firstname ELSE u.firstname END AS "learner_first?",
                  CASE WHEN pi.kind = 'seat' THEN pi.learner_lastname ELSE u.lastname END AS "learner_last?",
                  u.email AS "learner_email?",
                  c.shortname AS "course_shortname?", c.fullname AS "course_fullname?", pi.allowed_course_ids,
                  seat_state(pi) AS "state!: SeatState",
                  EXISTS (SELECT 1 FROM lms_jobs j WHERE j.seat_id = pi.id AND j.state <> 'done') AS "moodle_pending!"
               FROM product_instances pi
               JOIN products p ON p.id = pi.product_id
               LEFT JOIN LATERAL (SELECT firstname, lastname, email FROM users
                                  WHERE users.id = pi.assigned_user_id LIMIT 1) u ON TRUE
               LEFT JOIN courses c ON c.id = pi.assigned_course_id "#
                + $tail
            $(, $arg)*
        )
    };
}

/// A query returning [`LockedSeat`]s: the one column list, then `$tail` (WHERE, locking).
macro_rules! locked_seat_query {
    ($tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            LockedSeat,
            r#"SELECT id, bill_id, customer_id, kind AS "kind: ProductKind", start_at, end_at, locked_at,
                  allowed_course_ids, supervisor_role, assigned_user_id, assigned_course_id
               FROM product_instances "#
                + $tail
            $(, $arg)*
        )
    };
}

pub struct NewSeats<'a> {
    pub product_id: i64,
    pub bill_id: i64,
    pub bill_item_id: i64,
    pub customer_id: i64,
    pub references: &'a [String],
    pub end_at: Option<OffsetDateTime>,
    pub allowed_course_ids: &'a [i64],
    pub supervisor_role: &'a str,
}

/// Inserts all seats of a bill item in one statement. Seats already produced for this item
/// (same `seq`) are kept as they are: re-running production adds nothing.
pub async fn insert_seats(db: impl PgExecutor<'_>, s: &NewSeats<'_>) -> sqlx::Result<u64> {
    let count = i32::try_from(s.references.len()).unwrap_or(i32::MAX);
    let result = sqlx::query!(
        "INSERT INTO product_instances (reference, product_id, bill_id, bill_item_id, seq, customer_id,
             kind, end_at, allowed_course_ids, supervisor_role)
         SELECT r.reference, $2, $3, $4, r.seq::INT, $5, 'seat', $6, $7, $8
         FROM UNNEST($1::TEXT[]) WITH ORDINALITY AS r(reference, seq)
         WHERE r.seq <= $9
         ON CONFLICT (bill_item_id, seq) DO NOTHING",
        s.references,
        s.product_id,
        s.bill_id,
        s.bill_item_id,
        s.customer_id,
        s.end_at,
        s.allowed_course_ids,
        s.supervisor_role,
        i64::from(count)
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected())
}

pub struct NewEnrolmentProduct<'a> {
    pub reference: &'a str,
    pub product_id: i64,
    pub bill_id: i64,
    pub bill_item_id: i64,
    pub customer_id: i64,
    pub user_id: i64,
    pub course_id: i64,
    pub start_at: OffsetDateTime,
    pub end_at: Option<OffsetDateTime>,
}

/// Records an enrolment product (already assigned to the customer user) once per bill item.
pub async fn insert_enrolment_product(
    db: impl PgExecutor<'_>,
    e: &NewEnrolmentProduct<'_>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO product_instances (reference, product_id, bill_id, bill_item_id, seq, customer_id,
             kind, start_at, end_at, allowed_course_ids, supervisor_role, assigned_user_id,
             assigned_course_id, assigned_at)
         VALUES ($1, $2, $3, $4, 1, $5, 'enrolment', $6, $7, ARRAY[$8::BIGINT], 'student', $9, $8, now())
         ON CONFLICT (bill_item_id, seq) DO NOTHING",
        e.reference,
        e.product_id,
        e.bill_id,
        e.bill_item_id,
        e.customer_id,
        e.start_at,
        e.end_at,
        e.course_id,
        e.user_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// What a bill produced, per bill line and kind: how many seats, or the course enrolled.
pub struct Produced {
    pub code: String,
    pub name: String,
    pub kind: ProductKind,
    pub count: i64,
    pub course: Option<String>,
}

pub async fn produced_by_bill(
    db: impl PgExecutor<'_>,
    bill_id: i64,
) -> sqlx::Result<Vec<Produced>> {
    // Per line, through the (bill_item_id, seq) key: a plan cached for any bill stays an
    // index lookup (a join let the generic plan scan every product of every customer).
    sqlx::query_as!(
        Produced,
        r#"SELECT i.code, i.name, p.kind AS "kind!: ProductKind", p.count AS "count!", p.course
           FROM bill_items i
           CROSS JOIN LATERAL (
               SELECT pi.kind, count(*) AS count, min(c.shortname) AS course
               FROM product_instances pi LEFT JOIN courses c ON c.id = pi.assigned_course_id
               WHERE pi.bill_item_id = i.id AND pi.revoked_at IS NULL
               GROUP BY pi.kind
           ) p
           WHERE i.bill_id = $1
           ORDER BY i.line_no"#,
        bill_id
    )
    .fetch_all(db)
    .await
}

/// A seat or enrolment product as the customer space lists it. A seat's learner names are
/// the ones the customer typed (see `set_assignment`); an enrolment product's learner is the
/// customer's own user.
#[derive(Debug, Clone)]
pub struct SeatRow {
    pub id: i64,
    pub reference: String,
    pub kind: ProductKind,
    pub bill_id: i64,
    pub start_at: OffsetDateTime,
    pub end_at: Option<OffsetDateTime>,
    /// When the seat was given to its learner (`None` while free, and for enrolment products).
    pub assigned_at: Option<OffsetDateTime>,
    pub code: String,
    pub name: String,
    pub learner_first: Option<String>,
    pub learner_last: Option<String>,
    pub learner_email: Option<String>,
    pub course_shortname: Option<String>,
    pub course_fullname: Option<String>,
    pub allowed_course_ids: Vec<i64>,
    pub state: SeatState,
    /// With Moodle: its enrolment is not applied in Moodle yet ("being set up in Moodle").
    pub moodle_pending: bool,
}

pub struct SeatFilter {
    pub state: Option<SeatState>,
    pub course_id: Option<i64>,
    /// Part of the learner's name or address.
    pub learner: Option<LearnerSearch>,
}

/// How many products a customer holds in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateCounts {
    pub available: i64,
    pub in_use: i64,
    pub locked: i64,
    pub expired: i64,
}

impl StateCounts {
    pub fn of(&self, state: SeatState) -> i64 {
        match state {
            SeatState::Available => self.available,
            SeatState::InUse => self.in_use,
            SeatState::Locked => self.locked,
            SeatState::Expired => self.expired,
        }
    }

    pub fn total(&self) -> i64 {
        self.available + self.in_use + self.locked + self.expired
    }

    pub fn by_state(&self) -> Vec<(SeatState, i64)> {
        SeatState::ALL.iter().map(|s| (*s, self.of(*s))).collect()
    }
}

/// A customer's products by state, from the counters the triggers of migration 0015 keep
/// (`customer_product_counts`: the sum of a few rows) and, for the unassigned ones past their
/// end date, from the expiry index: what a view costs no longer grows with the customer's
/// seats.
pub async fn counts(db: impl PgExecutor<'_>, customer_id: i64) -> sqlx::Result<StateCounts> {
    let r = sqlx::query!(
        r#"SELECT coalesce(sum(k.unassigned), 0)::BIGINT AS "unassigned!",
                  coalesce(sum(k.in_use), 0)::BIGINT AS "in_use!",
                  coalesce(sum(k.locked), 0)::BIGINT AS "locked!",
                  (SELECT count(*) FROM product_instances pi
                   WHERE pi.customer_id = $1 AND pi.assigned_user_id IS NULL
                     AND pi.end_at IS NOT NULL AND pi.end_at <= now() AND pi.revoked_at IS NULL) AS "expired!"
           FROM customer_product_counts k WHERE k.customer_id = $1"#,
        customer_id
    )
    .fetch_one(db)
    .await?;
    Ok(StateCounts {
        available: r.unassigned - r.expired,
        in_use: r.in_use,
        locked: r.locked,
        expired: r.expired,
    })
}

/// Folds the counter rows of up to `limit` customers into one row each (the triggers append a
/// row per change); returns how many customers were folded. Safe on several instances at once:
/// a row is deleted once, and its value goes into the one sum that deleted it.
pub async fn fold_counts(db: impl PgExecutor<'_>, limit: i64) -> sqlx::Result<u64> {
    let r = sqlx::query!(
        "WITH busy AS (
             SELECT customer_id FROM customer_product_counts
             GROUP BY customer_id HAVING count(*) > 1 LIMIT $1
         ), gone AS (
             DELETE FROM customer_product_counts k USING busy
             WHERE k.customer_id = busy.customer_id
             RETURNING k.customer_id, k.unassigned, k.in_use, k.locked
         )
         INSERT INTO customer_product_counts (customer_id, unassigned, in_use, locked)
         SELECT customer_id, sum(unassigned), sum(in_use), sum(locked) FROM gone GROUP BY customer_id",
        limit
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}

/// The ids of one page of a customer's products, in id order. Cut as bare ids and joined
/// afterwards (`by_ids`), so a late page does not carry the rows it skips; unfiltered (the
/// usual view) the page is read from the (customer_id, id) index alone. Ordered by
/// (customer_id, id), the index's own order: ordered by id alone, the planner walked the
/// primary key of every customer's seats looking for this one's (13 ms for a state filter).
pub async fn page_ids(
    db: &PgPool,
    customer_id: i64,
    f: &SeatFilter,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<i64>> {
    if let Some(learner) = &f.learner {
        return learner_page_ids(db, customer_id, f, learner, limit, offset).await;
    }
    if f.state.is_none() && f.course_id.is_none() {
        return sqlx::query_scalar!(
            "SELECT id FROM product_instances WHERE customer_id = $1 AND revoked_at IS NULL ORDER BY customer_id, id LIMIT $2 OFFSET $3",
            customer_id,
            limit,
            offset
        )
        .fetch_all(db)
        .await;
    }
    let mut tx = super::custom_plans(db).await?;
    sqlx::query_scalar!(
        r#"SELECT pi.id FROM product_instances pi
           WHERE pi.customer_id = $1 AND pi.revoked_at IS NULL
             AND ($2::TEXT IS NULL OR seat_state(pi) = $2)
             AND ($3::BIGINT IS NULL OR seat_for_course(pi, $3))
           ORDER BY pi.customer_id, pi.id LIMIT $4 OFFSET $5"#,
        customer_id,
        f.state as Option<SeatState>,
        f.course_id,
        limit,
        offset
    )
    .fetch_all(&mut *tx)
    .await
}

/// A page of a customer's seats whose learner's name or address contains the typed text,
/// through the trigram index of migration 0026 (its expression, repeated here, is what the
/// index is built on; the other filters apply to what it finds).
async fn learner_page_ids(
    db: &PgPool,
    customer_id: i64,
    f: &SeatFilter,
    learner: &LearnerSearch,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<i64>> {
    let mut tx = super::custom_plans(db).await?;
    sqlx::query_scalar!(
        r#"SELECT pi.id FROM product_instances pi
           WHERE pi.customer_id = $1 AND pi.assigned_user_id IS NOT NULL
             AND (coalesce(pi.learner_firstname, '') || ' ' || coalesce(pi.learner_lastname, '') || ' '
                  || coalesce(pi.learner_email, '')) ILIKE $2
             AND ($3::TEXT IS NULL OR seat_state(pi) = $3)
             AND ($4::BIGINT IS NULL OR seat_for_course(pi, $4))
           ORDER BY pi.id LIMIT $5 OFFSET $6"#,
        customer_id,
        learner.like_pattern(),
        f.state as Option<SeatState>,
        f.course_id,
        limit,
        offset
    )
    .fetch_all(&mut *tx)
    .await
}

/// A customer's products by id, in id order.
pub async fn by_ids(db: impl PgExecutor<'_>, ids: &[i64]) -> sqlx::Result<Vec<SeatRow>> {
    seat_row_query!("WHERE pi.id = ANY($1) ORDER BY pi.id", ids)
        .fetch_all(db)
        .await
}

/// A customer's product by reference; another customer's is `None`, as if it did not exist.
pub async fn find_for_customer(
    db: impl PgExecutor<'_>,
    customer_id: i64,
    reference: &str,
) -> sqlx::Result<Option<SeatRow>> {
    seat_row_query!(
        "WHERE pi.customer_id = $1 AND pi.reference = $2 AND pi.revoked_at IS NULL",
        customer_id,
        reference
    )
    .fetch_optional(db)
    .await
}

/// The seat row, locked for an assignment or a release.
#[derive(Debug, Clone)]
pub struct LockedSeat {
    pub id: i64,
    pub bill_id: i64,
    pub customer_id: i64,
    pub kind: ProductKind,
    pub start_at: OffsetDateTime,
    pub end_at: Option<OffsetDateTime>,
    /// When the learner opened the course (copied from the enrolment).
    pub locked_at: Option<OffsetDateTime>,
    pub allowed_course_ids: Vec<i64>,
    pub supervisor_role: String,
    pub assigned_user_id: Option<i64>,
    pub assigned_course_id: Option<i64>,
}

impl LockedSeat {
    pub fn expired(&self, now: OffsetDateTime) -> bool {
        self.end_at.is_some_and(|end| end <= now)
    }

    /// The seat's state by the domain rule ([`SeatState::of`]), as `seat_state` reads it.
    pub fn state(&self, now: OffsetDateTime) -> SeatState {
        SeatState::of(
            self.assigned_user_id.is_some(),
            self.locked_at.is_some(),
            self.expired(now),
        )
    }

    /// An empty list means any visible course.
    pub fn allows(&self, course_id: i64) -> bool {
        self.allowed_course_ids.is_empty() || self.allowed_course_ids.contains(&course_id)
    }
}

pub async fn lock(db: &mut PgConnection, id: i64) -> sqlx::Result<Option<LockedSeat>> {
    locked_seat_query!("WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(db)
        .await
}

/// Holds, until the transaction ends, the customer's bulk-assignment turn: a customer's
/// uploads run one after the other. Each takes its seats one by one and writes groups and
/// enrolments as it goes; two at once could each wait for a row the other wrote (a deadlock,
/// one upload refused after a second). The free seats themselves are not locked: single
/// assignments go on meanwhile.
pub async fn bulk_turn(db: &mut PgConnection, customer_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('bulk_assign:' || $1::BIGINT::TEXT, 0))",
        customer_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Whether the customer has at least `n` assignable seats: reads `n` of them at most.
pub async fn has_free(db: &mut PgConnection, customer_id: i64, n: i64) -> sqlx::Result<bool> {
    let found = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM (
               SELECT 1 FROM product_instances
               WHERE customer_id = $1 AND kind = 'seat' AND assigned_user_id IS NULL
                 AND revoked_at IS NULL AND (end_at IS NULL OR end_at > now())
               -- The order of product_instances_free_idx: the planner then walks that index
               -- and stops after $2 rows, however the customer's seats lie in the table.
               ORDER BY customer_id,
                        (CASE WHEN cardinality(allowed_course_ids) = 0 THEN 2147483647
                              ELSE cardinality(allowed_course_ids) END), id
               LIMIT $2) free"#,
        customer_id,
        n
    )
    .fetch_one(db)
    .await?;
    Ok(found >= n)
}

/// One of the customer's assignable seats allowing `course_id`, locked: the most restricted
/// first (the narrow seats go to the lines that need them, the open ones stay for the rest).
/// Seats another assignment holds are skipped, not waited for, and only the seat taken is
/// locked: a bulk assignment costs its lines, not the customer's free seats (it used to lock
/// all 84 000 of them). The order is `product_instances_free_idx`'s.
pub async fn lock_free_for(
    db: &mut PgConnection,
    customer_id: i64,
    course_id: i64,
) -> sqlx::Result<Option<LockedSeat>> {
    locked_seat_query!(
        "WHERE customer_id = $1 AND kind = 'seat' AND assigned_user_id IS NULL AND revoked_at IS NULL AND (end_at IS NULL OR end_at > now())
           AND (cardinality(allowed_course_ids) = 0 OR $2 = ANY(allowed_course_ids))
         ORDER BY CASE WHEN cardinality(allowed_course_ids) = 0 THEN 2147483647 ELSE cardinality(allowed_course_ids) END, id
         LIMIT 1
         FOR UPDATE SKIP LOCKED",
        customer_id,
        course_id
    )
    .fetch_optional(db)
    .await
}

/// The learner's names as the customer typed them (blank for an existing account).
pub struct TypedNames<'a> {
    pub firstname: Option<&'a str>,
    pub lastname: Option<&'a str>,
}

/// Assigns a seat that is still free; `false` if someone else took it first. The names
/// kept are the typed ones: the customer's pages never show the account's own.
pub async fn set_assignment(
    db: &mut PgConnection,
    id: i64,
    user_id: i64,
    course_id: i64,
    names: &TypedNames<'_>,
) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "UPDATE product_instances SET assigned_user_id = $2, assigned_course_id = $3, assigned_at = now(),
             learner_firstname = $4, learner_lastname = $5,
             learner_email = (SELECT email FROM users WHERE id = $2)
         WHERE id = $1 AND assigned_user_id IS NULL AND revoked_at IS NULL",
        id,
        user_id,
        course_id,
        names.firstname,
        names.lastname
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn clear_assignment(db: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE product_instances SET assigned_user_id = NULL, assigned_course_id = NULL, assigned_at = NULL,
             learner_firstname = NULL, learner_lastname = NULL, learner_email = NULL
         WHERE id = $1",
        id
    )
        .execute(db)
        .await?;
    Ok(())
}

pub struct AdminSeatRow {
    pub id: i64,
    pub reference: String,
    pub state: SeatState,
    pub customer_id: i64,
    pub customer: String,
    pub course: Option<String>,
    pub learner: Option<String>,
    pub end_at: Option<OffsetDateTime>,
}

/// Which seats an operator's search is about, each kind read through its own index.
pub enum AdminSeats<'a> {
    All,
    Reference(&'a str),
    /// Seats of the bill with this number.
    BillNumber(i64),
    /// Seats of these customers (found by their address).
    Customers(&'a [i64]),
    /// Seats assigned to this user (found by their address).
    Learner(i64),
    /// Seats of the customers whose name, organisation or address contains this (a
    /// `contains_pattern`), through the trigram index.
    CustomerText(&'a str),
}

/// The filters every seat search combines with its kind.
pub struct AdminSeatFilter<'a> {
    /// Assigned to one of these courses (`None`: any seat).
    pub course_ids: Option<&'a [i64]>,
    pub state: Option<SeatState>,
    pub cursor: Cursor,
    pub limit: i64,
}

/// One page of seat ids for an operator's search, newest first or (a "previous" page)
/// upwards from the cursor. The statement of each kind and direction is written out: each
/// is planned for its own index. Run in a [`super::custom_plans`] transaction: the optional
/// course and state filters must not leave a generic plan behind.
macro_rules! admin_seat_ids {
    ($tx:expr, $f:expr, $kind:literal $(, $arg:expr)*) => {{
        let f = $f;
        let courses = f.course_ids;
        let state = f.state;
        if f.cursor.ascending() {
            sqlx::query_scalar!(
                "SELECT pi.id FROM product_instances pi
                 WHERE pi.kind = 'seat' AND pi.revoked_at IS NULL AND pi.id < $1 AND pi.id > $2
                   AND ($3::BIGINT[] IS NULL OR pi.assigned_course_id = ANY($3))
                   AND ($4::TEXT IS NULL OR seat_state(pi) = $4) AND "
                    + $kind
                    + " ORDER BY pi.id LIMIT $5",
                f.cursor.upper(),
                f.cursor.lower(),
                courses,
                state as Option<SeatState>,
                f.limit
                $(, $arg)*
            )
            .fetch_all(&mut *$tx)
            .await
        } else {
            sqlx::query_scalar!(
                "SELECT pi.id FROM product_instances pi
                 WHERE pi.kind = 'seat' AND pi.revoked_at IS NULL AND pi.id < $1 AND pi.id > $2
                   AND ($3::BIGINT[] IS NULL OR pi.assigned_course_id = ANY($3))
                   AND ($4::TEXT IS NULL OR seat_state(pi) = $4) AND "
                    + $kind
                    + " ORDER BY pi.id DESC LIMIT $5",
                f.cursor.upper(),
                f.cursor.lower(),
                courses,
                state as Option<SeatState>,
                f.limit
                $(, $arg)*
            )
            .fetch_all(&mut *$tx)
            .await
        }
    }};
}

pub async fn admin_search(
    db: &PgPool,
    which: &AdminSeats<'_>,
    f: &AdminSeatFilter<'_>,
) -> sqlx::Result<Vec<AdminSeatRow>> {
    let mut tx = super::custom_plans(db).await?;
    let ids = match which {
        AdminSeats::All => admin_seat_ids!(tx, f, "TRUE")?,
        AdminSeats::Reference(r) => admin_seat_ids!(tx, f, "pi.reference = $6", r)?,
        AdminSeats::BillNumber(n) => admin_seat_ids!(
            tx,
            f,
            "pi.bill_id = (SELECT b.id FROM bills b WHERE b.number = $6)",
            n
        )?,
        AdminSeats::Customers(ids) => admin_seat_ids!(tx, f, "pi.customer_id = ANY($6)", ids)?,
        AdminSeats::Learner(user) => admin_seat_ids!(
            tx,
            f,
            "pi.assigned_user_id = $6 AND pi.assigned_course_id IS NOT NULL",
            user
        )?,
        AdminSeats::CustomerText(like) => admin_seat_ids!(
            tx,
            f,
            "pi.customer_id IN (SELECT c.id FROM customers c
                 WHERE (c.firstname || ' ' || c.lastname || ' ' || c.organisation || ' ' || c.email) ILIKE $6)",
            like
        )?,
    };
    let mut rows = admin_rows(&mut tx, &ids).await?;
    // In the direction they were read, as `Cursor::page` takes them.
    if f.cursor.ascending() {
        rows.reverse();
    }
    Ok(rows)
}

/// The seats of `ids`, newest first. Customer and learner are looked up per row: as joins,
/// the planner hashed the whole users and customers tables for a page of 100.
async fn admin_rows(db: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<AdminSeatRow>> {
    sqlx::query_as!(
        AdminSeatRow,
        r#"SELECT pi.id, pi.reference, seat_state(pi) AS "state!: SeatState", pi.customer_id,
              (SELECT cu.firstname || ' ' || cu.lastname || ' <' || cu.email || '>'
               FROM customers cu WHERE cu.id = pi.customer_id) AS "customer!",
              c.shortname AS "course?",
              (SELECT u.email FROM users u WHERE u.id = pi.assigned_user_id) AS "learner?", pi.end_at
           FROM product_instances pi
           LEFT JOIN courses c ON c.id = pi.assigned_course_id
           WHERE pi.id = ANY($1)
           ORDER BY pi.id DESC"#,
        ids
    )
    .fetch_all(db)
    .await
}

/// The distinct course lists a customer's seats allow (an empty list allows any course): what
/// the customer space's course filter offers.
pub async fn allowed_course_lists(
    db: impl PgExecutor<'_>,
    customer_id: i64,
) -> sqlx::Result<Vec<Vec<i64>>> {
    // A bill line's seats share one list (resolved at production): one seat per line, not
    // every seat of the customer (120 000 for the largest, read at every /customer view).
    sqlx::query_scalar!(
        r#"SELECT DISTINCT line_seat.ids AS "ids!"
           FROM bills b
           -- Each bill's lines through their index: the customer's bills are few beside
           -- every line of the shop (OFFSET 0 keeps the planner from joining them whole).
           CROSS JOIN LATERAL (
               SELECT item.id FROM bill_items item WHERE item.bill_id = b.id OFFSET 0
           ) item
           CROSS JOIN LATERAL (
               SELECT pi.allowed_course_ids AS ids FROM product_instances pi
               WHERE pi.bill_item_id = item.id AND pi.kind = 'seat' AND pi.revoked_at IS NULL
               LIMIT 1
           ) line_seat
           WHERE b.customer_id = $1"#,
        customer_id
    )
    .fetch_all(db)
    .await
}
