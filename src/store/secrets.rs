use rand::RngCore;
use sqlx::PgPool;

/// The named secret, created on first use. Every instance reads the same value, and a race
/// between two first starts is settled by the primary key.
pub async fn get_or_create(db: &PgPool, name: &str) -> sqlx::Result<Vec<u8>> {
    let mut fresh = vec![0u8; 32];
    rand::thread_rng().fill_bytes(&mut fresh);
    sqlx::query!(
        "INSERT INTO app_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        name,
        fresh
    )
    .execute(db)
    .await?;
    sqlx::query_scalar!("SELECT value FROM app_secrets WHERE name = $1", name)
        .fetch_one(db)
        .await
}
