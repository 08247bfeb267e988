//! The operators' back-office. Every handler takes `RequireOperator`.

pub mod bills;
pub mod courses;
pub mod mail;
pub mod products;
pub mod seats;
pub mod settings;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::error::AppResult;
use crate::http::context::Page;
use crate::http::extract::RequireOperator;
use crate::http::render::html;
use crate::state::AppState;

pub struct Counts {
    pub products: i64,
    pub courses: i64,
    pub customers: i64,
    pub bills: i64,
    pub mails: i64,
}

#[derive(Template)]
#[template(path = "admin/index.html")]
struct Dashboard {
    page: Page,
    counts: Counts,
}

pub async fn index(
    State(state): State<AppState>,
    RequireOperator(_): RequireOperator,
    page: Page,
) -> AppResult<Response> {
    let counts = sqlx::query_as!(
        Counts,
        r#"SELECT (SELECT count(*) FROM products) AS "products!",
                  (SELECT count(*) FROM courses) AS "courses!",
                  (SELECT count(*) FROM customers) AS "customers!",
                  (SELECT count(*) FROM bills) AS "bills!",
                  (SELECT count(*) FROM outbox) AS "mails!""#
    )
    .fetch_one(&state.db)
    .await?;
    html(Dashboard { page, counts })
}
