//! `clusterdeck serve`: open the store, load (or seed) the fleet, run the engine, serve HTTP until a
//! shutdown signal, then flush a final snapshot.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use std::time::Duration;

use anyhow::{bail, Context};

use crate::api::AppState;
use crate::registry::{self, FleetId, Registry};
use crate::site::Site;

/// Options of `clusterdeck serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeOptions {
    /// Address to listen on.
    #[arg(long, env = "CLUSTERDECK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory holding the SQLite store; created and seeded with the `americas` fixture on first start.
    #[arg(long, env = "CLUSTERDECK_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Directory of the built site (`cargo xtask build`).
    #[arg(long, env = "CLUSTERDECK_SITE_DIR", default_value = "./site")]
    pub site_dir: PathBuf,
    /// How many times faster than real time the simulation runs (an upgrade takes 7 simulated minutes).
    #[arg(long, env = "CLUSTERDECK_SPEED", default_value_t = 7.0)]
    pub speed: f64,
    /// Seed with the demo credentials (admin/ironport, ops/ops-pass, ...). Without it, the first start
    /// needs CLUSTERDECK_ADMIN_PASSWORD, which replaces the demo passwords and removes the other demo users.
    #[arg(long, env = "CLUSTERDECK_DEMO")]
    pub demo: bool,
    /// The fixture a new data directory's default fleet is seeded with: americas (default), standalone,
    /// or scale-<n>.
    #[arg(long, env = "CLUSTERDECK_FIXTURE", default_value = "americas")]
    pub fixture: String,
    /// Unload a fleet nobody has used (or watched) for this many seconds; it loads again on next use.
    #[arg(long, env = "CLUSTERDECK_FLEET_IDLE_SECS", default_value_t = 600)]
    pub fleet_idle_secs: u64,
    /// Fleets loaded at once at most; past it the idlest is unloaded.
    #[arg(long, env = "CLUSTERDECK_MAX_LOADED_FLEETS", default_value_t = 1000)]
    pub max_loaded_fleets: usize,
    /// A session with no request for this many (real) seconds ends.
    #[arg(long, env = "CLUSTERDECK_SESSION_IDLE_TIMEOUT", default_value_t = 1800,
          value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub session_idle_timeout: u64,
    /// A session ends this many (real) seconds after its login, however active.
    #[arg(long, env = "CLUSTERDECK_SESSION_LIFETIME", default_value_t = 43_200,
          value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub session_lifetime: u64,
    /// Audit entries each fleet keeps; as new ones come, the oldest are dropped.
    #[arg(long, env = "CLUSTERDECK_AUDIT_MAX_ENTRIES", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(100..=100_000_000))]
    pub audit_max_entries: u64,
    /// The URL browsers reach the console at (e.g. https://console.example.com behind a TLS proxy).
    /// Requests naming another Host are refused; changes must carry its Origin; over https the session
    /// cookie is Secure and __Host- prefixed. Default: the listen address (localhost and 127.0.0.1 alike
    /// when it is a loopback address).
    #[arg(long, env = "CLUSTERDECK_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// A reverse proxy (its address) whose X-Forwarded-For names the client, for login throttling;
    /// repeat for several.
    #[arg(
        long = "trusted-proxy",
        env = "CLUSTERDECK_TRUSTED_PROXY",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Seconds a client has to send a request's headers (and an idle connection stays open).
    #[arg(long, env = "CLUSTERDECK_HEADER_READ_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout: u64,
    /// Open connections one client address may hold.
    #[arg(long, env = "CLUSTERDECK_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections_per_address: u64,
    /// Open connections in all.
    #[arg(long, env = "CLUSTERDECK_MAX_CONNECTIONS", default_value_t = 4096,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
    /// Sandbox mode, for a public demo (rules §18): the start page lists the scenarios; each visitor gets
    /// a fleet of their own from the one they choose, discarded after --sandbox-ttl idle seconds. The
    /// default fleet is closed.
    #[arg(long, env = "CLUSTERDECK_SANDBOX")]
    pub sandbox: bool,
    /// A sandbox nobody used for this many (real) seconds is discarded.
    #[arg(long, env = "CLUSTERDECK_SANDBOX_TTL", default_value_t = 1800,
          value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub sandbox_ttl: u64,
    /// Live sandboxes at most; past it the one idle longest is discarded, and when every one is in use
    /// the demo is full.
    #[arg(long, env = "CLUSTERDECK_SANDBOX_MAX", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub sandbox_max: u64,
    /// Sandboxes one client address may start (or fork) per minute.
    #[arg(long, env = "CLUSTERDECK_SANDBOX_RATE", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub sandbox_rate: u32,
    /// The scenario scripts sandboxes start from (every `*.script` of the directory).
    #[arg(
        long,
        env = "CLUSTERDECK_SANDBOX_SCENARIOS",
        default_value = "./scenarios/demo"
    )]
    pub sandbox_scenarios: PathBuf,
    /// Shares kept at most (the oldest go first).
    #[arg(long, env = "CLUSTERDECK_SANDBOX_MAX_SHARES", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub sandbox_max_shares: u64,
    /// Serve the test API under /api/v1/test (docs/testing.md): test fleets, their clocks, faults and
    /// exports, without authentication — for end-to-end suites. Refused unless listening on a loopback
    /// address (or with --test-api-allow-remote).
    #[arg(long, env = "CLUSTERDECK_TEST_API")]
    pub test_api: bool,
    /// Allow --test-api on an address other machines reach (anyone who reaches it controls every test
    /// fleet).
    #[arg(long, env = "CLUSTERDECK_TEST_API_ALLOW_REMOTE", requires = "test_api")]
    pub test_api_allow_remote: bool,
}

