//! Turning a cart into a bill.

use crate::cache::ShopCatalogue;
use crate::i18n::formats;
use axum::http::StatusCode;
use sqlx::PgConnection;

use crate::domain::BillState;
use crate::domain::Money;
use crate::domain::cart::Cart;
use crate::domain::coupon::{CouponCode, CouponRefusal};
use crate::domain::paymode::Paymode;
use crate::domain::settlement::{self, Settler};
use crate::error::{AppError, Refusal};
use crate::i18n::Locale;
use crate::mail::messages;
use crate::security::tokens::random_id;
use crate::services::buyer_terms::{self, BuyerTax};
use crate::services::pricing::{PricedCart, price_cart_for};
use crate::services::production;
use crate::state::AppState;
use crate::store::bills::{self, Bill, NewBill, NewItem};
use crate::store::users::User;
use crate::store::{coupons, courses, customers, lms, outbox};

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("the cart is empty")]
    EmptyCart,
    #[error("the sales conditions were not accepted")]
    TermsNotAccepted,
    #[error("this payment method is not available for this order")]
    PaymodeNotAllowed,
    #[error("already enrolled in the course of {0}")]
    AlreadyEnrolled(String),
    #[error("the order amount is too large")]
    Amount,
    #[error("prices or availability changed since the buyer reviewed the order")]
    PriceChanged,
    /// The coupon may not be used (any more): exhausted by another checkout meanwhile,
    /// expired, disabled, or not for anything in the cart.
    #[error("the coupon may not be used: {0:?}")]
    Coupon(CouponRefusal),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl OrderError {
    /// What the buyer is told, or `None` for a fault (database, internal).
    pub fn refusal(&self) -> Option<Refusal> {
        let (status, key) = match self {
            OrderError::EmptyCart => (StatusCode::UNPROCESSABLE_ENTITY, "checkout.empty_cart"),
            OrderError::TermsNotAccepted => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "checkout.accept_terms_required",
            ),
            OrderError::PaymodeNotAllowed => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "checkout.paymode_not_allowed",
            ),
            OrderError::AlreadyEnrolled(_) => (StatusCode::CONFLICT, "checkout.already_enrolled"),
            OrderError::Amount => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "checkout.amount_too_large",
            ),
            OrderError::PriceChanged => (StatusCode::CONFLICT, "checkout.price_changed"),
            OrderError::Coupon(r) => (StatusCode::CONFLICT, r.message_key()),
            OrderError::Db(_) | OrderError::Internal(_) => return None,
        };
        Some(Refusal { status, key })
    }
}

impl From<OrderError> for AppError {
    fn from(e: OrderError) -> Self {
        match (e.refusal(), e) {
            (Some(r), _) => AppError::Refused(r),
            (None, OrderError::Db(e)) => AppError::Db(e),
            (None, e) => AppError::Internal(anyhow::Error::new(e)),
        }
    }
}

pub struct OrderRequest<'a> {
    pub cart: &'a Cart,
    pub customer_id: i64,
    pub buyer: Option<&'a User>,
    pub paymode: &'a str,
    pub accept_terms: bool,
    pub locale: Locale,
    /// The order form's key (a hidden field): pressing Confirm again on the same form finds
    /// the bill of the first press instead of placing a second one.
    pub submission_key: Option<&'a str>,
    /// The total (minor units) the buyer saw on the review step: an order is not billed at
    /// another one without being shown again.
    pub reviewed_total: Option<i64>,
    /// The coupon kept with the cart, checked again (locked) while placing.
    pub coupon: Option<&'a CouponCode>,
}

/// Whether the signed-in buyer already follows the course a one-course product sells. Only
/// a verified account is asked: what someone else gave an unproved address is not the
/// business of whoever holds its purchase sign-in (Rule 5, docs/accounts.md).
pub async fn already_enrolled(
    db: &mut PgConnection,
    buyer: &User,
    handler: &str,
    params: &str,
) -> sqlx::Result<bool> {
    if handler != "std_enrolonecourse" || !buyer.verified {
        return Ok(false);
    }
    let params = crate::domain::handler_params::HandlerParams::parse(params).unwrap_or_default();
    let Some(shortname) = params.get("coursename") else {
        return Ok(false);
    };
    match courses::find_by_shortname(&mut *db, shortname).await? {
        Some(course) => lms::is_enrolled(&mut *db, course.id, buyer.id).await,
        None => Ok(false),
    }
}

