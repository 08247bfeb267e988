//! What an operator typed in a search box, recognised once: a seat reference, a bill number,
//! an email address, or free text. The first three are exact and take their unique index;
//! only free text is a substring search (trigram indexes). One ILIKE across joins for every
//! kind made each search read whole tables (issue 16).

use crate::domain::{Email, SeatReference};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// Nothing typed: the whole list.
    All,
    /// `7K3M-Q9TD-2XHB-8F4R`, in any case, with or without dashes; its check symbol matches.
    Reference(SeatReference),
    /// `B0000000123` or `123`.
    BillNumber(i64),
    Email(Email),
    /// Anything else, trimmed: part of a name, an organisation, an address.
    Text(String),
}

impl Search {
    pub fn parse(typed: &str) -> Search {
        let typed = typed.trim();
        if typed.is_empty() {
            return Search::All;
        }
        if let Ok(reference) = typed.parse::<SeatReference>() {
            return Search::Reference(reference);
        }
        let digits = typed.strip_prefix(['B', 'b']).unwrap_or(typed);
        if !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && let Ok(number) = digits.parse::<i64>()
        {
            return Search::BillNumber(number);
        }
        if typed.contains('@')
            && let Ok(email) = Email::parse(typed)
        {
            return Search::Email(email);
        }
        Search::Text(typed.to_owned())
    }
}

/// Part of a learner's name or address, as a customer types it in the customer space: a
/// substring, matched whatever the case, in which `%`, `_` and `\` mean themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnerSearch(String);

impl LearnerSearch {
    /// Longest text searched: more is no name or address anyone types.
    pub const MAX_CHARS: usize = 100;

    /// `None` for nothing typed (no filter); a longer text is cut at the limit.
    pub fn parse(typed: &str) -> Option<LearnerSearch> {
        let typed: String = typed.trim().chars().take(Self::MAX_CHARS).collect();
        (!typed.is_empty()).then_some(LearnerSearch(typed))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `ILIKE` pattern: the text anywhere, its wildcards escaped.
    pub fn like_pattern(&self) -> String {
        let mut p = String::with_capacity(self.0.len() + 2);
        p.push('%');
        for c in self.0.chars() {
            if matches!(c, '%' | '_' | '\\') {
                p.push('\\');
            }
            p.push(c);
        }
        p.push('%');
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_learner_search_is_a_literal_substring() {
        assert_eq!(LearnerSearch::parse("   "), None);
        let s = LearnerSearch::parse(" Ann ").unwrap();
        assert_eq!(s.as_str(), "Ann");
        assert_eq!(s.like_pattern(), "%Ann%");
        assert_eq!(
            LearnerSearch::parse("50%_a\\b").unwrap().like_pattern(),
            "%50\\%\\_a\\\\b%"
        );
        let long = "é".repeat(300);
        assert_eq!(
            LearnerSearch::parse(&long)
                .unwrap()
                .as_str()
                .chars()
                .count(),
            LearnerSearch::MAX_CHARS
        );
    }

    #[test]
    fn recognises_each_kind() {
        assert_eq!(Search::parse("  "), Search::All);
        assert_eq!(Search::parse("B0000000123"), Search::BillNumber(123));
        assert_eq!(Search::parse("b42"), Search::BillNumber(42));
        assert_eq!(Search::parse("42"), Search::BillNumber(42));
        assert!(matches!(Search::parse("Ann@Example.org"), Search::Email(_)));
        assert_eq!(Search::parse(" Dubois "), Search::Text("Dubois".into()));
        assert_eq!(Search::parse("B"), Search::Text("B".into()));
        // Too many digits for a bill number: text.
        assert_eq!(
            Search::parse("99999999999999999999"),
            Search::Text("99999999999999999999".into())
        );
        assert_eq!(
            Search::parse("not@an address"),
            Search::Text("not@an address".into())
        );
    }

    #[test]
    fn a_generated_reference_is_recognised_in_any_spelling() {
        let r = SeatReference::generate(&mut rand::thread_rng());
        let loose = r.as_str().to_lowercase().replace('-', "");
        assert_eq!(Search::parse(&loose), Search::Reference(r));
    }
}
