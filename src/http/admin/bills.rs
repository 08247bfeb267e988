//! Bills for operators: list, detail with history, mark paid, cancel, retry production.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::paging::Links;
use crate::domain::paymode::Paymode;
use crate::domain::search::Search;
use crate::domain::settlement::{self, Settler};
use crate::domain::{BillState, Cursor};
use crate::error::{AppError, AppResult};
use crate::http::context::{Page, flash};
use crate::http::extract::RequireOperator;
use crate::http::render::html;
use crate::services::payment::{self, SettleError};
use crate::services::production::{self, Outcome, Wait};
use crate::services::refunds as refund_service;
use crate::state::AppState;
use crate::store::bills::{self, AdminBills, Bill, BillRow, Event, Item};
use crate::store::customers::{self, Customer};
use crate::store::refunds::{self as store_refunds, Refund};
use crate::store::{contains_pattern, seats};

const PER_PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "admin/bills.html")]
struct ListPage {
    page: Page,
    bills: Vec<BillRow>,
    state: String,
    q: String,
    links: Links,
}

impl ListPage {
    fn states(&self) -> [&'static str; 8] {
        BillState::ALL.map(BillState::as_str)
    }

    /// The same search, from another place in the list (`before` / `after` an id).
    fn query(&self, bound: &str, id: &i64) -> String {
        serde_urlencoded::to_string([
            ("state", self.state.as_str()),
            ("q", self.q.as_str()),
            (bound, &id.to_string()),
        ])
        .unwrap_or_default()
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    state: String,
    q: String,
    before: String,
    after: String,
}

pub async fn index(
    State(state): State<AppState>,
    page: Page,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let filter = q.state.parse::<BillState>().ok();
    let cursor = Cursor::parse(&q.before, &q.after);
    let limit = PER_PAGE + 1;
    let rows = match Search::parse(&q.q) {
        Search::All => bills::search(&state.db, &AdminBills::All, filter, cursor, limit).await?,
        Search::BillNumber(n) => {
            bills::search(&state.db, &AdminBills::Number(n), filter, cursor, limit).await?
        }
        Search::Email(email) => {
            let ids = customers::ids_by_email(&state.db, email.as_str()).await?;
            bills::search(
                &state.db,
                &AdminBills::Customers(&ids),
                filter,
                cursor,
                limit,
            )
            .await?
        }
        Search::Reference(r) => {
            let which = AdminBills::SeatReference(r.as_str());
            bills::search(&state.db, &which, filter, cursor, limit).await?
        }
        Search::Text(text) => {
            let like = contains_pattern(&text);
            let which = AdminBills::CustomerText(&like);
            bills::search(&state.db, &which, filter, cursor, limit).await?
        }
    };
    let (rows, links) = cursor.page(rows, PER_PAGE as usize, |b| b.id);
    html(ListPage {
        page,
        bills: rows,
        state: filter.map_or("", BillState::as_str).to_owned(),
        q: q.q,
        links,
    })
}

#[derive(Template)]
#[template(path = "admin/bill.html")]
struct DetailPage {
    page: Page,
    bill: Bill,
    customer: Customer,
    items: Vec<Item>,
    events: Vec<Event>,
    seats: i64,
    /// A Stripe bill's session, in the mode (test or live) Stripe created it.
    stripe: Option<crate::store::stripe::Checkout>,
    refunds: Vec<Refund>,
    /// What is left to refund, per line (empty when the bill cannot be refunded).
    refundable: Vec<Refundable>,
}

/// A bill line on the refund form: what is left of it.
struct Refundable {
    item_id: i64,
    line_no: i32,
    name: String,
    units_left: u32,
    money_left: i64,
}

impl DetailPage {
    /// What the bill's coupon took off, over every line (untaxed).
    fn discount(&self) -> i64 {
        self.items.iter().map(|i| i.discount).sum()
    }

    fn stripe_mode(&self) -> Option<crate::stripe::Mode> {
        self.stripe
            .as_ref()
            .map(|c| crate::stripe::Mode::of_livemode(c.livemode))
    }

