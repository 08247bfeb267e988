//! Operator refunds: full or per line, each one a credit note; the seats of refunded units
//! revoked where unassigned (assigned and locked ones are reported and kept); the money sent
//! back through [`return_money`]; the customer told by mail.
//!
//! One refund is one transaction under the bill's row lock: two refunds of one bill run one
//! after the other, so together they never exceed what is left, and a form confirmed twice
//! (same submission key) finds the first refund instead of making a second.

use std::collections::HashMap;

use sqlx::PgConnection;

use crate::domain::handler_params::HandlerParams;
use crate::domain::paymode::Paymode;
use crate::domain::refund::{self, Line, Part, Request};
use crate::domain::{BillState, Money};
use crate::fulfilment;
use crate::i18n::{Locale, formats};
use crate::mail::messages;
use crate::state::AppState;
use crate::store::bills::{self, Bill, Item};
use crate::store::refunds::{self as store, KeptSeat, NewRefund, Refund};
use crate::store::{customers, outbox};

#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    #[error("unknown bill")]
    UnknownBill,
    #[error("this bill cannot be refunded in its state")]
    NotRefundable,
    /// Only a produced (COMPLETE) bill is refunded in part: before production its seats do
    /// not exist yet, and production would then make the refunded ones too.
    #[error("a bill not produced yet is refunded in full or not at all")]
    PartialBeforeProduction,
    #[error("unknown bill line")]
    UnknownLine,
    #[error(transparent)]
    Line(#[from] refund::RefundError),
    #[error("the payment provider refused the refund: {0}")]
    Provider(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What the operator asked: everything left, or per line (by bill item id).
#[derive(Debug, Clone)]
pub enum Scope {
    Full,
    Lines(Vec<(i64, Request)>),
}

/// A refund as it would be (the confirmation page) or was made.
#[derive(Debug, Clone)]
pub struct Plan {
    pub lines: Vec<PlannedLine>,
    pub untaxed: Money,
    pub tax: Money,
    /// Every line fully refunded afterwards: the bill becomes REFUNDED.
    pub completes: bool,
}

impl Plan {
    pub fn total(&self) -> Money {
        Money::from_minor(self.untaxed.minor() + self.tax.minor())
    }

    pub fn seats_revoked(&self) -> u32 {
        self.lines.iter().map(|l| l.seats.revoked).sum()
    }

    pub fn seats_kept(&self) -> u32 {
        self.lines.iter().map(|l| l.seats.kept).sum()
    }
}

#[derive(Debug, Clone)]
pub struct PlannedLine {
    pub item: Item,
    pub part: Part,
    pub seats: refund::SeatOutcome,
    /// The line's assigned and locked products, listed when some of the refunded units'
    /// seats are among them (they stay).
    pub kept: Vec<KeptSeat>,
}

/// Whether an operator may refund this bill at all: money was received.
pub fn refundable(state: BillState) -> bool {
    matches!(
        state,
        BillState::Paid | BillState::Complete | BillState::Failed
    )
}

/// The bill's lines as the refund rules see them, with what earlier refunds gave back.
pub async fn lines(db: &mut PgConnection, bill_id: i64) -> sqlx::Result<Vec<(Item, Line)>> {
    let items = bills::items(&mut *db, bill_id).await?;
    let done: HashMap<i64, store::Refunded> = store::refunded_per_item(&mut *db, bill_id)
        .await?
        .into_iter()
        .map(|r| (r.bill_item_id, r))
        .collect();
    Ok(items
        .into_iter()
        .map(|i| {
            let r = done.get(&i.id).copied().unwrap_or_default();
            let line = Line {
                quantity: u32::try_from(i.quantity).unwrap_or(0),
                untaxed: Money::from_minor(i.untaxed),
                tax: Money::from_minor(i.tax),
                refunded_quantity: u32::try_from(r.quantity).unwrap_or(0),
                refunded_untaxed: Money::from_minor(r.untaxed),
                refunded_tax: Money::from_minor(r.tax),
            };
            (i, line)
        })
        .collect())
}

/// Products one unit of a line delivered: a seat pack's size, else one.
fn products_per_unit(item: &Item) -> u32 {
    let params = HandlerParams::parse(&item.handler_params).unwrap_or_default();
    fulfilment::find(&item.handler)
        .and_then(|h| h.seats_per_unit(&params))
        .map_or(1, refund::seats_per_unit)
}

/// What `scope` would give back on `bill` now, line by line, and what it does to seats.
pub async fn plan(db: &mut PgConnection, bill: &Bill, scope: &Scope) -> Result<Plan, RefundError> {
    if !refundable(bill.state) {
        return Err(RefundError::NotRefundable);
    }
    let lines = lines(&mut *db, bill.id).await?;
    let mut requests: HashMap<i64, Request> = HashMap::new();
    if let Scope::Lines(asked) = scope {
        for (item_id, request) in asked {
            if !lines.iter().any(|(i, _)| i.id == *item_id) {
                return Err(RefundError::UnknownLine);
            }
            requests.insert(*item_id, *request);
        }
    }
    let mut planned = vec![];
    let mut after = vec![];
    for (item, line) in lines {
        let part = match scope {
            Scope::Full => line.rest(),
            Scope::Lines(_) => match requests.get(&item.id) {
                Some(r) if *r != Request::default() => line.refund(*r)?,
                _ => Part::default(),
            },
        };
        after.push(line.after(part));
        if part.is_empty() {
            continue;
        }
        let wanted = part.units.saturating_mul(products_per_unit(&item));
        let products = store::item_products(&mut *db, item.id).await?;
        let seats = refund::seat_outcome(
            wanted,
            u32::try_from(products.free).unwrap_or(u32::MAX),
            u32::try_from(products.assigned).unwrap_or(u32::MAX),
        );
        let kept = if seats.kept > 0 {
            store::assigned_of_item(&mut *db, item.id).await?
        } else {
            vec![]
        };
        planned.push(PlannedLine {
            item,
            part,
            seats,
            kept,
        });
    }
    if planned.is_empty() {
        return Err(refund::RefundError::Nothing.into());
    }
    let completes = refund::bill_fully_refunded(&after);
    if !completes && bill.state != BillState::Complete {
        return Err(RefundError::PartialBeforeProduction);
    }
    let sum =
        |f: fn(&Part) -> Money| Money::from_minor(planned.iter().map(|l| f(&l.part).minor()).sum());
    Ok(Plan {
        untaxed: sum(|p| p.untaxed),
        tax: sum(|p| p.tax),
        lines: planned,
        completes,
    })
}

/// What a confirmed refund form did.
#[derive(Debug)]
pub struct Done {
    pub refund: Refund,
    /// `false` when the form had been confirmed before: that refund, nothing new.
    pub created: bool,
}

/// Makes the refund `scope` of bill `bill_id`, once per `submission_key`.
pub async fn refund(
    state: &AppState,
    bill_id: i64,
    scope: &Scope,
    reason: &str,
    submission_key: &str,
    actor: &str,
) -> Result<Done, RefundError> {
    // Read before the transaction: it must not wait for a second pool connection while it
    // holds the bill's lock (concurrent refunds would each hold one and wait).
    let shop_name = state
        .catalogue
        .get(&state.db)
        .await?
        .settings
        .shop_name
        .clone();
    let mut tx = state.db.begin().await?;
    let bill = bills::lock(&mut tx, bill_id)
        .await?
        .ok_or(RefundError::UnknownBill)?;
    if let Some(refund) = store::find_by_submission(&mut *tx, bill.id, submission_key).await? {
        return Ok(Done {
            refund,
            created: false,
        });
    }
    let plan = plan(&mut tx, &bill, scope).await?;
    // The money first, holding only this bill's lock: the credit-note counter (every
    // refund of the shop waits on it) is drawn after the provider answered. The key is the
    // bill's next refund: asked again after a timeout, a crash or a failed commit, the same
    // refund is the same request to the provider, which answers with the refund it made
    // instead of paying twice, whichever form the operator confirms it from.
    let sequence = store::count_for_bill(&mut *tx, bill.id).await? + 1;
    let provider_id = return_money(
        &mut tx,
        state,
        &bill,
        Money::from_minor(plan.untaxed.minor() + plan.tax.minor()),
        &format!("refund-{}-{sequence}", bill.public_id),
    )
    .await?;
    let refund = store::insert(
        &mut tx,
        &NewRefund {
            bill_id: bill.id,
            customer_id: bill.customer_id,
            submission_key,
            currency: &bill.currency,
            untaxed: plan.untaxed.minor(),
            tax: plan.tax.minor(),
            reason,
            actor,
        },
    )
    .await?;
    let (mut revoked, mut kept) = (0i64, 0i64);
    for l in &plan.lines {
        store::insert_line(
            &mut *tx,
            refund.id,
            l.item.id,
            i32::try_from(l.part.units).unwrap_or(i32::MAX),
            l.part.untaxed.minor(),
            l.part.tax.minor(),
        )
        .await?;
        // Revoked for real under the lock; a seat assigned since the plan is kept.
        let wanted = i64::from(l.seats.revoked);
        let done = if wanted > 0 {
            i64::try_from(store::revoke_free(&mut tx, l.item.id, wanted, refund.id).await?)
                .unwrap_or(0)
        } else {
            0
        };
        revoked += done;
        let kept_here = i64::from(l.seats.kept) + (wanted - done);
        kept += kept_here;
        // Paid back but in use: taken when the customer releases them.
        if kept_here > 0 {
            store::owe_seats(
                &mut *tx,
                l.item.id,
                i32::try_from(kept_here).unwrap_or(i32::MAX),
            )
            .await?;
        }
    }
    let note = format!(
        "refund {}: {} {} ({} seats revoked, {} kept){}",
        refund.credit_note_number,
        Money::from_minor(refund.total).to_input(),
        bill.currency,
        revoked,
        kept,
        if reason.is_empty() {
            String::new()
        } else {
            format!(": {reason}")
        }
    );
    if plan.completes {
        bills::transition(&mut tx, &bill, BillState::Refunded, &note, actor)
            .await
            .map_err(|e| match e {
                bills::TransitionError::Illegal(_) => RefundError::NotRefundable,
                bills::TransitionError::Db(e) => RefundError::Db(e),
            })?;
    } else {
        // The bill keeps its state: the history line says what was given back.
        bills::event(&mut *tx, bill.id, None, bill.state, &note, actor).await?;
    }
    store::finish(
        &mut *tx,
        refund.id,
        provider_id.as_deref(),
        i32::try_from(revoked).unwrap_or(i32::MAX),
        i32::try_from(kept).unwrap_or(i32::MAX),
    )
    .await?;
    notify(&mut tx, state, &shop_name, &bill, &refund).await?;
    tx.commit().await?;
    let refund = store::find_for_bill(&state.db, bill.id, refund.id)
        .await?
        .ok_or(RefundError::UnknownBill)?;
    Ok(Done {
        refund,
        created: true,
    })
}

/// Sends `amount` back to whoever paid `bill`; the provider's refund id when there is one.
/// Called inside the refund's transaction (`tx` holds the bill's lock), before anything is
/// written: a provider refusing leaves nothing behind.
pub async fn return_money(
    tx: &mut PgConnection,
    state: &AppState,
    bill: &Bill,
    amount: Money,
    idempotency_key: &str,
) -> Result<Option<String>, RefundError> {
    // Units taken back without money (it went back in an earlier refund): nothing to send,
    // and a provider refuses a refund of nothing.
    if amount == Money::ZERO {
        return Ok(None);
    }
    match bill.paymode {
        // The test gateway stands for a provider that needs no call to refund; a transfer is
        // sent back by the operator from the bank (the refund page says so); a free order
        // had no money to return.
        Paymode::Test | Paymode::Transfer | Paymode::Free => Ok(None),
        Paymode::Stripe => {
            let stripe = state
                .stripe
                .as_ref()
                .ok_or_else(|| RefundError::Provider("Stripe is not configured".into()))?;
            let intent = crate::store::stripe::find(&mut *tx, bill.id)
                .await?
                .and_then(|c| c.payment_intent)
                .ok_or_else(|| {
                    RefundError::Provider("no Stripe payment is recorded for this bill".into())
                })?;
            let refund = stripe
                .refund(&intent, amount, idempotency_key)
                .await
                .map_err(|e| RefundError::Provider(e.to_string()))?;
            // `pending` is Stripe's normal answer for cards: the money is on its way.
            if matches!(refund.status.as_str(), "failed" | "canceled") {
                return Err(RefundError::Provider(format!(
                    "Stripe answered {} for refund {}",
                    refund.status, refund.id
                )));
            }
            Ok(Some(refund.id))
        }
    }
}

/// The customer's mail: what was refunded, how much, and the credit note's link.
async fn notify(
    tx: &mut PgConnection,
    state: &AppState,
    shop_name: &str,
    bill: &Bill,
    refund: &Refund,
) -> Result<(), RefundError> {
    let customer = customers::find(&mut *tx, bill.customer_id)
        .await?
        .ok_or(RefundError::UnknownBill)?;
    let locale = Locale::parse(&bill.locale).unwrap_or_default();
    let money = |minor: i64| formats::money(locale, Money::from_minor(minor), &bill.currency);
    let colon = locale.colon();
    let lines = store::lines(&mut *tx, refund.id).await?;
    let listed: Vec<String> = lines
        .iter()
        .map(|l| {
            // Money given back without units (a gesture) has no count to show.
            let units = match l.quantity {
                0 => String::new(),
                q => format!(" × {q}"),
            };
            format!(
                "[{}] {}{units}{colon} {}",
                l.code,
                l.name,
                money(l.untaxed + l.tax)
            )
        })
        .collect();
    let link = format!(
        "{}/customer/bills/{}/credit-notes/{}",
        state.config.base_url, bill.public_id, refund.id
    );
    let how = locale
        .t(&format!("mail.refund.how_{}", bill.paymode.as_str()))
        .into_owned();
    let m = messages::refund(
        locale,
        shop_name,
        &bill.reference(),
        &refund.credit_note_number,
        &money(refund.total),
        &listed.join("\n"),
        &how,
        &link,
    );
    outbox::enqueue(&mut *tx, &customer.email, &m.subject, &m.body).await?;
    Ok(())
}
