//! `/admin/lms`: the Moodle job queue as operators need it: jobs that stopped on a permanent
//! error (with Moodle's own message) with Retry and Discard buttons, and those still waiting.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use crate::error::{AppError, AppResult};
use crate::http::context::{Page, flash};
use crate::http::extract::RequireOperator;
use crate::http::render::html;
use crate::state::AppState;
use crate::store::lms_jobs::{self, Counts, Listed};

/// More than an operator reads at once; the counts give the rest.
const SHOWN: i64 = 200;

#[derive(Template)]
#[template(path = "admin/lms.html")]
struct LmsPage {
    page: Page,
    moodle_url: Option<String>,
    counts: Counts,
    jobs: Vec<Listed>,
}

pub async fn index(State(state): State<AppState>, page: Page) -> AppResult<Response> {
    html(LmsPage {
        page,
        moodle_url: state.moodle.as_ref().map(|m| m.config.url.clone()),
        counts: lms_jobs::counts(&state.db).await?,
        jobs: lms_jobs::unfinished(&state.db, SHOWN).await?,
    })
}

/// Puts a failed job back in the queue (after the operator fixed its cause in Moodle).
pub async fn retry(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    if !lms_jobs::retry(&state.db, id).await? {
        return Err(AppError::conflict("admin.lms_not_failed"));
    }
    state.lms_queued.notify_one();
    flash(&session, page.t("admin.lms_retried")).await?;
    Ok(Redirect::to("/admin/lms").into_response())
}

/// Gives up on a failed job, so the jobs of its learner and course behind it can run.
pub async fn discard(
    State(state): State<AppState>,
    RequireOperator(operator): RequireOperator,
    session: Session,
    page: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    if !lms_jobs::discard(&state.db, id, operator.email.as_str()).await? {
        return Err(AppError::conflict("admin.lms_not_failed"));
    }
    tracing::info!(job = id, operator = operator.id, "Moodle job discarded");
    state.lms_queued.notify_one();
    flash(&session, page.t("admin.lms_discarded")).await?;
    Ok(Redirect::to("/admin/lms").into_response())
}
