//! What learners see: their courses, and a course page (opening it counts as activity).

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;

use crate::error::{AppError, AppResult};
use crate::http::context::Page;
use crate::http::extract::RequireUser;
use crate::http::render::html;
use crate::state::AppState;
use crate::store::courses::{self, Course};
use crate::store::lms::{self, MyCourse};

#[derive(Template)]
#[template(path = "learner/courses.html")]
struct CoursesPage {
    page: Page,
    courses: Vec<MyCourse>,
}

pub async fn my_courses(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    page: Page,
) -> AppResult<Response> {
    let courses = lms::courses_of(&state.db, user.id).await?;
    html(CoursesPage { page, courses })
}

#[derive(Template)]
#[template(path = "learner/course.html")]
struct CoursePage {
    page: Page,
    course: Course,
    groups: Vec<String>,
}

/// Enrolled users only (a course is not announced to others: 404). The first visit is
/// recorded: from then on the seat that brought the learner here is locked.
pub async fn course(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    page: Page,
    Path(shortname): Path<String>,
) -> AppResult<Response> {
    let course = courses::find_by_shortname(&state.db, &shortname)
        .await?
        .ok_or(AppError::NotFound)?;
    if !lms::record_access(&state.db, course.id, user.id).await? {
        return Err(AppError::NotFound);
    }
    let groups = lms::groups_of(&state.db, course.id, user.id).await?;
    html(CoursePage {
        page,
        course,
        groups,
    })
}

/// This area's routes (full paths: the security suite reads every route under src/http).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/my/courses", get(my_courses))
        .route("/course/{shortname}", get(course))
}
