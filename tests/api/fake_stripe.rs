#![allow(dead_code)] // shared with the browser journey, which uses a part
//! A small Stripe for the tests, written from Stripe's API reference (no network here):
//! `POST /v1/checkout/sessions` and `POST /v1/refunds`, form-encoded with the bracket
//! syntax (`line_items[0][price_data][unit_amount]`), authenticated by
//! `Authorization: Bearer sk_…`, errors as `{"error": {"type", "message", "param"}}` with a
//! 4xx status, and `Idempotency-Key`: the same key with the same parameters answers the
//! first response again, with other parameters an `idempotency_error`.
//!
//! It then plays Stripe's side of the webhook: builds the event (`checkout.session.completed`
//! …) and signs it as documented (`Stripe-Signature: t=…,v1=hex(HMAC-SHA256(secret,
//! "t.body"))`), with its own HMAC code, not the shop's.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::net::TcpListener;

pub const SECRET_KEY: &str = "sk_test_51FakeStripeKeyForTheTests";
pub const WEBHOOK_SECRET: &str = "whsec_fake_stripe_webhook_secret";

/// A form as posted: its fields in order.
pub type Form = Vec<(String, String)>;

/// A request as received: its idempotency key and form.
pub type Request = (Option<String>, Form);

#[derive(Default)]
struct Inner {
    next: u64,
    sessions: HashMap<String, Value>,
    /// (path, key) → (the parameters, the status and body answered).
    idempotency: HashMap<(String, String), (Form, u16, Value)>,
    /// Refunded so far per PaymentIntent.
    refunded: HashMap<String, i64>,
    /// Every request: path, idempotency key, form.
    requests: Vec<(String, Request)>,
}

#[derive(Clone)]
pub struct FakeStripe {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

fn error(status: StatusCode, kind: &str, message: &str, param: Option<&str>) -> (u16, Value) {
    let mut e = json!({"type": kind, "message": message});
    if let Some(p) = param {
        e["param"] = json!(p);
    }
    (status.as_u16(), json!({ "error": e }))
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

impl FakeStripe {
    pub async fn start() -> FakeStripe {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let fake = FakeStripe {
            base: format!("http://{addr}"),
            inner: Arc::default(),
        };
        let app = Router::new()
            .route("/v1/checkout/sessions", post(create_session))
            .route("/v1/checkout/sessions/{id}", get(get_session))
            .route("/v1/checkout/sessions/{id}/expire", post(expire_session))
            .route("/v1/refunds", post(create_refund))
            .route("/c/pay/{id}", get(checkout_page))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        fake
    }

    /// The shop's configuration for this fake.
    pub fn config(&self) -> lms_shop::config::StripeConfig {
        lms_shop::config::StripeConfig {
            secret_key: SECRET_KEY.to_owned().into(),
            webhook_secret: WEBHOOK_SECRET.to_owned().into(),
            api_base: self.base.clone(),
        }
    }

    pub fn requests(&self, path: &str) -> Vec<Request> {
        let inner = self.inner.lock().unwrap();
        inner
            .requests
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, r)| r.clone())
            .collect()
    }

    pub fn session(&self, id: &str) -> Value {
        self.inner.lock().unwrap().sessions[id].clone()
    }

    pub fn session_count(&self) -> usize {
        self.inner.lock().unwrap().sessions.len()
    }

    /// The buyer pays on Stripe's page: the session completes with a PaymentIntent.
    pub fn pay(&self, session_id: &str) -> Value {
        let mut inner = self.inner.lock().unwrap();
        inner.next += 1;
        let pi = format!("pi_test_{}", inner.next);
        let s = inner.sessions.get_mut(session_id).unwrap();
        s["status"] = json!("complete");
        s["payment_status"] = json!("paid");
        s["payment_intent"] = json!(pi);
        s["url"] = Value::Null;
        s.clone()
    }

    /// The session's time ran out unpaid.
    pub fn expire(&self, session_id: &str) -> Value {
        let mut inner = self.inner.lock().unwrap();
        let s = inner.sessions.get_mut(session_id).unwrap();
        s["status"] = json!("expired");
        s["url"] = Value::Null;
        s.clone()
    }

