//! Seat locks from Moodle: a learner who opened the course (`lastcourseaccess` > 0 in
//! `core_enrol_get_enrolled_users`) gets the enrolment's first access recorded, which locks
//! the seat through the same trigger as the built-in /course page.

use time::OffsetDateTime;
use tokio::sync::watch;

use super::Moodle;
use super::api;
use super::client::CallError;
use crate::state::AppState;

/// Refreshes every course that has an assigned seat not locked yet, every
/// `MOODLE_ACTIVITY_SECONDS`. Several instances may run it: the update is idempotent.
pub async fn run(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let Some(moodle) = state.moodle.clone() else {
        return;
    };
    loop {
        if let Err(e) = refresh_all(&state, &moodle).await {
            tracing::warn!(error = %e, "refreshing course activity from Moodle failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(moodle.config.activity_interval) => {}
            _ = shutdown.changed() => return,
        }
    }
}

pub async fn refresh_all(state: &AppState, moodle: &Moodle) -> anyhow::Result<()> {
    // One probe of a partial index per course (migration 0012), not a read of every seat.
    let courses = sqlx::query!(
        r#"SELECT c.id, c.moodle_id AS "moodle_id!" FROM courses c
           WHERE c.moodle_id IS NOT NULL AND NOT c.moodle_gone
             AND EXISTS (SELECT 1 FROM product_instances pi
                         WHERE pi.assigned_course_id = c.id
                           AND pi.assigned_user_id IS NOT NULL AND pi.locked_at IS NULL)"#
    )
    .fetch_all(&state.db)
    .await?;
    // A course Moodle refuses to describe must not keep the others from locking.
    for c in courses {
        if let Err(e) = refresh_course(state, moodle, c.id, c.moodle_id).await {
            tracing::warn!(course = c.id, error = %e, "refreshing one course's activity failed");
        }
    }
    Ok(())
}

/// Asks Moodle who accessed one course and records it. Returns the shop users (ids) that
/// have accessed it, so an unassignment can refuse with up-to-date facts.
pub async fn refresh_course(
    state: &AppState,
    moodle: &Moodle,
    course_id: i64,
    moodle_course_id: i64,
) -> Result<Vec<i64>, RefreshError> {
    let users = api::enrolled_users(&moodle.client, moodle_course_id).await?;
    let (ids, times): (Vec<i64>, Vec<OffsetDateTime>) = users
        .iter()
        .filter(|u| u.lastcourseaccess > 0)
        .filter_map(|u| {
            OffsetDateTime::from_unix_timestamp(u.lastcourseaccess)
                .ok()
                .map(|t| (u.id, t))
        })
        .unzip();
    let accessed = sqlx::query_scalar!(
        r#"WITH seen AS (
             SELECT u.id AS user_id, v.at FROM unnest($2::bigint[], $3::timestamptz[]) AS v(mid, at)
             JOIN users u ON u.moodle_user_id = v.mid
           ), marked AS (
             UPDATE enrolments e SET first_access_at = s.at FROM seen s
             WHERE e.course_id = $1 AND e.user_id = s.user_id AND e.first_access_at IS NULL
           )
           SELECT user_id AS "user_id!" FROM seen"#,
        course_id,
        &ids,
        &times
    )
    .fetch_all(&state.db)
    .await?;
    Ok(accessed)
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Moodle(#[from] CallError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}
