//! Paying by card with Stripe Checkout: the page that sends the buyer to Stripe (and where
//! Stripe's "back" link lands), and the endpoint of Stripe's signed webhook.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::paymode::Paymode;
use crate::domain::{BillState, Money};
use crate::error::{AppError, AppResult};
use crate::http::context::Page;
use crate::http::placed;
use crate::http::render::html_status;
use crate::i18n::{Locale, fill};
use crate::services::stripe::{self as service, StartError, WebhookError};
use crate::state::AppState;
use crate::store::bills::{self, Bill};
use crate::store::customers;
use crate::stripe::signature::HEADER;

#[derive(Template)]
#[template(path = "checkout/stripe.html")]
struct StripePage {
    page: Page,
    bill: Bill,
    total: Money,
    /// Back from Stripe without paying.
    cancelled: bool,
    /// The bill's Checkout Session page, or why there is none (a message key).
    checkout: Result<String, &'static str>,
}

/// The Stripe bill this browser placed, while Stripe is configured. To anyone else (or for
/// another method's bill) it does not exist.
async fn payable(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    public_id: &str,
) -> AppResult<Bill> {
    let placed_here = placed::placed_by(state, session, headers, public_id).await?;
    if state.stripe.is_none() || !placed_here {
        return Err(AppError::NotFound);
    }
    bills::find_by_public_id(&state.db, public_id)
        .await?
        .filter(|b| b.paymode == Paymode::Stripe)
        .ok_or(AppError::NotFound)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Back {
    cancelled: String,
}

/// `GET /payment/stripe/{bill}`: the bill's Checkout Session (created on the first visit,
/// the same one after), behind a link. A link and not a form: the pages' CSP allows forms
/// to post to the shop only (`form-action 'self'`), which also forbids a form's redirect to
/// Stripe. Creating the session is safe on a GET: only the browser that placed the bill gets
/// here, and Stripe's idempotency makes it one session per bill.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    page: Page,
    Path(public_id): Path<String>,
    Query(back): Query<Back>,
) -> AppResult<Response> {
    let bill = payable(&state, &session, &headers, &public_id).await?;
    if bill.state != BillState::Placed {
        return Ok(Redirect::to(&format!("/checkout/done/{public_id}")).into_response());
    }
    let email = customers::find(&state.db, bill.customer_id)
        .await?
        .map(|c| c.email);
    // Everything sent to Stripe comes from the bill, not from this visit (its language may
    // differ): a retry under the bill's idempotency key must send the same parameters, or
    // Stripe refuses it.
    let locale = Locale::parse(&bill.locale).unwrap_or_default();
    let description = fill(&locale.t("stripe.line"), &[("bill", &bill.reference())]);
    let (status, checkout) =
        match service::checkout_url(&state, &bill, email.as_deref(), &description, locale.code())
            .await
        {
            Ok(url) => (StatusCode::OK, Ok(url)),
            Err(StartError::Expired) => (StatusCode::CONFLICT, Err("stripe.expired")),
            Err(StartError::NotConfigured) => return Err(AppError::NotFound),
            Err(StartError::Db(e)) => return Err(AppError::Db(e)),
            Err(StartError::Stripe(e)) => {
                tracing::error!(error = %e, bill = %bill.public_id, "Stripe checkout session");
                (StatusCode::BAD_GATEWAY, Err("stripe.unavailable"))
            }
        };
    let total = Money::from_minor(bill.total);
    html_status(
        status,
        StripePage {
            page,
            bill,
            total,
            cancelled: !back.cancelled.is_empty(),
            checkout,
        },
    )
}

/// `POST /payment/stripe/webhook`: server to server, authenticated by `Stripe-Signature`
/// (hence exempt from CSRF). Stripe retries any answer but a 2xx for days: a bad signature
/// or body is a 400 (never valid later), an outage a 5xx (retried).
pub async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let signature = headers.get(HEADER).and_then(|v| v.to_str().ok());
    match service::receive(&state, signature, &body).await {
        Ok(outcome) => (StatusCode::OK, outcome.as_str()).into_response(),
        Err(WebhookError::Signature(e)) => {
            tracing::warn!(error = %e, "refused a Stripe webhook");
            (StatusCode::BAD_REQUEST, "bad signature").into_response()
        }
        Err(WebhookError::BadBody) => (StatusCode::BAD_REQUEST, "bad event").into_response(),
        Err(WebhookError::NotConfigured) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "Stripe webhook failed");
            (StatusCode::SERVICE_UNAVAILABLE, "retry later").into_response()
        }
    }
}

/// This area's routes (full paths: the security suite reads every route under src/http).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/payment/stripe/webhook", post(webhook))
        .route("/payment/stripe/{bill}", get(show))
}
