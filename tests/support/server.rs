//! Shared by the suites that run the real binary (`#[path]`): a shop server process, killed
//! (SIGKILL) when dropped, so a failing test leaves no shop running behind it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct ServerProcess(Child);

impl ServerProcess {
    /// SIGKILL, as a crash.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `lms-shop` on `db_url`, listening on `port`, with `env` on top. One loopback address
/// stands for every buyer of a test, so the checkout's per-client probe limit is lifted.
pub fn spawn_shop(db_url: &str, port: u16, env: &[(&str, String)]) -> ServerProcess {
    let child = Command::new(env!("CARGO_BIN_EXE_lms-shop"))
        .env("SHOP_CHECKOUT_PROBE_LIMIT", "1000000")
        .env("RUST_LOG", "error")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("DATABASE_URL", db_url)
        .env("SHOP_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    ServerProcess(child)
}

/// Waits until `base` answers its health check (a minute at most).
pub async fn wait_healthy(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{base} did not become healthy");
}
