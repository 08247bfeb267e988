//! The binary's embedded-PostgreSQL mode, end to end: first run, second instance refused,
//! clean stop, restart keeps the data.

#[path = "support/port.rs"]
mod port;
use port::free_port;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Shop {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

fn start(data_dir: &std::path::Path, port: u16) -> Shop {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lms-shop"))
        .env_remove("DATABASE_URL")
        .env("SHOP_DATA_DIR", data_dir)
        .env("SHOP_BIND", format!("127.0.0.1:{port}"))
        .env("SHOP_ADMIN_EMAIL", "boss@example.org")
        .env("SHOP_ADMIN_PASSWORD", "boss-password-123")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    Shop { child, lines: rx }
}

impl Shop {
    /// Lines printed until one contains `needle` (panics after 90 s).
    fn wait_for(&self, needle: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                let done = line.contains(needle);
                seen.push(line);
                if done {
                    return seen;
                }
            }
        }
        panic!("never printed {needle:?}; got {seen:?}");
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "shop did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// PostgreSQL processes whose command line names this data directory.
fn postgres_processes(data_dir: &std::path::Path) -> usize {
    let needle = data_dir.to_string_lossy().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains("postgres") && c.contains(&needle))
        .count()
}

async fn login_works(port: u16, email: &str, password: &str) -> bool {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let page = client
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let res = client
        .post(format!("{base}/login"))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    if res.status() != 303 {
        return false;
    }
    client
        .get(format!("{base}/admin"))
        .send()
        .await
        .unwrap()
        .status()
        == 200
}

