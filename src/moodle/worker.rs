//! Applies `lms_jobs` to Moodle. Several workers (in one instance and across instances)
//! claim jobs with `FOR UPDATE SKIP LOCKED` under a lease. Every step is idempotent, so a
//! job applied twice (a crash after Moodle's answer but before "done" was recorded, a lease
//! that ran out) leaves Moodle as once: the user is looked up by email before being created,
//! manual enrolment is an upsert, the group is found by idnumber (the bill reference) before
//! being created, and adding a group member twice changes nothing.

use std::time::Duration;

use tokio::sync::watch;

use super::Moodle;
use super::api;
use super::client::{CallError, Client};
use crate::domain::moodle::{Failure, username_for};
use crate::state::AppState;
use crate::store::lms_jobs::{self, Job};

/// Jobs each instance applies at once: Moodle calls are slow, the database work is tiny.
pub const CONCURRENCY: usize = 4;
const TICK: Duration = Duration::from_secs(2);

pub fn spawn(state: &AppState, shutdown: &watch::Receiver<bool>) {
    if state.moodle.is_none() {
        return;
    }
    for _ in 0..CONCURRENCY {
        tokio::spawn(run(state.clone(), shutdown.clone()));
    }
}

async fn run(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let Some(moodle) = state.moodle.clone() else {
        return;
    };
    loop {
        match run_one(&state, &moodle).await {
            Ok(true) => {
                if *shutdown.borrow() {
                    return;
                }
                continue;
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "Moodle job round failed"),
        }
        tokio::select! {
            _ = state.lms_queued.notified() => {}
            _ = tokio::time::sleep(TICK) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Claims and applies one job; `false` when none was due.
pub async fn run_one(state: &AppState, moodle: &Moodle) -> sqlx::Result<bool> {
    let Some(job) = lms_jobs::claim_next(&state.db, moodle.lease_seconds()).await? else {
        return Ok(false);
    };
    let mut run = Run {
        client: &moodle.client,
        calls: 0,
    };
    let outcome = match job.kind.as_str() {
        "enrol" => enrol(state, moodle, &mut run, &job).await,
        _ => unenrol(state, &mut run, &job).await,
    };
    match outcome {
        Ok(()) => {
            lms_jobs::mark_done(&state.db, job.id, run.calls).await?;
            tracing::info!(job = job.id, calls = run.calls, "Moodle job applied");
        }
        Err(Stop::Call(e)) if e.failure() == Failure::Transient => {
            tracing::warn!(job = job.id, error = %e, "Moodle job will be retried");
            lms_jobs::mark_retry(&state.db, job.id, run.calls, &e.to_string()).await?;
        }
        Err(Stop::Call(e)) => {
            tracing::error!(job = job.id, error = %e, "Moodle job failed; see /admin/lms");
            lms_jobs::mark_failed(&state.db, job.id, run.calls, &e.to_string()).await?;
        }
        Err(Stop::Setup(reason)) => {
            tracing::error!(job = job.id, %reason, "Moodle job cannot run; see /admin/lms");
            lms_jobs::mark_failed(&state.db, job.id, run.calls, &reason).await?;
        }
        Err(Stop::Db(e)) => return Err(e),
    }
    Ok(true)
}

enum Stop {
    Call(CallError),
    /// Something the shop's configuration must fix first (role map, course not imported).
    Setup(String),
    Db(sqlx::Error),
}

impl From<CallError> for Stop {
    fn from(e: CallError) -> Self {
        Stop::Call(e)
    }
}

impl From<sqlx::Error> for Stop {
    fn from(e: sqlx::Error) -> Self {
        Stop::Db(e)
    }
}

/// One attempt, counting its calls (recorded on the job: calls per assignment).
struct Run<'a> {
    client: &'a Client,
    calls: i32,
}

impl Run<'_> {
    fn count(&mut self) -> &Client {
        self.calls += 1;
        self.client
    }
}

fn course_of(job: &Job) -> Result<i64, Stop> {
    job.moodle_course_id.ok_or_else(|| {
        Stop::Setup(format!(
            "course {} is not a Moodle course: import the courses from Moodle (/admin/courses)",
            job.course_shortname
        ))
    })
}

/// The learner's Moodle account: remembered, else found by email, else created.
async fn moodle_user(state: &AppState, run: &mut Run<'_>, job: &Job) -> Result<i64, Stop> {
    if let Some(id) = sqlx::query_scalar!(
        "SELECT moodle_user_id FROM users WHERE id = $1",
        job.user_id
    )
    .fetch_one(&state.db)
    .await?
    {
        return Ok(id);
    }
    let id = match api::user_by_email(run.count(), &job.email).await? {
        Some(id) => id,
        None => {
            let fallback = job.email.split('@').next().unwrap_or("-").to_owned();
            let first = non_empty(&job.firstname, &fallback);
            let last = non_empty(&job.lastname, "-");
            match api::create_user(
                run.count(),
                &username_for(&job.email),
                first,
                last,
                &job.email,
            )
            .await
            {
                Ok(id) => id,
                // Created meanwhile by another job of the same person (another course):
                // Moodle refuses the second; the first one is theirs.
                Err(e @ CallError::Moodle { .. }) => api::user_by_email(run.count(), &job.email)
                    .await?
                    .ok_or(Stop::Call(e))?,
                Err(e) => return Err(e.into()),
            }
        }
    };
    sqlx::query!(
        "UPDATE users SET moodle_user_id = $2 WHERE id = $1",
        job.user_id,
        id
    )
    .execute(&state.db)
    .await?;
    Ok(id)
}

fn non_empty<'a>(value: &'a str, fallback: &'a str) -> &'a str {
    if value.trim().is_empty() {
        fallback
    } else {
        value
    }
}

/// The course group whose idnumber is the bill reference, created when missing.
async fn group(run: &mut Run<'_>, course: i64, reference: &str) -> Result<i64, Stop> {
    let find = |groups: Vec<api::Group>| {
        groups
            .into_iter()
            .find(|g| g.idnumber == reference)
            .map(|g| g.id)
    };
    if let Some(id) = find(api::course_groups(run.count(), course).await?) {
        return Ok(id);
    }
    match api::create_group(run.count(), course, reference, reference).await {
        Ok(id) => Ok(id),
        // Another learner of the same bill created it meanwhile: Moodle refuses a second
        // group of that name or idnumber in the course.
        Err(e @ CallError::Moodle { .. }) => {
            find(api::course_groups(run.count(), course).await?).ok_or(Stop::Call(e))
        }
        Err(e) => Err(e.into()),
    }
}

async fn enrol(
    state: &AppState,
    moodle: &Moodle,
    run: &mut Run<'_>,
    job: &Job,
) -> Result<(), Stop> {
    let course = course_of(job)?;
    let role = moodle.config.roles.id(&job.role).ok_or_else(|| {
        Stop::Setup(format!(
            "role {} has no Moodle role id: add it to MOODLE_ROLES",
            job.role
        ))
    })?;
    let user = moodle_user(state, run, job).await?;
    api::enrol(
        run.count(),
        role,
        user,
        course,
        job.start_at.map(|t| t.unix_timestamp()),
        job.end_at.map(|t| t.unix_timestamp()),
    )
    .await?;
    if let Some(reference) = job.group_name.as_deref().filter(|g| !g.is_empty()) {
        let group = group(run, course, reference).await?;
        api::add_member(run.count(), group, user).await?;
    }
    Ok(())
}

async fn unenrol(state: &AppState, run: &mut Run<'_>, job: &Job) -> Result<(), Stop> {
    let course = course_of(job)?;
    // Jobs of one person in one course apply in order, so an enrolment the shop made in Moodle
    // has recorded its Moodle user by now. None: the shop never enrolled them there, and an
    // account found by their address is not ours to unenrol.
    let Some(user) = sqlx::query_scalar!(
        "SELECT moodle_user_id FROM users WHERE id = $1",
        job.user_id
    )
    .fetch_one(&state.db)
    .await?
    else {
        return Ok(());
    };
    // The release was allowed while the learner had not opened the course; one who opened it
    // while this job waited keeps it, and an operator decides at /admin/lms.
    let started = api::enrolled_users(run.count(), course)
        .await?
        .iter()
        .any(|u| u.id == user && u.lastcourseaccess > 0);
    if started {
        return Err(Stop::Setup(
            "the learner opened the course after the seat was released: not unenrolled".into(),
        ));
    }
    // Out of the group first: Moodle drops group memberships with the enrolment anyway, and
    // this order leaves nothing behind if the unenrolment is refused.
    if let Some(reference) = job.group_name.as_deref().filter(|g| !g.is_empty()) {
        let found = api::course_groups(run.count(), course)
            .await?
            .into_iter()
            .find(|g| g.idnumber == reference);
        if let Some(g) = found {
            api::remove_member(run.count(), g.id, user).await?;
        }
    }
    api::unenrol(run.count(), user, course).await?;
    Ok(())
}
