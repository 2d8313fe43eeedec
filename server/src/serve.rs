//! `clusterdeck serve`: open the store, load (or seed) the fleet, run the engine, serve HTTP until a
//! shutdown signal, then flush a final snapshot.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use std::time::Duration;

use anyhow::{bail, Context};

use crate::api::AppState;
use crate::registry::{self, FleetId, Registry};

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
    let mut fleet = cluster::fixture::by_name(fixture)
        .with_context(|| format!("unknown fixture \"{fixture}\": use americas, standalone or scale-<n>"))?;
    if !demo {
        let password = std::env::var("CLUSTERDECK_ADMIN_PASSWORD").unwrap_or_default();
        if let Err(reason) = cluster::names::password_policy(&password) {
            bail!(
                "a new data directory needs an admin password: set CLUSTERDECK_ADMIN_PASSWORD (it {reason}), \
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
    let registry = Registry::new(registry::Settings {
        data_dir: opts.data_dir.clone(),
        speed: opts.speed,
        idle_unload: Duration::from_secs(opts.fleet_idle_secs),
        max_loaded: opts.max_loaded_fleets,
        sessions: crate::engine::SessionLimits {
            idle_secs: opts.session_idle_timeout as i64,
            lifetime_secs: opts.session_lifetime as i64,
        },
    });
    let default = FleetId::default_fleet();
    if !registry::fleet_path(&opts.data_dir, &default).exists() {
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
    let state = AppState {
        registry: registry.clone(),
        throttle: Arc::new(Mutex::new(Default::default())),
    };
    let sweeper = {
        let registry = registry.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                registry.sweep().await;
            }
        })
    };
    let app = crate::http::app(state, opts.site_dir.clone());
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.listen))?;
    let addr = listener.local_addr()?;
    // The first line on stdout names the address; tests and xtask read it to find a port-0 server.
    println!("listening on http://{addr}");
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    sweeper.abort();
    registry.shutdown().await;
    tracing::info!("server stopped; stores flushed");
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
