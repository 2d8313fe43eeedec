//! The test API (`clusterdeck serve --test-api`, issue 15, `docs/testing.md`): other people's end-to-end
//! suites make isolated fleets, control their simulated clocks, raise faults and export the log, under
//! `/api/v1/test`. Off by default; refused on a non-loopback address unless `--test-api-allow-remote`.
//! Its requests need no `Origin` (a foreign one is still refused).

// These helpers answer with the handlers' own error, which the handlers return as it is.
#![allow(clippy::result_large_err)]

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::api::{AppError, AppState};
use crate::engine::{
    ClockChange, ClockState, Engine, EngineError, Request as EngineRequest, SimulatorResponse,
};
use crate::registry::FleetId;

/// The longest a single advance may move a clock, and the most a script's `@wait`s may add up to: one
/// simulated day (every time-driven transition of the interval is applied before the answer, which for
/// a large fleet is many events: the bound keeps a call well under the request timeout).
pub const MAX_ADVANCE_SECS: i64 = 86_400;

/// The fastest a test may run a clock.
pub const MAX_SPEED: f64 = 10_000.0;

/// The longest script a test fleet is made from.
pub const MAX_SCRIPT_BYTES: usize = 60 * 1024;

/// `POST /api/v1/test/fleets`: a fixture's name or a script (the rules §11 format).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFleet {
    #[serde(default)]
    pub fixture: Option<String>,
    #[serde(default)]
    pub script: Option<String>,
}

/// A new test fleet.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FleetCreated {
    pub fleet: String,
}

/// `POST /api/v1/test/fleets/{id}/clock`: exactly one of the three.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockRequest {
    #[serde(default)]
    pub freeze: Option<bool>,
    #[serde(default)]
    pub advance_seconds: Option<i64>,
    #[serde(default)]
    pub speed: Option<f64>,
}

/// Refuses a script whose `@wait`s add up to more than [`MAX_ADVANCE_SECS`].
fn check_waits(text: &str) -> Result<(), AppError> {
    let total = cluster::script::total_wait_secs(text);
    if total > MAX_ADVANCE_SECS {
        return Err(AppError::new(
            422,
            "script_too_long",
            format!(
                "script: its @waits add up to {total} s; at most {MAX_ADVANCE_SECS} s (a simulated day) in one call — split it."
            ),
        ));
    }
    Ok(())
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, AppError> {
    b.map(|Json(v)| v).map_err(|e| {
        AppError::new(
            e.status().as_u16(),
            "bad_body",
            format!("The body is not what this endpoint takes: {}.", e.body_text()),
        )
    })
}

/// The test fleet named by the path (`t-` and 32 hex digits).
fn fleet_id(path: Result<Path<String>, PathRejection>) -> Result<FleetId, AppError> {
    let raw = path.map(|Path(p)| p).unwrap_or_default();
    let ok = raw
        .strip_prefix("t-")
        .is_some_and(|h| h.len() == 32 && h.chars().all(|c| c.is_ascii_hexdigit()));
    ok.then(|| FleetId::parse(&raw).ok())
        .flatten()
        .ok_or_else(|| unknown(&raw))
}

fn unknown(id: &str) -> AppError {
    AppError::new(
        404,
        "unknown_fleet",
        format!(
            "No test fleet \"{}\": test fleets are made by POST /api/v1/test/fleets (names t-<32 hex digits>).",
            id.chars().take(70).collect::<String>()
        ),
    )
}

async fn engine(state: &AppState, id: &FleetId) -> Result<Engine, AppError> {
    state.registry.get(id).await.map_err(|e| match e {
        EngineError::UnknownFleet { .. } => unknown(id.as_str()),
        other => other.into(),
    })
}

/// A new test fleet from a fixture or a script, with the demo users and passwords.
#[utoipa::path(post, path = "/api/v1/test/fleets", request_body = NewFleet,
    responses((status = 201, body = FleetCreated), (status = 422, body = cluster::wire::ApiError)))]
