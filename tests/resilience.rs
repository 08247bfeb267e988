//! Failure is tested, not assumed: the server killed with SIGKILL at random moments while
//! buyers pay, and PostgreSQL restarted under the running app.

#[path = "support/db.rs"]
mod db;
#[path = "support/port.rs"]
mod port;
#[path = "support/server.rs"]
mod server;
use db::{production_of, wait_for_zero};
use port::free_port;
use server::{ServerProcess, spawn_shop, wait_healthy};

#[path = "api/fake_smtp.rs"]
mod fake_smtp;
#[path = "api/helpers.rs"]
mod helpers;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use helpers::fresh_database;
use rand::Rng;
use reqwest::redirect::Policy;

const SECRET: &str = "crash-test-secret";

fn start_server(db_url: &str, port: u16) -> ServerProcess {
    start_server_with(db_url, port, &[])
}

fn start_server_with(db_url: &str, port: u16, env: &[(&str, String)]) -> ServerProcess {
    let mut env = env.to_vec();
    env.push(("PAYMENT_SECRET", SECRET.to_owned()));
    spawn_shop(db_url, port, &env)
}

fn csrf(body: &str) -> Option<String> {
    Some(
        body.split("name=\"csrf_token\" value=\"")
            .nth(1)?
            .split('"')
            .next()?
            .to_owned(),
    )
}

