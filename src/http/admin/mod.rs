//! The operators' back-office. Its router puts every route behind `RequireOperator`;
//! handlers that record who acted take it again (resolved once per request, no second query).

pub mod bills;
pub mod coupons;
pub mod courses;
pub mod lms;
pub mod mail;
pub mod products;
pub mod refunds;
pub mod seats;
pub mod settings;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::middleware::from_extractor_with_state;
use axum::response::Response;
use axum::routing::{get, post};

use crate::error::AppResult;
use crate::http::context::Page;
use crate::http::extract::RequireOperator;
use crate::http::render::html;
use crate::state::AppState;

/// Tables this large are counted from statistics (a never-analysed table says -1: exact).
const ESTIMATE_FROM: i64 = 20_000;

pub struct Counts {
    pub products: i64,
    pub courses: i64,
    pub customers: i64,
    pub bills: i64,
    pub mails: i64,
    /// Some of the figures are the planner's estimates (large tables).
    pub estimated: bool,
}

#[derive(Template)]
#[template(path = "admin/index.html")]
struct Dashboard {
    page: Page,
    counts: Counts,
}

pub async fn index(State(state): State<AppState>, page: Page) -> AppResult<Response> {
    // Exact counts of the tables that grow with the years read them whole (102 ms at 300 000
    // bills and 1 000 000 mails); past ESTIMATE_FROM rows the planner's statistics
    // (`pg_class.reltuples`, kept by autovacuum) say how many there are, closely enough.
    let counts = sqlx::query_as!(
        Counts,
        r#"WITH est AS (
               SELECT max(reltuples) FILTER (WHERE oid = 'customers'::regclass)::BIGINT AS customers,
                      max(reltuples) FILTER (WHERE oid = 'bills'::regclass)::BIGINT AS bills,
                      max(reltuples) FILTER (WHERE oid = 'outbox'::regclass)::BIGINT AS mails
               FROM pg_class WHERE oid IN ('customers'::regclass, 'bills'::regclass, 'outbox'::regclass))
           SELECT (SELECT count(*) FROM products) AS "products!",
                  (SELECT count(*) FROM courses) AS "courses!",
                  CASE WHEN est.customers >= $1 THEN est.customers
                       ELSE (SELECT count(*) FROM customers) END AS "customers!",
                  CASE WHEN est.bills >= $1 THEN est.bills
                       ELSE (SELECT count(*) FROM bills) END AS "bills!",
                  CASE WHEN est.mails >= $1 THEN est.mails
                       ELSE (SELECT count(*) FROM outbox) END AS "mails!",
                  greatest(est.customers, est.bills, est.mails) >= $1 AS "estimated!"
           FROM est"#,
        ESTIMATE_FROM
    )
    .fetch_one(&state.db)
    .await?;
    html(Dashboard { page, counts })
}

/// This area's routes (full paths: the security suite reads every route under src/http).
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/admin", get(index))
        .route("/admin/mail", get(mail::index))
        .route("/admin/seats", get(seats::index))
        .route("/admin/seats/{id}/unassign", post(seats::unassign))
        .route("/admin/bills", get(bills::index))
        .route("/admin/bills/{id}", get(bills::show))
        .route("/admin/bills/{id}/document.pdf", get(bills::document_pdf))
        .route("/admin/bills/{id}/paid", post(bills::mark_paid))
        .route("/admin/bills/{id}/cancel", post(bills::cancel))
        .route("/admin/bills/{id}/retry", post(bills::retry))
        .route(
            "/admin/bills/{id}/refund",
            get(refunds::review).post(refunds::confirm),
        )
        .route(
            "/admin/bills/{id}/credit-notes/{refund}",
            get(refunds::credit_note),
        )
        .route(
            "/admin/bills/{id}/credit-notes/{refund}/document.pdf",
            get(refunds::credit_note_pdf),
        )
        .route("/admin/customers", get(bills::customers))
        .route("/admin/customers/{id}", get(bills::customer))
        .route("/admin/courses", get(courses::index).post(courses::create))
        .route("/admin/courses/import", post(courses::import))
        .route("/admin/courses/sync", post(courses::sync))
        .route("/admin/lms", get(lms::index))
        .route("/admin/lms/jobs/{id}/retry", post(lms::retry))
        .route("/admin/lms/jobs/{id}/discard", post(lms::discard))
        .route(
            "/admin/courses/{id}",
            get(courses::edit).post(courses::update),
        )
        .route(
            "/admin/categories",
            get(settings::categories).post(settings::create_category),
        )
        .route("/admin/categories/{id}", post(settings::update_category))
        .route(
            "/admin/taxes",
            get(settings::taxes).post(settings::create_tax),
        )
        .route("/admin/taxes/{id}", post(settings::update_tax))
        .route(
            "/admin/settings",
            get(settings::settings).post(settings::save_settings),
        )
        .route(
            "/admin/products",
            get(products::index).post(products::create),
        )
        .route("/admin/products/new", get(products::new))
        .route("/admin/coupons", get(coupons::index).post(coupons::create))
        .route("/admin/coupons/new", get(coupons::new))
        .route(
            "/admin/coupons/{id}",
            get(coupons::edit).post(coupons::update),
        )
        .route("/admin/coupons/{id}/disable", post(coupons::disable))
        .route("/admin/coupons/{id}/enable", post(coupons::enable))
        .route(
            "/admin/products/{id}",
            get(products::edit).post(products::update),
        )
        // Every /admin route, one added later included, is behind the operator guard:
        // anonymous visitors go to the login page, other users get a 404.
        .route_layer(from_extractor_with_state::<RequireOperator, AppState>(
            state.clone(),
        ))
}
