//! A bill's document: an invoice once paid (with its invoice number), a pro-forma while a
//! transfer is awaited (with the bank details), an order otherwise. The HTML page and the
//! PDF are two renderings of one `documents::DocumentModel`. Reached from the customer
//! space, the checkout's confirmation and the operator's bill; callers authorise.

use askama::Template;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use crate::documents::model::Party;
use crate::documents::{BillSource, DocumentModel, model, pdf};
use crate::error::{AppError, AppResult};
use crate::http::context::Page;
use crate::http::render::html;
use crate::i18n::Locale;
use crate::state::AppState;
use crate::store::bills::{self, Bill};
use crate::store::customers::{self, Customer};
use crate::store::refunds::{self, Refund};
use crate::store::settings::Settings;

#[derive(Template)]
#[template(path = "documents/bill.html")]
struct BillDocument {
    page: Page,
    doc: DocumentModel,
    /// Where the "back" link goes.
    back: String,
    /// The same document as a PDF.
    pdf: String,
    /// The bill's credit notes and where they are read (the customer space only).
    credit_notes: Vec<Refund>,
    credit_note_base: String,
    /// Money went back but the bill is not REFUNDED: a label, not a state.
    partially_refunded: bool,
}

impl BillDocument {
    /// The two parties with the id of their section.
    fn parties(&self) -> [(&'static str, &Party); 2] {
        [("seller", &self.doc.seller), ("buyer", &self.doc.buyer)]
    }
}

/// The model of `bill` (already authorised by the caller) for `customer`, in `locale`.
async fn model(
    state: &AppState,
    locale: Locale,
    bill: &Bill,
    customer: &Customer,
) -> AppResult<DocumentModel> {
    let items = bills::items(&state.db, bill.id).await?;
    let (phone, settings) = phone_and_seller(state, customer).await?;
    Ok(model::for_bill(
        locale,
        &BillSource {
            bill,
            customer,
            phone: &phone,
            items: &items,
            settings: &settings,
        },
    ))
}

/// What every document prints besides its own lines: the buyer's phone and the settings
/// (the seller's identity and bank details).
pub(crate) async fn phone_and_seller(
    state: &AppState,
    customer: &Customer,
) -> AppResult<(String, Settings)> {
    let phone = customers::business(&state.db, customer.id)
        .await?
        .map(|b| b.phone)
        .unwrap_or_default();
    let settings = state.catalogue.get(&state.db).await?.settings.clone();
    Ok((phone, settings))
}

/// The HTML page, in the visitor's language; `pdf` is the address of its PDF.
pub async fn render(
    state: &AppState,
    page: Page,
    bill: Bill,
    customer: Customer,
    back: &'static str,
    pdf: String,
) -> AppResult<Response> {
    let doc = model(state, page.locale, &bill, &customer).await?;
    // Credit notes are read in the customer space; the checkout's copy of the document
    // (a visitor's session) does not list them.
    let (credit_notes, credit_note_base) = if back == "/customer" {
        let base = format!("/customer/bills/{}/credit-notes", bill.public_id);
        (refunds::for_bill(&state.db, bill.id).await?, base)
    } else {
        (vec![], String::new())
    };
    let partially_refunded =
        !credit_notes.is_empty() && bill.state != crate::domain::BillState::Refunded;
    html(BillDocument {
        page,
        doc,
        back: back.to_owned(),
        pdf,
        credit_notes,
        credit_note_base,
        partially_refunded,
    })
}

/// The PDF, in the language the bill was placed in: a document filed by the buyer's
/// accounts reads the same whoever downloads it.
pub async fn render_pdf(state: &AppState, bill: Bill, customer: Customer) -> AppResult<Response> {
    let locale = Locale::parse(&bill.locale).unwrap_or_default();
    let doc = model(state, locale, &bill, &customer).await?;
    pdf_response(doc).await
}

/// A document the caller built (a credit note) as its HTML page, with no credit-note list.
pub fn page_of(page: Page, doc: DocumentModel, back: String, pdf: String) -> AppResult<Response> {
    html(BillDocument {
        page,
        doc,
        back,
        pdf,
        credit_notes: vec![],
        credit_note_base: String::new(),
        partially_refunded: false,
    })
}

/// `doc` as a PDF download named after its number.
pub async fn pdf_response(doc: DocumentModel) -> AppResult<Response> {
    let filename = doc.filename();
    // Laying out and subsetting the font is CPU work: off the request threads.
    let bytes = tokio::task::spawn_blocking(move || pdf::render(&doc))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok((
        [
            (CONTENT_TYPE, "application/pdf".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
