//! Property tests: the parsers that read what people type or upload never panic, and the
//! ones that round-trip do.

use lms_shop::domain::bulk;
use lms_shop::domain::course::parse_course_csv;
use lms_shop::domain::handler_params::{
    CoursePatterns, HandlerParams, When, parse_date, parse_duration, wildcard_match,
};
use lms_shop::domain::{Email, Money, PageNo, PersonName, SeatReference};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn handler_parameter_strings_never_panic(s in any::<String>()) {
        if let Ok(p) = HandlerParams::parse(&s) {
            // What parses re-encodes to something that parses to the same.
            prop_assert_eq!(HandlerParams::parse(&p.encode()).unwrap(), p);
        }
    }

    #[test]
    fn url_encoded_looking_strings_never_panic(s in "[a-z%&=+*,0-9A-F.-]{0,60}") {
        let _ = HandlerParams::parse(&s);
    }

    #[test]
    fn dates_durations_and_patterns_never_panic(s in any::<String>(), t in any::<String>()) {
        let _ = parse_date(&s);
        let _ = parse_duration(&s);
        let _ = When::parse(&s);
        let _ = CoursePatterns::parse(&s).matches(&t);
        let _ = wildcard_match(&s, &t);
    }

    #[test]
    fn wildcards_match_what_they_were_built_from(prefix in "[A-Z0-9-]{0,8}", rest in "[A-Za-z0-9.-]{0,12}") {
        let star = format!("{prefix}*");
        let percent = format!("{prefix}%");
        let text = format!("{prefix}{rest}");
        prop_assert!(wildcard_match(&star, &text));
        prop_assert!(wildcard_match(&percent, &text));
    }

    #[test]
    fn csv_uploads_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), text in "[a-z@.,;\\n\\r\" 0-9-]{0,300}") {
        let existing = std::collections::HashSet::new();
        let _ = parse_course_csv(&bytes, &existing);
        let _ = bulk::parse(&bytes);
        let with_header = format!("shortname,fullname\n{text}");
        let _ = parse_course_csv(with_header.as_bytes(), &existing);
        let with_header = format!("email,firstname,lastname,course\n{text}");
        let _ = bulk::parse(with_header.as_bytes());
    }

    #[test]
    fn money_emails_and_references_never_panic(s in any::<String>()) {
        let _ = Money::parse(&s);
        let _ = Email::parse(&s);
        let _ = s.parse::<SeatReference>();
    }

    #[test]
    fn accepted_addresses_are_dot_atoms(s in any::<String>(), local in r#"[a-z"<>(),;:\\\[\] .@]{1,12}"#) {
        for candidate in [s, format!("{local}@example.org")] {
            if let Ok(email) = Email::parse(&candidate) {
                let (local, _) = email.as_str().rsplit_once('@').unwrap();
                prop_assert!(!local.is_empty() && !local.starts_with('.') && !local.ends_with('.'));
                prop_assert!(!local.contains(".."));
                prop_assert!(!local.contains(|c: char| "\"<>(),;:\\[]@ ".contains(c) || c.is_control()));
            }
        }
    }

    #[test]
    fn page_numbers_and_names_never_fail_open(s in any::<String>(), n in any::<i64>(), per_page in 0i64..1_000) {
        let page = PageNo::parse(&s);
        prop_assert!((1..=PageNo::MAX).contains(&page.get()));
        prop_assert!(page.offset(per_page) >= 0);
        prop_assert!(PageNo::new(n).offset(per_page) >= 0);
        if let Ok(name) = PersonName::parse(&s) {
            prop_assert!(name.as_str().chars().count() <= PersonName::MAX_CHARS);
            prop_assert!(!name.as_str().contains(char::is_control));
        }
    }

    #[test]
    fn amounts_round_trip(minor in 0i64..1_000_000_000_000) {
        let m = Money::from_minor(minor);
        prop_assert_eq!(Money::parse(&m.to_input()), Ok(m));
    }
}
