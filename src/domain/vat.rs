//! EU VAT identification numbers, checked offline against each member state's format.
//!
//! Whether a number is *registered* is VIES's answer, an online call; [`VatRegistry`] is
//! the seam for it. Until a VIES client is plugged in, [`FormatOnly`] accepts every number
//! whose format holds.

use std::fmt;

/// The EU member states (ISO 3166 codes), which decide the tax rules of `tax_rules`.
pub const EU_COUNTRIES: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

pub fn is_eu(country: &str) -> bool {
    EU_COUNTRIES.contains(&country)
}

/// The number's prefix for a country: VAT numbers use EL for Greece.
fn vat_prefix(country: &str) -> &str {
    if country == "GR" { "EL" } else { country }
}

/// The formats after the prefix: `9` a digit, `A` a letter, `X` a letter or digit, anything
/// else itself. One of them must match.
fn formats(country: &str) -> &'static [&'static str] {
    match country {
        "AT" => &["U99999999"],
        "BE" => &["9999999999"],
        "BG" => &["999999999", "9999999999"],
        "CY" => &["99999999A"],
        "CZ" => &["99999999", "999999999", "9999999999"],
        "DE" => &["999999999"],
        "DK" => &["99999999"],
        "EE" => &["999999999"],
        "ES" => &["X9999999X"],
        "FI" => &["99999999"],
        "FR" => &["XX999999999"],
        "GR" => &["999999999"],
        "HR" => &["99999999999"],
        "HU" => &["99999999"],
        "IE" => &["9999999A", "9999999AA", "9X99999A"],
        "IT" => &["99999999999"],
        "LT" => &["999999999", "999999999999"],
        "LU" => &["99999999"],
        "LV" => &["99999999999"],
        "MT" => &["99999999"],
        "NL" => &["999999999B99"],
        "PL" => &["9999999999"],
        "PT" => &["999999999"],
        "RO" => &[
            "99",
            "999",
            "9999",
            "99999",
            "999999",
            "9999999",
            "99999999",
            "999999999",
            "9999999999",
        ],
        "SE" => &["999999999901"],
        "SI" => &["99999999"],
        "SK" => &["9999999999"],
        _ => &[],
    }
}

fn matches(format: &str, body: &str) -> bool {
    format.len() == body.len()
        && format.bytes().zip(body.bytes()).all(|(f, b)| match f {
            b'9' => b.is_ascii_digit(),
            b'A' => b.is_ascii_uppercase(),
            b'X' => b.is_ascii_uppercase() || b.is_ascii_digit(),
            _ => f == b,
        })
}

/// A VAT number of an EU member state, compact and upper case (`DE123456789`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VatNumber {
    country: &'static str,
    number: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VatError {
    #[error("VAT numbers are checked for EU countries only")]
    NotEu,
    #[error("the VAT number does not start with the country's prefix")]
    WrongCountry,
    #[error("the VAT number does not have the country's format")]
    Format,
}

impl VatNumber {
    /// A number typed by a buyer of `country` (their address's), in any case, with or
    /// without spaces, dots or dashes. It must be of that country.
    pub fn parse(input: &str, country: &str) -> Result<VatNumber, VatError> {
        let country = EU_COUNTRIES
            .iter()
            .copied()
            .find(|c| *c == country)
            .ok_or(VatError::NotEu)?;
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '.' | '-'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let body = compact
            .strip_prefix(vat_prefix(country))
            .ok_or(VatError::WrongCountry)?;
        if !formats(country).iter().any(|f| matches(f, body)) {
            return Err(VatError::Format);
        }
        Ok(VatNumber {
            country,
            number: compact,
        })
    }

    /// The member state (ISO code, GR for Greece).
    pub fn country(&self) -> &'static str {
        self.country
    }

    pub fn as_str(&self) -> &str {
        &self.number
    }
}

impl fmt::Display for VatNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.number)
    }
}

/// Whether a well-formed number is registered to a business: the place for a VIES check.
pub trait VatRegistry {
    fn confirms(&self, vat: &VatNumber) -> bool;
}

/// No online check: the format is all that is known (the issue asks for no VIES call yet).
pub struct FormatOnly;

impl VatRegistry for FormatOnly {
    fn confirms(&self, _vat: &VatNumber) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_member_state_has_a_format() {
        for c in EU_COUNTRIES {
            assert!(!formats(c).is_empty(), "{c}");
        }
    }

    #[test]
    fn well_formed_numbers_are_accepted_in_any_spelling() {
        let de = VatNumber::parse("de 123.456.789", "DE").unwrap();
        assert_eq!(de.as_str(), "DE123456789");
        assert_eq!(de.country(), "DE");
        for (n, c) in [
            ("FR40303265045", "FR"),
            ("FRK7399859412", "FR"),
            ("ATU12345678", "AT"),
            ("EL123456789", "GR"),
            ("NL123456789B01", "NL"),
            ("ESX1234567X", "ES"),
            ("IE1234567WA", "IE"),
            ("BE0123456789", "BE"),
        ] {
            assert!(VatNumber::parse(n, c).is_ok(), "{n}");
        }
    }

    #[test]
    fn malformed_or_foreign_numbers_are_refused() {
        assert_eq!(VatNumber::parse("DE12345678", "DE"), Err(VatError::Format));
        assert_eq!(
            VatNumber::parse("DE1234567890", "DE"),
            Err(VatError::Format)
        );
        assert_eq!(VatNumber::parse("ATA12345678", "AT"), Err(VatError::Format));
        assert_eq!(
            VatNumber::parse("FR40303265045", "DE"),
            Err(VatError::WrongCountry)
        );
        assert_eq!(
            VatNumber::parse("GR123456789", "GR"),
            Err(VatError::WrongCountry)
        );
        assert_eq!(VatNumber::parse("CHE123456789", "CH"), Err(VatError::NotEu));
    }
}
