//! Builds and runs the application: database, migrations, state, workers, HTTP server.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use secrecy::ExposeSecret;
use sqlx::{Connection, PgPool};
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cache::CatalogueCache;
use crate::config::Config;
use crate::http;
use crate::mail;
use crate::security::throttle::LoginThrottle;
use crate::state::{AppState, Inner};
use crate::store::secrets;
use crate::store::sessions::Sessions;

/// How long a request waits for a database connection. While PostgreSQL is down a request
/// answers 503 within this, instead of hanging; in normal load a connection is free within
/// milliseconds.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Pool settings shared by both pools. sqlx pings every connection before lending it by
/// default: one more round trip for each query run on the pool. A connection that just
/// served a request is alive; only one idle for a while is checked (a dead one found later
/// fails that request and is dropped, and the next request gets a fresh one).
fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > Duration::from_secs(5) {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

pub async fn connect(url: &str, connections: u32) -> Result<PgPool> {
    pool_options()
        .max_connections(connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect(url)
        .await
        .context("cannot connect to PostgreSQL")
}

/// The pool behind the session store. Session writes are durable like every other write:
/// a session holds the cart, the checkout's customer and the sign-in, and a buyer sent on
/// with a 303 must find them after a database crash. Sessions are written only when they
/// change, so this costs no write per page view. `async_commit` (`SHOP_SESSIONS_ASYNC_COMMIT`)
/// trades that for speed: a crash may then lose the last fraction of a second of session
/// writes (docs/benchmarks.md gives what it is worth).
pub async fn connect_sessions(url: &str, connections: u32, async_commit: bool) -> Result<PgPool> {
    let mut options = PgConnectOptions::from_str(url).context("DATABASE_URL")?;
    if async_commit {
        options = options.options([("synchronous_commit", "off")]);
    }
    let pool = pool_options()
        .max_connections(connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy_with(options);
    Ok(pool)
}

/// Schema for the app and for sessions. Idempotent; several instances may run it at once
/// (sqlx takes an advisory lock).
pub async fn migrate(db: &PgPool) -> Result<()> {
    MIGRATOR.run(db).await.context("migrations failed")?;
    Sessions::new(db.clone())
        .migrate()
        .await
        .context("session store migration failed")?;
    Ok(())
}

pub async fn build_state(db: PgPool, sessions: PgPool, config: Config) -> Result<AppState> {
    let csrf_key = secrets::get_or_create(&db, "csrf").await?;
    let gateway_key = match &config.payment_secret {
        Some(s) => s.expose_secret().as_bytes().to_vec(),
        None => secrets::get_or_create(&db, "payment_gateway").await?,
    };
    let login_throttle = LoginThrottle::new(config.probe_limit_per_minute);
    let moodle = config
        .lms
        .moodle()
        .map(crate::moodle::Moodle::new)
        .transpose()?;
    let stripe = config
        .stripe
        .as_ref()
        .map(crate::stripe::Stripe::new)
        .transpose()?;
    Ok(AppState::new(Inner {
        db,
        sessions,
        config,
        csrf_key,
        gateway_key,
        catalogue: CatalogueCache::default(),
        login_throttle,
        mail_queued: tokio::sync::Notify::new(),
        moodle,
        lms_queued: tokio::sync::Notify::new(),
        stripe,
    }))
}

/// A running application: its address and a handle to stop it.
pub struct Server {
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl Server {
    /// Starts serving on `listener`, with the background workers; runs until [`Server::stop`].
    pub async fn start(state: AppState, listener: TcpListener) -> Result<Server> {
        let addr = listener.local_addr()?;
        let (shutdown, rx) = watch::channel(false);
        spawn_workers(&state, &rx);
        let app = http::router(state.clone(), Sessions::new(state.sessions.clone()));
        let mut rx_http = rx.clone();
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = rx_http.wait_for(|stop| *stop).await;
            })
            .await
            .context("HTTP server failed")
        });
        Ok(Server {
            addr,
            shutdown,
            task,
        })
    }

    /// Stops accepting connections, lets requests in flight finish, stops the workers.
    pub async fn stop(self) -> Result<()> {
        let _ = self.shutdown.send(true);
        self.task.await.context("server task panicked")?
    }
}

fn spawn_workers(state: &AppState, shutdown: &watch::Receiver<bool>) {
    if let Some(url) = state.config.smtp_url.clone() {
        tokio::spawn(mail::worker::run(
            state.clone(),
            url.expose_secret().to_owned(),
            shutdown.clone(),
        ));
    }
    tokio::spawn(crate::services::production::recovery_worker(
        state.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(crate::services::housekeeping::run(
        state.clone(),
        shutdown.clone(),
    ));
    crate::moodle::worker::spawn(state, shutdown);
    if state.moodle.is_some() {
        tokio::spawn(crate::moodle::activity::run(
            state.clone(),
            shutdown.clone(),
        ));
    }
    tokio::spawn(crate::cache::listen_for_changes(
        state.clone(),
        shutdown.clone(),
    ));
    let throttle_state = state.clone();
    let mut stop = shutdown.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(60)) => throttle_state.login_throttle.prune(),
                _ = stop.changed() => return,
            }
        }
    });
}
