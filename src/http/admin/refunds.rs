//! Refunds for operators: the refund form's review page (what goes back, which seats are
//! revoked and which assigned ones stay), its confirmation, and the credit notes.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use crate::domain::Money;
use crate::domain::refund::{self, Request};
use crate::domain::seat::SeatState;
use crate::error::{AppError, AppResult};
use crate::http::context::{Page, flash};
use crate::http::extract::RequireOperator;
use crate::http::render::html;
use crate::security::tokens::random_id;
use crate::services::refunds::{self, Plan, RefundError, Scope};
use crate::state::AppState;
use crate::store::bills::Bill;
use crate::store::refunds::KeptSeat;

impl From<RefundError> for AppError {
    fn from(e: RefundError) -> Self {
        let unprocessable = |key| AppError::refused(StatusCode::UNPROCESSABLE_ENTITY, key);
        match e {
            RefundError::UnknownBill => AppError::NotFound,
            RefundError::NotRefundable => AppError::conflict("refund.not_refundable"),
            RefundError::PartialBeforeProduction => {
                AppError::conflict("refund.partial_before_production")
            }
            RefundError::UnknownLine => unprocessable("refund.unknown_line"),
            RefundError::Line(refund::RefundError::Nothing) => unprocessable("refund.nothing"),
            RefundError::Line(_) => unprocessable("refund.exceeds"),
            // The operator can act on it (retry later, or refund from Stripe's dashboard);
            // the provider's own words go to the log, which support reads.
            RefundError::Provider(reason) => {
                tracing::warn!(%reason, "the payment provider refused a refund");
                AppError::refused(StatusCode::BAD_GATEWAY, "refund.provider_refused")
            }
            RefundError::Db(e) => AppError::Db(e),
            RefundError::Internal(e) => AppError::Internal(e),
        }
    }
}

/// The refund form as posted (or, for the review page, as a query): `full`, or per bill
/// line `units_{item}` and `amount_{item}`; `reason`; `submission` (the confirmation's key).
struct Asked {
    scope: Scope,
    reason: String,
    submission: String,
    /// The fields to carry into the confirmation form, as they came.
    fields: Vec<(String, String)>,
}

const MAX_REASON: usize = 500;

fn parse(fields: Vec<(String, String)>) -> AppResult<Asked> {
    let bad = || AppError::refused(StatusCode::UNPROCESSABLE_ENTITY, "refund.bad_input");
    let mut full = false;
    let mut reason = String::new();
    let mut submission = String::new();
    let mut lines: Vec<(i64, Request)> = vec![];
    let mut carried = vec![];
    for (name, value) in fields {
        let value_trimmed = value.trim();
        let line = |lines: &mut Vec<(i64, Request)>, id: &str| -> AppResult<usize> {
            let id: i64 = id.parse().map_err(|_| bad())?;
            Ok(match lines.iter().position(|(i, _)| *i == id) {
                Some(i) => i,
                None => {
                    lines.push((id, Request::default()));
                    lines.len() - 1
                }
            })
        };
        if let Some(id) = name.strip_prefix("units_") {
            if !value_trimmed.is_empty() {
                let i = line(&mut lines, id)?;
                lines[i].1.units = value_trimmed.parse().map_err(|_| bad())?;
            }
        } else if let Some(id) = name.strip_prefix("amount_") {
            if !value_trimmed.is_empty() {
                let i = line(&mut lines, id)?;
                lines[i].1.amount = Money::parse(value_trimmed).map_err(|_| bad())?;
            }
        } else {
            match name.as_str() {
                "full" => full = matches!(value_trimmed, "1" | "on" | "yes" | "true"),
                "reason" => reason = value_trimmed.chars().take(MAX_REASON).collect(),
                "submission" => {
                    submission = value_trimmed.to_owned();
                    continue;
                }
                _ => continue,
            }
        }
        carried.push((name, value));
    }
    Ok(Asked {
        scope: if full {
            Scope::Full
        } else {
            Scope::Lines(lines)
        },
        reason,
        submission,
        fields: carried,
    })
}

/// The refund form's key as posted, if it is one we could have drawn.
fn submission_key(posted: &str) -> Option<&str> {
    (!posted.is_empty()
        && posted.len() <= 64
        && posted
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then_some(posted)
}

#[derive(Template)]
#[template(path = "admin/refund.html")]
struct ReviewPage {
    page: Page,
    bill: Bill,
    plan: Plan,
    fields: Vec<(String, String)>,
    reason: String,
    submission: String,
}

impl ReviewPage {
    fn how(&self) -> String {
        self.page
            .t(&format!("refund.how_{}", self.bill.paymode.as_str()))
            .into_owned()
    }

    fn kept_state(&self, k: &KeptSeat) -> String {
        let state = if k.locked {
            SeatState::Locked
        } else {
            SeatState::InUse
        };
        self.page.seat_state(&state)
    }

    fn seats_summary(&self) -> String {
        self.page.tf(
            "refund.seats_summary",
            &[
                ("revoked", &self.plan.seats_revoked().to_string()),
                ("kept", &self.plan.seats_kept().to_string()),
            ],
        )
    }
}

/// The review page: nothing changes until the operator confirms.
pub async fn review(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
    Query(fields): Query<Vec<(String, String)>>,
) -> AppResult<Response> {
    let bill = super::bills::load(&state, id).await?;
    let asked = parse(fields)?;
    let mut conn = state.db.acquire().await?;
    let plan = refunds::plan(&mut conn, &bill, &asked.scope).await?;
    drop(conn);
    html(ReviewPage {
        page,
        bill,
        plan,
        fields: asked.fields,
        reason: asked.reason,
        submission: random_id(16),
    })
}

pub async fn confirm(
    State(state): State<AppState>,
    RequireOperator(op): RequireOperator,
    session: Session,
    page: Page,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let asked = parse(fields)?;
    let key = submission_key(&asked.submission)
        .ok_or_else(|| AppError::refused(StatusCode::UNPROCESSABLE_ENTITY, "refund.bad_input"))?;
    let done = refunds::refund(&state, id, &asked.scope, &asked.reason, key, &op.email).await?;
    let r = &done.refund;
    let total = page.money(r.total, &r.currency);
    let message = if done.created {
        page.tf(
            "refund.done",
            &[
                ("number", &r.credit_note_number),
                ("total", &total),
                ("revoked", &r.seats_revoked.to_string()),
                ("kept", &r.seats_kept.to_string()),
            ],
        )
    } else {
        page.tf("refund.again", &[("number", &r.credit_note_number)])
    };
    flash(&session, message).await?;
    Ok(Redirect::to(&format!("/admin/bills/{id}")).into_response())
}

/// A bill's credit note, for the operator.
pub async fn credit_note(
    State(state): State<AppState>,
    page: Page,
    Path((id, refund_id)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let (bill, customer) = super::bills::with_customer(&state, id).await?;
    let back = format!("/admin/bills/{id}");
    let base = format!("{back}/credit-notes/{refund_id}");
    crate::http::credit_notes::render(&state, page, bill, customer, refund_id, back, base).await
}

/// A bill's credit note as a PDF, for the operator.
pub async fn credit_note_pdf(
    State(state): State<AppState>,
    Path((id, refund_id)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let (bill, customer) = super::bills::with_customer(&state, id).await?;
    crate::http::credit_notes::render_pdf(&state, bill, customer, refund_id).await
}
