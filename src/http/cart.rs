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
use crate::domain::{Money, TaxRate};
use crate::error::AppResult;
use crate::http::context::{Page, flash};
use crate::http::extract::MaybeUser;
use crate::http::render::html_status;
use crate::services::ordering::already_enrolled;
use crate::services::pricing::{self, PricedCart, price_cart, quantity_limit, refusal};
use crate::state::AppState;
use crate::store::users::User;

pub const CART: &str = "cart";

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
                    untaxed: l.priced.untaxed,
                    tax_rate: l.priced.tax_rate,
                })
                .collect(),
            untaxed: priced.totals.untaxed,
            taxes: priced.totals.taxes.iter().map(|(r, m)| (*r, *m)).collect(),
            total: priced.totals.total,
            dropped: priced.dropped.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "cart/index.html")]
struct CartPage {
    page: Page,
    cart: CartView,
    error: Option<String>,
}

pub(crate) async fn view(state: &AppState, session: &Session, page: &Page) -> AppResult<CartView> {
    let catalogue = state.catalogue.get(&state.db).await?;
    let cart = load(session).await?;
    let priced = price_cart(&cart, &catalogue, page.signed_in(), page.is_operator())
        .map_err(|_| crate::error::AppError::bad_request("checkout.amount_too_large"))?;
    Ok(CartView::new(&priced))
}

async fn render(
    state: &AppState,
    session: &Session,
    page: Page,
    status: StatusCode,
    error: Option<String>,
) -> AppResult<Response> {
    let cart = view(state, session, &page).await?;
    html_status(status, CartPage { page, cart, error })
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

/// This area's routes (full paths: the security suite reads every route under src/http).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cart", get(show))
        .route("/cart/items", post(add))
        .route("/cart/update", post(update))
        .route("/cart/remove", post(remove))
}
