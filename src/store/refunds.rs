//! Refunds (each one a credit note), their lines, and the seats they revoke.

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct Refund {
    pub id: i64,
    pub bill_id: i64,
    pub customer_id: i64,
    pub credit_note_number: String,
    pub currency: String,
    pub untaxed: i64,
    pub tax: i64,
    pub total: i64,
    pub reason: String,
    pub actor: String,
    pub provider_refund_id: Option<String>,
    pub seats_revoked: i32,
    pub seats_kept: i32,
    pub created_at: OffsetDateTime,
}

/// A query returning whole [`Refund`]s: `$before` + the one column list + `$after`.
macro_rules! refund_query {
    ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Refund,
            $before
                + " id, bill_id, customer_id, credit_note_number, currency, untaxed, tax, total, reason,
                   actor, provider_refund_id, seats_revoked, seats_kept, created_at "
                + $after
            $(, $arg)*
        )
    };
}

/// What earlier refunds gave back on one bill line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Refunded {
    pub bill_item_id: i64,
    pub quantity: i64,
    pub untaxed: i64,
    pub tax: i64,
}

pub async fn refunded_per_item(
    db: impl PgExecutor<'_>,
    bill_id: i64,
) -> sqlx::Result<Vec<Refunded>> {
    sqlx::query_as!(
        Refunded,
        r#"SELECT l.bill_item_id, sum(l.quantity)::BIGINT AS "quantity!", sum(l.untaxed)::BIGINT AS "untaxed!",
                  sum(l.tax)::BIGINT AS "tax!"
           FROM refunds r JOIN refund_lines l ON l.refund_id = r.id
           WHERE r.bill_id = $1
           GROUP BY l.bill_item_id"#,
        bill_id
    )
    .fetch_all(db)
    .await
}

/// A customer's bills that some refund gave money back on but that are not REFUNDED: the
/// ones its space labels "Partially refunded".
pub async fn partly_refunded_bills(
    db: impl PgExecutor<'_>,
    customer_id: i64,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        "SELECT DISTINCT r.bill_id FROM refunds r JOIN bills b ON b.id = r.bill_id
         WHERE r.customer_id = $1 AND b.state <> 'REFUNDED'",
        customer_id
    )
    .fetch_all(db)
    .await
}

/// The refund an earlier press of the same refund form made, if any.
pub async fn find_by_submission(
    db: impl PgExecutor<'_>,
    bill_id: i64,
    submission_key: &str,
) -> sqlx::Result<Option<Refund>> {
    refund_query!(
        "SELECT",
        "FROM refunds WHERE bill_id = $1 AND submission_key = $2",
        bill_id,
        submission_key
    )
    .fetch_optional(db)
    .await
}

pub struct NewRefund<'a> {
    pub bill_id: i64,
    pub customer_id: i64,
    pub submission_key: &'a str,
    pub currency: &'a str,
    pub untaxed: i64,
    pub tax: i64,
    pub reason: &'a str,
    pub actor: &'a str,
}

/// Records a refund under the next credit note number of the year, drawn as invoice
/// numbers are (`bills::assign_invoice_number`): the counter row stays locked until the
/// refunding transaction ends, so the numbers have no gap.
pub async fn insert(db: &mut PgConnection, r: &NewRefund<'_>) -> sqlx::Result<Refund> {
    refund_query!(
        r#"WITH drawn AS (
               INSERT INTO credit_note_counters (year, last)
               VALUES (EXTRACT(YEAR FROM now() AT TIME ZONE 'UTC')::INTEGER, 1)
               ON CONFLICT (year) DO UPDATE SET last = credit_note_counters.last + 1
               RETURNING year, last
           )
           INSERT INTO refunds (bill_id, customer_id, credit_note_number, submission_key, currency,
               untaxed, tax, total, reason, actor)
           SELECT $1, $2, (SELECT credit_note_prefix FROM settings WHERE id = 1) || drawn.year || '-'
                   || repeat('0', greatest(0, 6 - length(drawn.last::TEXT))) || drawn.last,
               $3, $4, $5::BIGINT, $6::BIGINT, $5::BIGINT + $6::BIGINT, $7, $8
           FROM drawn
           RETURNING"#,
        "",
        r.bill_id,
        r.customer_id,
        r.submission_key,
        r.currency,
        r.untaxed,
        r.tax,
        r.reason,
        r.actor
    )
    .fetch_one(db)
    .await
}

