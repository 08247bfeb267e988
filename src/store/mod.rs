//! SQL, one module per aggregate. Functions take an executor so callers choose the transaction.

pub mod bills;
pub mod catalogue;
pub mod courses;
pub mod customers;
pub mod lms;
pub mod lms_jobs;
pub mod outbox;
pub mod seats;
pub mod secrets;
pub mod sessions;
pub mod settings;
pub mod tokens;
pub mod users;

/// A `LIKE … ESCAPE '\\'` pattern matching `typed` anywhere, trimmed, with the pattern
/// characters of what was typed taken literally (`50%` finds "50%", not "50 anything").
pub fn contains_pattern(typed: &str) -> String {
    let escaped = typed
        .trim()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn typed_pattern_characters_are_literal() {
        assert_eq!(contains_pattern(" ada "), "%ada%");
        assert_eq!(contains_pattern("50%_off"), "%50\\%\\_off%");
        assert_eq!(contains_pattern("a\\b"), "%a\\\\b%");
    }
}
