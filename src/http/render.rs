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

/// The first path segments a `next` may lead to: pages a person returns to after logging in.
const NEXT_AREAS: &[&str] = &[
    "shop", "cart", "checkout", "customer", "my", "course", "admin", "login", "password",
];

/// Where to go after logging in: a relative path of our own pages, or `/`. Browsers strip
/// tabs and newlines and read `\` as `/`, so `/\t/evil.example` would leave the site: any
/// control character, whitespace or backslash gives the default, as does a path into
/// anything but [`NEXT_AREAS`].
pub fn safe_next(next: Option<&str>) -> String {
    let default = || "/".to_owned();
    let Some(n) = next else {
        return default();
    };
    if n.len() > 2048
        || n.chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return default();
    }
    let Ok(uri) = n.parse::<axum::http::uri::PathAndQuery>() else {
        return default();
    };
    let path = uri.path();
    let first = path.strip_prefix('/').and_then(|p| p.split('/').next());
    match first {
        Some(segment) if path.as_bytes().get(1) != Some(&b'/') && NEXT_AREAS.contains(&segment) => {
            uri.as_str().to_owned()
        }
        _ => default(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next(Some("/customer?x=1")), "/customer?x=1");
        assert_eq!(safe_next(Some("/admin/bills/3")), "/admin/bills/3");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn characters_browsers_strip_never_lead_off_site() {
        for bad in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/ /evil.example",
            "/\u{1}x",
            "/\u{7f}x",
            "/customer\n",
            "/customer\r\nSet-Cookie: a=b",
            "/\u{0}",
            "/%0a",
            "/unknown",
            "",
            "customer",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
    }
}
