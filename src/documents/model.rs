//! One document, as both renderers need it: the HTML page (`templates/documents/bill.html`)
//! and the PDF writer (`documents::pdf`) read this struct and nothing else, so the two can
//! never disagree on a number, a date or a mention.
//!
//! Every text is already translated and formatted for the document's language: the
//! renderers only place strings. A credit note is the same struct with `Kind::CreditNote`,
//! a `facts` entry naming the invoice it corrects, and negative amounts.

use std::collections::BTreeMap;

use crate::domain::tax_rules::{REVERSE_CHARGE_MENTION, TaxTreatment};
use crate::domain::{Money, TaxRate};
use crate::i18n::{Locale, fill, formats};
use crate::store::bills::{Bill, Document, Item};
use crate::store::customers::Customer;
use crate::store::settings::Settings;

/// What the document is; decides its title and what it must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Invoice,
    /// Awaiting a transfer: carries the bank details, is never called an invoice.
    ProForma,
    /// Placed, declined or cancelled: an order, never an invoice.
    Order,
    /// Corrects an invoice (refunds); its lines and totals are negative.
    CreditNote,
}

/// A labelled value (`Order: B0000000001`). `id` names the value in the HTML page (empty:
/// none), for links and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub id: &'static str,
    pub label: String,
    pub value: String,
}

impl Field {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Field {
        Field {
            id: "",
            label: label.into(),
            value: value.into(),
        }
    }

    pub(super) fn with_id(mut self, id: &'static str) -> Field {
        self.id = id;
        self
    }
}

/// Seller or buyer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub heading: String,
    pub name: String,
    /// Postal lines, country last.
    pub lines: Vec<String>,
    /// Registration and VAT numbers, references, phone.
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    pub product: String,
    pub quantity: String,
    pub unit_price: String,
    pub rate: String,
    pub total: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub product: String,
    pub quantity: String,
    pub unit_price: String,
    /// `20 %`.
    pub rate: String,
    pub total: String,
}

/// One rate of the tax breakdown: the base it applies to and the tax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxRow {
    pub label: String,
    pub base: String,
    pub tax: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub text: String,
    /// The mention's own language when it is not the document's (the legal
    /// reverse-charge text is French and English whatever the document's language).
    pub lang: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bank {
    pub title: String,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentModel {
    pub locale: Locale,
    pub kind: Kind,
    /// `Invoice F2026-000001`.
    pub title: String,
    /// The number the document is filed under: the invoice (or credit note) number, else
    /// the order reference.
    pub number: String,
    /// Order reference, dates, state, payment; a credit note adds the invoice it corrects.
    pub facts: Vec<Field>,
    pub note: Option<String>,
    pub seller: Party,
    pub buyer: Party,
    pub columns: Columns,
    pub lines: Vec<Line>,
    /// Per rate, in increasing rate order.
    pub taxes: Vec<TaxRow>,
    /// The coupon's discount when there is one, then untaxed, tax, total: the last one is
    /// what is due.
    pub totals: Vec<Field>,
    pub mention: Option<Mention>,
    /// Only where money is still to be sent by transfer.
    pub bank: Option<Bank>,
}

impl DocumentModel {
    /// `F2026-000001.pdf`: the number, with anything a file name or a header could
    /// misread (the invoice prefix is free text) replaced.
    pub fn filename(&self) -> String {
        let stem: String = self
            .number
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        format!("{stem}.pdf")
    }
}

/// What a bill's document is made of; all of it already loaded and authorised.
pub struct BillSource<'a> {
    pub bill: &'a Bill,
    pub customer: &'a Customer,
    pub phone: &'a str,
    pub items: &'a [Item],
    pub settings: &'a Settings,
}

