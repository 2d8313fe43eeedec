//! HTTP API v1: thin handlers that parse, ask the engine, and map errors to JSON (`{"code", "message"}`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cluster::wire::{
    redact_fleet, ApiError, AuditEntry, CliRequest, CliResponse, CommandRequest, CommandResponse,
    EventRecord, FleetResponse, LoginRequest, SessionInfo,
};
use futures_util::stream::{self, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use utoipa::OpenApi;

use crate::auth::{self, Throttle};
use crate::engine::{Engine, Failure, Request as EngineRequest};

/// The session cookie.
pub const COOKIE: &str = "cd_session";

/// Shared state of the HTTP layer.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub throttle: Arc<Mutex<Throttle>>,
}

/// An error response.
pub struct AppError(pub Failure);

impl From<Failure> for AppError {
    fn from(f: Failure) -> Self {
        AppError(f)
    }
}

impl AppError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        AppError(Failure::new(status, code, message))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.0.error)).into_response()
    }
}

/// `Json<T>` whose rejections are JSON errors naming what was wrong.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> AppError {
    let status = r.status().as_u16();
    let (code, message) = match &r {
        JsonRejection::JsonDataError(e) => (
            "invalid_body",
            format!("The request body does not fit: {}", e.body_text()),
        ),
        JsonRejection::JsonSyntaxError(e) => (
            "bad_json",
            format!("The request body is not valid JSON: {}", e.body_text()),
        ),
        JsonRejection::MissingJsonContentType(_) => (
            "unsupported_media_type",
            "Send the body as JSON with Content-Type: application/json.".to_string(),
        ),
        JsonRejection::BytesRejection(_) if status == 413 => (
            "payload_too_large",
            format!("The request body is larger than {} bytes.", BODY_LIMIT),
        ),
        _ => ("bad_request", r.body_text()),
    };
    AppError::new(status, code, message.chars().take(300).collect::<String>())
}

/// Request bodies larger than this are refused (413).
pub const BODY_LIMIT: usize = 64 * 1024;

/// The session token from the cookie.
pub struct Token(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Token {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        cookie_token(&parts.headers).map(Token).ok_or_else(|| {
            AppError::new(
                401,
                "unauthenticated",
                "Log in first: this request has no session cookie.",
            )
        })
    }
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';').find_map(|kv| {
                let (k, val) = kv.trim().split_once('=')?;
                (k == COOKIE
                    && !val.is_empty()
                    && val.len() <= 128
                    && val.chars().all(|c| c.is_ascii_hexdigit()))
                .then(|| val.to_string())
            })
        })
}

fn session_cookie(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"))
        .unwrap_or_else(|_| HeaderValue::from_static("cd_session=; Path=/"))
}

/// Refuses non-GET requests whose `Origin` is not this server (cross-site requests).
pub async fn check_origin(req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        if let Some(origin) = req.headers().get(header::ORIGIN) {
            let host = req
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("");
            let ok = origin
                .to_str()
                .ok()
                .and_then(|o| o.strip_prefix("http://").or_else(|| o.strip_prefix("https://")))
                .is_some_and(|o| !host.is_empty() && o == host);
            if !ok {
                return AppError::new(
                    403,
                    "cross_origin",
                    "Cross-origin requests are refused: the Origin header does not match this server.",
                )
                .into_response();
            }
        }
    }
    next.run(req).await
}

#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    status: &'static str,
    revision: u64,
    /// Simulated time (ms since the epoch) and how fast it runs.
    now: i64,
    speed: f64,
    version: &'static str,
}

