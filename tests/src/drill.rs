//! R1, the crash drill: the real server under a steady command load is killed with SIGKILL at a random
//! moment, restarted on the same data directory, and checked: every acknowledged commit is there, and
//! `clusterdeck verify` finds the state equal to the replay of the log.
//!
//! Load: three sessions, each editing its own item (an LDAP query at its own machine mode) and
//! committing, with the sequence number as the value. After a crash the value must be at least the last
//! acknowledged number (and at most the last one sent); anything lower is a lost acknowledgement.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::{server_binary, ApiSession, Server, ServerOptions};

const HOSTS: [&str; 3] = ["newyork.example.com", "losangeles.example.com", "sf.example.com"];

/// What the drill found.
#[derive(Debug, Clone, Default)]
pub struct DrillReport {
    pub rounds: usize,
    /// Commits acknowledged across all rounds.
    pub acknowledged: u64,
    /// Acknowledged commits missing after a restart (goal 0).
    pub lost: u64,
    /// Rounds where `clusterdeck verify` failed (goal 0).
    pub verify_failures: usize,
    pub seconds: f64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    sent: u64,
    acknowledged: u64,
}

/// A cheap pseudo-random number (no generator crate needed for one delay per round).
fn jitter(round: usize) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (u64::from(nanos) ^ (round as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)) % 1000
}

async fn writer(
    server_url: String,
    k: usize,
    progress: Arc<Mutex<Vec<Progress>>>,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<u64>>,
) {
    let server = ServerRef(server_url);
    let Ok(session) = server.login().await else { return };
    if session
        .cli(&format!("clustermode machine {}", HOSTS[k]))
        .await
        .is_err()
    {
        return;
    }
    while !stop.load(Ordering::Relaxed) {
        let seq = progress.lock().map(|p| p[k].sent + 1).unwrap_or(1);
        let Some(r) = stage(&session, "edit", k, seq).await else {
            return;
        };
        let r = if r["output"].to_string().contains("has no entry") {
            let Some(r) = stage(&session, "new", k, seq).await else {
                return;
            };
            r
        } else {
            r
        };
        if r["status"] != "ok" {
            return;
        }
        if let Ok(mut p) = progress.lock() {
            p[k].sent = seq;
        }
        match session.cli("commit").await {
            Ok(r) if r["status"] == "ok" => {
                if let Ok(mut p) = progress.lock() {
                    p[k].acknowledged = seq;
                }
                if let Ok(mut a) = acked.lock() {
                    *a += 1;
                }
            }
            _ => return,
        }
    }
}

/// Stages `ldapconfig <verb> drill<k> ...`, answering the first-edit question with "2" (copy).
async fn stage(session: &ApiSession, verb: &str, k: usize, seq: u64) -> Option<serde_json::Value> {
    let r = session
        .cli(&format!("ldapconfig {verb} drill{k} ldap.example.com dc={seq}"))
        .await
        .ok()?;
    if r["status"] == "prompt" {
        return session.cli("2").await.ok();
    }
    Some(r)
}

/// A server by URL only (the process may be gone).
struct ServerRef(String);

impl ServerRef {
    async fn login(&self) -> anyhow::Result<ApiSession> {
        ApiSession::login_url(&self.0, "admin", "ironport", "newyork.example.com").await
    }
}

/// The drill's values as the restarted server holds them.
async fn values(server: &Server) -> anyhow::Result<Vec<u64>> {
    let session = ApiSession::login(server, "admin", "ironport", "newyork.example.com").await?;
    let fleet = session.get_json("/api/v1/fleet").await?;
    let config = &fleet["fleet"]["machines"]["newyork.example.com"]["config"]["modes"];
    let mut out = Vec::new();
    for (k, host) in HOSTS.iter().enumerate() {
        let rows = &config[format!("machine:{host}")]["ldap"]["value"]["rows"];
        let v = rows
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r[0] == format!("drill{k}")))
            .and_then(|r| r[2].as_str())
            .and_then(|dn| dn.strip_prefix("dc="))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        out.push(v);
    }
    Ok(out)
}

/// Runs `rounds` kill-and-restart rounds against one data directory.
pub async fn crash_drill(rounds: usize, log: impl Fn(&str)) -> anyhow::Result<DrillReport> {
    let started = Instant::now();
    let dir = tempfile::tempdir()?;
    let opts = ServerOptions {
        data_dir: Some(dir.path().to_path_buf()),
        ..ServerOptions::default()
    };
    let progress = Arc::new(Mutex::new(vec![Progress::default(); HOSTS.len()]));
    let acked = Arc::new(Mutex::new(0u64));
    let mut report = DrillReport {
        rounds,
        ..DrillReport::default()
    };
    for round in 0..=rounds {
        let server = Server::start_with(opts.clone())?;
        // Check what the previous round acknowledged.
        let found = values(&server)
            .await
            .context("reading the drill's values after a restart")?;
        let expected = progress.lock().map(|p| p.clone()).unwrap_or_default();
        for (k, (v, p)) in found.iter().zip(expected.iter()).enumerate() {
            if *v < p.acknowledged {
                report.lost += p.acknowledged - v;
                log(&format!(
                    "round {round}: drill{k} is at {v}, but {} was acknowledged",
                    p.acknowledged
                ));
            } else if *v > p.sent {
                bail!(
                    "round {round}: drill{k} is at {v}, beyond the last value sent ({})",
                    p.sent
                );
            }
            if let Ok(mut all) = progress.lock() {
                // What the store holds is where the next writes continue from.
                all[k] = Progress {
                    sent: (*v).max(all[k].acknowledged),
                    acknowledged: *v,
                };
            }
        }
        if round == rounds {
            drop(server);
            break;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..HOSTS.len())
            .map(|k| {
                tokio::spawn(writer(
                    server.url.clone(),
                    k,
                    progress.clone(),
                    stop.clone(),
                    acked.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(300 + jitter(round))).await;
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            let _ = w.await;
        }
        let out = Command::new(server_binary())
            .arg("verify")
            .arg("--data-dir")
            .arg(dir.path())
            .output()?;
        if !out.status.success() {
            report.verify_failures += 1;
            log(&format!(
                "round {round}: verify failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    report.acknowledged = acked.lock().map(|a| *a).unwrap_or(0);
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
