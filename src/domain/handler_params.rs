//! Handler parameter strings (`k1=v1&k2=v2`, URL-encoded, as in the original plugin) and the
//! value types they carry: dates, durations, course patterns.

use std::collections::BTreeMap;

use thiserror::Error;
use time::{
    Date, Duration, OffsetDateTime, format_description::well_known::Iso8601,
    macros::format_description,
};

/// Parsed parameters, keys in a stable order so that re-encoding is deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandlerParams(BTreeMap<String, String>);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ParamsError {
    #[error("the parameter string is not URL-encoded `key=value&key=value`")]
    Malformed,
    #[error("a parameter has no name")]
    EmptyKey,
    #[error("parameter `{0}` is given twice")]
    Duplicate(String),
    #[error("a parameter holds a control character")]
    ControlCharacters,
}

impl HandlerParams {
    pub fn parse(input: &str) -> Result<Self, ParamsError> {
        let input = input.trim();
        // `form_urlencoded` accepts anything; a pair without `=` is how typos show up.
        if input
            .split('&')
            .any(|pair| !pair.is_empty() && !pair.contains('='))
        {
            return Err(ParamsError::Malformed);
        }
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(input).map_err(|_| ParamsError::Malformed)?;
        let mut map = BTreeMap::new();
        for (key, value) in pairs {
            let key = key.trim().to_owned();
            if key.is_empty() {
                return Err(ParamsError::EmptyKey);
            }
            if key
                .chars()
                .chain(value.trim().chars())
                .any(char::is_control)
            {
                return Err(ParamsError::ControlCharacters);
            }
            if map.insert(key.clone(), value.trim().to_owned()).is_some() {
                return Err(ParamsError::Duplicate(key));
            }
        }
        Ok(HandlerParams(map))
    }

    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        HandlerParams(
            pairs
                .into_iter()
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                .collect(),
        )
    }

    /// The value, or `None` when absent or blank (a blank field means "use the default").
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    pub fn encode(&self) -> String {
        serde_urlencoded::to_string(&self.0).unwrap_or_default()
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("`{0}` is not a date: use 2027-01-31 (or Unix seconds)")]
pub struct InvalidDate(pub String);

/// A date as operators write it: ISO `2027-01-31` or, for compatibility, Unix seconds.
/// Returns the instant at 00:00 UTC for an ISO date.
pub fn parse_date(input: &str) -> Result<OffsetDateTime, InvalidDate> {
    let s = input.trim();
    let bad = || InvalidDate(s.to_owned());
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = s.parse().map_err(|_| bad())?;
        return OffsetDateTime::from_unix_timestamp(secs).map_err(|_| bad());
    }
    if let Ok(date) = Date::parse(s, format_description!("[year]-[month]-[day]")) {
        return Ok(date.midnight().assume_utc());
    }
    OffsetDateTime::parse(s, &Iso8601::DEFAULT).map_err(|_| bad())
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("`{0}` is not a duration: use +30D (days) or +12H (hours)")]
pub struct InvalidDuration(pub String);

/// A relative duration `+30D` / `+12H` (the sign is optional).
pub fn parse_duration(input: &str) -> Result<Duration, InvalidDuration> {
    let s = input.trim();
    let bad = || InvalidDuration(s.to_owned());
    let body = s.strip_prefix('+').unwrap_or(s);
    // Split off the last *character*: typed input may end in any Unicode letter.
    let unit = body.chars().last().ok_or_else(bad)?;
    let number = &body[..body.len() - unit.len_utf8()];
    let n: i64 = number.parse().map_err(|_| bad())?;
    if !(1..=36_500).contains(&n) {
        return Err(bad());
    }
    match unit {
        'D' | 'd' => Ok(Duration::days(n)),
        'H' | 'h' => Ok(Duration::hours(n)),
        _ => Err(bad()),
    }
}

/// A point in time given either absolutely or relative to "now" (`starttime`, `endtime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    At(OffsetDateTime),
    After(Duration),
}

impl When {
    pub fn parse(input: &str) -> Result<When, InvalidDate> {
        let s = input.trim();
        if s.starts_with('+') {
            return parse_duration(s)
                .map(When::After)
                .map_err(|_| InvalidDate(s.to_owned()));
        }
        parse_date(s).map(When::At)
    }

    pub fn resolve(self, now: OffsetDateTime) -> OffsetDateTime {
        match self {
            When::At(t) => t,
            When::After(d) => now + d,
        }
    }
}

