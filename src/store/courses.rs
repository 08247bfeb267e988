use sqlx::PgExecutor;
use time::Date;

#[derive(Debug, Clone)]
pub struct Course {
    pub id: i64,
    pub shortname: String,
    pub fullname: String,
    pub visible: bool,
    pub startdate: Option<Date>,
}

pub async fn all(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Course>> {
    sqlx::query_as!(
        Course,
        "SELECT id, shortname, fullname, visible, startdate FROM courses ORDER BY shortname"
    )
    .fetch_all(db)
    .await
}

pub async fn find(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Course>> {
    sqlx::query_as!(
        Course,
        "SELECT id, shortname, fullname, visible, startdate FROM courses WHERE id = $1",
        id
    )
    .fetch_optional(db)
    .await
}

pub async fn find_by_shortname(
    db: impl PgExecutor<'_>,
    shortname: &str,
) -> sqlx::Result<Option<Course>> {
    sqlx::query_as!(
        Course,
        "SELECT id, shortname, fullname, visible, startdate FROM courses WHERE shortname = $1",
        shortname
    )
    .fetch_optional(db)
    .await
}

pub async fn by_ids(db: impl PgExecutor<'_>, ids: &[i64]) -> sqlx::Result<Vec<Course>> {
    sqlx::query_as!(
        Course,
        "SELECT id, shortname, fullname, visible, startdate FROM courses WHERE id = ANY($1) ORDER BY shortname",
        ids
    )
    .fetch_all(db)
    .await
}

pub struct CourseInput<'a> {
    pub shortname: &'a str,
    pub fullname: &'a str,
    pub visible: bool,
    pub startdate: Option<Date>,
}

/// `None` when the shortname is taken.
pub async fn insert(db: impl PgExecutor<'_>, c: &CourseInput<'_>) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "INSERT INTO courses (shortname, fullname, visible, startdate) VALUES ($1, $2, $3, $4)
         ON CONFLICT (shortname) DO NOTHING RETURNING id",
        c.shortname,
        c.fullname,
        c.visible,
        c.startdate
    )
    .fetch_optional(db)
    .await
}

/// `false` when the new shortname belongs to another course.
pub async fn update(db: impl PgExecutor<'_>, id: i64, c: &CourseInput<'_>) -> sqlx::Result<bool> {
    let result = sqlx::query!(
        "UPDATE courses SET shortname = $2, fullname = $3, visible = $4, startdate = $5
         WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM courses WHERE shortname = $2 AND id <> $1)",
        id,
        c.shortname,
        c.fullname,
        c.visible,
        c.startdate
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Where a course stands in Moodle (imported courses only).
pub struct MoodleState {
    pub id: i64,
    pub moodle_id: i64,
    pub category: Option<String>,
    pub gone: bool,
}

pub async fn moodle_states(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<MoodleState>> {
    sqlx::query_as!(
        MoodleState,
        r#"SELECT id, moodle_id AS "moodle_id!", moodle_category AS category, moodle_gone AS gone
           FROM courses WHERE moodle_id IS NOT NULL ORDER BY id"#
    )
    .fetch_all(db)
    .await
}

/// The Moodle id of an imported course.
pub async fn moodle_id(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<i64>> {
    Ok(
        sqlx::query_scalar!("SELECT moodle_id FROM courses WHERE id = $1", id)
            .fetch_optional(db)
            .await?
            .flatten(),
    )
}

pub async fn role_names(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!("SELECT shortname FROM roles ORDER BY shortname")
        .fetch_all(db)
        .await
}
