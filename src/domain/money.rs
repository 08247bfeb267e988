//! Exact money: integer minor units (cents). Never a float.

use std::fmt;

use thiserror::Error;

/// An amount in minor units of the shop currency. Catalogue amounts are never negative;
/// arithmetic is checked so that an absurd quantity is an error, not a wrap-around.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Money(i64);

/// Largest amount we accept from a form: 10^12 minor units is far beyond any real price.
const MAX_INPUT_MINOR: i64 = 1_000_000_000_000;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("enter an amount such as 120 or 120.50")]
    Malformed,
    #[error("at most two decimals")]
    TooPrecise,
    #[error("the amount must not be negative")]
    Negative,
    #[error("the amount is too large")]
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_minor(minor: i64) -> Self {
        Money(minor)
    }

    pub const fn minor(self) -> i64 {
        self.0
    }

    /// Parses what an operator types: `120`, `120.5`, `120.50`, `120,50` (French decimal comma).
    pub fn parse(input: &str) -> Result<Self, MoneyError> {
        let s = input.trim().replace(',', ".");
        if s.starts_with('-') {
            return Err(MoneyError::Negative);
        }
        let (units, decimals) = match s.split_once('.') {
            Some((u, d)) => (u, d),
            None => (s.as_str(), ""),
        };
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if units.is_empty() || !all_digits(units) || !all_digits(decimals) {
            return Err(MoneyError::Malformed);
        }
        if decimals.len() > 2 {
            return Err(MoneyError::TooPrecise);
        }
        let units: i64 = units.parse().map_err(|_| MoneyError::TooLarge)?;
        let cents: i64 = format!("{decimals:0<2}")
            .parse()
            .map_err(|_| MoneyError::Malformed)?;
        let minor = units
            .checked_mul(100)
            .and_then(|u| u.checked_add(cents))
            .filter(|m| *m <= MAX_INPUT_MINOR)
            .ok_or(MoneyError::TooLarge)?;
        Ok(Money(minor))
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_mul(self, quantity: u32) -> Option<Money> {
        self.0.checked_mul(i64::from(quantity)).map(Money)
    }

    /// Tax on this amount at `rate`, rounded half away from zero to the cent.
    pub fn tax_at(self, rate: TaxRate) -> Money {
        let product = i128::from(self.0) * i128::from(rate.basis_points());
        let rounded = (product + 5_000) / 10_000;
        Money(i64::try_from(rounded).unwrap_or(i64::MAX))
    }

    /// Value for an `<input>`: `120.50`, no thousands separator.
    pub fn to_input(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// A tax rate in basis points (1/100 of a percent): 20 % is 2000, 5.5 % is 550.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TaxRate(u32);

impl TaxRate {
    pub const ZERO: TaxRate = TaxRate(0);

    pub fn from_basis_points(bp: u32) -> Option<Self> {
        (bp <= 10_000).then_some(TaxRate(bp))
    }

    pub fn basis_points(self) -> u32 {
        self.0
    }

    /// Parses a percentage as typed: `20`, `5.5`, `5,5`, `2.10`.
    pub fn parse_percent(input: &str) -> Result<Self, MoneyError> {
        // A percentage has the same shape as an amount: two decimals, not negative.
        let as_money = Money::parse(input)?;
        u32::try_from(as_money.minor())
            .ok()
            .and_then(TaxRate::from_basis_points)
            .ok_or(MoneyError::TooLarge)
    }
}

impl fmt::Display for TaxRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (units, frac) = (self.0 / 100, self.0 % 100);
        match frac {
            0 => write!(f, "{units}"),
            f2 if f2 % 10 == 0 => write!(f, "{units}.{}", f2 / 10),
            f2 => write!(f, "{units}.{f2:02}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_amounts_as_typed() {
        assert_eq!(Money::parse("120"), Ok(Money(12_000)));
        assert_eq!(Money::parse(" 120.5 "), Ok(Money(12_050)));
        assert_eq!(Money::parse("120,05"), Ok(Money(12_005)));
        assert_eq!(Money::parse("0"), Ok(Money(0)));
    }

    #[test]
    fn refuses_what_is_not_an_amount() {
        assert_eq!(Money::parse(""), Err(MoneyError::Malformed));
        assert_eq!(Money::parse("12a"), Err(MoneyError::Malformed));
        assert_eq!(Money::parse(".5"), Err(MoneyError::Malformed));
        assert_eq!(Money::parse("1.2.3"), Err(MoneyError::Malformed));
        assert_eq!(Money::parse("1.234"), Err(MoneyError::TooPrecise));
        assert_eq!(Money::parse("-3"), Err(MoneyError::Negative));
        assert_eq!(
            Money::parse("99999999999999999999"),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(Money::parse("10000000001"), Err(MoneyError::TooLarge));
    }

    #[test]
    fn tax_rounds_half_up_to_the_cent() {
        let rate = TaxRate::parse_percent("20").unwrap();
        assert_eq!(Money(1_000).tax_at(rate), Money(200));
        let rate = TaxRate::parse_percent("5.5").unwrap();
        // 0.99 * 5.5 % = 0.05445 -> 0.05
        assert_eq!(Money(99).tax_at(rate), Money(5));
        // 0.10 * 5.5 % = 0.0055 -> 0.01
        assert_eq!(Money(10).tax_at(rate), Money(1));
        assert_eq!(Money(12_345).tax_at(TaxRate::ZERO), Money::ZERO);
    }

    #[test]
    fn input_value_has_two_decimals() {
        assert_eq!(Money(5).to_input(), "0.05");
        assert_eq!(Money(12_050).to_input(), "120.50");
    }

    #[test]
    fn tax_rates_display_compactly() {
        assert_eq!(TaxRate(2000).to_string(), "20");
        assert_eq!(TaxRate(550).to_string(), "5.5");
        assert_eq!(TaxRate(210).to_string(), "2.1");
        assert_eq!(TaxRate(205).to_string(), "2.05");
        assert!(TaxRate::parse_percent("100.01").is_err());
    }

    #[test]
    fn multiplication_is_checked() {
        assert_eq!(Money(i64::MAX).checked_mul(2), None);
        assert_eq!(Money(250).checked_mul(4), Some(Money(1_000)));
    }
}
