//! One error type for every handler. It maps to a status and a message key; the
//! `error_pages` middleware renders that into a full page in the visitor's language.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// Refused for a reason the visitor can act on; the message is a translation key.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("too many attempts")]
    TooManyRequests,
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

pub type AppResult<T> = Result<T, AppError>;

/// What a 503 asks clients to wait: PostgreSQL restarts in seconds.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// Attached to error responses; the error-page middleware turns it into HTML.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub status: StatusCode,
    pub message: String,
}

impl AppError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        AppError::BadRequest(message.into())
    }

    fn status_and_message(&self) -> (StatusCode, String) {
        match self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "errors.not_found".into()),
            AppError::Forbidden(key) => (StatusCode::FORBIDDEN, (*key).into()),
            AppError::BadRequest(msg) => (StatusCode::BAD_REQUEST, msg.clone()),
            AppError::Conflict(msg) => (StatusCode::CONFLICT, msg.clone()),
            AppError::TooManyRequests => (StatusCode::TOO_MANY_REQUESTS, "errors.too_many".into()),
            AppError::LoginRequired(_) => {
                (StatusCode::UNAUTHORIZED, "errors.login_required".into())
            }
            AppError::Db(e) if is_unavailable(e) => {
                (StatusCode::SERVICE_UNAVAILABLE, "errors.unavailable".into())
            }
            // The session store is the database: a backend failure is an outage too.
            AppError::Session(tower_sessions::session::Error::Store(
                tower_sessions::session_store::Error::Backend(_),
            )) => (StatusCode::SERVICE_UNAVAILABLE, "errors.unavailable".into()),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "errors.internal".into()),
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
        let (status, message) = self.status_and_message();
        if status.is_server_error() {
            // The full error goes to the log, never to the page.
            // The whole cause chain, not only its top line.
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
        response
            .extensions_mut()
            .insert(ErrorPage { status, message });
        response
    }
}