#[tokio::test]
async fn embedded_database_lifecycle() {
    let dir = std::env::temp_dir().join(format!("lms-shop-embedded-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = free_port();

    // First run: initialises the cluster, loads the demo, prints the generated operator.
    let shop = start(&dir, port);
    let printed = shop.wait_for("lms-shop is running at");
    let creds_line = shop.wait_for("operator login (shown once)").pop().unwrap();
    let creds = creds_line
        .split("(shown once): ")
        .nth(1)
        .unwrap()
        .split("  ->")
        .next()
        .unwrap();
    let (email, password) = creds.split_once(" / ").unwrap();
    let body = reqwest::get(format!("http://127.0.0.1:{port}/shop"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("A51-1123K-FI"),
        "demo catalogue served; printed {printed:?}"
    );
    assert!(
        login_works(port, email, password).await,
        "printed operator can log in"
    );
    assert!(
        login_works(port, "boss@example.org", "boss-password-123").await,
        "SHOP_ADMIN_* operator exists"
    );

    // A second instance on the same data directory is refused with a clear message.
    let second = start(&dir, free_port());
    let said = second.wait_for("already in use");
    assert!(said.iter().any(|l| l.contains("already in use")));
    let status = second.terminate();
    assert!(!status.success());

    // SIGTERM stops the shop and its PostgreSQL.
    assert!(postgres_processes(&dir) > 0);
    assert!(shop.terminate().success());
    assert_eq!(postgres_processes(&dir), 0, "no PostgreSQL left behind");

    // Restart: data kept, no new credentials printed.
    let shop = start(&dir, port);
    let printed = shop.wait_for("lms-shop is running at");
    assert!(
        login_works(port, email, password).await,
        "data survived the restart"
    );
    std::thread::sleep(Duration::from_millis(300));
    let more: Vec<String> = shop.lines.try_iter().collect();
    assert!(
        !printed
            .iter()
            .chain(more.iter())
            .any(|l| l.contains("shown once")),
        "credentials are printed once only"
    );
    assert!(shop.terminate().success());
    assert_eq!(postgres_processes(&dir), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs a one-shot command of the binary on `data_dir`.
fn cli(data_dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lms-shop"))
        .env_remove("DATABASE_URL")
        .env("SHOP_DATA_DIR", data_dir)
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap()
}

fn said(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn backup_and_restore_round_trip() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("lms-shop-backup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let files = std::env::temp_dir().join(format!("lms-shop-backups-{}", std::process::id()));
    std::fs::create_dir_all(&files).unwrap();
    let (online, offline) = (files.join("online.dump"), files.join("offline.dump"));
    let port = free_port();

    // Backup of a running shop; restore is refused while it runs.
    let shop = start(&dir, port);
    shop.wait_for("lms-shop is running at");
    let out = cli(&dir, &["backup", online.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", said(&out));
    let mode = std::fs::metadata(&online).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the backup holds secrets: owner only");
    let out = cli(&dir, &["restore", online.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    assert!(said(&out).contains("is running"), "{}", said(&out));
    assert!(shop.terminate().success());

    // Change the data, then back it up with the shop stopped.
    let out = cli(
        &dir,
        &["add-operator", "later@example.org"],
        &[("SHOP_OPERATOR_PASSWORD", "later-password-1")],
    );
    assert!(out.status.success(), "{}", said(&out));
    let out = cli(&dir, &["backup", offline.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", said(&out));

    // A damaged file is refused and leaves the data as it was.
    let garbage = files.join("garbage.dump");
    std::fs::write(&garbage, b"PGDMP this is not a dump").unwrap();
    let out = cli(&dir, &["restore", garbage.to_str().unwrap()], &[]);
    assert!(!out.status.success(), "{}", said(&out));

    // Back to the first backup: the operator added after it is gone, the others are there.
    let out = cli(&dir, &["restore", online.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", said(&out));
    let shop = start(&dir, port);
    shop.wait_for("lms-shop is running at");
    assert!(login_works(port, "boss@example.org", "boss-password-123").await);
    assert!(!login_works(port, "later@example.org", "later-password-1").await);
    assert!(shop.terminate().success());

    // And forward to the second one.
    let out = cli(&dir, &["restore", offline.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", said(&out));
    let shop = start(&dir, port);
    shop.wait_for("lms-shop is running at");
    assert!(login_works(port, "later@example.org", "later-password-1").await);
    assert!(shop.terminate().success());
    assert_eq!(postgres_processes(&dir), 0);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&files);
}

/// As root, a data directory inside a private one (a clone under `/root`): the cluster runs as
/// `postgres`, which cannot enter it, so it lives under /var/lib/lms-shop behind symlinks.
/// Start, backup, restart, and the README's reset (remove the data directory) all work.
#[tokio::test]
async fn root_runs_a_data_directory_postgres_cannot_enter() {
    use std::os::unix::fs::PermissionsExt;
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("not root: the cluster runs as this user, nothing to relocate");
        return;
    }
    let home = std::env::temp_dir().join(format!("lms-shop-home-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    let dir = home.join("clone").join("data");
    let port = free_port();

    let shop = start(&dir, port);
    let printed = shop.wait_for("lms-shop is running at");
    assert!(
        printed.iter().all(|l| !l.contains("Permission denied")),
        "{printed:?}"
    );
    let cluster = std::fs::read_link(dir.join("pg")).expect("pg is a link to the real cluster");
    assert!(cluster.starts_with("/var/lib/lms-shop"), "{cluster:?}");
    assert!(login_works(port, "boss@example.org", "boss-password-123").await);
    let dump = home.join("shop.dump");
    let out = cli(&dir, &["backup", dump.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(shop.terminate().success());
    assert_eq!(postgres_processes(&cluster), 0, "no PostgreSQL left behind");

    // Restart keeps the data, printing no new credentials.
    let shop = start(&dir, port);
    let printed = shop.wait_for("lms-shop is running at");
    assert!(!printed.iter().any(|l| l.contains("shown once")));
    assert!(shop.terminate().success());

    // Reset: the data directory goes, the next start is a fresh shop on a fresh cluster.
    std::fs::remove_dir_all(&dir).unwrap();
    let shop = start(&dir, port);
    shop.wait_for("operator login (shown once)");
    assert!(shop.terminate().success());
    assert_eq!(std::fs::read_link(dir.join("pg")).unwrap(), cluster);
    // The earlier cluster was set aside beside it, not deleted (its link may have been lost
    // by accident), and the shop said where.
    let base = cluster.parent().unwrap();
    let digest = base.file_name().unwrap().to_string_lossy().into_owned();
    let aside: Vec<_> = std::fs::read_dir("/var/lib/lms-shop")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{digest}.stale-")))
        })
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(aside[0].join("pg/PG_VERSION").exists());
    for p in aside {
        let _ = std::fs::remove_dir_all(p);
    }
    let _ = std::fs::remove_dir_all(base);
    let _ = std::fs::remove_dir_all(&home);
}
