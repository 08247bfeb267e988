//! Pending changes of a user's sign-in address, confirmed by a single-use, expiring link
//! mailed to the new address. Tokens are stored as digests, as set-password tokens are.

use sqlx::PgExecutor;
use time::{Duration, OffsetDateTime};

use crate::domain::Email;
use crate::security::tokens::{digest, random_token};

/// How long a confirmation link stays valid.
pub const LIFETIME: Duration = Duration::days(1);

/// Records a change of `user_id`'s address to `new_email` and returns the clear token (for
/// the link only). Call [`void_pending`] first: only the latest request counts.
pub async fn request(
    db: impl PgExecutor<'_>,
    user_id: i64,
    new_email: &Email,
) -> sqlx::Result<String> {
    let token = random_token();
    sqlx::query!(
        "INSERT INTO email_changes (user_id, new_email, token_hash, expires_at) VALUES ($1, $2, $3, $4)",
        user_id,
        new_email.as_str(),
        digest(&token),
        OffsetDateTime::now_utc() + LIFETIME
    )
    .execute(db)
    .await?;
    Ok(token)
}

/// Voids every unused link of `user_id` (a newer request, or the change is done).
pub async fn void_pending(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE email_changes SET used_at = now() WHERE user_id = $1 AND used_at IS NULL",
        user_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A still-valid change: whose, and to which address.
#[derive(Debug, Clone)]
pub struct Pending {
    pub user_id: i64,
    pub new_email: String,
}

/// The change a still-valid token stands for, without using it up.
pub async fn peek(db: impl PgExecutor<'_>, token: &str) -> sqlx::Result<Option<Pending>> {
    sqlx::query_as!(
        Pending,
        "SELECT user_id, new_email FROM email_changes
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()",
        digest(token)
    )
    .fetch_optional(db)
    .await
}

/// Uses the token up; `None` if it was used, expired or unknown. The conditional update makes
/// two simultaneous confirmations of one link succeed once.
pub async fn consume(db: impl PgExecutor<'_>, token: &str) -> sqlx::Result<Option<Pending>> {
    sqlx::query_as!(
        Pending,
        "UPDATE email_changes SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
         RETURNING user_id, new_email",
        digest(token)
    )
    .fetch_optional(db)
    .await
}

/// The address a user is changing to, while a link for it is valid.
pub async fn pending_for(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!(
        "SELECT new_email FROM email_changes
         WHERE user_id = $1 AND used_at IS NULL AND expires_at > now()
         ORDER BY id DESC LIMIT 1",
        user_id
    )
    .fetch_optional(db)
    .await
}

/// Moves the account to its confirmed address: the user's sign-in email and the customer
/// record together. `false` when another user has taken the address meanwhile (the unique
/// index on `lower(email)` decides, so a concurrent sign-up cannot slip between a check
/// and the update).
pub async fn apply(
    db: &mut sqlx::PgConnection,
    user_id: i64,
    new_email: &str,
) -> sqlx::Result<bool> {
    let moved = sqlx::query!(
        "UPDATE users SET email = $2 WHERE id = $1
           AND NOT EXISTS (SELECT 1 FROM users o WHERE lower(o.email) = lower($2) AND o.id <> $1)",
        user_id,
        new_email
    )
    .execute(&mut *db)
    .await;
    match moved {
        Ok(r) if r.rows_affected() == 1 => {}
        Ok(_) => return Ok(false),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(false),
        Err(e) => return Err(e),
    }
    sqlx::query!(
        "UPDATE customers SET email = $2, updated_at = now() WHERE user_id = $1",
        user_id,
        new_email
    )
    .execute(&mut *db)
    .await?;
    // The seats given to this user find them by their address (migration 0026).
    sqlx::query!(
        "UPDATE product_instances SET learner_email = $2 WHERE assigned_user_id = $1 AND kind = 'seat'",
        user_id,
        new_email
    )
    .execute(&mut *db)
    .await?;
    Ok(true)
}
