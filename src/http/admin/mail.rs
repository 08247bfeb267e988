use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use crate::domain::Cursor;
use crate::domain::paging::Links;
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
    links: Links,
    smtp: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Paging {
    before: String,
    after: String,
}

/// Every outbox message in full, newest first: without SMTP this is how mail is read. Paged
/// by keyset, uncounted: a page costs the same at the millionth message.
pub async fn index(
    State(state): State<AppState>,
    page: Page,
    Query(q): Query<Paging>,
) -> AppResult<Response> {
    let cursor = Cursor::parse(&q.before, &q.after);
    let rows = outbox::page(&state.db, cursor, PER_PAGE + 1).await?;
    let (messages, links) = cursor.page(rows, PER_PAGE as usize, |m| m.id);
    html(MailPage {
        page,
        messages,
        links,
        smtp: state.config.smtp_url.is_some(),
    })
}
