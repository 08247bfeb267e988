//! The link that confirms a customer's new sign-in address (mailed by
//! `services::email_change::request` from `/customer/details`). The GET only shows what the
//! link will do: mail scanners and previews open links, so the change waits for the POST.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use crate::error::AppResult;
use crate::http::auth::LinkInvalidPage;
use crate::http::context::Page;
use crate::http::render::{html, html_status};
use crate::services::email_change::{self, ConfirmError};
use crate::state::AppState;
use crate::store::email_changes;

#[derive(Template)]
#[template(path = "customer/email_confirm.html")]
struct ConfirmPage {
    page: Page,
    token: String,
    email: String,
    /// Set once the link was used (`done`) or refused (`error`).
    done: bool,
    error: Option<String>,
}

impl ConfirmPage {
    fn help(&self) -> String {
        self.page
            .tf("customer.email_confirm_help", &[("email", &self.email)])
    }

    fn changed(&self) -> String {
        self.page
            .tf("customer.email_changed", &[("email", &self.email)])
    }
}

pub async fn confirm_form(
    State(state): State<AppState>,
    page: Page,
    Path(token): Path<String>,
) -> AppResult<Response> {
    match email_changes::peek(&state.db, &token).await? {
        Some(pending) => html(ConfirmPage {
            page,
            token,
            email: pending.new_email,
            done: false,
            error: None,
        }),
        None => html_status(StatusCode::GONE, LinkInvalidPage { page }),
    }
}

pub async fn confirm(
    State(state): State<AppState>,
    page: Page,
    Path(token): Path<String>,
) -> AppResult<Response> {
    match email_change::confirm(&state, &token).await {
        Ok(email) => html(ConfirmPage {
            page,
            token: String::new(),
            email,
            done: true,
            error: None,
        }),
        Err(ConfirmError::Invalid) => html_status(StatusCode::GONE, LinkInvalidPage { page }),
        Err(ConfirmError::Taken) => {
            let error = Some(page.t("errors.email_taken").into_owned());
            html_status(
                StatusCode::CONFLICT,
                ConfirmPage {
                    page,
                    token: String::new(),
                    email: String::new(),
                    done: false,
                    error,
                },
            )
        }
        Err(ConfirmError::Db(e)) => Err(e.into()),
    }
}

/// This area's routes (full paths: the security suite reads every route under src/http).
pub fn router() -> Router<AppState> {
    Router::new().route("/account/email/{token}", get(confirm_form).post(confirm))
}
