//! The LMS side: enrolments, course groups, course access.

use sqlx::PgExecutor;
use time::OffsetDateTime;

/// Enrols `user_id` in `course_id`; `false` if they already were (nothing changes then).
pub async fn enrol(
    db: impl PgExecutor<'_>,
    course_id: i64,
    user_id: i64,
    role: &str,
    start_at: Option<OffsetDateTime>,
    end_at: Option<OffsetDateTime>,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query!(
        "INSERT INTO enrolments (course_id, user_id, role, start_at, end_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (course_id, user_id) DO NOTHING",
        course_id,
        user_id,
        role,
        start_at,
        end_at
    )
    .execute(db)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

pub async fn is_enrolled(
    db: impl PgExecutor<'_>,
    course_id: i64,
    user_id: i64,
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM enrolments WHERE course_id = $1 AND user_id = $2) AS "e!""#,
        course_id,
        user_id
    )
    .fetch_one(db)
    .await
}

/// The group `name` of a course, created if missing.
pub async fn ensure_group(
    db: impl PgExecutor<'_>,
    course_id: i64,
    name: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"WITH ins AS (
             INSERT INTO course_groups (course_id, name) VALUES ($1, $2)
             ON CONFLICT (course_id, name) DO NOTHING RETURNING id
           )
           SELECT id AS "id!" FROM ins
           UNION ALL SELECT id FROM course_groups WHERE course_id = $1 AND name = $2
           LIMIT 1"#,
        course_id,
        name
    )
    .fetch_one(db)
    .await
}

pub async fn add_to_group(
    db: impl PgExecutor<'_>,
    group_id: i64,
    user_id: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        group_id,
        user_id
    )
    .execute(db)
    .await?;
    Ok(())
}
