//! Sign-in, sign-out, set-password links and the forgot-password flow.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::Email;
use crate::domain::password::NewPassword;
use crate::error::{AppError, AppResult};
use crate::http::context::{Page, flash};
use crate::http::extract::ClientIp;
use crate::http::render::{html, html_status, safe_next};
use crate::http::signin::sign_in;
use crate::mail;
use crate::security::password;
use crate::state::AppState;
use crate::store::users;
use crate::store::{customers, outbox, tokens};

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    page: Page,
    email: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginQuery {
    next: Option<String>,
}

pub async fn login_form(page: Page, Query(q): Query<LoginQuery>) -> AppResult<Response> {
    html(LoginPage {
        page,
        email: String::new(),
        next: safe_next(q.next.as_deref()),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    session: Session,
    page: Page,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let next = safe_next(form.next.as_deref());
    let email = retyped_email(&form.email);
    let fail = |page: Page, status: StatusCode, key: &str| {
        let error = Some(page.t(key).into_owned());
        html_status(
            status,
            LoginPage {
                page,
                email: email.clone(),
                next: next.clone(),
                error,
            },
        )
    };
    // Not an address: no account can match, and nothing of it is kept (not even a throttle
    // key); the answer is the same as for a wrong password.
    let Ok(parsed) = Email::parse(&email) else {
        return fail(page, StatusCode::UNAUTHORIZED, "auth.bad_credentials");
    };
    if !state.login_throttle.allow(parsed.as_str(), client) {
        return fail(page, StatusCode::TOO_MANY_REQUESTS, "auth.throttled");
    }
    let found = users::credentials(&state.db, parsed.as_str()).await?;
    let (id, hash) = match found {
        Some((id, hash)) => (Some(id), hash),
        None => (None, None),
    };
    let ok = password::verify(form.password, hash).await?;
    let user = match (ok, id) {
        (true, Some(id)) => users::find(&state.db, id).await?,
        _ => None,
    };
    let Some(user) = user else {
        tracing::info!("failed login");
        return fail(page, StatusCode::UNAUTHORIZED, "auth.bad_credentials");
    };
    sign_in(&session, &user).await?;
    users::touch_login(&state.db, user.id).await?;
    // Without a page to return to, each lands where their work is: operators in the
    // back-office, customers in their space, learners in their courses.
    let target = match next.as_str() {
        "/" if user.is_operator => "/admin".to_owned(),
        "/" if customers::find_by_user(&state.db, user.id).await?.is_some() => {
            "/customer".to_owned()
        }
        "/" => "/my/courses".to_owned(),
        _ => next,
    };
    Ok(Redirect::to(&target).into_response())
}

/// The email as typed, to show again in the form; what could not be an address at all
/// (longer than any address may be) is not sent back.
fn retyped_email(typed: &str) -> String {
    let email = typed.trim();
    if email.len() > crate::domain::email::MAX_LEN {
        String::new()
    } else {
        email.to_owned()
    }
}

pub async fn logout(State(state): State<AppState>, session: Session) -> AppResult<Response> {
    // Deletes the stored session and its cookie: nothing of it can be replayed.
    let id = session.id();
    session.flush().await?;
    if let Some(id) = id {
        crate::store::sessions::destroy(&state.sessions, &id).await?;
    }
    let mut response = Redirect::to("/shop").into_response();
    if let Some(cookie) = crate::http::placed::forget(state.config.secure_cookies) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, cookie);
    }
    Ok(response)
}

#[derive(Template)]
#[template(path = "auth/set_password.html")]
struct SetPasswordPage {
    page: Page,
    token: String,
    email: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/link_invalid.html")]
pub(crate) struct LinkInvalidPage {
    pub(crate) page: Page,
}

pub async fn set_password_form(
    State(state): State<AppState>,
    page: Page,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let user = match tokens::peek(&state.db, &token).await? {
        Some(id) => users::find(&state.db, id).await?,
        None => None,
    };
    match user {
        Some(user) => html(SetPasswordPage {
            page,
            token,
            email: user.email,
            error: None,
        }),
        None => html_status(StatusCode::GONE, LinkInvalidPage { page }),
    }
}

#[derive(Deserialize)]
pub struct SetPasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn set_password(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Path(token): Path<String>,
    Form(form): Form<SetPasswordForm>,
) -> AppResult<Response> {
    let Some(user_id) = tokens::peek(&state.db, &token).await? else {
        return html_status(StatusCode::GONE, LinkInvalidPage { page });
    };
    let new = match NewPassword::parse(&form.password, &form.confirm) {
        Ok(p) => p,
        Err(e) => {
            let email = users::find(&state.db, user_id)
                .await?
                .map(|u| u.email)
                .unwrap_or_default();
            let error = Some(
                page.t(&format!("auth.password_{}", weak_key(&e)))
                    .into_owned(),
            );
            return html_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                SetPasswordPage {
                    page,
                    token,
                    email,
                    error,
                },
            );
        }
    };
    let hash = password::hash(new.expose().to_owned()).await?;
    let mut tx = state.db.begin().await?;
    // Consumed in the same transaction as the change: a link works once, even if clicked twice.
    let Some(user_id) = tokens::consume(&mut *tx, &token).await? else {
        return html_status(StatusCode::GONE, LinkInvalidPage { page });
    };
    // The address is proved: the account is verified, every other session of it ends (a
    // new epoch) and every other link of it is void.
    users::set_password(&mut *tx, user_id, &hash).await?;
    tokens::void_all(&mut *tx, user_id).await?;
    tx.commit().await?;
    let user = users::find(&state.db, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    sign_in(&session, &user).await?;
    flash(&session, page.t("auth.password_set")).await?;
    let target = if user.is_operator {
        "/admin"
    } else {
        "/my/courses"
    };
    Ok(Redirect::to(target).into_response())
}

fn weak_key(e: &crate::domain::password::WeakPassword) -> &'static str {
    use crate::domain::password::WeakPassword::*;
    match e {
        TooShort => "too_short",
        TooLong => "too_long",
        Mismatch => "mismatch",
    }
}

#[derive(Template)]
#[template(path = "auth/forgot.html")]
struct ForgotPage {
    page: Page,
    email: String,
    sent: bool,
}

pub async fn forgot_form(page: Page) -> AppResult<Response> {
    html(ForgotPage {
        page,
        email: String::new(),
        sent: false,
    })
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub async fn forgot(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    page: Page,
    Form(form): Form<ForgotForm>,
) -> AppResult<Response> {
    // Same answer whether or not the account exists: the form does not reveal who is a customer.
    let email = retyped_email(&form.email);
    if let Ok(parsed) = Email::parse(&email)
        && state.login_throttle.allow(parsed.as_str(), client)
        && state.login_throttle.allow_reset_mail(parsed.as_str())
        && let Some(user) = users::find_by_email(&state.db, parsed.as_str()).await?
    {
        let mut tx = state.db.begin().await?;
        let token = tokens::issue(&mut *tx, user.id).await?;
        let link = format!("{}/password/set/{token}", state.config.base_url);
        let message = mail::messages::password_reset(page.locale, &page.shop_name, &link);
        outbox::enqueue(&mut *tx, &user.email, &message.subject, &message.body).await?;
        tx.commit().await?;
        state.mail_queued.notify_one();
    }
    html(ForgotPage {
        page,
        email,
        sent: true,
    })
}

/// This area's routes (full paths: the security suite reads every route under src/http).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/password/forgot", get(forgot_form).post(forgot))
        .route(
            "/password/set/{token}",
            get(set_password_form).post(set_password),
        )
}
