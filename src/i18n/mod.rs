//! Language of a request: the `lang` cookie (footer switch), else Accept-Language, else English.
//! Texts live in `locales/*.yml` and are looked up with `rust-i18n`.

pub mod formats;

use std::borrow::Cow;

use axum::http::HeaderMap;
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
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
        let text = rust_i18n::t!(key, locale = self.code());
        match self {
            Locale::En => Cow::Owned(text.into_owned()),
            Locale::Fr => Cow::Owned(french_spacing(&text)),
        }
    }

    /// A text about `count` things, in the plural form CLDR gives this language for it
    /// (`key.one` or `key.other`: French says "0 siège", English "0 seats"), `%{count}` filled.
    pub fn tn(self, key: &str, count: u64) -> String {
        let form = match plural_rules(self).category_for(count) {
            icu_plurals::PluralCategory::One => "one",
            _ => "other",
        };
        fill(
            &self.t(&format!("{key}.{form}")),
            &[("count", &count.to_string())],
        )
    }

    /// The separator between a label and its value: `Amount: 12` / `Montant : 12`.
    pub fn colon(self) -> &'static str {
        match self {
            Locale::En => ":",
            Locale::Fr => "\u{a0}:",
        }
    }
}

fn plural_rules(locale: Locale) -> &'static icu_plurals::PluralRules {
    use std::sync::LazyLock;
    static RULES: LazyLock<[icu_plurals::PluralRules; 2]> = LazyLock::new(|| {
        Locale::ALL.map(|l| {
            let code = formats::icu(l);
            // Compiled data covers both languages (the unit test below would fail otherwise).
            icu_plurals::PluralRules::try_new_cardinal((&code).into())
                .expect("compiled plural data")
        })
    });
    &RULES[match locale {
        Locale::En => 0,
        Locale::Fr => 1,
    }]
}

/// French typography: a no-break space before `:` and a narrow one before `;`, `!`, `?`, so
/// the sign never starts a line. `fr.yml` writes plain spaces, for whoever edits it.
fn french_spacing(text: &str) -> String {
    text.replace(" :", "\u{a0}:")
        .replace(" ;", "\u{202f};")
        .replace(" !", "\u{202f}!")
        .replace(" ?", "\u{202f}?")
}

