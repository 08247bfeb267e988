//! Checkout: customer details, order review, confirmation.

use crate::i18n::{fill, formats};
use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::buyer::{BuyerDetails, BuyerForm};
use crate::domain::customer::{CustomerDetails, CustomerForm};
use crate::domain::tax_rules::TaxTreatment;

/// The mention a document carries for its tax treatment (the documents' own rule: the
/// review step shows what the invoice will say).
pub fn tax_mention(page: &Page, treatment: TaxTreatment) -> Option<String> {
    crate::documents::model::mention(page.locale, treatment).map(|m| m.text)
}
use crate::domain::coupon::CouponCode;
use crate::domain::form::FieldErrors;
use crate::domain::paymode::Paymode;
use crate::domain::{BillState, Money};
use crate::error::{AppError, AppResult};
use crate::http::cart::{self, CartView};
use crate::http::context::{Page, flash};
use crate::http::extract::{ClientIp, MaybeUser};
use crate::http::placed;
use crate::http::render::{html, html_status};
use crate::http::signin::sign_in_for_purchase;
use crate::security::tokens::random_id;
use crate::services::buyer_terms;
use crate::services::ordering::{self, OrderRequest};
use crate::services::pricing::price_cart_for;
use crate::state::AppState;
use crate::store::bills::{self, Bill};
use crate::store::customers::{self, Customer};
use crate::store::seats;
use crate::store::settings::Settings;
use crate::store::users::{self, User};

const CUSTOMER_ID: &str = "customer_id";

// ----------------------------------------------------------------------------- customer step

#[derive(Template)]
#[template(path = "checkout/customer.html")]
struct CustomerPage {
    page: Page,
    form: CustomerForm,
    buyer: BuyerForm,
    errors: FieldErrors,
    /// Set when an anonymous buyer typed the email of an existing account.
    existing_account: bool,
    /// What is being bought, beside the details.
    cart: CartView,
}

