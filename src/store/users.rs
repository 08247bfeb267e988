use sqlx::{PgExecutor, PgPool};

use crate::domain::Email;

/// A signed-in user as handlers see it (no password hash).
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub firstname: String,
    pub lastname: String,
    pub is_operator: bool,
    /// Set once the owner used a set-password link (or chose a password at set-up); until
    /// then the account reaches only the customer space of the purchase that created it.
    pub verified: bool,
    /// Part of every signed-in session of this user; a session of another epoch is over.
    pub session_epoch: i32,
}

impl User {
    pub fn display_name(&self) -> String {
        let name = format!("{} {}", self.firstname, self.lastname);
        if name.trim().is_empty() {
            self.email.clone()
        } else {
            name.trim().to_owned()
        }
    }
}

pub async fn find(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<User>> {
    sqlx::query_as!(
        User,
        r#"SELECT id, email, firstname, lastname, is_operator,
                  verified_at IS NOT NULL AS "verified!", session_epoch
           FROM users WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
}

pub async fn find_by_email(db: impl PgExecutor<'_>, email: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as!(
        User,
        r#"SELECT id, email, firstname, lastname, is_operator,
                  verified_at IS NOT NULL AS "verified!", session_epoch
           FROM users WHERE lower(email) = lower($1)"#,
        email
    )
    .fetch_optional(db)
    .await
}

/// Id and stored hash for a login attempt.
pub async fn credentials(db: &PgPool, email: &str) -> sqlx::Result<Option<(i64, Option<String>)>> {
    let row = sqlx::query!(
        "SELECT id, password_hash FROM users WHERE lower(email) = lower($1)",
        email
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.id, r.password_hash)))
}

pub struct NewUser<'a> {
    pub email: &'a Email,
    pub firstname: &'a str,
    pub lastname: &'a str,
    pub password_hash: Option<&'a str>,
    pub is_operator: bool,
}

/// Inserts a user; `None` when the email is already taken (no error, no overwrite). An
/// account given a password at creation (operators set up by whoever runs the shop) is
/// verified; one created for a buyer or a learner waits for its set-password link.
pub async fn insert(db: impl PgExecutor<'_>, new: NewUser<'_>) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "INSERT INTO users (email, firstname, lastname, password_hash, is_operator, verified_at)
         VALUES ($1, $2, $3, $4, $5, CASE WHEN $4::text IS NOT NULL THEN now() END)
         ON CONFLICT ((lower(email))) DO NOTHING
         RETURNING id",
        new.email.as_str(),
        new.firstname,
        new.lastname,
        new.password_hash,
        new.is_operator
    )
    .fetch_optional(db)
    .await
}

/// Sets the password chosen through a set-password link: the address is proved, and every
/// session of the user ends (the caller signs the chooser in again under the returned epoch).
pub async fn set_password(db: impl PgExecutor<'_>, id: i64, hash: &str) -> sqlx::Result<i32> {
    sqlx::query_scalar!(
        "UPDATE users
         SET password_hash = $2, verified_at = coalesce(verified_at, now()),
             session_epoch = session_epoch + 1
         WHERE id = $1
         RETURNING session_epoch",
        id,
        hash
    )
    .fetch_one(db)
    .await
}

pub async fn touch_login(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query!("UPDATE users SET last_login_at = now() WHERE id = $1", id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn operator_exists(db: impl PgExecutor<'_>) -> sqlx::Result<bool> {
    sqlx::query_scalar!("SELECT EXISTS (SELECT 1 FROM users WHERE is_operator) AS \"e!\"")
        .fetch_one(db)
        .await
}

pub async fn make_operator(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query!("UPDATE users SET is_operator = TRUE WHERE id = $1", id)
        .execute(db)
        .await?;
    Ok(())
}
