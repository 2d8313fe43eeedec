//! `clusterdeck serve`: open the store, load or seed the fleet, serve HTTP until a shutdown signal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::RwLock;

use crate::api::AppState;
use crate::store::{self, SqliteStore};

/// Options of `clusterdeck serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeOptions {
    /// Address to listen on.
    #[arg(long, env = "CLUSTERDECK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory holding the SQLite store; created and seeded with the demo fixture on first start.
    #[arg(long, env = "CLUSTERDECK_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Directory of the built site (`cargo xtask build`).
    #[arg(long, env = "CLUSTERDECK_SITE_DIR", default_value = "./site")]
    pub site_dir: PathBuf,
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

pub async fn run(opts: ServeOptions) -> anyhow::Result<()> {
    let mut store = SqliteStore::open(&opts.data_dir)?;
    let fleet = store::load_or_seed(&mut store, cluster::fixture::americas)?;
    tracing::info!(revision = fleet.revision, data_dir = %opts.data_dir.display(), "fleet loaded");
    if !opts.site_dir.join("index.html").exists() {
        tracing::warn!(site_dir = %opts.site_dir.display(), "no index.html in the site directory: run `cargo xtask build`");
    }
    let state = AppState {
        fleet: Arc::new(RwLock::new(fleet)),
    };
    let app = crate::http::app(state, opts.site_dir.clone());
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.listen))?;
    let addr = listener.local_addr()?;
    // The first line on stdout names the address; tests and xtask read it to find a port-0 server.
    println!("listening on http://{addr}");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("server stopped");
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