pub async fn create(
    State(state): State<AppState>,
    b: Result<Json<NewFleet>, JsonRejection>,
) -> Result<Response, AppError> {
    let b = body(b)?;
    let seed = match (b.fixture.as_deref(), b.script.as_deref()) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(AppError::new(
                422,
                "bad_body",
                "Give either \"fixture\" (a fixture's name) or \"script\" (a script's text), not both.",
            ))
        }
        (Some(f), None) => cluster::fixture::by_name(f).ok_or_else(|| {
            AppError::new(
                422,
                "unknown_fixture",
                format!(
                    "fixture: no fixture \"{}\"; use {}, or scale-<n>.",
                    f.chars().take(64).collect::<String>(),
                    cluster::fixture::FIXTURES.join(", ")
                ),
            )
        })?,
        (None, Some(text)) => {
            if text.len() > MAX_SCRIPT_BYTES {
                return Err(AppError::new(
                    413,
                    "script_too_long",
                    format!("script: at most {MAX_SCRIPT_BYTES} bytes."),
                ));
            }
            check_waits(text)?;
            let text = text.to_string();
            let outcome = tokio::task::spawn_blocking(move || cluster::script::run(&text, None))
                .await
                .map_err(|_| AppError::from(EngineError::Busy))?;
            if let Some(f) = outcome.failure {
                return Err(AppError::new(
                    422,
                    "script_failed",
                    format!("script: line {}: {}\n    {}", f.line, f.why, f.text),
                ));
            }
            outcome.fleet
        }
    };
    let seed = crate::serve::credentials(seed, true).map_err(|e| {
        tracing::error!(error = %format!("{e:#}"), "cannot hash a test fleet's passwords");
        AppError::from(EngineError::Storage)
    })?;
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| AppError::from(EngineError::Busy))?;
    let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let id = FleetId::parse(&format!("t-{name}")).map_err(|m| AppError::new(500, "internal", m))?;
    state.registry.create(&id, seed).await?;
    tracing::info!(fleet = %id, "test fleet created");
    Ok((
        StatusCode::CREATED,
        Json(FleetCreated {
            fleet: id.to_string(),
        }),
    )
        .into_response())
}

/// Removes a test fleet (its sessions end).
#[utoipa::path(delete, path = "/api/v1/test/fleets/{id}",
    params(("id" = String, Path, description = "the test fleet")),
    responses((status = 204), (status = 404, body = cluster::wire::ApiError)))]
pub async fn remove(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, AppError> {
    let id = fleet_id(path)?;
    state.registry.delete(&id).await.map_err(|e| match e {
        EngineError::UnknownFleet { .. } => unknown(id.as_str()),
        other => other.into(),
    })?;
    Ok(StatusCode::NO_CONTENT)
}

/// Freezes, speeds or advances the fleet's simulated clock; answers once every transition due by the
/// new time has happened.
#[utoipa::path(post, path = "/api/v1/test/fleets/{id}/clock", request_body = ClockRequest,
    params(("id" = String, Path, description = "the test fleet")),
    responses((status = 200, body = ClockState), (status = 404, body = cluster::wire::ApiError),
              (status = 422, body = cluster::wire::ApiError)))]
pub async fn clock(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    b: Result<Json<ClockRequest>, JsonRejection>,
) -> Result<Json<ClockState>, AppError> {
    let id = fleet_id(path)?;
    let b = body(b)?;
    let change = match (b.freeze, b.advance_seconds, b.speed) {
        (Some(f), None, None) => ClockChange::Freeze(f),
        (None, Some(n), None) if (0..=MAX_ADVANCE_SECS).contains(&n) => ClockChange::Advance(n),
        (None, Some(n), None) => {
            return Err(AppError::new(
                422,
                "bad_clock",
                format!(
                    "advance_seconds: from 0 to {MAX_ADVANCE_SECS} (a clock moves forward only), not {n}."
                ),
            ))
        }
        (None, None, Some(x)) if x.is_finite() && (0.0..=MAX_SPEED).contains(&x) => ClockChange::Speed(x),
        (None, None, Some(x)) => {
            return Err(AppError::new(
                422,
                "bad_clock",
                format!("speed: from 0 (stopped) to {MAX_SPEED} times real time, not {x}."),
            ))
        }
        _ => {
            return Err(AppError::new(
                422,
                "bad_clock",
                "Give exactly one of \"freeze\" (true or false), \"advance_seconds\" or \"speed\".",
            ))
        }
    };
    let engine = engine(&state, &id).await?;
    Ok(Json(
        engine.ask(|reply| EngineRequest::Clock { change, reply }).await?,
    ))
}

/// Raises or repairs a fault, as the simulator's controls do (rules §16.2), by the user `test-api`.
#[utoipa::path(post, path = "/api/v1/test/fleets/{id}/faults", request_body = cluster::event::Fault,
    params(("id" = String, Path, description = "the test fleet")),
    responses((status = 200, body = SimulatorResponse), (status = 404, body = cluster::wire::ApiError),
              (status = 422, body = cluster::wire::ApiError)))]
pub async fn faults(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    b: Result<Json<cluster::event::Fault>, JsonRejection>,
) -> Result<Json<SimulatorResponse>, AppError> {
    let id = fleet_id(path)?;
    let fault = body(b)?;
    let engine = engine(&state, &id).await?;
    Ok(Json(
        engine
            .ask(|reply| EngineRequest::TestFault { fault, reply })
            .await?,
    ))
}

