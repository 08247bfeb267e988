//! Paying a bill with Stripe Checkout: the buyer is sent to a Checkout Session created for
//! the bill; Stripe's signed webhook says how it ended, and the bill is settled or declined
//! through `payment::apply`, the path every online provider takes. Refunds go through
//! `Stripe::refund` with the PaymentIntent recorded here.

use time::{Duration, OffsetDateTime};

use crate::domain::Money;
use crate::domain::paymode::Paymode;
use crate::i18n::{Locale, formats};
use crate::mail::messages;
use crate::services::payment::{self, NotifyError, Received};
use crate::state::AppState;
use crate::store::bills::{self, Bill};
use crate::store::stripe::{self as store, Checkout};
use crate::store::{outbox, refunds, settings};
use crate::stripe::event::{CheckoutSession, Event, Meaning, StripeRefund};
use crate::stripe::signature::{self, SignatureError};
use crate::stripe::{NewCheckout, StripeError};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("Stripe is not configured")]
    NotConfigured,
    /// The bill's session ended unpaid: the bill is (or is about to be) declined.
    #[error("the payment session has expired")]
    Expired,
    #[error(transparent)]
    Stripe(#[from] StripeError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Stripe keeps a session open 30 minutes at least.
const MIN_SESSION: Duration = Duration::minutes(30);
/// At most 24 hours; an hour less leaves the shop's own expiry of the order after it.
const MAX_SESSION: Duration = Duration::hours(23);

/// When the bill's session closes: before the shop cancels the unpaid order (so a buyer
/// cannot pay a cancelled bill), from the bill's creation, so that a retried request sends
/// Stripe the same parameters under the same idempotency key.
fn session_expiry(
    bill_created: OffsetDateTime,
    order_expiry: Duration,
    now: OffsetDateTime,
) -> i64 {
    let wanted = bill_created + order_expiry.min(MAX_SESSION);
    let earliest = now + MIN_SESSION + Duration::minutes(1);
    wanted.max(earliest).unix_timestamp()
}

/// The Checkout page for `bill` (placed with Stripe, not yet paid): the session created for
/// it, or a new one. One session per bill: a second click, a concurrent one or a retry after
/// a timeout reuse it (the idempotency key is the bill's).
pub async fn checkout_url(
    state: &AppState,
    bill: &Bill,
    customer_email: Option<&str>,
    description: &str,
    locale: &str,
) -> Result<String, StartError> {
    let stripe = state.stripe.as_ref().ok_or(StartError::NotConfigured)?;
    let now = OffsetDateTime::now_utc();
    if let Some(c) = store::find(&state.db, bill.id).await? {
        return if c.expires_at > now + Duration::minutes(1) {
            Ok(c.url)
        } else {
            Err(StartError::Expired)
        };
    }
    let base = &state.config.base_url;
    let success_url = format!("{base}/checkout/done/{}", bill.public_id);
    let cancel_url = format!("{base}/payment/stripe/{}?cancelled=1", bill.public_id);
    let expires_at = session_expiry(bill.created_at, state.config.unpaid_order_expiry, now);
    let session = stripe
        .create_checkout_session(
            &NewCheckout {
                bill: &bill.public_id,
                description,
                amount: Money::from_minor(bill.total),
                currency: &bill.currency,
                customer_email,
                success_url: &success_url,
                cancel_url: &cancel_url,
                expires_at,
                locale,
            },
            &format!("checkout-{}", bill.public_id),
        )
        .await?;
    let recorded = store::insert(
        &state.db,
        &Checkout {
            bill_id: bill.id,
            url: session.url.clone().unwrap_or_default(),
            session_id: session.id,
            livemode: session.livemode,
            expires_at: OffsetDateTime::from_unix_timestamp(
                session.expires_at.unwrap_or(expires_at),
            )
            .unwrap_or(now + MIN_SESSION),
            payment_intent: None,
        },
    )
    .await?;
    Ok(recorded.url)
}

/// What Stripe says of an unpaid order's Checkout Session an operator wants to cancel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionClosed {
    /// No session was ever made, or it is closed now (by this call or earlier): nobody
    /// can pay the bill any more, it may be cancelled.
    Closed,
    /// The buyer paid: the webhook is on its way, the bill must not be cancelled.
    Paid,
}