/// Liveness, the fleet's revision and the simulated clock.
#[utoipa::path(get, path = "/api/v1/health", responses((status = 200, body = Health)))]
async fn health(State(state): State<AppState>) -> Json<Health> {
    let revision = state.engine.fleet.borrow().revision;
    Json(Health {
        status: "ok",
        revision,
        now: state.engine.clock.now().0,
        speed: state.engine.clock.speed(),
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// The whole fleet (secrets masked) with its revision.
#[utoipa::path(get, path = "/api/v1/fleet", responses((status = 200, body = Object), (status = 401, body = ApiError)))]
async fn fleet(State(state): State<AppState>, token: Token) -> Result<Json<FleetResponse>, AppError> {
    state
        .engine
        .ask(|reply| EngineRequest::Session {
            token: token.0,
            reply,
        })
        .await?;
    let fleet = state.engine.fleet.borrow().clone();
    Ok(Json(FleetResponse {
        revision: fleet.revision,
        fleet: redact_fleet(&fleet),
    }))
}

/// Logs in to a login host with that host's user database; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/login", request_body = LoginRequest,
    responses((status = 200, body = SessionInfo), (status = 401, body = ApiError), (status = 429, body = ApiError)))]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, AppError> {
    let account = format!(
        "{}@{}",
        body.user.chars().take(64).collect::<String>(),
        body.login_host.chars().take(255).collect::<String>()
    );
    let ip = Some(addr.ip());
    let now = Instant::now();
    if let Some(wait) = state
        .throttle
        .lock()
        .map_err(|_| AppError::new(500, "internal", "throttle"))?
        .blocked(&account, ip, now)
    {
        return Err(AppError::new(
            429,
            "throttled",
            format!("Too many failed logins; try again in {wait} s."),
        ));
    }
    let fleet = state.engine.fleet.borrow().clone();
    // The login host must exist before anything is verified.
    cluster::login::login_host(&fleet, &body.login_host).map_err(login_error)?;
    let (user, password, host) = (body.user.clone(), body.password.clone(), body.login_host.clone());
    // argon2 is deliberately slow: verify off the async threads. Unknown users cost the same.
    let outcome = tokio::task::spawn_blocking(move || {
        cluster::login::login(&fleet, &user, &password, &host, &auth::Argon2Check)
    })
    .await
    .map_err(|_| AppError::new(503, "busy", "The server is busy; retry shortly."))?;
    let accepted = match outcome {
        Ok(l) => l,
        Err(e) => {
            if let Ok(mut t) = state.throttle.lock() {
                t.failed(&account, ip, now);
            }
            return Err(login_error(e));
        }
    };
    let (user, host) = (accepted.user, accepted.host);
    if let Ok(mut t) = state.throttle.lock() {
        t.succeeded(&account);
    }
    let token = auth::new_token().map_err(|e| AppError::new(500, "internal", format!("{e:#}")))?;
    let info = state
        .engine
        .ask(|reply| EngineRequest::OpenSession {
            user,
            host,
            token: token.clone(),
            reply,
        })
        .await?;
    let mut response = Json(info).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&token));
    Ok(response)
}

fn login_error(e: cluster::login::LoginError) -> AppError {
    let code = match e {
        cluster::login::LoginError::UnknownHost { .. } => "unknown_login_host",
        cluster::login::LoginError::BadCredentials => "login_failed",
    };
    AppError::new(401, code, e.to_string())
}

/// Ends the session and clears the cookie.
#[utoipa::path(post, path = "/api/v1/logout", responses((status = 204), (status = 401, body = ApiError)))]
async fn logout(State(state): State<AppState>, token: Token) -> Result<Response, AppError> {
    state
        .engine
        .ask(|reply| EngineRequest::Logout {
            token: token.0,
            reply,
        })
        .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("cd_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}

/// The current session: user, role, login host, mode, prompt.
#[utoipa::path(get, path = "/api/v1/session", responses((status = 200, body = SessionInfo), (status = 401, body = ApiError)))]
async fn session(State(state): State<AppState>, token: Token) -> Result<Json<SessionInfo>, AppError> {
    Ok(Json(
        state
            .engine
            .ask(|reply| EngineRequest::Session {
                token: token.0,
                reply,
            })
            .await?,
    ))
}

/// One CLI line (rules §10), or the answer to the previous line's question.
#[utoipa::path(post, path = "/api/v1/cli", request_body = CliRequest,
    responses((status = 200, body = CliResponse), (status = 401, body = ApiError)))]
async fn cli(
    State(state): State<AppState>,
    token: Token,
    ApiJson(body): ApiJson<CliRequest>,
) -> Result<Json<CliResponse>, AppError> {
    if body.line.len() > cluster::cli::MAX_LINE {
        return Err(AppError::new(
            413,
            "line_too_long",
            format!("A CLI line has at most {} bytes.", cluster::cli::MAX_LINE),
        ));
    }
    Ok(Json(
        state
            .engine
            .ask(|reply| EngineRequest::Cli {
                token: token.0,
                line: body.line,
                reply,
            })
            .await?,
    ))
}

/// A typed command with the revision the client saw and the answers so far: the plan's events, a
/// question, a refusal (422, 403), or 409 when an immediate command was checked against a stale revision.
#[utoipa::path(post, path = "/api/v1/commands", request_body = CommandRequest,
    responses((status = 200, body = Object), (status = 409, body = ApiError), (status = 422, body = ApiError),
              (status = 403, body = ApiError), (status = 401, body = ApiError)))]
