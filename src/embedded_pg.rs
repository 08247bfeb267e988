//! The embedded default: a private PostgreSQL cluster under `SHOP_DATA_DIR`, initialised on
//! first run, reachable on a Unix socket only, supervised by this process and stopped with it.
//!
//! As root the cluster runs as `postgres`, which cannot pass through a private directory such
//! as `/root`: a data directory it cannot enter keeps its cluster and socket under
//! [`RELOCATED_ROOT`] instead, reached through the symlinks `pg` and `run` of the data directory.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, Uid, User};
use sha2::Digest;

pub(crate) const DB_NAME: &str = "lms_shop";
pub(crate) const DB_USER: &str = "shop";

pub struct EmbeddedPg {
    child: Child,
    url: String,
    /// True when this run created the cluster: the caller seeds demo data.
    pub fresh: bool,
    _lock: File,
}

/// Where the server binaries are: `PGBIN`, else the newest Debian layout, else `pg_config`.
pub(crate) fn find_bindir() -> Result<PathBuf> {
    if let Ok(dir) = std::env::var("PGBIN") {
        return Ok(dir.into());
    }
    for version in [17, 16, 15, 14, 13] {
        let dir = PathBuf::from(format!("/usr/lib/postgresql/{version}/bin"));
        if dir.join("postgres").exists() {
            return Ok(dir);
        }
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("postgres").exists() {
            return Ok(dir);
        }
    }
    bail!(
        "no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin and pg_config).\n\
         Install them with `apt-get install postgresql` (Debian/Ubuntu), or set PGBIN to their \
         folder, or set DATABASE_URL to use an existing server."
    )
}

/// PostgreSQL refuses to run as root: as root we hand the cluster to `postgres` (or `nobody`).
pub(crate) fn cluster_owner() -> Result<Option<User>> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    for name in ["postgres", "nobody"] {
        if let Some(user) = User::from_name(name)? {
            return Ok(Some(user));
        }
    }
    bail!("running as root and no unprivileged `postgres` user exists to own the database cluster")
}

/// Where the clusters of data directories `postgres` cannot enter live (as root only).
pub const RELOCATED_ROOT: &str = "/var/lib/lms-shop";

/// The real paths of a data directory's cluster and socket directory (the owner of the
/// cluster cannot follow our symlinks through a private parent, so it is given these).
pub(crate) struct Layout {
    pub cluster: PathBuf,
    pub socket_dir: PathBuf,
}

/// `DATA/pg` and `DATA/run`, or their relocated targets; creates the socket directory.
/// `data_dir` is canonical.
pub(crate) fn layout(data_dir: &Path, owner: &Option<User>) -> Result<Layout> {
    let (pg, run) = (data_dir.join("pg"), data_dir.join("run"));
    let existing = pg.join("PG_VERSION").exists();
    if existing || owner.is_none() || can_enter(data_dir, owner)? {
        if !run.exists() {
            fs::create_dir_all(&run)?;
        }
        return Ok(Layout {
            cluster: if existing { pg.canonicalize()? } else { pg },
            socket_dir: run.canonicalize()?,
        });
    }
    // A stable place per data directory. An earlier cluster there whose link went with the
    // data directory (the documented reset) is set aside, never deleted: the link may also
    // have been lost by accident, and then that cluster is the only copy of the shop.
    let digest = hex::encode(&sha2::Sha256::digest(data_dir.as_os_str().as_encoded_bytes())[..8]);
    fs::create_dir_all(RELOCATED_ROOT)
        .with_context(|| format!("cannot create {RELOCATED_ROOT}"))?;
    trusted_root_dir(Path::new(RELOCATED_ROOT))?;
    let base = Path::new(RELOCATED_ROOT).join(&digest);
    if fs::symlink_metadata(&base).is_ok() {
        if base.join("pg").join("postmaster.pid").exists() {
            bail!(
                "a PostgreSQL cluster for {} still runs or did not stop cleanly in {}: stop it \
                 (or remove its postmaster.pid if it is not running) before starting afresh",
                data_dir.display(),
                base.display()
            );
        }
        let aside = Path::new(RELOCATED_ROOT).join(format!(
            "{digest}.stale-{}",
            time::OffsetDateTime::now_utc().unix_timestamp()
        ));
        fs::rename(&base, &aside)
            .with_context(|| format!("cannot set aside the earlier cluster {}", base.display()))?;
        tracing::warn!(
            earlier = %aside.display(),
            "{} has no cluster link any more: starting a new cluster; the earlier one is kept",
            data_dir.display()
        );
    }
    fs::create_dir_all(base.join("run"))?;
    fs::set_permissions(&base, fs::Permissions::from_mode(0o700))?;
    give_to(&base, owner)?;
    for (link, target) in [(&pg, base.join("pg")), (&run, base.join("run"))] {
        if is_symlink(link) || link.is_file() {
            fs::remove_file(link)?;
        } else if link.exists() {
            fs::remove_dir_all(link)?;
        }
        std::os::unix::fs::symlink(&target, link)?;
    }
    Ok(Layout {
        cluster: base.join("pg"),
        socket_dir: base.join("run"),
    })
}

