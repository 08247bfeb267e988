//! CSRF protection for every state-changing request (signed double-submit cookie, OWASP).
//!
//! A random nonce lives in an HttpOnly cookie; the token in forms is HMAC-SHA256(key, nonce).
//! A cross-site page can neither read the cookie nor compute the token. Being stateless, it
//! costs no database write for anonymous visitors browsing the shop. Applied as one
//! middleware to the whole router, so a new POST route cannot forget it.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::i18n::cookie;
use crate::security::tokens::random_id;
use crate::state::AppState;

pub const COOKIE: &str = "csrf";
pub const FIELD: &str = "csrf_token";
/// Largest urlencoded form read to find the token (CSV uploads are multipart).
const FORM_LIMIT: usize = 2 * 1024 * 1024;

/// Server-to-server endpoints authenticated otherwise (HMAC signature), exempt by name.
pub const EXEMPT: &[&str] = &["/payment/test/notify"];

/// The token for this request's forms.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

fn sign(key: &[u8], nonce: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(nonce.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

fn nonce_from(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE).filter(|n| n.len() == 32 && URL_SAFE_NO_PAD.decode(n).is_ok())
}

/// The token matching the request's cookie, if it has one (used by error pages).
pub fn token_from_headers(headers: &HeaderMap, key: &[u8]) -> Option<String> {
    nonce_from(headers).map(|n| sign(key, &n))
}

fn token_in_query(query: Option<&str>) -> Option<String> {
    form_value(query?.as_bytes())
}

fn form_value(body: &[u8]) -> Option<String> {
    form_urlencoded_pairs(body).find_map(|(k, v)| (k == FIELD).then_some(v))
}

fn form_urlencoded_pairs(body: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .unwrap_or_default()
        .into_iter()
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

pub async fn protect(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let existing = nonce_from(req.headers());
    let nonce = existing.clone().unwrap_or_else(|| random_id(24));
    let expected = sign(&state.csrf_key, &nonce);

    let (parts, body) = req.into_parts();
    let mut req = if is_state_changing(&parts.method) && !EXEMPT.contains(&parts.uri.path()) {
        let is_form = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        let (submitted, body) = if is_form {
            let Ok(bytes) = to_bytes(body, FORM_LIMIT).await else {
                return AppError::bad_request("errors.too_large").into_response();
            };
            (form_value(&bytes), Body::from(bytes))
        } else {
            (token_in_query(parts.uri.query()), body)
        };
        let valid = existing.is_some()
            && submitted.is_some_and(|s| bool::from(s.as_bytes().ct_eq(expected.as_bytes())));
        if !valid {
            tracing::info!(path = %parts.uri.path(), "refused a request without a valid CSRF token");
            return AppError::Forbidden("errors.csrf").into_response();
        }
        Request::from_parts(parts, body)
    } else {
        Request::from_parts(parts, body)
    };

    req.extensions_mut().insert(CsrfToken(expected));
    let mut response = next.run(req).await;
    if existing.is_none() {
        let secure = if state.config.secure_cookies {
            "; Secure"
        } else {
            ""
        };
        let cookie = format!("{COOKIE}={nonce}; Path=/; HttpOnly; SameSite=Lax{secure}");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_token_in_a_form_body() {
        assert_eq!(
            form_value(b"a=1&csrf_token=abc%2Bd&b=2"),
            Some("abc+d".into())
        );
        assert_eq!(form_value(b"a=1"), None);
        assert_eq!(token_in_query(Some("csrf_token=xyz")), Some("xyz".into()));
    }

    #[test]
    fn tokens_depend_on_key_and_nonce() {
        assert_eq!(sign(b"k", "n"), sign(b"k", "n"));
        assert_ne!(sign(b"k", "n"), sign(b"k2", "n"));
        assert_ne!(sign(b"k", "n"), sign(b"k", "n2"));
    }
}
