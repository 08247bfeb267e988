//! Extractors for the signed-in user. Each reads the user from the database, so a deleted
//! account or a revoked operator loses access at once.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tower_sessions::Session;

use crate::error::AppError;
use crate::http::context::{SESSION_USER, SessionUser};
use crate::state::AppState;
use crate::store::users::{self, User};

async fn session_user(parts: &mut Parts, state: &AppState) -> Result<Option<User>, AppError> {
    let Some(session) = parts.extensions.get::<Session>() else {
        return Ok(None);
    };
    let Some(su) = session.get::<SessionUser>(SESSION_USER).await? else {
        return Ok(None);
    };
    Ok(users::find(&state.db, su.id).await?)
}

fn login_required(parts: &Parts) -> AppError {
    let next = parts
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    AppError::LoginRequired(next)
}

/// The user if someone is signed in.
pub struct MaybeUser(pub Option<User>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(MaybeUser(session_user(parts, state).await?))
    }
}

/// A signed-in user; anonymous visitors are sent to the login page and brought back.
pub struct RequireUser(pub User);

impl FromRequestParts<AppState> for RequireUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match session_user(parts, state).await? {
            Some(user) => Ok(RequireUser(user)),
            None => Err(login_required(parts)),
        }
    }
}

/// An operator. Anyone else signed in gets a 404: the back-office does not announce itself.
pub struct RequireOperator(pub User);

impl FromRequestParts<AppState> for RequireOperator {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match session_user(parts, state).await? {
            Some(user) if user.is_operator => Ok(RequireOperator(user)),
            Some(_) => Err(AppError::NotFound),
            None => Err(login_required(parts)),
        }
    }
}