/// Closes `bill`'s Checkout Session at Stripe before an operator cancels the order: an open
/// session could still take the buyer's money for a cancelled bill.
pub async fn close_session(state: &AppState, bill: &Bill) -> Result<SessionClosed, StartError> {
    let Some(c) = store::find(&state.db, bill.id).await? else {
        return Ok(SessionClosed::Closed);
    };
    let stripe = state.stripe.as_ref().ok_or(StartError::NotConfigured)?;
    let session = match stripe.expire_checkout_session(&c.session_id).await {
        Ok(session) => session,
        // Not open any more: ask Stripe how it ended.
        Err(StripeError::Api { .. }) => stripe.checkout_session(&c.session_id).await?,
        Err(e) => return Err(e.into()),
    };
    match session.status.as_deref() {
        Some("expired") => Ok(SessionClosed::Closed),
        Some("complete") => Ok(SessionClosed::Paid),
        other => Err(StripeError::Decode(format!(
            "session {} is {other:?} after being expired",
            c.session_id
        ))
        .into()),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("Stripe is not configured")]
    NotConfigured,
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("not a Stripe event")]
    BadBody,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<NotifyError> for WebhookError {
    fn from(e: NotifyError) -> Self {
        match e {
            NotifyError::Db(e) => WebhookError::Db(e),
            other => WebhookError::Internal(anyhow::anyhow!(other)),
        }
    }
}

/// What became of an event (also recorded in `stripe_events.outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Paid,
    Refused,
    /// Received before (same event id): nothing changed.
    Duplicate,
    /// The amount or currency paid is not the bill's: recorded, not settled.
    Mismatch,
    /// Paid, but the bill no longer waited for it (cancelled meanwhile): recorded on the
    /// bill for an operator to refund.
    NotAwaiting,
    /// A refund went back to the shop: recorded on the bill, operators told.
    RefundFailed,
    /// Nothing to do (an event the shop does not use, a bill already in that state, …).
    Ignored,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Paid => "paid",
            Outcome::Refused => "refused",
            Outcome::Duplicate => "duplicate",
            Outcome::Mismatch => "mismatch",
            Outcome::NotAwaiting => "not_awaiting",
            Outcome::RefundFailed => "refund_failed",
            Outcome::Ignored => "ignored",
        }
    }
}

/// Handles one webhook delivery: verified (signature, tolerance) before anything is read,
/// then applied under the bill's lock together with the event id, so a redelivered or
/// concurrent copy changes nothing.
#[tracing::instrument(name = "stripe_webhook", skip_all)]
pub async fn receive(
    state: &AppState,
    signature_header: Option<&str>,
    body: &[u8],
) -> Result<Outcome, WebhookError> {
    let stripe = state.stripe.as_ref().ok_or(WebhookError::NotConfigured)?;
    let header = signature_header.ok_or(SignatureError::Malformed)?;
    signature::verify(
        stripe.webhook_secret(),
        header,
        body,
        OffsetDateTime::now_utc().unix_timestamp(),
    )?;
    let event: Event = serde_json::from_slice(body).map_err(|_| WebhookError::BadBody)?;
    let meaning = event.meaning().map_err(|_| WebhookError::BadBody)?;
    if let Meaning::RefundFailed(failed) = meaning {
        return refund_failed(state, &event, &failed).await;
    }
    let mut tx = state.db.begin().await?;
    let (paid, session) = match meaning {
        Meaning::Completed(s) => (true, Some(s)),
        Meaning::Failed(s) => (false, Some(s)),
        Meaning::RefundFailed(_) | Meaning::Other => (false, None),
    };
    // The bill's lock first: events of one bill, and the shop's own changes to it, apply
    // one after the other.
    let bill = match session.as_ref().and_then(CheckoutSession::bill) {
        Some(public_id) => bills::lock_by_public_id(&mut tx, public_id).await?,
        None => None,
    };
    if !store::record_event(&mut *tx, &event.id, &event.kind, "received").await? {
        return Ok(Outcome::Duplicate);
    }
    let outcome = match (session, &bill) {
        (Some(s), Some(bill)) => apply(&mut tx, state, &event, &s, bill, paid).await?,
        (Some(s), None) => {
            tracing::warn!(event = %event.id, session = %s.id, "Stripe event for no bill of this shop");
            Outcome::Ignored
        }
        (None, _) => Outcome::Ignored,
    };
    store::set_outcome(
        &mut *tx,
        &event.id,
        bill.as_ref().map(|b| b.id),
        outcome.as_str(),
    )
    .await?;
    tx.commit().await?;
    state.mail_queued.notify_one();
    state.lms_queued.notify_one();
    Ok(outcome)
}

