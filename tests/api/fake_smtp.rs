#![allow(dead_code)] // shared by the api and resilience suites
//! A minimal SMTP server of our own on loopback: it accepts mail and keeps what it got.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Accepts mail; the first `fail_first` transactions get a temporary failure (451).
pub async fn fake_smtp(fail_first: usize) -> (u16, Arc<Mutex<Vec<String>>>) {
    fake_smtp_with(fail_first, std::time::Duration::ZERO).await
}

/// Like [`fake_smtp`], taking `delay` to accept each message (a slow server).
pub async fn fake_smtp_with(
    fail_first: usize,
    delay: std::time::Duration,
) -> (u16, Arc<Mutex<Vec<String>>>) {
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
                            if !delay.is_zero() {
                                tokio::time::sleep(delay).await;
                            }
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

/// The `Message-ID` header of a received message.
pub fn message_id(message: &str) -> Option<String> {
    message.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("message-id")
            .then(|| value.trim().to_owned())
    })
}
