//! Extractors for the signed-in user. Each resolves the user against the database (once per
//! request), so a deleted account, a revoked operator or a password changed elsewhere loses
//! access at once.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::AppError;
use crate::http::signin::{self, Access, SignedIn};
use crate::state::AppState;
use crate::store::customers::{self, Customer};
use crate::store::users::User;

fn login_required(parts: &Parts) -> AppError {
    let next = parts
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    AppError::LoginRequired(next)
}

/// The user if someone is signed in (with full or purchase-only access).
pub struct MaybeUser(pub Option<User>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(MaybeUser(
            signin::resolve(parts, state).await?.map(|s| s.user),
        ))
    }
}

/// A user signed in with full access to their account. The automatic sign-in after a
/// purchase of an unverified account does not qualify: that visitor has not proved they own
/// the address, so nothing given to it by someone else is shown (docs/accounts.md).
pub struct RequireUser(pub User);

impl FromRequestParts<AppState> for RequireUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match signin::resolve(parts, state).await? {
            Some(SignedIn {
                user,
                access: Access::Full,
                ..
            }) => Ok(RequireUser(user)),
            Some(_) => Err(AppError::forbidden("auth.verify_first")),
            None => Err(login_required(parts)),
        }
    }
}

/// The customer space's visitor: a fully signed-in user and their customer account (if they
/// ever bought), or the purchase sign-in of an unverified account, limited to the customer
/// account of that purchase.
pub struct RequireCustomer {
    pub user: User,
    pub customer: Option<Customer>,
}

impl FromRequestParts<AppState> for RequireCustomer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Some(signed) = signin::resolve(parts, state).await? else {
            return Err(login_required(parts));
        };
        let customer = match signed.access {
            Access::Full => customers::find_by_user(&state.db, signed.user.id).await?,
            Access::Purchase { customer_id } => customers::find(&state.db, customer_id)
                .await?
                .filter(|c| c.user_id == Some(signed.user.id)),
        };
        Ok(RequireCustomer {
            user: signed.user,
            customer,
        })
    }
}

/// An operator. Anyone else signed in gets a 404: the back-office does not announce itself.
pub struct RequireOperator(pub User);

impl FromRequestParts<AppState> for RequireOperator {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match signin::resolve(parts, state).await? {
            Some(SignedIn {
                user,
                access: Access::Full,
                ..
            }) if user.is_operator => Ok(RequireOperator(user)),
            Some(_) => Err(AppError::NotFound),
            None => Err(login_required(parts)),
        }
    }
}
