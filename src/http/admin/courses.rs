//! Courses: list, create, edit, CSV import (all or nothing, with a per-line report).

use std::collections::HashSet;

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use crate::domain::course::{CourseDraft, CourseForm, ImportLine, parse_course_csv};
use crate::domain::form::FieldErrors;
use crate::error::{AppError, AppResult};
use crate::http::context::{Page, flash};
use crate::http::render::{html, html_status, uploaded_csv};
use crate::state::AppState;
use crate::store::courses::{self, Course, CourseInput};

#[derive(Template)]
#[template(path = "admin/courses.html")]
struct CoursesPage {
    page: Page,
    courses: Vec<Course>,
    roles: Vec<String>,
    form: CourseForm,
    errors: FieldErrors,
    report: Vec<ImportLine>,
    import_error: Option<String>,
    /// `LMS=moodle`: the site courses are imported from, and each course's Moodle state.
    moodle_url: Option<String>,
    moodle: Vec<courses::MoodleState>,
}

impl CoursesPage {
    fn moodle_of(&self, id: &i64) -> Option<&courses::MoodleState> {
        self.moodle.iter().find(|m| m.id == *id)
    }
}

async fn list_page(
    state: &AppState,
    page: Page,
    form: CourseForm,
    errors: FieldErrors,
) -> AppResult<CoursesPage> {
    Ok(CoursesPage {
        page,
        courses: courses::all(&state.db).await?,
        roles: courses::role_names(&state.db).await?,
        form: CourseForm {
            visible: if form.visible.is_empty() && errors.is_empty() {
                "1".into()
            } else {
                form.visible.clone()
            },
            ..form
        },
        errors,
        report: Vec::new(),
        import_error: None,
        moodle_url: state.moodle.as_ref().map(|m| m.config.url.clone()),
        moodle: courses::moodle_states(&state.db).await?,
    })
}

#[derive(serde::Deserialize)]
pub struct SyncForm {
    /// A Moodle category id; empty: every course.
    #[serde(default)]
    category: String,
}

/// `POST /admin/courses/sync`: imports Moodle's courses (all, or one category's).
pub async fn sync(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Form(form): Form<SyncForm>,
) -> AppResult<Response> {
    let Some(moodle) = state.moodle.clone() else {
        return Err(AppError::conflict("admin.moodle_not_configured"));
    };
    let category = match form.category.trim() {
        "" => None,
        c => Some(
            c.parse::<i64>()
                .ok()
                .filter(|c| *c > 0)
                .ok_or(AppError::Refused(crate::error::Refusal {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    key: "admin.moodle_category_invalid",
                }))?,
        ),
    };
    let message = match crate::moodle::sync::import(&state, &moodle, category).await {
        Ok(done) => {
            let mut said = [
                page.tn("admin.moodle_synced", done.courses),
                page.tn("admin.moodle_synced_hidden", done.hidden),
                page.tn("admin.moodle_synced_gone", done.gone),
            ]
            .join(" ");
            if !done.not_separate.is_empty() {
                said.push(' ');
                said.push_str(&page.tf(
                    "admin.moodle_not_separate",
                    &[("courses", &done.not_separate.join(", "))],
                ));
            }
            said
        }
        Err(crate::moodle::sync::SyncError::Db(e)) => return Err(e.into()),
        Err(e @ crate::moodle::sync::SyncError::Moodle(_)) => {
            tracing::warn!(error = %e, "course import from Moodle failed");
            page.tf("admin.moodle_sync_failed", &[("error", &e.to_string())])
        }
    };
    flash(&session, message).await?;
    Ok(Redirect::to("/admin/courses").into_response())
}

pub async fn index(State(state): State<AppState>, page: Page) -> AppResult<Response> {
    html(list_page(&state, page, CourseForm::default(), FieldErrors::default()).await?)
}

fn input(d: &CourseDraft) -> CourseInput<'_> {
    CourseInput {
        shortname: &d.shortname,
        fullname: &d.fullname,
        visible: d.visible,
        startdate: d.startdate,
    }
}