/// The invoice, pro-forma or order of a bill, in `locale`.
pub fn for_bill(locale: Locale, src: &BillSource<'_>) -> DocumentModel {
    let BillSource {
        bill,
        customer,
        phone,
        items,
        settings,
    } = *src;
    let t = |key: &str| locale.t(key).into_owned();
    let money = |minor: i64| formats::money(locale, Money::from_minor(minor), &bill.currency);
    let date = |at: time::OffsetDateTime| formats::date(locale, at.date());
    let kind = match bill.document() {
        Document::Invoice => Kind::Invoice,
        Document::ProForma => Kind::ProForma,
        Document::Order => Kind::Order,
    };
    let number = bill.document_number();

    let mut facts = vec![
        Field::new(t("document.order"), bill.reference()),
        Field::new(t("document.ordered_on"), date(bill.created_at)),
        Field::new(
            t("document.state"),
            t(&format!("bill.state.{}", bill.state)),
        ),
    ];
    if kind == Kind::Invoice {
        let paymode = format!("paymode.{}", bill.paymode.as_str());
        facts.push(Field::new(t("document.paid_by"), t(&paymode)));
        if let Some(at) = bill.paid_at {
            facts.push(Field::new(t("document.paid_on"), date(at)));
        }
    }

    let columns = Columns {
        product: t("cart.product"),
        quantity: t("shop.quantity"),
        unit_price: t("cart.unit_price"),
        rate: t("document.tax"),
        total: t("cart.line_total"),
    };
    let lines = items
        .iter()
        .map(|i| Line {
            product: format!("[{}] {}", i.code, i.name),
            quantity: i.quantity.to_string(),
            unit_price: money(i.unit_price),
            rate: format!("{} %", rate(locale, i.tax_rate_bp)),
            // Before the coupon: the coupon's own row takes it off (`totals`).
            total: money(i.gross()),
        })
        .collect();
    let discount: i64 = items.iter().map(|i| i.discount).sum();
    let coupon = (!bill.coupon_code.is_empty()).then(|| {
        Field::new(
            fill(&t("coupon.line"), &[("code", &bill.coupon_code)]),
            format!("−{}", money(discount)),
        )
        .with_id("document-coupon")
    });

    DocumentModel {
        locale,
        kind,
        title: format!("{} {}", t(bill.document_title_key()), number),
        number,
        facts,
        note: (kind == Kind::ProForma).then(|| t("document.pro_forma_note")),
        seller: seller(locale, settings),
        buyer: buyer(locale, bill, customer, phone),
        columns,
        lines,
        taxes: tax_rows(
            locale,
            items.iter().map(|i| (i.tax_rate_bp, i.untaxed, i.tax)),
            money,
        ),
        totals: coupon
            .into_iter()
            .chain([
                Field::new(t("cart.untaxed"), money(bill.untaxed)),
                Field::new(t("document.tax"), money(bill.tax)),
                Field::new(t("cart.total"), money(bill.total)),
            ])
            .collect(),
        mention: mention(locale, bill.tax_treatment),
        bank: (kind == Kind::ProForma && settings.has_bank_details()).then(|| Bank {
            title: t("bank.title"),
            fields: [
                Field::new(t("bank.holder"), settings.bank_holder.clone()),
                Field::new(t("bank.iban"), settings.iban_display()),
                Field::new(t("bank.bic"), settings.bank_bic.clone()),
                Field::new(t("bank.reference"), bill.reference()),
            ]
            .into_iter()
            .filter(|f| !f.value.is_empty())
            .collect(),
        }),
    }
}

/// `20`, `5.5` / `5,5`: a rate in basis points with the language's decimal separator.
pub(super) fn rate(locale: Locale, basis_points: i32) -> String {
    let rate = u32::try_from(basis_points)
        .ok()
        .and_then(TaxRate::from_basis_points)
        .map(|r| r.to_string())
        .unwrap_or_default();
    match locale {
        Locale::En => rate,
        Locale::Fr => rate.replace('.', ","),
    }
}