/// A translated text with its `%{name}` placeholders filled, in one pass over the text:
/// a substituted value is never read again, so a name that contains `%{link}` stays
/// that text. A placeholder without a value is left as written.
pub fn fill(text: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("%{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let value = after.find('}').and_then(|end| {
            let key = &after[..end];
            args.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v, end + 1))
        });
        match value {
            Some((v, used)) => {
                out.push_str(v);
                rest = &after[used..];
            }
            None => {
                out.push_str("%{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
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

/// A cookie's value from the request headers (every `Cookie` header, parsed by the `cookie`
/// crate: quoting and malformed pairs are its business).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| ::cookie::Cookie::split_parse(v).filter_map(Result::ok))
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
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
    fn fill_substitutes_once_and_never_expands_a_value() {
        assert_eq!(
            fill("Hello %{name}, %{link}", &[("name", "Ada"), ("link", "L")]),
            "Hello Ada, L"
        );
        // A value holding a placeholder stays as typed, whatever the order of the arguments.
        for args in [
            [("name", "%{link} %{name}"), ("link", "http://x/set")],
            [("link", "http://x/set"), ("name", "%{link} %{name}")],
        ] {
            assert_eq!(
                fill("Hi %{name}: %{link}", &args),
                "Hi %{link} %{name}: http://x/set"
            );
        }
        assert_eq!(fill("%{a}%{a}", &[("a", "x")]), "xx");
        assert_eq!(
            fill("100%{ %{unknown} %{x", &[("x", "y")]),
            "100%{ %{unknown} %{x"
        );
        assert_eq!(fill("é%{k}ü", &[("k", "ß")]), "éßü");
    }

    /// Literal keys in templates and code: `t("…")` calls and quoted `area.key` strings.
    fn keys_used_in_sources() -> std::collections::BTreeSet<String> {
        const AREAS: &[&str] = &[
            "errors.",
            "auth.",
            "admin.",
            "handlers.",
            "shop.",
            "nav.",
            "common.",
            "checkout.",
            "customer.",
            "learner.",
            "cart.",
            "bill.",
            "seat.",
            "mail.",
            "coupon.",
        ];
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        let mut dirs = vec![root.join("src"), root.join("templates")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path)
                } else {
                    files.push(path)
                }
            }
        }
        let mut keys = std::collections::BTreeSet::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for piece in text.split('"').skip(1).step_by(2) {
                let is_key = AREAS.iter().any(|a| piece.starts_with(a))
                    && piece.len() > 4
                    && !piece.ends_with('.')
                    && piece.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'
                    });
                if is_key {
                    keys.insert(piece.to_owned());
                }
            }
        }
        keys
    }

    #[test]
    fn every_key_used_exists_in_english_and_french() {
        let keys = keys_used_in_sources();
        assert!(keys.len() > 100, "the scan finds the keys ({})", keys.len());
        // The detection itself: a key that does not exist comes back as itself.
        assert!(
            Locale::En
                .t("errors.surely_absent")
                .ends_with("errors.surely_absent")
        );
        let mut missing = Vec::new();
        for key in &keys {
            for locale in Locale::ALL {
                let text = locale.t(key);
                // A counted text (`tn`) has its plural forms under the key.
                let counted = !locale.t(&format!("{key}.other")).ends_with(".other");
                if text.ends_with(key.as_str()) && !counted {
                    missing.push(format!("{}: {key}", locale.code()));
                }
            }
        }
        assert!(missing.is_empty(), "missing translations: {missing:#?}");
    }

    #[test]
    fn counts_take_the_plural_form_of_the_language() {
        assert_eq!(Locale::En.tn("seat.count", 1), "1 seat");
        assert_eq!(Locale::En.tn("seat.count", 0), "0 seats");
        assert_eq!(Locale::Fr.tn("seat.count", 0), "0 siège");
        assert_eq!(Locale::Fr.tn("seat.count", 2), "2 sièges");
    }

    #[test]
    fn french_texts_keep_their_punctuation_with_its_word() {
        let text = Locale::Fr.t("auth.forgot");
        assert!(text.ends_with("oublié\u{202f}?"), "{text}");
        assert!(
            Locale::Fr
                .t("admin.not_saved")
                .ends_with("enregistré\u{a0}:")
        );
        assert_eq!(
            french_spacing("a : b ; c ! d ? https://x"),
            "a\u{a0}: b\u{202f}; c\u{202f}! d\u{202f}? https://x"
        );
    }

    /// Every French text spaces its `:;!?` (made unbreakable by `french_spacing`): none glued
    /// to the word before, as in "Disponible: 3".
    #[test]
    fn french_punctuation_is_spaced_in_the_translations() {
        let fr = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/locales/fr.yml"))
            .unwrap();
        let glued: Vec<&str> = fr
            .lines()
            .filter_map(|l| l.split_once(": ").map(|(_, v)| v))
            .filter(|v| {
                v.char_indices().any(|(i, c)| {
                    matches!(c, ':' | ';' | '!' | '?')
                        && v[..i].chars().last().is_some_and(char::is_alphanumeric)
                        && v[i + 1..]
                            .chars()
                            .next()
                            .is_none_or(|n| n == ' ' || n == '"')
                })
            })
            .collect();
        assert!(glued.is_empty(), "space these French signs: {glued:#?}");
    }

    /// A number followed by a noun ("1 seats") comes only from a counted text: every text with
    /// a `%{count}` is a plural form (`one:` / `other:`), read with `tn`, and no template writes
    /// a length followed by a word of its own.
    #[test]
    fn counts_are_only_said_through_plural_forms() {
        const FORMS: &[&str] = &["zero", "one", "two", "few", "many", "other"];
        let root = env!("CARGO_MANIFEST_DIR");
        let mut flat = Vec::new();
        for code in ["en", "fr"] {
            let text = std::fs::read_to_string(format!("{root}/locales/{code}.yml")).unwrap();
            for line in text.lines() {
                let Some((key, value)) = line.trim_start().split_once(": ") else {
                    continue;
                };
                if value.contains("%{count}") && !FORMS.contains(&key) {
                    flat.push(format!("{code}: {line}"));
                }
            }
        }
        assert!(flat.is_empty(), "make these counted texts: {flat:#?}");
        let mut dirs = vec![std::path::PathBuf::from(format!("{root}/templates"))];
        let mut glued = Vec::new();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for piece in text.split(".len() }}").skip(1) {
                    if piece.trim_start().starts_with(|c: char| c.is_alphabetic()) {
                        glued.push(path.display().to_string());
                    }
                }
            }
        }
        assert!(glued.is_empty(), "count with page.tn in: {glued:#?}");
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
