//! One rule for every request, before any handler reads it: a NUL byte (which PostgreSQL
//! cannot store in text, so it would fail deep inside a query) or a value longer than any
//! field accepts is refused with a 400 page. The path is held to more: no control
//! character at all makes sense in it.
//!
//! Finer rules stay with the fields (`domain::form`, `domain::person`): other control
//! characters in a form re-render it with the field's error and what was typed. CSV uploads
//! (multipart) are read line by line and report per line.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

/// Longest decoded path segment or query value: a search, a filter, a return path.
pub const MAX_URL_VALUE: usize = 4 * 1024;
/// Longest form value: above every field's own limit (the longest, sales conditions, is
/// 100 000 characters).
pub const MAX_FORM_VALUE: usize = 512 * 1024;
/// Largest urlencoded body read (the CSRF check reads the same; CSV uploads are multipart).
const FORM_LIMIT: usize = 2 * 1024 * 1024;

/// The message of the 400 page.
pub const MESSAGE: &str = "errors.bad_input";

/// What is wrong with a request's path, query or urlencoded body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Nul,
    ControlInPath,
    TooLong,
}

pub async fn guard(req: Request, next: Next) -> Response {
    if let Err(refusal) = check_uri(req.uri().path(), req.uri().query()) {
        return refuse(refusal, &req);
    }
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, FORM_LIMIT).await else {
        return AppError::bad_request("errors.too_large").into_response();
    };
    if let Err(refusal) = check_pairs(&bytes, MAX_FORM_VALUE) {
        let req = Request::from_parts(parts, Body::empty());
        return refuse(refusal, &req);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn refuse(refusal: Refusal, req: &Request) -> Response {
    tracing::info!(path = %req.uri().path(), ?refusal, "refused a request's input");
    AppError::bad_request(MESSAGE).into_response()
}

/// The path (percent-decoded) and the query string's names and values.
pub fn check_uri(path: &str, query: Option<&str>) -> Result<(), Refusal> {
    let decoded = percent_decode(path);
    let text = String::from_utf8_lossy(&decoded);
    if text.contains('\0') {
        return Err(Refusal::Nul);
    }
    if text.chars().any(char::is_control) {
        return Err(Refusal::ControlInPath);
    }
    if text.split('/').any(|segment| segment.len() > MAX_URL_VALUE) {
        return Err(Refusal::TooLong);
    }
    match query {
        Some(q) => check_pairs(q.as_bytes(), MAX_URL_VALUE),
        None => Ok(()),
    }
}

/// `application/x-www-form-urlencoded` pairs (a query string or a form body).
pub fn check_pairs(encoded: &[u8], max: usize) -> Result<(), Refusal> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(encoded).unwrap_or_default();
    for (name, value) in &pairs {
        if name.contains('\0') || value.contains('\0') {
            return Err(Refusal::Nul);
        }
        if name.len() > max || value.len() > max {
            return Err(Refusal::TooLong);
        }
    }
    Ok(())
}

/// `%XX` escapes decoded to bytes; anything else kept as is.
fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_refuse_nul_control_characters_and_huge_segments() {
        assert_eq!(check_uri("/customer/bills/B-1", None), Ok(()));
        assert_eq!(check_uri("/course/%C3%A9t%C3%A9", None), Ok(()));
        assert_eq!(check_uri("/course/a%00b", None), Err(Refusal::Nul));
        assert_eq!(
            check_uri("/course/a%0Ab", None),
            Err(Refusal::ControlInPath)
        );
        assert_eq!(check_uri("/course/a%7f", None), Err(Refusal::ControlInPath));
        assert_eq!(
            check_uri("/course/a%C2%85", None),
            Err(Refusal::ControlInPath)
        );
        let long = format!("/course/{}", "a".repeat(MAX_URL_VALUE + 1));
        assert_eq!(check_uri(&long, None), Err(Refusal::TooLong));
        // A lone `%` is not an escape.
        assert_eq!(check_uri("/course/100%", None), Ok(()));
    }

    #[test]
    fn queries_refuse_nul_and_huge_values_only() {
        assert_eq!(check_uri("/admin/bills", Some("q=ab&page=2")), Ok(()));
        assert_eq!(check_uri("/login", Some("next=%2Fa%0Ab")), Ok(()));
        assert_eq!(check_uri("/admin/bills", Some("q=a%00")), Err(Refusal::Nul));
        assert_eq!(check_uri("/admin/bills", Some("q%00=a")), Err(Refusal::Nul));
        let long = format!("q={}", "a".repeat(MAX_URL_VALUE + 1));
        assert_eq!(
            check_uri("/admin/bills", Some(&long)),
            Err(Refusal::TooLong)
        );
    }

    #[test]
    fn forms_refuse_nul_and_huge_values() {
        assert_eq!(check_pairs(b"firstname=Ada&x=%0A", MAX_FORM_VALUE), Ok(()));
        assert_eq!(
            check_pairs(b"firstname=A%00da", MAX_FORM_VALUE),
            Err(Refusal::Nul)
        );
        let long = format!("description={}", "a".repeat(MAX_FORM_VALUE + 1));
        assert_eq!(
            check_pairs(long.as_bytes(), MAX_FORM_VALUE),
            Err(Refusal::TooLong)
        );
        let ok = format!("sales_conditions={}", "é".repeat(100_000));
        assert_eq!(check_pairs(ok.as_bytes(), MAX_FORM_VALUE), Ok(()));
    }
}
