//! Routes per area, kept thin: parse the request, call the store/handlers, render.

pub mod admin;
pub mod auth;
pub mod cart;
pub mod checkout;
pub mod context;
pub mod csrf;
pub mod customer;
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

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::response::Redirect;
use axum::routing::{get, post};
use time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

use crate::state::AppState;
use crate::store::sessions::Sessions;

/// Largest request body accepted (CSV uploads included).
const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// The application's routes without middleware: the security suite enumerates them.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/shop") }))
        .route("/shop", get(shop::index))
        .route("/cart", get(cart::show))
        .route("/cart/items", post(cart::add))
        .route("/cart/update", post(cart::update))
        .route("/cart/remove", post(cart::remove))
        .route(
            "/checkout/customer",
            get(checkout::customer_form).post(checkout::save_customer),
        )
        .route(
            "/checkout/order",
            get(checkout::order_form).post(checkout::place_order),
        )
        .route("/checkout/done/{bill}", get(checkout::done))
        .route("/payment/test/notify", post(gateway::notify))
        .route("/payment/test/{bill}", get(gateway::show))
        .route("/payment/test/{bill}/pay", post(gateway::pay))
        .route("/payment/test/{bill}/decline", post(gateway::decline))
        .route("/customer", get(customer::index))
        .route(
            "/customer/details",
            get(customer::details_form).post(customer::save_details),
        )
        .route("/customer/bills/{bill}", get(customer::bill))
        .route(
            "/customer/products/bulk",
            get(customer::bulk_form).post(customer::bulk_upload),
        )
        .route(
            "/customer/products/bulk/template.csv",
            get(customer::bulk_template),
        )
        .route("/customer/products/{reference}", get(customer::product))
        .route(
            "/customer/products/{reference}/assign",
            post(customer::assign),
        )
        .route(
            "/customer/products/{reference}/unassign",
            post(customer::unassign),
        )
        .route("/my/courses", get(learner::my_courses))
        .route("/course/{shortname}", get(learner::course))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route(
            "/password/forgot",
            get(auth::forgot_form).post(auth::forgot),
        )
        .route(
            "/password/set/{token}",
            get(auth::set_password_form).post(auth::set_password),
        )
        .route("/lang/{code}", get(lang::switch))
        .route("/healthz", get(health::healthz))
        // The cheapest answer the stack can give: the benchmark's ceiling reference.
        .route("/ping", get(|| async { "pong" }))
        .route("/metrics", get(metrics::scrape))
        .route("/admin", get(admin::index))
        .route("/admin/mail", get(admin::mail::index))
        .route("/admin/seats", get(admin::seats::index))
        .route("/admin/seats/{id}/unassign", post(admin::seats::unassign))
        .route("/admin/bills", get(admin::bills::index))
        .route("/admin/bills/{id}", get(admin::bills::show))
        .route("/admin/bills/{id}/paid", post(admin::bills::mark_paid))
        .route("/admin/bills/{id}/cancel", post(admin::bills::cancel))
        .route("/admin/bills/{id}/retry", post(admin::bills::retry))
        .route("/admin/customers", get(admin::bills::customers))
        .route("/admin/customers/{id}", get(admin::bills::customer))
        .route(
            "/admin/courses",
            get(admin::courses::index).post(admin::courses::create),
        )
        .route("/admin/courses/import", post(admin::courses::import))
        .route(
            "/admin/courses/{id}",
            get(admin::courses::edit).post(admin::courses::update),
        )
        .route(
            "/admin/categories",
            get(admin::settings::categories).post(admin::settings::create_category),
        )
        .route(
            "/admin/categories/{id}",
            post(admin::settings::update_category),
        )
        .route(
            "/admin/taxes",
            get(admin::settings::taxes).post(admin::settings::create_tax),
        )
        .route("/admin/taxes/{id}", post(admin::settings::update_tax))
        .route(
            "/admin/settings",
            get(admin::settings::settings).post(admin::settings::save_settings),
        )
        .route(
            "/admin/products",
            get(admin::products::index).post(admin::products::create),
        )
        .route("/admin/products/new", get(admin::products::new))
        .route(
            "/admin/products/{id}",
            get(admin::products::edit).post(admin::products::update),
        )
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
    let mut app = routes()
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
    app.layer(axum::middleware::from_fn(metrics::track))
        .layer(TraceLayer::new_for_http())
}

/// `static/` beside the binary's crate, or `SHOP_STATIC_DIR`.
fn static_dir() -> std::path::PathBuf {
    std::env::var("SHOP_STATIC_DIR")
        .map(Into::into)
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/static").into())
}
