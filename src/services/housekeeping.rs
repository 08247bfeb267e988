//! Periodic clean-up, on every instance (rows are claimed with `SKIP LOCKED`, deletes are
//! idempotent): online orders nobody paid, expired sessions, customer accounts nobody can
//! reach any more, mail too old to send; the per-customer product counters folded.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

use crate::domain::BillState;
use crate::state::AppState;
use crate::store::{bills, customers, lms_jobs, outbox, seats, sessions};

const TICK: Duration = Duration::from_secs(60);
/// A checkout's customer account without bill or user is reachable only through the session
/// that created it; once no session can hold it any more, it goes.
pub const UNUSED_CUSTOMER_AFTER: time::Duration = time::Duration::days(8);
/// A message no mail server accepted within this many days is given up: what it says is
/// stale by then (a set-password link has expired), and the worker's queue keeps only mail
/// worth trying (a week of refusals left a million-row outbox sorting every unsent row).
pub const MAIL_MAX_AGE_DAYS: i32 = 7;
/// Done Moodle jobs are kept this long (`lms_jobs::prune_done`).
pub const LMS_JOBS_KEPT_DAYS: i32 = 7;

pub async fn run(state: AppState, mut shutdown: watch::Receiver<bool>) {
    loop {
        if let Err(e) = tidy(&state).await {
            tracing::warn!(error = %format!("{e:#}"), "housekeeping round failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// One round of every clean-up.
pub async fn tidy(state: &AppState) -> anyhow::Result<()> {
    let cancelled = cancel_abandoned_orders(state).await?;
    if cancelled > 0 {
        tracing::info!(cancelled, "cancelled unpaid online orders");
    }
    sessions::delete_expired(&state.sessions).await?;
    customers::delete_unused(&state.db, OffsetDateTime::now_utc() - UNUSED_CUSTOMER_AFTER).await?;
    seats::fold_counts(&state.db, 10_000).await?;
    lms_jobs::prune_done(&state.db, LMS_JOBS_KEPT_DAYS).await?;
    let given_up = outbox::give_up_older_than(&state.db, MAIL_MAX_AGE_DAYS, 1000).await?;
    if given_up > 0 {
        tracing::warn!(
            given_up,
            "gave up mail not sent within {MAIL_MAX_AGE_DAYS} days"
        );
    }
    Ok(())
}

/// Online orders not paid within `SHOP_UNPAID_ORDER_MINUTES` become CANCELLED, with the
/// reason in their history; a late notification for one is then ignored.
pub async fn cancel_abandoned_orders(state: &AppState) -> anyhow::Result<usize> {
    let before = OffsetDateTime::now_utc() - state.config.unpaid_order_expiry;
    let mut total = 0;
    loop {
        let mut tx = state.db.begin().await?;
        let stale = bills::lock_abandoned(&mut tx, before, 100).await?;
        if stale.is_empty() {
            return Ok(total);
        }
        let minutes = state.config.unpaid_order_expiry.whole_minutes();
        let note = format!("not paid within {minutes} minutes");
        for bill in &stale {
            bills::transition(&mut tx, bill, BillState::Cancelled, &note, "system").await?;
        }
        tx.commit().await?;
        total += stale.len();
    }
}