#[tracing::instrument(name = "place_order", skip_all, fields(customer = req.customer_id, paymode = req.paymode))]
pub async fn place(state: &AppState, req: OrderRequest<'_>) -> Result<Bill, OrderError> {
    if let Some(key) = req.submission_key
        && let Some(bill) = bills::find_by_submission(&state.db, req.customer_id, key).await?
    {
        return Ok(bill);
    }
    match place_new(state, &req).await {
        Err(OrderError::Db(e)) if is_unique_violation(&e) => {
            // The same form, confirmed twice at once: the other press placed it.
            let key = req.submission_key.unwrap_or_default();
            bills::find_by_submission(&state.db, req.customer_id, key)
                .await?
                .ok_or(OrderError::Db(e))
        }
        placed => placed,
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("23505"))
}

async fn place_new(state: &AppState, req: &OrderRequest<'_>) -> Result<Bill, OrderError> {
    let mut tx = state.db.begin().await?;
    let (catalogue, priced, paymode, buyer) = price_order(&mut tx, req).await?;
    // Enabled in the settings is not enough: Stripe also needs its keys in this process.
    if !state.can_take(paymode) {
        return Err(OrderError::PaymodeNotAllowed);
    }
    // The box is asked for only when there is something to accept; what was accepted is
    // recorded on the bill.
    let conditions = buyer_terms::conditions(&catalogue.settings, &priced);
    if !conditions.is_empty() && !req.accept_terms {
        return Err(OrderError::TermsNotAccepted);
    }
    let terms = Terms {
        buyer,
        version: buyer_terms::version(&conditions),
    };
    if let Some(user) = req.buyer {
        // On the order's own connection: a second one per Confirm could exhaust the pool.
        refuse_courses_already_followed(&mut tx, user, &priced).await?;
    }
    let bill = insert_bill(&mut tx, req, &catalogue, &priced, paymode, &terms).await?;
    if let Some(applied) = &priced.coupon {
        coupons::redeem(&mut *tx, applied.coupon_id, bill.id, req.customer_id).await?;
    }
    match paymode {
        Paymode::Transfer => await_transfer(&mut tx, req, &catalogue, &bill).await?,
        // Nothing to pay: PAID in the same commit as the bill, so a crash right after leaves
        // it to the recovery worker, never a free order stuck unpaid.
        Paymode::Free => {
            settlement::may_settle(paymode, bill.state, Settler::Shop)
                .map_err(anyhow::Error::from)?;
            bills::transition(&mut tx, &bill, BillState::Paid, "free order", "system")
                .await
                .map_err(anyhow::Error::from)?;
        }
        // Online: the bill is as inserted until the provider answers.
        Paymode::Test | Paymode::Stripe => {}
    }
    tx.commit().await?;
    state.mail_queued.notify_one();
    if paymode == Paymode::Free {
        production::produce(state, bill.id, production::Wait::Yes).await?;
    }
    Ok(bills::find(&state.db, bill.id).await?.unwrap_or(bill))
}

/// The cart priced from the catalogue as committed now (another instance's cache may be a
/// moment old; the products stay share-locked until the bill commits), and the payment
/// method, checked against what is enabled and what the total allows.
async fn price_order(
    tx: &mut PgConnection,
    req: &OrderRequest<'_>,
) -> Result<(ShopCatalogue, PricedCart, Paymode, BuyerTax), OrderError> {
    let codes: Vec<String> = req.cart.lines.iter().map(|l| l.code.clone()).collect();
    let catalogue = ShopCatalogue::for_order(tx, &codes).await?;
    let signed_in = req.buyer.is_some();
    let operator = req.buyer.is_some_and(|u| u.is_operator);
    let customer = customers::find(&mut *tx, req.customer_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("customer {} vanished", req.customer_id))?;
    let buyer = buyer_terms::buyer_tax(&mut *tx, &catalogue.settings, &customer).await?;
    let mut priced = price_cart_for(req.cart, &catalogue, signed_in, operator, buyer.treatment)
        .map_err(|_| OrderError::Amount)?;
    if priced.is_empty() {
        return Err(OrderError::EmptyCart);
    }
    if let Some(code) = req.coupon {
        // Locks the coupon until this order commits: concurrent checkouts with the same
        // code queue here, and each counts the redemptions of those before it.
        crate::services::coupons::lock_and_apply(&mut *tx, code, req.customer_id, &mut priced)
            .await?
            .map_err(OrderError::Coupon)?;
    }
    let changed = req
        .reviewed_total
        .is_some_and(|t| t != priced.totals.total.minor());
    if changed || !priced.dropped.is_empty() {
        return Err(OrderError::PriceChanged);
    }
    let paymode: Paymode = req
        .paymode
        .parse()
        .map_err(|()| OrderError::PaymodeNotAllowed)?;
    let enabled = catalogue.settings.paymodes.contains(&paymode) || paymode == Paymode::Free;
    if !enabled || !paymode.fits(priced.totals.total) {
        return Err(OrderError::PaymodeNotAllowed);
    }
    Ok((catalogue, priced, paymode, buyer))
}

