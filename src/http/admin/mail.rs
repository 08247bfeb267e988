use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use crate::domain::PageNo;
use crate::error::AppResult;
use crate::http::context::Page;
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
    page: PageNo,
}

/// Every outbox message in full, newest first: without SMTP this is how mail is read.
pub async fn index(
    State(state): State<AppState>,
    page: Page,
    Query(q): Query<Paging>,
) -> AppResult<Response> {
    let total = outbox::count(&state.db).await?;
    let messages = outbox::latest(&state.db, PER_PAGE, q.page.offset(PER_PAGE)).await?;
    html(MailPage {
        page,
        messages,
        has_next: q.page.offset(PER_PAGE).saturating_add(PER_PAGE) < total,
        page_no: q.page.get(),
        smtp: state.config.smtp_url.is_some(),
    })
}
