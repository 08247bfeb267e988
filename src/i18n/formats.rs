//! Money, dates and country names as each language writes them, from the CLDR data compiled
//! into icu4x: no hand-written tables of symbols, separators, month names or country names.
//! Formatters are built once per language (and per currency) and shared.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use fixed_decimal::Decimal;
use icu_calendar::{Date, Gregorian};
use icu_collator::{Collator, CollatorBorrowed, options::CollatorOptions};
use icu_datetime::FixedCalendarDateTimeFormatter;
use icu_datetime::fieldsets::{YMD, YMDT};
use icu_datetime::options::TimePrecision;
use icu_decimal::DecimalFormatter;
use icu_experimental::dimension::currency::CurrencyType;
use icu_experimental::dimension::currency::formatter::CurrencyFormatter;
use icu_experimental::displaynames::{DisplayNamesOptions, multi::RegionDisplayNames};
use icu_locale_core::{Locale as IcuLocale, locale, subtags::Region};
use icu_time::{DateTime, Time};

use super::Locale;
use crate::domain::Money;
use crate::domain::countries::COUNTRIES;

pub(crate) fn icu(locale: Locale) -> IcuLocale {
    match locale {
        Locale::En => locale!("en"),
        Locale::Fr => locale!("fr"),
    }
}

