//! The right of the browser that placed a bill to see its payment and confirmation pages.
//!
//! Kept twice: in the session (the last few bills), and for the last bill in a signed
//! cookie, so that a buyer whose session was lost (a crash between sign-in and response, a
//! session store outage) still reaches the confirmation of what they just paid.

use axum::http::{HeaderMap, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use crate::error::AppResult;
use crate::i18n::cookie;
use crate::state::AppState;

const SESSION_KEY: &str = "placed_bills";
/// A browser keeps the right to its last few confirmations, not an unbounded list.
const KEEP: usize = 20;
const COOKIE: &str = "placed";
const SECURE_COOKIE: &str = "__Host-placed";
/// A week: the session's own inactivity limit.
const COOKIE_MAX_AGE: u32 = 7 * 24 * 3600;

fn cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_COOKIE } else { COOKIE }
}

fn signature(key: &[u8], public_id: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(b"placed-bill:");
    mac.update(public_id.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// The bill named by the request's signed cookie, if its signature holds.
fn from_cookie(headers: &HeaderMap, key: &[u8], secure: bool) -> Option<String> {
    let value = cookie(headers, cookie_name(secure))?;
    let (public_id, sig) = value.split_once('.')?;
    let expected = signature(key, public_id);
    bool::from(sig.as_bytes().ct_eq(expected.as_bytes())).then(|| public_id.to_owned())
}

/// Records that this browser placed `public_id`; returns the cookie to set.
pub async fn remember(
    state: &AppState,
    session: &Session,
    public_id: &str,
) -> AppResult<Option<HeaderValue>> {
    let (key, secure) = (&state.csrf_key, state.config.secure_cookies);
    let mut placed = session
        .get::<Vec<String>>(SESSION_KEY)
        .await?
        .unwrap_or_default();
    if !placed.iter().any(|p| p == public_id) {
        placed.push(public_id.to_owned());
    }
    let keep_from = placed.len().saturating_sub(KEEP);
    session.insert(SESSION_KEY, &placed[keep_from..]).await?;
    let flags = if secure { "; Secure" } else { "" };
    let value = format!(
        "{}={public_id}.{}; Path=/; Max-Age={COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax{flags}",
        cookie_name(secure),
        signature(key, public_id)
    );
    Ok(HeaderValue::from_str(&value).ok())
}

/// The cookie that forgets the placed bill (logout: the next person at this browser has no
/// right to it).
pub fn forget(secure: bool) -> Option<HeaderValue> {
    let flags = if secure { "; Secure" } else { "" };
    let value = format!(
        "{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{flags}",
        cookie_name(secure)
    );
    HeaderValue::from_str(&value).ok()
}

/// Whether this browser placed the bill `public_id`.
pub async fn placed_by(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    public_id: &str,
) -> AppResult<bool> {
    let (key, secure) = (&state.csrf_key, state.config.secure_cookies);
    if from_cookie(headers, key, secure).is_some_and(|p| p == public_id) {
        return Ok(true);
    }
    Ok(session
        .get::<Vec<String>>(SESSION_KEY)
        .await?
        .unwrap_or_default()
        .iter()
        .any(|p| p == public_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_with(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_str(cookie).unwrap(),
        );
        h
    }

    #[test]
    fn only_a_cookie_signed_by_the_shop_names_a_bill() {
        let key = b"secret";
        let good = format!("placed=abc.{}", signature(key, "abc"));
        assert_eq!(
            from_cookie(&headers_with(&good), key, false),
            Some("abc".into())
        );
        let forged = format!("placed=xyz.{}", signature(key, "abc"));
        assert_eq!(from_cookie(&headers_with(&forged), key, false), None);
        assert_eq!(from_cookie(&headers_with("placed=abc"), key, false), None);
        let other_key = format!("placed=abc.{}", signature(b"other", "abc"));
        assert_eq!(from_cookie(&headers_with(&other_key), key, false), None);
    }
}
