//! Credit notes: the document of one refund, for the customer (from the bill's page in the
//! customer space) and the operator, as a page and as a PDF. Built as a
//! `documents::DocumentModel`, so it looks like the invoice it corrects and the PDF writer
//! needs nothing of its own.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;

use crate::documents::DocumentModel;
use crate::documents::credit_note::{self, CreditNoteSource};
use crate::error::{AppError, AppResult};
use crate::http::context::Page;
use crate::http::documents;
use crate::http::extract::RequireCustomer;
use crate::i18n::Locale;
use crate::state::AppState;
use crate::store::bills::{self, Bill};
use crate::store::customers::Customer;
use crate::store::refunds;

/// The credit note of refund `refund_id` of `bill` (already authorised by the caller), in
/// the bill's language whoever reads it, as its mail; a refund of another bill is a 404.
async fn model(
    state: &AppState,
    bill: &Bill,
    customer: &Customer,
    refund_id: i64,
) -> AppResult<DocumentModel> {
    let refund = refunds::find_for_bill(&state.db, bill.id, refund_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let lines = refunds::lines(&state.db, refund.id).await?;
    let (phone, settings) = documents::phone_and_seller(state, customer).await?;
    let locale = Locale::parse(&bill.locale).unwrap_or_default();
    Ok(credit_note::for_refund(
        locale,
        &CreditNoteSource {
            bill,
            refund: &refund,
            lines: &lines,
            customer,
            phone: &phone,
            settings: &settings,
        },
    ))
}

/// The page; `base` is the credit note's own address (its PDF is `{base}/document.pdf`).
pub async fn render(
    state: &AppState,
    mut page: Page,
    bill: Bill,
    customer: Customer,
    refund_id: i64,
    back: String,
    base: String,
) -> AppResult<Response> {
    let doc = model(state, &bill, &customer, refund_id).await?;
    page.locale = doc.locale;
    documents::page_of(page, doc, back, format!("{base}/document.pdf"))
}

pub async fn render_pdf(
    state: &AppState,
    bill: Bill,
    customer: Customer,
    refund_id: i64,
) -> AppResult<Response> {
    let doc = model(state, &bill, &customer, refund_id).await?;
    documents::pdf_response(doc).await
}

/// This customer's bill `public_id`; another customer's (or none signed in) is a 404.
pub(crate) async fn customer_bill(
    state: &AppState,
    customer: Option<Customer>,
    public_id: &str,
) -> AppResult<(Bill, Customer)> {
    let customer = customer.ok_or(AppError::NotFound)?;
    let bill = bills::find_by_public_id(&state.db, public_id)
        .await?
        .filter(|b| b.customer_id == customer.id)
        .ok_or(AppError::NotFound)?;
    Ok((bill, customer))
}

/// `{bill}` is the bill's public id; another customer's bill (or credit note) is a 404.
pub async fn for_customer(
    State(state): State<AppState>,
    RequireCustomer { customer, .. }: RequireCustomer,
    page: Page,
    Path((public_id, refund_id)): Path<(String, i64)>,
) -> AppResult<Response> {
    let (bill, customer) = customer_bill(&state, customer, &public_id).await?;
    let back = format!("/customer/bills/{public_id}");
    let base = format!("{back}/credit-notes/{refund_id}");
    render(&state, page, bill, customer, refund_id, back, base).await
}

pub async fn pdf_for_customer(
    State(state): State<AppState>,
    RequireCustomer { customer, .. }: RequireCustomer,
    Path((public_id, refund_id)): Path<(String, i64)>,
) -> AppResult<Response> {
    let (bill, customer) = customer_bill(&state, customer, &public_id).await?;
    render_pdf(&state, bill, customer, refund_id).await
}

/// This area's routes (full paths: the security suite reads every route under src/http).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/customer/bills/{bill}/credit-notes/{refund}",
            get(for_customer),
        )
        .route(
            "/customer/bills/{bill}/credit-notes/{refund}/document.pdf",
            get(pdf_for_customer),
        )
}
