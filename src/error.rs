//! One error type for every handler. It maps to a status and a message key; the
//! `render_error_pages` middleware translates the key, once, into a full page in the
//! visitor's language.
//!
//! Service errors convert into it with `?`: each service error knows which of its cases
//! are the visitor's to fix (a [`Refusal`]: status and message key) and which are faults
//! (database, internal), which keep their cause for the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// Refused for a reason the visitor can act on.
    #[error("refused ({}): {}", .0.status, .0.key)]
    Refused(Refusal),
    /// Not signed in: go to the login page, then back to this path.
    #[error("login required")]
    LoginRequired(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("template: {0}")]
    Render(#[from] askama::Error),
    #[error("session: {0}")]
    Session(#[from] tower_sessions::session::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A refusal the visitor can act on: its status and the translation key of its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub key: &'static str,
}

impl From<Refusal> for AppError {
    fn from(r: Refusal) -> Self {
        AppError::Refused(r)
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// What a 503 asks clients to wait: PostgreSQL restarts in seconds.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// Attached to error responses; the error-page middleware turns it into HTML.
#[derive(Debug, Clone, Copy)]
pub struct ErrorPage {
    pub status: StatusCode,
    /// A translation key, always.
    pub key: &'static str,
}

impl AppError {
    pub fn refused(status: StatusCode, key: &'static str) -> Self {
        AppError::Refused(Refusal { status, key })
    }

    pub fn bad_request(key: &'static str) -> Self {
        Self::refused(StatusCode::BAD_REQUEST, key)
    }

    pub fn forbidden(key: &'static str) -> Self {
        Self::refused(StatusCode::FORBIDDEN, key)
    }

    pub fn conflict(key: &'static str) -> Self {
        Self::refused(StatusCode::CONFLICT, key)
    }

    pub fn too_many_requests() -> Self {
        Self::refused(StatusCode::TOO_MANY_REQUESTS, "errors.too_many")
    }

    pub fn status_and_key(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "errors.not_found"),
            AppError::Refused(r) => (r.status, r.key),
            AppError::LoginRequired(_) => (StatusCode::UNAUTHORIZED, "errors.login_required"),
            AppError::Db(e) if is_unavailable(e) => {
                (StatusCode::SERVICE_UNAVAILABLE, "errors.unavailable")
            }
            // An outage reported through a service's own error keeps being an outage.
            AppError::Internal(e)
                if e.chain()
                    .any(|c| c.downcast_ref::<sqlx::Error>().is_some_and(is_unavailable)) =>
            {
                (StatusCode::SERVICE_UNAVAILABLE, "errors.unavailable")
            }
            // The session store is the database: a backend failure is an outage too.
            AppError::Session(tower_sessions::session::Error::Store(
                tower_sessions::session_store::Error::Backend(_),
            )) => (StatusCode::SERVICE_UNAVAILABLE, "errors.unavailable"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "errors.internal"),
        }
    }
}

/// A database that cannot be reached is a 503 (retry later), not a bug.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed
    ) || matches!(e, sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("57P") || c.starts_with("08")))
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::LoginRequired(next) = &self {
            let query = serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
            return axum::response::Redirect::to(&format!("/login?{query}")).into_response();
        }
        let (status, key) = self.status_and_key();
        if status.is_server_error() {
            // The whole cause chain goes to the log (with the request's id, from the span),
            // never to the page.
            let chain = match &self {
                AppError::Internal(e) => format!("{e:#}"),
                other => other.to_string(),
            };
            tracing::error!(error = %chain, "request failed");
        }
        let mut response = status.into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, RETRY_AFTER_SECONDS.into());
        }
        response.extensions_mut().insert(ErrorPage { status, key });
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_a_503_and_a_refusal_keeps_its_status() {
        let down = AppError::Db(sqlx::Error::PoolTimedOut);
        assert_eq!(
            down.status_and_key(),
            (StatusCode::SERVICE_UNAVAILABLE, "errors.unavailable")
        );
        let refused = AppError::conflict("admin.bill_cannot_cancel");
        assert_eq!(
            refused.status_and_key(),
            (StatusCode::CONFLICT, "admin.bill_cannot_cancel")
        );
        let bug = AppError::Internal(anyhow::anyhow!("boom"));
        assert_eq!(bug.status_and_key().0, StatusCode::INTERNAL_SERVER_ERROR);
        let wrapped = AppError::Internal(
            anyhow::Error::new(sqlx::Error::PoolTimedOut).context("producing B0000000001"),
        );
        assert_eq!(wrapped.status_and_key().0, StatusCode::SERVICE_UNAVAILABLE);
    }
}
