//! The cart, kept in the session as codes and quantities.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::cart::{Cart, MAX_LINE_QUANTITY, parse_quantity};
use crate::domain::coupon::CouponRefusal;
use crate::domain::{Money, TaxRate};
use crate::error::AppResult;
use crate::http::context::{Page, flash};
use crate::http::extract::{ClientIp, MaybeUser};
use crate::http::render::html_status;
use crate::services::coupons;
use crate::services::ordering::already_enrolled;
use crate::services::pricing::{self, PricedCart, price_cart, quantity_limit, refusal};
use crate::state::AppState;
use crate::store::users::User;

pub const CART: &str = "cart";
/// The coupon code the buyer applied, kept beside the cart and checked again at each use.
pub const COUPON: &str = "coupon";

pub async fn load_coupon(session: &Session) -> AppResult<Option<String>> {
    Ok(session.get::<String>(COUPON).await?)
}

pub async fn drop_coupon(session: &Session) -> AppResult<()> {
    session.remove::<String>(COUPON).await?;
    Ok(())
}

/// Applies the session's coupon to `priced` (for `customer_id` when known). A code that no
/// longer applies is dropped from the session; the message says why.
pub(crate) async fn with_coupon(
    state: &AppState,
    session: &Session,
    page: &Page,
    customer_id: Option<i64>,
    priced: &mut PricedCart,
) -> AppResult<Option<String>> {
    let Some(code) = load_coupon(session).await? else {
        return Ok(None);
    };
    match coupons::preview(&state.db, &code, customer_id, priced).await? {
        Ok(()) => Ok(None),
        Err(refusal) => {
            drop_coupon(session).await?;
            Ok(Some(coupon_dropped(page, &code, refusal)))
        }
    }
}

/// Applies the session's coupon to `priced` when it applies, leaving it in the session
/// otherwise: for a page that has no room to say why (the next page that has drops it).
async fn apply_kept(state: &AppState, session: &Session, priced: &mut PricedCart) -> AppResult<()> {
    if let Some(code) = load_coupon(session).await? {
        // A refusal leaves `priced` untouched.
        let _refused = coupons::preview(&state.db, &code, None, priced).await?;
    }
    Ok(())
}

/// Why a kept coupon was taken off the order.
pub(crate) fn coupon_dropped(page: &Page, code: &str, refusal: CouponRefusal) -> String {
    format!(
        "{} {}",
        page.t(refusal.message_key()),
        page.tf("coupon.removed", &[("code", code)])
    )
}

pub async fn load(session: &Session) -> AppResult<Cart> {
    Ok(session.get::<Cart>(CART).await?.unwrap_or_default())
}

pub async fn save(session: &Session, cart: &Cart) -> AppResult<()> {
    session.insert(CART, cart).await?;
    Ok(())
}

pub struct CartRow {
    pub code: String,
    pub name: String,
    pub quantity: u32,
    pub limit: u32,
    pub seats_per_unit: Option<u32>,
    pub unit_price: Money,
    pub untaxed: Money,
    pub tax_rate: TaxRate,
}

impl CartRow {
    /// The limit when it is one a buyer may meet (below the shop's own line maximum).
    pub fn limited(&self) -> Option<u32> {
        (self.limit < MAX_LINE_QUANTITY).then_some(self.limit)
    }
}

/// The priced lines and totals as the cart and order pages show them.
pub struct CartView {
    pub rows: Vec<CartRow>,
    pub untaxed: Money,
    pub taxes: Vec<(TaxRate, Money)>,
    pub total: Money,
    pub dropped: Vec<String>,
    /// The coupon applied: its code and what it takes off (untaxed).
    pub coupon: Option<(String, Money)>,
}

impl CartView {
    pub fn new(priced: &PricedCart) -> Self {
        CartView {
            rows: priced
                .lines
                .iter()
                .map(|l| CartRow {
                    code: l.product.code.clone(),
                    name: l.product.name.clone(),
                    quantity: l.priced.quantity,
                    limit: l.limit,
                    seats_per_unit: pricing::seats_per_unit(&l.product),
                    unit_price: l.priced.unit_price,
                    // The line before the coupon; the coupon's own line takes it off.
                    untaxed: l.gross(),
                    tax_rate: l.priced.tax_rate,
                })
                .collect(),
            untaxed: priced.totals.untaxed,
            taxes: priced.totals.taxes.iter().map(|(r, m)| (*r, *m)).collect(),
            total: priced.totals.total,
            dropped: priced.dropped.clone(),
            coupon: priced.coupon.as_ref().map(|c| (c.code.clone(), c.discount)),
        }
    }
}

