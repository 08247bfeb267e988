//! Credit notes: the printable document of one refund, for the customer (from the bill's
//! page in the customer space) and the operator. Its own template and model, beside the
//! bill's document, so a PDF rendering can take the same model later.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;

use crate::domain::tax_rules::TaxTreatment;
use crate::error::{AppError, AppResult};
use crate::http::context::Page;
use crate::http::extract::RequireCustomer;
use crate::http::render::html;
use crate::i18n::Locale;
use crate::state::AppState;
use crate::store::bills::{self, Bill};
use crate::store::customers::Customer;
use crate::store::refunds::{self, Line, Refund};
use crate::store::settings::Settings;

#[derive(Template)]
#[template(path = "documents/credit_note.html")]
struct CreditNote {
    page: Page,
    bill: Bill,
    refund: Refund,
    customer: Customer,
    lines: Vec<Line>,
    /// Tax given back per rate (basis points), for the breakdown.
    taxes: Vec<(i32, i64)>,
    settings: Settings,
    back: String,
}

impl CreditNote {
    fn title(&self) -> String {
        format!(
            "{} {}",
            self.page.t("refund.credit_note"),
            self.refund.credit_note_number
        )
    }

    /// Amounts given back, printed negative as a credit note does.
    fn minus(&self, minor: impl Borrow<i64>) -> String {
        self.page.money(-*minor.borrow(), &self.refund.currency)
    }

    fn tax_mention(&self) -> Option<String> {
        crate::http::checkout::tax_mention(&self.page, self.bill.tax_treatment)
    }

    fn reverse_charged(&self) -> bool {
        self.bill.tax_treatment == TaxTreatment::ReverseCharge
    }
}

/// Renders refund `refund_id` of `bill` (already authorised by the caller); a refund of
/// another bill is a 404.
pub async fn render(
    state: &AppState,
    page: Page,
    bill: Bill,
    customer: Customer,
    refund_id: i64,
    back: String,
) -> AppResult<Response> {
    let refund = refunds::find_for_bill(&state.db, bill.id, refund_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let lines = refunds::lines(&state.db, refund.id).await?;
    let mut taxes: BTreeMap<i32, i64> = BTreeMap::new();
    for l in &lines {
        *taxes.entry(l.tax_rate_bp).or_default() += l.tax;
    }
    let settings = state.catalogue.get(&state.db).await?.settings.clone();
    // Issued in the bill's language, as its mail: the same document whoever opens it.
    let mut page = page;
    if let Some(locale) = Locale::parse(&bill.locale) {
        page.locale = locale;
    }
    html(CreditNote {
        page,
        bill,
        refund,
        customer,
        lines,
        taxes: taxes.into_iter().collect(),
        settings,
        back,
    })
}

/// `{bill}` is the bill's public id; another customer's bill (or credit note) is a 404.
pub async fn for_customer(
    State(state): State<AppState>,
    RequireCustomer { customer, .. }: RequireCustomer,
    page: Page,
    Path((public_id, refund_id)): Path<(String, i64)>,
) -> AppResult<Response> {
    let customer = customer.ok_or(AppError::NotFound)?;
    let bill = bills::find_by_public_id(&state.db, &public_id)
        .await?
        .filter(|b| b.customer_id == customer.id)
        .ok_or(AppError::NotFound)?;
    let back = format!("/customer/bills/{public_id}");
    render(&state, page, bill, customer, refund_id, back).await
}

/// This area's routes (full paths: the security suite reads every route under src/http).
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/customer/bills/{bill}/credit-notes/{refund}",
        get(for_customer),
    )
}
