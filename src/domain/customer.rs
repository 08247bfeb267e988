//! Customer details as entered on the checkout's customer step.

use serde::Deserialize;

use super::countries::is_country_code;
use super::email::Email;
use super::form::{FieldErrors, optional, required};
use super::person::PersonName;

/// The form exactly as typed: re-rendered untouched when something is wrong.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CustomerForm {
    pub firstname: String,
    pub lastname: String,
    pub email: String,
    pub organisation: String,
    pub address: String,
    pub zip: String,
    pub city: String,
    pub country: String,
    /// "1" when invoicing details differ from the customer's.
    pub invoice_distinct: String,
    pub invoice_organisation: String,
    pub invoice_address: String,
    pub invoice_zip: String,
    pub invoice_city: String,
    pub invoice_country: String,
}

impl CustomerForm {
    /// The typed value of a text field by name, for re-display.
    pub fn field(&self, name: &str) -> &str {
        match name {
            "firstname" => &self.firstname,
            "lastname" => &self.lastname,
            "email" => &self.email,
            "organisation" => &self.organisation,
            "address" => &self.address,
            "zip" => &self.zip,
            "city" => &self.city,
            "invoice_organisation" => &self.invoice_organisation,
            "invoice_address" => &self.invoice_address,
            "invoice_zip" => &self.invoice_zip,
            "invoice_city" => &self.invoice_city,
            _ => "",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceDetails {
    pub organisation: String,
    pub address: String,
    pub zip: String,
    pub city: String,
    pub country: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerDetails {
    pub firstname: String,
    pub lastname: String,
    pub email: Email,
    pub organisation: String,
    pub address: String,
    pub zip: String,
    pub city: String,
    pub country: String,
    pub invoice: Option<InvoiceDetails>,
}

fn country(errors: &mut FieldErrors, field: &str, value: &str) -> String {
    let code = value.trim().to_uppercase();
    if code.is_empty() {
        errors.add(field, "errors.required");
    } else if !is_country_code(&code) {
        errors.add(field, "errors.country");
    }
    code
}

impl CustomerDetails {
    pub fn parse(form: &CustomerForm) -> Result<CustomerDetails, FieldErrors> {
        let mut errors = FieldErrors::default();
        let firstname = PersonName::field(&mut errors, "firstname", &form.firstname);
        let lastname = PersonName::field(&mut errors, "lastname", &form.lastname);
        let email = Email::parse(&form.email)
            .map_err(|_| errors.add("email", "errors.email"))
            .ok();
        let organisation =
            optional(&mut errors, "organisation", &form.organisation, 200).unwrap_or_default();
        let address = required(&mut errors, "address", &form.address, 300);
        let zip = required(&mut errors, "zip", &form.zip, 20);
        let city = required(&mut errors, "city", &form.city, 100);
        let country = country(&mut errors, "country", &form.country);
        let invoice = (form.invoice_distinct == "1").then(|| InvoiceDetails {
            organisation: required(
                &mut errors,
                "invoice_organisation",
                &form.invoice_organisation,
                200,
            ),
            address: required(&mut errors, "invoice_address", &form.invoice_address, 300),
            zip: required(&mut errors, "invoice_zip", &form.invoice_zip, 20),
            city: required(&mut errors, "invoice_city", &form.invoice_city, 100),
            country: self::country(&mut errors, "invoice_country", &form.invoice_country),
        });
        match email {
            Some(email) if errors.is_empty() => Ok(CustomerDetails {
                firstname,
                lastname,
                email,
                organisation,
                address,
                zip,
                city,
                country,
                invoice,
            }),
            _ => Err(errors),
        }
    }

    /// The form pre-filled from stored details.
    pub fn to_form(&self) -> CustomerForm {
        let inv = self.invoice.clone();
        CustomerForm {
            firstname: self.firstname.clone(),
            lastname: self.lastname.clone(),
            email: self.email.to_string(),
            organisation: self.organisation.clone(),
            address: self.address.clone(),
            zip: self.zip.clone(),
            city: self.city.clone(),
            country: self.country.clone(),
            invoice_distinct: if inv.is_some() {
                "1".into()
            } else {
                String::new()
            },
            invoice_organisation: inv
                .as_ref()
                .map(|i| i.organisation.clone())
                .unwrap_or_default(),
            invoice_address: inv.as_ref().map(|i| i.address.clone()).unwrap_or_default(),
            invoice_zip: inv.as_ref().map(|i| i.zip.clone()).unwrap_or_default(),
            invoice_city: inv.as_ref().map(|i| i.city.clone()).unwrap_or_default(),
            invoice_country: inv.map(|i| i.country).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> CustomerForm {
        CustomerForm {
            firstname: "Ada".into(),
            lastname: "Lovelace".into(),
            email: "ada@example.org".into(),
            organisation: "Analytical Ltd".into(),
            address: "1 rue de la Paix".into(),
            zip: "75002".into(),
            city: "Paris".into(),
            country: "fr".into(),
            ..Default::default()
        }
    }

    #[test]
    fn parses_a_complete_form() {
        let d = CustomerDetails::parse(&valid()).unwrap();
        assert_eq!(d.country, "FR");
        assert_eq!(d.email.as_str(), "ada@example.org");
        assert!(d.invoice.is_none());
        assert_eq!(CustomerDetails::parse(&d.to_form()).unwrap(), d);
    }

    #[test]
    fn reports_every_bad_field() {
        let form = CustomerForm {
            firstname: " ".into(),
            email: "nope".into(),
            country: "XX".into(),
            ..valid()
        };
        let errors = CustomerDetails::parse(&form).unwrap_err();
        assert_eq!(errors.get("firstname"), Some("errors.required"));
        assert_eq!(errors.get("email"), Some("errors.email"));
        assert_eq!(errors.get("country"), Some("errors.country"));
        assert!(!errors.has("city"));
    }

    #[test]
    fn names_follow_the_person_name_rules_and_no_field_takes_control_characters() {
        let form = CustomerForm {
            firstname: "x".repeat(101),
            lastname: "Love\u{1}lace".into(),
            address: "1 rue\0 de la Paix".into(),
            city: "Paris\u{7f}".into(),
            organisation: "Org\u{1b}".into(),
            ..valid()
        };
        let errors = CustomerDetails::parse(&form).unwrap_err();
        assert_eq!(errors.get("firstname"), Some("errors.too_long"));
        for field in ["lastname", "address", "city", "organisation"] {
            assert_eq!(errors.get(field), Some("errors.control_chars"), "{field}");
        }
    }

    #[test]
    fn distinct_invoicing_details_are_required_when_asked_for() {
        let form = CustomerForm {
            invoice_distinct: "1".into(),
            ..valid()
        };
        let errors = CustomerDetails::parse(&form).unwrap_err();
        assert!(errors.has("invoice_address"));
        let form = CustomerForm {
            invoice_distinct: "1".into(),
            invoice_organisation: "HQ".into(),
            invoice_address: "2 av. X".into(),
            invoice_zip: "1000".into(),
            invoice_city: "Bruxelles".into(),
            invoice_country: "BE".into(),
            ..valid()
        };
        assert_eq!(
            CustomerDetails::parse(&form)
                .unwrap()
                .invoice
                .unwrap()
                .country,
            "BE"
        );
    }
}