impl ServeOptions {
    /// The options from the environment and defaults alone (`clusterdeck` with no arguments).
    pub fn parse_default() -> ServeOptions {
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            opts: ServeOptions,
        }
        <Only as clap::Parser>::parse_from(["clusterdeck"]).opts
    }
}

/// The default fleet of a new data directory.
pub fn seed(demo: bool, fixture: &str) -> anyhow::Result<cluster::Fleet> {
    let fleet = cluster::fixture::by_name(fixture)
        .with_context(|| format!("unknown fixture \"{fixture}\": use americas, standalone or scale-<n>"))?;
    credentials(fleet, demo)
}

/// Gives a new fleet its credentials: with `demo`, the demo users and passwords the README publishes;
/// otherwise `CLUSTERDECK_ADMIN_PASSWORD` replaces them (and the other demo users go). Passwords are
/// hashed either way.
pub fn credentials(mut fleet: cluster::Fleet, demo: bool) -> anyhow::Result<cluster::Fleet> {
    if !demo {
        let password = std::env::var("CLUSTERDECK_ADMIN_PASSWORD").unwrap_or_default();
        if let Err(reason) = cluster::names::password_policy(&password) {
            bail!(
                "a new fleet needs an admin password: set CLUSTERDECK_ADMIN_PASSWORD (it {reason}), \
                 or pass --demo for the demo credentials"
            );
        }
        cluster::fixture::replace_demo_credentials(&mut fleet, &password);
        crate::auth::hash_fleet(&mut fleet)?;
    } else {
        crate::auth::hash_demo_fleet(&mut fleet)?;
    }
    Ok(fleet)
}

