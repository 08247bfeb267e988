//! The outbox worker against a minimal SMTP server of our own on loopback.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::helpers::*;

/// Accepts mail; the first `fail_first` transactions get a temporary failure (451).
async fn fake_smtp(fail_first: usize) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(Mutex::new(fail_first));
    let store = Arc::clone(&received);
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let (store, failures) = (Arc::clone(&store), Arc::clone(&failures));
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 fake ESMTP\r\n").await.unwrap();
                let mut data = None::<String>;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            // The guards end inside this block, before any await.
                            let reply: &[u8] = {
                                let mut left = failures.lock().unwrap();
                                if *left > 0 {
                                    *left -= 1;
                                    b"451 try again later\r\n"
                                } else {
                                    store.lock().unwrap().push(std::mem::take(body));
                                    b"250 queued\r\n"
                                }
                            };
                            data = None;
                            write.write_all(reply).await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 fake\r\n",
                        "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 ok\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go on\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            return;
                        }
                        _ => b"502 no\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, received)
}

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
