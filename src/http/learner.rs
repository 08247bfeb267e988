//! What learners see: their courses, and a course page (opening it counts as activity).

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
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
    /// Each course with where it opens: Moodle's course page with LMS=moodle, else ours.
    courses: Vec<(MyCourse, String)>,
}

fn course_link(state: &AppState, c: &MyCourse) -> String {
    match (&state.moodle, c.moodle_id) {
        (Some(moodle), Some(id)) => moodle.course_url(id),
        _ => format!("/course/{}", c.shortname),
    }
}

pub async fn my_courses(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    page: Page,
) -> AppResult<Response> {
    let courses = lms::courses_of(&state.db, user.id)
        .await?
        .into_iter()
        .map(|c| {
            let link = course_link(&state, &c);
            (c, link)
        })
        .collect();
    html(CoursesPage { page, courses })
}

#[derive(Template)]
#[template(path = "learner/course.html")]
struct CoursePage {
    page: Page,
    course: Course,
    groups: Vec<lms::LearnerGroup>,
}

impl CoursePage {
    /// "Acme — order B0000000123": who the learner trains with, and the order the customer
    /// quotes; a group not named after a bill keeps its name.
    fn group_label(&self, g: &lms::LearnerGroup) -> String {
        match g.owner() {
            Some(owner) => self
                .page
                .tf("learner.group_of", &[("owner", &owner), ("bill", &g.name)]),
            None => g.name.clone(),
        }
    }
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
    // With Moodle the course lives there, and so does the activity that locks a seat.
    if let Some(moodle) = &state.moodle
        && let Some(moodle_id) = courses::moodle_id(&state.db, course.id).await?
    {
        if !lms::is_enrolled(&state.db, course.id, user.id).await? {
            return Err(AppError::NotFound);
        }
        return Ok(Redirect::to(&moodle.course_url(moodle_id)).into_response());
    }
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
