//! Single-use, expiring set-password tokens, stored as digests.

use sqlx::PgExecutor;
use time::Duration;

use crate::security::tokens::{digest, random_token};

/// How long a set-password link stays valid.
pub const TOKEN_LIFETIME: Duration = Duration::days(3);

/// Creates a token for `user_id` and returns the clear value (to put in the link, only).
pub async fn issue(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<String> {
    let token = random_token();
    let expires = time::OffsetDateTime::now_utc() + TOKEN_LIFETIME;
    sqlx::query!(
        "INSERT INTO password_tokens (user_id, token_hash, expires_at) VALUES ($1, $2, $3)",
        user_id,
        digest(&token),
        expires
    )
    .execute(db)
    .await?;
    Ok(token)
}

/// The user a still-valid token belongs to, without using it up.
pub async fn peek(db: impl PgExecutor<'_>, token: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "SELECT user_id FROM password_tokens
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()",
        digest(token)
    )
    .fetch_optional(db)
    .await
}

/// Uses the token up; `None` if it was already used, expired or unknown. The conditional
/// update makes two simultaneous submissions of one link succeed once.
pub async fn consume(db: impl PgExecutor<'_>, token: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "UPDATE password_tokens SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
         RETURNING user_id",
        digest(token)
    )
    .fetch_optional(db)
    .await
}

/// Voids every outstanding link of `user_id`: once a password is chosen, an older mail's link
/// must not choose another one.
pub async fn void_all(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE password_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL",
        user_id
    )
    .execute(db)
    .await?;
    Ok(())
}
