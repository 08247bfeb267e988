//! An email address that has been parsed, not merely checked.

use std::fmt;

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

/// The longest address SMTP can carry (RFC 5321 path limit less the brackets).
pub const MAX_LEN: usize = 254;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("enter an email address such as name@example.org")]
pub struct InvalidEmail;

impl Email {
    /// Accepts the addresses people actually type; rejects anything that could not be
    /// delivered or that could smuggle a header (whitespace, control characters).
    pub fn parse(input: &str) -> Result<Self, InvalidEmail> {
        let s = input.trim();
        if s.len() > MAX_LEN || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(InvalidEmail);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(InvalidEmail)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        if local.len() > 64 || !is_dot_atom(local) || !domain_ok {
            return Err(InvalidEmail);
        }
        // Domains are case-insensitive; normalising them keeps one spelling in the outbox.
        Ok(Email(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// RFC 5322 `dot-atom`: `atext` runs separated by single dots, no dot first or last. No
/// quoted strings, comments or angle brackets: what people type, and nothing a mail header
/// or a template could read otherwise. Letters and digits beyond ASCII stay (RFC 6531).
fn is_dot_atom(local: &str) -> bool {
    let atext = |c: char| {
        c.is_ascii_alphanumeric()
            || "!#$%&'*+-/=?^_`{|}~".contains(c)
            || (!c.is_ascii() && c.is_alphanumeric())
    };
    !local.is_empty()
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(atext))
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        assert_eq!(
            Email::parse(" Jane.Doe+x@Example.ORG ").unwrap().as_str(),
            "Jane.Doe+x@example.org"
        );
        assert!(Email::parse("a@b.fr").is_ok());
        for good in [
            "o'brien@example.org",
            "first.last@example.org",
            "a!#$%&'*+-/=?^_`{|}~z@example.org",
            "zoë@exemple.fr",
            "用户@例子.中国",
        ] {
            assert!(Email::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn rejects_what_cannot_be_an_address() {
        for bad in [
            "",
            "plain",
            "@example.org",
            "a@",
            "a@b",
            "a b@c.fr",
            "a@b..fr",
            "a@.b.fr",
            "a@b.fr\r\nBcc: x@y.z",
            "a@b@c.fr",
            "\"a\"@example.test",
            "a<b>@example.test",
            "<a@example.test>",
            "a(comment)@example.test",
            "a,b@example.test",
            "a;b@example.test",
            "a:b@example.test",
            "a[b]@example.test",
            "a\\b@example.test",
            ".a@example.test",
            "a.@example.test",
            "a..b@example.test",
            "a\u{0}@example.test",
            "a\u{200b}@example.test",
        ] {
            assert_eq!(Email::parse(bad), Err(InvalidEmail), "{bad:?}");
        }
        let long = format!("{}@example.org", "a".repeat(65));
        assert!(Email::parse(&long).is_err());
    }
}
