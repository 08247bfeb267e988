//! Bank details the seller prints on transfer instructions: an IBAN whose ISO 13616 check
//! digits hold, and a BIC of the ISO 9362 shape. A typo in either sends a buyer's money
//! nowhere, so both are parsed when the operator saves them, not when a buyer reads them.

use std::fmt;

/// An IBAN, stored without spaces, upper case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iban(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IbanError {
    #[error("an IBAN is 15 to 34 letters and digits, starting with a country code and two digits")]
    Shape,
    #[error("the IBAN's check digits do not match")]
    Checksum,
}

impl Iban {
    /// Accepts the usual print form (groups of four separated by spaces), any case.
    pub fn parse(input: &str) -> Result<Iban, IbanError> {
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let b = compact.as_bytes();
        if !(15..=34).contains(&b.len())
            || !b[..2].iter().all(u8::is_ascii_uppercase)
            || !b[2..4].iter().all(u8::is_ascii_digit)
            || !b.iter().all(u8::is_ascii_alphanumeric)
        {
            return Err(IbanError::Shape);
        }
        if mod97(&compact) != 1 {
            return Err(IbanError::Checksum);
        }
        Ok(Iban(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// ISO 13616: the first four characters moved to the end, letters as 10..35, the number
/// taken modulo 97 digit by digit (it is far too long for any integer type).
fn mod97(compact: &str) -> u32 {
    let rotated = compact[4..].chars().chain(compact[..4].chars());
    rotated.fold(0u32, |acc, c| {
        let v = c.to_digit(36).unwrap_or(0);
        if v >= 10 {
            (acc * 100 + v) % 97
        } else {
            (acc * 10 + v) % 97
        }
    })
}

/// Printed in groups of four, as on a bank statement.
impl fmt::Display for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, chunk) in self.0.as_bytes().chunks(4).enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(std::str::from_utf8(chunk).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

/// A BIC (ISO 9362): 4 letters (bank), 2 letters (country), 2 letters or digits (location),
/// optionally 3 more (branch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bic(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a BIC is 8 or 11 characters: bank (4 letters), country (2 letters), location, branch")]
pub struct BicError;

impl Bic {
    pub fn parse(input: &str) -> Result<Bic, BicError> {
        let s = input.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        let ok = (b.len() == 8 || b.len() == 11)
            && b[..6].iter().all(u8::is_ascii_uppercase)
            && b[6..].iter().all(u8::is_ascii_alphanumeric);
        if ok { Ok(Bic(s)) } else { Err(BicError) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ibans_are_accepted_in_print_or_compact_form() {
        for iban in [
            "FR76 3000 6000 0112 3456 7890 189",
            "DE89370400440532013000",
            "gb82 west 1234 5698 7654 32",
            "BE68539007547034",
        ] {
            assert!(Iban::parse(iban).is_ok(), "{iban}");
        }
        let iban = Iban::parse("de89 3704 0044 0532 0130 00").unwrap();
        assert_eq!(iban.as_str(), "DE89370400440532013000");
        assert_eq!(iban.to_string(), "DE89 3704 0044 0532 0130 00");
    }

    #[test]
    fn a_wrong_check_digit_or_a_swapped_pair_is_caught() {
        assert_eq!(
            Iban::parse("DE88370400440532013000"),
            Err(IbanError::Checksum)
        );
        assert_eq!(
            Iban::parse("FR76 3000 6000 0112 3456 7890 198"),
            Err(IbanError::Checksum)
        );
    }

    #[test]
    fn malformed_ibans_are_refused_before_the_checksum() {
        for iban in [
            "",
            "FR",
            "1276300060000112345678901",
            "FR7A30006000011234567890189",
            "FR76-3000-6000-0112",
            "FR76300060000112345678901890123456789",
        ] {
            assert_eq!(Iban::parse(iban), Err(IbanError::Shape), "{iban}");
        }
    }

    #[test]
    fn bics_have_eight_or_eleven_characters_of_the_right_kinds() {
        assert_eq!(Bic::parse("bnpafrpp").unwrap().as_str(), "BNPAFRPP");
        assert!(Bic::parse("DEUTDEFF500").is_ok());
        for bic in [
            "",
            "BNPAFRP",
            "BNPAFRPPX",
            "BNP1FRPP",
            "BNPAF1PP",
            "BNPAFRPP-01",
        ] {
            assert_eq!(Bic::parse(bic), Err(BicError), "{bic}");
        }
    }
}
