//! Several shop processes on one database, as users who outgrow one machine run them: three
//! real `lms-shop` servers behind a round-robin TCP proxy started here. Every request through
//! the proxy opens a new connection, so each step of a checkout lands on the next instance.

#[path = "support/db.rs"]
mod db;
#[path = "api/fake_smtp.rs"]
mod fake_smtp;
#[path = "api/helpers.rs"]
mod helpers;
#[path = "support/port.rs"]
mod port;
#[path = "support/server.rs"]
mod server;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use db::{count, production_of, wait_for_zero};
use helpers::fresh_database;
use port::free_port;
use reqwest::redirect::Policy;
use server::{ServerProcess, spawn_shop, wait_healthy};
use sqlx::PgPool;
use tokio::net::{TcpListener, TcpStream};

const SECRET: &str = "multi-instance-secret";
const METRICS_TOKEN: &str = "multi-metrics-token";
/// The demo seat pack: 1 440.00 + 20 % VAT, 5 seats.
const PACK: &str = "A51-1123K-FI";
const PACK_TOTAL: i64 = 172_800;

/// One instance of the shop on the shared database, mailing through the test's SMTP sink.
fn start_server(db_url: &str, port: u16, smtp_port: u16, env: &[(&str, &str)]) -> ServerProcess {
    let mut all: Vec<(&str, String)> = env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    all.extend([
        ("PAYMENT_SECRET", SECRET.to_owned()),
        ("SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}")),
        ("SHOP_DB_CONNECTIONS", "4".to_owned()),
    ]);
    spawn_shop(db_url, port, &all)
}