/// `POST /api/v1/test/fleets/{id}/script`: lines of a script (rules §11) to run on the live fleet.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptRequest {
    pub script: String,
}

/// What a script did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScriptRun {
    /// Every line and its output, as the script runner prints them.
    pub transcript: String,
    /// The fleet's revision after the script's changes.
    pub revision: u64,
}

/// Runs script lines (commands as a user with `@as`, answers, `@wait`, expectations) on the live fleet:
/// its changes are the fleet's, its `@wait`s move the fleet's clock. A failed expectation or a refused
/// command that was not expected is a 422 naming the line, with the transcript; what ran before it stays.
#[utoipa::path(post, path = "/api/v1/test/fleets/{id}/script", request_body = ScriptRequest,
    params(("id" = String, Path, description = "the test fleet")),
    responses((status = 200, body = ScriptRun), (status = 404, body = cluster::wire::ApiError),
              (status = 409, body = cluster::wire::ApiError), (status = 422, body = cluster::wire::ApiError)))]
pub async fn script(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    b: Result<Json<ScriptRequest>, JsonRejection>,
) -> Result<Response, AppError> {
    let id = fleet_id(path)?;
    let text = body(b)?.script;
    if text.len() > MAX_SCRIPT_BYTES {
        return Err(AppError::new(
            413,
            "script_too_long",
            format!("script: at most {MAX_SCRIPT_BYTES} bytes."),
        ));
    }
    check_waits(&text)?;
    let engine = engine(&state, &id).await?;
    let fleet = (**engine.fleet.borrow()).clone();
    let (base, now) = (fleet.revision, engine.clock.now());
    // Run beside the engine (a script may hash passwords and wait through hours of simulated time).
    let script_text = text.clone();
    let (outcome, events) = tokio::task::spawn_blocking(move || {
        let outcome = cluster::script::run_on(fleet, now, &script_text);
        let mut events = outcome.events.clone();
        crate::auth::hash_events(&mut events).map(|()| (outcome, events))
    })
    .await
    .map_err(|_| AppError::from(EngineError::Busy))?
    .map_err(|e| {
        tracing::error!(error = %format!("{e:#}"), "cannot hash a script's passwords");
        AppError::from(EngineError::Storage)
    })?;
    let waited_ms = outcome.clock.0 - now.0;
    let lines = cluster::script::command_lines(&text, outcome.failure.as_ref().map(|f| f.line));
    let revision = engine
        .ask(|reply| EngineRequest::ApplyScript {
            base,
            events,
            waited_ms,
            lines,
            reply,
        })
        .await?;
    match outcome.failure {
        None => Ok(Json(ScriptRun {
            transcript: outcome.transcript,
            revision,
        })
        .into_response()),
        Some(f) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({
                "code": "script_failed",
                "message": format!("line {}: {}\n    {}", f.line, f.why, f.text),
                "line": f.line,
                "transcript": outcome.transcript,
                "revision": revision,
            })),
        )
            .into_response()),
    }
}

/// The fleet's event log as JSON Lines (the export format, rules §18.5), to attach to a failed test.
#[utoipa::path(get, path = "/api/v1/test/fleets/{id}/export",
    params(("id" = String, Path, description = "the test fleet")),
    responses((status = 200, content_type = "application/x-ndjson", body = String),
              (status = 404, body = cluster::wire::ApiError)))]
pub async fn export(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let id = fleet_id(path)?;
    // Loaded first, so that an unknown fleet is a 404 and the store is complete.
    engine(&state, &id).await?;
    let file = crate::registry::fleet_path(&state.registry.settings().data_dir, &id);
    let text = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
        let mut store = crate::store::SqliteStore::open_reader(&file)?;
        let mut buf = Vec::new();
        crate::store::export(&mut store, &mut buf)?;
        Ok(buf)
    })
    .await
    .map_err(|_| AppError::from(EngineError::Storage))?
    .map_err(|e| {
        tracing::error!(fleet = %id, error = %format!("{e:#}"), "cannot export a test fleet");
        AppError::from(EngineError::Storage)
    })?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(response)
}

/// The test API's routes (under `/api/v1`), for a server started with `--test-api`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/test/fleets", post(create))
        .route("/test/fleets/{id}", delete(remove))
        .route("/test/fleets/{id}/clock", post(clock))
        .route("/test/fleets/{id}/faults", post(faults))
        .route("/test/fleets/{id}/export", axum::routing::get(export))
        .route("/test/fleets/{id}/script", post(script))
}
