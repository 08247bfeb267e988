//! `lms-shop generate-data [SCALE]`: a shop after years of trading (issue 16), to measure and
//! test what every page costs at that size. The rows are written by one SQL script
//! (`scale_data.sql`) through the shop's own schema; SCALE 1 is the size the issue measured
//! (2 000 000 seats, 300 000 bills, 1 000 000 mails), 0.01 a hundredth of it.

use anyhow::{Result, bail};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

const SCRIPT: &str = include_str!("scale_data.sql");

/// Below this the five large customers' 410 bills no longer fit among the others.
pub const MIN_SCALE: f64 = 0.01;

/// The operator every generated database has (no password: set one with `add-operator`).
pub const OPERATOR_EMAIL: &str = "operator@scale.example";

/// The customer holding the most seats (120 000 at scale 1), its user's address.
pub const BIG_CUSTOMER_EMAIL: &str = "customer1@org1.example";

/// Fills `db` (migrated, and holding no shop yet) at `scale`, then vacuums and analyses it so
/// that the planner sees the sizes and index-only scans see the visibility map.
pub async fn generate(db: &PgPool, scale: f64) -> Result<()> {
    if !(MIN_SCALE..=10.0).contains(&scale) {
        bail!("the scale is a number between {MIN_SCALE} and 10 (1 = the size of issue 16)");
    }
    let used: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM products)
             OR EXISTS (SELECT 1 FROM courses)",
    )
    .fetch_one(db)
    .await?;
    if used {
        bail!("this database already holds a shop: generate-data only fills an empty one");
    }
    // Its own connection, whose statements may take minutes without a warning that would
    // print the whole script.
    let options = db
        .connect_options()
        .as_ref()
        .clone()
        .log_slow_statements(tracing::log::LevelFilter::Off, std::time::Duration::MAX);
    let mut conn = PgConnection::connect_with(&options).await?;
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT set_config('gen.scale', $1, true)")
        .bind(scale.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::raw_sql(SCRIPT).execute(&mut *tx).await?;
    tx.commit().await?;
    sqlx::raw_sql("VACUUM ANALYZE").execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}