/// Base and tax per rate, from `parts` (rate in basis points, untaxed, tax). Bill lines
/// carry the amounts actually charged (net of any coupon), so the rows add up to the bill's
/// totals. `money` formats an amount (a credit note's prints it negative).
pub(super) fn tax_rows(
    locale: Locale,
    parts: impl IntoIterator<Item = (i32, i64, i64)>,
    money: impl Fn(i64) -> String,
) -> Vec<TaxRow> {
    let mut rates: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
    for (bp, untaxed, tax) in parts {
        let (base, sum) = rates.entry(bp).or_insert((0, 0));
        *base += untaxed;
        *sum += tax;
    }
    let label = locale.t("document.tax_at");
    rates
        .into_iter()
        .map(|(bp, (base, tax))| TaxRow {
            label: fill(&label, &[("rate", &rate(locale, bp))]),
            base: money(base),
            tax: money(tax),
        })
        .collect()
}

/// The legal reverse-charge text is the same in every language; the export one is
/// translated.
pub fn mention(locale: Locale, treatment: TaxTreatment) -> Option<Mention> {
    match treatment {
        TaxTreatment::Standard => None,
        TaxTreatment::ReverseCharge => Some(Mention {
            text: REVERSE_CHARGE_MENTION.to_owned(),
            lang: (locale != Locale::Fr).then_some("fr"),
        }),
        TaxTreatment::Export => Some(Mention {
            text: locale.t("checkout.export_mention").into_owned(),
            lang: None,
        }),
    }
}

pub(super) fn seller(locale: Locale, s: &Settings) -> Party {
    let name = if s.seller_legal_name.is_empty() {
        s.shop_name.clone()
    } else {
        s.seller_legal_name.clone()
    };
    let mut lines: Vec<String> = s
        .seller_address
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    lines.push(formats::country_name(locale, &s.seller_country));
    let fields = [
        ("admin.seller_company_number", &s.seller_company_number),
        ("admin.seller_vat_number", &s.seller_vat_number),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| Field::new(locale.t(k), v.clone()))
    .collect();
    Party {
        heading: locale.t("document.seller").into_owned(),
        name,
        lines,
        fields,
    }
}

