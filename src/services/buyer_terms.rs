//! What a sale's buyer changes about it: the tax treatment (from their country and VAT
//! number, `domain::tax_rules`) and the sales conditions they must accept, with the
//! version recorded on the bill.

use sha2::{Digest, Sha256};
use sqlx::PgExecutor;

use crate::domain::tax_rules::{self, TaxTreatment};
use crate::domain::vat::{FormatOnly, VatNumber, VatRegistry};
use crate::services::pricing::PricedCart;
use crate::store::customers::{self, Customer};
use crate::store::settings::Settings;

/// The registry VAT numbers are confirmed with: the seam for a VIES client.
const REGISTRY: FormatOnly = FormatOnly;

/// How a customer's purchases are taxed, and the VAT number that made it so (confirmed).
pub struct BuyerTax {
    pub treatment: TaxTreatment,
    pub vat_number: Option<VatNumber>,
    pub po_reference: String,
}

impl BuyerTax {
    /// A buyer the shop knows nothing about yet (the cart page): the seller's own VAT.
    pub fn standard() -> BuyerTax {
        BuyerTax {
            treatment: TaxTreatment::Standard,
            vat_number: None,
            po_reference: String::new(),
        }
    }
}

/// The country a customer is invoiced in: the invoicing details' when they differ.
pub fn invoiced_country(c: &Customer) -> &str {
    c.invoice_country.as_deref().unwrap_or(&c.country)
}

pub async fn buyer_tax(
    db: impl PgExecutor<'_>,
    settings: &Settings,
    customer: &Customer,
) -> sqlx::Result<BuyerTax> {
    let country = invoiced_country(customer);
    let business = customers::business(db, customer.id).await?;
    let vat_number = business
        .as_ref()
        .and_then(|b| VatNumber::parse(&b.vat_number, country).ok())
        .filter(|v| REGISTRY.confirms(v));
    Ok(BuyerTax {
        treatment: tax_rules::treatment(&settings.seller_country, country, vat_number.as_ref()),
        vat_number,
        po_reference: business.map(|b| b.po_reference).unwrap_or_default(),
    })
}

/// A text the buyer must accept: the shop's general conditions (`product` None) or a
/// product's own.
pub struct Condition {
    pub product: Option<String>,
    pub text: String,
}

/// The conditions of this order, general first.
pub fn conditions(settings: &Settings, priced: &PricedCart) -> Vec<Condition> {
    let mut all = Vec::new();
    if !settings.sales_conditions.trim().is_empty() {
        all.push(Condition {
            product: None,
            text: settings.sales_conditions.clone(),
        });
    }
    for line in &priced.lines {
        let p = &line.product;
        if !p.sales_conditions.trim().is_empty() {
            all.push(Condition {
                product: Some(format!("[{}] {}", p.code, p.name)),
                text: p.sales_conditions.clone(),
            });
        }
    }
    all
}

/// What the buyer accepted, recorded on the bill: a hash of the exact texts (so the
/// version is provable from the texts kept elsewhere), empty when there were none.
pub fn version(conditions: &[Condition]) -> String {
    if conditions.is_empty() {
        return String::new();
    }
    let mut h = Sha256::new();
    for c in conditions {
        h.update(c.product.as_deref().unwrap_or("").as_bytes());
        h.update([0]);
        h.update(c.text.as_bytes());
        h.update([0]);
    }
    format!("sha256:{}", hex::encode(&h.finalize()[..8]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(product: Option<&str>, text: &str) -> Condition {
        Condition {
            product: product.map(str::to_owned),
            text: text.into(),
        }
    }

    #[test]
    fn no_conditions_no_version_and_any_change_is_a_new_version() {
        assert_eq!(version(&[]), "");
        let a = version(&[c(None, "Terms v1")]);
        assert!(a.starts_with("sha256:"));
        assert_eq!(a, version(&[c(None, "Terms v1")]));
        assert_ne!(a, version(&[c(None, "Terms v2")]));
        assert_ne!(a, version(&[c(None, "Terms v1"), c(Some("[X] x"), "EULA")]));
    }
}
