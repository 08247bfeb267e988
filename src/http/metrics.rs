//! `GET /metrics`: what an operator of several instances watches, in the OpenMetrics text
//! format Prometheus scrapes (`prometheus-client`, the Prometheus project's Rust client).
//!
//! - `shop_http_requests_total{method,route,status}`: `route` is the matched route template
//!   (`/customer/products/{reference}`), never the raw path, so the series stay few;
//!   requests no route matched count as `route="unmatched"`.
//! - `shop_http_request_duration_seconds{method,route}`: latency histogram, 1 ms to 8 s.
//! - `shop_db_pool_connections{pool,state}`: open connections of each pool (`db`,
//!   `sessions`), `state` = `idle` or `in_use`, and `shop_db_pool_max_connections{pool}`.
//! - `shop_outbox_unsent`: mail waiting for delivery (not sent, not given up).
//! - `shop_bills_waiting{state}`: the job queues: `PAID` bills awaiting production, and
//!   `PLACED` bills awaiting payment.
//! - `shop_moodle_calls_total{function,outcome}` (LMS=moodle): web-service calls, `outcome`
//!   `ok`, `transient` (retried) or `refused`; `shop_lms_jobs{state}`: Moodle jobs `pending`
//!   and `failed` (waiting for an operator at /admin/lms).
//!
//! Counters are per process: scrape every instance. Access: with `SHOP_METRICS_TOKEN` set,
//! only `Authorization: Bearer <token>`; without it, only loopback peers that did not come
//! through a proxy (no `Forwarded` / `X-Forwarded-For` / `X-Real-IP`). Everyone else gets a
//! 404, as for any page that does not exist.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    method: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolName {
    pool: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MoodleCallLabels {
    function: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BillLabels {
    state: &'static str,
}

fn latency_histogram() -> Histogram {
    // 1 ms, 2 ms, … 8.192 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 14))
}

struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<LatencyLabels, Histogram, fn() -> Histogram>,
    pool: Family<PoolLabels, Gauge>,
    pool_max: Family<PoolName, Gauge>,
    outbox: Gauge,
    bills: Family<BillLabels, Gauge>,
    moodle_calls: Family<MoodleCallLabels, Counter>,
    lms_jobs: Family<BillLabels, Gauge>,
}

/// Counts one Moodle web-service call (`shop_moodle_calls_total{function,outcome}`, outcome
/// `ok`, `transient` or `refused`).
pub fn moodle_call(function: &'static str, outcome: &'static str) {
    metrics()
        .moodle_calls
        .get_or_create(&MoodleCallLabels { function, outcome })
        .inc();
}

/// One registry per process: counters add up over everything this process served.
fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "shop_http_requests",
            "HTTP requests by method, matched route and status",
            requests.clone(),
        );
        let latency = Family::<LatencyLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "shop_http_request_duration_seconds",
            "Time from request to response head, by method and matched route",
            latency.clone(),
        );
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "shop_db_pool_connections",
            "Open connections of each database pool, idle or in use",
            pool.clone(),
        );
        let pool_max = Family::<PoolName, Gauge>::default();
        registry.register(
            "shop_db_pool_max_connections",
            "Size limit of each database pool (SHOP_DB_CONNECTIONS)",
            pool_max.clone(),
        );
        let outbox = Gauge::default();
        registry.register(
            "shop_outbox_unsent",
            "Outbox messages not delivered yet",
            outbox.clone(),
        );
        let bills = Family::<BillLabels, Gauge>::default();
        registry.register(
            "shop_bills_waiting",
            "Bills waiting: PAID for production, PLACED for payment",
            bills.clone(),
        );
        let moodle_calls = Family::<MoodleCallLabels, Counter>::default();
        registry.register(
            "shop_moodle_calls",
            "Moodle web-service calls by function and outcome (ok, transient, refused)",
            moodle_calls.clone(),
        );
        let lms_jobs = Family::<BillLabels, Gauge>::default();
        registry.register(
            "shop_lms_jobs",
            "Moodle jobs by state: pending (to apply) and failed (waiting for an operator)",
            lms_jobs.clone(),
        );
        Metrics {
            moodle_calls,
            lms_jobs,
            registry,
            requests,
            latency,
            pool,
            pool_max,
            outbox,
            bills,
        }
    })
}

/// Methods as a closed set: a client inventing methods must not invent series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

fn route_label(matched: Option<&MatchedPath>) -> String {
    match matched.map(MatchedPath::as_str) {
        Some(p) if p.starts_with("/static") => "/static".to_owned(),
        Some(p) => p.to_owned(),
        None => "unmatched".to_owned(),
    }
}

