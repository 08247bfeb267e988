//! Product instances: seats (assignable later) and enrolment products.

use sqlx::PgExecutor;
use time::OffsetDateTime;

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
