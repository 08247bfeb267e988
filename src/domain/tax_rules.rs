//! Which VAT a sale bears, from who sells and who buys. The whole table (README, "Tax rules"):
//!
//! | buyer                                              | VAT                       |
//! |----------------------------------------------------|---------------------------|
//! | outside the EU (business or not)                   | none (export)             |
//! | in the seller's country (business or consumer)     | the product's rate        |
//! | other EU country, consumer (no VAT number)         | the product's rate        |
//! | other EU country, business with a valid VAT number | 0 %, reverse charge       |
//!
//! "The product's rate" is the seller-country rate the operator set on the product's tax.
//! The seller is taken to be established in the EU (the settings' seller country).

use std::fmt;
use std::str::FromStr;

use super::vat::{VatNumber, is_eu};

/// The legal mention a reverse-charged invoice must carry (the same in both languages).
pub const REVERSE_CHARGE_MENTION: &str =
    "Autoliquidation / Reverse charge – Article 196 of Directive 2006/112/EC";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaxTreatment {
    /// The product's own (seller-country) rate.
    Standard,
    /// 0 %: the business buyer accounts for the VAT in its own country.
    ReverseCharge,
    /// 0 %: the buyer is outside the EU.
    Export,
}

impl TaxTreatment {
    pub const ALL: [TaxTreatment; 3] = [
        TaxTreatment::Standard,
        TaxTreatment::ReverseCharge,
        TaxTreatment::Export,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaxTreatment::Standard => "standard",
            TaxTreatment::ReverseCharge => "reverse_charge",
            TaxTreatment::Export => "export",
        }
    }

    /// Whether the product's rate applies; otherwise every line is at 0 %.
    pub fn charges_vat(self) -> bool {
        self == TaxTreatment::Standard
    }
}

stored_as_text!(TaxTreatment);

impl fmt::Display for TaxTreatment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaxTreatment {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        TaxTreatment::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or(())
    }
}

/// The row of the table for a sale. `buyer_vat` is a number already confirmed (format,
/// and the registry when there is one) for the buyer's country.
pub fn treatment(
    seller_country: &str,
    buyer_country: &str,
    buyer_vat: Option<&VatNumber>,
) -> TaxTreatment {
    if !is_eu(buyer_country) {
        return TaxTreatment::Export;
    }
    if buyer_country == seller_country {
        return TaxTreatment::Standard;
    }
    match buyer_vat {
        Some(vat) if vat.country() == buyer_country => TaxTreatment::ReverseCharge,
        _ => TaxTreatment::Standard,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vat(n: &str, c: &str) -> VatNumber {
        VatNumber::parse(n, c).unwrap()
    }

    #[test]
    fn a_consumer_in_the_sellers_country_pays_its_vat() {
        assert_eq!(treatment("FR", "FR", None), TaxTreatment::Standard);
    }

    #[test]
    fn a_business_in_the_sellers_country_pays_its_vat() {
        let v = vat("FR40303265045", "FR");
        assert_eq!(treatment("FR", "FR", Some(&v)), TaxTreatment::Standard);
    }

    #[test]
    fn a_consumer_in_another_eu_country_pays_the_sellers_vat() {
        assert_eq!(treatment("FR", "DE", None), TaxTreatment::Standard);
    }

    #[test]
    fn a_business_with_a_vat_number_in_another_eu_country_is_reverse_charged() {
        // The case: Beta GmbH, Germany.
        let v = vat("DE123456789", "DE");
        assert_eq!(treatment("FR", "DE", Some(&v)), TaxTreatment::ReverseCharge);
        assert!(!TaxTreatment::ReverseCharge.charges_vat());
    }

    #[test]
    fn a_buyer_outside_the_eu_pays_no_vat_business_or_not() {
        assert_eq!(treatment("FR", "CH", None), TaxTreatment::Export);
        assert_eq!(treatment("FR", "US", None), TaxTreatment::Export);
        assert_eq!(treatment("FR", "GB", None), TaxTreatment::Export);
        assert!(!TaxTreatment::Export.charges_vat());
    }

    #[test]
    fn stored_names_round_trip() {
        for t in TaxTreatment::ALL {
            assert_eq!(t.as_str().parse(), Ok(t));
        }
    }
}
