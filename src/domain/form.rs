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

/// Trims and requires a value of at most `max` characters.
pub fn required(errors: &mut FieldErrors, field: &str, value: &str, max: usize) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.add(field, "errors.required");
    } else if v.chars().count() > max {
        errors.add(field, "errors.too_long");
    }
    v.to_owned()
}

/// Trims an optional value; too long is still an error.
pub fn optional(errors: &mut FieldErrors, field: &str, value: &str, max: usize) -> Option<String> {
    let v = value.trim();
    if v.chars().count() > max {
        errors.add(field, "errors.too_long");
    }
    (!v.is_empty()).then(|| v.to_owned())
}
