use axum::Router;

use crate::state::AppState;
use axum::extract::{Path, Query};
use axum::http::HeaderValue;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::error::AppError;
use crate::http::render::safe_next;
use crate::i18n::Locale;

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// The footer's language switch: remembers the choice in a cookie and goes back.
pub async fn switch(Path(code): Path<String>, Query(q): Query<Next>) -> Result<Response, AppError> {
    let locale = Locale::parse(&code).ok_or(AppError::NotFound)?;
    let mut response = Redirect::to(&safe_next(q.next.as_deref())).into_response();
    let cookie = format!(
        "lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
        locale.code()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, v);
    }
    Ok(response)
}

/// This area's routes (full paths: the security suite reads every route under src/http).
pub fn router() -> Router<AppState> {
    Router::new().route("/lang/{code}", get(switch))
}
