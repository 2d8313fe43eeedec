//! The load generator and browser measurements behind `cargo xtask bench` (issue 6). Loopback only,
//! bounded in count and time.
//!
//! - [`commands_load`] (P3): `POST /api/v1/commands` at N concurrent connections, each a durable
//!   round trip (the command appends an event), against the bare JSON handler (`GET /api/v1/health`)
//!   served by the same process in the same run. [`commands_load_wrk`] (P3w) measures the same with
//!   Debian's `wrk`, an established load generator, driven by a generated Lua script.
//! - [`sse_fanout`] (P5): one event fanned out to N subscribers of `GET /api/v1/events`.
//! - [`navigation`] (P2) and [`large_fleet`] (P6): headless Chromium, timed with the page's clock.
//! - [`fleet_creation`] (F1), [`idle_fleets`] (F2), [`many_fleets`] (F3), [`fleet_after_logins`] (F4):
//!   many fleets in one server.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use serde_json::json;

use crate::{ApiSession, Harness, Server, ServerOptions};

/// Latency percentiles and throughput of one load phase.
#[derive(Debug, Clone, Default)]
pub struct Load {
    pub requests: usize,
    pub errors: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub per_second: f64,
}

/// The `p`-th percentile (0–100) of sorted samples.
/// Options of a server under load: one address (the benchmark's) may open many connections.
pub fn bench_options() -> ServerOptions {
    ServerOptions {
        flags: vec!["--max-connections-per-address".into(), "8192".into()],
        ..ServerOptions::default()
    }
}