/// The relocation root must be root's own real directory that nobody else may write: its
/// entries are handed to the cluster's owner (`chown` follows symlinks).
fn trusted_root_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::symlink_metadata(dir)?;
    if !meta.file_type().is_dir() || meta.uid() != 0 || meta.mode() & 0o022 != 0 {
        bail!(
            "{} must be a directory owned by root that only root may write",
            dir.display()
        );
    }
    Ok(())
}

fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Whether the cluster's owner may pass through `dir` (and every directory above it).
fn can_enter(dir: &Path, owner: &Option<User>) -> Result<bool> {
    let status = command(Path::new("test"), owner)
        .arg("-x")
        .arg(dir)
        .status()
        .context("cannot run `test`")?;
    Ok(status.success())
}

pub(crate) fn command(bin: &Path, owner: &Option<User>) -> Command {
    let mut cmd = Command::new(bin);
    if let Some(user) = owner {
        cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
        // Keep HOME and friends from pointing into root's home.
        cmd.env("HOME", "/tmp");
    }
    cmd
}

fn give_to(path: &Path, owner: &Option<User>) -> Result<()> {
    if let Some(user) = owner {
        chown(path, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
            .with_context(|| format!("cannot hand {} to user {}", path.display(), user.name))?;
    }
    Ok(())
}

impl EmbeddedPg {
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn start(data_dir: &Path) -> Result<EmbeddedPg> {
        fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        let data_dir = data_dir.canonicalize()?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(data_dir.join("lms-shop.lock"))?;
        if lock.try_lock().is_err() {
            bail!(
                "the data directory {} is already in use by another lms-shop process; \
                 stop it first or choose another SHOP_DATA_DIR",
                data_dir.display()
            );
        }

        let bindir = find_bindir()?;
        let owner = cluster_owner()?;
        let Layout {
            cluster,
            socket_dir,
        } = layout(&data_dir, &owner)?;
        // Only the cluster owner (and root) may reach the socket: it is the only door in.
        fs::set_permissions(&socket_dir, fs::Permissions::from_mode(0o700))?;
        give_to(&socket_dir, &owner)?;
        if socket_dir.as_os_str().len() > 90 {
            bail!(
                "SHOP_DATA_DIR {} is too long for a Unix socket path; use a shorter one",
                data_dir.display()
            );
        }

        let fresh = !cluster.join("PG_VERSION").exists();
        if fresh {
            init_cluster(&bindir, &cluster, &socket_dir, &owner)?;
        } else {
            refuse_if_running(&cluster)?;
        }

        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(data_dir.join("postgresql.log"))?;
        give_to(&data_dir.join("postgresql.log"), &owner)?;
        let mut cmd = command(&bindir.join("postgres"), &owner);
        cmd.arg("-D")
            .arg(&cluster)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Own process group: a Ctrl-C in the terminal reaches us, and we stop PostgreSQL
            // after the web server has drained, not before.
            .process_group(0);
        // If this process dies without cleaning up (SIGKILL), the kernel tells PostgreSQL to
        // shut down fast instead of leaving an orphan holding the data directory.
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGINT).map_err(std::io::Error::from)
            });
        }
        let child = cmd.spawn().context("cannot start postgres")?;
        let url = format!(
            "postgres://{DB_USER}@localhost/{DB_NAME}?host={}",
            socket_dir.display()
        );
        let mut pg = EmbeddedPg {
            child,
            url,
            fresh,
            _lock: lock,
        };
        pg.wait_ready(&socket_dir)?;
        Ok(pg)
    }

    fn wait_ready(&mut self, socket_dir: &Path) -> Result<()> {
        let socket = socket_dir.join(".s.PGSQL.5432");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "PostgreSQL exited during start-up ({status}); see postgresql.log in the data directory"
                );
            }
            if socket.exists() && std::os::unix::net::UnixStream::connect(&socket).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("PostgreSQL did not accept connections within 60 s; see postgresql.log");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Immediate shutdown, as a crash: no checkpoint, nothing flushed that was not already;
    /// the next start recovers from the WAL. For crash tests.
    pub fn crash(mut self) -> Result<()> {
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = kill(pid, Signal::SIGQUIT);
        self.child.wait()?;
        Ok(())
    }

    /// Fast shutdown: open transactions roll back, data is flushed, the process is gone.
    pub fn stop(mut self) -> Result<()> {
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = kill(pid, Signal::SIGINT);
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                let _ = kill(pid, Signal::SIGQUIT);
                self.child.wait()?;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

fn init_cluster(
    bindir: &Path,
    cluster: &Path,
    socket_dir: &Path,
    owner: &Option<User>,
) -> Result<()> {
    // initdb into a temporary name and rename: an interrupted first run leaves no half cluster.
    let staging = cluster.with_extension("init");
    if staging.exists() {
        fs::remove_dir_all(&staging)?;
    }
    fs::create_dir_all(&staging)?;
    give_to(&staging, owner)?;
    let out = command(&bindir.join("initdb"), owner)
        .arg("-D")
        .arg(&staging)
        .args([
            "-U",
            DB_USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-instructions",
        ])
        .output()
        .context("cannot run initdb")?;
    if !out.status.success() {
        return Err(anyhow!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let conf = format!(
        "\n# lms-shop embedded cluster: Unix socket only.\n\
         listen_addresses = ''\n\
         unix_socket_directories = '{}'\n\
         unix_socket_permissions = 0700\n\
         max_connections = 100\n\
         shared_buffers = 128MB\n",
        socket_dir.display()
    );
    let conf_path = staging.join("postgresql.conf");
    let mut text = fs::read_to_string(&conf_path)?;
    text.push_str(&conf);
    fs::write(&conf_path, text)?;
    fs::rename(&staging, cluster)?;
    Ok(())
}

fn refuse_if_running(cluster: &Path) -> Result<()> {
    let Ok(pidfile) = fs::read_to_string(cluster.join("postmaster.pid")) else {
        return Ok(());
    };
    let Some(pid) = pidfile
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<i32>().ok())
    else {
        return Ok(());
    };
    if kill(Pid::from_raw(pid), None).is_ok() {
        bail!(
            "a PostgreSQL server (pid {pid}) is still running on {}; stop it first",
            cluster.display()
        );
    }
    Ok(())
}

/// Creates the application database on a fresh cluster (connects to `postgres`).
pub async fn ensure_database(url: &str) -> Result<()> {
    use sqlx::Connection;
    let admin_url = url.replacen(&format!("/{DB_NAME}?"), "/postgres?", 1);
    // The socket accepts before recovery ends ("the database system is starting up").
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut conn = loop {
        match sqlx::PgConnection::connect(&admin_url).await {
            Ok(conn) => break conn,
            Err(e) if Instant::now() < deadline && is_starting_up(&e) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e).context("cannot connect to the embedded PostgreSQL"),
        }
    };
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(DB_NAME)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        sqlx::query(&format!("CREATE DATABASE {DB_NAME}"))
            .execute(&mut conn)
            .await?;
    }
    Ok(())
}

fn is_starting_up(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("57P03"))
        || matches!(e, sqlx::Error::Io(_))
}
