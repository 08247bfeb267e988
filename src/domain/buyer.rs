//! What a business buyer adds on the checkout's customer step: its VAT number, the
//! purchase-order reference its accounts payable wants on the invoice, a phone number.

use serde::Deserialize;

use super::form::{FieldErrors, optional};
use super::vat::{VatError, VatNumber};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BuyerForm {
    pub vat_number: String,
    pub po_reference: String,
    pub phone: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BuyerDetails {
    pub vat_number: Option<VatNumber>,
    pub po_reference: String,
    pub phone: String,
}

impl BuyerDetails {
    /// `country` is the invoiced country: the VAT number must be of it.
    pub fn parse(form: &BuyerForm, country: &str) -> Result<BuyerDetails, FieldErrors> {
        let mut errors = FieldErrors::default();
        let vat = form.vat_number.trim();
        let vat_number = if vat.is_empty() {
            None
        } else {
            VatNumber::parse(vat, country)
                .map_err(|e| {
                    errors.add(
                        "vat_number",
                        match e {
                            VatError::NotEu => "errors.vat_not_eu",
                            VatError::WrongCountry => "errors.vat_country",
                            VatError::Format => "errors.vat_format",
                        },
                    )
                })
                .ok()
        };
        let po_reference =
            optional(&mut errors, "po_reference", &form.po_reference, 100).unwrap_or_default();
        let phone = optional(&mut errors, "phone", &form.phone, 30).unwrap_or_default();
        if !phone.is_empty() && !is_phone(&phone) {
            errors.add("phone", "errors.phone");
        }
        errors.into_result(|| BuyerDetails {
            vat_number,
            po_reference,
            phone,
        })
    }
}

/// Digits with the usual separators, an optional leading `+`, and enough digits to dial.
fn is_phone(s: &str) -> bool {
    let body = s.strip_prefix('+').unwrap_or(s);
    let digits = body.chars().filter(char::is_ascii_digit).count();
    (6..=15).contains(&digits)
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '.' | '-' | '(' | ')'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(vat: &str, phone: &str) -> BuyerForm {
        BuyerForm {
            vat_number: vat.into(),
            po_reference: "PO-2026-17".into(),
            phone: phone.into(),
        }
    }

    #[test]
    fn a_business_buyer_gives_its_vat_number_po_and_phone() {
        let d = BuyerDetails::parse(&form("de 123456789", "+49 30 1234567"), "DE").unwrap();
        assert_eq!(d.vat_number.unwrap().as_str(), "DE123456789");
        assert_eq!(d.po_reference, "PO-2026-17");
        assert_eq!(d.phone, "+49 30 1234567");
    }

    #[test]
    fn everything_is_optional() {
        let d = BuyerDetails::parse(&BuyerForm::default(), "FR").unwrap();
        assert_eq!(d, BuyerDetails::default());
    }

    #[test]
    fn a_bad_vat_number_or_phone_is_the_fields_error() {
        let e = BuyerDetails::parse(&form("DE12345", "12"), "DE").unwrap_err();
        assert_eq!(e.get("vat_number"), Some("errors.vat_format"));
        assert_eq!(e.get("phone"), Some("errors.phone"));
        let e = BuyerDetails::parse(&form("FR40303265045", ""), "DE").unwrap_err();
        assert_eq!(e.get("vat_number"), Some("errors.vat_country"));
        let e = BuyerDetails::parse(&form("CHE123456789", ""), "CH").unwrap_err();
        assert_eq!(e.get("vat_number"), Some("errors.vat_not_eu"));
    }
}