/// One language's formatters.
struct Formats {
    date: FixedCalendarDateTimeFormatter<Gregorian, YMD>,
    datetime: FixedCalendarDateTimeFormatter<Gregorian, YMDT>,
    /// Every country the shop knows, `(code, name)`, in this language's alphabetical order.
    countries: Vec<(&'static str, String)>,
}

impl Formats {
    fn new(locale: Locale) -> Formats {
        let prefs = icu(locale);
        // Compiled data covers both languages: failing here is a build defect, caught by the
        // unit tests below, never a request-time condition.
        let date = FixedCalendarDateTimeFormatter::try_new((&prefs).into(), YMD::medium())
            .expect("compiled date data");
        let datetime = FixedCalendarDateTimeFormatter::try_new(
            (&prefs).into(),
            YMDT::medium().with_time_precision(TimePrecision::Minute),
        )
        .expect("compiled date-time data");
        let names = RegionDisplayNames::try_new((&prefs).into(), DisplayNamesOptions::default())
            .expect("compiled region names");
        let collator: CollatorBorrowed<'static> =
            Collator::try_new((&prefs).into(), CollatorOptions::default())
                .expect("compiled collation data");
        let mut countries: Vec<(&'static str, String)> = COUNTRIES
            .iter()
            .map(|(code, english)| {
                let name = Region::try_from_str(code)
                    .ok()
                    .and_then(|r| names.of(r))
                    .unwrap_or(*english);
                (*code, name.to_owned())
            })
            .collect();
        countries.sort_by(|a, b| collator.compare(&a.1, &b.1).then(Ordering::Equal));
        Formats {
            date,
            datetime,
            countries,
        }
    }
}

static FORMATS: LazyLock<[Formats; 2]> =
    LazyLock::new(|| [Formats::new(Locale::En), Formats::new(Locale::Fr)]);

fn formats(locale: Locale) -> &'static Formats {
    &FORMATS[match locale {
        Locale::En => 0,
        Locale::Fr => 1,
    }]
}

type Currencies = Mutex<HashMap<(Locale, String), Arc<CurrencyFormatter<DecimalFormatter>>>>;
static CURRENCIES: LazyLock<Currencies> = LazyLock::new(Default::default);

/// `€1,440.00` in English, `1 440,00 €` in French; a currency the data has no symbol for
/// is written with its ISO code.
pub fn money(locale: Locale, amount: Money, currency: &str) -> String {
    let mut decimal = Decimal::from(amount.minor());
    decimal.multiply_pow10(-2);
    match currency_formatter(locale, currency) {
        Some(f) => f.format_fixed_decimal(&decimal).to_string(),
        None => format!("{decimal} {currency}"),
    }
}

fn currency_formatter(
    locale: Locale,
    currency: &str,
) -> Option<Arc<CurrencyFormatter<DecimalFormatter>>> {
    let mut cache = CURRENCIES.lock().unwrap_or_else(|p| p.into_inner());
    let key = (locale, currency.to_owned());
    if let Some(f) = cache.get(&key) {
        return Some(f.clone());
    }
    let code = CurrencyType::try_from_str(&currency.to_ascii_lowercase()).ok()?;
    let prefs = icu(locale);
    let f = Arc::new(
        CurrencyFormatter::try_new_symbol((&prefs).into(), code, Default::default()).ok()?,
    );
    cache.insert(key, f.clone());
    Some(f)
}

fn gregorian(date: time::Date) -> Option<Date<Gregorian>> {
    Date::try_new_gregorian(date.year(), u8::from(date.month()), date.day()).ok()
}

/// `Nov 22, 2026` / `22 nov. 2026`.
pub fn date(locale: Locale, date: time::Date) -> String {
    match gregorian(date) {
        Some(d) => formats(locale).date.format(&d).to_string(),
        None => date.to_string(),
    }
}

/// `Nov 22, 2026, 5:29 PM` / `22 nov. 2026, 17:29` (UTC, to the minute).
pub fn datetime(locale: Locale, t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let Some(date) = gregorian(t.date()) else {
        return t.to_string();
    };
    let Ok(time) = Time::try_new(t.hour(), t.minute(), 0, 0) else {
        return t.to_string();
    };
    formats(locale)
        .datetime
        .format(&DateTime { date, time })
        .to_string()
}

/// The name of a country (ISO 3166-1 alpha-2 code) in this language; the code itself if the
/// shop does not know it.
pub fn country_name(locale: Locale, code: &str) -> String {
    formats(locale)
        .countries
        .iter()
        .find(|(c, _)| *c == code)
        .map_or_else(|| code.to_owned(), |(_, name)| name.clone())
}

/// Every country, `(code, name)`, sorted as this language sorts names.
pub fn countries(locale: Locale) -> &'static [(&'static str, String)] {
    &formats(locale).countries
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn plain(s: String) -> String {
        s.replace(['\u{a0}', '\u{202f}'], " ")
    }

    #[test]
    fn money_as_each_language_writes_it() {
        let m = Money::from_minor(144_000);
        assert_eq!(plain(money(Locale::En, m, "EUR")), "€1,440.00");
        assert_eq!(plain(money(Locale::Fr, m, "EUR")), "1 440,00 €");
        assert_eq!(
            plain(money(Locale::Fr, Money::from_minor(9950), "EUR")),
            "99,50 €"
        );
        assert_eq!(
            plain(money(Locale::En, Money::from_minor(5), "USD")),
            "$0.05"
        );
    }

    #[test]
    fn dates_per_language() {
        let t = datetime!(2026-11-22 17:29:53.329368 UTC);
        assert_eq!(plain(date(Locale::En, t.date())), "Nov 22, 2026");
        assert_eq!(plain(date(Locale::Fr, t.date())), "22 nov. 2026");
        let en = plain(datetime(Locale::En, t));
        let fr = plain(datetime(Locale::Fr, t));
        assert!(
            en.starts_with("Nov 22, 2026") && en.contains("5:29"),
            "{en}"
        );
        assert!(
            fr.starts_with("22 nov. 2026") && fr.contains("17:29"),
            "{fr}"
        );
        assert!(!fr.contains("53"), "no seconds: {fr}");
    }

    #[test]
    fn country_names_localized_and_collated() {
        assert_eq!(country_name(Locale::Fr, "FR"), "France");
        assert_eq!(country_name(Locale::Fr, "DE"), "Allemagne");
        assert_eq!(country_name(Locale::En, "GB"), "United Kingdom");
        let en: Vec<&str> = countries(Locale::En)
            .iter()
            .map(|(_, n)| n.as_str())
            .collect();
        let pos = |n: &str| en.iter().position(|x| *x == n).unwrap();
        assert!(
            pos("Côte d’Ivoire") < pos("Czechia"),
            "accents sort with their letter"
        );
        assert!(pos("Åland Islands") < pos("Albania"));
        let fr: Vec<&str> = countries(Locale::Fr)
            .iter()
            .map(|(_, n)| n.as_str())
            .collect();
        assert!(fr.iter().position(|n| *n == "Égypte") < fr.iter().position(|n| *n == "Équateur"));
        assert!(fr.iter().position(|n| *n == "Égypte") < fr.iter().position(|n| *n == "Espagne"));
        assert_eq!(en.len(), COUNTRIES.len());
    }
}