async fn commands(
    State(state): State<AppState>,
    token: Token,
    ApiJson(body): ApiJson<CommandRequest>,
) -> Result<Json<CommandResponse>, AppError> {
    if body.answers.len() > 64 || body.answers.iter().any(|a| a.len() > 64) {
        return Err(AppError::new(
            400,
            "bad_answers",
            "At most 64 answers of at most 64 bytes each.",
        ));
    }
    Ok(Json(
        state
            .engine
            .ask(|reply| EngineRequest::Command {
                token: token.0,
                command: Box::new(body.command),
                answers: body.answers,
                revision: body.revision,
                reply,
            })
            .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct AuditQuery {
    /// Only entries with a smaller id (for paging back).
    before: Option<u64>,
    /// At most this many (default 100, at most 1000).
    limit: Option<usize>,
}

/// The audit log, newest first: every command, accepted or refused (administrators).
#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery),
    responses((status = 200, body = [AuditEntry]), (status = 403, body = ApiError)))]
async fn audit(
    State(state): State<AppState>,
    token: Token,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Vec<AuditEntry>>, AppError> {
    let Query(q) = query.map_err(|e| AppError::new(400, "bad_query", e.body_text()))?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(
        state
            .engine
            .ask(|reply| EngineRequest::Audit {
                token: token.0,
                before: q.before,
                limit,
                reply,
            })
            .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct EventsQuery {
    /// The last revision the client has; events after it are sent first.
    since: u64,
}

/// Server-sent events: every event after `since`, then live ones. A client too far behind gets a
/// `resync` event and should fetch the fleet again.
#[utoipa::path(get, path = "/api/v1/events", params(EventsQuery), responses((status = 200, content_type = "text/event-stream")))]
async fn events(
    State(state): State<AppState>,
    token: Token,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, AppError> {
    let Query(q) = query.map_err(|e| AppError::new(400, "bad_query", e.body_text()))?;
    state
        .engine
        .ask(|reply| EngineRequest::Session {
            token: token.0,
            reply,
        })
        .await?;
    let live = state.engine.events.subscribe();
    let backlog = match state
        .engine
        .ask(|reply| EngineRequest::EventsAfter {
            since: q.since,
            reply,
        })
        .await
    {
        Ok(b) => b,
        Err(f) if f.status == 410 => {
            let s = stream::once(async { Ok(resync_event()) }).boxed();
            return Ok(Sse::new(s).keep_alive(KeepAlive::default()));
        }
        Err(f) => return Err(f.into()),
    };
    let last = backlog.last().map(|r| r.revision).unwrap_or(q.since);
    let first = stream::iter(backlog.into_iter().map(|r| Ok(record_event(&r))));
    let rest = stream::unfold((live, last, false), |(mut rx, last, done)| async move {
        if done {
            return None;
        }
        loop {
            match rx.recv().await {
                Ok(r) if r.revision <= last => continue,
                Ok(r) => {
                    let revision = r.revision;
                    return Some((Ok(record_event(&r)), (rx, revision, false)));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    return Some((Ok(resync_event()), (rx, last, true)))
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(first.chain(rest).boxed()).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn record_event(r: &EventRecord) -> SseEvent {
    SseEvent::default()
        .event("event")
        .id(r.revision.to_string())
        .data(serde_json::to_string(r).unwrap_or_else(|_| "{}".into()))
}

fn resync_event() -> SseEvent {
    SseEvent::default()
        .event("resync")
        .data("{\"reason\":\"fell behind; fetch /api/v1/fleet again\"}")
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Clusterdeck API",
        description = "Centralized management of a simulated appliance cluster."
    ),
    paths(health, fleet, login, logout, session, cli, commands, audit, events, openapi)
)]
struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", responses((status = 200, body = Object)))]
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

async fn api_not_found(method: Method, uri: axum::http::Uri) -> AppError {
    AppError::new(
        404,
        "not_found",
        format!(
            "No API endpoint {method} {}.",
            uri.path().chars().take(120).collect::<String>()
        ),
    )
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(health))
        .route("/fleet", get(fleet))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/session", get(session))
        .route("/cli", post(cli))
        .route("/commands", post(commands))
        .route("/audit", get(audit))
        .route("/events", get(events))
        .route("/openapi.json", get(openapi))
        .fallback(api_not_found)
        .method_not_allowed_fallback(|method: Method| async move {
            AppError::new(
                405,
                "method_not_allowed",
                format!("{method} is not allowed here."),
            )
        })
        .with_state(state);
    Router::new()
        .nest("/api/v1", api)
        .route("/api/{*rest}", axum::routing::any(api_not_found))
}
