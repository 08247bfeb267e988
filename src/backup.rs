//! `lms-shop backup FILE` and `lms-shop restore FILE`: the embedded database saved to and
//! brought back from one file (`pg_dump -Fc` / `pg_restore`, the cluster's own tools).
//!
//! Backup works whether or not a shop runs on `SHOP_DATA_DIR`: `pg_dump` reads one consistent
//! snapshot while the shop goes on; a stopped cluster is started for the dump and stopped
//! again. The file holds password hashes and secrets: it is created readable by its owner
//! only, and written under a temporary name then renamed, so an interrupted backup never
//! leaves a truncated file under the given name.
//!
//! Restore refuses while a shop runs on the directory (its lock is taken). It restores into
//! a scratch database and swaps it in only once `pg_restore` succeeded whole, so a bad file
//! leaves the current data as it was. A data directory with no cluster yet gets one: that is
//! how a shop moves to a new machine. Migrations newer than the backup run at the next start.
//! As root, the tools run as the cluster's unprivileged owner, as the server does; this
//! process opens the files, so they may be anywhere root can read and write.

use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, Result, bail};
use sqlx::Connection;

use crate::config::Config;
use crate::embedded_pg::{self, DB_NAME, DB_USER, EmbeddedPg};

const SCRATCH: &str = "lms_shop_restoring";

/// Runs `backup` or `restore` with the file argument of the command line.
pub async fn run(command: &str, config: &Config, file: Option<&String>) -> Result<()> {
    let file = PathBuf::from(file.with_context(|| format!("usage: lms-shop {command} FILE"))?);
    if config.database_url.is_some() {
        bail!(
            "`lms-shop {command}` is for the embedded database; with DATABASE_URL use your \
             server's pg_dump / pg_restore"
        );
    }
    match command {
        "backup" => backup(&config.data_dir, &file).await,
        "restore" => restore(&config.data_dir, &file).await,
        _ => unreachable!("only backup and restore are routed here"),
    }
}

/// Whether a shop (or a backup) holds the data directory's lock right now.
fn in_use(data_dir: &Path) -> Result<bool> {
    let path = data_dir.join("lms-shop.lock");
    if !path.exists() {
        return Ok(false);
    }
    let lock = OpenOptions::new().write(true).open(&path)?;
    Ok(lock.try_lock().is_err())
}

fn pg_tool(name: &str, socket_dir: &Path) -> Result<std::process::Command> {
    let bindir = embedded_pg::find_bindir()?;
    let owner = embedded_pg::cluster_owner()?;
    let mut cmd = embedded_pg::command(&bindir.join(name), &owner);
    cmd.arg("-h").arg(socket_dir).args(["-U", DB_USER]);
    Ok(cmd)
}

fn output_of(mut cmd: std::process::Command, what: &str) -> Result<()> {
    cmd.stderr(Stdio::piped());
    let mut child = cmd.spawn().with_context(|| format!("cannot run {what}"))?;
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("{what} failed ({status}): {}", stderr.trim());
    }
    Ok(())
}

pub async fn backup(data_dir: &Path, file: &Path) -> Result<()> {
    if !data_dir.join("pg").join("PG_VERSION").exists() {
        bail!("no embedded database under {}", data_dir.display());
    }
    let data_dir = data_dir.canonicalize()?;
    // A running shop keeps its cluster up: dump from it. Otherwise start one for the dump.
    let started = if in_use(&data_dir)? {
        None
    } else {
        let pg = EmbeddedPg::start(&data_dir)?;
        embedded_pg::ensure_database(pg.url()).await?;
        Some(pg)
    };
    let partial = {
        let mut name = file.as_os_str().to_owned();
        name.push(".partial");
        PathBuf::from(name)
    };
    let result = (|| {
        let out = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)
            .with_context(|| format!("cannot write {}", partial.display()))?;
        let mut cmd = pg_tool("pg_dump", &data_dir.join("run").canonicalize()?)?;
        cmd.args(["-Fc", "-d", DB_NAME]).stdout(out);
        output_of(cmd, "pg_dump")?;
        fs::rename(&partial, file).with_context(|| format!("cannot write {}", file.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&partial);
    }
    if let Some(pg) = started {
        pg.stop()?;
    }
    result?;
    println!("backup written to {}", file.display());
    Ok(())
}

pub async fn restore(data_dir: &Path, file: &Path) -> Result<()> {
    let input = File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    fs::create_dir_all(data_dir)?;
    if in_use(data_dir)? {
        bail!(
            "a shop is running on {}; stop it before restoring",
            data_dir.display()
        );
    }
    let pg = EmbeddedPg::start(data_dir)?;
    let result = restore_into(&pg, &data_dir.canonicalize()?, input).await;
    pg.stop()?;
    result?;
    println!("restored {} into {}", file.display(), data_dir.display());
    Ok(())
}

async fn restore_into(pg: &EmbeddedPg, data_dir: &Path, input: File) -> Result<()> {
    embedded_pg::ensure_database(pg.url()).await?;
    let admin_url = pg.url().replacen(&format!("/{DB_NAME}?"), "/postgres?", 1);
    let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
    for sql in [
        format!("DROP DATABASE IF EXISTS {SCRATCH}"),
        format!("CREATE DATABASE {SCRATCH}"),
    ] {
        sqlx::query(&sql).execute(&mut admin).await?;
    }
    let mut cmd = pg_tool("pg_restore", &data_dir.join("run").canonicalize()?)?;
    cmd.args([
        "--exit-on-error",
        "--single-transaction",
        "--no-owner",
        "-d",
        SCRATCH,
    ])
    .stdin(input)
    .stdout(Stdio::null());
    if let Err(e) = output_of(cmd, "pg_restore") {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {SCRATCH}"))
            .execute(&mut admin)
            .await;
        return Err(e).context("the current data is unchanged");
    }
    for sql in [
        format!("DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"),
        format!("ALTER DATABASE {SCRATCH} RENAME TO {DB_NAME}"),
    ] {
        sqlx::query(&sql).execute(&mut admin).await?;
    }
    Ok(())
}