/// One checkout step by step; any step may hit a dead server, so each is retried until it
/// answers (as a browser user would press reload). Returns the bill's public id once paid.
async fn checkout(base: &str, n: usize) -> String {
    let email = format!("crash{n}@example.org");
    loop {
        let c = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let attempt = async {
            let token = csrf(
                &c.get(format!("{base}/login"))
                    .send()
                    .await
                    .ok()?
                    .text()
                    .await
                    .ok()?,
            )?;
            let added = c
                .post(format!("{base}/cart/items"))
                .form(&[
                    ("code", "A51-1123K-FI"),
                    ("quantity", "1"),
                    ("csrf_token", &token),
                ])
                .send()
                .await
                .ok()?;
            (added.status() == 303).then_some(())?;
            let details = [
                ("firstname", "Crash"),
                ("lastname", "Test"),
                ("email", email.as_str()),
                ("address", "1 rue"),
                ("zip", "75001"),
                ("city", "Paris"),
                ("country", "FR"),
                ("csrf_token", &token),
            ];
            let saved = c
                .post(format!("{base}/checkout/customer"))
                .form(&details)
                .send()
                .await
                .ok()?;
            (saved.status() == 303).then_some(())?;
            let placed = c
                .post(format!("{base}/checkout/order"))
                .form(&[
                    ("accept_terms", "1"),
                    ("paymode", "test"),
                    ("csrf_token", &token),
                ])
                .send()
                .await
                .ok()?;
            let gateway = placed.headers().get("location")?.to_str().ok()?.to_owned();
            Some(gateway.trim_start_matches("/payment/test/").to_owned())
        };
        let Some(public_id) = attempt.await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        // The provider: one signed notification, redelivered until the shop acknowledges it.
        let amount: i64 = 172_800; // 1 440.00 + 20 % VAT (demo catalogue)
        let (signature, body) = lms_shop::services::payment::notification(
            SECRET.as_bytes(),
            &public_id,
            amount,
            "EUR",
            true,
        );
        loop {
            let sent = reqwest::Client::new()
                .post(format!("{base}/payment/test/notify"))
                .header("x-signature", &signature)
                .body(body.clone())
                .timeout(Duration::from_secs(10))
                .send()
                .await;
            match sent {
                Ok(r) if r.status() == 200 => return public_id,
                Ok(r) if r.status().is_client_error() => {
                    panic!("notification refused: {}", r.status())
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }
}

#[tokio::test]
async fn two_hundred_paid_checkouts_survive_random_sigkills() {
    let (db_url, db) = fresh_database().await;
    lms_shop::demo::seed(&db).await.unwrap();
    lms_shop::operators::ensure(&db, "ops@example.org", "ops-password-1")
        .await
        .unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = Arc::new(std::sync::Mutex::new(start_server(&db_url, port)));
    wait_healthy(&base).await;

    let done = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    // Kills are paced by progress, not by the clock (a faster shop would otherwise finish
    // between two kills): one every 25-60 checkouts started, a few milliseconds later, so they
    // land at varied steps of the checkouts in flight.
    let killer = {
        let (server, done, kills, next, db_url, base) = (
            Arc::clone(&server),
            Arc::clone(&done),
            Arc::clone(&kills),
            Arc::clone(&next),
            db_url.clone(),
            base.clone(),
        );
        tokio::spawn(async move {
            let mut started_at_last_kill = 0;
            loop {
                let target = started_at_last_kill + rand::thread_rng().gen_range(25..60);
                while next.load(Ordering::Relaxed) < target && !done.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                if done.load(Ordering::Relaxed) {
                    return;
                }
                let delay = rand::thread_rng().gen_range(0..40);
                tokio::time::sleep(Duration::from_millis(delay)).await;
                {
                    let mut child = server.lock().unwrap();
                    child.kill();
                    kills.fetch_add(1, Ordering::Relaxed);
                    *child = start_server(&db_url, port);
                }
                started_at_last_kill = next.load(Ordering::Relaxed);
                wait_healthy(&base).await;
            }
        })
    };

    let mut buyers = Vec::new();
    for _ in 0..8 {
        let (next, base) = (Arc::clone(&next), base.clone());
        buyers.push(tokio::spawn(async move {
            let mut paid = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= 200 {
                    return paid;
                }
                paid.push(checkout(&base, n).await);
            }
        }));
    }
    let mut paid = Vec::new();
    for b in buyers {
        paid.extend(b.await.unwrap());
    }
    done.store(true, Ordering::Relaxed);
    killer.await.unwrap();
    wait_healthy(&base).await;
    assert!(
        kills.load(Ordering::Relaxed) >= 3,
        "the server was killed {} times",
        kills.load(Ordering::Relaxed)
    );
    assert_eq!(paid.len(), 200);

    // The recovery worker finishes what a kill interrupted.
    wait_for_zero(
        &db,
        "SELECT count(*) FROM bills WHERE state = 'PAID'",
        Duration::from_secs(60),
        "paid bills never produced",
    )
    .await;
    for public_id in &paid {
        let (state, seats, completions) = production_of(&db, public_id).await;
        assert_eq!(
            (state.as_str(), seats, completions),
            ("COMPLETE", 5, 1),
            "bill {public_id}"
        );
    }
    // Retried orders may leave unpaid bills behind; no paid bill is anything but complete.
    let not_complete: i64 = sqlx::query_scalar("SELECT count(*) FROM bills b WHERE state <> 'COMPLETE' AND EXISTS (SELECT 1 FROM payment_notifications n WHERE n.bill_id = b.id)")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(not_complete, 0);
    let total_seats: i64 = sqlx::query_scalar("SELECT count(*) FROM product_instances")
        .fetch_one(&db)
        .await
        .unwrap();
    let complete: i64 = sqlx::query_scalar("SELECT count(*) FROM bills WHERE state = 'COMPLETE'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(total_seats, complete * 5);
    let duplicate_enrolments: i64 = sqlx::query_scalar(
        "SELECT count(*) - count(DISTINCT (course_id, user_id)) FROM enrolments",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(duplicate_enrolments, 0);
    // Exactly one delivery mail per completed bill, one welcome mail per buyer, none lost.
    let delivered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE subject LIKE '%is delivered'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(delivered, complete);
    let per_buyer: Vec<(String, i64)> = sqlx::query_as("SELECT recipient, count(*) FROM outbox WHERE subject LIKE '%your account' GROUP BY recipient HAVING count(*) <> 1")
        .fetch_all(&db)
        .await
        .unwrap();
    assert!(per_buyer.is_empty(), "{per_buyer:?}");
    let welcomed: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT recipient) FROM outbox WHERE subject LIKE '%your account'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    let buyers: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT b.customer_id) FROM bills b WHERE b.state = 'COMPLETE'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(welcomed, buyers);
    server.lock().unwrap().kill();
    println!(
        "200 paid checkouts, {} SIGKILLs, {complete} complete bills, {total_seats} seats",
        kills.load(Ordering::Relaxed)
    );
}

#[tokio::test]
async fn the_app_answers_503_while_postgresql_restarts_and_recovers_alone() {
    let dir = std::env::temp_dir().join(format!("lms-shop-pg-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let pg = lms_shop::embedded_pg::EmbeddedPg::start(&dir).unwrap();
    lms_shop::embedded_pg::ensure_database(pg.url())
        .await
        .unwrap();
    let url = pg.url().to_owned();
    let db = lms_shop::startup::connect(&url, 8).await.unwrap();
    lms_shop::startup::migrate(&db).await.unwrap();
    let app = helpers::spawn_on(url.clone(), db.clone()).await;
    app.seat_catalogue().await;
    let c = reqwest::Client::new();
    assert_eq!(
        c.get(app.url("/healthz")).send().await.unwrap().status(),
        200
    );

    // Load in the background the whole time.
    let stop = Arc::new(AtomicBool::new(false));
    let statuses = Arc::new(std::sync::Mutex::new(Vec::new()));
    let load = {
        let (stop, statuses, url) = (
            Arc::clone(&stop),
            Arc::clone(&statuses),
            app.url("/checkout/done/no-such-bill"),
        );
        tokio::spawn(async move {
            let c = reqwest::Client::new();
            while !stop.load(Ordering::Relaxed) {
                if let Ok(r) = c.get(&url).send().await {
                    statuses.lock().unwrap().push(r.status().as_u16());
                }
            }
        })
    };

    // A browser with a session (its cart) as well as one without.
    let shopper = helpers::client();
    app.add_to_cart(&shopper, "X-PACK5", "1").await;

    pg.stop().unwrap();
    let during = c.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(during.status(), 503);
    // A page that needs the database, anonymous or with a session (read from the store).
    for (who, client, path) in [
        ("anonymous", &c, "/checkout/done/no-such-bill"),
        ("with a session", &shopper, "/cart"),
    ] {
        let started = Instant::now();
        let page = client.get(app.url(path)).send().await.unwrap();
        let took = started.elapsed();
        assert_eq!(page.status(), 503, "{who}");
        assert!(page.headers().get("retry-after").is_some(), "{who}");
        assert!(took < Duration::from_secs(1), "{who}: answered in {took:?}");
    }
    // The catalogue keeps its last copy: an anonymous visitor still browses the shop.
    let shop = c.get(app.url("/shop")).send().await.unwrap();
    assert_eq!(shop.status(), 200);
    assert!(shop.text().await.unwrap().contains("X-PACK5"));
    let page = c
        .get(app.url("/checkout/done/no-such-bill"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 503);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("cannot reach its database")
    );

    let pg = lms_shop::embedded_pg::EmbeddedPg::start(&dir).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if c.get(app.url("/healthz")).send().await.unwrap().status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the app did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Pages work again, from the same app process.
    assert_eq!(
        c.get(app.url("/checkout/done/no-such-bill"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    let seen = statuses.lock().unwrap().clone();
    assert!(
        seen.contains(&503) && seen.contains(&404),
        "load saw the outage and the recovery"
    );
    assert!(
        seen.iter().all(|s| *s == 503 || *s == 404),
        "no other answer under the outage: {:?}",
        seen.iter()
            .filter(|s| **s != 503 && **s != 404)
            .collect::<Vec<_>>()
    );
    app.stop().await;
    db.close().await;
    pg.stop().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn mail_under_a_kill_loop_goes_out_once_but_for_the_message_in_flight() {
    let (db_url, db) = fresh_database().await;
    for i in 0..150 {
        lms_shop::store::outbox::enqueue(
            &db,
            &format!("r{i}@example.org"),
            &format!("Message {i}"),
            "body",
        )
        .await
        .unwrap();
    }
    // A slow SMTP server: kills land while messages are being sent.
    let (smtp, received) = fake_smtp::fake_smtp_with(0, Duration::from_millis(15)).await;
    let port = free_port();
    let env = [
        ("SMTP_URL", format!("smtp://127.0.0.1:{smtp}")),
        ("SHOP_MAIL_LEASE_SECONDS", "2".to_owned()),
    ];
    let mut rng = rand::thread_rng();
    let kills = 12;
    for _ in 0..kills {
        let mut server = start_server_with(&db_url, port, &env);
        tokio::time::sleep(Duration::from_millis(rng.gen_range(300..900))).await;
        server.kill();
    }
    // The last instance finishes, leases of the killed ones included.
    let mut last = start_server_with(&db_url, port, &env);
    wait_for_zero(
        &db,
        "SELECT count(*) FROM outbox WHERE sent_at IS NULL",
        Duration::from_secs(120),
        "messages never sent",
    )
    .await;
    last.kill();
    let got = received.lock().unwrap().clone();
    let mut per_message = std::collections::HashMap::<String, usize>::new();
    for message in &got {
        let id = fake_smtp::message_id(message).expect("every message has a Message-ID");
        *per_message.entry(id).or_default() += 1;
    }
    assert_eq!(per_message.len(), 150, "every message delivered");
    let extra: usize = per_message.values().map(|n| n - 1).sum();
    assert!(
        extra <= kills,
        "{extra} extra deliveries for {kills} kills: at most the message in flight at each"
    );
    println!(
        "150 messages, {kills} SIGKILLs during delivery, {} deliveries ({extra} repeated)",
        got.len()
    );
}

/// A page fetched as a person would after an outage: reloaded while it answers 503 (pooled
/// connections to the crashed server fail once each).
async fn get_after_outage(
    app: &helpers::TestApp,
    browser: &reqwest::Client,
    path: &str,
) -> helpers::Page {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = app.get_with(browser, path).await;
        if page.status != 503 || Instant::now() > deadline {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_immediate_postgresql_crash_after_a_303_loses_no_checkout_step() {
    let dir = std::env::temp_dir().join(format!("lms-shop-pg-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut pg = lms_shop::embedded_pg::EmbeddedPg::start(&dir).unwrap();
    lms_shop::embedded_pg::ensure_database(pg.url())
        .await
        .unwrap();
    let url = pg.url().to_owned();
    let db = lms_shop::startup::connect(&url, 8).await.unwrap();
    lms_shop::startup::migrate(&db).await.unwrap();
    let app = helpers::spawn_on(url.clone(), db.clone()).await;
    app.seat_catalogue().await;

    for round in 0..3 {
        let buyer = helpers::client();
        // Each acknowledged step, then at once an immediate crash (no checkpoint, no flush).
        app.add_to_cart(&buyer, "X-PACK5", "1").await;
        pg.crash().unwrap();
        pg = lms_shop::embedded_pg::EmbeddedPg::start(&dir).unwrap();
        wait_healthy(&app.base).await;
        let cart = get_after_outage(&app, &buyer, "/cart").await;
        assert!(
            cart.body.contains("X-PACK5"),
            "round {round}: the cart line survived"
        );

        let details = app
            .post_with(
                &buyer,
                "/checkout/customer",
                &helpers::customer_form(&format!("durable{round}@example.org")),
            )
            .await;
        assert_eq!(details.status, 303, "{}", details.body);
        pg.crash().unwrap();
        pg = lms_shop::embedded_pg::EmbeddedPg::start(&dir).unwrap();
        wait_healthy(&app.base).await;
        let order = get_after_outage(&app, &buyer, "/checkout/order").await;
        assert_eq!(
            order.status,
            200,
            "round {round}: the customer step survived ({:?})",
            order.location()
        );
    }
    app.stop().await;
    db.close().await;
    pg.stop().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