    /// An event as Stripe posts it, about `object`.
    pub fn event(&self, kind: &str, object: Value) -> String {
        let mut inner = self.inner.lock().unwrap();
        inner.next += 1;
        json!({
            "id": format!("evt_test_{}", inner.next),
            "object": "event",
            "api_version": "2024-06-20",
            "created": now(),
            "livemode": false,
            "pending_webhooks": 1,
            "request": {"id": null, "idempotency_key": null},
            "type": kind,
            "data": {"object": object},
        })
        .to_string()
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `Stripe-Signature` for `body` signed at `t` with `secret`, as Stripe documents it.
pub fn signature_header(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn authorised(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(format!("Bearer {SECRET_KEY}").as_str())
}

/// Authentication, the request log and idempotency around `handle`.
fn answer(
    fake: &FakeStripe,
    path: &str,
    headers: &HeaderMap,
    body: &Bytes,
    handle: impl FnOnce(&mut Inner, &[(String, String)]) -> (u16, Value),
) -> Response {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut inner = fake.inner.lock().unwrap();
    inner
        .requests
        .push((path.to_owned(), (key.clone(), form.clone())));
    let (status, value) = if !authorised(headers) {
        error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided",
            None,
        )
    } else if let Some((params, status, value)) = key
        .as_ref()
        .and_then(|k| inner.idempotency.get(&(path.to_owned(), k.clone())))
    {
        if *params == form {
            (*status, value.clone())
        } else {
            error(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                None,
            )
        }
    } else {
        let (status, value) = handle(&mut inner, &form);
        if let Some(k) = key {
            inner
                .idempotency
                .insert((path.to_owned(), k), (form, status, value.clone()));
        }
        (status, value)
    };
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        value.to_string(),
    )
        .into_response()
}

async fn create_session(
    State(fake): State<FakeStripe>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let base = fake.base.clone();
    answer(
        &fake,
        "/v1/checkout/sessions",
        &headers,
        &body,
        |inner, form| {
            for required in [
                "mode",
                "success_url",
                "line_items[0][price_data][currency]",
                "line_items[0][price_data][unit_amount]",
                "line_items[0][price_data][product_data][name]",
                "line_items[0][quantity]",
            ] {
                if field(form, required).is_none() {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request_error",
                        &format!("Missing required param: {required}."),
                        Some(required),
                    );
                }
            }
            if field(form, "mode") != Some("payment") {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "Invalid mode",
                    Some("mode"),
                );
            }
            let unit: i64 = field(form, "line_items[0][price_data][unit_amount]")
                .and_then(|v| v.parse().ok())
                .unwrap_or(-1);
            let quantity: i64 = field(form, "line_items[0][quantity]")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if unit < 0 || quantity < 1 {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "Invalid integer",
                    Some("line_items[0][price_data][unit_amount]"),
                );
            }
            let expires_at: i64 = field(form, "expires_at")
                .and_then(|v| v.parse().ok())
                .unwrap_or(now() + 86_400);
            if expires_at < now() + 1800 || expires_at > now() + 86_400 {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "The `expires_at` timestamp must be between 30 minutes and 24 hours from now.",
                    Some("expires_at"),
                );
            }
            inner.next += 1;
            let id = format!("cs_test_{}", inner.next);
            let metadata: serde_json::Map<String, Value> = form
                .iter()
                .filter_map(|(k, v)| {
                    let name = k.strip_prefix("metadata[")?.strip_suffix(']')?;
                    Some((name.to_owned(), json!(v)))
                })
                .collect();
            let session = json!({
                "id": id,
                "object": "checkout.session",
                "mode": "payment",
                "status": "open",
                "payment_status": "unpaid",
                "url": format!("{base}/c/pay/{id}"),
                "amount_total": unit * quantity,
                "amount_subtotal": unit * quantity,
                "currency": field(form, "line_items[0][price_data][currency]"),
                "client_reference_id": field(form, "client_reference_id"),
                "customer_email": field(form, "customer_email"),
                "metadata": metadata,
                "success_url": field(form, "success_url"),
                "cancel_url": field(form, "cancel_url"),
                "expires_at": expires_at,
                "livemode": false,
                "payment_intent": null,
            });
            inner.sessions.insert(id, session.clone());
            (200, session)
        },
    )
}

async fn create_refund(
    State(fake): State<FakeStripe>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(&fake, "/v1/refunds", &headers, &body, |inner, form| {
        let Some(pi) = field(form, "payment_intent") else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "One of the following params should be provided for this request: payment_intent or charge.",
                None,
            );
        };
        let Some(session) = inner
            .sessions
            .values()
            .find(|s| s["payment_intent"] == json!(pi))
            .cloned()
        else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                &format!("No such payment_intent: '{pi}'"),
                Some("payment_intent"),
            );
        };
        let paid = session["amount_total"].as_i64().unwrap();
        let already = inner.refunded.get(pi).copied().unwrap_or(0);
        let amount: i64 = field(form, "amount")
            .and_then(|v| v.parse().ok())
            .unwrap_or(paid - already);
        if amount < 1 || already + amount > paid {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                &format!(
                    "Refund amount ({amount}) is greater than unrefunded amount on charge ({})",
                    paid - already
                ),
                Some("amount"),
            );
        }
        inner.refunded.insert(pi.to_owned(), already + amount);
        inner.next += 1;
        (
            200,
            json!({
                "id": format!("re_test_{}", inner.next),
                "object": "refund",
                "amount": amount,
                "currency": session["currency"],
                "payment_intent": pi,
                "status": "succeeded",
                "created": now(),
            }),
        )
    })
}

/// `GET /v1/checkout/sessions/{id}`.
async fn get_session(
    State(fake): State<FakeStripe>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let (status, value) = if !authorised(&headers) {
        error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided",
            None,
        )
    } else {
        match fake.inner.lock().unwrap().sessions.get(&id) {
            Some(s) => (200, s.clone()),
            None => error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                &format!("No such checkout.session: '{id}'"),
                Some("id"),
            ),
        }
    };
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// `POST /v1/checkout/sessions/{id}/expire`: only an open session can be expired.
async fn expire_session(
    State(fake): State<FakeStripe>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let path = format!("/v1/checkout/sessions/{id}/expire");
    answer(&fake, &path, &headers, &body, |inner, _| {
        match inner.sessions.get_mut(&id) {
            None => error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                &format!("No such checkout.session: '{id}'"),
                Some("id"),
            ),
            Some(s) if s["status"] == json!("open") => {
                s["status"] = json!("expired");
                s["url"] = Value::Null;
                (200, s.clone())
            }
            Some(_) => error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "Only Checkout Sessions with a status in [\"open\"] can be expired.",
                None,
            ),
        }
    })
}

async fn checkout_page(Path(id): Path<String>) -> String {
    format!("Stripe Checkout (fake) for {id}")
}