/// Records that bill line `bill_item_id` owes `n` more seats: refunded, but in use.
pub async fn owe_seats(db: impl PgExecutor<'_>, bill_item_id: i64, n: i32) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE bill_items SET seats_owed = seats_owed + $2 WHERE id = $1",
        bill_item_id,
        n
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Called as a seat is released: when its line owes seats, this one is revoked (for the
/// bill's latest refund) instead of becoming free. The line's row lock orders concurrent
/// releases, each re-reading what is still owed. `true` when the seat was revoked.
pub async fn revoke_if_owed(db: impl PgExecutor<'_>, seat_id: i64) -> sqlx::Result<bool> {
    let revoked = sqlx::query_scalar!(
        r#"WITH owed AS (
               UPDATE bill_items SET seats_owed = seats_owed - 1
               WHERE id = (SELECT bill_item_id FROM product_instances WHERE id = $1)
                 AND seats_owed > 0
               RETURNING id, bill_id
           )
           UPDATE product_instances SET revoked_at = now(),
               refund_id = (SELECT max(r.id) FROM refunds r, owed WHERE r.bill_id = owed.bill_id)
           WHERE id = $1 AND EXISTS (SELECT 1 FROM owed)
           RETURNING id"#,
        seat_id
    )
    .fetch_optional(db)
    .await?;
    Ok(revoked.is_some())
}

/// How many refunds `bill_id` has had: the next one's place in the bill's sequence.
pub async fn count_for_bill(db: impl PgExecutor<'_>, bill_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM refunds WHERE bill_id = $1"#,
        bill_id
    )
    .fetch_one(db)
    .await
}

pub async fn insert_line(
    db: impl PgExecutor<'_>,
    refund_id: i64,
    bill_item_id: i64,
    quantity: i32,
    untaxed: i64,
    tax: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO refund_lines (refund_id, bill_item_id, quantity, untaxed, tax) VALUES ($1, $2, $3, $4, $5)",
        refund_id,
        bill_item_id,
        quantity,
        untaxed,
        tax
    )
    .execute(db)
    .await?;
    Ok(())
}

