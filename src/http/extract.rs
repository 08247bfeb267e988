//! Extractors for the signed-in user. Each resolves the user against the database (once per
//! request), so a deleted account, a revoked operator or a password changed elsewhere loses
//! access at once.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
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

/// The address of the client, for throttles: the peer, or behind a trusted reverse proxy
/// (`SHOP_TRUSTED_PROXIES`) the last address of `X-Forwarded-For` that is not itself a
/// trusted proxy. An IPv6 client is its /64 (one customer line holds a whole /64).
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no peer address")))?;
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        Ok(ClientIp(client_ip(
            peer,
            &forwarded,
            &state.config.trusted_proxies,
        )))
    }
}

fn client_ip(peer: IpAddr, forwarded: &str, trusted: &[IpAddr]) -> IpAddr {
    let mut client = peer;
    if trusted.contains(&peer) {
        for hop in forwarded.rsplit(',') {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                break;
            };
            client = ip;
            if !trusted.contains(&ip) {
                break;
            }
        }
    }
    match client {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(client_ip(proxy, "203.0.113.7", &[proxy]), client);
        // A client cannot pick its address by sending the header itself.
        assert_eq!(client_ip(client, "1.2.3.4", &[proxy]), client);
        // Forged entries left of the proxy's own are ignored.
        assert_eq!(client_ip(proxy, "1.2.3.4, 203.0.113.7", &[proxy]), client);
        assert_eq!(client_ip(proxy, "", &[proxy]), proxy);
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(client_ip(a, "", &[]), client_ip(b, "", &[]));
    }
}
