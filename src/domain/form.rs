//! Per-field errors for forms: the page re-renders with the typed values and these messages.

use std::collections::BTreeMap;

/// Field name → translation key of the message shown under that field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, message_key: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_insert_with(|| message_key.into());
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `Ok(value)` when nothing was recorded, the errors otherwise.
    pub fn into_result<T>(self, value: impl FnOnce() -> T) -> Result<T, FieldErrors> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

/// What can be wrong with a typed text besides being blank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextProblem {
    /// Characters nobody types: control characters make no sense in a one-line field (and
    /// NUL cannot even be stored); multi-line text keeps its tabs and line breaks.
    ControlCharacters,
    TooLong,
}

impl TextProblem {
    pub fn message_key(self) -> &'static str {
        match self {
            TextProblem::ControlCharacters => "errors.control_chars",
            TextProblem::TooLong => "errors.too_long",
        }
    }
}

/// The rule every text field shares: at most `max` characters, no control characters
/// (except tab and line breaks in `multiline` text).
pub fn text_problem(value: &str, max: usize, multiline: bool) -> Option<TextProblem> {
    let allowed = |c: char| multiline && matches!(c, '\t' | '\r' | '\n');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        Some(TextProblem::ControlCharacters)
    } else if value.chars().count() > max {
        Some(TextProblem::TooLong)
    } else {
        None
    }
}

/// Trims and requires a one-line value of at most `max` characters.
pub fn required(errors: &mut FieldErrors, field: &str, value: &str, max: usize) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.add(field, "errors.required");
    } else if let Some(problem) = text_problem(v, max, false) {
        errors.add(field, problem.message_key());
    }
    v.to_owned()
}

/// Trims an optional one-line value; too long or control characters are still errors.
pub fn optional(errors: &mut FieldErrors, field: &str, value: &str, max: usize) -> Option<String> {
    let v = value.trim();
    if let Some(problem) = text_problem(v, max, false) {
        errors.add(field, problem.message_key());
    }
    (!v.is_empty()).then(|| v.to_owned())
}

/// Trims optional multi-line text (a textarea): tabs and line breaks are kept.
pub fn optional_text(
    errors: &mut FieldErrors,
    field: &str,
    value: &str,
    max: usize,
) -> Option<String> {
    let v = value.trim();
    if let Some(problem) = text_problem(v, max, true) {
        errors.add(field, problem.message_key());
    }
    (!v.is_empty()).then(|| v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_fields_refuse_control_characters() {
        for bad in ["a\0b", "a\u{1}", "a\u{7f}", "a\nb", "a\tb", "x\u{85}y"] {
            let mut e = FieldErrors::default();
            required(&mut e, "f", bad, 100);
            assert_eq!(e.get("f"), Some("errors.control_chars"), "{bad:?}");
            let mut e = FieldErrors::default();
            optional(&mut e, "f", bad, 100);
            assert_eq!(e.get("f"), Some("errors.control_chars"), "{bad:?}");
        }
        let mut e = FieldErrors::default();
        assert_eq!(required(&mut e, "f", "  Zoë O'Brien  ", 100), "Zoë O'Brien");
        assert!(e.is_empty());
    }

    #[test]
    fn multi_line_text_keeps_its_line_breaks_only() {
        let mut e = FieldErrors::default();
        let v = optional_text(&mut e, "f", "line 1\r\n\tline 2\n", 100);
        assert!(e.is_empty());
        assert_eq!(v.as_deref(), Some("line 1\r\n\tline 2"));
        for bad in ["a\0b", "a\u{1b}[31m", "a\u{7f}"] {
            let mut e = FieldErrors::default();
            optional_text(&mut e, "f", bad, 100);
            assert_eq!(e.get("f"), Some("errors.control_chars"), "{bad:?}");
        }
    }

    #[test]
    fn lengths_count_characters() {
        let mut e = FieldErrors::default();
        required(&mut e, "f", &"é".repeat(100), 100);
        assert!(e.is_empty());
        required(&mut e, "f", &"é".repeat(101), 100);
        assert_eq!(e.get("f"), Some("errors.too_long"));
    }
}
