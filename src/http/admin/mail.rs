use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use crate::error::AppResult;
use crate::http::context::Page;
use crate::http::extract::RequireOperator;
use crate::http::render::html;
use crate::state::AppState;
use crate::store::outbox::{self, Message};

const PER_PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "admin/mail.html")]
struct MailPage {
    page: Page,
    messages: Vec<Message>,
    page_no: i64,
    has_next: bool,
    smtp: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Paging {
    page: Option<i64>,
}

/// Every outbox message in full, newest first: without SMTP this is how mail is read.
pub async fn index(
    State(state): State<AppState>,
    RequireOperator(_): RequireOperator,
    page: Page,
    Query(q): Query<Paging>,
) -> AppResult<Response> {
    let page_no = q.page.unwrap_or(1).max(1);
    let total = outbox::count(&state.db).await?;
    let messages = outbox::latest(&state.db, PER_PAGE, (page_no - 1) * PER_PAGE).await?;
    html(MailPage {
        page,
        messages,
        has_next: page_no * PER_PAGE < total,
        page_no,
        smtp: state.config.smtp_url.is_some(),
    })
}
