//! Moodle behind the shop (`LMS=moodle`): the web-service client, the start-up check, the
//! course import, the job worker that applies enrolments, and the activity refresher.
//!
//! The shop keeps its own enrolment and group rows in both modes (its record of what each
//! learner was given, what the customer space and the "already enrolled" rule read). With
//! Moodle every such change is also queued, in the same transaction, as an `lms_jobs` row;
//! Moodle is only ever called outside the shop's transactions.

pub mod activity;
pub mod api;
pub mod check;
pub mod client;
pub mod sync;
pub mod worker;

use crate::config::MoodleConfig;

/// At start with LMS=moodle: checks the site, the token and the service, then imports the
/// courses. An error says what is wrong and stops the shop (nothing would reach Moodle).
/// Except when Moodle is only unreachable for now and the shop already has its courses (a
/// restart during Moodle's maintenance): then the shop starts, its jobs wait, and the check
/// and import are retried in the background until Moodle answers.
pub async fn start(state: &crate::state::AppState) -> anyhow::Result<()> {
    let Some(moodle) = &state.moodle else {
        return Ok(());
    };
    if let Err(e) = api::site_info(&moodle.client).await
        && e.failure() == crate::domain::moodle::Failure::Transient
        && sync::has_imported(state).await?
    {
        tracing::warn!(error = %e, "Moodle does not answer: starting on the courses imported before; retrying in the background");
        let (state, moodle) = (state.clone(), moodle.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(moodle.config.activity_interval).await;
                match connect_and_import(&state, &moodle).await {
                    Ok(()) => return,
                    Err(e) => tracing::warn!(error = %e, "Moodle still not ready"),
                }
            }
        });
        return Ok(());
    }
    connect_and_import(state, moodle).await
}

async fn connect_and_import(state: &crate::state::AppState, moodle: &Moodle) -> anyhow::Result<()> {
    let site = check::check(moodle).await?;
    tracing::info!(%site, "connected to Moodle");
    let done = sync::import(state, moodle, None).await?;
    tracing::info!(
        courses = done.courses,
        hidden = done.hidden,
        gone = done.gone,
        "courses imported from Moodle"
    );
    if !done.not_separate.is_empty() {
        tracing::warn!(
            courses = %done.not_separate.join(", "),
            "these Moodle courses are not in separate groups mode: a customer's supervisor there \
             sees every other customer's learners"
        );
    }
    Ok(())
}

/// What the running shop holds to talk to Moodle.
#[derive(Clone)]
pub struct Moodle {
    pub client: client::Client,
    pub config: MoodleConfig,
}

impl Moodle {
    pub fn new(config: &MoodleConfig) -> anyhow::Result<Moodle> {
        Ok(Moodle {
            client: client::Client::new(&config.url, config.token.clone(), config.call_timeout)?,
            config: config.clone(),
        })
    }

    /// Where a learner opens a course.
    pub fn course_url(&self, moodle_course_id: i64) -> String {
        format!("{}/course/view.php?id={moodle_course_id}", self.config.url)
    }

    /// Moodle's forgotten-password page, where a new learner who lost Moodle's mail gets in.
    pub fn forgot_password_url(&self) -> String {
        format!("{}/login/forgot_password.php", self.config.url)
    }

    /// How long a worker holds a job: every call of one job may take the whole timeout.
    pub fn lease_seconds(&self) -> u32 {
        u32::try_from(self.config.call_timeout.as_secs().saturating_mul(8) + 5).unwrap_or(u32::MAX)
    }
}
