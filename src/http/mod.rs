//! Routes per area, kept thin: parse the request, call the store/handlers, render.

pub mod admin;
pub mod auth;
pub mod cart;
pub mod checkout;
pub mod context;
pub mod csrf;
pub mod customer;
pub mod documents;
pub mod email_change;
pub mod errors;
pub mod extract;
pub mod gateway;
pub mod headers;
pub mod health;
pub mod input_guard;
pub mod lang;
pub mod learner;
pub mod metrics;
pub mod placed;
pub mod render;
pub mod shop;
pub mod signin;
pub mod stripe;

use axum::Router;
use axum::middleware::from_fn_with_state;
use time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

use crate::state::AppState;
use crate::store::sessions::Sessions;

/// Largest request body accepted (CSV uploads included).
const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// The application's routes without middleware, one router per area.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(shop::router())
        .merge(cart::router())
        .merge(checkout::router())
        .merge(gateway::router())
        .merge(stripe::router())
        .merge(customer::router())
        .merge(email_change::router())
        .merge(learner::router())
        .merge(auth::router())
        .merge(lang::router())
        .merge(health::router())
        .merge(metrics::router())
        .merge(admin::router(state))
}

pub fn router(state: AppState, sessions: Sessions) -> Router {
    // Over HTTPS the `__Host-` prefix pins the cookie to this host and path `/`.
    let session_cookie = if state.config.secure_cookies {
        "__Host-session"
    } else {
        "session"
    };
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name(session_cookie)
        .with_secure(state.config.secure_cookies)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(Duration::days(7)));

    let hsts = state.config.hsts;
    let mut app = routes(&state)
        .fallback(errors::not_found)
        .nest_service(
            "/static",
            tower::ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::overriding(
                    axum::http::header::CACHE_CONTROL,
                    axum::http::HeaderValue::from_static("public, max-age=3600"),
                ))
                .service(ServeDir::new(static_dir())),
        )
        // Innermost first: CSRF sees the session; error pages see everything below them.
        .layer(axum::middleware::from_fn(input_guard::guard))
        .layer(from_fn_with_state(state.clone(), csrf::protect))
        .layer(from_fn_with_state(
            state.clone(),
            errors::render_error_pages,
        ))
        .layer(session_layer)
        .layer(axum::middleware::from_fn(errors::session_store_outage))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(CatchPanicLayer::new())
        .with_state(state);
    for layer in headers::layers(hsts) {
        app = app.layer(layer);
    }
    // Outermost: every request gets an id (or keeps the proxy's), every log line of it
    // carries it through the span, the response and its error page show it.
    app.layer(axum::middleware::from_fn(metrics::track))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// The span of one request: method, path (never the query: it may hold a token) and id.
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
}

/// `static/` beside the binary's crate, or `SHOP_STATIC_DIR`.
fn static_dir() -> std::path::PathBuf {
    std::env::var("SHOP_STATIC_DIR")
        .map(Into::into)
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/static").into())
}