pub async fn run(opts: ServeOptions) -> anyhow::Result<()> {
    if !(opts.speed.is_finite() && opts.speed > 0.0 && opts.speed <= 10_000.0) {
        bail!(
            "--speed must be a number above 0 and at most 10000, not {}",
            opts.speed
        );
    }
    let legacy = opts.data_dir.join("clusterdeck.db");
    if legacy.exists() {
        bail!(
            "{} was written by an earlier Clusterdeck that kept one fleet per data directory; this version keeps \
             one file per fleet under {}. Move the old directory away (or pass another --data-dir) to start fresh.",
            legacy.display(),
            registry::fleets_dir(&opts.data_dir).display()
        );
    }
    if opts.test_api && !opts.listen.ip().is_loopback() && !opts.test_api_allow_remote {
        bail!(
            "--test-api serves unauthenticated control of test fleets: listen on a loopback address (127.0.0.1 or [::1]), \
             not {}, or pass --test-api-allow-remote",
            opts.listen
        );
    }
    if opts.test_api && opts.sandbox {
        bail!("--test-api and --sandbox do not go together: a public demo must not serve the test API");
    }
    check_writable(&opts.data_dir)?;
    let _lock = lock_data_dir(&opts.data_dir)?;
    let registry = Registry::new(registry::Settings {
        data_dir: opts.data_dir.clone(),
        speed: opts.speed,
        idle_unload: Duration::from_secs(opts.fleet_idle_secs),
        max_loaded: opts.max_loaded_fleets,
        sessions: crate::engine::SessionLimits {
            idle_secs: opts.session_idle_timeout as i64,
            lifetime_secs: opts.session_lifetime as i64,
        },
        audit_max_entries: opts.audit_max_entries,
    });
    let sandboxes = if opts.sandbox {
        let scenarios = crate::sandbox::load_scenarios(&opts.sandbox_scenarios)?;
        tracing::info!(scenarios = scenarios.len(), "sandbox mode");
        Some(Arc::new(crate::sandbox::Sandboxes::open(
            &opts.data_dir,
            crate::sandbox::SandboxOptions {
                ttl: Duration::from_secs(opts.sandbox_ttl),
                max: opts.sandbox_max as usize,
                rate_per_minute: opts.sandbox_rate,
                max_shares: opts.sandbox_max_shares as usize,
            },
            scenarios,
        )?))
    } else {
        None
    };
    let default = FleetId::default_fleet();
    // In sandbox mode the default fleet is closed: it is not seeded.
    if sandboxes.is_none() && !registry::fleet_path(&opts.data_dir, &default).exists() {
        let fleet = seed(opts.demo, &opts.fixture)?;
        registry.create(&default, fleet).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot create the default fleet in {}: {e}",
                opts.data_dir.display()
            )
        })?;
        tracing::info!(data_dir = %opts.data_dir.display(), "default fleet seeded");
    }
    if !opts.site_dir.join("index.html").exists() {
        tracing::warn!(site_dir = %opts.site_dir.display(), "no index.html in the site directory: run `cargo xtask build`");
    }
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.listen))?;
    let addr = listener.local_addr()?;
    let site =
        Site::new(opts.public_url.as_deref(), addr).map_err(|e| anyhow::anyhow!("--public-url: {e}"))?;
    if opts.public_url.is_none() && addr.ip().is_unspecified() {
        tracing::warn!(
            "listening on every address without --public-url: only IP addresses and localhost are accepted \
             as the Host; pass --public-url to be reached by name"
        );
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let state = AppState {
        registry: registry.clone(),
        throttle: Arc::new(Mutex::new(Default::default())),
        site: Arc::new(site),
        stopping: stop_rx.clone(),
        sandboxes: sandboxes.clone(),
        test_api: opts.test_api,
    };
    let sweeper = {
        let registry = registry.clone();
        let sandboxes = sandboxes.clone();
        // A short time to live is checked as often as it needs (tests use a few seconds).
        let every = Duration::from_secs(opts.sandbox_ttl.clamp(1, 5));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if let Some(sb) = &sandboxes {
                    sb.sweep(&registry).await;
                }
                registry.sweep().await;
            }
        })
    };
    let app = crate::http::app(state, opts.site_dir.clone());
    // The first line on stdout names the address; tests and xtask read it to find a port-0 server.
    println!("listening on http://{addr}");
    let limits = crate::listen::Limits {
        header_read_timeout: Duration::from_secs(opts.header_read_timeout),
        per_address: opts.max_connections_per_address as usize,
        total: opts.max_connections as usize,
        drain: Duration::from_secs(3),
    };
    let server = tokio::spawn(crate::listen::serve(listener, app, limits, stop_rx));
    shutdown_signal().await;
    // Event streams end, connections finish what they answer (a few seconds at most), then every
    // fleet writes its final snapshot.
    let _ = stop_tx.send(true);
    let _ = server.await;
    sweeper.abort();
    if let Some(sb) = &sandboxes {
        sb.save_all();
    }
    registry.shutdown().await;
    tracing::info!("server stopped; stores flushed");
    Ok(())
}

/// Holds the data directory for this server: a second `serve` on it would write the same stores and
/// break the first one's (a revision written twice), so it is refused, naming the holder. The lock goes
/// with the process (also when it is killed); `clusterdeck fleet` does not take it.
fn lock_data_dir(data_dir: &std::path::Path) -> anyhow::Result<std::fs::File> {
    use std::io::{Read, Seek, Write};
    use std::os::unix::fs::OpenOptionsExt;
    let path = registry::fleets_dir(data_dir).join(".serve.lock");
    let mut file = std::fs::OpenOptions::new()
        .mode(0o600)
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    if file.try_lock().is_err() {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        bail!(
            "another `clusterdeck serve` ({}) is using the data directory {}: stop it, or pass another --data-dir",
            holder.trim().chars().take(60).collect::<String>(),
            data_dir.display()
        );
    }
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "pid {}", std::process::id())?;
    file.sync_all()?;
    Ok(file)
}

/// Refuses to start on a data directory the server could not write: SQLite maps its `-shm` file, and
/// an unwritable one kills the process with SIGBUS later (issue 11 item 8).
pub fn check_writable(data_dir: &std::path::Path) -> anyhow::Result<()> {
    let fleets = registry::fleets_dir(data_dir);
    std::fs::create_dir_all(&fleets)
        .with_context(|| format!("cannot create the data directory {}", fleets.display()))?;
    let probe = fleets.join(".write-probe");
    std::fs::write(&probe, b"ok")
        .and_then(|()| std::fs::remove_file(&probe))
        .with_context(|| format!("the data directory {} is not writable", fleets.display()))?;
    for entry in std::fs::read_dir(&fleets).with_context(|| format!("cannot list {}", fleets.display()))? {
        let path = entry?.path();
        if path.is_file() {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .with_context(|| {
                    format!(
                        "{} is not writable by this user; fix its owner or mode",
                        path.display()
                    )
                })?;
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown signal received");
}