/// A card refund Stripe first accepted (`pending`) failed later: the credit note stands
/// (it was issued), but the money is still with the shop. The bill's history says so and the
/// operators are mailed, once per event, to return it another way.
async fn refund_failed(
    state: &AppState,
    event: &Event,
    failed: &StripeRefund,
) -> Result<Outcome, WebhookError> {
    let mut tx = state.db.begin().await?;
    let recorded = refunds::find_by_provider_id(&mut *tx, &failed.id).await?;
    let bill = match &recorded {
        Some(r) => bills::lock(&mut tx, r.bill_id).await?,
        None => None,
    };
    if !store::record_event(&mut *tx, &event.id, &event.kind, "received").await? {
        return Ok(Outcome::Duplicate);
    }
    let outcome = match (&recorded, &bill) {
        (Some(refund), Some(bill)) => {
            let reason = failed.failure_reason.as_deref().unwrap_or("unknown");
            let amount =
                formats::money(Locale::En, Money::from_minor(failed.amount), &bill.currency);
            let note = format!(
                "Stripe refund {} ({amount}, credit note {}) failed: {reason}; the money did not go back to the card",
                failed.id, refund.credit_note_number
            );
            bills::event(&mut *tx, bill.id, None, bill.state, &note, "stripe").await?;
            let shop = settings::load(&mut *tx).await?;
            let link = format!("{}/admin/bills/{}", state.config.base_url, bill.id);
            let m = messages::refund_failed(
                Locale::En,
                &shop.shop_name,
                &bill.reference(),
                &refund.credit_note_number,
                &amount,
                reason,
                &link,
            );
            outbox::enqueue_to_operators(&mut *tx, &m.subject, &m.body).await?;
            Outcome::RefundFailed
        }
        _ => {
            tracing::warn!(event = %event.id, refund = %failed.id, "failed Stripe refund the shop did not make");
            Outcome::Ignored
        }
    };
    store::set_outcome(
        &mut *tx,
        &event.id,
        bill.as_ref().map(|b| b.id),
        outcome.as_str(),
    )
    .await?;
    tx.commit().await?;
    state.mail_queued.notify_one();
    Ok(outcome)
}

/// Money Stripe moved that the shop did not settle: logged as an error and written on the
/// bill's history, where the operator sees it.
async fn flag(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    bill: &Bill,
    note: &str,
) -> sqlx::Result<()> {
    tracing::error!(bill = %bill.public_id, "{note}");
    bills::event(
        &mut **tx,
        bill.id,
        Some(bill.state),
        bill.state,
        note,
        "stripe",
    )
    .await
}

