//! The release server as a child process on a free loopback port, and its memory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand::Rng;
use rand::distr::Alphanumeric;
use tokio::process::{Child, Command};

/// A running server.
pub struct Server {
    child: Child,
    pid: u32,
    pub base_url: String,
    pub log_file: PathBuf,
    peak_sampled_rss: Arc<AtomicU64>,
    sampling: Arc<AtomicBool>,
}

/// What the server's memory came to.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// `VmHWM` at the end: the peak resident set the kernel recorded.
    pub peak_rss_kib: u64,
    /// The largest `VmRSS` sampled during the run (every 50 ms).
    pub peak_sampled_rss_kib: u64,
    /// `VmRSS` at the end.
    pub final_rss_kib: u64,
}

/// A `kB` field of `/proc/<pid>/status`.
fn status_field(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A port that was free a moment ago.
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

impl Server {
    /// Starts `binary` on `database_url` and waits until `/readyz` answers.
    pub async fn start(binary: &Path, database_url: &str, folder: &Path) -> anyhow::Result<Self> {
        Self::start_with(binary, database_url, folder, &[], &[]).await
    }

    /// Like `start`, with more arguments to `serve` and more settings in the environment.
    pub async fn start_with(
        binary: &Path,
        database_url: &str,
        folder: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let port = free_port()?;
        let storage = folder.join("storage");
        std::fs::create_dir_all(&storage).context("cannot create the storage folder")?;
        let log_file = folder.join("server.log");
        let log = std::fs::File::create(&log_file).context("cannot create the server log")?;
        let secret: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(48)
            .map(char::from)
            .collect();
        // Only what the server needs: nothing of the caller's environment (such as
        // RUST_BACKTRACE, which makes every logged error capture a backtrace) leaks in.
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("ECOPLAN_ADDR", format!("127.0.0.1:{port}"))
            .env("ECOPLAN_JWT_SECRET", secret)
            .env("ECOPLAN_STORAGE_DIR", &storage)
            .env("ECOPLAN_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let mut server = Self {
            child,
            pid,
            base_url: format!("http://127.0.0.1:{port}"),
            log_file,
            peak_sampled_rss: Arc::new(AtomicU64::new(0)),
            sampling: Arc::new(AtomicBool::new(true)),
        };
        server.wait_ready().await?;
        server.sample_memory();
        Ok(server)
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + Duration::from_secs(120);
        let url = format!("{}/readyz", self.base_url);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the server exited with {status} before it was ready; see {}",
                    self.log_file.display()
                );
            }
            if let Ok(response) = client.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "the server was not ready within two minutes; see {}",
            self.log_file.display()
        )
    }

    /// Samples `VmRSS` every 50 ms until the server stops.
    fn sample_memory(&self) {
        let pid = self.pid;
        let peak = self.peak_sampled_rss.clone();
        let sampling = self.sampling.clone();
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                if let Some(rss) = status_field(pid, "VmRSS") {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    }

    /// Reads `VmRSS` of the server, in KiB, from anywhere.
    pub fn rss_reader(&self) -> impl Fn() -> u64 + Send + 'static {
        let pid = self.pid;
        move || status_field(pid, "VmRSS").unwrap_or(0)
    }

    /// `VmRSS` now, in KiB.
    pub fn rss_kib(&self) -> u64 {
        status_field(self.pid, "VmRSS").unwrap_or(0)
    }

    /// The largest `VmRSS` sampled since the last reset, and a new start for it.
    pub fn take_sampled_peak_kib(&self) -> u64 {
        self.peak_sampled_rss
            .swap(self.rss_kib(), Ordering::Relaxed)
    }

    /// Reads the memory figures, then stops the server.
    pub async fn stop(mut self) -> anyhow::Result<Memory> {
        self.sampling.store(false, Ordering::Relaxed);
        let memory = Memory {
            peak_rss_kib: status_field(self.pid, "VmHWM").context("cannot read VmHWM")?,
            peak_sampled_rss_kib: self.peak_sampled_rss.load(Ordering::Relaxed),
            final_rss_kib: status_field(self.pid, "VmRSS").unwrap_or(0),
        };
        self.child.kill().await.context("cannot stop the server")?;
        Ok(memory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_own_process_reports_its_resident_memory() {
        let rss = status_field(std::process::id(), "VmRSS");
        assert!(rss.is_some_and(|kib| kib > 0));
    }
}
