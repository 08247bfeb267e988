//! A person's first or last name, with the one set of rules every path that takes a name
//! applies: the checkout's customer details, a seat's single assignment, the bulk CSV.

use std::fmt;

use super::form::{FieldErrors, TextProblem, text_problem};

/// A trimmed, non-empty name of at most [`PersonName::MAX_CHARS`] characters, without
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidName {
    #[error("a name is required")]
    Empty,
    #[error("a name has at most 100 characters")]
    TooLong,
    #[error("a name cannot hold control characters")]
    ControlCharacters,
}

impl InvalidName {
    /// The translation key of the message shown for it.
    pub fn message_key(self) -> &'static str {
        match self {
            InvalidName::Empty => "errors.required",
            InvalidName::TooLong => "errors.too_long",
            InvalidName::ControlCharacters => "errors.control_chars",
        }
    }
}

impl PersonName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(input: &str) -> Result<PersonName, InvalidName> {
        let v = input.trim();
        if v.is_empty() {
            return Err(InvalidName::Empty);
        }
        match text_problem(v, Self::MAX_CHARS, false) {
            Some(TextProblem::ControlCharacters) => Err(InvalidName::ControlCharacters),
            Some(TextProblem::TooLong) => Err(InvalidName::TooLong),
            None => Ok(PersonName(v.to_owned())),
        }
    }

    /// A name that may be left blank (a learner who already has an account).
    pub fn parse_optional(input: &str) -> Result<Option<PersonName>, InvalidName> {
        match PersonName::parse(input) {
            Ok(name) => Ok(Some(name)),
            Err(InvalidName::Empty) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A required name field of a form: the trimmed value, or an error under `field`.
    pub fn field(errors: &mut FieldErrors, field: &str, value: &str) -> String {
        match PersonName::parse(value) {
            Ok(name) => name.0,
            Err(e) => {
                errors.add(field, e.message_key());
                value.trim().to_owned()
            }
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for PersonName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_names_people_have() {
        for name in ["Ada", "Zoë", "O'Brien", "Jean-Luc", "李", "van der Berg"] {
            assert_eq!(PersonName::parse(name).unwrap().as_str(), name);
        }
        assert_eq!(PersonName::parse("  Ada ").unwrap().as_str(), "Ada");
        assert_eq!(
            PersonName::parse(&"é".repeat(100))
                .unwrap()
                .as_str()
                .chars()
                .count(),
            100
        );
    }

    #[test]
    fn refuses_blank_long_and_control_characters() {
        assert_eq!(PersonName::parse(" "), Err(InvalidName::Empty));
        assert_eq!(
            PersonName::parse(&"a".repeat(101)),
            Err(InvalidName::TooLong)
        );
        for bad in ["A\0", "A\u{1}B", "A\nB", "A\u{7f}", "A\tB"] {
            assert_eq!(
                PersonName::parse(bad),
                Err(InvalidName::ControlCharacters),
                "{bad:?}"
            );
        }
        assert_eq!(PersonName::parse_optional(""), Ok(None));
        assert_eq!(
            PersonName::parse_optional(&"a".repeat(101)),
            Err(InvalidName::TooLong)
        );
    }

    #[test]
    fn a_form_field_reports_under_its_name() {
        let mut errors = FieldErrors::default();
        assert_eq!(PersonName::field(&mut errors, "firstname", " Ada "), "Ada");
        PersonName::field(&mut errors, "lastname", &"x".repeat(101));
        assert_eq!(errors.get("lastname"), Some("errors.too_long"));
        assert!(!errors.has("firstname"));
    }
}