impl CustomerPage {
    /// The business fields: name, label key, autocomplete, typed value.
    fn buyer_fields(&self) -> [(&'static str, &'static str, &'static str, &str); 3] {
        [
            (
                "vat_number",
                "checkout.vat_number",
                "off",
                &self.buyer.vat_number,
            ),
            (
                "po_reference",
                "checkout.po_reference",
                "off",
                &self.buyer.po_reference,
            ),
            ("phone", "checkout.phone", "tel", &self.buyer.phone),
        ]
    }

    fn error(&self, field: &str) -> Option<String> {
        self.errors.get(field).map(|k| self.page.t(k).into_owned())
    }
}

/// The customer account this buyer fills in: the signed-in user's, else the one this
/// browser created earlier in the checkout (if still unlinked).
pub(crate) async fn current_customer(
    state: &AppState,
    session: &Session,
    user: Option<&User>,
) -> AppResult<Option<Customer>> {
    if let Some(user) = user {
        return Ok(customers::find_by_user(&state.db, user.id).await?);
    }
    let Some(id) = session.get::<i64>(CUSTOMER_ID).await? else {
        return Ok(None);
    };
    Ok(customers::find(&state.db, id)
        .await?
        .filter(|c| c.user_id.is_none()))
}

pub async fn customer_form(
    State(state): State<AppState>,
    session: Session,
    MaybeUser(user): MaybeUser,
    page: Page,
) -> AppResult<Response> {
    if cart::load(&session).await?.is_empty() {
        return Ok(Redirect::to("/cart").into_response());
    }
    let current = current_customer(&state, &session, user.as_ref()).await?;
    let buyer = match &current {
        Some(c) => customers::business(&state.db, c.id)
            .await?
            .map(|b| BuyerForm {
                vat_number: b.vat_number,
                po_reference: b.po_reference,
                phone: b.phone,
            })
            .unwrap_or_default(),
        None => BuyerForm::default(),
    };
    let form = match current {
        Some(customer) => customer.form(),
        None => match &user {
            // Rule 2 (docs/accounts.md): a signed-in buyer without customer account starts from their user.
            Some(u) => CustomerForm {
                firstname: u.firstname.clone(),
                lastname: u.lastname.clone(),
                email: u.email.clone(),
                ..Default::default()
            },
            None => CustomerForm::default(),
        },
    };
    let cart = cart::view(&state, &session, &page).await?;
    html(CustomerPage {
        page,
        form,
        buyer,
        errors: FieldErrors::default(),
        existing_account: false,
        cart,
    })
}

/// The customer step's form: the customer's details and, beside them, a business buyer's.
#[derive(Deserialize, Default)]
pub struct CheckoutCustomerForm {
    #[serde(flatten)]
    customer: CustomerForm,
    #[serde(flatten)]
    buyer: BuyerForm,
}

/// Both parts parsed, every field's error reported at once.
fn parse_checkout_form(
    form: &CheckoutCustomerForm,
) -> Result<(CustomerDetails, BuyerDetails), FieldErrors> {
    let f = &form.customer;
    // The VAT number must be of the country the invoice goes to.
    let country = if f.invoice_distinct == "1" {
        &f.invoice_country
    } else {
        &f.country
    };
    let buyer = BuyerDetails::parse(&form.buyer, &country.trim().to_uppercase());
    match (CustomerDetails::parse(f), buyer) {
        (Ok(c), Ok(b)) => Ok((c, b)),
        (c, b) => {
            let mut errors = c.err().unwrap_or_default();
            for (field, key) in b.err().unwrap_or_default().iter() {
                errors.add(field, key);
            }
            Err(errors)
        }
    }
}

impl CustomerPage {
    /// The step shown again with `status`: what was typed kept, why it was refused, and the
    /// cart beside it.
    async fn again(
        state: &AppState,
        session: &Session,
        status: StatusCode,
        page: Page,
        (form, buyer): (CustomerForm, BuyerForm),
        errors: FieldErrors,
        existing_account: bool,
    ) -> AppResult<Response> {
        let cart = cart::view(state, session, &page).await?;
        html_status(
            status,
            CustomerPage {
                page,
                form,
                buyer,
                errors,
                existing_account,
                cart,
            },
        )
    }
}

pub async fn save_customer(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    session: Session,
    MaybeUser(user): MaybeUser,
    page: Page,
    Form(posted): Form<CheckoutCustomerForm>,
) -> AppResult<Response> {
    let parsed = match (parse_checkout_form(&posted), &user) {
        // A signed-in buyer's account may not take another user's address (Rule 3).
        (Ok((d, b)), Some(u)) => crate::http::customer::address_free_for(&state, u, d)
            .await?
            .map(|d| (d, b)),
        (parsed, _) => parsed,
    };
    let CheckoutCustomerForm {
        customer: form,
        buyer,
    } = posted;
    let (mut details, business) = match parsed {
        Ok(d) => d,
        Err(errors) => {
            return CustomerPage::again(
                &state,
                &session,
                StatusCode::UNPROCESSABLE_ENTITY,
                page,
                (form, buyer),
                errors,
                false,
            )
            .await;
        }
    };
    let customer_id = match &user {
        Some(user) => match customers::find_by_user(&state.db, user.id).await? {
            // Rule 2 (docs/accounts.md): edits are saved back to the signed-in buyer's customer
            // account; a new address waits for its confirmation, as from /customer/details.
            Some(existing) => {
                let pending = crate::http::customer::keep_email_until_confirmed(
                    &state,
                    user,
                    &page,
                    &mut details,
                )
                .await?;
                match pending {
                    Ok(Some(pending)) => flash(&session, pending).await?,
                    Ok(None) => {}
                    Err(errors) => {
                        return CustomerPage::again(
                            &state,
                            &session,
                            StatusCode::UNPROCESSABLE_ENTITY,
                            page,
                            (form, buyer),
                            errors,
                            false,
                        )
                        .await;
                    }
                }
                customers::update(&state.db, existing.id, &details).await?;
                existing.id
            }
            None => customers::insert(&state.db, &details, Some(user.id)).await?,
        },
        None => {
            // Each answer tells whether an address has an account: throttled per client so
            // the step cannot be used to list the shop's customers.
            if !state.login_throttle.allow_probe(client) {
                let mut errors = FieldErrors::default();
                errors.add("email", "errors.too_many");
                return CustomerPage::again(
                    &state,
                    &session,
                    StatusCode::TOO_MANY_REQUESTS,
                    page,
                    (form, buyer),
                    errors,
                    false,
                )
                .await;
            }
            // Rule 3 (docs/accounts.md): an existing account's email asks for a login; nothing of that account
            // is read out or changed, and what was typed stays in the form.
            if users::find_by_email(&state.db, details.email.as_str())
                .await?
                .is_some()
            {
                return CustomerPage::again(
                    &state,
                    &session,
                    StatusCode::CONFLICT,
                    page,
                    (form, buyer),
                    FieldErrors::default(),
                    true,
                )
                .await;
            }
            match current_customer(&state, &session, None).await? {
                Some(existing) => {
                    customers::update(&state.db, existing.id, &details).await?;
                    existing.id
                }
                None => {
                    // The session learns the new account's id before the account commits: a
                    // crash between the two leaves a session pointing at nothing (the step is
                    // asked again), never an account no session points at.
                    let mut tx = state.db.begin().await?;
                    let id = customers::insert(&mut *tx, &details, None).await?;
                    session.insert(CUSTOMER_ID, id).await?;
                    session.save().await?;
                    tx.commit().await?;
                    id
                }
            }
        }
    };
    customers::set_business(&state.db, customer_id, &business).await?;
    Ok(Redirect::to("/checkout/order").into_response())
}

// ----------------------------------------------------------------------------- order step

#[derive(Template)]
#[template(path = "checkout/order.html")]
struct OrderPage {
    page: Page,
    customer: Customer,
    cart: CartView,
    conditions: Vec<(String, String)>,
    /// How the order is taxed for this buyer (the reverse-charge mention shows on it).
    treatment: TaxTreatment,
    vat_number: String,
    po_reference: String,
    paymodes: Vec<&'static str>,
    paymode: String,
    accepted: bool,
    error: Option<String>,
    submission: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OrderForm {
    accept_terms: String,
    paymode: String,
    /// Drawn when the form is shown; the same form confirmed twice places one bill.
    submission: String,
    /// The total the page showed, in minor units.
    reviewed_total: String,
}

async fn order_page(
    state: &AppState,
    session: &Session,
    user: Option<&User>,
    page: Page,
    form: OrderForm,
    error: Option<String>,
) -> AppResult<Result<OrderPage, Response>> {
    let cart = cart::load(session).await?;
    if cart.is_empty() {
        return Ok(Err(Redirect::to("/cart").into_response()));
    }
    let Some(customer) = current_customer(state, session, user).await? else {
        return Ok(Err(Redirect::to("/checkout/customer").into_response()));
    };
    let catalogue = state.catalogue.get(&state.db).await?;
    let buyer = buyer_terms::buyer_tax(&state.db, &catalogue.settings, &customer).await?;
    let mut priced = price_cart_for(
        &cart,
        &catalogue,
        page.signed_in(),
        page.is_operator(),
        buyer.treatment,
    )
    .map_err(|_| AppError::bad_request("checkout.amount_too_large"))?;
    let dropped = cart::with_coupon(state, session, &page, Some(customer.id), &mut priced).await?;
    let error = error.or(dropped);
    let total = priced.totals.total;
    let paymodes: Vec<&'static str> = Paymode::ALL
        .into_iter()
        .filter(|m| {
            m.fits(total)
                && state.can_take(*m)
                && (*m == Paymode::Free || catalogue.settings.paymodes.contains(m))
        })
        .map(Paymode::as_str)
        .collect();
    let conditions = buyer_terms::conditions(&catalogue.settings, &priced)
        .into_iter()
        .map(|c| {
            let title = c
                .product
                .unwrap_or_else(|| page.t("checkout.general_conditions").into_owned());
            (title, c.text)
        })
        .collect();
    let paymode = if paymodes.contains(&form.paymode.as_str()) {
        form.paymode
    } else {
        paymodes
            .first()
            .map(|m| (*m).to_owned())
            .unwrap_or_default()
    };
    let submission = match submission_key(&form.submission) {
        Some(key) => key.to_owned(),
        None => random_id(16),
    };
    Ok(Ok(OrderPage {
        page,
        customer,
        cart: CartView::new(&priced),
        conditions,
        treatment: buyer.treatment,
        vat_number: buyer.vat_number.map(|v| v.to_string()).unwrap_or_default(),
        po_reference: buyer.po_reference,
        paymodes,
        paymode,
        accepted: is_checked(&form.accept_terms),
        error,
        submission,
    }))
}

impl OrderPage {
    fn tax_mention(&self) -> Option<String> {
        tax_mention(&self.page, self.treatment)
    }
}

/// The order form's key as posted, if it is one we could have drawn.
fn submission_key(posted: &str) -> Option<&str> {
    (!posted.is_empty()
        && posted.len() <= 64
        && posted
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then_some(posted)
}

fn is_checked(value: &str) -> bool {
    matches!(value, "1" | "on" | "yes" | "true")
}

pub async fn order_form(
    State(state): State<AppState>,
    session: Session,
    MaybeUser(user): MaybeUser,
    page: Page,
) -> AppResult<Response> {
    match order_page(
        &state,
        &session,
        user.as_ref(),
        page,
        OrderForm::default(),
        None,
    )
    .await?
    {
        Ok(p) => html(p),
        Err(redirect) => Ok(redirect),
    }
}

pub async fn place_order(
    State(state): State<AppState>,
    session: Session,
    MaybeUser(user): MaybeUser,
    page: Page,
    Form(form): Form<OrderForm>,
) -> AppResult<Response> {
    let cart = cart::load(&session).await?;
    let Some(customer) = current_customer(&state, &session, user.as_ref()).await? else {
        return Ok(Redirect::to("/checkout/customer").into_response());
    };
    let kept = cart::load_coupon(&session).await?;
    let coupon = kept.as_deref().and_then(CouponCode::parse);
    let request = OrderRequest {
        cart: &cart,
        customer_id: customer.id,
        buyer: user.as_ref(),
        paymode: &form.paymode,
        accept_terms: is_checked(&form.accept_terms),
        locale: page.locale,
        submission_key: submission_key(&form.submission),
        reviewed_total: form.reviewed_total.parse().ok(),
        coupon: coupon.as_ref(),
    };
    let bill = match ordering::place(&state, request).await {
        Ok(bill) => bill,
        Err(e) => {
            let Some(refused) = e.refusal() else {
                // An outage is a 503 (retry), a bug a 500: `AppError` knows which.
                return Err(e.into());
            };
            let message = match (&e, &kept) {
                // The order is shown again without the coupon, at the price it would now be.
                (ordering::OrderError::Coupon(r), Some(code)) => {
                    cart::drop_coupon(&session).await?;
                    cart::coupon_dropped(&page, code, *r)
                }
                _ => page.t(refused.key).into_owned(),
            };
            return match order_page(&state, &session, user.as_ref(), page, form, Some(message))
                .await?
            {
                Ok(p) => html_status(refused.status, p),
                Err(redirect) => Ok(redirect),
            };
        }
    };
    // The right to this bill goes to a new session id: whoever fixed the old one (planted
    // it before the buyer arrived) does not get it.
    session.cycle_id().await?;
    let cookie = placed::remember(&state, &session, &bill.public_id).await?;
    let next = match bill.state {
        BillState::Placed if bill.paymode.is_online() => {
            format!("/payment/{}/{}", bill.paymode, bill.public_id)
        }
        _ => format!("/checkout/done/{}", bill.public_id),
    };
    let mut response = Redirect::to(&next).into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    Ok(response)
}

// ----------------------------------------------------------------------------- confirmation

#[derive(Template)]
#[template(path = "checkout/done.html")]
struct DonePage {
    page: Page,
    bill: Bill,
    produced: Vec<String>,
    total: Money,
    settings: Settings,
}

impl DonePage {
    fn iban(&self) -> String {
        self.settings.iban_display()
    }

    fn transfer_instructions(&self) -> String {
        let total = formats::money(self.page.locale, self.total, &self.bill.currency);
        self.page.tf(
            "checkout.transfer_instructions",
            &[("bill", &self.bill.reference()), ("total", &total)],
        )
    }
}

/// How long after its completion an online purchase still signs its buyer in.
const PURCHASE_SIGN_IN_WINDOW: time::Duration = time::Duration::minutes(15);

/// A bill's confirmation is shown to the browser that placed it and to its customer's user;
/// to anyone else it does not exist.
async fn visible_bill(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    user: Option<&User>,
    public_id: &str,
) -> AppResult<(Bill, bool)> {
    let bill = bills::find_by_public_id(&state.db, public_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let placed_here = placed::placed_by(state, session, headers, public_id).await?;
    if placed_here {
        return Ok((bill, true));
    }
    if let Some(user) = user
        && let Some(customer) = customers::find(&state.db, bill.customer_id).await?
        && customer.user_id == Some(user.id)
    {
        return Ok((bill, false));
    }
    Err(AppError::NotFound)
}

pub async fn done(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    MaybeUser(user): MaybeUser,
    mut page: Page,
    Path(public_id): Path<String>,
) -> AppResult<Response> {
    let (bill, placed_here) =
        visible_bill(&state, &session, &headers, user.as_ref(), &public_id).await?;
    if placed_here
        && matches!(
            bill.state,
            BillState::Complete | BillState::Paid | BillState::Pending | BillState::Failed
        )
    {
        session
            .remove::<crate::domain::cart::Cart>(cart::CART)
            .await?;
    }
    // The buyer who just paid online is signed in to the account the purchase created
    // (Rule 4), but that account's address is not proved yet: the sign-in reaches
    // only this purchase's customer space (Rule 5, docs/accounts.md).
    // Only while the buyer is on the site: an online payment, completed moments ago (after
    // that, or after a logout, the set-password mail is the way in).
    let just_completed = bill
        .completed_at
        .is_some_and(|at| time::OffsetDateTime::now_utc() - at < PURCHASE_SIGN_IN_WINDOW);
    if placed_here
        && user.is_none()
        && bill.state == BillState::Complete
        && bill.paymode.is_online()
        && just_completed
        && let Some(new_user) = bill.created_user_id
        && let Some(u) = users::find(&state.db, new_user).await?
        // Once the owner has chosen a password, only that password signs in.
        && !u.verified
    {
        let su = sign_in_for_purchase(&session, &u, bill.customer_id).await?;
        page.signed_in_as(su, &state.csrf_key);
    }
    let produced = produced_lines(&state, &page, &bill).await?;
    let total = Money::from_minor(bill.total);
    let settings = state.catalogue.get(&state.db).await?.settings.clone();
    html(DonePage {
        page,
        bill,
        produced,
        total,
        settings,
    })
}

/// The bill's document (pro-forma while a transfer is awaited), for whoever may see its
/// confirmation: an anonymous buyer has no customer space yet.
pub async fn document(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    MaybeUser(user): MaybeUser,
    page: Page,
    Path(public_id): Path<String>,
) -> AppResult<Response> {
    let (bill, _) = visible_bill(&state, &session, &headers, user.as_ref(), &public_id).await?;
    let customer = customers::find(&state.db, bill.customer_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let pdf = format!("/checkout/done/{public_id}/document.pdf");
    crate::http::documents::render(&state, page, bill, customer, "/shop", pdf).await
}

/// The same document as a PDF, for the same people.
pub async fn document_pdf(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    MaybeUser(user): MaybeUser,
    Path(public_id): Path<String>,
) -> AppResult<Response> {
    let (bill, _) = visible_bill(&state, &session, &headers, user.as_ref(), &public_id).await?;
    let customer = customers::find(&state.db, bill.customer_id)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::http::documents::render_pdf(&state, bill, customer).await
}

async fn produced_lines(state: &AppState, page: &Page, bill: &Bill) -> AppResult<Vec<String>> {
    let rows = seats::produced_by_bill(&state.db, bill.id).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let product = format!("[{}] {}", r.code, r.name);
            if r.kind.is_seat() {
                fill(
                    &page.tn("checkout.produced_seats", r.count),
                    &[("product", &product)],
                )
            } else {
                page.tf(
                    "checkout.produced_enrolment",
                    &[
                        ("course", r.course.as_deref().unwrap_or("")),
                        ("product", &product),
                    ],
                )
            }
        })
        .collect())
}

/// This area's routes (full paths: the security suite reads every route under src/http).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/checkout/customer", get(customer_form).post(save_customer))
        .route("/checkout/order", get(order_form).post(place_order))
        .route("/checkout/done/{bill}", get(done))
        .route("/checkout/done/{bill}/document", get(document))
        .route("/checkout/done/{bill}/document.pdf", get(document_pdf))
}
