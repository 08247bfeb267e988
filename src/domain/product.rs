//! Catalogue products as operators edit them.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use super::form::{FieldErrors, optional, optional_text, required};
use super::money::Money;
use super::price::{PriceTiers, TierError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProductStatus {
    #[default]
    Available,
    /// Visible to operators only, to check a product before opening it.
    Preview,
    Suspended,
}

impl ProductStatus {
    pub const ALL: [ProductStatus; 3] = [
        ProductStatus::Available,
        ProductStatus::Preview,
        ProductStatus::Suspended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Available => "available",
            ProductStatus::Preview => "preview",
            ProductStatus::Suspended => "suspended",
        }
    }
}

stored_as_text!(ProductStatus);

impl fmt::Display for ProductStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProductStatus {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        ProductStatus::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or(())
    }
}

/// Longest sales conditions (a product's or the shop's), in characters.
pub const SALES_CONDITIONS_MAX: usize = 100_000;

/// The product form as typed. Only `code`, `name`, `price1`, `handler`, `handlerparams` are
/// required by the HTTP contract; everything else has a default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProductForm {
    pub code: String,
    pub name: String,
    pub description: String,
    pub category_id: String,
    pub status: String,
    pub price1: String,
    pub range2: String,
    pub price2: String,
    pub range3: String,
    pub price3: String,
    pub range4: String,
    pub price4: String,
    pub range5: String,
    pub price5: String,
    pub tax_code: String,
    pub max_quantity: String,
    pub logged_in_only: String,
    pub handler: String,
    pub handlerparams: String,
    pub sales_conditions: String,
    pub sortorder: String,
}

/// A product ready to be stored (handler parameters are checked separately: that needs the
/// courses and roles that exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductDraft {
    pub code: String,
    pub name: String,
    pub description: String,
    pub category_id: Option<i64>,
    pub status: ProductStatus,
    pub tiers: PriceTiers,
    pub tax_code: Option<String>,
    pub max_quantity: Option<i32>,
    pub logged_in_only: bool,
    pub handler: String,
    pub handler_params: String,
    pub sales_conditions: String,
    pub sortorder: i32,
}

fn money(errors: &mut FieldErrors, field: &str, value: &str) -> Option<Money> {
    Money::parse(value)
        .map_err(|_| errors.add(field, "errors.amount"))
        .ok()
}

fn positive(errors: &mut FieldErrors, field: &str, value: &str) -> Option<i32> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    match v.parse::<i32>() {
        Ok(n) if n >= 1 => Some(n),
        _ => {
            errors.add(field, "errors.positive_integer");
            None
        }
    }
}

