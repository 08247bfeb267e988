//! Production: delivering what a paid bill sold, exactly once.
//!
//! Everything happens in one transaction holding the bill's row lock: linking the customer
//! to a user (created if needed), the support-course enrolment, each line's handler, the
//! COMPLETE transition and the mails. Concurrent or repeated calls wait for the lock and then
//! find the bill COMPLETE; a crash rolls everything back and the recovery worker starts over.

use crate::i18n::formats;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::{Acquire, PgConnection, Postgres, Transaction};
use tokio::sync::watch;

use crate::domain::handler_params::HandlerParams;
use crate::domain::{BillState, Email, Money};
use crate::fulfilment::{self, Produced, ProductionLine};
use crate::i18n::Locale;
use crate::mail::messages;
use crate::services::enrolments::{self, Backend, Enrolment};
use crate::state::AppState;
use crate::store::bills::{self, Bill, Item};
use crate::store::users::{self, NewUser};
use crate::store::{courses, customers, outbox, settings, tokens};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Wait for another producer of the same bill to finish (notifications, operators).
    Yes,
    /// Skip a bill someone else is producing (the recovery worker).
    No,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    /// Not in PAID (already complete, not paid yet, cancelled…): nothing to do.
    NothingToDo,
    /// Another instance is producing it right now.
    Busy,
    Failed(String),
}

#[tracing::instrument(name = "produce", skip(state), fields(bill = bill_id))]
pub async fn produce(state: &AppState, bill_id: i64, wait: Wait) -> anyhow::Result<Outcome> {
    let mut tx = state.db.begin().await?;
    let bill = match wait {
        Wait::Yes => bills::lock(&mut tx, bill_id).await?,
        Wait::No => bills::try_lock(&mut tx, bill_id).await?,
    };
    let Some(bill) = bill else {
        return Ok(if wait == Wait::No {
            Outcome::Busy
        } else {
            Outcome::NothingToDo
        });
    };
    if bill.state != BillState::Paid {
        return Ok(Outcome::NothingToDo);
    }
    let outcome = produce_locked(&mut tx, state, &bill).await?;
    tx.commit().await?;
    state.mail_queued.notify_one();
    state.lms_queued.notify_one();
    Ok(outcome)
}

/// Produces a PAID bill the caller has locked, in the caller's transaction (the payment
/// notification commits its payment and the production together). Delivery runs in a
/// savepoint: on failure it is rolled back and the bill goes FAILED, payment kept.
#[tracing::instrument(name = "produce_locked", skip_all, fields(bill = %bill.reference()))]
pub async fn produce_locked(
    tx: &mut Transaction<'_, Postgres>,
    state: &AppState,
    bill: &Bill,
) -> anyhow::Result<Outcome> {
    let mut savepoint = tx.begin().await?;
    match deliver(&mut savepoint, state, bill).await {
        Ok(summary) => {
            bills::transition(
                &mut savepoint,
                bill,
                BillState::Complete,
                &summary.join("; "),
                "production",
            )
            .await?;
            savepoint.commit().await?;
            tracing::info!(bill = %bill.reference(), "bill produced");
            Ok(Outcome::Completed)
        }
        Err(e) => {
            savepoint.rollback().await?;
            let reason = format!("{e:#}");
            tracing::warn!(bill = %bill.reference(), %reason, "production failed");
            bills::transition(tx, bill, BillState::Failed, &reason, "production").await?;
            Ok(Outcome::Failed(reason))
        }
    }
}

/// Everything production writes, in the caller's transaction. Returns the production log.
async fn deliver(
    tx: &mut PgConnection,
    state: &AppState,
    bill: &Bill,
) -> anyhow::Result<Vec<String>> {
    let locale = Locale::parse(&bill.locale).unwrap_or_default();
    let shop = settings::load(&mut *tx).await?;
    let customer = customers::find(&mut *tx, bill.customer_id)
        .await?
        .context("the bill's customer account is missing")?;
    let items = bills::items(&mut *tx, bill.id).await?;
    let mut log = Vec::new();

    let user_id = link_customer_user(tx, state, bill, &customer, &shop, locale, &mut log).await?;
    let backend = Backend::of(state);
    if enrol_in_support_course(tx, backend, &items, &shop, user_id).await? {
        log.push("enrolled in the customer-support course".to_owned());
    }
    let mut produced = Vec::new();
    for item in &items {
        let outcome = produce_item(tx, backend, bill, &customer, user_id, item)
            .await
            .with_context(|| format!("line {} ({})", item.line_no, item.code))?;
        log.push(format!(
            "{}: {}",
            item.code,
            describe(Locale::En, item, &outcome)
        ));
        produced.push(describe(locale, item, &outcome));
    }
    let summary = messages::order_summary(locale, bill, &items);
    mail_completion(
        tx, state, bill, &customer, &shop, locale, &produced, &summary,
    )
    .await?;
    Ok(log)
}