/// A server for a benchmark ([`bench_options`]).
pub fn server() -> anyhow::Result<Server> {
    Server::start_with(bench_options())
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn summarise(mut samples: Vec<f64>, errors: usize, elapsed: Duration) -> Load {
    samples.sort_by(|a, b| a.total_cmp(b));
    Load {
        requests: samples.len(),
        errors,
        p50_ms: percentile(&samples, 50.0),
        p95_ms: percentile(&samples, 95.0),
        p99_ms: percentile(&samples, 99.0),
        per_second: samples.len() as f64 / elapsed.as_secs_f64(),
    }
}

/// Runs `make(i)` from `concurrency` tasks for `duration`; each future is one timed request.
/// `concurrency` workers each sending `make(i)` until `duration` is over: back to back, or (with `pace`)
/// one request per `pace` each, as an active user would.
async fn run_load<F, Fut>(concurrency: usize, duration: Duration, pace: Option<Duration>, make: F) -> Load
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let make = Arc::new(make);
    let samples = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(0usize));
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..concurrency)
        .map(|i| {
            let (make, samples, errors) = (make.clone(), samples.clone(), errors.clone());
            tokio::spawn(async move {
                let mut local = Vec::new();
                let mut failed = 0;
                // Paced workers start spread over one pace, as independent users would.
                if let Some(pace) = pace {
                    tokio::time::sleep(pace.mul_f64(i as f64 / concurrency as f64)).await;
                }
                while Instant::now() < deadline {
                    let t = Instant::now();
                    if make(i).await {
                        local.push(t.elapsed().as_secs_f64() * 1000.0);
                    } else {
                        failed += 1;
                    }
                    if let Some(pace) = pace {
                        tokio::time::sleep_until((t + pace).into()).await;
                    }
                }
                if let Ok(mut s) = samples.lock() {
                    s.extend(local);
                }
                if let Ok(mut e) = errors.lock() {
                    *e += failed;
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed();
    let samples = samples.lock().map(|s| s.clone()).unwrap_or_default();
    let errors = errors.lock().map(|e| *e).unwrap_or(0);
    summarise(samples, errors, elapsed)
}

/// The durable command the loads send: `suspend` or `resume` of the login host, from its machine page —
/// each appends one fleet event before it is answered (a mode switch no longer writes anything).
pub fn durable_command(n: usize, host: &str) -> serde_json::Value {
    let op = if n.is_multiple_of(2) { "suspend" } else { "resume" };
    json!({"command": {"command": "runtime", "op": op}, "mode": format!("machine:{host}")})
}

/// P3: durable `POST /api/v1/commands` ([`durable_command`]) from `concurrency` sessions, then
/// `GET /api/v1/health` the same way. Returns (commands, bare).
pub async fn commands_load(
    server: &Server,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<(Load, Load)> {
    let mut sessions = Vec::new();
    for _ in 0..concurrency {
        sessions.push(ApiSession::login(server, "admin", "ironport", "newyork.example.com").await?);
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency * 2)
        .build()?;
    let url = server.url.clone();
    let cookies: Arc<Vec<String>> = Arc::new(sessions.iter().map(|s| s.cookie().to_string()).collect());
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (h, u, c) = (http.clone(), url.clone(), cookies.clone());
    let commands = run_load(concurrency, duration, None, move |i| {
        let (http, url, cookie) = (h.clone(), u.clone(), c[i].clone());
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async move {
            let body = durable_command(n, "newyork.example.com");
            match http
                .post(format!("{url}/api/v1/commands"))
                .header("cookie", cookie)
                .header("origin", url.clone())
                .json(&body)
                .send()
                .await
            {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            }
        }
    })
    .await;
    let (h, u) = (http.clone(), url.clone());
    let bare = run_load(concurrency, duration, None, move |_| {
        let (http, url) = (h.clone(), u.clone());
        async move {
            match http.get(format!("{url}/api/v1/health")).send().await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            }
        }
    })
    .await;
    Ok((commands, bare))
}

/// P5: `subscribers` SSE streams; one command from another session; the delay until each stream has
/// its event. Returns the delays' summary (requests = streams that received it).
pub async fn sse_fanout(server: &Server, subscribers: usize) -> anyhow::Result<Load> {
    let watcher = ApiSession::login(server, "viewer", "viewer-pass", "sf.example.com").await?;
    let actor = ApiSession::login(server, "admin", "ironport", "newyork.example.com").await?;
    let since = watcher.get_json("/api/v1/fleet").await?["revision"]
        .as_u64()
        .context("revision")?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build()?;
    let ready = Arc::new(tokio::sync::Barrier::new(subscribers + 1));
    let start = Arc::new(Mutex::new(None::<Instant>));
    let mut tasks = Vec::new();
    for _ in 0..subscribers {
        let (http, url, cookie, ready, start) = (
            http.clone(),
            server.url.clone(),
            watcher.cookie().to_string(),
            ready.clone(),
            start.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let response = http
                .get(format!("{url}/api/v1/events?since={since}"))
                .header("cookie", cookie)
                .send()
                .await;
            ready.wait().await;
            let response = response.ok()?;
            let mut stream = response.bytes_stream();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            let mut text = String::new();
            loop {
                let chunk = tokio::time::timeout_at(deadline, stream.next())
                    .await
                    .ok()??
                    .ok()?;
                text.push_str(&String::from_utf8_lossy(&chunk));
                if text.contains("data: {\"revision\"") {
                    let t0 = (*start.lock().ok()?)?;
                    return Some(t0.elapsed().as_secs_f64() * 1000.0);
                }
            }
        }));
    }
    ready.wait().await;
    // Give every stream a moment to be registered with the broadcast before the event.
    tokio::time::sleep(Duration::from_millis(500)).await;
    if let Ok(mut s) = start.lock() {
        *s = Some(Instant::now());
    }
    actor.command_body(durable_command(0, "sf.example.com")).await?;
    let mut delays = Vec::new();
    let mut missed = 0;
    for t in tasks {
        match t.await {
            Ok(Some(d)) => delays.push(d),
            _ => missed += 1,
        }
    }
    Ok(summarise(delays, missed, Duration::from_secs(1)))
}

/// P2: navigation to an interactive overview, `loads` times, on the page's own clock (ms since the
/// navigation started until the machines are rendered). Returns the samples, sorted.
pub async fn navigation(h: &Harness, loads: usize) -> anyhow::Result<Vec<f64>> {
    let mut samples = Vec::new();
    for _ in 0..loads {
        h.open("/").await?;
        let v = h
            .browser
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 const poll = () => document.querySelector('li[aria-label^=\"Machine \"]')
                     ? done(performance.now()) : requestAnimationFrame(poll);
                 poll();",
                vec![],
            )
            .await?;
        samples.push(v.as_f64().context("a number of milliseconds")?);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    Ok(samples)
}

/// P2c: a first visit on a cold cache, `loads` times: each in a new browser with a new profile (an empty
/// HTTP cache, no compiled WebAssembly kept, no session), ms on the page's clock from the navigation's
/// start until the console is interactive: its login form rendered and its first field focused (the
/// app's own code does that once it runs). Returns the samples, sorted.
pub async fn cold_visits(h: &Harness, loads: usize) -> anyhow::Result<Vec<f64>> {
    let mut samples = Vec::new();
    for _ in 0..loads {
        let visitor = h.another_browser().await?;
        visitor.open("/").await?;
        let v = visitor
            .browser
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 const poll = () => (document.activeElement && document.activeElement.name === 'user')
                     ? done(performance.now()) : requestAnimationFrame(poll);
                 poll();",
                vec![],
            )
            .await?;
        samples.push(v.as_f64().context("a number of milliseconds")?);
        visitor.finish().await?;
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    Ok(samples)
}

/// P6's figures, in milliseconds on the page's clock.
pub struct LargeFleet {
    /// From the fleet's arrival to the overview's first screen painted: every row of the short lists
    /// and the long list's window, measured and settled.
    pub render_ms: f64,
    /// From a jump to the page's end to the long list's last row painted.
    pub scroll_ms: f64,
    /// The first event's `cluster::apply` in the browser: it includes compiling that code (the
    /// browser compiles WebAssembly functions when they are first called).
    pub first_apply_ms: f64,
    /// Every later event's `cluster::apply`, sorted.
    pub applies: Vec<f64>,
}

/// P6: render the overview of a `machines`-machine fleet (at least 100: `scale-<n>` makes one long
/// standalone list, which is windowed), scroll to its end, and apply `events` events to the replica.
pub async fn large_fleet(machines: usize, events: usize) -> anyhow::Result<LargeFleet> {
    anyhow::ensure!(
        machines >= 100,
        "P6 needs at least 100 machines, so that the list is windowed"
    );
    let opts = ServerOptions {
        fixture: format!("scale-{machines}"),
        ..ServerOptions::default()
    };
    let standalone = cluster::fixture::scale(machines).standalone_machines().count();
    let h = Harness::start_with(opts).await?;
    h.login("admin", "ironport", "newyork.example.com").await?;
    h.open("/").await?;
    // Settled: the long list counts every standalone machine, its window is in the page, and two more
    // frames have passed (the window's first measurement runs in the frame after its rows render).
    let render_ms = h
        .browser
        .execute_async(
            "const n = arguments[0]; const done = arguments[arguments.length - 1];
             const ready = () => {
                 const list = document.querySelector('ul.machines.windowed');
                 const count = document.querySelector('.window-count');
                 return window.__cd && list && list.querySelector('li[aria-posinset] .hostname')
                     && count && count.textContent.startsWith(n + ' machines;');
             };
             const poll = () => ready()
                 ? requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - window.__cd.fleetAt)))
                 : requestAnimationFrame(poll);
             poll();",
            vec![json!(standalone)],
        )
        .await?
        .as_f64()
        .context("render time")?;
    let rows = h
        .browser
        .execute(
            "return document.querySelectorAll('li[aria-label^=\"Machine \"]').length",
            vec![],
        )
        .await?
        .as_u64()
        .context("row count")?;
    anyhow::ensure!(
        (rows as usize) < machines / 2,
        "{rows} of {machines} rows in the page: the list is not windowed"
    );
    let scroll_ms = h
        .browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const t = performance.now();
             window.scrollTo(0, document.documentElement.scrollHeight);
             const last = () => [...document.querySelectorAll('ul.machines.windowed > li')]
                 .some(li => li.getAttribute('aria-posinset') === li.getAttribute('aria-setsize') && li.querySelector('.hostname'));
             const poll = () => last() ? requestAnimationFrame(() => done(performance.now() - t)) : requestAnimationFrame(poll);
             poll();",
            vec![],
        )
        .await?
        .as_f64()
        .context("scroll time")?;
    let actor = ApiSession::login(&h.server, "ops", "ops-pass", "sf.example.com").await?;
    // Each round is a staged edit (the session's own) and its commit: one event, written to every
    // member's replica.
    for i in 0..events {
        actor
            .cli(&format!("smtproutes new p6-{i}.example.com mx.p6.example.com"))
            .await?;
        actor.cli("commit").await?;
    }
    let applied = h
        .browser
        .execute_async(
            "const n = arguments[0]; const done = arguments[arguments.length - 1];
             const poll = () => (window.__cd && window.__cd.applyMs && window.__cd.applyMs.length >= n)
                 ? done(window.__cd.applyMs.slice(-n)) : setTimeout(poll, 20);
             poll();",
            vec![json!(events)],
        )
        .await?;
    let mut applies: Vec<f64> = applied
        .as_array()
        .context("apply times")?
        .iter()
        .filter_map(|v| v.as_f64())
        .collect();
    anyhow::ensure!(!applies.is_empty(), "no event was applied in the browser");
    let first_apply_ms = applies.remove(0);
    applies.sort_by(|a, b| a.total_cmp(b));
    h.finish().await?;
    Ok(LargeFleet {
        render_ms,
        scroll_ms,
        first_apply_ms,
        applies,
    })
}

