//! Turns bare error responses (from `AppError`, the router's 404/405, rejected extractors)
//! into full pages in the visitor's language, inside the layout.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use tower_sessions::Session;

use crate::error::{AppError, ErrorPage};
use crate::http::context::{Page, SESSION_USER, SessionUser};
use crate::http::csrf;
use crate::i18n::Locale;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate {
    page: Page,
    title: String,
    message: String,
    /// The request's id, to quote when asking for help (it is on every log line).
    request_id: String,
}

pub async fn render_error_pages(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let locale = Locale::from_headers(req.headers());
    let nonce = csrf::nonce_from(req.headers(), state.config.secure_cookies);
    let path = req.uri().path().to_owned();
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let session = req.extensions().get::<Session>().cloned();
    let response = next.run(req).await;

    let status = response.status();
    let page_error = response.extensions().get::<ErrorPage>().cloned();
    let is_html = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    let is_error = status.is_client_error() || status.is_server_error();
    let key: &'static str = match page_error {
        Some(e) => e.key,
        // Router and extractor rejections come as plain text; give them a page too. A page
        // a handler rendered itself (a form with its errors) is left alone.
        None if is_error && !is_html && !is_plain_api(&path) => match status {
            StatusCode::NOT_FOUND => "errors.not_found",
            StatusCode::METHOD_NOT_ALLOWED => "errors.method",
            StatusCode::PAYLOAD_TOO_LARGE => "errors.too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE
            | StatusCode::UNPROCESSABLE_ENTITY
            | StatusCode::BAD_REQUEST => "errors.bad_form",
            _ => "errors.internal",
        },
        None => return response,
    };

    let user = match &session {
        Some(s) => s.get::<SessionUser>(SESSION_USER).await.ok().flatten(),
        None => None,
    };
    let salt = user.as_ref().map(|u| u.csrf_salt.as_str());
    let csrf = nonce
        .as_deref()
        .map(|n| csrf::token(&state.csrf_key, n, salt))
        .unwrap_or_default();
    let (shop_name, currency) = match state.catalogue.get(&state.db).await {
        Ok(c) => (c.settings.shop_name.clone(), c.settings.currency.clone()),
        Err(_) => ("lms-shop".to_owned(), String::new()),
    };
    let user_purchase_only = user.as_ref().is_some_and(|u| u.purchase.is_some());
    let page = Page {
        locale,
        user,
        csrf,
        shop_name,
        currency,
        path,
        flash: None,
        status: status.as_u16(),
        purchase_only: user_purchase_only,
        csrf_nonce: nonce.unwrap_or_default(),
        cart_items: 0,
    };
    let message = locale.t(key).into_owned();
    let title = locale
        .t(&format!("errors.title_{}", status.as_u16()))
        .into_owned();
    let title = if title.starts_with("errors.") {
        status.to_string()
    } else {
        title
    };
    let body = ErrorTemplate {
        page,
        title,
        message,
        request_id,
    }
    .render()
    .unwrap_or_else(|_| status.to_string());
    let mut page_response = (status, Html(body)).into_response();
    // Keep cookies and redirects the handler meant to send.
    for (name, value) in response.headers() {
        if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            page_response
                .headers_mut()
                .append(name.clone(), value.clone());
        }
    }
    page_response
}

/// Outside the session layer: tower-sessions answers a failed session save with a bare 500.
/// The session store is the database, so that is an outage: 503 with `Retry-After`.
pub async fn session_store_outage(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let bare = response.status() == StatusCode::INTERNAL_SERVER_ERROR
        && response.headers().get(CONTENT_TYPE).is_none();
    if !bare {
        return response;
    }
    tracing::warn!("session store unavailable");
    let mut outage = (
        StatusCode::SERVICE_UNAVAILABLE,
        Html("<!doctype html><title>503</title><p>The shop is briefly unavailable. Please try again in a few seconds.</p>"),
    )
        .into_response();
    outage.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        crate::error::RETRY_AFTER_SECONDS.into(),
    );
    outage
}

/// Machine endpoints answer in plain text.
fn is_plain_api(path: &str) -> bool {
    path == "/healthz" || csrf::EXEMPT.contains(&path)
}

pub async fn not_found() -> AppError {
    AppError::NotFound
}
