//! Shared application state, cheap to clone into every handler.

use std::ops::Deref;
use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::Notify;

use crate::cache::CatalogueCache;
use crate::config::Config;
use crate::security::throttle::LoginThrottle;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub db: PgPool,
    /// Same database, non-durable commits: the session store only.
    pub sessions: PgPool,
    pub config: Config,
    /// Signs CSRF tokens; shared by all instances through `app_secrets`.
    pub csrf_key: Vec<u8>,
    /// Shared with the test payment gateway to sign its notifications.
    pub gateway_key: Vec<u8>,
    pub catalogue: CatalogueCache,
    pub login_throttle: LoginThrottle,
    /// Poked when mail is queued so the delivery worker does not wait for its next tick.
    pub mail_queued: Notify,
    /// `LMS=moodle`: the web-service client; `None` with the built-in LMS.
    pub moodle: Option<crate::moodle::Moodle>,
    /// Poked when Moodle jobs are queued so a worker starts on them at once.
    pub lms_queued: Notify,
    /// The Stripe API client, when its keys are configured (`STRIPE_SECRET_KEY`, …).
    pub stripe: Option<crate::stripe::Stripe>,
}

impl Inner {
    /// Whether this process can take payments with `paymode` at all: Stripe needs its keys.
    /// (Whether the operator enabled it is in the settings.)
    pub fn can_take(&self, paymode: crate::domain::paymode::Paymode) -> bool {
        paymode != crate::domain::paymode::Paymode::Stripe || self.stripe.is_some()
    }
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        AppState(Arc::new(inner))
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
