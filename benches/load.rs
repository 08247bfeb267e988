//! Load benchmark: starts the release server against a fresh PostgreSQL database, drives it
//! over loopback, prints one table. Run with `scripts/bench.sh` (see docs/benchmarks.md).
//!
//! Every figure comes with the throughput of `/ping` (a handler that does nothing, behind the
//! same middleware) measured in the same run, so it can be read as a share of what this
//! machine can do at all.

#[path = "../tests/support/port.rs"]
mod port;
use port::free_port;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::redirect::Policy;
use sqlx::{Connection, PgConnection};

const SECONDS: u64 = 8;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time used so far, in milliseconds, by the server, by PostgreSQL (every process of the
/// cluster, including backends already gone) and by this load generator: with two cores shared
/// by the three, the split tells whose work a figure is bound by.
#[derive(Clone, Copy, Default)]
struct Cpu {
    server: f64,
    postgres: f64,
    load: f64,
}

impl Cpu {
    fn now(server_pid: u32) -> Cpu {
        // (utime + stime, cutime + cstime) in clock ticks; Linux reports them in USER_HZ = 100.
        fn ticks(path: &str) -> Option<(String, u64, u64)> {
            let stat = std::fs::read_to_string(path).ok()?;
            let (head, rest) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1.to_owned();
            let f: Vec<u64> = rest
                .split_whitespace()
                .skip(11)
                .take(4)
                .filter_map(|x| x.parse().ok())
                .collect();
            Some((comm, f.first()? + f.get(1)?, f.get(2)? + f.get(3)?))
        }
        let ms = |t: u64| t as f64 * 10.0;
        let postgres = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| ticks(&format!("{}/stat", e.path().display())))
            .filter(|(comm, _, _)| comm == "postgres")
            .map(|(_, own, children)| own + children)
            .sum();
        Cpu {
            server: ticks(&format!("/proc/{server_pid}/stat")).map_or(0.0, |t| ms(t.1)),
            postgres: ms(postgres),
            load: ticks("/proc/self/stat").map_or(0.0, |t| ms(t.1)),
        }
    }

    /// CPU per operation between two readings.
    fn per(self, since: Cpu, ops: u64) -> String {
        let n = ops.max(1) as f64;
        format!(
            "server {:.2} ms, PostgreSQL {:.2} ms, load generator {:.2} ms",
            (self.server - since.server) / n,
            (self.postgres - since.postgres) / n,
            (self.load - since.load) / n
        )
    }
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_up(base: &str) -> Duration {
    let start = Instant::now();
    let client = reqwest::Client::new();
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status() == 200
        {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "server did not come up"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn spawn(env: &[(&str, String)]) -> (Child, String) {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lms-shop"));
    cmd.env_remove("DATABASE_URL")
        .env("SHOP_BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::from(
            std::fs::File::create(std::env::temp_dir().join("lms-shop-bench-server.log")).unwrap(),
        ))
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    (cmd.spawn().unwrap(), format!("http://127.0.0.1:{port}"))
}

/// A new buyer's browser, from its own loopback address (127.1.0.1, 127.1.0.2, …): buyers
/// come from many addresses, and the checkout's per-client throttle of "this address has an
/// account" answers (20 a minute) must see them as distinct clients, as it would in production.
fn buyer_client() -> reqwest::Client {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % 4_000_000;
    let ip = std::net::Ipv4Addr::from(u32::from(std::net::Ipv4Addr::new(127, 1, 0, 1)) + n as u32);
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

async fn post(c: &reqwest::Client, url: String, form: &[(&str, &str)]) -> reqwest::Response {
    c.post(url).form(form).send().await.unwrap()
}

/// Latencies of many requests, and throughput.
struct Stats {
    count: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Stats {
    fn rate(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }

    fn pct(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let mut v = self.latencies.clone();
        v.sort();
        let i = ((v.len() as f64 - 1.0) * p).round() as usize;
        v[i].as_secs_f64() * 1000.0
    }
}

/// `conns` tasks each looping `job` for `SECONDS`; returns counts and latencies.
async fn hammer<F, Fut>(conns: usize, seconds: u64, job: F) -> Stats
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let job = Arc::new(job);
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..conns {
        let (job, stop) = (Arc::clone(&job), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                if job(worker, i).await {
                    lat.push(t.elapsed());
                }
                i += 1;
            }
            lat
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    Stats {
        count: latencies.len() as u64,
        elapsed: start.elapsed(),
        latencies,
    }
}

async fn get_loop(base: &str, path: &str, conns: usize) -> Stats {
    let clients = (0..conns)
        .map(|_| {
            reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap()
        })
        .collect();
    get_loop_with(Arc::new(clients), format!("{base}{path}"), SECONDS).await
}

/// GETs `url` for `seconds`, one task per client (each its own cookies, so its own session).
async fn get_loop_with(clients: Arc<Vec<reqwest::Client>>, url: String, seconds: u64) -> Stats {
    hammer(clients.len(), seconds, move |w, _| {
        let (c, url) = (clients[w].clone(), url.clone());
        async move {
            c.get(url)
                .send()
                .await
                .map(|r| r.status() == 200)
                .unwrap_or(false)
        }
    })
    .await
}

/// The steps of a checkout, as timed by `checkout_timed`.
const STEPS: [&str; 6] = [
    "GET /login (token)",
    "POST /cart/items",
    "POST /checkout/customer",
    "POST /checkout/order",
    "POST pay (notify + production)",
    "GET /checkout/done",
];

type StepSink = Arc<std::sync::Mutex<Vec<[Duration; 6]>>>;

/// One complete purchase by a new customer; returns the bill's public id.
async fn checkout(
    base: &str,
    email: &str,
    code: &str,
    qty: &str,
) -> Option<(reqwest::Client, String)> {
    checkout_timed(base, email, code, qty, None).await
}

/// The same, recording the duration of each step in `sink`.
async fn checkout_timed(
    base: &str,
    email: &str,
    code: &str,
    qty: &str,
    sink: Option<&StepSink>,
) -> Option<(reqwest::Client, String)> {
    let mut steps = [Duration::ZERO; 6];
    let mut lap = Instant::now();
    let mut mark = |i: usize| {
        steps[i] = lap.elapsed();
        lap = Instant::now();
    };
    let c = buyer_client();
    let token = csrf(
        &c.get(format!("{base}/login"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?,
    );
    mark(0);
    post(
        &c,
        format!("{base}/cart/items"),
        &[("code", code), ("quantity", qty), ("csrf_token", &token)],
    )
    .await;
    mark(1);
    let details = [
        ("firstname", "Load"),
        ("lastname", "Test"),
        ("email", email),
        ("organisation", "Bench"),
        ("address", "1 rue"),
        ("zip", "75001"),
        ("city", "Paris"),
        ("country", "FR"),
        ("csrf_token", &token),
    ];
    post(&c, format!("{base}/checkout/customer"), &details).await;
    mark(2);
    let placed = post(
        &c,
        format!("{base}/checkout/order"),
        &[
            ("accept_terms", "1"),
            ("paymode", "test"),
            ("csrf_token", &token),
        ],
    )
    .await;
    mark(3);
    let gateway = placed.headers().get("location")?.to_str().ok()?.to_owned();
    let public_id = gateway.trim_start_matches("/payment/test/").to_owned();
    let paid = post(
        &c,
        format!("{base}{gateway}/pay"),
        &[("csrf_token", &token)],
    )
    .await;
    mark(4);
    let done = paid.headers().get("location")?.to_str().ok()?.to_owned();
    let page = c
        .get(format!("{base}{done}"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    mark(5);
    if let Some(sink) = sink
        && let Ok(mut all) = sink.lock()
    {
        all.push(steps);
    }
    page.contains("unassigned seats").then_some((c, public_id))
}

/// 16 new buyers buying one seat pack each, again and again, for `SECONDS`.
async fn checkout_load(
    base: &str,
    tag: &'static str,
    counter: &Arc<AtomicU64>,
    steps: Option<&StepSink>,
) -> Stats {
    let (base, counter, steps) = (base.to_owned(), Arc::clone(counter), steps.cloned());
    hammer(16, SECONDS, move |w, i| {
        let (base, n, sink) = (
            base.clone(),
            counter.fetch_add(1, Ordering::Relaxed),
            steps.clone(),
        );
        async move {
            checkout_timed(
                &base,
                &format!("buyer{tag}{w}-{i}-{n}@bench.example.org"),
                "A51-1123K-FI",
                "1",
                sink.as_ref(),
            )
            .await
            .is_some()
        }
    })
    .await
}

/// The same 16 buyers, buyer `w` sent to `bases[w % bases.len()]`: the load split evenly
/// between instances, as a round-robin balancer would with sticky connections.
async fn checkout_load_split(
    bases: &[String],
    tag: &'static str,
    counter: &Arc<AtomicU64>,
) -> Stats {
    let (bases, counter) = (Arc::new(bases.to_vec()), Arc::clone(counter));
    hammer(16, SECONDS, move |w, i| {
        let (base, n) = (
            bases[w % bases.len()].clone(),
            counter.fetch_add(1, Ordering::Relaxed),
        );
        async move {
            checkout(
                &base,
                &format!("buyer{tag}{w}-{i}-{n}@bench.example.org"),
                "A51-1123K-FI",
                "1",
            )
            .await
            .is_some()
        }
    })
    .await
}

/// Checkouts on one instance, then on two, on one database, back to back.
struct Instances {
    one: Stats,
    two: Stats,
    cpu_one: String,
    cpu_two: String,
}

impl Instances {
    fn row(&self, share: &dyn Fn(f64) -> String) -> String {
        format!(
            "| complete checkouts, 1 instance → 2 instances on one database (16 buyers split evenly) | {:.1} /s (p50 {:.1} ms) → {:.1} /s (p50 {:.1} ms), ×{:.2} | {} → {} of requests | — |",
            self.one.rate(),
            self.one.pct(0.5),
            self.two.rate(),
            self.two.pct(0.5),
            self.two.rate() / self.one.rate().max(f64::MIN_POSITIVE),
            share(self.one.rate() * 7.0),
            share(self.two.rate() * 7.0)
        )
    }
}

/// Two servers (default settings) on `db_url`, both running during both measures: the
/// checkout load on the first alone, then split between the two.
async fn instances(db_url: &str, counter: &Arc<AtomicU64>) -> Instances {
    let (child, base_one) = spawn(&[("DATABASE_URL", db_url.to_owned())]);
    let first = Server {
        child,
        base: base_one,
    };
    let (child, base_two) = spawn(&[("DATABASE_URL", db_url.to_owned())]);
    let second = Server {
        child,
        base: base_two,
    };
    wait_up(&first.base).await;
    wait_up(&second.base).await;
    let pids = [first.child.id(), second.child.id()];
    let cpu = || {
        let c = pids.map(Cpu::now);
        Cpu {
            server: c[0].server + c[1].server,
            postgres: c[0].postgres,
            load: c[0].load,
        }
    };
    let before = cpu();
    let one = checkout_load_split(std::slice::from_ref(&first.base), "one-", counter).await;
    let cpu_one = cpu().per(before, one.count);
    let before = cpu();
    let two =
        checkout_load_split(&[first.base.clone(), second.base.clone()], "two-", counter).await;
    let cpu_two = cpu().per(before, two.count);
    Instances {
        one,
        two,
        cpu_one,
        cpu_two,
    }
}

/// p50 of each checkout step, in milliseconds.
fn step_medians(sink: &StepSink) -> Vec<(&'static str, f64)> {
    let all = sink.lock().map(|a| a.clone()).unwrap_or_default();
    (0..STEPS.len())
        .map(|i| {
            let mut v: Vec<Duration> = all.iter().map(|s| s[i]).collect();
            v.sort();
            (
                STEPS[i],
                v.get(v.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1000.0),
            )
        })
        .collect()
}

#[tokio::main]
async fn main() {
    // `cargo test --all-targets` runs this target too; only `cargo bench` passes `--bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("load benchmark skipped (run it with scripts/bench.sh)");
        return;
    }
    let server_url =
        std::env::var("BENCH_DATABASE_URL").expect("BENCH_DATABASE_URL: use scripts/bench.sh");
    let db_name = format!("bench_{}", std::process::id());
    let mut admin = PgConnection::connect(&server_url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {db_name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let db_url = server_url.replacen("/postgres?", &format!("/{db_name}?"), 1);

    // `BENCH_ONLY=instances`: only the 1-vs-2-instance measure (about 30 s), for a quick look.
    if std::env::var("BENCH_ONLY").as_deref() == Ok("instances") {
        let db = sqlx::PgPool::connect(&db_url).await.unwrap();
        lms_shop::startup::migrate(&db).await.unwrap();
        lms_shop::demo::seed(&db).await.unwrap();
        let result = instances(&db_url, &Arc::new(AtomicU64::new(0))).await;
        println!("| measure | figure | share of /ping | target |");
        println!("|---|---|---|---|");
        println!("{}", result.row(&|_| "—".to_owned()));
        println!(
            "\nCPU per checkout: 1 instance: {}; 2 instances: {}",
            result.cpu_one, result.cpu_two
        );
        db.close().await;
        let _ = sqlx::query(&format!("DROP DATABASE {db_name} WITH (FORCE)"))
            .execute(&mut admin)
            .await;
        return;
    }

    // ---- start-up times of the embedded default (fresh data dir, then existing)
    let data_dir = std::env::temp_dir().join(format!("lms-shop-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut startup = Vec::new();
    for label in ["fresh data dir", "existing data dir"] {
        let t = Instant::now();
        let (mut child, base) = spawn(&[("SHOP_DATA_DIR", data_dir.display().to_string())]);
        wait_up(&base).await;
        startup.push((label, t.elapsed()));
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        child.wait().unwrap();
    }
    let _ = std::fs::remove_dir_all(&data_dir);

    // ---- the server under test, on an external database
    let (child, base) = spawn(&[
        ("DATABASE_URL", db_url.clone()),
        // One address stands for thousands of buyers here.
        ("SHOP_CHECKOUT_PROBE_LIMIT", "1000000".into()),
        ("SHOP_ADMIN_EMAIL", "bench@example.org".into()),
        ("SHOP_ADMIN_PASSWORD", "bench-password-1".into()),
    ]);
    let server = Server { child, base };
    wait_up(&server.base).await;
    let pid = server.child.id();
    let db = sqlx::PgPool::connect(&db_url).await.unwrap();
    lms_shop::demo::seed(&db).await.unwrap();
    sqlx::query("INSERT INTO courses (shortname, fullname) SELECT 'BENCH-' || g, 'Bench course ' || g FROM generate_series(1, 20) g").execute(&db).await.unwrap();
    let big = "INSERT INTO products (code, name, price1, handler, handler_params, status)
               VALUES ('BENCH-BIG', 'Ten-seat pack', 100, 'std_generateseats', 'courselist=BENCH-%25&packsize=10&supervisor=teacher', 'available')";
    sqlx::query(big).execute(&db).await.unwrap();
    let peak_rss = Arc::new(AtomicU64::new(rss_kib(pid)));
    let sampler = {
        let peak = Arc::clone(&peak_rss);
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let base = server.base.clone();

    let ping = get_loop(&base, "/ping", 32).await;
    let cpu_before_shop = Cpu::now(pid);
    let shop = get_loop(&base, "/shop", 32).await;
    let cpu_shop = Cpu::now(pid).per(cpu_before_shop, shop.count);

    let counter = Arc::new(AtomicU64::new(0));
    let steps: StepSink = Arc::default();
    let cpu_before_checkouts = Cpu::now(pid);
    let checkouts = checkout_load(&base, "", &counter, Some(&steps)).await;
    let cpu_checkouts = Cpu::now(pid).per(cpu_before_checkouts, checkouts.count);

    // One 10 000-seat order (1 000 × packs of 10); production time from the bill's own clock.
    let (owner, public_id) = checkout(&base, "big@bench.example.org", "BENCH-BIG", "1000")
        .await
        .expect("big order");
    let production: f64 = sqlx::query_scalar("SELECT EXTRACT(EPOCH FROM (completed_at - paid_at))::float8 FROM bills WHERE public_id = $1")
        .bind(&public_id)
        .fetch_one(&db)
        .await
        .unwrap();

    // /customer for the customer holding those 10 000 seats (their session is signed in).
    let owner = Arc::new(owner);
    let mut alone = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        owner
            .get(format!("{base}/customer"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        alone.push(t.elapsed());
    }
    let alone = Stats {
        count: 20,
        elapsed: alone.iter().sum(),
        latencies: alone,
    };
    // Eight browsers of that customer, each with its own session (one session shared by eight
    // parallel connections would only measure the lock on its row). The password is chosen
    // once, through a set-password link (choosing it ends every other session of the user,
    // the purchase's sign-in above included); the seven others log in with it, each from its
    // own address (the login throttle counts per account and client).
    let big_user: i64 =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'big@bench.example.org'")
            .fetch_one(&db)
            .await
            .unwrap();
    let mut browsers = Vec::new();
    for n in 0..8 {
        let c = buyer_client();
        let token = csrf(
            &c.get(format!("{base}/login"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
        let r = if n == 0 {
            let link = lms_shop::store::tokens::issue(&db, big_user).await.unwrap();
            post(
                &c,
                format!("{base}/password/set/{link}"),
                &[
                    ("password", "big-customer-1"),
                    ("confirm", "big-customer-1"),
                    ("csrf_token", &token),
                ],
            )
            .await
        } else {
            post(
                &c,
                format!("{base}/login"),
                &[
                    ("email", "big@bench.example.org"),
                    ("password", "big-customer-1"),
                    ("csrf_token", &token),
                ],
            )
            .await
        };
        assert_eq!(r.status(), 303);
        browsers.push(c);
    }
    let browsers = Arc::new(browsers);
    let cpu_before_customer = Cpu::now(pid);
    let customer = get_loop_with(Arc::clone(&browsers), format!("{base}/customer"), SECONDS).await;
    let cpu_customer = Cpu::now(pid).per(cpu_before_customer, customer.count);
    let cpu_before_last_page = Cpu::now(pid);
    let customer_last_page = get_loop_with(
        Arc::clone(&browsers),
        format!("{base}/customer?page=200"),
        3,
    )
    .await;
    let cpu_last_page = Cpu::now(pid).per(cpu_before_last_page, customer_last_page.count);

    // The bill's document, as the page and as the PDF (font subset and layout per request).
    let document_url = format!("{base}/customer/bills/{public_id}");
    let cpu_before_document = Cpu::now(pid);
    let document = get_loop_with(Arc::clone(&browsers), document_url.clone(), 3).await;
    let cpu_document = Cpu::now(pid).per(cpu_before_document, document.count);
    let cpu_before_pdf = Cpu::now(pid);
    let pdf = get_loop_with(
        Arc::clone(&browsers),
        format!("{document_url}/document.pdf"),
        3,
    )
    .await;
    let cpu_pdf = Cpu::now(pid).per(cpu_before_pdf, pdf.count);

    // Seat assignments: distinct seats, distinct new learners, 16 at a time.
    let refs: Arc<Vec<String>> = Arc::new(
        sqlx::query_scalar("SELECT pi.reference FROM product_instances pi JOIN bills b ON b.id = pi.bill_id WHERE b.public_id = $1 ORDER BY pi.id")
            .bind(&public_id)
            .fetch_all(&db)
            .await
            .unwrap(),
    );
    let course: i64 = sqlx::query_scalar("SELECT id FROM courses WHERE shortname = 'BENCH-1'")
        .fetch_one(&db)
        .await
        .unwrap();
    // Choosing the password ended the purchase's sign-in (every other session of the user
    // ends): assignments come from a browser signed in with the password.
    let owner = Arc::new(browsers[0].clone());
    let token = csrf(
        &owner
            .get(format!("{base}/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let next = Arc::new(AtomicU64::new(0));
    let cpu_before_assignments = Cpu::now(pid);
    let assignments = {
        let (owner, base, refs, next, course) = (
            Arc::clone(&owner),
            base.clone(),
            Arc::clone(&refs),
            Arc::clone(&next),
            course.to_string(),
        );
        hammer(16, SECONDS, move |_, _| {
            let i = next.fetch_add(1, Ordering::Relaxed) as usize;
            let (c, base, refs, token, course) = (
                Arc::clone(&owner),
                base.clone(),
                Arc::clone(&refs),
                token.clone(),
                course.clone(),
            );
            async move {
                let Some(reference) = refs.get(i) else {
                    // Every seat is taken: let the clock run (a loop that never awaits would
                    // starve the timer that ends the measure).
                    tokio::task::yield_now().await;
                    return false;
                };
                let email = format!("learner{i}@bench.example.org");
                let r = c
                    .post(format!("{base}/customer/products/{reference}/assign"))
                    .form(&[
                        ("course", course.as_str()),
                        ("email", &email),
                        ("firstname", "L"),
                        ("lastname", "B"),
                        ("csrf_token", &token),
                    ])
                    .send()
                    .await;
                r.map(|r| r.status() == 303).unwrap_or(false)
            }
        })
        .await
    };
    let cpu_assignments = Cpu::now(pid).per(cpu_before_assignments, assignments.count);
    sampler.abort();

    // The same checkout load, in the same run, on a second server whose pools hold 32
    // connections (the former default): what the pool size is worth.
    drop(server);
    let (child, base32) = spawn(&[
        ("DATABASE_URL", db_url.clone()),
        // One address stands for thousands of buyers here.
        ("SHOP_CHECKOUT_PROBE_LIMIT", "1000000".into()),
        ("SHOP_DB_CONNECTIONS", "32".into()),
    ]);
    let server = Server {
        child,
        base: base32,
    };
    wait_up(&server.base).await;
    let checkouts_32 = checkout_load(&server.base, "p32-", &counter, None).await;
    // And on a third whose session writes do not wait for the WAL flush (the setting before
    // issue 17): what durable sessions cost.
    drop(server);
    let (child, base_async) = spawn(&[
        ("DATABASE_URL", db_url.clone()),
        // One address stands for thousands of buyers here.
        ("SHOP_CHECKOUT_PROBE_LIMIT", "1000000".into()),
        ("SHOP_SESSIONS_ASYNC_COMMIT", "1".into()),
    ]);
    let server = Server {
        child,
        base: base_async,
    };
    wait_up(&server.base).await;
    let checkouts_async = checkout_load(&server.base, "async-", &counter, None).await;
    drop(server);
    let instances = instances(&db_url, &counter).await;
    let rss_mib = peak_rss.load(Ordering::Relaxed) as f64 / 1024.0;

    let ceiling = ping.rate();
    let share = |r: f64| format!("{:.1} %", 100.0 * r / ceiling);
    println!(
        "\nlms-shop load benchmark ({} s per measure, release build, loopback, {} cores)\n",
        SECONDS,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    println!("| measure | figure | share of /ping | target |");
    println!("|---|---|---|---|");
    println!(
        "| /ping (trivial handler, 32 conns) | {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms | 100 % | ceiling |",
        ping.rate(),
        ping.pct(0.5),
        ping.pct(0.99)
    );
    println!(
        "| /shop (32 conns) | {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms | {} | ≥ 10 000 req/s, p99 < 20 ms |",
        shop.rate(),
        shop.pct(0.5),
        shop.pct(0.99),
        share(shop.rate())
    );
    println!(
        "| complete checkouts (16 buyers, 7 requests each; default pools) | {:.1} /s, p50 {:.1} ms, p99 {:.1} ms | {} of requests | ≥ 300 /s |",
        checkouts.rate(),
        checkouts.pct(0.5),
        checkouts.pct(0.99),
        share(checkouts.rate() * 7.0)
    );
    println!(
        "| complete checkouts, 32 connections per pool (the former default) | {:.1} /s, p50 {:.1} ms, p99 {:.1} ms | {} of requests | — |",
        checkouts_32.rate(),
        checkouts_32.pct(0.5),
        checkouts_32.pct(0.99),
        share(checkouts_32.rate() * 7.0)
    );
    println!(
        "| complete checkouts, session writes not waiting for the WAL flush (before issue 17) | {:.1} /s, p50 {:.1} ms, p99 {:.1} ms | {} of requests | — |",
        checkouts_async.rate(),
        checkouts_async.pct(0.5),
        checkouts_async.pct(0.99),
        share(checkouts_async.rate() * 7.0)
    );
    println!("{}", instances.row(&share));
    println!(
        "| seat assignments (16 at a time) | {:.1} /s, p50 {:.1} ms, p99 {:.1} ms | {} | — |",
        assignments.rate(),
        assignments.pct(0.5),
        assignments.pct(0.99),
        share(assignments.rate())
    );
    println!(
        "| production of one 10 000-seat order | {:.0} ms | — | < 1 s |",
        production * 1000.0
    );
    println!(
        "| /customer, 10 000 seats, page 1 (8 conns) | {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms | {} | p99 < 50 ms |",
        customer.rate(),
        customer.pct(0.5),
        customer.pct(0.99),
        share(customer.rate())
    );
    println!(
        "| /customer, 10 000 seats, one request at a time | p50 {:.2} ms, p99 {:.2} ms | — | — |",
        alone.pct(0.5),
        alone.pct(0.99)
    );
    println!(
        "| /customer, 10 000 seats, page 200 (8 conns) | {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms | {} | p99 < 50 ms |",
        customer_last_page.rate(),
        customer_last_page.pct(0.5),
        customer_last_page.pct(0.99),
        share(customer_last_page.rate())
    );
    for (label, stats) in [
        ("invoice page (8 conns)", &document),
        ("invoice PDF (8 conns)", &pdf),
    ] {
        println!(
            "| {label} | {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms | {} | — |",
            stats.rate(),
            stats.pct(0.5),
            stats.pct(0.99),
            share(stats.rate())
        );
    }
    println!("| server peak RSS under load | {rss_mib:.1} MiB | — | < 100 MB |");
    for (label, t) in startup {
        println!(
            "| start to first answer, embedded, {label} | {:.0} ms | — | — |",
            t.as_secs_f64() * 1000.0
        );
    }
    println!("\nCPU time per operation, by process (2 cores shared by all three):\n");
    println!("| operation | CPU |");
    println!("|---|---|");
    for (op, cpu) in [
        ("GET /shop", cpu_shop),
        ("complete checkout", cpu_checkouts),
        (
            "complete checkout, 1 instance (a second one idle)",
            instances.cpu_one.clone(),
        ),
        (
            "complete checkout, 2 instances (server = both)",
            instances.cpu_two.clone(),
        ),
        ("seat assignment", cpu_assignments),
        ("GET /customer, page 1", cpu_customer),
        ("GET /customer, page 200", cpu_last_page),
        ("invoice page", cpu_document),
        ("invoice PDF", cpu_pdf),
    ] {
        println!("| {op} | {cpu} |");
    }
    println!("\ncheckout steps under load (p50 of each, 16 buyers):\n");
    println!("| step | p50 |");
    println!("|---|---|");
    for (step, ms) in step_medians(&steps) {
        println!("| {step} | {ms:.1} ms |");
    }
    db.close().await;
    if std::env::var("BENCH_KEEP_DB").is_err() {
        let _ = sqlx::query(&format!("DROP DATABASE {db_name} WITH (FORCE)"))
            .execute(&mut admin)
            .await;
    }
}
