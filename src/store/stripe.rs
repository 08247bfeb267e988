//! A Stripe bill's Checkout Session, and the webhook events received.

use sqlx::PgExecutor;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct Checkout {
    pub bill_id: i64,
    pub session_id: String,
    pub url: String,
    pub livemode: bool,
    pub expires_at: OffsetDateTime,
    pub payment_intent: Option<String>,
}

pub async fn find(db: impl PgExecutor<'_>, bill_id: i64) -> sqlx::Result<Option<Checkout>> {
    sqlx::query_as!(
        Checkout,
        "SELECT bill_id, session_id, url, livemode, expires_at, payment_intent
           FROM stripe_checkouts WHERE bill_id = $1",
        bill_id
    )
    .fetch_optional(db)
    .await
}

/// Records the session created for a bill; a session recorded first (a concurrent click
/// got the same one from Stripe's idempotency) is kept. Returns the recorded one.
pub async fn insert(db: impl PgExecutor<'_>, c: &Checkout) -> sqlx::Result<Checkout> {
    sqlx::query_as!(
        Checkout,
        r#"WITH added AS (
               INSERT INTO stripe_checkouts (bill_id, session_id, url, livemode, expires_at)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (bill_id) DO NOTHING
               RETURNING bill_id, session_id, url, livemode, expires_at, payment_intent
           )
           SELECT bill_id AS "bill_id!", session_id AS "session_id!", url AS "url!",
                  livemode AS "livemode!", expires_at AS "expires_at!", payment_intent
             FROM added
           UNION ALL
           SELECT bill_id, session_id, url, livemode, expires_at, payment_intent
             FROM stripe_checkouts WHERE bill_id = $1 AND NOT EXISTS (SELECT 1 FROM added)"#,
        c.bill_id,
        c.session_id,
        c.url,
        c.livemode,
        c.expires_at
    )
    .fetch_one(db)
    .await
}

/// The PaymentIntent of the completed session: what refunds go through.
pub async fn set_payment_intent(
    db: impl PgExecutor<'_>,
    bill_id: i64,
    payment_intent: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE stripe_checkouts SET payment_intent = $2 WHERE bill_id = $1",
        bill_id,
        payment_intent
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Records a received event; `false` when its id was recorded before (a redelivery).
pub async fn record_event(
    db: impl PgExecutor<'_>,
    event_id: &str,
    kind: &str,
    outcome: &str,
) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "INSERT INTO stripe_events (event_id, type, outcome) VALUES ($1, $2, $3)
         ON CONFLICT (event_id) DO NOTHING",
        event_id,
        kind,
        outcome
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// What the shop made of an event recorded in the same transaction.
pub async fn set_outcome(
    db: impl PgExecutor<'_>,
    event_id: &str,
    bill_id: Option<i64>,
    outcome: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE stripe_events SET bill_id = $2, outcome = $3 WHERE event_id = $1",
        event_id,
        bill_id,
        outcome
    )
    .execute(db)
    .await?;
    Ok(())
}