/// Middleware counting every request by its matched route. Added with `Router::layer`, it
/// runs inside the routing, where `MatchedPath` is known.
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(req.method());
    let route = route_label(req.extensions().get::<MatchedPath>());
    let response = next.run(req).await;
    let m = metrics();
    m.latency
        .get_or_create(&LatencyLabels {
            method,
            route: route.clone(),
        })
        .observe(start.elapsed().as_secs_f64());
    m.requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

fn token() -> Option<&'static str> {
    static TOKEN: OnceLock<Option<String>> = OnceLock::new();
    TOKEN
        .get_or_init(|| {
            std::env::var("SHOP_METRICS_TOKEN")
                .ok()
                .filter(|t| !t.trim().is_empty())
        })
        .as_deref()
}

/// The access rule of the module comment.
fn allowed(peer: Option<SocketAddr>, headers: &HeaderMap, token: Option<&str>) -> bool {
    match token {
        Some(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| bool::from(given.as_bytes().ct_eq(token.as_bytes()))),
        None => {
            let proxied = ["forwarded", "x-forwarded-for", "x-real-ip"]
                .iter()
                .any(|h| headers.contains_key(*h));
            !proxied && peer.is_some_and(|p| p.ip().is_loopback())
        }
    }
}

pub async fn scrape(State(state): State<AppState>, req: Request) -> Result<Response, AppError> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    if !allowed(peer, req.headers(), token()) {
        return Err(AppError::NotFound);
    }
    let m = metrics();
    for (name, pool) in [("db", &state.db), ("sessions", &state.sessions)] {
        let size = i64::from(pool.size());
        let idle = i64::try_from(pool.num_idle()).unwrap_or(i64::MAX);
        m.pool
            .get_or_create(&PoolLabels {
                pool: name,
                state: "idle",
            })
            .set(idle);
        m.pool
            .get_or_create(&PoolLabels {
                pool: name,
                state: "in_use",
            })
            .set((size - idle).max(0));
        m.pool_max
            .get_or_create(&PoolName { pool: name })
            .set(i64::from(pool.options().get_max_connections()));
    }
    let depths = sqlx::query!(
        r#"SELECT
             (SELECT count(*) FROM outbox WHERE sent_at IS NULL AND given_up_at IS NULL) AS "outbox!",
             (SELECT count(*) FROM bills WHERE state = 'PAID') AS "paid!",
             (SELECT count(*) FROM bills WHERE state = 'PLACED') AS "placed!",
             (SELECT count(*) FROM lms_jobs WHERE state = 'pending') AS "lms_pending!",
             (SELECT count(*) FROM lms_jobs WHERE state = 'failed') AS "lms_failed!""#
    )
    .fetch_one(&state.db)
    .await?;
    m.outbox.set(depths.outbox);
    m.bills
        .get_or_create(&BillLabels { state: "PAID" })
        .set(depths.paid);
    m.bills
        .get_or_create(&BillLabels { state: "PLACED" })
        .set(depths.placed);
    m.lms_jobs
        .get_or_create(&BillLabels { state: "pending" })
        .set(depths.lms_pending);
    m.lms_jobs
        .get_or_create(&BillLabels { state: "failed" })
        .set(depths.lms_failed);

    let mut body = String::new();
    encode(&mut body, &m.registry).map_err(|e| anyhow::anyhow!("encoding metrics: {e}"))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response())
}

/// `/metrics` (full path: the security suite reads every route under src/http).
pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/metrics", axum::routing::get(scrape))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn loopback_without_token_only_when_not_proxied() {
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let remote: SocketAddr = "192.0.2.7:5000".parse().unwrap();
        assert!(allowed(Some(local), &headers(&[]), None));
        assert!(!allowed(Some(remote), &headers(&[]), None));
        assert!(!allowed(None, &headers(&[]), None));
        assert!(!allowed(
            Some(local),
            &headers(&[("x-forwarded-for", "192.0.2.7")]),
            None
        ));
    }

    #[test]
    fn a_set_token_is_required_even_from_loopback() {
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let remote: SocketAddr = "192.0.2.7:5000".parse().unwrap();
        assert!(!allowed(Some(local), &headers(&[]), Some("s3cret")));
        assert!(!allowed(
            Some(local),
            &headers(&[("authorization", "Bearer wrong")]),
            Some("s3cret")
        ));
        assert!(allowed(
            Some(remote),
            &headers(&[("authorization", "Bearer s3cret")]),
            Some("s3cret")
        ));
    }
}
