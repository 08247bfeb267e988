//! The cart: product codes and quantities only. Prices are never kept here; they are
//! computed from the catalogue each time the cart is shown or ordered.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The most one line may hold, whatever the product allows.
pub const MAX_LINE_QUANTITY: u32 = 1_000;
pub const MAX_LINES: usize = 50;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    pub lines: Vec<CartLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub code: String,
    pub quantity: u32,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum QuantityError {
    #[error("enter a whole number of 1 or more")]
    NotAQuantity,
    #[error("at most {0} per order")]
    TooMany(u32),
    #[error("the cart is full")]
    CartFull,
}

impl QuantityError {
    pub fn message_key(&self) -> &'static str {
        match self {
            QuantityError::NotAQuantity => "cart.bad_quantity",
            QuantityError::TooMany(_) => "cart.too_many",
            QuantityError::CartFull => "cart.full",
        }
    }
}

/// A quantity as typed: a whole number from 1 to `MAX_LINE_QUANTITY`.
pub fn parse_quantity(input: &str) -> Result<u32, QuantityError> {
    let n: u64 = input
        .trim()
        .parse()
        .map_err(|_| QuantityError::NotAQuantity)?;
    if n == 0 {
        return Err(QuantityError::NotAQuantity);
    }
    u32::try_from(n)
        .ok()
        .filter(|n| *n <= MAX_LINE_QUANTITY)
        .ok_or(QuantityError::TooMany(MAX_LINE_QUANTITY))
}

impl Cart {
    /// Units over every line (the menu's count).
    pub fn units(&self) -> u32 {
        self.lines
            .iter()
            .map(|l| l.quantity)
            .fold(0, u32::saturating_add)
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn quantity_of(&self, code: &str) -> u32 {
        self.lines
            .iter()
            .find(|l| l.code == code)
            .map_or(0, |l| l.quantity)
    }

    /// Adds to the line of `code` (or a new one); `limit` is the product's own maximum.
    pub fn add(&mut self, code: &str, quantity: u32, limit: u32) -> Result<(), QuantityError> {
        let total = self.quantity_of(code).saturating_add(quantity);
        self.set(code, total, limit)
    }

    pub fn set(&mut self, code: &str, quantity: u32, limit: u32) -> Result<(), QuantityError> {
        let limit = limit.min(MAX_LINE_QUANTITY);
        if quantity == 0 {
            return Err(QuantityError::NotAQuantity);
        }
        if quantity > limit {
            return Err(QuantityError::TooMany(limit));
        }
        let full = self.lines.len() >= MAX_LINES;
        match self.lines.iter_mut().find(|l| l.code == code) {
            Some(line) => line.quantity = quantity,
            None if full => return Err(QuantityError::CartFull),
            None => self.lines.push(CartLine {
                code: code.to_owned(),
                quantity,
            }),
        }
        Ok(())
    }

    pub fn remove(&mut self, code: &str) {
        self.lines.retain(|l| l.code != code);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_whole_positive_and_bounded() {
        assert_eq!(parse_quantity("3"), Ok(3));
        assert_eq!(parse_quantity(" 1000 "), Ok(1000));
        for bad in ["0", "-1", "1.5", "", "abc", "1e3"] {
            assert_eq!(
                parse_quantity(bad),
                Err(QuantityError::NotAQuantity),
                "{bad}"
            );
        }
        assert_eq!(
            parse_quantity("1001"),
            Err(QuantityError::TooMany(MAX_LINE_QUANTITY))
        );
        assert_eq!(
            parse_quantity("99999999999999999999999"),
            Err(QuantityError::NotAQuantity)
        );
    }

    #[test]
    fn adding_merges_lines_and_respects_the_product_limit() {
        let mut cart = Cart::default();
        cart.add("A", 2, 5).unwrap();
        cart.add("A", 3, 5).unwrap();
        assert_eq!(cart.quantity_of("A"), 5);
        assert_eq!(cart.add("A", 1, 5), Err(QuantityError::TooMany(5)));
        assert_eq!(cart.quantity_of("A"), 5, "a refused add changes nothing");
        cart.add("B", 1, u32::MAX).unwrap();
        assert_eq!(cart.lines.len(), 2);
        cart.remove("A");
        assert_eq!(
            cart.lines,
            vec![CartLine {
                code: "B".into(),
                quantity: 1
            }]
        );
    }
}
