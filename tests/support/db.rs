//! Shared by the suites that run the real binary (`#[path]`): what they ask the database.

use std::time::{Duration, Instant};

use sqlx::PgPool;

pub async fn count(db: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db).await.unwrap()
}

/// Waits until the count `sql` returns is 0 (what the workers still have to do is done).
pub async fn wait_for_zero(db: &PgPool, sql: &str, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    loop {
        let left = count(db, sql).await;
        if left == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {left} left ({sql})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A bill's state, its seats and how many times it went COMPLETE (production exactly once).
pub async fn production_of(db: &PgPool, public_id: &str) -> (String, i64, i64) {
    sqlx::query_as(
        "SELECT b.state, (SELECT count(*) FROM product_instances p WHERE p.bill_id = b.id),
                (SELECT count(*) FROM bill_events e WHERE e.bill_id = b.id AND e.to_state = 'COMPLETE')
         FROM bills b WHERE b.public_id = $1",
    )
    .bind(public_id)
    .fetch_one(db)
    .await
    .unwrap()
}