    fn paymode(&self) -> String {
        self.page
            .t(&format!("paymode.{}", self.bill.paymode.as_str()))
            .into_owned()
    }

    fn can_mark_paid(&self) -> bool {
        settlement::may_settle(self.bill.paymode, self.bill.state, Settler::Operator).is_ok()
    }

    fn can_cancel(&self) -> bool {
        self.bill.state.can_become(BillState::Cancelled)
    }

    fn can_retry(&self) -> bool {
        self.bill.state == BillState::Failed
    }

    fn can_refund(&self) -> bool {
        self.refundable
            .iter()
            .any(|l| l.units_left > 0 || l.money_left > 0)
    }

    fn refund_seats(&self, r: &Refund) -> String {
        self.page.tf(
            "refund.seats_summary",
            &[
                ("revoked", &r.seats_revoked.to_string()),
                ("kept", &r.seats_kept.to_string()),
            ],
        )
    }

    /// Some money went back but the bill is not REFUNDED: a label, not a state.
    fn partially_refunded(&self) -> bool {
        !self.refunds.is_empty() && self.bill.state != BillState::Refunded
    }
}

pub(super) async fn load(state: &AppState, id: i64) -> AppResult<Bill> {
    bills::find(&state.db, id).await?.ok_or(AppError::NotFound)
}

/// Bill `id` and its customer.
pub(super) async fn with_customer(state: &AppState, id: i64) -> AppResult<(Bill, Customer)> {
    let bill = load(state, id).await?;
    let customer = customers::find(&state.db, bill.customer_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((bill, customer))
}

pub async fn show(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let (bill, customer) = with_customer(&state, id).await?;
    let items = bills::items(&state.db, id).await?;
    let events = bills::events(&state.db, id).await?;
    let seats = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM product_instances WHERE bill_id = $1 AND revoked_at IS NULL"#,
        id
    )
    .fetch_one(&state.db)
    .await?;
    let stripe = crate::store::stripe::find(&state.db, id).await?;
    let refunds = store_refunds::for_bill(&state.db, id).await?;
    let refundable = if refund_service::refundable(bill.state) {
        let mut conn = state.db.acquire().await?;
        refund_service::lines(&mut conn, id)
            .await?
            .into_iter()
            .map(|(item, line)| Refundable {
                item_id: item.id,
                line_no: item.line_no,
                name: item.name,
                units_left: line.units_left(),
                money_left: line.money_left().minor(),
            })
            .collect()
    } else {
        vec![]
    };
    html(DetailPage {
        page,
        bill,
        customer,
        items,
        events,
        seats,
        stripe,
        refunds,
        refundable,
    })
}

/// The bill's document (invoice, pro-forma or order) as the customer gets it, as a PDF.
pub async fn document_pdf(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let (bill, customer) = with_customer(&state, id).await?;
    crate::http::documents::render_pdf(&state, bill, customer).await
}

fn back(id: i64) -> Response {
    Redirect::to(&format!("/admin/bills/{id}")).into_response()
}

async fn say_outcome(session: &Session, page: &Page, outcome: Outcome) -> AppResult<()> {
    let message = match outcome {
        Outcome::Completed => page.t("admin.bill_produced").into_owned(),
        Outcome::Failed(reason) => page.tf("admin.bill_failed", &[("reason", &reason)]),
        Outcome::NothingToDo | Outcome::Busy => page.t("admin.bill_unchanged").into_owned(),
    };
    flash(session, message).await
}

/// An offline payment arrived: PAID (if the bill was placed for a transfer and waits for
/// it), then produced.
pub async fn mark_paid(
    State(state): State<AppState>,
    RequireOperator(op): RequireOperator,
    session: Session,
    page: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let note = "payment received (marked by an operator)";
    match payment::settle(&state, id, Settler::Operator, note, &op.email).await {
        Ok(()) => {}
        Err(SettleError::UnknownBill) => return Err(AppError::NotFound),
        Err(SettleError::Refused(_)) => {
            return Err(AppError::conflict("admin.bill_not_awaiting"));
        }
        Err(SettleError::Db(e)) => return Err(AppError::Db(e)),
        Err(SettleError::Internal(e)) => return Err(AppError::Internal(e)),
    }
    produce_and_report(&state, &session, &page, id).await
}

/// A failed production, tried again once the operator fixed its cause.
pub async fn retry(
    State(state): State<AppState>,
    RequireOperator(op): RequireOperator,
    session: Session,
    page: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    load(&state, id).await?;
    let note = "production retried by an operator";
    if !payment::requeue_failed(&state, id, note, &op.email).await? {
        return Err(AppError::conflict("admin.bill_not_failed"));
    }
    produce_and_report(&state, &session, &page, id).await
}

async fn produce_and_report(
    state: &AppState,
    session: &Session,
    page: &Page,
    id: i64,
) -> AppResult<Response> {
    let outcome = production::produce(state, id, Wait::Yes).await?;
    say_outcome(session, page, outcome).await?;
    Ok(back(id))
}

pub async fn cancel(
    State(state): State<AppState>,
    RequireOperator(op): RequireOperator,
    session: Session,
    page: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let unpaid = bills::find(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if unpaid.paymode == Paymode::Stripe && unpaid.state == BillState::Placed {
        close_stripe_session(&state, &unpaid).await?;
    }
    let mut tx = state.db.begin().await?;
    let bill = bills::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let note = "cancelled by an operator";
    match bills::transition(&mut tx, &bill, BillState::Cancelled, note, &op.email).await {
        Ok(()) => {}
        Err(bills::TransitionError::Illegal(_)) => {
            return Err(AppError::conflict("admin.bill_cannot_cancel"));
        }
        // A database failure is not the bill's state: 503/500, not "cannot cancel".
        Err(bills::TransitionError::Db(e)) => return Err(AppError::Db(e)),
    }
    tx.commit().await?;
    flash(&session, page.t("admin.bill_cancelled")).await?;
    Ok(back(id))
}

/// Before a Stripe order is cancelled, its Checkout Session is closed at Stripe, so the
/// buyer cannot pay a cancelled bill; a session the buyer already paid keeps the order.
async fn close_stripe_session(state: &AppState, bill: &Bill) -> AppResult<()> {
    use crate::services::stripe::{SessionClosed, StartError, close_session};
    match close_session(state, bill).await {
        Ok(SessionClosed::Closed) | Err(StartError::NotConfigured) => Ok(()),
        Ok(SessionClosed::Paid) => Err(AppError::conflict("admin.stripe_paid_not_cancelled")),
        Err(StartError::Db(e)) => Err(AppError::Db(e)),
        Err(e) => {
            tracing::warn!(error = %e, bill = %bill.public_id, "cannot close a Stripe session");
            Err(AppError::refused(
                StatusCode::BAD_GATEWAY,
                "admin.stripe_session_unknown",
            ))
        }
    }
}

// ----------------------------------------------------------------------------- customers

#[derive(Template)]
#[template(path = "admin/customers.html")]
struct CustomersPage {
    page: Page,
    customers: Vec<customers::CustomerRow>,
    q: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CustomerQuery {
    q: String,
}

pub async fn customers(
    State(state): State<AppState>,
    page: Page,
    Query(q): Query<CustomerQuery>,
) -> AppResult<Response> {
    let list = customers::search(&state.db, &Search::parse(&q.q), 200).await?;
    html(CustomersPage {
        page,
        customers: list,
        q: q.q,
    })
}

#[derive(Template)]
#[template(path = "admin/customer.html")]
struct CustomerPage {
    page: Page,
    customer: Customer,
    bills: Vec<BillRow>,
    seats: i64,
}

pub async fn customer(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let customer = customers::find(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let bills = bills::search(
        &state.db,
        &AdminBills::Customers(&[id]),
        None,
        Cursor::First,
        500,
    )
    .await?;
    let seats = seats::counts(&state.db, id).await?.total();
    html(CustomerPage {
        page,
        customer,
        bills,
        seats,
    })
}
