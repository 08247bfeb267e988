use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use lms_shop::config::Config;
use lms_shop::embedded_pg::{self, EmbeddedPg};
use lms_shop::startup::{self, Server};
use lms_shop::{demo, operators};
use secrecy::ExposeSecret;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

const USAGE: &str = "usage: lms-shop [serve]            run the shop
       lms-shop add-operator EMAIL  create (or promote) an operator; the password is read
                                    from SHOP_OPERATOR_PASSWORD or generated and printed
       lms-shop backup FILE         save the embedded database (SHOP_DATA_DIR) to FILE
       lms-shop restore FILE        replace the embedded database by FILE (shop stopped)
       lms-shop generate-data [SCALE]  fill an empty database with years of generated trade
                                    (SCALE 1: 2 000 000 seats, 300 000 bills; default 1)";

/// glibc raises its mmap threshold after freeing a large block, after which argon2's 19 MiB
/// working memory stays in per-thread arenas instead of going back to the system. A fixed
/// threshold keeps large blocks mmapped, so memory returns after each hash.
fn keep_large_allocations_returnable() {
    // SAFETY: mallopt only tunes the allocator; called once, before any other thread starts.
    unsafe {
        nix::libc::mallopt(nix::libc::M_MMAP_THRESHOLD, 1024 * 1024);
    }
}

fn main() -> ExitCode {
    keep_large_allocations_returnable();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(async_main()),
        Err(e) => {
            eprintln!("lms-shop: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn async_main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn")),
        )
        .with_target(false)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lms-shop: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("serve");
    if matches!(command, "-h" | "--help" | "help") {
        println!("{USAGE}");
        return Ok(());
    }
    if !matches!(
        command,
        "serve" | "add-operator" | "backup" | "restore" | "generate-data"
    ) {
        bail!("unknown command {command:?}\n{USAGE}");
    }
    let config = Config::from_env()?;
    if matches!(command, "backup" | "restore") {
        return lms_shop::backup::run(command, &config, args.get(1)).await;
    }

    // The embedded cluster is started from the main thread: its parent-death signal is tied
    // to this thread, which lives as long as the process.
    let embedded = match &config.database_url {
        Some(_) => None,
        None => Some(EmbeddedPg::start(&config.data_dir)?),
    };
    let result = async {
        let url = match (&config.database_url, &embedded) {
            (Some(url), _) => url.clone(),
            (None, Some(pg)) => {
                embedded_pg::ensure_database(pg.url()).await?;
                pg.url().to_owned()
            }
            (None, None) => unreachable!("embedded is started when there is no DATABASE_URL"),
        };
        let db = startup::connect(&url, config.db_connections).await?;
        startup::migrate(&db).await?;
        let fresh = embedded.as_ref().is_some_and(|pg| pg.fresh);
        let outcome = match command {
            "add-operator" => add_operator(&db, args.get(1)).await,
            "generate-data" => generate_data(&db, args.get(1)).await,
            _ => serve(&db, &url, config.clone(), fresh).await,
        };
        db.close().await;
        outcome
    }
    .await;
    if let Some(pg) = embedded {
        pg.stop().context("stopping the embedded PostgreSQL")?;
    }
    result
}

async fn add_operator(db: &PgPool, email: Option<&String>) -> Result<()> {
    let email = email.context(USAGE)?;
    match std::env::var("SHOP_OPERATOR_PASSWORD") {
        Ok(password) => {
            operators::ensure(db, email, &password).await?;
            println!("operator {email} is ready");
        }
        Err(_) => {
            let (email, password) = operators::generate(db, email).await?;
            println!("operator {email} is ready; password (shown once): {password}");
        }
    }
    Ok(())
}

async fn generate_data(db: &PgPool, scale: Option<&String>) -> Result<()> {
    let scale: f64 = match scale {
        Some(s) => s
            .parse()
            .with_context(|| format!("{s:?} is not a scale\n{USAGE}"))?,
        None => 1.0,
    };
    let start = std::time::Instant::now();
    lms_shop::scale_data::generate(db, scale).await?;
    println!(
        "generated at scale {scale} in {:.0} s; operator {} (set a password with add-operator)",
        start.elapsed().as_secs_f64(),
        lms_shop::scale_data::OPERATOR_EMAIL
    );
    Ok(())
}

async fn serve(db: &PgPool, url: &str, config: Config, fresh: bool) -> Result<()> {
    let mut generated = None;
    if fresh || config.demo {
        demo::seed(db).await.context("loading the demo catalogue")?;
        generated = Some(operators::generate(db, "operator@lms-shop.localhost").await?);
    }
    if let (Some(email), Some(password)) = (&config.admin_email, &config.admin_password) {
        operators::ensure(db, email, password.expose_secret())
            .await
            .context("SHOP_ADMIN_EMAIL / SHOP_ADMIN_PASSWORD")?;
    }
    // Listening for SIGTERM/SIGINT starts before the shop says it runs: a signal right after
    // that line stops it cleanly instead of killing it by the default action.
    let shutdown = shutdown_signal().context("cannot listen for SIGTERM / SIGINT")?;
    let listener = TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {} (SHOP_BIND)", config.bind))?;
    let sessions =
        startup::connect_sessions(url, config.db_connections, config.sessions_async_commit).await?;
    let state = startup::build_state(db.clone(), sessions, config).await?;
    lms_shop::moodle::start(&state)
        .await
        .context("LMS=moodle")?;
    let server = Server::start(state, listener).await?;
    println!("lms-shop is running at http://{}/shop", server.addr);
    if let Some((email, password)) = generated {
        println!(
            "operator login (shown once): {email} / {password}  ->  http://{}/login",
            server.addr
        );
    }
    shutdown.await;
    tracing::info!("shutting down");
    server.stop().await
}

/// Registers the handlers now; the returned future ends at the first SIGTERM or SIGINT.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}
