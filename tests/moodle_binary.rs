//! The `lms-shop` binary with LMS=moodle against the fake Moodle (run in this test process):
//! it refuses to start, saying why, when the token is wrong or the service lacks a function,
//! and on a good site it imports the courses before serving.

#[allow(dead_code)]
#[path = "api/fake_moodle.rs"]
mod fake_moodle;
#[path = "api/helpers.rs"]
mod helpers;
#[path = "support/port.rs"]
mod port;
#[path = "support/server.rs"]
mod server;

use std::process::Command;
use std::time::Duration;

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
    let fake = FakeMoodle::start().await;
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

    let said = refused_start(&db_url, "http://127.0.0.1:9", TOKEN).await;
    assert!(
        said.contains("cannot reach Moodle at MOODLE_URL http://127.0.0.1:9"),
        "{said}"
    );

    let port = port::free_port();
    let _shop = server::spawn_shop(
        &db_url,
        port,
        &[
            ("LMS", "moodle".into()),
            ("MOODLE_URL", fake.url.clone()),
            ("MOODLE_TOKEN", TOKEN.into()),
        ],
    );
    server::wait_healthy(&format!("http://127.0.0.1:{port}")).await;
    let courses: Vec<(String, bool)> = sqlx::query_as(
        "SELECT shortname, visible FROM courses WHERE moodle_id IS NOT NULL ORDER BY shortname",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(courses, vec![("M-1".into(), true), ("M-2".into(), false)]);
}