/// A comma-separated list of course shortname patterns; `%` and `*` match any run of
/// characters. An empty list means "any visible course".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CoursePatterns(Vec<String>);

impl CoursePatterns {
    pub fn parse(input: &str) -> Self {
        CoursePatterns(
            input
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn patterns(&self) -> &[String] {
        &self.0
    }

    pub fn matches(&self, shortname: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|p| wildcard_match(p, shortname))
    }
}

/// Case-insensitive match where `%` and `*` stand for any run of characters.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    // Iterative glob matching with backtracking to the last star: linear in practice,
    // no recursion an operator could blow up with a pattern of many stars.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '%' || p[pi] == '*') {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '%' || *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn parses_url_encoded_pairs() {
        let p = HandlerParams::parse("courselist=X-A%25&packsize=5&supervisor=teacher").unwrap();
        assert_eq!(p.get("courselist"), Some("X-A%"));
        assert_eq!(p.get("packsize"), Some("5"));
        assert_eq!(p.get("nothing"), None);
        assert_eq!(HandlerParams::parse("").unwrap(), HandlerParams::default());
        assert_eq!(HandlerParams::parse("a=1&&b=2").unwrap().keys().count(), 2);
    }

    #[test]
    fn a_literal_percent_wildcard_survives_as_typed() {
        // Operators type `X-A%` unencoded, as in the original; `%` followed by non-hex
        // must not be rejected or eaten.
        let p = HandlerParams::parse("courselist=X-A%&packsize=5").unwrap();
        assert_eq!(p.get("courselist"), Some("X-A%"));
    }

    #[test]
    fn rejects_malformed_strings() {
        assert_eq!(
            HandlerParams::parse("packsize"),
            Err(ParamsError::Malformed)
        );
        assert_eq!(HandlerParams::parse("=5"), Err(ParamsError::EmptyKey));
        assert_eq!(
            HandlerParams::parse("a=1&a=2"),
            Err(ParamsError::Duplicate("a".into()))
        );
        for bad in ["coursename=X%00", "a%01=1", "supervisor=teacher%0Aevil"] {
            assert_eq!(
                HandlerParams::parse(bad),
                Err(ParamsError::ControlCharacters),
                "{bad}"
            );
        }
    }

    #[test]
    fn encodes_back_deterministically() {
        let p = HandlerParams::parse("b=2&a=x y").unwrap();
        assert_eq!(p.encode(), "a=x+y&b=2");
        assert_eq!(HandlerParams::parse(&p.encode()).unwrap(), p);
    }

    #[test]
    fn dates_accept_iso_and_unix_seconds() {
        assert_eq!(
            parse_date("2027-01-31").unwrap(),
            datetime!(2027-01-31 0:00 UTC)
        );
        assert_eq!(
            parse_date("1800000000").unwrap(),
            datetime!(2027-01-15 8:00 UTC)
        );
        for bad in [
            "",
            "31/01/2027",
            "2027-02-30",
            "tomorrow",
            "-5",
            "99999999999999999999",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_accept_days_and_hours() {
        assert_eq!(parse_duration("+30D"), Ok(Duration::days(30)));
        assert_eq!(parse_duration("12h"), Ok(Duration::hours(12)));
        for bad in [
            "",
            "+",
            "+D",
            "+0D",
            "+30W",
            "30",
            "+-3D",
            "+99999999D",
            "+3é",
            "+𛲄",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn when_is_absolute_or_relative() {
        let now = datetime!(2027-01-01 0:00 UTC);
        assert_eq!(
            When::parse("+2D").unwrap().resolve(now),
            datetime!(2027-01-03 0:00 UTC)
        );
        assert_eq!(
            When::parse("2027-03-01").unwrap().resolve(now),
            datetime!(2027-03-01 0:00 UTC)
        );
    }

    #[test]
    fn course_patterns_use_both_wildcards() {
        let p = CoursePatterns::parse("X-A%, 11.2.3.*-FI");
        assert!(p.matches("X-A1"));
        assert!(p.matches("x-a2"));
        assert!(p.matches("11.2.3.9-Aha-FI"));
        assert!(!p.matches("X-SUPPORT"));
        assert!(CoursePatterns::parse(" , ").matches("anything"));
        assert!(wildcard_match("A*B*C", "AxxBxxC"));
        assert!(!wildcard_match("A*B*C", "AxxBxx"));
        assert!(wildcard_match("%", ""));
        assert!(!wildcard_match(&"*a".repeat(50), &"a".repeat(40)));
    }
}
