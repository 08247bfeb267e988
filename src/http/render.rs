use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::error::AppResult;

/// Renders a page with status 200.
pub fn html(template: impl Template) -> AppResult<Response> {
    Ok(Html(template.render()?).into_response())
}

/// Renders a page with another status: a form re-shown with its errors is a 4xx.
pub fn html_status(status: StatusCode, template: impl Template) -> AppResult<Response> {
    Ok((status, Html(template.render()?)).into_response())
}

/// The bytes of the `csv` file field of a multipart upload (empty when absent).
pub async fn uploaded_csv(mut multipart: axum::extract::Multipart) -> AppResult<Vec<u8>> {
    let unreadable = || crate::error::AppError::bad_request("errors.bad_form");
    while let Some(field) = multipart.next_field().await.map_err(|_| unreadable())? {
        if field.name() == Some("csv") {
            return Ok(field.bytes().await.map_err(|_| unreadable())?.to_vec());
        }
    }
    Ok(Vec::new())
}

/// Only same-site paths are followed after login: `//evil.example` and `https://…` are not.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next(Some("/customer?x=1")), "/customer?x=1");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
