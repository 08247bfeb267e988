//! Moodle's REST web-service protocol: one POST to `/webservice/rest/server.php` per call,
//! `wstoken` + `wsfunction` + `moodlewsrestformat=json`, arrays as `users[0][email]=…`.
//! Moodle answers errors with HTTP 200 and `{"exception", "errorcode", "message"}`.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use crate::domain::moodle::{Failure, classify};

/// One call's parameters, in Moodle's flattened form.
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn new() -> Self {
        Params::default()
    }

    /// `name=value`; `name` may already be a path such as `users[0][email]`.
    pub fn set(mut self, name: &str, value: impl ToString) -> Self {
        self.0.push((name.to_owned(), value.to_string()));
        self
    }

    /// `list[index][field]=value`, how PHP reads nested arrays from a form.
    pub fn item(self, list: &str, index: usize, field: &str, value: impl ToString) -> Self {
        self.set(&format!("{list}[{index}][{field}]"), value)
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// No answer: refused connection, unknown host, timeout.
    #[error("Moodle cannot be reached: {0}")]
    Unreachable(String),
    #[error("Moodle answered HTTP {0}")]
    Http(u16),
    /// Something answered, but not Moodle's web service (a wrong MOODLE_URL, a proxy page).
    #[error("the answer is not from Moodle's web service: {0}")]
    NotMoodle(String),
    /// JSON of another shape than the function's definition: a Moodle this client does not
    /// know (another version, a plugin changing it). Retrying will not help.
    #[error("Moodle's answer to {0} has an unexpected shape: {1}")]
    Unexpected(&'static str, String),
    /// Moodle's own refusal, with its message as Moodle words it.
    #[error("{message} ({exception}/{errorcode})")]
    Moodle {
        exception: String,
        errorcode: String,
        message: String,
    },
}

impl CallError {
    pub fn failure(&self) -> Failure {
        match self {
            CallError::Unreachable(_) => Failure::Transient,
            CallError::Http(status) => {
                if *status >= 500 || matches!(status, 408 | 429) {
                    Failure::Transient
                } else {
                    Failure::Permanent
                }
            }
            // A maintenance or proxy page that will go away by itself, as far as we know.
            CallError::NotMoodle(_) => Failure::Transient,
            CallError::Unexpected(..) => Failure::Permanent,
            CallError::Moodle {
                exception,
                errorcode,
                ..
            } => classify(exception, errorcode),
        }
    }

    pub fn errorcode(&self) -> Option<&str> {
        match self {
            CallError::Moodle { errorcode, .. } => Some(errorcode),
            _ => None,
        }
    }
}

/// A web-service client for one site and token. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    endpoint: String,
    token: SecretString,
}

impl Client {
    pub fn new(site_url: &str, token: SecretString, timeout: Duration) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Client {
            http,
            endpoint: format!(
                "{}/webservice/rest/server.php",
                site_url.trim_end_matches('/')
            ),
            token,
        })
    }

    /// Calls `function` and decodes its JSON answer. The token travels in the POST body, not
    /// the URL, so it stays out of access logs; errors never contain it.
    pub async fn call<T: DeserializeOwned>(
        &self,
        function: &'static str,
        params: &Params,
    ) -> Result<T, CallError> {
        let outcome = self.call_raw(function, params).await;
        crate::http::metrics::moodle_call(
            function,
            match &outcome {
                Ok(_) => "ok",
                Err(e) if e.failure() == Failure::Transient => "transient",
                Err(_) => "refused",
            },
        );
        let value = outcome?;
        serde_json::from_value(value).map_err(|e| CallError::Unexpected(function, e.to_string()))
    }

    async fn call_raw(
        &self,
        function: &'static str,
        params: &Params,
    ) -> Result<serde_json::Value, CallError> {
        let mut form: Vec<(&str, &str)> = vec![
            ("wstoken", self.token.expose_secret()),
            ("wsfunction", function),
            ("moodlewsrestformat", "json"),
        ];
        form.extend(params.pairs().iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let response = self
            .http
            .post(&self.endpoint)
            .form(&form)
            .send()
            .await
            // `without_url`: the error text names no URL (and so no query string) at all.
            .map_err(|e| CallError::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(CallError::Http(status.as_u16()));
        }
        let body = response
            .text()
            .await
            .map_err(|e| CallError::Unreachable(e.without_url().to_string()))?;
        let value: serde_json::Value = serde_json::from_str(&body).map_err(|_| {
            CallError::NotMoodle(body.chars().take(80).collect::<String>().trim().to_owned())
        })?;
        if let Some(exception) = value.get("exception").and_then(|e| e.as_str()) {
            let text = |k: &str| {
                value
                    .get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            return Err(CallError::Moodle {
                exception: exception.to_owned(),
                errorcode: text("errorcode"),
                message: text("message"),
            });
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_are_flattened_as_php_reads_them() {
        let p = Params::new()
            .set("field", "email")
            .item("users", 0, "email", "a@b.c");
        assert_eq!(
            p.pairs(),
            &[
                ("field".to_owned(), "email".to_owned()),
                ("users[0][email]".to_owned(), "a@b.c".to_owned())
            ]
        );
    }

    #[test]
    fn failures_are_classified() {
        assert_eq!(CallError::Http(503).failure(), Failure::Transient);
        assert_eq!(CallError::Http(404).failure(), Failure::Permanent);
        assert_eq!(
            CallError::Unreachable("timeout".into()).failure(),
            Failure::Transient
        );
        let bad_token = CallError::Moodle {
            exception: "moodle_exception".into(),
            errorcode: "invalidtoken".into(),
            message: "Invalid token - token not found".into(),
        };
        assert_eq!(bad_token.failure(), Failure::Permanent);
    }
}
