//! The `lms-shop` binary with LMS=moodle against the fake Moodle (run in this test process):
//! it refuses to start, saying why, when the token is wrong or the service lacks a function,
//! and on a good site it imports the courses before serving. Against a REAL Moodle: the shop
//! SIGKILLed after Moodle created a learner but before the shop heard it, then restarted,
//! leaves exactly one Moodle user, one enrolment and one group membership.

#[allow(dead_code)]
#[path = "support/db.rs"]
mod db;
#[allow(dead_code)]
#[path = "api/fake_moodle.rs"]
mod fake_moodle;
#[path = "api/helpers.rs"]
mod helpers;
#[path = "support/port.rs"]
mod port;
#[allow(dead_code)]
#[path = "support/real_moodle.rs"]
mod real_moodle;
#[path = "support/server.rs"]
mod server;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use fake_moodle::{FakeMoodle, TOKEN};

/// Runs the binary until it exits (it must, within 30 s); its stderr.
async fn refused_start(db_url: &str, moodle_url: &str, token: &str) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lms-shop"));
    cmd.env("DATABASE_URL", db_url)
        .env("SHOP_BIND", format!("127.0.0.1:{}", port::free_port()))
        .env("RUST_LOG", "error")
        .env("LMS", "moodle")
        .env("MOODLE_URL", moodle_url)
        .env("MOODLE_TOKEN", token);
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || cmd.output().unwrap()),
    )
    .await
    .expect("the shop must stop, not serve")
    .unwrap();
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn the_shop_refuses_a_bad_moodle_and_imports_the_courses_of_a_good_one() {
    let mut fake = FakeMoodle::start().await;
    fake.with(|m| {
        let training = m.categories[0].0;
        m.add_course("M-1", training, true);
        m.add_course("M-2", training, false);
    });
    let (db_url, db) = helpers::fresh_database().await;

    let said = refused_start(&db_url, &fake.url, "not-the-token").await;
    assert!(said.contains("MOODLE_TOKEN is not valid"), "{said}");
    assert!(said.contains("Invalid token - token not found"), "{said}");
    assert!(
        !said.contains("not-the-token"),
        "the token is never shown: {said}"
    );

    fake.with(|m| m.functions.retain(|f| f != "enrol_manual_enrol_users"));
    let said = refused_start(&db_url, &fake.url, TOKEN).await;
    assert!(
        said.contains("lacks these functions: enrol_manual_enrol_users"),
        "{said}"
    );
    fake.with(|m| m.functions.push("enrol_manual_enrol_users".into()));

    let said = refused_start(&db_url, "http://admin:secret@127.0.0.1:9", TOKEN).await;
    assert!(said.contains("must not carry a user or password"), "{said}");
    assert!(!said.contains("secret"), "{said}");

    let said = refused_start(&db_url, "http://127.0.0.1:9", TOKEN).await;
    assert!(
        said.contains("cannot reach Moodle at MOODLE_URL http://127.0.0.1:9"),
        "{said}"
    );

    let port = port::free_port();
    let env = [
        ("LMS", "moodle".into()),
        ("MOODLE_URL", fake.url.clone()),
        ("MOODLE_TOKEN", TOKEN.into()),
        ("MOODLE_ACTIVITY_SECONDS", "1".into()),
    ];
    let mut shop = server::spawn_shop(&db_url, port, &env);
    server::wait_healthy(&format!("http://127.0.0.1:{port}")).await;
    let courses: Vec<(String, bool)> = sqlx::query_as(
        "SELECT shortname, visible FROM courses WHERE moodle_id IS NOT NULL ORDER BY shortname",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(courses, vec![("M-1".into(), true), ("M-2".into(), false)]);

    // Restarted while Moodle is down for maintenance: a shop that has its courses starts
    // anyway (checkout and assignment queue their jobs), and imports again once Moodle is back.
    shop.kill();
    fake.stop();
    let _shop = server::spawn_shop(&db_url, port, &env);
    server::wait_healthy(&format!("http://127.0.0.1:{port}")).await;
    fake.restart().await;
    fake.with(|m| {
        let training = m.categories[0].0;
        m.add_course("M-3", training, true);
    });
    db::wait_for_zero(
        &db,
        "SELECT 1 - count(*) FROM courses WHERE shortname = 'M-3'",
        Duration::from_secs(30),
        "the import once Moodle is back",
    )
    .await;
}

/// Between the shop and Moodle. Once `trap` is armed, the answer to the next request that
/// calls `trap`'s function is read from Moodle and never passed on: Moodle did the work, the
/// shop never hears it. `sprung` tells when that happened.
struct HoldingProxy {
    port: u16,
    trap: Arc<Mutex<Option<&'static str>>>,
    sprung: Arc<AtomicBool>,
}

impl HoldingProxy {
    async fn start(moodle: &str) -> HoldingProxy {
        let upstream = moodle
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let trap: Arc<Mutex<Option<&'static str>>> = Arc::default();
        let sprung = Arc::new(AtomicBool::new(false));
        let (t, s) = (Arc::clone(&trap), Arc::clone(&sprung));
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (t, s) = (Arc::clone(&t), Arc::clone(&s));
                tokio::spawn(async move {
                    let (mut in_r, mut in_w) = inbound.into_split();
                    let (mut out_r, mut out_w) = outbound.into_split();
                    let caught = Arc::new(AtomicBool::new(false));
                    let caught_up = Arc::clone(&caught);
                    let up = tokio::spawn(async move {
                        let mut buf = vec![0u8; 64 * 1024];
                        while let Ok(n) = in_r.read(&mut buf).await {
                            if n == 0 {
                                break;
                            }
                            let chunk = String::from_utf8_lossy(&buf[..n]);
                            {
                                let mut armed = t.lock().unwrap();
                                if let Some(function) = *armed
                                    && chunk.contains(&format!("wsfunction={function}"))
                                {
                                    *armed = None;
                                    caught_up.store(true, Ordering::SeqCst);
                                }
                            }
                            if out_w.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    });
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = out_r.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        if caught.load(Ordering::SeqCst) {
                            s.store(true, Ordering::SeqCst);
                            // Hold the connection open, answer nothing.
                            std::future::pending::<()>().await;
                        }
                        if in_w.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    up.abort();
                });
            }
        });
        HoldingProxy { port, trap, sprung }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A browser on the spawned shop: cookies kept, redirects not followed.
struct Browser {
    base: String,
    http: reqwest::Client,
}

impl Browser {
    fn new(base: &str) -> Browser {
        Browser {
            base: base.to_owned(),
            http: helpers::client(),
        }
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let page = self
            .http
            .get(format!("{}/login", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let token = page
            .split("name=\"csrf_token\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap()
            .to_owned();
        let mut form = form.to_vec();
        form.push(("csrf_token", &token));
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        assert!(status == 303, "POST {path}: {status} {body}");
        assert!(
            !location.starts_with("/login"),
            "POST {path}: sent to {location}"
        );
        (status, location)
    }
}

#[tokio::test]
async fn a_shop_killed_after_moodle_acted_but_before_it_heard_makes_nothing_twice() {
    let Some(moodle) = real_moodle::RealMoodle::from_env().await else {
        return;
    };
    let proxy = HoldingProxy::start(&moodle.url).await;
    let (db_url, db) = helpers::fresh_database().await;
    let port = port::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let env = || {
        vec![
            ("LMS", "moodle".to_owned()),
            ("MOODLE_URL", proxy.url()),
            ("MOODLE_TOKEN", moodle.token.clone()),
            // The lease of a job is 8 call timeouts + 5 s: a dead worker's job waits 21 s.
            ("MOODLE_TIMEOUT_SECONDS", "2".to_owned()),
            ("SHOP_ADMIN_EMAIL", helpers::OPERATOR_EMAIL.to_owned()),
            ("SHOP_ADMIN_PASSWORD", helpers::OPERATOR_PASSWORD.to_owned()),
            ("PAYMENT_SECRET", "crash-secret".to_owned()),
        ]
    };
    let mut shop = server::spawn_shop(&db_url, port, &env());
    server::wait_healthy(&base).await;

    let operator = Browser::new(&base);
    operator
        .post(
            "/login",
            &[
                ("email", helpers::OPERATOR_EMAIL),
                ("password", helpers::OPERATOR_PASSWORD),
            ],
        )
        .await;
    operator
        .post(
            "/admin/products",
            &[
                ("code", "CRASH-PACK"),
                ("name", "Crash pack"),
                ("price1", "100"),
                ("handler", "std_generateseats"),
                (
                    "handlerparams",
                    "courselist=MOO-102&packsize=2&supervisor=teacher",
                ),
            ],
        )
        .await;
    let buyer = Browser::new(&base);
    buyer
        .post("/cart/items", &[("code", "CRASH-PACK"), ("quantity", "1")])
        .await;
    buyer
        .post(
            "/checkout/customer",
            &helpers::customer_form(&real_moodle::email("crash.buyer")),
        )
        .await;
    let (_, gateway) = buyer
        .post(
            "/checkout/order",
            &[("accept_terms", "1"), ("paymode", "test")],
        )
        .await;
    let (_, done_page) = buyer.post(&format!("{gateway}/pay"), &[]).await;
    // The confirmation page signs the buyer in to the customer space.
    let signed_in = buyer
        .http
        .get(format!("{base}{done_page}"))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    let done = "SELECT count(*) FROM bills WHERE state <> 'COMPLETE'";
    db::wait_for_zero(&db, done, Duration::from_secs(30), "production").await;
    let seat: String = sqlx::query_scalar("SELECT reference FROM product_instances LIMIT 1")
        .fetch_one(&db)
        .await
        .unwrap();
    let course: i64 = sqlx::query_scalar("SELECT id FROM courses WHERE shortname = 'MOO-102'")
        .fetch_one(&db)
        .await
        .unwrap();

    // Moodle creates the learner; the shop dies before it hears so.
    *proxy.trap.lock().unwrap() = Some("core_user_create_users");
    let learner = &real_moodle::email("crash.learner");
    buyer
        .post(
            &format!("/customer/products/{seat}/assign"),
            &[
                ("course", &course.to_string()),
                ("email", learner),
                ("firstname", "Crash"),
                ("lastname", "Learner"),
            ],
        )
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !proxy.sprung.load(Ordering::SeqCst) {
        assert!(
            std::time::Instant::now() < deadline,
            "no user creation seen"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shop.kill();
    assert_eq!(moodle.users(learner).await.len(), 1, "Moodle made the user");
    let open = "SELECT count(*) FROM lms_jobs WHERE state <> 'done'";
    assert!(db::count(&db, open).await > 0, "the shop never recorded it");

    // Restarted, the shop finishes the job: nothing twice in Moodle.
    let _shop = server::spawn_shop(&db_url, port, &env());
    server::wait_healthy(&base).await;
    db::wait_for_zero(&db, open, Duration::from_secs(180), "Moodle jobs").await;
    assert_eq!(moodle.users(learner).await.len(), 1);
    let moo102 = moodle.course("MOO-102").await;
    let enrolled: Vec<serde_json::Value> = moodle
        .enrolled(moo102)
        .await
        .into_iter()
        .filter(|u| u["email"] == learner.as_str())
        .collect();
    assert_eq!(enrolled.len(), 1);
    assert_eq!(
        moodle
            .enrolment_end(moo102, moodle.users(learner).await[0])
            .await
            .len(),
        1
    );
    let groups: Vec<&str> = enrolled[0]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert_eq!(groups, ["B0000000001"]);
}
