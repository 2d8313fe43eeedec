//! What an attacker on the network can send (issue 11), against the real server process on loopback.
//! Every test is bounded in requests and time.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// A client whose connections come from `addr` (any 127.0.0.0/8 address reaches a loopback listener).
fn client_from(addr: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(addr.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn login_with(http: &reqwest::Client, url: &str, user: &str, password: &str) -> u16 {
    http.post(format!("{url}/api/v1/login"))
        .header("origin", url)
        .json(&json!({"user": user, "password": password, "login_host": "newyork.example.com"}))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// `VmHWM` (peak) and `VmRSS` (now) of a process, in MiB.
fn memory_mib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap()
            / 1024
    };
    (field("VmHWM:"), field("VmRSS:"))
}

#[tokio::test]
async fn parallel_guesses_are_charged_before_they_are_verified() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let attacker = client_from("127.0.0.1");
    let guesses: Vec<_> = (0..50)
        .map(|i| {
            let (http, url) = (attacker.clone(), s.url.clone());
            tokio::spawn(async move { login_with(&http, &url, "admin", &format!("guess{i}")).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for g in guesses {
        statuses.push(g.await.unwrap());
    }
    let verified = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        verified <= 5,
        "{verified} of 50 parallel guesses were verified: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [401, 429, 503].contains(s)),
        "{statuses:?}"
    );
    // The guesser's address waits even with the right password; the owner elsewhere does not.
    assert_eq!(login_with(&attacker, &s.url, "admin", "ironport").await, 429);
    assert_eq!(
        login_with(&client_from("127.0.0.2"), &s.url, "admin", "ironport").await,
        200
    );
}

#[tokio::test]
async fn five_hundred_concurrent_failed_logins_keep_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let pid = s.child.id();
    let (_, before) = memory_mib(pid);
    // From 10 addresses, each guess for another (unknown) account: only the password pool bounds this.
    let clients: Vec<reqwest::Client> = (1..=10).map(|i| client_from(&format!("127.0.1.{i}"))).collect();
    let started = Instant::now();
    let attempts: Vec<_> = (0..500)
        .map(|i| {
            let (http, url) = (clients[i % clients.len()].clone(), s.url.clone());
            tokio::spawn(async move { login_with(&http, &url, &format!("nobody{i}"), "guess").await })
        })
        .collect();
    let mut statuses = Vec::new();
    for a in attempts {
        statuses.push(a.await.unwrap());
    }
    let elapsed = started.elapsed();
    let (peak, after) = memory_mib(pid);
    let count = |code: u16| statuses.iter().filter(|s| **s == code).count();
    eprintln!(
        "500 failed logins in {elapsed:?}: {} verified (401), {} busy (503), {} throttled (429); RSS {before} MiB before, peak {peak} MiB, {after} MiB after",
        count(401),
        count(503),
        count(429)
    );
    assert_eq!(count(401) + count(503) + count(429), 500, "{statuses:?}");
    assert!(count(503) > 0, "the pool refused nothing: {statuses:?}");
    assert!(peak < 300, "peak RSS {peak} MiB (goal: under 300 MiB)");
    assert!(after < 300, "RSS after {after} MiB");
    // The server still answers, and a real user still logs in.
    assert_eq!(
        login_with(&client_from("127.0.0.3"), &s.url, "admin", "ironport").await,
        200
    );
}
