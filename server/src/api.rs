//! HTTP API v1: thin handlers that read the engine's state and map errors to JSON.

use std::sync::Arc;

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use cluster::Fleet;
use serde::Serialize;
use tokio::sync::RwLock;

/// Shared state of the HTTP layer.
#[derive(Clone)]
pub struct AppState {
    pub fleet: Arc<RwLock<Fleet>>,
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    revision: u64,
    version: &'static str,
}

async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let revision = state.fleet.read().await.revision;
    Json(Health {
        status: "ok",
        revision,
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// `GET /api/v1/fleet`: the whole fleet with its revision.
async fn fleet(State(state): State<AppState>) -> impl IntoResponse {
    let fleet = state.fleet.read().await;
    Json(cluster::wire::FleetResponse {
        revision: fleet.revision,
        fleet: fleet.clone(),
    })
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/fleet", get(fleet))
        .with_state(state)
}
