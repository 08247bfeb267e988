//! Language of a request: the `lang` cookie (footer switch), else Accept-Language, else English.
//! Texts live in `locales/*.yml` and are looked up with `rust-i18n`.

use std::borrow::Cow;

use axum::http::HeaderMap;
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    En,
    Fr,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Fr];

    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fr => "fr",
        }
    }

    pub fn parse(code: &str) -> Option<Locale> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Locale::En),
            "fr" => Some(Locale::Fr),
            _ => None,
        }
    }

    pub fn from_headers(headers: &HeaderMap) -> Locale {
        cookie(headers, "lang")
            .and_then(|v| Locale::parse(&v))
            .or_else(|| {
                let accept = headers.get(ACCEPT_LANGUAGE)?.to_str().ok()?;
                best_accepted(accept)
            })
            .unwrap_or_default()
    }

    pub fn t(self, key: &str) -> Cow<'static, str> {
        Cow::Owned(rust_i18n::t!(key, locale = self.code()).into_owned())
    }
}

/// The supported language with the highest q-value in an Accept-Language header.
fn best_accepted(header: &str) -> Option<Locale> {
    header
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let locale = Locale::parse(pieces.next()?)?;
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q=")?.parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((locale, q))
        })
        .filter(|(_, q)| *q > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(locale, _)| locale)
}

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_preferred_supported_language() {
        assert_eq!(best_accepted("fr-FR,fr;q=0.9,en;q=0.8"), Some(Locale::Fr));
        assert_eq!(best_accepted("de,en;q=0.5,fr;q=0.7"), Some(Locale::Fr));
        assert_eq!(best_accepted("de"), None);
        assert_eq!(best_accepted("fr;q=0"), None);
    }

    #[test]
    fn every_key_exists_in_both_languages() {
        for key in ["nav.shop", "nav.cart", "errors.not_found", "auth.login"] {
            for locale in Locale::ALL {
                let text = locale.t(key);
                assert!(!text.contains(key), "{key} missing in {}", locale.code());
            }
        }
        assert_ne!(Locale::En.t("nav.cart"), Locale::Fr.t("nav.cart"));
    }
}
