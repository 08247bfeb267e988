//! Payments: signed notifications from the gateway, and operators marking bills paid.

use serde::Deserialize;
use time::OffsetDateTime;

use crate::domain::BillState;
use crate::security::signature::{self, SignatureError};
use crate::security::tokens::random_id;
use crate::services::production;
use crate::state::AppState;
use crate::store::bills::{self, Bill};

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("signature: {0}")]
    Signature(#[from] SignatureError),
    #[error("unreadable notification body")]
    BadBody,
    #[error("unknown bill")]
    UnknownBill,
    #[error("amount does not match the bill")]
    AmountMismatch,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(Debug, Deserialize)]
struct Notification {
    bill: String,
    status: String,
    amount: i64,
    txn: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    Paid,
    Declined,
    /// This transaction id was processed before: nothing changes.
    Duplicate,
    /// Valid, but the bill is past taking this notification (cancelled, already paid…).
    Ignored,
}

/// What the gateway sends: the body and its signature header.
pub fn notification_for(key: &[u8], public_id: &str, amount: i64, paid: bool) -> (String, String) {
    let body = serde_urlencoded::to_string([
        ("bill", public_id),
        ("status", if paid { "paid" } else { "declined" }),
        ("amount", &amount.to_string()),
        ("txn", &random_id(12)),
    ])
    .unwrap_or_default();
    let header = signature::sign(
        key,
        OffsetDateTime::now_utc().unix_timestamp(),
        body.as_bytes(),
    );
    (header, body)
}

/// Handles one notification. Verified first (constant time, freshness), then applied under the
/// bill's lock together with the transaction id, so a replay changes nothing.
pub async fn receive(
    state: &AppState,
    signature_header: Option<&str>,
    body: &[u8],
) -> Result<Received, NotifyError> {
    let header = signature_header.ok_or(SignatureError::Malformed)?;
    signature::verify(
        &state.gateway_key,
        header,
        body,
        OffsetDateTime::now_utc().unix_timestamp(),
    )?;
    let n: Notification = serde_urlencoded::from_bytes(body).map_err(|_| NotifyError::BadBody)?;
    let mut tx = state.db.begin().await?;
    let bill = bills::lock_by_public_id(&mut tx, &n.bill)
        .await?
        .ok_or(NotifyError::UnknownBill)?;
    if n.amount != bill.total {
        return Err(NotifyError::AmountMismatch);
    }
    if !bills::record_notification(&mut *tx, bill.id, &n.txn, &n.status).await? {
        return Ok(Received::Duplicate);
    }
    let outcome = match (n.status.as_str(), bill.state()) {
        ("paid", s) if s.awaits_payment() => {
            bills::transition(
                &mut tx,
                &bill,
                BillState::Paid,
                &format!("test gateway, transaction {}", n.txn),
                "gateway",
            )
            .await
            .map_err(anyhow::Error::from)?;
            // Produced in the same transaction: the buyer's confirmation shows what was
            // delivered, and a crash before the commit loses nothing the provider will not
            // send again.
            let paid = Bill {
                state: BillState::Paid.as_str().to_owned(),
                ..bill.clone()
            };
            production::produce_locked(&mut tx, state, &paid).await?;
            Received::Paid
        }
        ("declined", BillState::Placed) => {
            bills::transition(
                &mut tx,
                &bill,
                BillState::Refused,
                &format!("declined, transaction {}", n.txn),
                "gateway",
            )
            .await
            .map_err(anyhow::Error::from)?;
            Received::Declined
        }
        ("paid" | "declined", _) => Received::Ignored,
        _ => return Err(NotifyError::BadBody),
    };
    tx.commit().await?;
    state.mail_queued.notify_one();
    Ok(outcome)
}

/// Marks a bill paid (offline payment received, free order, operator retry). `false` when the
/// bill was not waiting for a payment.
pub async fn mark_paid(
    state: &AppState,
    bill_id: i64,
    note: &str,
    actor: &str,
) -> anyhow::Result<bool> {
    let mut tx = state.db.begin().await?;
    let Some(bill) = bills::lock(&mut tx, bill_id).await? else {
        return Ok(false);
    };
    if !(bill.state().awaits_payment() || bill.state() == BillState::Failed) {
        return Ok(false);
    }
    bills::transition(&mut tx, &bill, BillState::Paid, note, actor).await?;
    tx.commit().await?;
    Ok(true)
}
