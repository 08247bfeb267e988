//! Years of data (issue 16): every page and action of the table, and the customer,
//! learner and checkout paths, on a small generated shop and on one the size of the issue, in
//! one run. Each is measured one request at a time and with 8 concurrent clients (p50 / p99,
//! and the rate). Run with `scripts/bench-scale.sh` (it generates both databases once and
//! keeps them); docs/benchmarks.md records the figures.

#[path = "../tests/support/port.rs"]
mod port;
use port::free_port;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use lms_shop::scale_data::{BIG_CUSTOMER_EMAIL, OPERATOR_EMAIL};
use reqwest::redirect::Policy;
use sqlx::PgPool;

const PASSWORD: &str = "scale-bench-password-1";
const CLIENTS: usize = 8;

fn seconds(var: &str, default: f64) -> Duration {
    Duration::from_secs_f64(
        std::env::var(var)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default),
    )
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_server(db_url: &str) -> (Server, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_lms-shop"))
        .env("DATABASE_URL", db_url)
        .env("SHOP_BIND", format!("127.0.0.1:{port}"))
        .env("SHOP_CHECKOUT_PROBE_LIMIT", "1000000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    let probe = reqwest::Client::new();
    while !matches!(probe.get(format!("{base}/healthz")).send().await, Ok(r) if r.status() == 200) {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "server did not come up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (Server(child), base)
}

/// A browser from its own loopback address (the login and checkout throttles count per client).
fn browser() -> reqwest::Client {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % 4_000_000;
    let ip = std::net::Ipv4Addr::from(u32::from(std::net::Ipv4Addr::new(127, 2, 0, 1)) + n as u32);
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .local_address(std::net::IpAddr::V4(ip))
        .build()
        .unwrap()
}

fn csrf(body: &str) -> String {
    body.split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .to_owned()
}

async fn token(c: &reqwest::Client, url: String) -> String {
    csrf(&c.get(url).send().await.unwrap().text().await.unwrap())
}

/// A browser signed in as `email`, with a CSRF token of its signed-in session.
async fn signed_in(base: &str, email: &str) -> (reqwest::Client, String) {
    let c = browser();
    let t = token(&c, format!("{base}/login")).await;
    let r = c
        .post(format!("{base}/login"))
        .form(&[("email", email), ("password", PASSWORD), ("csrf_token", &t)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "login of {email}");
    let t = token(&c, format!("{base}/login")).await;
    (c, t)
}

struct Stats {
    elapsed: Duration,
    latencies: Vec<Duration>,
    failed: u64,
}

impl Stats {
    fn pct(&self, p: f64) -> f64 {
        let mut v = self.latencies.clone();
        v.sort();
        v.get(((v.len().max(1) - 1) as f64 * p).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }

    fn cell(&self) -> String {
        let failed = if self.failed > 0 {
            format!(" ({} failed)", self.failed)
        } else {
            String::new()
        };
        format!(
            "{:.1} / {:.1} ms, {:.0}/s{failed}",
            self.pct(0.5),
            self.pct(0.99),
            self.latencies.len() as f64 / self.elapsed.as_secs_f64()
        )
    }
}

/// One measured operation: its own duration when it succeeded (what it does untimed around the
/// request, such as the bulk upload's release of its seats, is left out).
type Job = Arc<dyn Fn(usize) -> BoxFuture<'static, Option<Duration>> + Send + Sync>;

/// Times `f`, a success or not.
async fn timed(f: impl std::future::Future<Output = bool>) -> Option<Duration> {
    let t = Instant::now();
    f.await.then(|| t.elapsed())
}

/// `conns` tasks each running `job` again and again for `time`.
async fn hammer(conns: usize, time: Duration, job: Job) -> Stats {
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..conns {
        let (job, stop, failed) = (Arc::clone(&job), Arc::clone(&stop), Arc::clone(&failed));
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match job(worker).await {
                    Some(took) => lat.push(took),
                    None => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            lat
        }));
    }
    tokio::time::sleep(time).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    Stats {
        elapsed: start.elapsed(),
        latencies,
        failed: failed.load(Ordering::Relaxed),
    }
}

/// GET `path` as one of `clients` (one per worker); success is a 200.
fn get(clients: &Arc<Vec<reqwest::Client>>, url: String) -> Job {
    let clients = Arc::clone(clients);
    Arc::new(move |w| {
        let (c, url) = (clients[w % clients.len()].clone(), url.clone());
        Box::pin(timed(async move {
            match c.get(url).send().await {
                Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                Err(_) => false,
            }
        }))
    })
}

/// What one measured database gives the requests: sample values read from it.
struct Samples {
    seat_reference: String,
    learner_email: String,
    customer_email: String,
    bill_number: i64,
    big_bill_id: i64,
    big_bill_public: String,
    seats_deep: i64,
    bills_deep: i64,
    mail_deep: i64,
    organisation_part: String,
    big_course: i64,
    any_course: String,
    learner: String,
}

async fn samples(db: &PgPool) -> Samples {
    let one = |sql: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, String>(sql)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    let num = |sql: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    Samples {
        // A seat of the largest customer, in the middle of the table.
        seat_reference: one("SELECT reference FROM product_instances WHERE customer_id = 1 ORDER BY id DESC LIMIT 1").await,
        learner_email: one("SELECT u.email FROM product_instances pi JOIN users u ON u.id = pi.assigned_user_id WHERE pi.id >= (SELECT max(id) / 2 FROM product_instances) ORDER BY pi.id LIMIT 1").await,
        customer_email: one("SELECT email FROM customers WHERE id = (SELECT max(id) / 2 FROM customers)").await,
        bill_number: num("SELECT max(number) / 2 FROM bills").await,
        big_bill_id: num("SELECT max(bill_id) FROM product_instances WHERE customer_id = 1").await,
        big_bill_public: one("SELECT public_id FROM bills WHERE id = (SELECT max(bill_id) FROM product_instances WHERE customer_id = 1)").await,
        // The pages the issue measured (page 10 000 of 100 seats, 5 000 of 50 bills, 15 000
        // of 50 mails), or half-way on a smaller database, by the id the keyset link carries.
        seats_deep: num("SELECT max(id) - least(1000000, count(*) / 2) FROM product_instances").await,
        bills_deep: num("SELECT max(id) - least(250000, count(*) / 2) FROM bills").await,
        mail_deep: num("SELECT max(id) - least(750000, count(*) / 2) FROM outbox").await,
        organisation_part: "gistique Dub".to_owned(),
        big_course: num("SELECT assigned_course_id FROM product_instances WHERE customer_id = 1 AND assigned_course_id IS NOT NULL ORDER BY id DESC LIMIT 1").await,
        any_course: one("SELECT shortname FROM courses WHERE id = 1").await,
        learner: one("SELECT u.email FROM users u WHERE u.email LIKE 'learner%' AND EXISTS (SELECT 1 FROM enrolments e WHERE e.user_id = u.id) ORDER BY u.id LIMIT 1").await,
    }
}

struct Request {
    name: String,
    target: &'static str,
    job: Job,
}

async fn requests(db: &PgPool, base: &str, label: &str) -> Vec<Request> {
    let s = samples(db).await;
    let mut ops = Vec::new();
    let mut customers = Vec::new();
    let mut tokens = Vec::new();
    for _ in 0..CLIENTS {
        ops.push(signed_in(base, OPERATOR_EMAIL).await.0);
        let (c, t) = signed_in(base, BIG_CUSTOMER_EMAIL).await;
        customers.push(c);
        tokens.push(t);
    }
    let mut learners = Vec::new();
    for _ in 0..CLIENTS {
        learners.push(signed_in(base, &s.learner).await.0);
    }
    let anonymous = Arc::new((0..CLIENTS).map(|_| browser()).collect::<Vec<_>>());
    let (ops, customers, learners) = (Arc::new(ops), Arc::new(customers), Arc::new(learners));
    let op = |path: String| get(&ops, format!("{base}{path}"));
    let cu = |path: String| get(&customers, format!("{base}{path}"));
    let q = |v: &str| serde_urlencoded::to_string([("q", v)]).unwrap();
    let mut r = vec![
        (
            "/admin/seats?q=<seat reference>",
            "p99 < 5 ms",
            op(format!("/admin/seats?{}", q(&s.seat_reference))),
        ),
        (
            "/admin/seats?q=<learner email>",
            "p99 < 5 ms",
            op(format!("/admin/seats?{}", q(&s.learner_email))),
        ),
        (
            "/admin/seats?q=<organisation part>",
            "p99 < 50 ms",
            op(format!("/admin/seats?{}", q(&s.organisation_part))),
        ),
        (
            "/admin/seats, 1 000 000 seats in (page 10 000)",
            "p99 < 50 ms",
            op(format!("/admin/seats?before={}", s.seats_deep)),
        ),
        (
            "/admin/bills?q=<email>",
            "p99 < 5 ms",
            op(format!("/admin/bills?{}", q(&s.customer_email))),
        ),
        (
            "/admin/bills?q=<bill number>",
            "p99 < 5 ms",
            op(format!("/admin/bills?q=B{:010}", s.bill_number)),
        ),
        (
            "/admin/bills, 250 000 bills in (page 5 000)",
            "p99 < 50 ms",
            op(format!("/admin/bills?before={}", s.bills_deep)),
        ),
        (
            "/admin/customers?q=<email>",
            "p99 < 5 ms",
            op(format!("/admin/customers?{}", q(&s.customer_email))),
        ),
        (
            "/admin/customers?q=<organisation part>",
            "p99 < 50 ms",
            op(format!("/admin/customers?{}", q(&s.organisation_part))),
        ),
        ("/admin (counts)", "p99 < 50 ms", op("/admin".to_owned())),
        (
            "/admin/bills/{id} of a 1 000-seat bill",
            "p99 < 50 ms",
            op(format!("/admin/bills/{}", s.big_bill_id)),
        ),
        (
            "/admin/mail, 750 000 mails in (page 15 000)",
            "p99 < 50 ms",
            op(format!("/admin/mail?before={}", s.mail_deep)),
        ),
        (
            "/customer of the largest customer",
            "p99 < 20 ms, ≥ 500/s with 8",
            cu("/customer".to_owned()),
        ),
        (
            "/customer?course=<id> (course filter)",
            "p99 < 20 ms",
            cu(format!("/customer?course={}", s.big_course)),
        ),
        (
            "/customer?state=available",
            "p99 < 20 ms",
            cu("/customer?state=available".to_owned()),
        ),
        (
            "/customer/products/{reference}",
            "p99 < 50 ms",
            cu(format!("/customer/products/{}", s.seat_reference)),
        ),
        (
            "/customer/bills/{bill}",
            "p99 < 50 ms",
            cu(format!("/customer/bills/{}", s.big_bill_public)),
        ),
        (
            "/my/courses (learner)",
            "p99 < 50 ms",
            get(&learners, format!("{base}/my/courses")),
        ),
        (
            "/shop (500 products)",
            "≥ 10 000/s with 8",
            get(&anonymous, format!("{base}/shop")),
        ),
    ]
    .into_iter()
    .map(|(name, target, job)| Request {
        name: name.to_owned(),
        target,
        job,
    })
    .collect::<Vec<_>>();

    // Bulk upload of 4 new learners for the largest customer, each time new addresses. Once
    // timed, the upload's seats are released (outside the measure, straight in the database):
    // the small shop's largest customer has 240 free seats, fewer than a run takes.
    let counter = Arc::new(AtomicU64::new(0));
    let (customers2, tokens, course, base2, label2, db2) = (
        Arc::clone(&customers),
        Arc::new(tokens),
        s.any_course.clone(),
        base.to_owned(),
        label.to_owned(),
        db.clone(),
    );
    let next = Arc::clone(&counter);
    r.push(Request {
        name: "bulk upload, 4 lines, largest customer".to_owned(),
        target: "cost of its lines",
        job: Arc::new(move |w| {
            let n = next.fetch_add(1, Ordering::Relaxed);
            let (c, t) = (customers2[w].clone(), tokens[w].clone());
            let csv: String = std::iter::once("email,firstname,lastname,course\n".to_owned())
                .chain((0..4).map(|i| {
                    format!(
                        "bulk-{label2}-{}-{n}-{i}@bench.example,Bulk,Learner,{course}\n",
                        std::process::id()
                    )
                }))
                .collect();
            let url = format!("{base2}/customer/products/bulk?csrf_token={t}");
            let learners = format!("bulk-{label2}-{}-{n}-%", std::process::id());
            let db = db2.clone();
            Box::pin(async move {
                let form = reqwest::multipart::Form::new().part(
                    "csv",
                    reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("seats.csv"),
                );
                let took = timed(async {
                    matches!(c.post(url).multipart(form).send().await, Ok(r) if r.status() == 303)
                })
                .await;
                let _ = sqlx::query(
                    "UPDATE product_instances SET assigned_user_id = NULL, assigned_course_id = NULL,
                         assigned_at = NULL, learner_firstname = NULL, learner_lastname = NULL
                     WHERE assigned_user_id IN (SELECT id FROM users WHERE email LIKE $1)",
                )
                .bind(learners)
                .execute(&db)
                .await;
                took
            })
        }),
    });

    // A whole purchase by a new buyer: cart, details, order, payment, confirmation.
    let (base3, label3, next) = (base.to_owned(), label.to_owned(), Arc::clone(&counter));
    r.push(Request {
        name: "checkout, new buyer (6 requests)".to_owned(),
        target: "flat",
        job: Arc::new(move |_| {
            let n = next.fetch_add(1, Ordering::Relaxed);
            let email = format!("buyer-{label3}-{}-{n}@bench.example", std::process::id());
            Box::pin(timed(checkout(base3.clone(), email)))
        }),
    });
    r
}

async fn checkout(base: String, email: String) -> bool {
    async fn run(base: &str, email: &str) -> Option<bool> {
        let c = browser();
        let t = csrf(
            &c.get(format!("{base}/login"))
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?,
        );
        let post = |path: &str, form: Vec<(&str, &str)>| {
            c.post(format!("{base}{path}")).form(&form).send()
        };
        post(
            "/cart/items",
            vec![
                ("code", "P0003-PACK"),
                ("quantity", "2"),
                ("csrf_token", &t),
            ],
        )
        .await
        .ok()?;
        post(
            "/checkout/customer",
            vec![
                ("firstname", "Bench"),
                ("lastname", "Buyer"),
                ("email", email),
                ("organisation", "Bench"),
                ("address", "1 rue"),
                ("zip", "75001"),
                ("city", "Paris"),
                ("country", "FR"),
                ("csrf_token", &t),
            ],
        )
        .await
        .ok()?;
        let placed = post(
            "/checkout/order",
            vec![
                ("accept_terms", "1"),
                ("paymode", "test"),
                ("csrf_token", &t),
            ],
        )
        .await
        .ok()?;
        let gateway = placed.headers().get("location")?.to_str().ok()?.to_owned();
        let paid = post(&format!("{gateway}/pay"), vec![("csrf_token", &t)])
            .await
            .ok()?;
        let done = paid.headers().get("location")?.to_str().ok()?.to_owned();
        let page = c.get(format!("{base}{done}")).send().await.ok()?;
        Some(page.status() == 200)
    }
    run(&base, &email).await.unwrap_or(false)
}

/// Sets the benchmark's password on the accounts it signs in with.
async fn prepare(db: &PgPool) {
    let hash = lms_shop::security::password::hash(PASSWORD.to_owned())
        .await
        .unwrap();
    sqlx::query(
        "UPDATE users SET password_hash = $1, verified_at = coalesce(verified_at, now())
         WHERE email = $2 OR email = $3 OR id = (SELECT min(u.id) FROM users u
             WHERE u.email LIKE 'learner%' AND EXISTS (SELECT 1 FROM enrolments e WHERE e.user_id = u.id))",
    )
    .bind(&hash)
    .bind(OPERATOR_EMAIL)
    .bind(BIG_CUSTOMER_EMAIL)
    .execute(db)
    .await
    .unwrap();
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("scale benchmark skipped (run it with scripts/bench-scale.sh)");
        return;
    }
    let small =
        std::env::var("BENCH_SMALL_URL").expect("BENCH_SMALL_URL: use scripts/bench-scale.sh");
    let big = std::env::var("BENCH_BIG_URL").expect("BENCH_BIG_URL: use scripts/bench-scale.sh");
    let one_time = seconds("BENCH_ONE_SECONDS", 2.0);
    let eight_time = seconds("BENCH_EIGHT_SECONDS", 3.0);
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    println!("load average at start: {}", load_average());
    let mut results: Vec<(String, &'static str, Vec<String>)> = Vec::new();
    for (label, url) in [("small", small), ("large", big)] {
        let db = PgPool::connect(&url).await.unwrap();
        prepare(&db).await;
        let (server, base) = start_server(&url).await;
        for r in requests(&db, &base, label).await {
            if !only.is_empty() && !only.split('|').any(|o| r.name.contains(o)) {
                continue;
            }
            // Each row starts with no dirty pages left by the one before (a checkpoint's writes
            // landed on whichever row came next: the checkout's commits after the uploads).
            let _ = sqlx::query("CHECKPOINT").execute(&db).await;
            let one = hammer(1, one_time, Arc::clone(&r.job)).await;
            let eight = hammer(CLIENTS, eight_time, r.job).await;
            eprintln!("{label} {}: {} | {}", r.name, one.cell(), eight.cell());
            if !results.iter().any(|row| row.0 == r.name) {
                results.push((r.name.clone(), r.target, Vec::new()));
            }
            if let Some(row) = results.iter_mut().find(|row| row.0 == r.name) {
                row.2.push(one.cell());
                row.2.push(eight.cell());
            }
        }
        drop(server);
        db.close().await;
    }
    println!("load average at end: {}", load_average());
    println!(
        "\n| request | small: 1 at a time (p50 / p99, rate) | small: 8 clients | large: 1 at a time | large: 8 clients | target (large) |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, target, cells) in results {
        let cell = |i: usize| cells.get(i).cloned().unwrap_or_default();
        println!(
            "| {name} | {} | {} | {} | {} | {target} |",
            cell(0),
            cell(1),
            cell(2),
            cell(3)
        );
    }
}
