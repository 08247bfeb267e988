//! Seats for operators: search, and release an unused one.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::PageNo;
use crate::domain::seat::SeatState;
use crate::error::AppResult;
use crate::http::context::{Page, flash};
use crate::http::render::html;
use crate::services::seats as seat_service;
use crate::state::AppState;
use crate::store::seats::{self, AdminSeatRow};

const PER_PAGE: i64 = 100;

#[derive(Template)]
#[template(path = "admin/seats.html")]
struct SeatsPage {
    page: Page,
    seats: Vec<AdminSeatRow>,
    q: String,
    course: String,
    state: String,
    page_no: i64,
    has_next: bool,
}

impl SeatsPage {
    fn states(&self) -> [&'static str; 4] {
        SeatState::ALL.map(SeatState::as_str)
    }

    fn query(&self, page_no: i64) -> String {
        serde_urlencoded::to_string([
            ("q", self.q.as_str()),
            ("course", self.course.as_str()),
            ("state", self.state.as_str()),
            ("page", &page_no.to_string()),
        ])
        .unwrap_or_default()
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SeatQuery {
    q: String,
    course: String,
    state: String,
    page: PageNo,
}

pub async fn index(
    State(state): State<AppState>,
    page: Page,
    Query(q): Query<SeatQuery>,
) -> AppResult<Response> {
    let filter = q.state.parse::<SeatState>().ok();
    let mut rows = seats::admin_search(
        &state.db,
        &q.q,
        &q.course,
        filter,
        PER_PAGE + 1,
        q.page.offset(PER_PAGE),
    )
    .await?;
    let has_next = rows.len() as i64 > PER_PAGE;
    rows.truncate(PER_PAGE as usize);
    html(SeatsPage {
        page,
        seats: rows,
        q: q.q,
        course: q.course,
        state: filter.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        page_no: q.page.get(),
        has_next,
    })
}

pub async fn unassign(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    seat_service::unassign(&state, None, id).await?;
    flash(&session, page.t("seat.released")).await?;
    Ok(Redirect::to("/admin/seats").into_response())
}
