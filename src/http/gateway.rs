//! The test payment gateway: a page standing for an external provider, and the shop's
//! endpoint for its signed notifications.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use tower_sessions::Session;

use crate::domain::paymode::Paymode;
use crate::domain::{BillState, Money};
use crate::error::{AppError, AppResult};
use crate::http::context::Page;
use crate::http::placed;
use crate::http::render::html;
use crate::security::signature::HEADER;
use crate::services::payment::{self, NotifyError, Received};
use crate::state::AppState;
use crate::store::bills::{self, Bill};

/// The payment method this gateway stands for.
const GATEWAY: Paymode = Paymode::Test;

#[derive(Template)]
#[template(path = "checkout/gateway.html")]
struct GatewayPage {
    page: Page,
    bill: Bill,
    total: Money,
}

/// The bill this browser may pay at the test gateway: the gateway is enabled, the bill was
/// placed for it, and by this browser. To anyone else it does not exist.
async fn payable(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    public_id: &str,
) -> AppResult<Bill> {
    let catalogue = state.catalogue.get(&state.db).await?;
    let gateway_on = catalogue.settings.paymodes.contains(&GATEWAY);
    let placed_here = placed::placed_by(state, session, headers, public_id).await?;
    if !gateway_on || !placed_here {
        return Err(AppError::NotFound);
    }
    bills::find_by_public_id(&state.db, public_id)
        .await?
        .filter(|b| b.paymode == GATEWAY)
        .ok_or(AppError::NotFound)
}

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    page: Page,
    Path(public_id): Path<String>,
) -> AppResult<Response> {
    let bill = payable(&state, &session, &headers, &public_id).await?;
    if bill.state != BillState::Placed {
        return Ok(Redirect::to(&format!("/checkout/done/{public_id}")).into_response());
    }
    let total = Money::from_minor(bill.total);
    html(GatewayPage { page, bill, total })
}

/// The provider's side of a click on Pay or Decline: it signs a notification and delivers it
/// to the shop (in-process here, an HTTP call for a real provider; both reach
/// `payment::receive`, which applies the settlement rule), then sends the buyer back.
async fn answer(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    public_id: &str,
    paid: bool,
) -> AppResult<Response> {
    let bill = payable(state, session, headers, public_id).await?;
    let (signature, body) = payment::notification_for(&state.gateway_key, &bill, paid);
    match payment::receive(state, GATEWAY, Some(&signature), body.as_bytes()).await {
        Ok(_) => {}
        Err(NotifyError::Db(e)) => return Err(AppError::Db(e)),
        Err(NotifyError::MethodDisabled | NotifyError::UnknownBill) => {
            return Err(AppError::NotFound);
        }
        Err(NotifyError::Refused(_)) => return Err(AppError::conflict("errors.payment_refused")),
        Err(e) => return Err(AppError::Internal(anyhow::anyhow!(e))),
    }
    Ok(Redirect::to(&format!("/checkout/done/{public_id}")).into_response())
}

pub async fn pay(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Path(public_id): Path<String>,
) -> AppResult<Response> {
    answer(&state, &session, &headers, &public_id, true).await
}

pub async fn decline(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Path(public_id): Path<String>,
) -> AppResult<Response> {
    answer(&state, &session, &headers, &public_id, false).await
}

/// `POST /payment/test/notify`: server to server, authenticated by its HMAC signature
/// (hence exempt from CSRF). Plain-text answers, as providers expect.
pub async fn notify(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let signature = headers.get(HEADER).and_then(|v| v.to_str().ok());
    match payment::receive(&state, GATEWAY, signature, &body).await {
        Ok(Received::Duplicate) => (StatusCode::OK, "duplicate").into_response(),
        Ok(Received::Ignored) => (StatusCode::OK, "ignored").into_response(),
        Ok(_) => (StatusCode::OK, "ok").into_response(),
        Err(NotifyError::Signature(e)) => {
            tracing::warn!(error = %e, "refused a payment notification");
            (StatusCode::UNAUTHORIZED, "bad signature").into_response()
        }
        Err(NotifyError::BadBody | NotifyError::AmountMismatch) => {
            (StatusCode::BAD_REQUEST, "bad notification").into_response()
        }
        Err(e @ (NotifyError::Refused(_) | NotifyError::MethodDisabled)) => {
            tracing::warn!(error = %e, "refused a payment notification");
            (StatusCode::CONFLICT, "refused").into_response()
        }
        Err(NotifyError::UnknownBill) => (StatusCode::NOT_FOUND, "unknown bill").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "payment notification failed");
            (StatusCode::SERVICE_UNAVAILABLE, "retry later").into_response()
        }
    }
}

/// This area's routes (full paths: the security suite reads every route under src/http).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/payment/test/notify", post(notify))
        .route("/payment/test/{bill}", get(show))
        .route("/payment/test/{bill}/pay", post(pay))
        .route("/payment/test/{bill}/decline", post(decline))
}
