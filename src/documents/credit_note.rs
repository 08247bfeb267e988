//! A refund's credit note as a [`DocumentModel`]: the same seller, buyer and tax mention as
//! the invoice it corrects, the refunded lines and totals negative. Rendered by the same
//! HTML template and PDF writer as every other document.

use super::model::{self, Columns, DocumentModel, Field, Kind, Line, buyer, seller};
use crate::domain::Money;
use crate::i18n::{Locale, formats};
use crate::store::bills::Bill;
use crate::store::customers::Customer;
use crate::store::refunds::{self, Refund};
use crate::store::settings::Settings;

/// What a credit note is made of; all of it already loaded and authorised.
pub struct CreditNoteSource<'a> {
    pub bill: &'a Bill,
    pub refund: &'a Refund,
    pub lines: &'a [refunds::Line],
    pub customer: &'a Customer,
    pub phone: &'a str,
    pub settings: &'a Settings,
}

/// The credit note of `src.refund`, in `locale`.
pub fn for_refund(locale: Locale, src: &CreditNoteSource<'_>) -> DocumentModel {
    let CreditNoteSource {
        bill,
        refund,
        lines,
        customer,
        phone,
        settings,
    } = *src;
    let t = |key: &str| locale.t(key).into_owned();
    // Given back: printed negative, as a credit note does.
    let minus = |minor: i64| formats::money(locale, Money::from_minor(-minor), &refund.currency);
    let number = refund.credit_note_number.clone();

    let mut facts = vec![
        Field::new(t("refund.corrects"), bill.document_number()).with_id("corrected-invoice"),
        Field::new(t("document.order"), bill.reference()),
        Field::new(
            t("refund.issued_on"),
            formats::date(locale, refund.created_at.date()),
        ),
    ];
    if !refund.reason.is_empty() {
        facts.push(Field::new(t("refund.reason"), refund.reason.clone()));
    }

    DocumentModel {
        locale,
        kind: Kind::CreditNote,
        title: format!("{} {number}", t("refund.credit_note")),
        number,
        facts,
        note: None,
        seller: seller(locale, settings),
        buyer: buyer(locale, bill, customer, phone),
        columns: Columns {
            product: t("cart.product"),
            quantity: t("shop.quantity"),
            unit_price: t("cart.unit_price"),
            rate: t("document.tax"),
            total: t("cart.untaxed"),
        },
        lines: lines
            .iter()
            .map(|l| Line {
                product: format!("[{}] {}", l.code, l.name),
                // Money given back without units (a gesture) has no count.
                quantity: match l.quantity {
                    0 => String::new(),
                    q => q.to_string(),
                },
                // The invoice's unit price of the units taken back; the total is what the
                // line gives back (it may add an amount, or be money alone).
                unit_price: match l.quantity {
                    0 => String::new(),
                    _ => minus(l.unit_price),
                },
                rate: format!("{} %", model::rate(locale, l.tax_rate_bp)),
                total: minus(l.untaxed),
            })
            .collect(),
        taxes: model::tax_rows(
            locale,
            lines.iter().map(|l| (l.tax_rate_bp, l.untaxed, l.tax)),
            minus,
        ),
        totals: vec![
            Field::new(t("cart.untaxed"), minus(refund.untaxed)).with_id("credit-untaxed"),
            Field::new(t("document.tax"), minus(refund.tax)),
            Field::new(t("cart.total"), minus(refund.total)).with_id("credit-total"),
        ],
        mention: model::mention(locale, bill.tax_treatment),
        bank: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::model::tests::{bill, customer, settings};
    use crate::documents::pdf::render;
    use crate::domain::BillState;

    fn refund() -> Refund {
        Refund {
            id: 3,
            bill_id: 1,
            customer_id: 7,
            credit_note_number: "AV2026-000001".into(),
            currency: "EUR".into(),
            untaxed: 5_000,
            tax: 1_000,
            total: 6_000,
            reason: "Session annulée".into(),
            actor: "op@example.org".into(),
            provider_refund_id: None,
            seats_revoked: 1,
            seats_kept: 0,
            created_at: time::macros::datetime!(2026-11-24 10:00 UTC),
        }
    }

    fn credit_note(locale: Locale, lines: &[refunds::Line]) -> DocumentModel {
        for_refund(
            locale,
            &CreditNoteSource {
                bill: &bill(BillState::Complete, Some("F2026-000001")),
                refund: &refund(),
                lines,
                customer: &customer(),
                phone: "",
                settings: &settings(),
            },
        )
    }

    fn line(quantity: i32, untaxed: i64) -> refunds::Line {
        refunds::Line {
            line_no: 1,
            code: "P-1".into(),
            name: "Formation sécurité".into(),
            tax_rate_bp: 2_000,
            quantity,
            unit_price: 2_500,
            untaxed,
            tax: untaxed / 5,
        }
    }

    #[test]
    fn a_credit_note_names_the_invoice_it_corrects_and_gives_amounts_back_negative() {
        let m = credit_note(Locale::Fr, &[line(2, 5_000)]);
        assert_eq!(m.kind, Kind::CreditNote);
        assert_eq!(m.title, "Avoir AV2026-000001");
        assert_eq!(m.filename(), "AV2026-000001.pdf");
        assert!(
            m.facts
                .iter()
                .any(|f| f.id == "corrected-invoice" && f.value == "F2026-000001")
        );
        assert!(m.facts.iter().any(|f| f.value == "Session annulée"));
        assert_eq!(m.lines[0].quantity, "2");
        assert!(m.lines[0].unit_price.starts_with('-'), "{:?}", m.lines[0]);
        assert!(m.lines[0].total.starts_with('-'));
        assert!(m.totals.iter().all(|f| f.value.starts_with('-')));
        assert_eq!(m.taxes.len(), 1);
        assert!(m.bank.is_none(), "nothing is to be paid on a credit note");
        assert!(render(&m).expect("pdf").starts_with(b"%PDF-"));
    }

    #[test]
    fn money_given_back_without_units_shows_no_count() {
        let m = credit_note(Locale::En, &[line(0, 1_001)]);
        assert_eq!(m.lines[0].quantity, "");
        assert_eq!(m.lines[0].unit_price, "");
        assert!(m.lines[0].total.starts_with('-'));
    }
}
