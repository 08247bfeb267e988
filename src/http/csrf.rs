//! CSRF protection for every state-changing request (signed double-submit cookie, OWASP).
//!
//! A random nonce lives in an HttpOnly cookie; the token in forms is HMAC-SHA256(key, nonce),
//! and for a signed-in session HMAC-SHA256(key, nonce, salt) where the salt is drawn at
//! sign-in and kept in the server-side session: a token is valid only for the session it
//! was issued to, so a planted cookie or a token lifted from another session is useless.
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

use tower_sessions::Session;

use crate::error::AppError;
use crate::http::signin::{SESSION_USER, SessionUser};
use crate::i18n::cookie;
use crate::security::tokens::random_id;
use crate::state::AppState;

/// Over plain HTTP (development, tests).
pub const COOKIE: &str = "csrf";
/// Over HTTPS: the `__Host-` prefix makes browsers refuse it from a sibling domain or path.
pub const SECURE_COOKIE: &str = "__Host-csrf";
pub const FIELD: &str = "csrf_token";
/// Largest urlencoded form read to find the token.
const FORM_LIMIT: usize = 2 * 1024 * 1024;
/// Largest multipart form (CSV uploads) read to find the token; the app's body limit.
const MULTIPART_LIMIT: usize = 8 * 1024 * 1024;

/// Server-to-server endpoints authenticated otherwise (HMAC signature), exempt by name.
pub const EXEMPT: &[&str] = &["/payment/test/notify", "/payment/stripe/webhook"];

/// This request's CSRF nonce; pages turn it into their forms' token with [`token`].
#[derive(Clone, Debug)]
pub struct CsrfNonce(pub String);

/// The form token for `nonce`, bound to the signed-in session's salt when there is one.
pub fn token(key: &[u8], nonce: &str, salt: Option<&str>) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(nonce.as_bytes());
    if let Some(salt) = salt {
        // The separator keeps (nonce, salt) pairs from colliding; neither contains it.
        mac.update(b"|");
        mac.update(salt.as_bytes());
    }
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

pub fn cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_COOKIE } else { COOKIE }
}

/// The nonce of the request's cookie, if it has one (error pages read it too).
pub fn nonce_from(headers: &HeaderMap, secure: bool) -> Option<String> {
    cookie(headers, cookie_name(secure))
        .filter(|n| n.len() == 32 && URL_SAFE_NO_PAD.decode(n).is_ok())
}

/// The salt of the session's sign-in, if someone is signed in.
pub async fn session_salt(session: Option<&Session>) -> Option<String> {
    let su = session?.get::<SessionUser>(SESSION_USER).await.ok()??;
    Some(su.csrf_salt)
}

/// The token field of a multipart body.
async fn multipart_value(body: axum::body::Bytes, boundary: String) -> Option<String> {
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(FIELD) {
            return field.text().await.ok();
        }
    }
    None
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
    let secure = state.config.secure_cookies;
    let existing = nonce_from(req.headers(), secure);
    let nonce = existing.clone().unwrap_or_else(|| random_id(24));

    let (parts, body) = req.into_parts();
    let mut req = if is_state_changing(&parts.method) && !EXEMPT.contains(&parts.uri.path()) {
        // Without our cookie no token can be valid: refuse before reading a body (an upload
        // is buffered up to MULTIPART_LIMIT to find its token).
        if existing.is_none() {
            tracing::info!(path = %parts.uri.path(), "refused a request without a CSRF cookie");
            return AppError::forbidden("errors.csrf").into_response();
        }
        let salt = session_salt(parts.extensions.get::<Session>()).await;
        let expected = token(&state.csrf_key, &nonce, salt.as_deref());
        let content_type = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let is_form = content_type.starts_with("application/x-www-form-urlencoded");
        let boundary = multer::parse_boundary(content_type).ok();
        let (submitted, body) = if is_form {
            let Ok(bytes) = to_bytes(body, FORM_LIMIT).await else {
                return AppError::bad_request("errors.too_large").into_response();
            };
            (form_value(&bytes), Body::from(bytes))
        } else if let Some(boundary) = boundary {
            // Uploads carry the token as a form field too, so that it never shows in the
            // address bar of the page that answers them. (A token in the query is still read,
            // for clients that put it there.)
            let Ok(bytes) = to_bytes(body, MULTIPART_LIMIT).await else {
                return AppError::bad_request("errors.too_large").into_response();
            };
            let field = multipart_value(bytes.clone(), boundary).await;
            (
                field.or_else(|| token_in_query(parts.uri.query())),
                Body::from(bytes),
            )
        } else {
            (token_in_query(parts.uri.query()), body)
        };
        let valid = existing.is_some()
            && submitted.is_some_and(|s| bool::from(s.as_bytes().ct_eq(expected.as_bytes())));
        if !valid {
            tracing::info!(path = %parts.uri.path(), "refused a request without a valid CSRF token");
            return AppError::forbidden("errors.csrf").into_response();
        }
        Request::from_parts(parts, body)
    } else {
        Request::from_parts(parts, body)
    };

    req.extensions_mut().insert(CsrfNonce(nonce.clone()));
    let mut response = next.run(req).await;
    if existing.is_none() {
        let name = cookie_name(secure);
        let secure = if secure { "; Secure" } else { "" };
        let cookie = format!("{name}={nonce}; Path=/; HttpOnly; SameSite=Lax{secure}");
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
    fn tokens_depend_on_key_nonce_and_session() {
        assert_eq!(token(b"k", "n", None), token(b"k", "n", None));
        assert_ne!(token(b"k", "n", None), token(b"k2", "n", None));
        assert_ne!(token(b"k", "n", None), token(b"k", "n2", None));
        assert_ne!(token(b"k", "n", None), token(b"k", "n", Some("s")));
        assert_ne!(token(b"k", "n", Some("s1")), token(b"k", "n", Some("s2")));
    }
}
