//! A bill's printable document: an invoice once paid (with its invoice number), a
//! pro-forma while a transfer is awaited (with the bank details), an order otherwise.
//! Reached from the customer space and from the checkout's confirmation.

use askama::Template;
use axum::response::Response;

use crate::domain::tax_rules::TaxTreatment;
use crate::error::AppResult;
use crate::http::context::Page;
use crate::http::render::html;
use crate::state::AppState;
use crate::store::bills::{self, Bill, Document, Item};
use crate::store::customers::{self, Customer};
use crate::store::refunds::{self, Refund};
use crate::store::settings::Settings;

#[derive(Template)]
#[template(path = "documents/bill.html")]
struct BillDocument {
    page: Page,
    bill: Bill,
    customer: Customer,
    phone: String,
    items: Vec<Item>,
    settings: Settings,
    /// Where the "back" link goes.
    back: &'static str,
    /// The bill's credit notes and where they are read (the customer space only).
    credit_notes: Vec<Refund>,
    credit_note_base: String,
}

impl BillDocument {
    fn title(&self) -> String {
        format!(
            "{} {}",
            self.page.t(self.bill.document_title_key()),
            self.bill.document_number()
        )
    }

    fn is_pro_forma(&self) -> bool {
        self.bill.document() == Document::ProForma
    }

    /// Money went back but the bill is not REFUNDED: a label, not a state.
    fn partially_refunded(&self) -> bool {
        !self.credit_notes.is_empty() && self.bill.state != crate::domain::BillState::Refunded
    }

    fn is_invoice(&self) -> bool {
        self.bill.document() == Document::Invoice
    }

    fn tax_mention(&self) -> Option<String> {
        crate::http::checkout::tax_mention(&self.page, self.bill.tax_treatment)
    }

    fn reverse_charged(&self) -> bool {
        self.bill.tax_treatment == TaxTreatment::ReverseCharge
    }

    fn iban(&self) -> String {
        self.settings.iban_display()
    }

    /// What the coupon took off, over every line (untaxed).
    fn discount(&self) -> i64 {
        self.items.iter().map(|i| i.discount).sum()
    }

    fn paymode(&self) -> String {
        self.page
            .t(&format!("paymode.{}", self.bill.paymode.as_str()))
            .into_owned()
    }
}

/// Renders `bill` (already authorised by the caller) for `customer`.
pub async fn render(
    state: &AppState,
    page: Page,
    bill: Bill,
    customer: Customer,
    back: &'static str,
) -> AppResult<Response> {
    let items = bills::items(&state.db, bill.id).await?;
    let phone = customers::business(&state.db, customer.id)
        .await?
        .map(|b| b.phone)
        .unwrap_or_default();
    let settings = state.catalogue.get(&state.db).await?.settings.clone();
    // Credit notes are read in the customer space; the checkout's copy of the document
    // (a visitor's session) does not list them.
    let (credit_notes, credit_note_base) = if back == "/customer" {
        let base = format!("/customer/bills/{}/credit-notes", bill.public_id);
        (refunds::for_bill(&state.db, bill.id).await?, base)
    } else {
        (vec![], String::new())
    };
    html(BillDocument {
        page,
        bill,
        customer,
        phone,
        items,
        settings,
        back,
        credit_notes,
        credit_note_base,
    })
}
