//! The LMS seam: every enrolment, group membership and unenrolment the shop makes goes
//! through here. The shop's own tables are always written (its record of what each person
//! was given); with `LMS=moodle` the same change is also queued, in the caller's
//! transaction, as a job the Moodle worker applies once the transaction has committed.

use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::store::lms;
use crate::store::lms_jobs::{self, Kind, NewJob};

/// Which LMS the change is for (from `AppState::moodle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Builtin,
    Moodle,
}

impl Backend {
    pub fn of(state: &crate::state::AppState) -> Backend {
        if state.moodle.is_some() {
            Backend::Moodle
        } else {
            Backend::Builtin
        }
    }
}

pub struct Enrolment<'a> {
    pub course_id: i64,
    pub user_id: i64,
    pub role: &'a str,
    pub start_at: Option<OffsetDateTime>,
    pub end_at: Option<OffsetDateTime>,
    /// The course group (the bill reference) to put the user in.
    pub group: Option<&'a str>,
    /// The seat this sets up: shown "being set up in Moodle" until the job is done.
    pub seat_id: Option<i64>,
}

/// Enrols (and groups) the user; `false` if the shop already had them enrolled in the course
/// (the group membership is still ensured). Moodle gets a job when anything changed.
pub async fn enrol(
    tx: &mut PgConnection,
    backend: Backend,
    e: &Enrolment<'_>,
) -> sqlx::Result<bool> {
    let added = lms::enrol(
        &mut *tx,
        e.course_id,
        e.user_id,
        e.role,
        e.start_at,
        e.end_at,
    )
    .await?;
    let mut joined = false;
    if let Some(name) = e.group {
        let group = lms::ensure_group(&mut *tx, e.course_id, name).await?;
        joined = lms::add_to_group(&mut *tx, group, e.user_id).await?;
    }
    // Nothing new (the customer's user, supervising a second seat of the same bill in the
    // same course): an earlier job already carries this to Moodle.
    if backend == Backend::Moodle && (added || joined) {
        lms_jobs::enqueue(
            &mut *tx,
            &NewJob {
                kind: Kind::Enrol,
                user_id: e.user_id,
                course_id: e.course_id,
                role: e.role,
                start_at: e.start_at,
                end_at: e.end_at,
                group_name: e.group,
                seat_id: e.seat_id,
            },
        )
        .await?;
    }
    Ok(added)
}

/// Removes an enrolment the learner never opened, and their membership of `group`; `false`
/// (nothing changed) if they opened the course.
pub async fn unenrol_unused(
    tx: &mut PgConnection,
    backend: Backend,
    course_id: i64,
    user_id: i64,
    group: &str,
) -> sqlx::Result<bool> {
    if !lms::unenrol_unused(&mut *tx, course_id, user_id).await? {
        return Ok(false);
    }
    lms::remove_from_group(&mut *tx, course_id, group, user_id).await?;
    if backend == Backend::Moodle {
        lms_jobs::enqueue(
            &mut *tx,
            &NewJob {
                kind: Kind::Unenrol,
                user_id,
                course_id,
                role: "student",
                start_at: None,
                end_at: None,
                group_name: Some(group),
                seat_id: None,
            },
        )
        .await?;
    }
    Ok(true)
}
