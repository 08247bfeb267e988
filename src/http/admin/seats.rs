//! Seats for operators: search, and release an unused one.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::paging::Links;
use crate::domain::search::Search;
use crate::domain::seat::SeatState;
use crate::domain::{Cursor, Email};
use crate::error::AppResult;
use crate::http::context::{Page, flash};
use crate::http::render::html;
use crate::services::seats as seat_service;
use crate::state::AppState;
use crate::store::contains_pattern;
use crate::store::seats::{self, AdminSeatFilter, AdminSeatRow, AdminSeats};
use crate::store::{courses, customers, users};

const PER_PAGE: i64 = 100;

#[derive(Template)]
#[template(path = "admin/seats.html")]
struct SeatsPage {
    page: Page,
    seats: Vec<AdminSeatRow>,
    q: String,
    course: String,
    state: String,
    links: Links,
}

impl SeatsPage {
    fn states(&self) -> [&'static str; 4] {
        SeatState::ALL.map(SeatState::as_str)
    }

    /// The same search, from another place in the list (`before` / `after` an id).
    fn query(&self, bound: &str, id: &i64) -> String {
        serde_urlencoded::to_string([
            ("q", self.q.as_str()),
            ("course", self.course.as_str()),
            ("state", self.state.as_str()),
            (bound, &id.to_string()),
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
    before: String,
    after: String,
}

pub async fn index(
    State(state): State<AppState>,
    page: Page,
    Query(q): Query<SeatQuery>,
) -> AppResult<Response> {
    let filter = q.state.parse::<SeatState>().ok();
    let cursor = Cursor::parse(&q.before, &q.after);
    // The course box matches shortnames: a few hundred courses, read from memory's reach.
    let course_ids: Option<Vec<i64>> = match q.course.trim().to_lowercase() {
        typed if typed.is_empty() => None,
        typed => Some(
            courses::all(&state.db)
                .await?
                .into_iter()
                .filter(|c| c.shortname.to_lowercase().contains(&typed))
                .map(|c| c.id)
                .collect(),
        ),
    };
    let f = AdminSeatFilter {
        course_ids: course_ids.as_deref(),
        state: filter,
        cursor,
        limit: PER_PAGE + 1,
    };
    let rows = match Search::parse(&q.q) {
        Search::All => seats::admin_search(&state.db, &AdminSeats::All, &f).await?,
        Search::Reference(r) => {
            seats::admin_search(&state.db, &AdminSeats::Reference(r.as_str()), &f).await?
        }
        Search::BillNumber(n) => {
            seats::admin_search(&state.db, &AdminSeats::BillNumber(n), &f).await?
        }
        Search::Email(email) => by_email(&state, &email, &f).await?,
        Search::Text(text) => {
            let like = contains_pattern(&text);
            seats::admin_search(&state.db, &AdminSeats::CustomerText(&like), &f).await?
        }
    };
    let (rows, links) = cursor.page(rows, PER_PAGE as usize, |r| r.id);
    html(SeatsPage {
        page,
        seats: rows,
        q: q.q,
        course: q.course,
        state: filter.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        links,
    })
}

/// An address is a customer's or a learner's: the seats of both, each read through its own
/// index, merged in the page's order.
async fn by_email(
    state: &AppState,
    email: &Email,
    f: &AdminSeatFilter<'_>,
) -> AppResult<Vec<AdminSeatRow>> {
    let customer_ids = customers::ids_by_email(&state.db, email.as_str()).await?;
    let mut rows = if customer_ids.is_empty() {
        Vec::new()
    } else {
        seats::admin_search(&state.db, &AdminSeats::Customers(&customer_ids), f).await?
    };
    if let Some(user) = users::find_by_email(&state.db, email.as_str()).await? {
        rows.extend(seats::admin_search(&state.db, &AdminSeats::Learner(user.id), f).await?);
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.id));
    rows.dedup_by_key(|r| r.id);
    if f.cursor.ascending() {
        // A "previous" page is the rows just above the cursor: the lowest ids.
        let keep = rows.len().saturating_sub(f.limit as usize);
        rows.drain(..keep);
        rows.reverse();
    } else {
        rows.truncate(f.limit as usize);
    }
    Ok(rows)
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