/// Rule 4 (docs/accounts.md): links the customer account to the buyer's user, or to a new
/// user (unverified, with its set-password mail). Returns the user.
async fn link_customer_user(
    tx: &mut PgConnection,
    state: &AppState,
    bill: &Bill,
    customer: &customers::Customer,
    shop: &settings::Settings,
    locale: Locale,
    log: &mut Vec<String>,
) -> anyhow::Result<i64> {
    match (customer.user_id, bill.buyer_user_id) {
        (Some(user_id), _) => Ok(user_id),
        (None, Some(buyer)) => {
            customers::link_user(&mut *tx, customer.id, buyer).await?;
            Ok(buyer)
        }
        (None, None) => {
            let email =
                Email::parse(&customer.email).context("the customer's email is not valid")?;
            let new = NewUser {
                email: &email,
                firstname: &customer.firstname,
                lastname: &customer.lastname,
                password_hash: None,
                is_operator: false,
            };
            // The insert does nothing when the address has an account (the case-insensitive
            // unique index decides, also against a concurrent sign-up).
            let Some(user_id) = users::insert(&mut *tx, new).await? else {
                // Rule 3: never attach a purchase to an account on the strength of a typed email.
                bail!(
                    "the customer's email {email} now belongs to an existing account; link it by hand"
                );
            };
            customers::link_user(&mut *tx, customer.id, user_id).await?;
            bills::set_created_user(&mut *tx, bill.id, user_id).await?;
            let token = tokens::issue(&mut *tx, user_id).await?;
            let link = format!("{}/password/set/{token}", state.config.base_url);
            let m = messages::welcome(locale, &shop.shop_name, &customer.firstname, &link);
            outbox::enqueue(&mut *tx, email.as_str(), &m.subject, &m.body).await?;
            log.push(format!("user account created for {email}"));
            Ok(user_id)
        }
    }
}

/// Enrols the customer's user in the customer-support course: the first line naming one,
/// else the shop's default. `true` when an enrolment was added.
async fn enrol_in_support_course(
    tx: &mut PgConnection,
    backend: Backend,
    items: &[Item],
    shop: &settings::Settings,
    user_id: i64,
) -> anyhow::Result<bool> {
    let named = items
        .iter()
        .filter_map(|i| {
            HandlerParams::parse(&i.handler_params)
                .ok()?
                .get("customersupport")
                .map(str::to_owned)
        })
        .next();
    let support = match named {
        Some(shortname) => courses::find_by_shortname(&mut *tx, &shortname)
            .await?
            .map(|c| c.id),
        None => shop.default_support_course_id,
    };
    let Some(course_id) = support else {
        return Ok(false);
    };
    let enrolment = Enrolment {
        course_id,
        user_id,
        role: "student",
        start_at: None,
        end_at: None,
        group: None,
        seat_id: None,
    };
    Ok(enrolments::enrol(tx, backend, &enrolment).await?)
}

/// The customer's "your order is delivered" mail and the operators' sale notification.
#[allow(clippy::too_many_arguments)]
async fn mail_completion(
    tx: &mut PgConnection,
    state: &AppState,
    bill: &Bill,
    customer: &customers::Customer,
    shop: &settings::Settings,
    locale: Locale,
    produced: &[String],
    summary: &str,
) -> anyhow::Result<()> {
    let total = formats::money(locale, Money::from_minor(bill.total), &bill.currency);
    let space = format!("{}/customer", state.config.base_url);
    let invoice = format!(
        "{}/customer/bills/{}",
        state.config.base_url, bill.public_id
    );
    let m = messages::order_complete(
        locale,
        &shop.shop_name,
        &bill.reference(),
        &total,
        &produced.join("\n"),
        &space,
        summary,
        &invoice,
    );
    outbox::enqueue(&mut *tx, &customer.email, &m.subject, &m.body).await?;
    let who = format!("{} <{}>", customer.name(), customer.email);
    let m = messages::sale_notification(
        Locale::En,
        &shop.shop_name,
        &bill.reference(),
        &total,
        &who,
        &produced.join("\n"),
    );
    outbox::enqueue_to_operators(&mut *tx, &m.subject, &m.body).await?;
    Ok(())
}

async fn produce_item(
    tx: &mut PgConnection,
    backend: Backend,
    bill: &Bill,
    customer: &customers::Customer,
    user_id: i64,
    item: &Item,
) -> anyhow::Result<Produced> {
    if item.handler.is_empty() {
        return Ok(Produced::Nothing);
    }
    let handler = fulfilment::find(&item.handler)
        .with_context(|| format!("unknown handler {}", item.handler))?;
    let line = ProductionLine {
        bill_id: bill.id,
        bill_item_id: item.id,
        product_id: item.product_id,
        customer_id: customer.id,
        customer_user_id: user_id,
        backend,
        quantity: u32::try_from(item.quantity).unwrap_or(0),
        params: HandlerParams::parse(&item.handler_params).map_err(anyhow::Error::from)?,
    };
    handler.produce(tx, &line).await
}

/// One line of the confirmation ("10 unassigned seats: A51-1123K-FI …").
pub fn describe(locale: Locale, item: &Item, produced: &Produced) -> String {
    let product = format!("[{}] {}", item.code, item.name);
    match produced {
        Produced::Seats(n) => crate::i18n::fill(
            &locale.tn("checkout.produced_seats", u64::from(*n)),
            &[("product", &product)],
        ),
        Produced::Enrolment { course } => crate::i18n::fill(
            &locale.t("checkout.produced_enrolment"),
            &[("course", course), ("product", &product)],
        ),
        Produced::Nothing => format!("{product} × {}", item.quantity),
    }
}

/// Produces paid bills left behind by a crash or a restart. Several instances may run it.
pub async fn recovery_worker(state: AppState, mut shutdown: watch::Receiver<bool>) {
    loop {
        match bills::stranded_paid(&state.db, 20).await {
            Ok(ids) => {
                for id in ids {
                    if let Err(e) = produce(&state, id, Wait::No).await {
                        tracing::warn!(bill = id, error = %e, "recovery production failed");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot look for paid bills"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3)) => {}
            _ = shutdown.changed() => return,
        }
    }
}