#[derive(Template)]
#[template(path = "cart/index.html")]
struct CartPage {
    page: Page,
    cart: CartView,
    error: Option<String>,
    /// The coupon code as typed, kept when it was refused.
    coupon_typed: String,
}

/// The cart as a summary beside another step (the customer details).
pub(crate) async fn view(state: &AppState, session: &Session, page: &Page) -> AppResult<CartView> {
    let catalogue = state.catalogue.get(&state.db).await?;
    let cart = load(session).await?;
    let mut priced = price_cart(&cart, &catalogue, page.signed_in(), page.is_operator())
        .map_err(|_| crate::error::AppError::bad_request("checkout.amount_too_large"))?;
    apply_kept(state, session, &mut priced).await?;
    Ok(CartView::new(&priced))
}

/// The cart page's view, and why a kept coupon was dropped, if it was.
async fn view_noting(
    state: &AppState,
    session: &Session,
    page: &Page,
) -> AppResult<(CartView, Option<String>)> {
    let catalogue = state.catalogue.get(&state.db).await?;
    let cart = load(session).await?;
    let mut priced = price_cart(&cart, &catalogue, page.signed_in(), page.is_operator())
        .map_err(|_| crate::error::AppError::bad_request("checkout.amount_too_large"))?;
    let note = if priced.is_empty() {
        None
    } else {
        with_coupon(state, session, page, None, &mut priced).await?
    };
    Ok((CartView::new(&priced), note))
}

async fn render(
    state: &AppState,
    session: &Session,
    page: Page,
    status: StatusCode,
    error: Option<String>,
) -> AppResult<Response> {
    render_typed(state, session, page, status, error, String::new()).await
}