async fn apply(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    state: &AppState,
    event: &Event,
    s: &CheckoutSession,
    bill: &Bill,
    paid: bool,
) -> Result<Outcome, WebhookError> {
    // Only the session made for this bill speaks for it. The signature proves the event is
    // Stripe's; a bill with no session recorded (the shop stopped between Stripe's answer and
    // its insert) takes the one the event names.
    let mut checkout = store::find(&mut **tx, bill.id).await?;
    if checkout.is_none() && bill.paymode == Paymode::Stripe {
        let now = OffsetDateTime::now_utc();
        let recorded = store::insert(
            &mut **tx,
            &Checkout {
                bill_id: bill.id,
                session_id: s.id.clone(),
                url: s.url.clone().unwrap_or_default(),
                livemode: s.livemode,
                expires_at: s
                    .expires_at
                    .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
                    .unwrap_or(now),
                payment_intent: None,
            },
        )
        .await?;
        checkout = Some(recorded);
    }
    let ours = checkout.as_ref().is_some_and(|c| c.session_id == s.id);
    if bill.paymode != Paymode::Stripe || !ours {
        tracing::warn!(event = %event.id, bill = %bill.public_id, "Stripe event for a session the bill does not have");
        return Ok(Outcome::Ignored);
    }
    if !paid {
        let status = if event.kind.ends_with("expired") {
            "expired"
        } else {
            "failed"
        };
        let r = payment::apply(tx, state, Paymode::Stripe, bill, false, &event.id, status).await?;
        return Ok(if r == Received::Declined {
            Outcome::Refused
        } else {
            Outcome::Ignored
        });
    }
    // `completed` with a delayed method (a bank debit) is not paid yet: its
    // `async_payment_succeeded` will be.
    if !s.is_paid() {
        return Ok(Outcome::Ignored);
    }
    let amount_ok = s.amount_total == Some(bill.total)
        && s.currency
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(&bill.currency));
    if !amount_ok {
        let note = format!(
            "Stripe event {}: {} {} paid for a bill of {} {}; not settled",
            event.id,
            s.amount_total.unwrap_or_default(),
            s.currency.as_deref().unwrap_or("?").to_ascii_uppercase(),
            bill.total,
            bill.currency
        );
        flag(tx, bill, &note).await?;
        return Ok(Outcome::Mismatch);
    }
    let intent = s.payment_intent.as_deref().unwrap_or_default();
    if checkout.as_ref().and_then(|c| c.payment_intent.as_deref()) == Some(intent)
        && !intent.is_empty()
    {
        // This payment was applied already (`completed`, then `async_payment_succeeded`).
        return Ok(Outcome::Ignored);
    }
    let r = payment::apply(tx, state, Paymode::Stripe, bill, true, &event.id, "paid").await?;
    if !intent.is_empty() {
        store::set_payment_intent(&mut **tx, bill.id, intent).await?;
    }
    Ok(match r {
        Received::Paid => Outcome::Paid,
        Received::Duplicate => Outcome::Duplicate,
        _ => {
            let note = format!(
                "Stripe payment {intent} received while the bill is {}: to be refunded",
                bill.state
            );
            flag(tx, bill, &note).await?;
            Outcome::NotAwaiting
        }
    })
}

/// The PaymentIntent a paid Stripe bill's refunds go through.
pub async fn payment_intent(state: &AppState, bill_id: i64) -> sqlx::Result<Option<String>> {
    Ok(store::find(&state.db, bill_id)
        .await?
        .and_then(|c| c.payment_intent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_closes_before_the_order_expires_and_within_stripes_bounds() {
        let created = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let day = Duration::hours(24);
        // A fresh bill, the default day: 23 hours after its creation.
        let at = session_expiry(created, day, created + Duration::seconds(5));
        assert_eq!(at, (created + Duration::hours(23)).unix_timestamp());
        // The same whatever the moment of the (retried) request.
        assert_eq!(
            at,
            session_expiry(created, day, created + Duration::hours(2))
        );
        // A short order expiry still gives Stripe its minimum.
        let now = created + Duration::minutes(1);
        let at = session_expiry(created, Duration::minutes(10), now);
        assert_eq!(at, (now + Duration::minutes(31)).unix_timestamp());
    }
}