/// What the refund did to seats and money, once done.
pub async fn finish(
    db: impl PgExecutor<'_>,
    refund_id: i64,
    provider_refund_id: Option<&str>,
    seats_revoked: i32,
    seats_kept: i32,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE refunds SET provider_refund_id = $2, seats_revoked = $3, seats_kept = $4 WHERE id = $1",
        refund_id,
        provider_refund_id,
        seats_revoked,
        seats_kept
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn for_bill(db: impl PgExecutor<'_>, bill_id: i64) -> sqlx::Result<Vec<Refund>> {
    refund_query!(
        "SELECT",
        "FROM refunds WHERE bill_id = $1 ORDER BY id",
        bill_id
    )
    .fetch_all(db)
    .await
}

/// The refund the provider knows as `provider_refund_id`.
pub async fn find_by_provider_id(
    db: impl PgExecutor<'_>,
    provider_refund_id: &str,
) -> sqlx::Result<Option<Refund>> {
    refund_query!(
        "SELECT",
        "FROM refunds WHERE provider_refund_id = $1",
        provider_refund_id
    )
    .fetch_optional(db)
    .await
}

/// The refund `id` of `bill_id`; one of another bill is `None`.
pub async fn find_for_bill(
    db: impl PgExecutor<'_>,
    bill_id: i64,
    id: i64,
) -> sqlx::Result<Option<Refund>> {
    refund_query!(
        "SELECT",
        "FROM refunds WHERE bill_id = $1 AND id = $2",
        bill_id,
        id
    )
    .fetch_optional(db)
    .await
}

/// A credit note's line: the bill line it corrects and what went back on it.
#[derive(Debug, Clone)]
pub struct Line {
    pub line_no: i32,
    pub code: String,
    pub name: String,
    pub tax_rate_bp: i32,
    pub quantity: i32,
    /// The invoiced unit price (untaxed, before any coupon).
    pub unit_price: i64,
    pub untaxed: i64,
    pub tax: i64,
}

pub async fn lines(db: impl PgExecutor<'_>, refund_id: i64) -> sqlx::Result<Vec<Line>> {
    sqlx::query_as!(
        Line,
        "SELECT i.line_no, i.code, i.name, i.tax_rate_bp, l.quantity, i.unit_price, l.untaxed, l.tax
         FROM refund_lines l JOIN bill_items i ON i.id = l.bill_item_id
         WHERE l.refund_id = $1 ORDER BY i.line_no",
        refund_id
    )
    .fetch_all(db)
    .await
}

/// How a bill line's products stand: not revoked and unassigned (may be revoked), and
/// assigned or locked (never revoked).
#[derive(Debug, Clone, Copy, Default)]
pub struct ItemProducts {
    pub free: i64,
    pub assigned: i64,
}

pub async fn item_products(
    db: impl PgExecutor<'_>,
    bill_item_id: i64,
) -> sqlx::Result<ItemProducts> {
    sqlx::query_as!(
        ItemProducts,
        r#"SELECT count(*) FILTER (WHERE kind = 'seat' AND assigned_user_id IS NULL) AS "free!",
                  count(*) FILTER (WHERE assigned_user_id IS NOT NULL) AS "assigned!"
           FROM product_instances WHERE bill_item_id = $1 AND revoked_at IS NULL"#,
        bill_item_id
    )
    .fetch_one(db)
    .await
}

/// An assigned (or locked) product a refund leaves in place, as the operator is told.
#[derive(Debug, Clone)]
pub struct KeptSeat {
    pub reference: String,
    pub locked: bool,
    pub learner: Option<String>,
    pub course: Option<String>,
}

pub async fn assigned_of_item(
    db: impl PgExecutor<'_>,
    bill_item_id: i64,
) -> sqlx::Result<Vec<KeptSeat>> {
    sqlx::query_as!(
        KeptSeat,
        r#"SELECT pi.reference, pi.locked_at IS NOT NULL AS "locked!",
                  coalesce(u.email, pi.learner_email) AS learner, c.shortname AS "course?"
           FROM product_instances pi
           LEFT JOIN users u ON u.id = pi.assigned_user_id
           LEFT JOIN courses c ON c.id = pi.assigned_course_id
           WHERE pi.bill_item_id = $1 AND pi.revoked_at IS NULL AND pi.assigned_user_id IS NOT NULL
           ORDER BY pi.id"#,
        bill_item_id
    )
    .fetch_all(db)
    .await
}

/// Revokes up to `n` unassigned seats of a bill line for `refund_id`; returns how many.
/// A seat an assignment holds right now is waited for, not skipped: if that assignment
/// fails, the seat is still free and is revoked; the update re-reads each row after the
/// wait, so a seat assigned meanwhile is never revoked.
pub async fn revoke_free(
    db: &mut PgConnection,
    bill_item_id: i64,
    n: i64,
    refund_id: i64,
) -> sqlx::Result<u64> {
    let r = sqlx::query!(
        "UPDATE product_instances SET revoked_at = now(), refund_id = $3
         WHERE id IN (SELECT id FROM product_instances
                      WHERE bill_item_id = $1 AND kind = 'seat' AND assigned_user_id IS NULL
                        AND revoked_at IS NULL
                      ORDER BY id DESC LIMIT $2 FOR UPDATE)
           AND assigned_user_id IS NULL",
        bill_item_id,
        n,
        refund_id
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}