/// Issue 4's figure: `POST /api/v1/cli` latency for a staged setting change and its `commit`, one
/// administrator at a time (as a terminal is used), `iterations` times each. Returns (stage, commit).
pub async fn cli_latency(server: &Server, iterations: usize) -> anyhow::Result<(Load, Load)> {
    let admin = ApiSession::login(server, "admin", "ironport", "newyork.example.com").await?;
    let (mut stage, mut commit) = (Vec::new(), Vec::new());
    let started = Instant::now();
    for i in 0..iterations {
        let line = if i % 2 == 0 {
            "unsubscribe new bench.example.net"
        } else {
            "unsubscribe delete bench.example.net"
        };
        let t = Instant::now();
        let r = admin.cli(line).await?;
        anyhow::ensure!(r["status"] == "ok", "{line}: {r}");
        stage.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let r = admin.cli("commit").await?;
        anyhow::ensure!(r["status"] == "ok", "commit: {r}");
        commit.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let elapsed = started.elapsed();
    Ok((summarise(stage, 0, elapsed), summarise(commit, 0, elapsed)))
}

/// The resident memory of this process, in bytes (Linux `/proc/self/statm`).
pub fn rss_bytes() -> u64 {
    let pages: u64 = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse().ok()))
        .unwrap_or(0);
    pages * 4096
}

