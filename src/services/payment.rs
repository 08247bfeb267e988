//! Payments: signed notifications from online providers, operators recording offline
//! payments, free orders. Every way to PAID goes through [`settle`], which applies the rule
//! of `domain::settlement` under the bill's lock: a provider only settles bills placed with
//! it, while it is enabled, for the bill's amount and currency.

use serde::Deserialize;
use sqlx::{Postgres, Transaction};
use time::OffsetDateTime;

use crate::domain::BillState;
use crate::domain::paymode::Paymode;
use crate::domain::settlement::{self, SettleRefusal, Settler};
use crate::security::signature::{self, SignatureError};
use crate::security::tokens::random_id;
use crate::services::production;
use crate::state::AppState;
use crate::store::bills::{self, Bill};
use crate::store::settings;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("signature: {0}")]
    Signature(#[from] SignatureError),
    #[error("unreadable notification body")]
    BadBody,
    #[error("unknown bill")]
    UnknownBill,
    #[error("amount or currency does not match the bill")]
    AmountMismatch,
    #[error("this payment method is disabled")]
    MethodDisabled,
    #[error(transparent)]
    Refused(#[from] SettleRefusal),
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
    currency: String,
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

/// What the gateway sends about `bill`: the body and its signature header.
pub fn notification_for(key: &[u8], bill: &Bill, paid: bool) -> (String, String) {
    notification(key, &bill.public_id, bill.total, &bill.currency, paid)
}

/// A signed notification (tests forge their own with it).
pub fn notification(
    key: &[u8],
    public_id: &str,
    amount: i64,
    currency: &str,
    paid: bool,
) -> (String, String) {
    let body = serde_urlencoded::to_string([
        ("bill", public_id),
        ("status", if paid { "paid" } else { "declined" }),
        ("amount", &amount.to_string()),
        ("currency", currency),
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

/// Whether `paymode` is enabled in the settings as they are in the database now (a cached
/// catalogue may be a moment old on another instance).
async fn enabled(tx: &mut Transaction<'_, Postgres>, paymode: Paymode) -> sqlx::Result<bool> {
    let settings = settings::load(&mut **tx).await?;
    Ok(settings.paymodes.contains(&paymode))
}

/// Handles one notification of the online provider `provider`. Verified first (constant
/// time, freshness), then applied under the bill's lock together with the transaction id,
/// so a replay changes nothing.
#[tracing::instrument(name = "receive_payment", skip_all, fields(provider = provider.as_str()))]
pub async fn receive(
    state: &AppState,
    provider: Paymode,
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
    let paid = match n.status.as_str() {
        "paid" => true,
        "declined" => false,
        _ => return Err(NotifyError::BadBody),
    };
    let mut tx = state.db.begin().await?;
    let bill = bills::lock_by_public_id(&mut tx, &n.bill)
        .await?
        .ok_or(NotifyError::UnknownBill)?;
    // A provider speaks only for the bills placed with it.
    if bill.paymode != provider {
        return Err(SettleRefusal::WrongMethod.into());
    }
    if !enabled(&mut tx, provider).await? {
        return Err(NotifyError::MethodDisabled);
    }
    if n.amount != bill.total || n.currency != bill.currency {
        return Err(NotifyError::AmountMismatch);
    }
    let outcome = apply(&mut tx, state, provider, &bill, paid, &n.txn, &n.status).await?;
    tx.commit().await?;
    state.mail_queued.notify_one();
    state.lms_queued.notify_one();
    Ok(outcome)
}

/// Applies a verified answer of the online provider `provider` (paid or declined, under
/// transaction id `txn`) to `bill`, locked by the caller in `tx`, which the caller commits
/// (then pokes the mail and LMS workers). The transaction id is recorded with it, so a
/// replay changes nothing. Every provider goes through here.
pub async fn apply(
    tx: &mut Transaction<'_, Postgres>,
    state: &AppState,
    provider: Paymode,
    bill: &Bill,
    paid: bool,
    txn: &str,
    status: &str,
) -> Result<Received, NotifyError> {
    if bill.paymode != provider {
        return Err(SettleRefusal::WrongMethod.into());
    }
    if !bills::record_notification(&mut **tx, bill.id, txn, status).await? {
        return Ok(Received::Duplicate);
    }
    let settler = Settler::Provider(provider);
    Ok(if paid {
        match settlement::may_settle(provider, bill.state, settler) {
            Ok(()) => {
                let note = format!("{} payment, transaction {txn}", provider.as_str());
                let paid = to_paid(tx, bill, &note, "gateway").await?;
                // Produced in the same transaction: the buyer's confirmation shows what was
                // delivered, and a crash before the commit loses nothing the provider will
                // not send again.
                production::produce_locked(tx, state, &paid).await?;
                Received::Paid
            }
            Err(_) => Received::Ignored,
        }
    } else {
        match settlement::may_decline(provider, bill.state, settler) {
            Ok(()) => {
                let note = format!("declined, transaction {txn}");
                bills::transition(tx, bill, BillState::Refused, &note, "gateway")
                    .await
                    .map_err(anyhow::Error::from)?;
                Received::Declined
            }
            Err(_) => Received::Ignored,
        }
    })
}

async fn to_paid(
    tx: &mut Transaction<'_, Postgres>,
    bill: &Bill,
    note: &str,
    actor: &str,
) -> anyhow::Result<Bill> {
    bills::transition(tx, bill, BillState::Paid, note, actor).await?;
    Ok(Bill {
        state: BillState::Paid,
        ..bill.clone()
    })
}

#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error("unknown bill")]
    UnknownBill,
    #[error(transparent)]
    Refused(#[from] SettleRefusal),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Moves a bill to PAID for `by` (an operator who received a transfer, the shop for a free
/// order), if the settlement rule allows it. Production is the caller's next step.
#[tracing::instrument(name = "settle", skip_all, fields(bill = bill_id, actor = actor))]
pub async fn settle(
    state: &AppState,
    bill_id: i64,
    by: Settler,
    note: &str,
    actor: &str,
) -> Result<(), SettleError> {
    let mut tx = state.db.begin().await?;
    let bill = bills::lock(&mut tx, bill_id)
        .await?
        .ok_or(SettleError::UnknownBill)?;
    settlement::may_settle(bill.paymode, bill.state, by)?;
    to_paid(&mut tx, &bill, note, actor).await?;
    tx.commit().await?;
    Ok(())
}

/// Puts a FAILED bill back to PAID so that production runs again (its payment was recorded
/// before the failure). `false` when the bill is not FAILED.
pub async fn requeue_failed(
    state: &AppState,
    bill_id: i64,
    note: &str,
    actor: &str,
) -> anyhow::Result<bool> {
    let mut tx = state.db.begin().await?;
    let Some(bill) = bills::lock(&mut tx, bill_id).await? else {
        return Ok(false);
    };
    if bill.state != BillState::Failed {
        return Ok(false);
    }
    to_paid(&mut tx, &bill, note, actor).await?;
    tx.commit().await?;
    Ok(true)
}