pub(super) fn buyer(locale: Locale, bill: &Bill, c: &Customer, phone: &str) -> Party {
    // Distinct invoicing details, when given, are where the bill goes.
    let (organisation, address, zip, city, country) = match &c.invoice_organisation {
        Some(org) => (
            org.as_str(),
            c.invoice_address.as_deref().unwrap_or(""),
            c.invoice_zip.as_deref().unwrap_or(""),
            c.invoice_city.as_deref().unwrap_or(""),
            c.invoice_country.as_deref().unwrap_or(""),
        ),
        None => (
            c.organisation.as_str(),
            c.address.as_str(),
            c.zip.as_str(),
            c.city.as_str(),
            c.country.as_str(),
        ),
    };
    let town = format!("{zip} {city}").trim().to_owned();
    let lines = [
        organisation.to_owned(),
        address.to_owned(),
        town,
        formats::country_name(locale, country),
    ]
    .into_iter()
    .filter(|l| !l.is_empty())
    .collect();
    let t = |key: &str| locale.t(key).into_owned();
    let fields = [
        Field::new(t("checkout.vat_number"), bill.buyer_vat_number.clone())
            .with_id("document-buyer-vat"),
        Field::new(t("checkout.po_reference"), bill.po_reference.clone()),
        Field::new(t("checkout.phone"), phone.to_owned()),
    ]
    .into_iter()
    .filter(|f| !f.value.is_empty())
    .collect();
    Party {
        heading: t("document.buyer"),
        name: format!("{} {}", c.firstname, c.lastname),
        lines,
        fields,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::BillState;
    use crate::domain::paymode::Paymode;

    pub(crate) fn bill(state: BillState, invoice_number: Option<&str>) -> Bill {
        Bill {
            id: 1,
            number: 42,
            public_id: "pub".into(),
            customer_id: 7,
            buyer_user_id: None,
            state,
            paymode: Paymode::Transfer,
            currency: "EUR".into(),
            untaxed: 12_000,
            tax: 2_100,
            total: 14_100,
            failure_reason: None,
            created_at: time::macros::datetime!(2026-11-22 10:00 UTC),
            paid_at: invoice_number.map(|_| time::macros::datetime!(2026-11-23 09:00 UTC)),
            completed_at: None,
            locale: "fr".into(),
            created_user_id: None,
            invoice_number: invoice_number.map(str::to_owned),
            tax_treatment: TaxTreatment::Standard,
            buyer_vat_number: "FR40303265045".into(),
            po_reference: "PO-1".into(),
            terms_version: String::new(),
            coupon_code: String::new(),
        }
    }

    pub(crate) fn customer() -> Customer {
        Customer {
            id: 7,
            user_id: None,
            firstname: "Zoé".into(),
            lastname: "Lefèvre".into(),
            email: "zoe@example.org".into(),
            organisation: "Élan SARL".into(),
            address: "3 place de l’Église".into(),
            zip: "95000".into(),
            city: "Cergy".into(),
            country: "FR".into(),
            invoice_organisation: None,
            invoice_address: None,
            invoice_zip: None,
            invoice_city: None,
            invoice_country: None,
        }
    }

    pub(crate) fn item(line_no: i32, rate_bp: i32, untaxed: i64) -> Item {
        Item {
            id: i64::from(line_no),
            line_no,
            product_id: 1,
            code: format!("P-{line_no}"),
            name: "Formation sécurité".into(),
            quantity: 1,
            unit_price: untaxed,
            tax_rate_bp: rate_bp,
            untaxed,
            tax: untaxed * i64::from(rate_bp) / 10_000,
            handler: "std_generateseats".into(),
            handler_params: String::new(),
            discount: 0,
        }
    }

    pub(crate) fn settings() -> Settings {
        Settings {
            shop_name: "Shop".into(),
            currency: "EUR".into(),
            default_support_course_id: None,
            sales_conditions: String::new(),
            paymodes: vec![Paymode::Transfer],
            seller_legal_name: "Formations Alpines SAS".into(),
            seller_address: "12 rue des Pistes\n95000 Cergy".into(),
            seller_country: "FR".into(),
            seller_company_number: "RCS Pontoise 123 456 789".into(),
            seller_vat_number: "FR40303265045".into(),
            bank_iban: "FR7630006000011234567890189".into(),
            bank_bic: "BNPAFRPP".into(),
            bank_holder: "Formations Alpines SAS".into(),
            invoice_prefix: "F".into(),
            credit_note_prefix: "AV".into(),
        }
    }

    pub(crate) fn model(locale: Locale, bill: &Bill, items: &[Item]) -> DocumentModel {
        for_bill(
            locale,
            &BillSource {
                bill,
                customer: &customer(),
                phone: "+33 1 23 45 67 89",
                items,
                settings: &settings(),
            },
        )
    }

    #[test]
    fn a_paid_bill_is_an_invoice_under_its_number() {
        let b = bill(BillState::Complete, Some("F2026-000001"));
        let m = model(Locale::En, &b, &[item(1, 2000, 10_000)]);
        assert_eq!(m.kind, Kind::Invoice);
        assert_eq!(m.title, "Invoice F2026-000001");
        assert_eq!(m.filename(), "F2026-000001.pdf");
        assert!(m.facts.iter().any(|f| f.value == "Bank transfer"));
        assert!(m.bank.is_none(), "an invoice is not a payment request");
    }

    #[test]
    fn an_awaited_transfer_is_a_pro_forma_with_the_bank_details() {
        let b = bill(BillState::Pending, None);
        let m = model(Locale::Fr, &b, &[item(1, 2000, 10_000)]);
        assert_eq!(m.kind, Kind::ProForma);
        assert_eq!(m.title, "Pro forma B0000000042");
        assert_eq!(m.filename(), "B0000000042.pdf");
        let bank = m.bank.expect("bank details");
        let values: Vec<&str> = bank.fields.iter().map(|f| f.value.as_str()).collect();
        assert!(values.contains(&"FR76 3000 6000 0112 3456 7890 189"));
        assert!(values.contains(&"B0000000042"));
        assert!(m.note.is_some());
    }

    #[test]
    fn a_declined_bill_is_an_order_never_an_invoice() {
        let b = bill(BillState::Refused, None);
        let m = model(Locale::En, &b, &[item(1, 2000, 10_000)]);
        assert_eq!(m.kind, Kind::Order);
        assert!(m.title.starts_with("Order B"));
        assert!(!m.facts.iter().any(|f| f.label.contains("Paid")));
    }

    #[test]
    fn taxes_are_broken_down_per_rate_and_add_up() {
        let items = [
            item(1, 2000, 10_000),
            item(2, 550, 2_000),
            item(3, 2000, 1_000),
        ];
        let b = bill(BillState::Complete, Some("F2026-000002"));
        let m = model(Locale::Fr, &b, &items);
        let rows: Vec<(&str, &str, &str)> = m
            .taxes
            .iter()
            .map(|r| (r.label.as_str(), r.base.as_str(), r.tax.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                ("TVA 5,5 %", "20,00\u{a0}€", "1,10\u{a0}€"),
                ("TVA 20 %", "110,00\u{a0}€", "22,00\u{a0}€"),
            ]
        );
    }

    #[test]
    fn a_coupon_shows_lines_before_it_and_its_own_row_before_the_totals() {
        let mut b = bill(BillState::Complete, Some("F2026-000003"));
        b.coupon_code = "WELCOME10".into();
        let mut line = item(1, 2000, 9_000);
        line.discount = 1_000;
        let m = model(Locale::En, &b, &[line]);
        assert_eq!(m.lines[0].total, "€100.00");
        let coupon = &m.totals[0];
        assert_eq!(
            (coupon.id, coupon.label.as_str(), coupon.value.as_str()),
            ("document-coupon", "Coupon WELCOME10", "−€10.00")
        );
        assert_eq!(m.totals.len(), 4);
        // Tax applies to what is charged.
        assert_eq!(m.taxes[0].base, "€90.00");
    }

    #[test]
    fn the_buyer_carries_the_references_business_buyers_quote() {
        let b = bill(BillState::Complete, Some("F2026-000001"));
        let m = model(Locale::Fr, &b, &[]);
        assert_eq!(m.buyer.name, "Zoé Lefèvre");
        assert_eq!(m.buyer.lines.last().map(String::as_str), Some("France"));
        let vat = &m.buyer.fields[0];
        assert_eq!(
            (vat.id, vat.value.as_str()),
            ("document-buyer-vat", "FR40303265045")
        );
        assert!(m.buyer.fields.iter().any(|f| f.value == "PO-1"));
        assert_eq!(m.seller.name, "Formations Alpines SAS");
        assert!(
            m.seller
                .fields
                .iter()
                .any(|f| f.value == "RCS Pontoise 123 456 789")
        );
    }

    #[test]
    fn reverse_charge_keeps_its_legal_text_in_every_language() {
        let mut b = bill(BillState::Complete, Some("F2026-000001"));
        b.tax_treatment = TaxTreatment::ReverseCharge;
        for locale in Locale::ALL {
            let m = model(locale, &b, &[]);
            assert_eq!(m.mention.expect("mention").text, REVERSE_CHARGE_MENTION);
        }
    }

    #[test]
    fn a_file_name_never_carries_what_a_header_would_misread() {
        let b = bill(BillState::Complete, Some("F\"x/ 1"));
        let m = model(Locale::En, &b, &[]);
        assert_eq!(m.filename(), "F-x--1.pdf");
    }
}