async fn render_typed(
    state: &AppState,
    session: &Session,
    page: Page,
    status: StatusCode,
    error: Option<String>,
    coupon_typed: String,
) -> AppResult<Response> {
    let (cart, note) = view_noting(state, session, &page).await?;
    html_status(
        status,
        CartPage {
            page,
            cart,
            error: error.or(note),
            coupon_typed,
        },
    )
}

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    page: Page,
) -> AppResult<Response> {
    render(&state, &session, page, StatusCode::OK, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ItemForm {
    code: String,
    quantity: String,
}

/// Adds to the cart. Only the code and quantity are read: a posted price is not even parsed.
pub async fn add(
    State(state): State<AppState>,
    session: Session,
    MaybeUser(user): MaybeUser,
    page: Page,
    Form(form): Form<ItemForm>,
) -> AppResult<Response> {
    match try_add(&state, &session, user.as_ref(), &page, &form).await? {
        Ok(()) => Ok(Redirect::to("/cart").into_response()),
        Err(message) => {
            render(
                &state,
                &session,
                page,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(message),
            )
            .await
        }
    }
}

/// The rules of adding, checked on the server: on sale to this buyer, not a course they
/// already follow, a sane quantity within the product's limit. `Ok(Err(message))` is a refusal.
async fn try_add(
    state: &AppState,
    session: &Session,
    user: Option<&User>,
    page: &Page,
    form: &ItemForm,
) -> AppResult<Result<(), String>> {
    let catalogue = state.catalogue.get(&state.db).await?;
    let Some(product) = catalogue.product_by_code(form.code.trim()) else {
        return Ok(Err(page.t("cart.not_on_sale").into_owned()));
    };
    if let Some(key) = refusal(product, user.is_some(), user.is_some_and(|u| u.is_operator)) {
        return Ok(Err(page.t(key).into_owned()));
    }
    if let Some(u) = user
        && already_enrolled(
            &mut *state.db.acquire().await?,
            u,
            &product.handler,
            &product.handler_params,
        )
        .await?
    {
        return Ok(Err(page.t("checkout.already_enrolled").into_owned()));
    }
    let limit = quantity_limit(product);
    let mut cart = load(session).await?;
    let added = parse_quantity(&form.quantity).and_then(|q| cart.add(&product.code, q, limit));
    if let Err(e) = added {
        return Ok(Err(page.tf(e.message_key(), &[("max", &limit.to_string())])));
    }
    save(session, &cart).await?;
    flash(
        session,
        page.tf("cart.added", &[("product", &product.name)]),
    )
    .await?;
    Ok(Ok(()))
}

pub async fn update(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Form(form): Form<ItemForm>,
) -> AppResult<Response> {
    let catalogue = state.catalogue.get(&state.db).await?;
    let mut cart = load(&session).await?;
    let limit = catalogue
        .product_by_code(&form.code)
        .map_or(0, quantity_limit);
    let result = parse_quantity(&form.quantity).and_then(|q| cart.set(&form.code, q, limit));
    if let Err(e) = result {
        let message = page.tf(e.message_key(), &[("max", &limit.to_string())]);
        return render(
            &state,
            &session,
            page,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(message),
        )
        .await;
    }
    save(&session, &cart).await?;
    Ok(Redirect::to("/cart").into_response())
}

pub async fn remove(session: Session, Form(form): Form<ItemForm>) -> AppResult<Response> {
    let mut cart = load(&session).await?;
    cart.remove(&form.code);
    save(&session, &cart).await?;
    Ok(Redirect::to("/cart").into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CouponForm {
    code: String,
}

/// `POST /cart/coupon`: checks the code against the cart now (for the customer when known)
/// and keeps it with the cart; a refusal shows the cart again, unchanged, with the reason.
pub async fn apply_coupon(
    State(state): State<AppState>,
    session: Session,
    MaybeUser(user): MaybeUser,
    ClientIp(client): ClientIp,
    page: Page,
    Form(form): Form<CouponForm>,
) -> AppResult<Response> {
    if !state.login_throttle.allow_coupon_try(client) {
        let message = page.t("errors.too_many").into_owned();
        let typed = form.code.trim().chars().take(64).collect();
        return render_typed(
            &state,
            &session,
            page,
            StatusCode::TOO_MANY_REQUESTS,
            Some(message),
            typed,
        )
        .await;
    }
    let catalogue = state.catalogue.get(&state.db).await?;
    let cart = load(&session).await?;
    let mut priced = price_cart(&cart, &catalogue, page.signed_in(), page.is_operator())
        .map_err(|_| crate::error::AppError::bad_request("checkout.amount_too_large"))?;
    let customer = crate::http::checkout::current_customer(&state, &session, user.as_ref())
        .await?
        .map(|c| c.id);
    let refused = if priced.is_empty() {
        Some((
            StatusCode::UNPROCESSABLE_ENTITY,
            CouponRefusal::NotApplicable,
        ))
    } else {
        match coupons::preview(&state.db, &form.code, customer, &mut priced).await? {
            Ok(()) => None,
            Err(r @ (CouponRefusal::Exhausted | CouponRefusal::CustomerLimit)) => {
                Some((StatusCode::CONFLICT, r))
            }
            Err(r) => Some((StatusCode::UNPROCESSABLE_ENTITY, r)),
        }
    };
    if let Some((status, refusal)) = refused {
        let message = page.t(refusal.message_key()).into_owned();
        let typed = form.code.trim().chars().take(64).collect();
        return render_typed(&state, &session, page, status, Some(message), typed).await;
    }
    let code = priced.coupon.map(|c| c.code).unwrap_or_default();
    session.insert(COUPON, &code).await?;
    flash(&session, page.tf("coupon.applied", &[("code", &code)])).await?;
    Ok(Redirect::to("/cart").into_response())
}

/// `POST /cart/coupon/remove`.
pub async fn remove_coupon(session: Session) -> AppResult<Response> {
    drop_coupon(&session).await?;
    Ok(Redirect::to("/cart").into_response())
}

/// This area's routes (full paths: the security suite reads every route under src/http).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cart", get(show))
        .route("/cart/items", post(add))
        .route("/cart/update", post(update))
        .route("/cart/remove", post(remove))
        .route("/cart/coupon", post(apply_coupon))
        .route("/cart/coupon/remove", post(remove_coupon))
}
