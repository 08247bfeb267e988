//! Stripe's HTTP API, plainly: form-encoded requests with the secret key as a bearer token
//! and an `Idempotency-Key` on every POST, so a retried request (a timeout, a second click)
//! gets the object the first one created instead of a second one.

use std::time::Duration;

use secrecy::ExposeSecret;
use serde::Deserialize;

use super::Mode;
use super::event::{CheckoutSession, StripeRefund};
use crate::config::StripeConfig;
use crate::domain::Money;

/// Stripe answers within seconds; a buyer waiting longer is better told to retry.
const TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe was not reached, or did not answer in time: the request may be retried with
    /// the same idempotency key.
    #[error("Stripe unreachable: {0}")]
    Transport(#[from] reqwest::Error),
    /// Stripe refused the request (`error.type`, `error.message` of its answer).
    #[error("Stripe refused the request ({status}, {kind}): {message}")]
    Api {
        status: u16,
        kind: String,
        code: Option<String>,
        message: String,
    },
    #[error("unexpected answer from Stripe: {0}")]
    Decode(String),
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ApiError,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: String,
}

/// What a Checkout Session is created for: one bill.
pub struct NewCheckout<'a> {
    /// The bill's public id: `client_reference_id` and `metadata[bill]`.
    pub bill: &'a str,
    /// The single line's name ("Order B0000000123").
    pub description: &'a str,
    /// The bill's total, tax included, in minor units.
    pub amount: Money,
    /// ISO 4217, any case (Stripe wants lower case).
    pub currency: &'a str,
    pub customer_email: Option<&'a str>,
    pub success_url: &'a str,
    pub cancel_url: &'a str,
    /// Unix seconds; Stripe accepts 30 minutes to 24 hours from now.
    pub expires_at: i64,
    pub locale: &'a str,
}

#[derive(Clone)]
pub struct Stripe {
    http: reqwest::Client,
    config: StripeConfig,
    mode: Mode,
}

impl Stripe {
    pub fn new(config: &StripeConfig) -> anyhow::Result<Stripe> {
        let mode = Mode::of_key(config.secret_key.expose_secret())
            .ok_or_else(|| anyhow::anyhow!("STRIPE_SECRET_KEY is not a secret key"))?;
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Stripe {
            http,
            config: config.clone(),
            mode,
        })
    }

    /// Test or live, from the key's prefix.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn webhook_secret(&self) -> &[u8] {
        self.config.webhook_secret.expose_secret().as_bytes()
    }

    async fn post<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        form: &[(String, String)],
        idempotency_key: &str,
    ) -> Result<T, StripeError> {
        let body = serde_urlencoded::to_string(form)
            .map_err(|e| StripeError::Decode(format!("cannot encode the request: {e}")))?;
        let response = self
            .http
            .post(format!("{}{path}", self.config.api_base))
            .bearer_auth(self.config.secret_key.expose_secret())
            .header("Idempotency-Key", idempotency_key)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await?;
        read(response).await
    }

    /// `GET {path}`.
    async fn get<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T, StripeError> {
        let response = self
            .http
            .get(format!("{}{path}", self.config.api_base))
            .bearer_auth(self.config.secret_key.expose_secret())
            .send()
            .await?;
        read(response).await
    }

    /// `POST /v1/checkout/sessions`: one line for the bill's total, so what Stripe charges
    /// is the bill's amount to the cent (lines rounded one by one could differ from it).
    pub async fn create_checkout_session(
        &self,
        c: &NewCheckout<'_>,
        idempotency_key: &str,
    ) -> Result<CheckoutSession, StripeError> {
        let mut form: Vec<(String, String)> = [
            ("mode", "payment".to_owned()),
            ("client_reference_id", c.bill.to_owned()),
            ("metadata[bill]", c.bill.to_owned()),
            ("success_url", c.success_url.to_owned()),
            ("cancel_url", c.cancel_url.to_owned()),
            ("expires_at", c.expires_at.to_string()),
            ("locale", c.locale.to_owned()),
            (
                "line_items[0][price_data][currency]",
                c.currency.to_ascii_lowercase(),
            ),
            (
                "line_items[0][price_data][unit_amount]",
                c.amount.minor().to_string(),
            ),
            (
                "line_items[0][price_data][product_data][name]",
                c.description.to_owned(),
            ),
            ("line_items[0][quantity]", "1".to_owned()),
            ("payment_intent_data[metadata][bill]", c.bill.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if let Some(email) = c.customer_email {
            form.push(("customer_email".into(), email.to_owned()));
        }
        let session: CheckoutSession = self
            .post("/v1/checkout/sessions", &form, idempotency_key)
            .await?;
        if session.url.is_none() {
            return Err(StripeError::Decode("the new session has no url".into()));
        }
        Ok(session)
    }

    /// `POST /v1/checkout/sessions/{id}/expire`: closes an open session, so nobody can pay
    /// it any more. Stripe refuses when the session is not open (paid, or expired already).
    pub async fn expire_checkout_session(
        &self,
        session_id: &str,
    ) -> Result<CheckoutSession, StripeError> {
        self.post(
            &format!("/v1/checkout/sessions/{session_id}/expire"),
            &[],
            &format!("expire-{session_id}"),
        )
        .await
    }

    /// `GET /v1/checkout/sessions/{id}`.
    pub async fn checkout_session(&self, session_id: &str) -> Result<CheckoutSession, StripeError> {
        self.get(&format!("/v1/checkout/sessions/{session_id}"))
            .await
    }

    /// `POST /v1/refunds`: gives back `amount` of the payment `payment_intent`. The same
    /// `idempotency_key` (one per refund the shop records) never refunds twice.
    pub async fn refund(
        &self,
        payment_intent: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<StripeRefund, StripeError> {
        let form = [
            ("payment_intent".to_owned(), payment_intent.to_owned()),
            ("amount".to_owned(), amount.minor().to_string()),
        ];
        let refund: StripeRefund = self.post("/v1/refunds", &form, idempotency_key).await?;
        if refund.amount != amount.minor() {
            return Err(StripeError::Decode(format!(
                "refund {} is for {} instead of {}",
                refund.id,
                refund.amount,
                amount.minor()
            )));
        }
        Ok(refund)
    }
}

/// Stripe's answer: the object asked for, or its error (`error.type`, `error.message`).
async fn read<T: for<'de> Deserialize<'de>>(response: reqwest::Response) -> Result<T, StripeError> {
    let status = response.status();
    let bytes = response.bytes().await?;
    if !status.is_success() {
        let error = serde_json::from_slice::<ErrorBody>(&bytes).map(|b| b.error);
        return Err(match error {
            Ok(e) => StripeError::Api {
                status: status.as_u16(),
                kind: e.kind,
                code: e.code,
                message: e.message,
            },
            Err(_) => StripeError::Api {
                status: status.as_u16(),
                kind: "unknown".into(),
                code: None,
                message: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
            },
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| StripeError::Decode(e.to_string()))
}
