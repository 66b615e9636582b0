//! A private PostgreSQL cluster for `skillreel dev`, run with the system's binaries.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running cluster; [`EmbeddedPostgres::stop`] shuts it down.
pub struct EmbeddedPostgres {
    bin: PathBuf,
    data: PathBuf,
    pub url: String,
    as_postgres: bool,
}

/// The newest installed server's `bin` folder (Debian keeps them per version).
fn find_bin() -> Result<PathBuf, String> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .filter(|p| p.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    candidates.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    candidates
        .pop()
        .ok_or_else(|| "PostgreSQL server binaries not found (apt-get install postgresql), or set DATABASE_URL".into())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// Hands `dir` to the postgres user and checks it can write there.
fn postgres_can_use(dir: &Path) -> bool {
    let chowned = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(dir)
        .status();
    chowned.map(|s| s.success()).unwrap_or(false)
        && Command::new("runuser")
            .args(["-u", "postgres", "--", "test", "-w"])
            .arg(dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
}

fn fallback_dir(data: &Path) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut hasher);
    PathBuf::from(format!("/var/lib/skillreel/postgres-{:016x}", hasher.finish()))
}

impl EmbeddedPostgres {
    /// PostgreSQL refuses to run as root: as root we run it as the `postgres` user.
    fn command(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let out = self
            .command(program)
            .args(args)
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    pub async fn start(dir: &Path) -> Result<Self, String> {
        let bin = find_bin()?;
        let as_postgres = is_root();
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut data = std::fs::canonicalize(dir).map_err(|e| e.to_string())?;
        if as_postgres && !postgres_can_use(&data) {
            // e.g. a data folder under /root: keep the cluster where the postgres user
            // can reach it, one per data folder.
            let fallback = fallback_dir(&data);
            println!(
                "the postgres user cannot reach {}; keeping the cluster in {}",
                data.display(),
                fallback.display()
            );
            std::fs::create_dir_all(&fallback).map_err(|e| format!("{}: {e}", fallback.display()))?;
            data = fallback;
            if !postgres_can_use(&data) {
                return Err(format!("the postgres user cannot use {}", data.display()));
            }
        }
        let mut pg = Self {
            bin,
            data,
            url: String::new(),
            as_postgres,
        };
        let data_str = pg.data.to_string_lossy().into_owned();
        if !pg.data.join("PG_VERSION").exists() {
            println!("initialising a private PostgreSQL cluster in {data_str}");
            pg.run(
                "initdb",
                &[
                    "-D",
                    &data_str,
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-instructions",
                ],
            )?;
        }
        if pg.data.join("postmaster.pid").exists() {
            // Left by an earlier run that did not stop cleanly.
            let _ = pg.run("pg_ctl", &["-D", &data_str, "-m", "fast", "-w", "stop"]);
        }
        let port = free_port()?;
        let log = pg.data.join("server.log").to_string_lossy().into_owned();
        let options = format!("-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''");
        pg.run(
            "pg_ctl",
            &["-D", &data_str, "-l", &log, "-w", "-t", "60", "-o", &options, "start"],
        )?;
        pg.url = format!("postgres://postgres@127.0.0.1:{port}/skillreel");
        pg.create_database(port).await?;
        Ok(pg)
    }

    async fn create_database(&self, port: u16) -> Result<(), String> {
        use sqlx::Connection;
        let admin = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        let mut conn = sqlx::PgConnection::connect(&admin).await.map_err(|e| e.to_string())?;
        let exists: bool = sqlx::query_scalar("select exists (select 1 from pg_database where datname = 'skillreel')")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        if !exists {
            sqlx::query("create database skillreel")
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    pub fn stop(&self) {
        let data = self.data.to_string_lossy().into_owned();
        if let Err(e) = self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]) {
            eprintln!("could not stop PostgreSQL: {e}");
        }
    }
}
