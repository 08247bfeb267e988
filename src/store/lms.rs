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

/// `false` if they already were a member.
pub async fn add_to_group(
    db: impl PgExecutor<'_>,
    group_id: i64,
    user_id: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        group_id,
        user_id
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Removes a student's enrolment if they never opened the course; `false` otherwise.
pub async fn unenrol_unused(
    db: impl PgExecutor<'_>,
    course_id: i64,
    user_id: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "DELETE FROM enrolments WHERE course_id = $1 AND user_id = $2 AND first_access_at IS NULL",
        course_id,
        user_id
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn remove_from_group(
    db: impl PgExecutor<'_>,
    course_id: i64,
    name: &str,
    user_id: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "DELETE FROM group_members WHERE user_id = $3
           AND group_id IN (SELECT id FROM course_groups WHERE course_id = $1 AND name = $2)",
        course_id,
        name,
        user_id
    )
    .execute(db)
    .await?;
    Ok(())
}

pub struct MyCourse {
    pub shortname: String,
    pub fullname: String,
    pub role: String,
    pub first_access_at: Option<OffsetDateTime>,
    pub end_at: Option<OffsetDateTime>,
    /// Set for a course imported from Moodle.
    pub moodle_id: Option<i64>,
}

pub async fn courses_of(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<Vec<MyCourse>> {
    sqlx::query_as!(
        MyCourse,
        "SELECT c.shortname, c.fullname, e.role, e.first_access_at, e.end_at, c.moodle_id
         FROM enrolments e JOIN courses c ON c.id = e.course_id
         WHERE e.user_id = $1 ORDER BY c.fullname",
        user_id
    )
    .fetch_all(db)
    .await
}

/// Records the first time `user_id` opens the course (what locks a seat); returns whether
/// they are enrolled at all.
pub async fn record_access(
    db: impl PgExecutor<'_>,
    course_id: i64,
    user_id: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "UPDATE enrolments SET first_access_at = COALESCE(first_access_at, now()) WHERE course_id = $1 AND user_id = $2",
        course_id,
        user_id
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A group as a learner reads it: its name (the bill's reference, `B0000000123`, as the
/// customer and Moodle know it) and who bought the seat that put the learner in it.
#[derive(Debug, Clone)]
pub struct LearnerGroup {
    pub name: String,
    pub organisation: Option<String>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
}

impl LearnerGroup {
    /// The buyer a learner knows: the organisation, else the customer's own name.
    pub fn owner(&self) -> Option<String> {
        match (&self.organisation, &self.firstname, &self.lastname) {
            (Some(o), _, _) if !o.trim().is_empty() => Some(o.trim().to_owned()),
            (_, Some(f), Some(l)) => Some(format!("{f} {l}").trim().to_owned()),
            _ => None,
        }
        .filter(|o| !o.is_empty())
    }
}

/// The learner's groups in a course, each with the customer of the bill it is named after
/// (read through the bill number: a group named otherwise has no owner).
pub async fn groups_of(
    db: impl PgExecutor<'_>,
    course_id: i64,
    user_id: i64,
) -> sqlx::Result<Vec<LearnerGroup>> {
    sqlx::query_as!(
        LearnerGroup,
        r#"SELECT g.name, cu.organisation AS "organisation?", cu.firstname AS "firstname?",
                  cu.lastname AS "lastname?"
           FROM course_groups g JOIN group_members m ON m.group_id = g.id
           LEFT JOIN bills b ON b.number = CASE WHEN g.name ~ '^B[0-9]{10}$'
                                                THEN substr(g.name, 2)::BIGINT END
           LEFT JOIN customers cu ON cu.id = b.customer_id
           WHERE g.course_id = $1 AND m.user_id = $2 ORDER BY g.name"#,
        course_id,
        user_id
    )
    .fetch_all(db)
    .await
}