/// Round robin over `backends`, one backend per accepted connection. Returns its port and
/// how many connections went to each backend.
async fn round_robin_proxy(backends: Vec<u16>) -> (u16, Arc<Vec<AtomicUsize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let served: Arc<Vec<AtomicUsize>> =
        Arc::new(backends.iter().map(|_| AtomicUsize::new(0)).collect());
    let counts = Arc::clone(&served);
    tokio::spawn(async move {
        let mut next = 0usize;
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            let i = next % backends.len();
            next += 1;
            counts[i].fetch_add(1, Ordering::Relaxed);
            let backend = backends[i];
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", backend)).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (port, served)
}

/// A browser: keeps cookies (which ignore the port, so one client is one browser on every
/// instance) and opens a new connection per request (so the proxy spreads its requests).
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn csrf(body: &str) -> String {
    body.split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a page with a CSRF token")
        .to_owned()
}

async fn post(c: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> (u16, String, String) {
    let r = c.post(url).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, location, r.text().await.unwrap())
}

async fn get(c: &reqwest::Client, url: &str) -> (u16, String) {
    let r = c.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Cart, customer step and order through `base`, each request on whichever instance the
/// proxy picks. Returns the bill's public id (placed for the test gateway, not paid).
async fn place_order(c: &reqwest::Client, base: &str, email: &str) -> String {
    let token = csrf(&get(c, &format!("{base}/login")).await.1);
    let added = post(
        c,
        &format!("{base}/cart/items"),
        &[("code", PACK), ("quantity", "1"), ("csrf_token", &token)],
    )
    .await;
    assert_eq!(added.0, 303, "add to cart: {}", added.2);
    let details = post(
        c,
        &format!("{base}/checkout/customer"),
        &[
            ("firstname", "Ada"),
            ("lastname", "Lovelace"),
            ("email", email),
            ("organisation", "Engines"),
            ("address", "1 rue"),
            ("zip", "75001"),
            ("city", "Paris"),
            ("country", "FR"),
            ("csrf_token", &token),
        ],
    )
    .await;
    assert_eq!(details.0, 303, "customer step: {}", details.2);
    let placed = post(
        c,
        &format!("{base}/checkout/order"),
        &[
            ("accept_terms", "1"),
            ("paymode", "test"),
            ("csrf_token", &token),
        ],
    )
    .await;
    assert_eq!(placed.0, 303, "order: {}", placed.2);
    assert!(placed.1.starts_with("/payment/test/"), "{}", placed.1);
    placed.1.trim_start_matches("/payment/test/").to_owned()
}

async fn wait_until(db: &PgPool, sql: &str, what: &str) {
    wait_for_zero(db, sql, Duration::from_secs(30), what).await;
}

#[tokio::test]
async fn three_instances_on_one_database_behave_as_one_shop() {
    let (db_url, db) = fresh_database().await;
    lms_shop::demo::seed(&db).await.unwrap();
    lms_shop::operators::ensure(&db, "ops@example.org", "ops-password-1")
        .await
        .unwrap();
    let (smtp_port, received) = fake_smtp::fake_smtp(0).await;
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let _servers: Vec<ServerProcess> = ports
        .iter()
        .enumerate()
        .map(|(i, port)| {
            // The third instance guards /metrics with a token.
            let env: &[(&str, &str)] = if i == 2 {
                &[("SHOP_METRICS_TOKEN", METRICS_TOKEN)]
            } else {
                &[]
            };
            start_server(&db_url, *port, smtp_port, env)
        })
        .collect();
    let direct: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    for base in &direct {
        wait_healthy(base).await;
    }
    let (proxy_port, served) = round_robin_proxy(ports.clone()).await;
    let proxy = format!("http://127.0.0.1:{proxy_port}");

    // Checkouts through the proxy: every step on another instance, with the session and the
    // CSRF token of the first. The payment notification goes to every instance at once —
    // two of them "wrong", all of them duplicates.
    let mut buyers = Vec::new();
    for n in 0..6 {
        let (proxy, direct) = (proxy.clone(), direct.clone());
        buyers.push(tokio::spawn(async move {
            let c = browser();
            let public_id = place_order(&c, &proxy, &format!("multi{n}@example.org")).await;
            let (signature, body) = lms_shop::services::payment::notification(
                SECRET.as_bytes(),
                &public_id,
                PACK_TOTAL,
                "EUR",
                true,
            );
            let sends = direct.iter().map(|base| {
                reqwest::Client::new()
                    .post(format!("{base}/payment/test/notify"))
                    .header("x-signature", &signature)
                    .body(body.clone())
                    .send()
            });
            for sent in futures::future::join_all(sends).await {
                assert_eq!(sent.unwrap().status(), 200, "notification acknowledged");
            }
            let (status, page) = get(&c, &format!("{proxy}/checkout/done/{public_id}")).await;
            assert_eq!(status, 200, "{page}");
            (c, public_id)
        }));
    }
    let mut paid = Vec::new();
    for b in buyers {
        paid.push(b.await.unwrap());
    }
    let per_backend: Vec<usize> = served.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    assert!(
        per_backend.iter().all(|n| *n >= 10),
        "the proxy spread the requests: {per_backend:?}"
    );

    // Paid bills a crash left behind: the recovery workers of all three instances race for
    // them; each is produced once.
    let mut stranded = Vec::new();
    for n in 0..6 {
        stranded.push(place_order(&browser(), &proxy, &format!("stranded{n}@example.org")).await);
    }
    sqlx::query(
        "UPDATE bills SET state = 'PAID', updated_at = now() - interval '1 minute'
         WHERE public_id = ANY($1)",
    )
    .bind(&stranded)
    .execute(&db)
    .await
    .unwrap();
    wait_until(
        &db,
        "SELECT count(*) FROM bills WHERE state = 'PAID'",
        "recovery produced every stranded bill",
    )
    .await;
    for public_id in paid.iter().map(|(_, id)| id).chain(&stranded) {
        let (state, seats, completions) = production_of(&db, public_id).await;
        assert_eq!(
            (state.as_str(), seats, completions),
            ("COMPLETE", 5, 1),
            "bill {public_id} produced exactly once"
        );
    }

    // One seat, twelve concurrent assignments spread over the three instances, one session:
    // exactly one winner.
    let (owner, _) = &paid[0];
    let reference: String = sqlx::query_scalar(
        "SELECT pi.reference FROM product_instances pi JOIN bills b ON b.id = pi.bill_id
         WHERE b.public_id = $1 ORDER BY pi.id LIMIT 1",
    )
    .bind(&paid[0].1)
    .fetch_one(&db)
    .await
    .unwrap();
    let course: i64 = sqlx::query_scalar("SELECT id FROM courses WHERE shortname = $1")
        .bind(PACK)
        .fetch_one(&db)
        .await
        .unwrap();
    let token = csrf(
        &get(
            owner,
            &format!("{}/customer/products/{reference}", direct[1]),
        )
        .await
        .1,
    );
    let races = (0..12).map(|i| {
        let url = format!("{}/customer/products/{reference}/assign", direct[i % 3]);
        let (owner, token, course) = (owner.clone(), token.clone(), course.to_string());
        async move {
            let email = format!("racer{i}@example.org");
            post(
                &owner,
                &url,
                &[
                    ("course", course.as_str()),
                    ("email", email.as_str()),
                    ("firstname", "Race"),
                    ("lastname", "Condition"),
                    ("csrf_token", token.as_str()),
                ],
            )
            .await
            .0
        }
    });
    let statuses = futures::future::join_all(races).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 303 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM enrolments e JOIN users u ON u.id = e.user_id WHERE u.email LIKE 'racer%'").await,
        1
    );

    // A catalogue change saved on one instance shows on the others at once, though they had
    // the catalogue in memory (their safety-net expiry is 30 s).
    for base in &direct {
        let (_, page) = get(&browser(), &format!("{base}/shop")).await;
        assert!(page.contains(PACK) && !page.contains("MULTI-NEW-1"));
    }
    let operator = browser();
    let token = csrf(&get(&operator, &format!("{}/login", direct[0])).await.1);
    let login = post(
        &operator,
        &format!("{}/login", direct[0]),
        &[
            ("email", "ops@example.org"),
            ("password", "ops-password-1"),
            ("csrf_token", &token),
        ],
    )
    .await;
    assert_eq!(login.0, 303);
    // The sign-in made on instance 0 is valid on instance 1 (and its rotated CSRF token too).
    let token = csrf(
        &get(&operator, &format!("{}/admin/products/new", direct[1]))
            .await
            .1,
    );
    let created = post(
        &operator,
        &format!("{}/admin/products", direct[0]),
        &[
            ("code", "MULTI-NEW-1"),
            ("name", "Made on instance zero"),
            ("price1", "100"),
            ("handler", "std_generateseats"),
            ("handlerparams", "courselist=A51-1123K-FI&packsize=1"),
            ("csrf_token", &token),
        ],
    )
    .await;
    assert_eq!(created.0, 303, "{}", created.2);
    for base in &direct[1..] {
        let started = Instant::now();
        loop {
            let (_, page) = get(&browser(), &format!("{base}/shop")).await;
            if page.contains("MULTI-NEW-1") {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{base} still shows the old catalogue"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // Mail: the workers of all three instances deliver; one message per outbox row.
    wait_until(
        &db,
        "SELECT count(*) FROM outbox WHERE sent_at IS NULL",
        "every message delivered",
    )
    .await;
    let rows = count(&db, "SELECT count(*) FROM outbox").await;
    assert!(rows >= 12, "{rows} messages");
    let got = received.lock().unwrap().clone();
    let ids: HashSet<String> = got
        .iter()
        .filter_map(|m| fake_smtp::message_id(m))
        .collect();
    assert_eq!(got.len() as i64, rows, "one delivery per outbox row");
    assert_eq!(ids.len(), got.len(), "no message sent twice");

    // /metrics of each instance: its own requests by route template, and the shared queues.
    let (status, text) = get(&browser(), &format!("{}/metrics", direct[0])).await;
    assert_eq!(status, 200);
    for needle in [
        "shop_http_requests_total{method=\"POST\",route=\"/payment/test/notify\",status=\"200\"}",
        "route=\"/customer/products/{reference}/assign\"",
        "shop_http_request_duration_seconds_bucket{",
        "shop_db_pool_connections{pool=\"sessions\",state=\"idle\"}",
        "shop_db_pool_max_connections{pool=\"db\"} 4",
        "shop_outbox_unsent 0",
        "shop_bills_waiting{state=\"PAID\"} 0",
    ] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
    assert!(!text.contains(&reference), "no raw path in the labels");
    let plain = reqwest::Client::new();
    let guarded = format!("{}/metrics", direct[2]);
    assert_eq!(
        plain.get(&guarded).send().await.unwrap().status(),
        404,
        "with a token set, loopback alone is not enough"
    );
    assert_eq!(
        plain
            .get(&guarded)
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        plain
            .get(format!("{}/metrics", direct[0]))
            .header("x-forwarded-for", "192.0.2.1")
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "a request a proxy forwarded is not a local one"
    );
}
