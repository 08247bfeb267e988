//! Who is signed in, and how far that reaches (the account rules of docs/accounts.md).
//!
//! The session holds a [`SessionUser`]; every request that needs the user resolves it once
//! against the database ([`resolve`]): a deleted account, a password changed elsewhere
//! (another epoch) or an expired purchase sign-in ends the session there.

use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use tower_sessions::{Expiry, Session};

use crate::error::AppError;
use crate::security::tokens::random_id;
use crate::state::AppState;
use crate::store::users::{self, User};

pub const SESSION_USER: &str = "user";

/// How long the automatic sign-in after a purchase lasts at most (it also ends with the
/// browser session: its cookie has no expiry).
pub const PURCHASE_SIGN_IN: Duration = Duration::hours(12);

/// Kept in the session at sign-in. The name is for the navigation only: authorisation always
/// re-reads the user from the database.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: i64,
    pub name: String,
    pub is_operator: bool,
    /// The user's session epoch at sign-in; a password change moves the user to the next.
    #[serde(default)]
    pub epoch: i32,
    /// Random per sign-in: CSRF tokens of a signed-in session are bound to it.
    #[serde(default)]
    pub csrf_salt: String,
    /// Set when the sign-in is the one a purchase gives an unverified account.
    #[serde(default)]
    pub purchase: Option<PurchaseScope>,
}

/// What an automatic sign-in after checkout may reach: that purchase's customer space.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct PurchaseScope {
    pub customer_id: i64,
    /// Unix seconds.
    pub until: i64,
}

/// How far the signed-in session reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Signed in with a password (or a set-password link): the whole account.
    Full,
    /// Signed in automatically after a purchase, account not verified yet: only the customer
    /// space of that customer account.
    Purchase { customer_id: i64 },
}

/// The signed-in user of a request, checked against the database.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub access: Access,
    pub session: SessionUser,
}

/// Cached in the request's extensions: the user is resolved once per request.
#[derive(Clone)]
struct Resolved(Option<SignedIn>);

fn session_user_for(user: &User, purchase: Option<PurchaseScope>) -> SessionUser {
    SessionUser {
        id: user.id,
        name: user.display_name(),
        is_operator: user.is_operator,
        epoch: user.session_epoch,
        csrf_salt: random_id(16),
        purchase,
    }
}

/// Puts `user` in the session with full access, under a new session id (no fixation).
pub async fn sign_in(session: &Session, user: &User) -> Result<SessionUser, AppError> {
    let su = session_user_for(user, None);
    session.cycle_id().await?;
    session.set_expiry(None);
    session.insert(SESSION_USER, &su).await?;
    Ok(su)
}

/// The automatic sign-in after an online purchase of a buyer whose account is not verified:
/// it reaches only `customer_id`'s space, ends with the browser session, and at the latest
/// after [`PURCHASE_SIGN_IN`].
pub async fn sign_in_for_purchase(
    session: &Session,
    user: &User,
    customer_id: i64,
) -> Result<SessionUser, AppError> {
    let until = OffsetDateTime::now_utc() + PURCHASE_SIGN_IN;
    let scope = PurchaseScope {
        customer_id,
        until: until.unix_timestamp(),
    };
    let su = session_user_for(user, Some(scope));
    session.cycle_id().await?;
    session.set_expiry(Some(Expiry::OnSessionEnd));
    session.insert(SESSION_USER, &su).await?;
    Ok(su)
}

/// Whether the session's sign-in still holds for `user` as the database has it now.
fn access_of(su: &SessionUser, user: &User, now: OffsetDateTime) -> Option<Access> {
    if su.epoch != user.session_epoch {
        return None;
    }
    match su.purchase {
        // Only a password (or a set-password link) gives full access, and an unverified
        // account has neither: a full session of one predates the account rules.
        None if !user.verified => None,
        None => Some(Access::Full),
        Some(scope) if scope.until > now.unix_timestamp() && !user.is_operator => {
            Some(Access::Purchase {
                customer_id: scope.customer_id,
            })
        }
        Some(_) => None,
    }
}

/// The signed-in user of this request, if any (resolved once, then cached).
pub async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Option<SignedIn>, AppError> {
    if let Some(Resolved(found)) = parts.extensions.get::<Resolved>() {
        return Ok(found.clone());
    }
    let found = match parts.extensions.get::<Session>().cloned() {
        Some(session) => resolve_session(&session, state).await?,
        None => None,
    };
    parts.extensions.insert(Resolved(found.clone()));
    Ok(found)
}

async fn resolve_session(
    session: &Session,
    state: &AppState,
) -> Result<Option<SignedIn>, AppError> {
    let Some(su) = session.get::<SessionUser>(SESSION_USER).await? else {
        return Ok(None);
    };
    let user = users::find(&state.db, su.id).await?;
    let access = user
        .as_ref()
        .and_then(|u| access_of(&su, u, OffsetDateTime::now_utc()));
    match (user, access) {
        (Some(user), Some(access)) => {
            if matches!(access, Access::Purchase { .. }) {
                // tower-sessions does not store the expiry kind: without this, the next
                // change to the session would give its cookie the default lifetime.
                session.set_expiry(Some(Expiry::OnSessionEnd));
            }
            Ok(Some(SignedIn {
                user,
                access,
                session: su,
            }))
        }
        _ => {
            // Signed out elsewhere (password changed), expired, or the account is gone.
            session.remove::<SessionUser>(SESSION_USER).await?;
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(epoch: i32) -> User {
        User {
            id: 7,
            email: "a@example.org".into(),
            firstname: "A".into(),
            lastname: "B".into(),
            is_operator: false,
            verified: false,
            session_epoch: epoch,
        }
    }

    #[test]
    fn a_new_epoch_ends_older_sessions() {
        let now = OffsetDateTime::now_utc();
        let verified = |epoch| User {
            verified: true,
            ..user(epoch)
        };
        let su = session_user_for(&verified(3), None);
        assert_eq!(access_of(&su, &verified(3), now), Some(Access::Full));
        assert_eq!(access_of(&su, &verified(4), now), None);
    }

    #[test]
    fn an_unverified_account_never_has_full_access() {
        let now = OffsetDateTime::now_utc();
        // A session written before the account rules: no purchase scope, epoch 0.
        let su = session_user_for(&user(0), None);
        assert_eq!(access_of(&su, &user(0), now), None);
    }

    #[test]
    fn a_purchase_sign_in_reaches_its_customer_until_it_expires() {
        let now = OffsetDateTime::now_utc();
        let scope = PurchaseScope {
            customer_id: 9,
            until: (now + Duration::hours(1)).unix_timestamp(),
        };
        let su = session_user_for(&user(0), Some(scope));
        assert_eq!(
            access_of(&su, &user(0), now),
            Some(Access::Purchase { customer_id: 9 })
        );
        assert_eq!(access_of(&su, &user(0), now + Duration::hours(2)), None);
    }

    #[test]
    fn sign_ins_get_distinct_csrf_salts() {
        let a = session_user_for(&user(0), None);
        let b = session_user_for(&user(0), None);
        assert_ne!(a.csrf_salt, b.csrf_salt);
        assert!(!a.csrf_salt.is_empty());
    }
}
