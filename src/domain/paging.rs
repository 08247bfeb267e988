//! The page number of a paged list (`?page=`): one type for every list, read leniently from
//! the query string and clamped, so that no typed number can overflow into a negative
//! `OFFSET`.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A page number between 1 and [`PageNo::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PageNo(i64);

impl PageNo {
    pub const FIRST: PageNo = PageNo(1);
    /// Far past any real list; keeps every offset computed from a page number small.
    pub const MAX: i64 = 1_000_000;

    pub fn new(n: i64) -> PageNo {
        PageNo(n.clamp(1, Self::MAX))
    }

    /// What a query string gave: a number (clamped: `9223372036854775807` and beyond are
    /// the last page, zero and negatives the first), anything else the first page.
    pub fn parse(input: &str) -> PageNo {
        let s = input.trim();
        match s.parse::<i64>() {
            Ok(n) => PageNo::new(n),
            // Only digits, yet no i64: a number too large.
            Err(_)
                if !s.is_empty()
                    && s.trim_start_matches('+')
                        .bytes()
                        .all(|b| b.is_ascii_digit()) =>
            {
                PageNo::new(i64::MAX)
            }
            Err(_) => PageNo::FIRST,
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }

    /// Rows to skip before this page; never negative, never overflows.
    pub fn offset(self, per_page: i64) -> i64 {
        (self.0 - 1).saturating_mul(per_page.max(0))
    }

    /// Past the last page (an old link, a hand-typed number): the last one.
    pub fn at_most(self, pages: i64) -> PageNo {
        PageNo::new(self.0.min(pages))
    }

    /// How many pages `total` rows fill, at least one (an empty list is one empty page).
    pub fn count(total: i64, per_page: i64) -> i64 {
        let per_page = per_page.max(1);
        (total.max(0) / per_page + i64::from(total % per_page > 0)).max(1)
    }
}

impl Default for PageNo {
    fn default() -> Self {
        PageNo::FIRST
    }
}

impl fmt::Display for PageNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for PageNo {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = PageNo;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a page number")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PageNo, E> {
                Ok(PageNo::parse(v))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PageNo, E> {
                Ok(PageNo::new(v))
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PageNo, E> {
                Ok(PageNo::new(i64::try_from(v).unwrap_or(i64::MAX)))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Query {
        page: PageNo,
    }

    fn from_query(q: &str) -> PageNo {
        serde_urlencoded::from_str::<Query>(q).unwrap().page
    }

    #[test]
    fn reads_any_query_without_failing() {
        assert_eq!(from_query(""), PageNo::FIRST);
        assert_eq!(from_query("page=3").get(), 3);
        assert_eq!(from_query("page=0"), PageNo::FIRST);
        assert_eq!(from_query("page=-5"), PageNo::FIRST);
        assert_eq!(from_query("page=abc"), PageNo::FIRST);
        assert_eq!(from_query("page="), PageNo::FIRST);
        assert_eq!(from_query("page=9223372036854775807").get(), PageNo::MAX);
        assert_eq!(
            from_query("page=99999999999999999999999").get(),
            PageNo::MAX
        );
        assert_eq!(from_query("page=-9223372036854775808"), PageNo::FIRST);
    }

    #[test]
    fn offsets_never_overflow_nor_go_negative() {
        assert_eq!(PageNo::FIRST.offset(50), 0);
        assert_eq!(PageNo::new(3).offset(50), 100);
        let last = PageNo::new(i64::MAX);
        assert!(last.offset(50) > 0);
        assert!(last.offset(i64::MAX) > 0);
        assert_eq!(PageNo::new(2).offset(-1), 0);
    }

    #[test]
    fn pages_and_clamping() {
        assert_eq!(PageNo::count(0, 50), 1);
        assert_eq!(PageNo::count(50, 50), 1);
        assert_eq!(PageNo::count(51, 50), 2);
        assert_eq!(PageNo::count(i64::MAX, 50), i64::MAX / 50 + 1);
        assert_eq!(PageNo::new(9).at_most(2).get(), 2);
        assert_eq!(PageNo::new(1).at_most(0), PageNo::FIRST);
    }
}
