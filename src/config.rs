//! Configuration from the environment (see the README's table).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use secrecy::SecretString;

#[derive(Clone)]
pub struct Config {
    /// `DATABASE_URL`; `None` runs the embedded PostgreSQL under `data_dir`.
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    /// Absolute base of links in emails; defaults to `http://{bind}`.
    pub base_url: String,
    pub admin_email: Option<String>,
    pub admin_password: Option<SecretString>,
    /// May carry the SMTP password.
    pub smtp_url: Option<SecretString>,
    pub mail_from: String,
    /// Secret shared with the test payment gateway; generated and stored when unset.
    pub payment_secret: Option<SecretString>,
    /// Mark cookies `Secure` with `__Host-` names (served over HTTPS behind a proxy).
    pub secure_cookies: bool,
    /// Send `Strict-Transport-Security` (the public URL is https).
    pub hsts: bool,
    /// Load the demo catalogue even on an external database (fresh embedded ones always get it).
    pub demo: bool,
    /// Connections of each database pool (requests, sessions).
    pub db_connections: u32,
    /// An online order not paid within this is cancelled (`SHOP_UNPAID_ORDER_MINUTES`).
    pub unpaid_order_expiry: time::Duration,
    /// How long a mail worker holds a message it is sending (`SHOP_MAIL_LEASE_SECONDS`).
    pub mail_lease_seconds: u32,
    /// Session writes do not wait for the WAL flush (`SHOP_SESSIONS_ASYNC_COMMIT`; off).
    pub sessions_async_commit: bool,
    /// Anonymous checkout details steps a client may submit per minute
    /// (`SHOP_CHECKOUT_PROBE_LIMIT`): each tells whether an address has an account.
    pub probe_limit_per_minute: u32,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`SHOP_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Where enrolments, groups and course activity live (`LMS`).
    pub lms: Lms,
    /// Stripe Checkout, when `STRIPE_SECRET_KEY` and `STRIPE_WEBHOOK_SECRET` are set.
    pub stripe: Option<StripeConfig>,
}

#[derive(Clone)]
pub struct StripeConfig {
    /// `STRIPE_SECRET_KEY`: `sk_test_…` (test mode) or `sk_live_…` (live mode). Never logged.
    pub secret_key: SecretString,
    /// `STRIPE_WEBHOOK_SECRET`: the endpoint's signing secret (`whsec_…`).
    pub webhook_secret: SecretString,
    /// `STRIPE_API_BASE`, without a trailing slash (the tests point it at a fake).
    pub api_base: String,
}

pub const DEFAULT_STRIPE_API_BASE: &str = "https://api.stripe.com";

fn stripe_from_env() -> Result<Option<StripeConfig>> {
    stripe_from(var)
}

/// Stripe's configuration from `var` (the environment, or a test's table).
fn stripe_from(var: impl Fn(&str) -> Option<String>) -> Result<Option<StripeConfig>> {
    let key = var("STRIPE_SECRET_KEY");
    let webhook = var("STRIPE_WEBHOOK_SECRET");
    let (key, webhook) = match (key, webhook) {
        (None, None) => return Ok(None),
        (Some(k), Some(w)) => (k, w),
        // Half a configuration would take payments it can never confirm, or the reverse.
        _ => anyhow::bail!("Stripe needs both STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET"),
    };
    let key = key.trim().to_owned();
    if crate::stripe::Mode::of_key(&key).is_none() {
        // Not echoed: it may be a real secret pasted into the wrong variable.
        anyhow::bail!("STRIPE_SECRET_KEY must be a secret key (sk_test_… or sk_live_…)");
    }
    let api_base = var("STRIPE_API_BASE")
        .unwrap_or_else(|| DEFAULT_STRIPE_API_BASE.into())
        .trim_end_matches('/')
        .to_owned();
    if !api_base.starts_with("https://") && !api_base.starts_with("http://") {
        anyhow::bail!("STRIPE_API_BASE must start with https:// (or http:// for a local fake)");
    }
    Ok(Some(StripeConfig {
        secret_key: key.into(),
        webhook_secret: webhook.trim().to_owned().into(),
        api_base,
    }))
}

/// `LMS=builtin` (the shop's own tables) or `LMS=moodle`.
#[derive(Clone, Default)]
pub enum Lms {
    #[default]
    Builtin,
    Moodle(MoodleConfig),
}

impl Lms {
    pub fn moodle(&self) -> Option<&MoodleConfig> {
        match self {
            Lms::Builtin => None,
            Lms::Moodle(m) => Some(m),
        }
    }
}

#[derive(Clone)]
pub struct MoodleConfig {
    /// The site's root, without a trailing slash (`MOODLE_URL`).
    pub url: String,
    /// The external service's token (`MOODLE_TOKEN`): never logged.
    pub token: SecretString,
    pub roles: crate::domain::moodle::RoleMap,
    /// How often seat locks are refreshed from Moodle (`MOODLE_ACTIVITY_SECONDS`).
    pub activity_interval: std::time::Duration,
    /// Each web-service call gives up after this (`MOODLE_TIMEOUT_SECONDS`).
    pub call_timeout: std::time::Duration,
}

/// Half a minute: a learner's first access shows in the shop within a minute.
pub const DEFAULT_MOODLE_ACTIVITY_SECONDS: u64 = 30;
pub const DEFAULT_MOODLE_TIMEOUT_SECONDS: u64 = 10;

fn seconds(name: &str, default: u64) -> Result<std::time::Duration> {
    Ok(std::time::Duration::from_secs(match var(name) {
        Some(n) => n
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .with_context(|| format!("{name} must be a positive number of seconds"))?,
        None => default,
    }))
}

fn lms_from_env() -> Result<Lms> {
    match var("LMS")
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("builtin") => Ok(Lms::Builtin),
        Some("moodle") => {
            let url = var("MOODLE_URL").context(
                "LMS=moodle needs MOODLE_URL (the site's root, e.g. https://moodle.example.org)",
            )?;
            let url = url.trim_end_matches('/').to_owned();
            let Some(rest) = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"))
            else {
                anyhow::bail!("MOODLE_URL must start with http:// or https://: {url:?}");
            };
            // The URL is logged and shown to operators: credentials belong in the token.
            if rest
                .split('/')
                .next()
                .is_some_and(|host| host.contains('@'))
            {
                anyhow::bail!(
                    "MOODLE_URL must not carry a user or password (the token is the credential)"
                );
            }
            let host = rest.split(['/', ':']).next().unwrap_or_default();
            if url.starts_with("http://") && !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
                tracing::warn!(%url, "MOODLE_URL is plain http: the token crosses the network unencrypted");
            }
            Ok(Lms::Moodle(MoodleConfig {
                url,
                token: var("MOODLE_TOKEN")
                    .map(SecretString::from)
                    .context("LMS=moodle needs MOODLE_TOKEN (the external service's token)")?,
                roles: crate::domain::moodle::RoleMap::parse(
                    &var("MOODLE_ROLES").unwrap_or_default(),
                )?,
                activity_interval: seconds(
                    "MOODLE_ACTIVITY_SECONDS",
                    DEFAULT_MOODLE_ACTIVITY_SECONDS,
                )?,
                call_timeout: seconds("MOODLE_TIMEOUT_SECONDS", DEFAULT_MOODLE_TIMEOUT_SECONDS)?,
            }))
        }
        Some(other) => anyhow::bail!("LMS must be builtin or moodle, not {other:?}"),
    }
}

impl std::fmt::Debug for Config {
    // Hand-written so that passwords and secrets never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field(
                "database",
                &if self.database_url.is_some() {
                    "external"
                } else {
                    "embedded"
                },
            )
            .field("data_dir", &self.data_dir)
            .field("bind", &self.bind)
            .field("base_url", &self.base_url)
            .field("smtp", &self.smtp_url.is_some())
            .field(
                "lms",
                &self.lms.moodle().map_or("builtin", |m| m.url.as_str()),
            )
            .field("stripe", &self.stripe.as_ref().map(|s| s.api_base.as_str()))
            .finish_non_exhaustive()
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn flag(name: &str) -> bool {
    var(name).is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes" | "on"))
}

/// A few connections per core: PostgreSQL does the most work with about as many busy
/// backends as cores, and waiting in the pool is cheaper than contending inside the server.
/// On 2 cores, 6 connections gave 1.11 times the checkouts of 32 on average over seven
/// same-run benchmark pairs (docs/benchmarks.md).
pub fn default_db_connections() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    u32::try_from(cores * 2 + 2).unwrap_or(u32::MAX)
}

/// A day: long enough for a buyer who left the gateway's page to come back and pay.
pub const DEFAULT_UNPAID_ORDER_EXPIRY: time::Duration = time::Duration::hours(24);

/// A minute: SMTP servers answer within seconds; a message held longer was lost with its
/// worker.
pub const DEFAULT_MAIL_LEASE_SECONDS: u32 = 60;

impl Config {
    pub fn from_env() -> Result<Config> {
        let bind: SocketAddr = var("SHOP_BIND")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .context("SHOP_BIND must be an address such as 127.0.0.1:8080")?;
        // The address people reach the shop at (behind a proxy): links in mails, and over
        // https `Secure`/`__Host-` cookies and HSTS. `SHOP_BASE_URL` is its older name.
        let public_url = var("SHOP_PUBLIC_URL")
            .or_else(|| var("SHOP_BASE_URL"))
            .map(|u| u.trim_end_matches('/').to_owned());
        let https = public_url
            .as_deref()
            .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://"));
        Ok(Config {
            database_url: var("DATABASE_URL"),
            data_dir: var("SHOP_DATA_DIR")
                .unwrap_or_else(|| "./data".into())
                .into(),
            base_url: public_url
                .clone()
                .unwrap_or_else(|| format!("http://{bind}")),
            bind,
            admin_email: var("SHOP_ADMIN_EMAIL"),
            admin_password: var("SHOP_ADMIN_PASSWORD").map(SecretString::from),
            smtp_url: var("SMTP_URL").map(SecretString::from),
            mail_from: var("SHOP_MAIL_FROM").unwrap_or_else(|| "lms-shop <shop@localhost>".into()),
            payment_secret: var("PAYMENT_SECRET").map(SecretString::from),
            secure_cookies: https || flag("SHOP_SECURE_COOKIES"),
            hsts: https,
            demo: flag("SHOP_DEMO"),
            db_connections: match var("SHOP_DB_CONNECTIONS") {
                Some(n) => n
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .context("SHOP_DB_CONNECTIONS must be a positive number")?,
                None => default_db_connections(),
            },
            unpaid_order_expiry: match var("SHOP_UNPAID_ORDER_MINUTES") {
                Some(n) => time::Duration::minutes(
                    n.parse::<i64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .context("SHOP_UNPAID_ORDER_MINUTES must be a positive number")?,
                ),
                None => DEFAULT_UNPAID_ORDER_EXPIRY,
            },
            mail_lease_seconds: match var("SHOP_MAIL_LEASE_SECONDS") {
                Some(n) => n
                    .parse()
                    .ok()
                    .filter(|n| *n >= 2)
                    .context("SHOP_MAIL_LEASE_SECONDS must be a number of seconds, 2 or more")?,
                None => DEFAULT_MAIL_LEASE_SECONDS,
            },
            sessions_async_commit: flag("SHOP_SESSIONS_ASYNC_COMMIT"),
            probe_limit_per_minute: match var("SHOP_CHECKOUT_PROBE_LIMIT") {
                Some(n) => n
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .context("SHOP_CHECKOUT_PROBE_LIMIT must be a positive number")?,
                None => crate::security::throttle::DEFAULT_PROBES_PER_MINUTE,
            },
            trusted_proxies: var("SHOP_TRUSTED_PROXIES")
                .map(|list| {
                    list.split(',')
                        .map(|ip| ip.trim().parse())
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()
                .context("SHOP_TRUSTED_PROXIES must be IP addresses separated by commas")?
                .unwrap_or_default(),
            lms: lms_from_env()?,
            stripe: stripe_from_env()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn stripe(pairs: &[(&str, &str)]) -> Result<Option<StripeConfig>> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        stripe_from(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn stripe_needs_both_keys_and_a_secret_key() {
        assert!(stripe(&[]).unwrap().is_none());
        let both = stripe(&[
            ("STRIPE_SECRET_KEY", "sk_test_abc"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_abc"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(both.api_base, DEFAULT_STRIPE_API_BASE);
        assert_eq!(both.secret_key.expose_secret(), "sk_test_abc");
        // Half a configuration, or a publishable key where the secret one goes, stops the start.
        assert!(stripe(&[("STRIPE_SECRET_KEY", "sk_test_abc")]).is_err());
        assert!(stripe(&[("STRIPE_WEBHOOK_SECRET", "whsec_abc")]).is_err());
        let publishable = stripe(&[
            ("STRIPE_SECRET_KEY", "pk_live_abc"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_abc"),
        ]);
        let message = publishable.err().unwrap().to_string();
        assert!(!message.contains("pk_live_abc"), "{message}");
        let fake = stripe(&[
            ("STRIPE_SECRET_KEY", "sk_live_abc"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_abc"),
            ("STRIPE_API_BASE", "http://127.0.0.1:9/"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(fake.api_base, "http://127.0.0.1:9");
        assert!(
            stripe(&[
                ("STRIPE_SECRET_KEY", "sk_live_abc"),
                ("STRIPE_WEBHOOK_SECRET", "whsec_abc"),
                ("STRIPE_API_BASE", "api.stripe.com"),
            ])
            .is_err()
        );
    }
}
