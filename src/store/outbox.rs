//! The mail outbox: written in the caller's transaction, delivered by the worker.

use sqlx::PgExecutor;
use time::OffsetDateTime;

use crate::domain::Cursor;

pub async fn enqueue(
    db: impl PgExecutor<'_>,
    to: &str,
    subject: &str,
    body: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO outbox (recipient, subject, body) VALUES ($1, $2, $3)",
        to,
        subject,
        body
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The same mail to every operator, in one statement.
pub async fn enqueue_to_operators(
    db: impl PgExecutor<'_>,
    subject: &str,
    body: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO outbox (recipient, subject, body) SELECT email, $1, $2 FROM users WHERE is_operator ORDER BY id",
        subject,
        body
    )
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Message {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: OffsetDateTime,
    pub attempts: i32,
    pub sent_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

/// One page of messages in the cursor's direction (newest first, or upwards for a
/// "previous" page), through the primary key.
pub async fn page(
    db: impl PgExecutor<'_>,
    cursor: Cursor,
    limit: i64,
) -> sqlx::Result<Vec<Message>> {
    if cursor.ascending() {
        sqlx::query_as!(
            Message,
            "SELECT id, recipient, subject, body, created_at, attempts, sent_at, last_error
             FROM outbox WHERE id < $1 AND id > $2 ORDER BY id LIMIT $3",
            cursor.upper(),
            cursor.lower(),
            limit
        )
        .fetch_all(db)
        .await
    } else {
        sqlx::query_as!(
            Message,
            "SELECT id, recipient, subject, body, created_at, attempts, sent_at, last_error
             FROM outbox WHERE id < $1 AND id > $2 ORDER BY id DESC LIMIT $3",
            cursor.upper(),
            cursor.lower(),
            limit
        )
        .fetch_all(db)
        .await
    }
}

/// Claims the next due message for this worker, in its own commit: `next_attempt_at` moves
/// `lease_seconds` ahead, so other workers skip it while it is being sent, and a worker that
/// dies while sending leaves it to be retried once the lease ends. At most the message in
/// flight at a crash can go out twice.
pub async fn claim_next(
    db: impl PgExecutor<'_>,
    lease_seconds: u32,
) -> sqlx::Result<Option<Message>> {
    sqlx::query_as!(
        Message,
        "UPDATE outbox SET next_attempt_at = now() + make_interval(secs => $1)
         WHERE id = (
             SELECT id FROM outbox
             WHERE sent_at IS NULL AND given_up_at IS NULL AND next_attempt_at <= now()
             ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING id, recipient, subject, body, created_at, attempts, sent_at, last_error",
        f64::from(lease_seconds)
    )
    .fetch_optional(db)
    .await
}

/// Records that the SMTP server accepted the message (its own commit, right after).
pub async fn mark_sent(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE outbox SET sent_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = $1",
        id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Records a failure and schedules the next try: 1, 2, 4 … minutes, at most 6 hours apart.
pub async fn mark_failed(db: impl PgExecutor<'_>, id: i64, error: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE outbox SET attempts = attempts + 1, last_error = $2,
           next_attempt_at = now() + least(interval '6 hours', interval '1 minute' * power(2, attempts))
         WHERE id = $1",
        id,
        error
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Whether a message to `to` was queued within the last `minutes` (a throttle on mails a
/// customer can cause to be sent to someone).
pub async fn mailed_recently(
    db: impl PgExecutor<'_>,
    to: &str,
    minutes: i32,
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM outbox WHERE recipient = $1
             AND created_at > now() - make_interval(mins => $2)) AS "recent!""#,
        to,
        minutes
    )
    .fetch_one(db)
    .await
}

/// Gives up on messages never accepted within `max_age` of being written (a mail server that
/// refused them for days; a link they carry has expired by now): they stay readable at
/// /admin/mail with the reason, and leave the worker's queue. At most `limit` a call.
pub async fn give_up_older_than(
    db: impl PgExecutor<'_>,
    max_age_days: i32,
    limit: i64,
) -> sqlx::Result<u64> {
    let r = sqlx::query!(
        "UPDATE outbox SET given_up_at = now(),
             last_error = coalesce(last_error || ' — ', '') || 'given up: not sent within ' || $1 || ' days'
         WHERE id = ANY(ARRAY(
             SELECT id FROM outbox
             WHERE sent_at IS NULL AND given_up_at IS NULL
               AND created_at < now() - make_interval(days => $1)
             ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED))",
        max_age_days,
        limit
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}
