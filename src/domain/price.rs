//! Quantity tiers and order totals, computed from the catalogue only.

use std::collections::BTreeMap;

use thiserror::Error;

use super::money::{Money, TaxRate};

/// Up to five unit prices: `price1` from quantity 1, then `(from, price)` tiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceTiers {
    base: Money,
    tiers: Vec<(u32, Money)>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TierError {
    #[error("at most 5 prices")]
    TooMany,
    #[error("tier quantities must increase, starting above 1")]
    NotIncreasing,
}

impl PriceTiers {
    pub const MAX_TIERS: usize = 5;

    pub fn new(base: Money, mut tiers: Vec<(u32, Money)>) -> Result<Self, TierError> {
        if tiers.len() + 1 > Self::MAX_TIERS {
            return Err(TierError::TooMany);
        }
        let increasing = tiers.windows(2).all(|w| w[0].0 < w[1].0);
        if !increasing || tiers.first().is_some_and(|(from, _)| *from <= 1) {
            return Err(TierError::NotIncreasing);
        }
        tiers.shrink_to_fit();
        Ok(PriceTiers { base, tiers })
    }

    /// One price whatever the quantity.
    pub fn flat(base: Money) -> Self {
        PriceTiers {
            base,
            tiers: Vec::new(),
        }
    }

    pub fn base(&self) -> Money {
        self.base
    }

    pub fn tiers(&self) -> &[(u32, Money)] {
        &self.tiers
    }

    /// The unit price for an order of `quantity`: the highest tier it reaches.
    pub fn unit_price(&self, quantity: u32) -> Money {
        self.tiers
            .iter()
            .rev()
            .find(|(from, _)| quantity >= *from)
            .map_or(self.base, |(_, price)| *price)
    }
}

/// One order line, priced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub quantity: u32,
    pub unit_price: Money,
    pub tax_rate: TaxRate,
    pub untaxed: Money,
    pub tax: Money,
}

impl PricedLine {
    pub fn total(&self) -> Money {
        Money::from_minor(self.untaxed.minor() + self.tax.minor())
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("the order amount is too large")]
pub struct AmountOverflow;

pub fn price_line(
    tiers: &PriceTiers,
    quantity: u32,
    tax_rate: TaxRate,
) -> Result<PricedLine, AmountOverflow> {
    let unit_price = tiers.unit_price(quantity);
    let untaxed = unit_price.checked_mul(quantity).ok_or(AmountOverflow)?;
    Ok(PricedLine {
        quantity,
        unit_price,
        tax_rate,
        untaxed,
        tax: untaxed.tax_at(tax_rate),
    })
}

/// Totals of an order: untaxed, tax per rate, taxed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Totals {
    pub untaxed: Money,
    pub taxes: BTreeMap<TaxRate, Money>,
    pub tax: Money,
    pub total: Money,
}

impl Totals {
    pub fn of<'a>(
        lines: impl IntoIterator<Item = &'a PricedLine>,
    ) -> Result<Totals, AmountOverflow> {
        let mut totals = Totals::default();
        for line in lines {
            totals.untaxed = totals
                .untaxed
                .checked_add(line.untaxed)
                .ok_or(AmountOverflow)?;
            let per_rate = totals.taxes.entry(line.tax_rate).or_default();
            *per_rate = per_rate.checked_add(line.tax).ok_or(AmountOverflow)?;
            totals.tax = totals.tax.checked_add(line.tax).ok_or(AmountOverflow)?;
        }
        totals.total = totals
            .untaxed
            .checked_add(totals.tax)
            .ok_or(AmountOverflow)?;
        Ok(totals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(minor: i64) -> Money {
        Money::from_minor(minor)
    }

    #[test]
    fn tiers_apply_from_their_quantity() {
        let tiers = PriceTiers::new(m(10_000), vec![(5, m(9_000)), (10, m(8_000))]).unwrap();
        assert_eq!(tiers.unit_price(1), m(10_000));
        assert_eq!(tiers.unit_price(4), m(10_000));
        assert_eq!(tiers.unit_price(5), m(9_000));
        assert_eq!(tiers.unit_price(9), m(9_000));
        assert_eq!(tiers.unit_price(500), m(8_000));
    }

    #[test]
    fn tiers_must_be_increasing_and_few() {
        assert_eq!(
            PriceTiers::new(m(1), vec![(5, m(1)), (5, m(1))]),
            Err(TierError::NotIncreasing)
        );
        assert_eq!(
            PriceTiers::new(m(1), vec![(1, m(1))]),
            Err(TierError::NotIncreasing)
        );
        let five = (2..7).map(|q| (q, m(1))).collect();
        assert_eq!(PriceTiers::new(m(1), five), Err(TierError::TooMany));
    }

    #[test]
    fn totals_group_taxes_per_rate() {
        let twenty = TaxRate::from_basis_points(2000).unwrap();
        let five = TaxRate::from_basis_points(550).unwrap();
        let flat = PriceTiers::new(m(10_000), vec![]).unwrap();
        let a = price_line(&flat, 2, twenty).unwrap();
        let b = price_line(&flat, 1, five).unwrap();
        let c = price_line(&flat, 1, twenty).unwrap();
        let totals = Totals::of([&a, &b, &c]).unwrap();
        assert_eq!(totals.untaxed, m(40_000));
        assert_eq!(totals.taxes[&twenty], m(6_000));
        assert_eq!(totals.taxes[&five], m(550));
        assert_eq!(totals.tax, m(6_550));
        assert_eq!(totals.total, m(46_550));
    }

    #[test]
    fn huge_quantities_overflow_cleanly() {
        let tiers = PriceTiers::new(m(i64::MAX / 2), vec![]).unwrap();
        assert_eq!(price_line(&tiers, 3, TaxRate::ZERO), Err(AmountOverflow));
    }
}