/// The contract's `POST /admin/courses` (`shortname`, `fullname`) and the list page's form
/// (which also sends `form=1` so that an unticked "visible" box means hidden).
pub async fn create(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Form(form): Form<CourseFormWithFlag>,
) -> AppResult<Response> {
    let CourseFormWithFlag {
        course: form,
        form: flag,
    } = form;
    let draft = CourseDraft::parse(&form, flag.is_some());
    let mut errors = match draft {
        Ok(draft) => {
            if courses::insert(&state.db, &input(&draft)).await?.is_some() {
                state.catalogue.invalidate();
                flash(
                    &session,
                    page.tf("admin.course_created", &[("name", &draft.shortname)]),
                )
                .await?;
                return Ok(Redirect::to("/admin/courses").into_response());
            }
            let mut e = FieldErrors::default();
            e.add("shortname", "errors.shortname_taken");
            e
        }
        Err(e) => e,
    };
    if errors.is_empty() {
        errors.add("shortname", "errors.required");
    }
    html_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        list_page(&state, page, form, errors).await?,
    )
}

#[derive(serde::Deserialize)]
pub struct CourseFormWithFlag {
    #[serde(flatten)]
    course: CourseForm,
    #[serde(default)]
    form: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/course_edit.html")]
struct EditPage {
    page: Page,
    id: i64,
    form: CourseForm,
    errors: FieldErrors,
}

pub async fn edit(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let course = courses::find(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let form = CourseForm {
        shortname: course.shortname,
        fullname: course.fullname,
        visible: if course.visible {
            "1".into()
        } else {
            String::new()
        },
        startdate: course.startdate.map(|d| d.to_string()).unwrap_or_default(),
    };
    html(EditPage {
        page,
        id,
        form,
        errors: FieldErrors::default(),
    })
}

pub async fn update(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Path(id): Path<i64>,
    Form(form): Form<CourseForm>,
) -> AppResult<Response> {
    courses::find(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let errors = match CourseDraft::parse(&form, true) {
        Ok(draft) => {
            if courses::update(&state.db, id, &input(&draft)).await? {
                state.catalogue.invalidate();
                flash(
                    &session,
                    page.tf("admin.course_saved", &[("name", &draft.shortname)]),
                )
                .await?;
                return Ok(Redirect::to("/admin/courses").into_response());
            }
            let mut e = FieldErrors::default();
            e.add("shortname", "errors.shortname_taken");
            e
        }
        Err(e) => e,
    };
    html_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        EditPage {
            page,
            id,
            form,
            errors,
        },
    )
}

/// Multipart upload (`csv` file); its CSRF token travels in the query string.
pub async fn import(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    multipart: Multipart,
) -> AppResult<Response> {
    let data = uploaded_csv(multipart).await?;
    let existing: HashSet<String> = courses::all(&state.db)
        .await?
        .into_iter()
        .map(|c| c.shortname)
        .collect();
    let lines = match parse_course_csv(&data, &existing) {
        Ok(lines) if lines.is_empty() => Err("errors.csv_empty".to_owned()),
        other => other,
    };
    let lines = match lines {
        Ok(lines) => lines,
        Err(key) => {
            let mut p =
                list_page(&state, page, CourseForm::default(), FieldErrors::default()).await?;
            p.import_error = Some(p.page.t(&key).into_owned());
            return html_status(StatusCode::UNPROCESSABLE_ENTITY, p);
        }
    };
    if lines.iter().any(|l| l.result.is_err()) {
        let mut p = list_page(&state, page, CourseForm::default(), FieldErrors::default()).await?;
        p.import_error = Some(p.page.t("admin.import_nothing_done").into_owned());
        p.report = lines;
        return html_status(StatusCode::UNPROCESSABLE_ENTITY, p);
    }
    let mut tx = state.db.begin().await?;
    for line in &lines {
        if let Ok(draft) = &line.result
            && courses::insert(&mut *tx, &input(draft)).await?.is_none()
        {
            // Taken between the check and now: nothing is kept.
            return Err(AppError::conflict("errors.shortname_taken"));
        }
    }
    tx.commit().await?;
    state.catalogue.invalidate();
    flash(&session, page.tn("admin.import_done", lines.len() as u64)).await?;
    Ok(Redirect::to("/admin/courses").into_response())
}
