//! The durable queue of changes to apply to Moodle (LMS=moodle): written in the caller's
//! transaction, applied by `moodle::worker`.

use sqlx::PgExecutor;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Enrol,
    Unenrol,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Enrol => "enrol",
            Kind::Unenrol => "unenrol",
        }
    }
}

pub struct NewJob<'a> {
    pub kind: Kind,
    pub user_id: i64,
    pub course_id: i64,
    pub role: &'a str,
    pub start_at: Option<OffsetDateTime>,
    pub end_at: Option<OffsetDateTime>,
    pub group_name: Option<&'a str>,
    pub seat_id: Option<i64>,
}

pub async fn enqueue(db: impl PgExecutor<'_>, job: &NewJob<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO lms_jobs (kind, user_id, course_id, role, start_at, end_at, group_name, seat_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        job.kind.as_str(),
        job.user_id,
        job.course_id,
        job.role,
        job.start_at,
        job.end_at,
        job.group_name,
        job.seat_id
    )
    .fetch_one(db)
    .await
}

/// A job with what the worker needs to apply it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub user_id: i64,
    pub email: String,
    pub firstname: String,
    pub lastname: String,
    pub course_id: i64,
    pub course_shortname: String,
    pub moodle_course_id: Option<i64>,
    pub role: String,
    pub start_at: Option<OffsetDateTime>,
    pub end_at: Option<OffsetDateTime>,
    pub group_name: Option<String>,
    pub attempts: i32,
}

/// Claims the next due job under a lease (like the mail outbox): other workers skip it
/// while it runs, and one whose worker died is taken again when the lease ends. A job waits
/// while an earlier one of the same learner and course is unfinished, so they apply in order.
pub async fn claim_next(db: impl PgExecutor<'_>, lease_seconds: u32) -> sqlx::Result<Option<Job>> {
    sqlx::query_as!(
        Job,
        r#"WITH claimed AS (
             UPDATE lms_jobs SET next_attempt_at = now() + make_interval(secs => $1)
             WHERE id = (
                 SELECT j.id FROM lms_jobs j
                 WHERE j.state = 'pending' AND j.next_attempt_at <= now()
                   AND NOT EXISTS (SELECT 1 FROM lms_jobs e
                                   WHERE e.user_id = j.user_id AND e.course_id = j.course_id
                                     AND e.id < j.id AND e.state <> 'done')
                 ORDER BY j.next_attempt_at, j.id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING *
           )
           SELECT c.id, c.kind, c.user_id, u.email, u.firstname, u.lastname, c.course_id,
                  co.shortname AS course_shortname, co.moodle_id AS moodle_course_id,
                  c.role, c.start_at, c.end_at, c.group_name, c.attempts
           FROM claimed c JOIN users u ON u.id = c.user_id JOIN courses co ON co.id = c.course_id"#,
        f64::from(lease_seconds)
    )
    .fetch_optional(db)
    .await
}

/// Done, with the calls this attempt made. Only while still pending: a job an operator
/// looked at meanwhile keeps what they saw.
pub async fn mark_done(db: impl PgExecutor<'_>, id: i64, calls: i32) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE lms_jobs SET state = 'done', done_at = now(), attempts = attempts + 1,
           calls = calls + $2, last_error = NULL
         WHERE id = $1 AND state = 'pending'",
        id,
        calls
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A transient failure: tried again after 2, 4, 8 … seconds, at most 5 minutes apart.
pub async fn mark_retry(
    db: impl PgExecutor<'_>,
    id: i64,
    calls: i32,
    error: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE lms_jobs SET attempts = attempts + 1, calls = calls + $2, last_error = $3,
           next_attempt_at = now() + least(interval '5 minutes', interval '1 second' * power(2, least(attempts + 1, 12)))
         WHERE id = $1 AND state = 'pending'",
        id,
        calls,
        error
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A permanent failure: stops until an operator retries it from /admin/lms.
pub async fn mark_failed(
    db: impl PgExecutor<'_>,
    id: i64,
    calls: i32,
    error: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE lms_jobs SET state = 'failed', attempts = attempts + 1, calls = calls + $2,
           last_error = $3
         WHERE id = $1 AND state = 'pending'",
        id,
        calls,
        error
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Puts a failed job back in the queue, due now. `false` if it was not failed.
pub async fn retry(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "UPDATE lms_jobs SET state = 'pending', next_attempt_at = now() WHERE id = $1 AND state = 'failed'",
        id
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// An operator gives up on a failed job (its change was made by hand in Moodle, or is no
/// longer wanted): recorded as done, with who gave it up and Moodle's last answer, so the
/// jobs of that learner and course behind it run again. `false` if it was not failed.
pub async fn discard(db: impl PgExecutor<'_>, id: i64, by: &str) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "UPDATE lms_jobs SET state = 'done', done_at = now(),
           last_error = 'discarded by ' || $2 || ' at ' || now()::text || coalesce(': ' || last_error, '')
         WHERE id = $1 AND state = 'failed'",
        id,
        by
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A job as /admin/lms lists it.
pub struct Listed {
    pub id: i64,
    pub kind: String,
    pub state: String,
    pub email: String,
    pub course: String,
    pub role: String,
    pub group_name: Option<String>,
    pub attempts: i32,
    pub calls: i32,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub next_attempt_at: OffsetDateTime,
}

/// Failed jobs first, then the ones still waiting, oldest first.
pub async fn unfinished(db: impl PgExecutor<'_>, limit: i64) -> sqlx::Result<Vec<Listed>> {
    sqlx::query_as!(
        Listed,
        "SELECT j.id, j.kind, j.state, u.email, c.shortname AS course, j.role, j.group_name,
                j.attempts, j.calls, j.last_error, j.created_at, j.next_attempt_at
         FROM lms_jobs j JOIN users u ON u.id = j.user_id JOIN courses c ON c.id = j.course_id
         WHERE j.state <> 'done'
         ORDER BY j.state = 'failed' DESC, j.id LIMIT $1",
        limit
    )
    .fetch_all(db)
    .await
}

/// Done jobs are kept a week (their figures: created, done, calls) and then deleted, so the
/// queue's table holds what is open plus a week, however long the shop runs.
pub async fn prune_done(db: impl PgExecutor<'_>, days: i32) -> sqlx::Result<u64> {
    let r = sqlx::query!(
        "DELETE FROM lms_jobs WHERE state = 'done' AND done_at < now() - make_interval(days => $1)",
        days
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}

pub struct Counts {
    pub pending: i64,
    pub failed: i64,
    pub done: i64,
}

pub async fn counts(db: impl PgExecutor<'_>) -> sqlx::Result<Counts> {
    sqlx::query_as!(
        Counts,
        r#"SELECT count(*) FILTER (WHERE state = 'pending') AS "pending!",
                  count(*) FILTER (WHERE state = 'failed') AS "failed!",
                  count(*) FILTER (WHERE state = 'done') AS "done!"
           FROM lms_jobs"#
    )
    .fetch_one(db)
    .await
}

/// Which of these seats still wait for Moodle (a job not done yet).
pub async fn seats_being_set_up(
    db: impl PgExecutor<'_>,
    seat_ids: &[i64],
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        r#"SELECT DISTINCT seat_id AS "seat_id!" FROM lms_jobs
           WHERE seat_id = ANY($1) AND state <> 'done'"#,
        seat_ids
    )
    .fetch_all(db)
    .await
}