/// What the buyer brings to the bill besides the cart.
struct Terms {
    buyer: BuyerTax,
    /// `buyer_terms::version` of the conditions accepted.
    version: String,
}

/// A one-course product is not sold to a buyer who already follows that course.
async fn refuse_courses_already_followed(
    db: &mut PgConnection,
    buyer: &User,
    priced: &PricedCart,
) -> Result<(), OrderError> {
    for line in &priced.lines {
        let p = &line.product;
        if already_enrolled(db, buyer, &p.handler, &p.handler_params).await? {
            return Err(OrderError::AlreadyEnrolled(p.code.clone()));
        }
    }
    Ok(())
}

/// The bill (PLACED) and its lines, at the prices just computed.
async fn insert_bill(
    tx: &mut PgConnection,
    req: &OrderRequest<'_>,
    catalogue: &ShopCatalogue,
    priced: &PricedCart,
    paymode: Paymode,
    terms: &Terms,
) -> Result<Bill, OrderError> {
    let public_id = random_id(16);
    let bill = bills::insert(
        &mut *tx,
        &NewBill {
            public_id: &public_id,
            customer_id: req.customer_id,
            buyer_user_id: req.buyer.map(|u| u.id),
            paymode,
            currency: &catalogue.settings.currency,
            untaxed: priced.totals.untaxed.minor(),
            tax: priced.totals.tax.minor(),
            total: priced.totals.total.minor(),
            locale: req.locale.code(),
            submission_key: req.submission_key,
            tax_treatment: terms.buyer.treatment,
            buyer_vat_number: terms.buyer.vat_number.as_ref().map_or("", |v| v.as_str()),
            po_reference: &terms.buyer.po_reference,
            terms_version: &terms.version,
            coupon_code: priced.coupon.as_ref().map_or("", |c| c.code.as_str()),
        },
    )
    .await?;
    for (i, line) in priced.lines.iter().enumerate() {
        let p = &line.product;
        bills::insert_item(
            &mut *tx,
            &NewItem {
                bill_id: bill.id,
                line_no: i32::try_from(i + 1).unwrap_or(i32::MAX),
                product_id: p.id,
                code: &p.code,
                name: &p.name,
                quantity: i32::try_from(line.priced.quantity).unwrap_or(i32::MAX),
                unit_price: line.priced.unit_price.minor(),
                tax_rate_bp: i32::try_from(line.priced.tax_rate.basis_points()).unwrap_or(0),
                untaxed: line.priced.untaxed.minor(),
                tax: line.priced.tax.minor(),
                discount: line.discount.minor(),
                handler: &p.handler,
                handler_params: &p.handler_params,
            },
        )
        .await?;
    }
    Ok(bill)
}

/// A transfer bill waits PENDING; the buyer is mailed the instructions.
async fn await_transfer(
    tx: &mut PgConnection,
    req: &OrderRequest<'_>,
    catalogue: &ShopCatalogue,
    bill: &Bill,
) -> Result<(), OrderError> {
    bills::transition(
        &mut *tx,
        bill,
        crate::domain::BillState::Pending,
        "awaiting bank transfer",
        "buyer",
    )
    .await
    .map_err(|e| anyhow::anyhow!(e))?;
    if let Some(customer) = customers::find(&mut *tx, req.customer_id).await? {
        let total = formats::money(req.locale, Money::from_minor(bill.total), &bill.currency);
        let m = messages::transfer_instructions(
            req.locale,
            &catalogue.settings.shop_name,
            &bill.reference(),
            &total,
            &catalogue.settings,
        );
        outbox::enqueue(&mut *tx, &customer.email, &m.subject, &m.body).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_while_ordering_is_a_503_and_a_refusal_keeps_its_status() {
        // Before issue 13 the checkout mapped every database error to a 500.
        let down: AppError = OrderError::Db(sqlx::Error::PoolTimedOut).into();
        assert_eq!(down.status_and_key().0, StatusCode::SERVICE_UNAVAILABLE);
        let refused: AppError = OrderError::TermsNotAccepted.into();
        assert_eq!(
            refused.status_and_key(),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "checkout.accept_terms_required"
            )
        );
        let bug: AppError = OrderError::Internal(anyhow::anyhow!("boom")).into();
        assert_eq!(bug.status_and_key().0, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
