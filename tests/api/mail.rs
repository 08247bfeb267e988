//! The outbox worker against a minimal SMTP server of our own on loopback.

use std::time::{Duration, Instant};

use crate::fake_smtp::fake_smtp;
use crate::helpers::*;

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_worker_delivers_over_smtp_and_retries_a_temporary_failure() {
    let app = spawn_app().await;
    let (port, received) = fake_smtp(1).await;
    let (stop, rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(lms_shop::mail::worker::run(
        app.state.clone(),
        format!("smtp://127.0.0.1:{port}"),
        rx,
    ));
    lms_shop::store::outbox::enqueue(
        &app.db,
        "someone@example.org",
        "Hello",
        "First line\nhttp://x/y",
    )
    .await
    .unwrap();
    app.state.mail_queued.notify_one();
    // The first attempt gets a 451: recorded, and scheduled for later.
    wait_until("the failed attempt", async || app.count("SELECT count(*) FROM outbox WHERE attempts = 1 AND sent_at IS NULL AND last_error IS NOT NULL").await == 1).await;
    assert!(
        app.count("SELECT count(*) FROM outbox WHERE next_attempt_at > now()")
            .await
            == 1,
        "backoff scheduled"
    );
    // Time passes (the backoff is minutes; the test moves the clock of the row instead).
    sqlx::query("UPDATE outbox SET next_attempt_at = now()")
        .execute(&app.db)
        .await
        .unwrap();
    app.state.mail_queued.notify_one();
    wait_until("delivery", async || {
        app.count("SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL")
            .await
            == 1
    })
    .await;
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert!(
        got[0].contains("Subject: Hello") && got[0].contains("http://x/y"),
        "{got:?}"
    );
    stop.send(true).unwrap();
    worker.await.unwrap();
}

#[tokio::test]
async fn two_workers_never_send_a_message_twice() {
    let app = spawn_app().await;
    let (port, received) = fake_smtp(0).await;
    for i in 0..60 {
        lms_shop::store::outbox::enqueue(
            &app.db,
            &format!("r{i}@example.org"),
            &format!("Message {i}"),
            "body",
        )
        .await
        .unwrap();
    }
    let (stop, rx) = tokio::sync::watch::channel(false);
    let url = format!("smtp://127.0.0.1:{port}");
    let a = tokio::spawn(lms_shop::mail::worker::run(
        app.state.clone(),
        url.clone(),
        rx.clone(),
    ));
    let b = tokio::spawn(lms_shop::mail::worker::run(app.state.clone(), url, rx));
    wait_until("all 60 sent", async || {
        app.count("SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL")
            .await
            == 60
    })
    .await;
    stop.send(true).unwrap();
    a.await.unwrap();
    b.await.unwrap();
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 60, "each message exactly once");
    let subjects: std::collections::HashSet<String> = got
        .iter()
        .filter_map(|m| {
            m.lines()
                .find(|l| l.starts_with("Subject:"))
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(subjects.len(), 60);
}