fn registry(dir: &std::path::Path, max_loaded: usize) -> Arc<server::registry::Registry> {
    server::registry::Registry::new(server::registry::Settings {
        data_dir: dir.to_path_buf(),
        speed: 7.0,
        idle_unload: Duration::from_secs(3600),
        max_loaded,
        sessions: Default::default(),
        audit_max_entries: 100_000,
    })
}

fn fleet_id(i: usize) -> server::registry::FleetId {
    server::registry::FleetId::parse(&format!("bench-{i}")).expect("a valid fleet name")
}

/// F1: creating `n` fleets from the `americas` fixture through the registry — the seed with its demo
/// credentials, the store file and its first snapshot, the engine thread. Returns sorted ms samples.
pub async fn fleet_creation(n: usize) -> anyhow::Result<Vec<f64>> {
    let dir = tempfile::tempdir()?;
    let reg = registry(dir.path(), n + 10);
    // The first fleet hashes the demo passwords (once per process); it is not counted.
    reg.create(&fleet_id(usize::MAX / 2), server::serve::seed(true, "americas")?)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut samples = Vec::new();
    for i in 0..n {
        let t = Instant::now();
        let seed = server::serve::seed(true, "americas")?;
        reg.create(&fleet_id(i), seed)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    reg.shutdown().await;
    samples.sort_by(|a, b| a.total_cmp(b));
    Ok(samples)
}

/// F2: `n` fleets loaded and idle in one registry; returns the resident bytes each adds.
pub async fn idle_fleets(n: usize) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let reg = registry(dir.path(), n + 10);
    reg.create(&fleet_id(usize::MAX / 2), server::serve::seed(true, "americas")?)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_bytes();
    for i in 0..n {
        reg.create(&fleet_id(i), server::serve::seed(true, "americas")?)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_bytes();
    reg.shutdown().await;
    Ok(after.saturating_sub(before) as f64 / n as f64)
}

/// F3: one server holding `fleets` fleets, one active session in each running [`durable_command`]
/// in a loop for `duration`. Returns the load.
/// How often an active session sends a command in F3: ten a second, far busier than an administrator at
/// a console (the sessions start spread over one pace, as independent users do).
pub const ACTIVE_PACE: Duration = Duration::from_millis(100);

pub async fn many_fleets(fleets: usize, duration: Duration) -> anyhow::Result<Load> {
    let dir = tempfile::tempdir()?;
    for i in 0..fleets {
        let out = std::process::Command::new(crate::server_binary())
            .args([
                "fleet",
                "create",
                &format!("f{i}"),
                "--fixture",
                "americas",
                "--demo",
                "--data-dir",
            ])
            .arg(dir.path())
            .output()?;
        anyhow::ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let server = Server::start_with(ServerOptions {
        data_dir: Some(dir.path().to_path_buf()),
        ..bench_options()
    })?;
    let mut cookies = Vec::new();
    for i in 0..fleets {
        let s = ApiSession::login_fleet(
            &server.url,
            Some(&format!("f{i}")),
            "admin",
            "ironport",
            "newyork.example.com",
        )
        .await?;
        cookies.push(s.cookie().to_string());
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(fleets * 2)
        .build()?;
    let url = server.url.clone();
    let cookies = Arc::new(cookies);
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    Ok(run_load(fleets, duration, Some(ACTIVE_PACE), move |i| {
        let (http, url, cookie) = (http.clone(), url.clone(), cookies[i].clone());
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async move {
            http.post(format!("{url}/api/v1/commands"))
                .header("cookie", cookie)
                .header("origin", url.clone())
                .json(&durable_command(n, "newyork.example.com"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await)
}

/// F4: `GET /api/v1/fleet` size and p50 latency with one session, then after `logins` more logins.
/// Returns ((bytes, p50 ms) before, (bytes, p50 ms) after).
pub async fn fleet_after_logins(logins: usize) -> anyhow::Result<((usize, f64), (usize, f64))> {
    let server = server()?;
    let reader = ApiSession::login(&server, "viewer", "viewer-pass", "newyork.example.com").await?;
    let measure = |reader: &ApiSession| {
        let reader = reader.clone();
        async move {
            let mut times = Vec::new();
            let mut size = 0;
            for _ in 0..30 {
                let t = Instant::now();
                let body = reader.get_text("/api/v1/fleet").await?;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                size = body.len();
            }
            times.sort_by(|a, b| a.total_cmp(b));
            Ok::<_, anyhow::Error>((size, percentile(&times, 50.0)))
        }
    };
    let before = measure(&reader).await?;
    let url = server.url.clone();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (url, next) = (url.clone(), next.clone());
            tokio::spawn(async move {
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < logins {
                    let _ = ApiSession::login_url(&url, "ops", "ops-pass", "sf.example.com").await;
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    let after = measure(&reader).await?;
    Ok((before, after))
}

/// The bytes the store holds for the newest event of the default fleet under `data_dir`.
fn newest_event_bytes(data_dir: &std::path::Path) -> anyhow::Result<usize> {
    let db = rusqlite::Connection::open_with_flags(
        data_dir.join("fleets/default.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    Ok(db.query_row(
        "SELECT length(body) FROM events ORDER BY revision DESC LIMIT 1",
        [],
        |r| r.get::<_, i64>(0),
    )? as usize)
}

/// E1: bytes appended to the event log by a commit that adds one row to a table, when the table is small
/// and when it already holds `rows` rows. Returns (small, large).
pub async fn event_bytes(rows: usize) -> anyhow::Result<(usize, usize)> {
    let server = server()?;
    let admin = ApiSession::login(&server, "admin", "ironport", "newyork.example.com").await?;
    let ok = |r: serde_json::Value| {
        anyhow::ensure!(r["status"] == "ok", "refused: {r}");
        Ok(())
    };
    ok(admin.cli("unsubscribe new seed.example.net").await?)?;
    ok(admin.cli("commit").await?)?;
    let small = newest_event_bytes(&server.data_dir)?;
    for i in 0..rows {
        ok(admin.cli(&format!("unsubscribe new bulk{i}.example.net")).await?)?;
    }
    ok(admin.cli("commit").await?)?;
    ok(admin.cli("unsubscribe new last.example.net").await?)?;
    ok(admin.cli("commit").await?)?;
    let large = newest_event_bytes(&server.data_dir)?;
    Ok((small, large))
}

/// The shipped demo scenarios (`scenarios/demo`).
fn demo_scenarios_dir() -> std::path::PathBuf {
    crate::repo_root().join("scenarios/demo")
}

/// Sandboxes in a registry of their own, with limits a benchmark does not reach.
fn sandboxes(
    dir: &std::path::Path,
    n: usize,
) -> anyhow::Result<(Arc<server::registry::Registry>, server::sandbox::Sandboxes)> {
    let reg = registry(dir, n + 10);
    let scenarios = server::sandbox::load_scenarios(&demo_scenarios_dir())?;
    let sb = server::sandbox::Sandboxes::open(
        dir,
        server::sandbox::SandboxOptions {
            ttl: Duration::from_secs(3600),
            max: n + 10,
            rate_per_minute: 100_000,
            max_shares: 10,
        },
        scenarios,
    )?;
    Ok((reg, sb))
}

/// S1 (issue 14): `n` sandboxes created from `scenario` one after the other (fleet, store, engine,
/// record, the visitor's session); sorted milliseconds.
pub async fn sandbox_creation(n: usize, scenario: &str) -> anyhow::Result<Vec<f64>> {
    let dir = tempfile::tempdir()?;
    let (reg, sb) = sandboxes(dir.path(), n + 1)?;
    let local = std::net::IpAddr::from([127, 0, 0, 1]);
    let mut samples = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        sb.create(&reg, scenario, local, None)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.error.message))?;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    reg.shutdown().await;
    samples.sort_by(|a, b| a.total_cmp(b));
    Ok(samples)
}

/// S2: `n` live, idle sandboxes of the `americas` scenario (fleet loaded, one session each); the
/// resident bytes each adds.
pub async fn idle_sandboxes(n: usize) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let (reg, sb) = sandboxes(dir.path(), n + 1)?;
    let local = std::net::IpAddr::from([127, 0, 0, 1]);
    sb.create(&reg, "americas", local, None)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.error.message))?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_bytes();
    for _ in 0..n {
        sb.create(&reg, "americas", local, None)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.error.message))?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_bytes();
    anyhow::ensure!(reg.loaded().await.len() == n + 1, "every sandbox stays loaded");
    reg.shutdown().await;
    Ok(after.saturating_sub(before) as f64 / n as f64)
}

/// S3: `visitors` against a demo server, arriving spread over `arrive_over` (zero: all at the same
/// instant), each starting a sandbox (`POST /api/v1/sandboxes`) and running the first step of the seed's
/// procedure in it (`clusterconfig disconnect losangeles.example.com`, then `clusterconfig list`). Every
/// request is timed.
pub async fn sandbox_visitors(visitors: usize, arrive_over: Duration) -> anyhow::Result<Load> {
    let mut opts = bench_options();
    opts.flags.extend(
        [
            "--sandbox",
            "--sandbox-scenarios",
            &demo_scenarios_dir().display().to_string(),
            "--sandbox-rate",
            "100000",
            "--sandbox-max",
            &(visitors + 10).to_string(),
        ]
        .map(str::to_string),
    );
    let server = Server::start_with(opts)?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(visitors * 2)
        .timeout(Duration::from_secs(30))
        .build()?;
    let started = Instant::now();
    let tasks: Vec<_> = (0..visitors)
        .map(|i| {
            let (http, url) = (http.clone(), server.url.clone());
            let arrives = arrive_over.mul_f64(i as f64 / visitors as f64);
            tokio::spawn(async move {
                tokio::time::sleep(arrives).await;
                let mut samples = Vec::new();
                let mut errors = 0;
                let t = Instant::now();
                let r = http
                    .post(format!("{url}/api/v1/sandboxes"))
                    .header("origin", url.clone())
                    .json(&json!({"scenario": "americas"}))
                    .send()
                    .await;
                let cookie = match r {
                    Ok(r) if r.status().is_success() => r
                        .headers()
                        .get_all("set-cookie")
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .find(|v| v.starts_with("cd_session=") && !v.starts_with("cd_session=;"))
                        .and_then(|v| v.split(';').next())
                        .map(str::to_string),
                    _ => None,
                };
                samples.push(t.elapsed().as_secs_f64() * 1000.0);
                let Some(cookie) = cookie else {
                    return (samples, 1);
                };
                for line in [
                    "clusterconfig disconnect losangeles.example.com",
                    "clusterconfig list",
                ] {
                    let t = Instant::now();
                    let ok = http
                        .post(format!("{url}/api/v1/cli"))
                        .header("origin", url.clone())
                        .header("cookie", cookie.clone())
                        .json(&json!({"line": line}))
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    samples.push(t.elapsed().as_secs_f64() * 1000.0);
                    if !ok {
                        errors += 1;
                    }
                }
                (samples, errors)
            })
        })
        .collect();
    let mut samples = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (s, e) = t.await?;
        samples.extend(s);
        errors += e;
    }
    Ok(summarise(samples, errors, started.elapsed()))
}

/// A Lua long-bracket string literal of `s` (no escapes are read inside one), with a level of `=`
/// that `s` does not contain.
fn lua_string(s: &str) -> String {
    let mut level = String::from("=");
    while s.contains(&format!("]{level}]")) {
        level.push('=');
    }
    format!("[{level}[{s}]{level}]")
}

/// The Lua script `wrk` runs for P3: every request is `body` to `path`, sent with the next of
/// `cookies` in turn (one session per cookie), and `done` prints one JSON line of the figures. Any
/// reply outside 2xx counts as an error (wrk's own status count is only > 399); each thread counts
/// its own, and `done` adds them up.
fn wrk_script(method: &str, path: &str, body: Option<&str>, cookies: &[String], origin: &str) -> String {
    let list = cookies
        .iter()
        .map(|c| lua_string(c))
        .collect::<Vec<_>>()
        .join(", ");
    let body = body.map(lua_string).unwrap_or_else(|| "nil".into());
    let (method, path, origin) = (lua_string(method), lua_string(path), lua_string(origin));
    format!(
        r#"local cookies = {{ {list} }}
local n = 0
local threads = {{}}
not_ok = 0
setup = function(thread) table.insert(threads, thread) end
request = function()
  n = n + 1
  local headers = {{ ["content-type"] = "application/json", ["origin"] = {origin} }}
  if #cookies > 0 then headers["cookie"] = cookies[(n % #cookies) + 1] end
  return wrk.format({method}, {path}, headers, {body})
end
response = function(status, headers, body)
  if status < 200 or status > 299 then not_ok = not_ok + 1 end
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  for _, t in ipairs(threads) do errors = errors + t:get("not_ok") end
  io.write(string.format('{{"requests": %d, "errors": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, "seconds": %f}}\n',
    summary.requests, errors, latency:percentile(50), latency:percentile(99), latency.max, summary.duration / 1e6))
end
"#
    )
}

/// P3 by `wrk` (Debian's package, an established load generator): `connections` connections for
/// `duration` sending `POST /api/v1/commands` with `runtime suspend` on newyork — a command that
/// appends one durable `MachineSuspended` event on every repetition — from `connections` sessions in
/// turn, then the bare `GET /api/v1/health` the same way in the same server. Returns (commands, bare)
/// as wrk's `done` printed them.
pub async fn commands_load_wrk(
    server: &Server,
    wrk: &str,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<(serde_json::Value, serde_json::Value)> {
    let mut cookies = Vec::new();
    for _ in 0..connections {
        let s = ApiSession::login(server, "admin", "ironport", "newyork.example.com").await?;
        cookies.push(s.cookie().to_string());
    }
    let body =
        json!({"command": {"command": "runtime", "op": "suspend"}, "mode": "machine:newyork.example.com"})
            .to_string();
    let dir = std::env::temp_dir().join(format!("clusterdeck-wrk-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let run = |name: &str, script: String| -> anyhow::Result<serde_json::Value> {
        let path = dir.join(name);
        std::fs::write(&path, script)?;
        let out = std::process::Command::new(wrk)
            .args(["-t", "2", "-c", &connections.to_string()])
            .args([
                "-d",
                &format!("{}s", duration.as_secs().max(1)),
                "--timeout",
                "10s",
                "-s",
            ])
            .arg(&path)
            .arg(&server.url)
            .output()
            .with_context(|| format!("cannot run {wrk} (Debian's package wrk)"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().find(|l| l.starts_with('{')).with_context(|| {
            format!(
                "wrk printed no figures: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        Ok(serde_json::from_str(line)?)
    };
    let commands = run(
        "commands.lua",
        wrk_script("POST", "/api/v1/commands", Some(&body), &cookies, &server.url),
    )?;
    let bare = run(
        "bare.lua",
        wrk_script("GET", "/api/v1/health", None, &[], &server.url),
    )?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok((commands, bare))
}

/// What one `oha` run printed (its `--output-format json`), in the figures P3 reads.
#[derive(Debug, Clone, Copy)]
pub struct OhaRun {
    pub requests: f64,
    pub per_second: f64,
    pub success_rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// P3 by `oha` (crates.io, an established load generator that corrects for coordinated omission):
/// `POST /api/v1/commands` with `runtime suspend` on newyork (one durable event every time) from one
/// session over `connections` connections, for `duration` each:
/// - closed loop, as fast as the server answers (the throughput);
/// - open loop at `rate` requests a second, latency counted from when each request was due
///   (`--latency-correction`), so a stall counts against every request it delayed;
/// - the bare `GET /api/v1/health`, closed loop, in the same server.
///
/// Returns (closed, open, bare).
pub async fn commands_load_oha(
    server: &Server,
    oha: &str,
    connections: usize,
    rate: u32,
    duration: Duration,
) -> anyhow::Result<(OhaRun, OhaRun, OhaRun)> {
    let session = ApiSession::login(server, "admin", "ironport", "newyork.example.com").await?;
    let body =
        json!({"command": {"command": "runtime", "op": "suspend"}, "mode": "machine:newyork.example.com"})
            .to_string();
    let seconds = format!("{}s", duration.as_secs().max(1));
    let run = |extra: &[&str], post: bool, path: &str| -> anyhow::Result<OhaRun> {
        let mut cmd = std::process::Command::new(oha);
        cmd.args(["--no-tui", "--output-format", "json", "-z", &seconds])
            .args(["-c", &connections.to_string()])
            .args(extra);
        if post {
            cmd.args(["-m", "POST", "-d", &body])
                .args(["-H", &format!("cookie: {}", session.cookie())])
                .args(["-H", "content-type: application/json"])
                .args(["-H", &format!("origin: {}", server.url)]);
        }
        let out = cmd
            .arg(format!("{}{path}", server.url))
            .output()
            .with_context(|| format!("cannot run {oha} (crates.io's oha)"))?;
        anyhow::ensure!(
            out.status.success(),
            "oha failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).context("oha's JSON")?;
        let ok: f64 = v["statusCodeDistribution"]
            .as_object()
            .map(|codes| {
                codes
                    .iter()
                    .filter(|(code, _)| code.starts_with('2'))
                    .filter_map(|(_, n)| n.as_f64())
                    .sum()
            })
            .unwrap_or(0.0);
        let all: f64 = v["statusCodeDistribution"]
            .as_object()
            .map(|codes| codes.values().filter_map(|n| n.as_f64()).sum())
            .unwrap_or(0.0);
        let ms = |key: &str| v["latencyPercentiles"][key].as_f64().unwrap_or(f64::NAN) * 1e3;
        Ok(OhaRun {
            requests: all,
            per_second: v["summary"]["requestsPerSec"].as_f64().unwrap_or(f64::NAN),
            // Answers outside 2xx count against it as much as oha's own failures.
            success_rate: v["summary"]["successRate"].as_f64().unwrap_or(0.0) * ok / all.max(1.0),
            p50_ms: ms("p50"),
            p99_ms: ms("p99"),
        })
    };
    let closed = run(&[], true, "/api/v1/commands")?;
    let open = run(
        &["-q", &rate.to_string(), "--latency-correction"],
        true,
        "/api/v1/commands",
    )?;
    let bare = run(&[], false, "/api/v1/health")?;
    Ok((closed, open, bare))
}
