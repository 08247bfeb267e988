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
    html(BillDocument {
        page,
        bill,
        customer,
        phone,
        items,
        settings,
        back,
    })
}