impl ProductDraft {
    pub fn parse(form: &ProductForm) -> Result<ProductDraft, FieldErrors> {
        let mut errors = FieldErrors::default();
        let code = required(&mut errors, "code", &form.code, 64);
        if code
            .chars()
            .any(|c| c.is_whitespace() || c == '/' || c == '?' || c == '#')
        {
            errors.add("code", "errors.code_chars");
        }
        let name = required(&mut errors, "name", &form.name, 255);
        let description = optional_text(&mut errors, "description", &form.description, 20_000)
            .unwrap_or_default();
        let category_id = form.category_id.trim().parse::<i64>().ok();
        let status = if form.status.trim().is_empty() {
            ProductStatus::Available
        } else {
            form.status.parse().unwrap_or_else(|()| {
                errors.add("status", "errors.invalid_choice");
                ProductStatus::Available
            })
        };
        let base = money(&mut errors, "price1", &form.price1);
        let mut tiers = Vec::new();
        let pairs = [
            ("range2", &form.range2, "price2", &form.price2),
            ("range3", &form.range3, "price3", &form.price3),
            ("range4", &form.range4, "price4", &form.price4),
            ("range5", &form.range5, "price5", &form.price5),
        ];
        for (rfield, range, pfield, price) in pairs {
            if range.trim().is_empty() && price.trim().is_empty() {
                continue;
            }
            let from = positive(&mut errors, rfield, range);
            if range.trim().is_empty() {
                errors.add(rfield, "errors.required");
            }
            if let (Some(from), Some(price)) = (from, money(&mut errors, pfield, price)) {
                tiers.push((from as u32, price));
            }
        }
        let tiers = base.and_then(|base| match PriceTiers::new(base, tiers) {
            Ok(t) => Some(t),
            Err(TierError::NotIncreasing | TierError::TooMany) => {
                errors.add("range2", "errors.tiers_increasing");
                None
            }
        });
        let tax_code = optional(&mut errors, "tax_code", &form.tax_code, 32);
        let max_quantity = positive(&mut errors, "max_quantity", &form.max_quantity);
        let sortorder = form.sortorder.trim().parse::<i32>().unwrap_or(0);
        let handler = form.handler.trim().to_owned();
        let handler_params = form.handlerparams.trim().to_owned();
        let sales_conditions = optional_text(
            &mut errors,
            "sales_conditions",
            &form.sales_conditions,
            SALES_CONDITIONS_MAX,
        )
        .unwrap_or_default();
        match tiers {
            Some(tiers) if errors.is_empty() => Ok(ProductDraft {
                code,
                name,
                description,
                category_id,
                status,
                tiers,
                tax_code,
                max_quantity,
                logged_in_only: matches!(form.logged_in_only.as_str(), "1" | "on" | "true"),
                handler,
                handler_params,
                sales_conditions,
                sortorder,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> ProductForm {
        ProductForm {
            code: "A51-1123K-FI".into(),
            name: "Initial training".into(),
            price1: "1440".into(),
            handler: "std_generateseats".into(),
            handlerparams: "packsize=5".into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_contract_fields_are_enough() {
        let d = ProductDraft::parse(&minimal()).unwrap();
        assert_eq!(d.status, ProductStatus::Available);
        assert_eq!(d.tiers.base(), Money::from_minor(144_000));
        assert_eq!(d.max_quantity, None);
    }

    #[test]
    fn tiers_are_parsed_and_checked() {
        let form = ProductForm {
            range2: "10".into(),
            price2: "1300".into(),
            range3: "50".into(),
            price3: "1200,50".into(),
            ..minimal()
        };
        let d = ProductDraft::parse(&form).unwrap();
        assert_eq!(d.tiers.unit_price(60), Money::from_minor(120_050));
        let form = ProductForm {
            range2: "10".into(),
            price2: "1300".into(),
            range3: "5".into(),
            price3: "1200".into(),
            ..minimal()
        };
        assert!(ProductDraft::parse(&form).unwrap_err().has("range2"));
        let form = ProductForm {
            price2: "1300".into(),
            ..minimal()
        };
        assert!(ProductDraft::parse(&form).unwrap_err().has("range2"));
    }

    #[test]
    fn bad_fields_are_reported() {
        let form = ProductForm {
            code: "has space".into(),
            price1: "abc".into(),
            max_quantity: "0".into(),
            status: "gone".into(),
            ..minimal()
        };
        let e = ProductDraft::parse(&form).unwrap_err();
        for field in ["code", "price1", "max_quantity", "status"] {
            assert!(e.has(field), "{field}");
        }
    }

    #[test]
    fn text_fields_refuse_control_characters_but_keep_line_breaks() {
        let form = ProductForm {
            name: "Initial\u{1} training".into(),
            description: "Line 1\r\nLine 2\u{0}".into(),
            sales_conditions: "Art. 1\n\tArt. 2".into(),
            ..minimal()
        };
        let e = ProductDraft::parse(&form).unwrap_err();
        assert_eq!(e.get("name"), Some("errors.control_chars"));
        assert_eq!(e.get("description"), Some("errors.control_chars"));
        assert!(!e.has("sales_conditions"));
    }
}
