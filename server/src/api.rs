//! HTTP API v1: thin handlers that parse, ask a fleet's engine, and map errors to JSON (`{"code",
//! "message"}`). [`AppError`] is the one place an [`EngineError`] becomes a status code; a server error
//! carries a generic message and the request id, and its details go to the log.

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
    scope_fleet, ApiError, Audience, AuditEntry, CliRequest, CliResponse, ClockInfo, CommandRequest,
    CommandResponse, EventRecord, FleetResponse, LoginRequest, SessionInfo, SwitchRequest,
};
use futures_util::stream::{self, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use utoipa::OpenApi;

use crate::auth::{self, Throttle};
use crate::engine::{Engine, EngineError, Request as EngineRequest, SessionView};
use crate::registry::{FleetId, Registry};
use crate::site::Site;

/// Shared state of the HTTP layer.
#[derive(Clone)]
pub struct AppState {
    pub registry: Arc<Registry>,
    pub throttle: Arc<Mutex<Throttle>>,
    /// The public URL: Host and Origin checks, the cookie.
    pub site: Arc<Site>,
    /// Becomes true when the server stops: event streams end.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// In sandbox mode (rules §18): the visitors' sandboxes.
    pub sandboxes: Option<Arc<crate::sandbox::Sandboxes>>,
    /// Whether `/api/v1/test` is served (`--test-api`, issue 15).
    pub test_api: bool,
}

tokio::task_local! {
    /// The id of the request being handled (set by [`request_id`]).
    static REQUEST_ID: String;
}

/// Gives every request an id (`x-request-id`, taken from the request or made here), sets it on the
/// response, and makes it available to error bodies.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_string)
        .unwrap_or_else(|| auth::new_token().map(|t| t[..16].to_string()).unwrap_or_default());
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert("x-request-id", v.clone());
        let mut response = REQUEST_ID.scope(id, next.run(req)).await;
        response.headers_mut().insert("x-request-id", v);
        response
    } else {
        next.run(req).await
    }
}

/// An error response.
#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub error: ApiError,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl AppError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        AppError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            error: ApiError {
                code: code.into(),
                message: message.into(),
                rule: None,
                revision: None,
                request_id: None,
            },
            retry_after: None,
        }
    }

    /// Adds a `Retry-After` header.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
}

/// The one mapping from what the engine says to HTTP.
impl From<EngineError> for AppError {
    fn from(e: EngineError) -> Self {
        let message = e.to_string();
        match e {
            EngineError::Unauthenticated => AppError::new(401, "unauthenticated", message),
            EngineError::LoginFailed => AppError::new(401, "login_failed", message),
            EngineError::Rejected(r) => {
                let rule = serde_json::to_value(&r)
                    .ok()
                    .and_then(|v| v.get("rule").and_then(|x| x.as_str()).map(str::to_string));
                let (status, code) = match r {
                    cluster::Rejection::NotPermitted { .. } => (403, "forbidden"),
                    cluster::Rejection::UserGone { .. } => (401, "unauthenticated"),
                    _ => (422, "rejected"),
                };
                let mut err = AppError::new(status, code, message);
                err.error.rule = rule;
                err
            }
            EngineError::Forbidden { .. } => AppError::new(403, "forbidden", message),
            EngineError::Refused { .. } => AppError::new(422, "simulator_refused", message),
            EngineError::Stale { current, .. } => {
                let mut err = AppError::new(409, "stale_revision", message);
                err.error.revision = Some(current);
                err
            }
            EngineError::FutureRevision { .. } => AppError::new(400, "bad_revision", message),
            EngineError::AheadRevision { current, .. } => {
                let mut err = AppError::new(409, "revision_ahead", message);
                err.error.revision = Some(current);
                err
            }
            EngineError::TooFarBehind => AppError::new(410, "resync", message),
            EngineError::UnknownFleet { .. } => AppError::new(404, "unknown_fleet", message),
            EngineError::FleetExists { .. } => AppError::new(409, "fleet_exists", message),
            EngineError::Busy => AppError::new(503, "busy", message),
            EngineError::Stopped => AppError::new(503, "stopped", message),
            EngineError::Storage => AppError::new(503, "storage", message),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut error = self.error;
        if self.status.is_server_error() {
            error.request_id = REQUEST_ID.try_with(|id| id.clone()).ok();
        }
        let mut response = (self.status, Json(error)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
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
            format!("The request body does not fit: {}", plain_words(&e.body_text())),
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

/// serde's wording without the server's type names ("expected struct CliRequest" means "expected an
/// object"): the message names the field and what it wanted, in the API's own terms.
fn plain_words(text: &str) -> String {
    let text = text
        .strip_prefix("Failed to deserialize the JSON body into the target type: ")
        .unwrap_or(text);
    let mut out = String::with_capacity(text.len());
    let mut words = text.split(' ').peekable();
    while let Some(w) = words.next() {
        match w {
            "struct" if words.peek().is_some_and(|n| n.starts_with(char::is_uppercase)) => {
                words.next();
                out.push_str("an object");
            }
            "internally" if words.peek() == Some(&"tagged") => {
                words.next();
                if words.peek() == Some(&"enum") {
                    words.next();
                    words.next();
                }
                out.push_str("an object with its kind field (see the API document)");
            }
            "enum" if words.peek().is_some_and(|n| n.starts_with(char::is_uppercase)) => {
                words.next();
                out.push_str("one of the documented values");
            }
            _ => out.push_str(w),
        }
        out.push(' ');
    }
    out.trim_end().to_string()
}

/// Request bodies larger than this are refused (413).
pub const BODY_LIMIT: usize = 64 * 1024;

/// The session named by the cookie: its fleet and the hash of its token.
pub struct Token {
    pub fleet: FleetId,
    pub hash: String,
    /// The cookie's value (`<fleet>.<token>`), to keep the session at hand (rules §15.36). Never logged.
    raw: String,
}

/// At most this many other sessions are kept at hand in one browser (rules §15.36).
pub const MAX_KEPT_SESSIONS: usize = 4;

impl FromRequestParts<AppState> for Token {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        cookie_token(&parts.headers, state.site.cookie_name()).ok_or_else(|| {
            AppError::new(
                401,
                "unauthenticated",
                "Log in first: this request has no session cookie.",
            )
        })
    }
}

/// The session cookie named `name` (over https only the `__Host-` one counts: a plain `cd_session` set by
/// a sibling domain or over http cannot stand in for it).
fn cookie_token(headers: &HeaderMap, name: &str) -> Option<Token> {
    cookie_value(headers, name).and_then(parse_token)
}

/// The value of the cookie `name`.
pub(crate) fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';').find_map(|kv| {
                let (k, val) = kv.trim().split_once('=')?;
                (k == name).then_some(val)
            })
        })
}

/// A session cookie's value, `<fleet>.<64 hex digits>`.
fn parse_token(val: &str) -> Option<Token> {
    let (fleet, token) = val.split_once('.')?;
    let fleet = FleetId::parse(fleet).ok()?;
    (token.len() == 64 && token.chars().all(|c| c.is_ascii_hexdigit())).then(|| Token {
        fleet,
        hash: auth::token_hash(token),
        raw: val.to_string(),
    })
}

/// The other sessions this browser keeps at hand (rules §15.36): the kept cookie's well-formed values,
/// at most [`MAX_KEPT_SESSIONS`], without duplicates.
fn kept_tokens(headers: &HeaderMap, name: &str) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    for t in cookie_value(headers, name)
        .unwrap_or("")
        .split('~')
        .take(MAX_KEPT_SESSIONS)
        .filter_map(parse_token)
    {
        if !out.iter().any(|o| o.raw == t.raw) {
            out.push(t);
        }
    }
    out
}

/// The kept cookie holding `tokens` (cleared when there are none).
fn kept_cookie(state: &AppState, tokens: &[&Token]) -> HeaderValue {
    let value = tokens
        .iter()
        .take(MAX_KEPT_SESSIONS)
        .map(|t| t.raw.as_str())
        .collect::<Vec<_>>()
        .join("~");
    cookie_header(
        state
            .site
            .kept_cookie((!value.is_empty()).then_some(value.as_str())),
    )
}

pub(crate) fn cookie_header(value: String) -> HeaderValue {
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("cd_session=; Path=/"))
}

/// Refuses a request whose `Host` is not this server (DNS rebinding), and any request that may change
/// something (not GET, HEAD or OPTIONS) without this server's `Origin` (cross-site requests).
pub async fn check_host_and_origin(State(site): State<Arc<Site>>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    let Some(host) = host else {
        return AppError::new(400, "no_host", "The request has no Host header.").into_response();
    };
    if !site.host_ok(&host) {
        return AppError::new(
            421,
            "wrong_host",
            format!(
                "This server answers as {}; the request's Host \"{}\" is not it.",
                site.url(),
                host.chars().take(80).collect::<String>()
            ),
        )
        .into_response();
    }
    let test_api = req.uri().path().starts_with("/api/v1/test/");
    if test_api {
        // The test API's reads too (an export) are refused to another site's page.
        if let Some(origin) = req.headers().get(header::ORIGIN) {
            if !site.origin_ok(origin.to_str().unwrap_or("")) {
                return AppError::new(
                    403,
                    "cross_origin",
                    "The test API refuses requests from another site's pages (a foreign Origin).",
                )
                .into_response();
            }
        }
    }
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        // A test suite's calls to the test API (loopback only, `docs/testing.md`) need no Origin; a
        // foreign one is still refused.
        match req.headers().get(header::ORIGIN).map(|o| o.to_str().unwrap_or("")) {
            None if test_api => {}
            None => {
                return AppError::new(
                    403,
                    "origin_required",
                    format!(
                        "A request that changes something must carry the Origin header {} (browsers and `clusterdeck cli` send it).",
                        site.url()
                    ),
                )
                .into_response()
            }
            Some(origin) if !site.origin_ok(origin) => {
                return AppError::new(
                    403,
                    "cross_origin",
                    format!(
                        "Cross-origin requests are refused: the Origin \"{}\" is not {}.",
                        origin.chars().take(80).collect::<String>(),
                        site.url()
                    ),
                )
                .into_response()
            }
            Some(_) => {}
        }
    }
    next.run(req).await
}

/// The engine of the cookie's fleet.
async fn engine_of(state: &AppState, token: &Token) -> Result<Engine, AppError> {
    // In sandbox mode only the live sandboxes are open (the default fleet is closed), and every
    // request of one of a sandbox's sessions is a use of it (rules §18.3).
    if let Some(sb) = &state.sandboxes {
        if !sb.is_live(&token.fleet) {
            return Err(crate::sandbox::http::session_gone(sb, token));
        }
        sb.touch(&token.fleet);
    }
    state.registry.get(&token.fleet).await.map_err(|e| match e {
        // A cookie of a fleet that is gone is just not a session any more.
        EngineError::UnknownFleet { .. } => EngineError::Unauthenticated.into(),
        other => other.into(),
    })
}

/// The role of the cookie's session (failing unless it is open).
pub(crate) async fn session_role(state: &AppState, token: &Token) -> Result<cluster::roles::Role, AppError> {
    session_of(state, token).await.map(|(_, v)| v.role)
}

/// The session of the cookie, with its engine.
async fn session_of(state: &AppState, token: &Token) -> Result<(Engine, SessionView), AppError> {
    let engine = engine_of(state, token).await?;
    let hash = token.hash.clone();
    let view = engine
        .ask(|reply| EngineRequest::Session {
            token_hash: hash,
            reply,
        })
        .await?;
    Ok((engine, view))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    status: &'static str,
    version: &'static str,
    /// Whether this server is a demo (sandbox mode, rules §18): its start page lists scenarios.
    sandbox: bool,
}

/// Liveness.
#[utoipa::path(get, path = "/api/v1/health", responses((status = 200, body = Health)))]
async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        sandbox: state.sandboxes.is_some(),
    })
}

/// The fleet as the session's role may see it (secrets masked; without configuration reads, status
/// only), with its revision and simulated clock.
#[utoipa::path(get, path = "/api/v1/fleet", responses((status = 200, body = Object), (status = 401, body = ApiError)))]
async fn fleet(State(state): State<AppState>, token: Token) -> Result<Json<FleetResponse>, AppError> {
    let (engine, view) = session_of(&state, &token).await?;
    let fleet = engine.fleet.borrow().clone();
    Ok(Json(FleetResponse {
        revision: fleet.revision,
        clock: ClockInfo {
            now: engine.clock.now().0,
            speed: engine.clock.speed(),
        },
        fleet: scope_fleet(&fleet, view.role),
    }))
}

/// Logs in to a login host of a fleet with that host's user database; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/login", request_body = LoginRequest,
    responses((status = 200, body = SessionInfo), (status = 401, body = ApiError), (status = 404, body = ApiError),
              (status = 429, body = ApiError)))]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, AppError> {
    let asked = match &body.fleet {
        Some(f) => Some(FleetId::parse(f).map_err(|m| AppError::new(400, "bad_fleet", m))?),
        None => None,
    };
    let fleet_id = match &state.sandboxes {
        // In sandbox mode a login stays in the sandbox of the browser's session (rules §18.4).
        Some(_) => sandbox_login_fleet(asked, &headers, &state)?,
        None => asked.unwrap_or_else(FleetId::default_fleet),
    };
    let engine = match state.registry.get(&fleet_id).await {
        Ok(engine) => Some(engine),
        Err(EngineError::UnknownFleet { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    // Failures count against the user of a user database (the members of a cluster share one).
    let database = match &engine {
        Some(e) => cluster::login::user_database(&e.fleet.borrow(), &body.login_host),
        None => "no fleet".to_string(),
    };
    let account = format!(
        "{} of {database} in {fleet_id}",
        body.user.chars().take(64).collect::<String>()
    );
    let client = state.site.client_address(addr.ip(), &headers);
    // Charged before anything is verified: parallel guesses cannot overtake the count; an attempt cut
    // off by its client counts as a failure.
    let charged = Charged::begin(&state.throttle, &account, client).map_err(|e| *e)?;
    let verified = match engine {
        Some(engine) => verify_login(engine, &body).await,
        None => {
            // No such fleet: answered as a wrong password is, after as long, so fleet names cannot be
            // probed.
            let _ = crate::passwords::Passwords::global()
                .login(|memory| {
                    cluster::login::PasswordCheck::matches(&auth::Argon2Check::new(memory), None, "")
                })
                .await;
            Err(login_error(cluster::login::LoginError::BadCredentials))
        }
    };
    charged.settle(matches!(&verified, Err(e) if e.error.code == "login_failed"));
    let (engine, accepted) = verified?;
    let token = auth::new_token().map_err(|e| {
        tracing::error!(error = %format!("{e:#}"), "no randomness for a session token");
        AppError::from(EngineError::Busy)
    })?;
    let info = engine
        .ask(|reply| EngineRequest::OpenSession {
            user: accepted.user,
            host: accepted.host,
            token_hash: auth::token_hash(&token),
            reply,
        })
        .await?;
    let mut response = Json(info).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookie_header(state.site.cookie(Some(&format!("{fleet_id}.{token}")))),
    );
    // Keeping the current session at hand (rules §15.36): it goes first among the kept ones of this
    // fleet; the oldest beyond the bound are forgotten (they stay valid until they time out).
    if body.keep_current {
        let current = cookie_token(&headers, state.site.cookie_name()).filter(|t| t.fleet == fleet_id);
        let kept = kept_tokens(&headers, state.site.kept_cookie_name());
        let list: Vec<&Token> = current
            .iter()
            .chain(kept.iter().filter(|t| t.fleet == fleet_id))
            .collect();
        response
            .headers_mut()
            .append(header::SET_COOKIE, kept_cookie(&state, &list));
    }
    Ok(response)
}

/// The fleet a login goes to in sandbox mode: the sandbox whose key the browser holds (rules §18.4),
/// which a `fleet` in the request must name if it names one.
#[allow(clippy::result_large_err)] // the handler's own error, returned as it is
fn sandbox_login_fleet(
    asked: Option<FleetId>,
    headers: &HeaderMap,
    state: &AppState,
) -> Result<FleetId, AppError> {
    match (crate::sandbox::http::visitor(state, headers), asked) {
        (Some(own), None) => Ok(own),
        (Some(own), Some(asked)) if asked == own => Ok(own),
        (Some(_), Some(_)) => Err(AppError::new(
            403,
            "sandbox_only",
            "In the demo a login stays in your own sandbox: this request names another fleet.",
        )),
        (None, _) => Err(AppError::new(
            403,
            "sandbox_only",
            "In the demo, logins happen inside your own sandbox: choose a scenario on the start page first.",
        )),
    }
}

/// A login attempt the throttle has counted; it is settled when the verification ends, or — if the
/// client hangs up first and the handler is dropped — as a failure.
struct Charged {
    throttle: Arc<Mutex<Throttle>>,
    attempt: Option<auth::Attempt>,
}

impl Charged {
    fn begin(
        throttle: &Arc<Mutex<Throttle>>,
        account: &str,
        client: std::net::IpAddr,
    ) -> Result<Charged, Box<AppError>> {
        let attempt = throttle
            .lock()
            .map_err(|_| Box::new(AppError::from(EngineError::Busy)))?
            .begin(account, client, Instant::now())
            .map_err(|wait| match wait {
                auth::Wait::Failures(secs) => AppError::new(
                    429,
                    "throttled",
                    format!("Too many failed logins; try again in {secs} s."),
                )
                .retry_after(secs),
                auth::Wait::InFlight => AppError::new(
                    429,
                    "login_busy",
                    "Other logins of this account are being checked right now; try again in a second.",
                )
                .retry_after(1),
            })
            .map_err(Box::new)?;
        Ok(Charged {
            throttle: throttle.clone(),
            attempt: Some(attempt),
        })
    }

    fn settle(mut self, failed: bool) {
        self.finish(failed);
    }

    fn finish(&mut self, failed: bool) {
        if let Some(attempt) = self.attempt.take() {
            let mut t = self.throttle.lock().unwrap_or_else(|p| p.into_inner());
            t.settle(attempt, failed, Instant::now());
        }
    }
}

impl Drop for Charged {
    fn drop(&mut self) {
        self.finish(true);
    }
}

/// Finds the login host, then verifies the password on the password pool: a full pool answers 503 at
/// once.
async fn verify_login(
    engine: Engine,
    body: &LoginRequest,
) -> Result<(Engine, cluster::login::Login), AppError> {
    let fleet = engine.fleet.clone();
    // The login host must exist before anything is verified.
    cluster::login::login_host(&fleet.borrow(), &body.login_host).map_err(login_error)?;
    let (user, password, host) = (body.user.clone(), body.password.clone(), body.login_host.clone());
    let outcome = crate::passwords::Passwords::global()
        .login(move |memory| {
            let fleet = fleet.borrow().clone();
            cluster::login::login(&fleet, &user, &password, &host, &auth::Argon2Check::new(memory))
        })
        .await
        .map_err(|_| {
            AppError::new(
                503,
                "busy",
                "Too many logins are being checked at once; try again in a second.",
            )
            .retry_after(1)
        })?;
    Ok((engine, outcome.map_err(login_error)?))
}

fn login_error(e: cluster::login::LoginError) -> AppError {
    let code = match e {
        cluster::login::LoginError::UnknownHost { .. } => "unknown_login_host",
        cluster::login::LoginError::BadCredentials => "login_failed",
        cluster::login::LoginError::PoweredOff { .. } => "login_host_powered_off",
    };
    AppError::new(401, code, e.to_string())
}

/// Ends the session and clears the cookie.
#[utoipa::path(post, path = "/api/v1/logout", responses((status = 204), (status = 401, body = ApiError)))]
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    token: Token,
) -> Result<Response, AppError> {
    let engine = engine_of(&state, &token).await?;
    engine
        .ask(|reply| EngineRequest::Logout {
            token_hash: token.hash,
            reply,
        })
        .await?;
    // Logging out ends the sessions kept at hand too (rules §15.36); one already gone is no error.
    for kept in kept_tokens(&headers, state.site.kept_cookie_name()) {
        if kept.fleet != token.fleet {
            continue;
        }
        let _ = engine
            .ask(|reply| EngineRequest::Logout {
                token_hash: kept.hash,
                reply,
            })
            .await;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie_header(state.site.cookie(None)));
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookie_header(state.site.kept_cookie(None)));
    Ok(response)
}

/// The other sessions this browser keeps at hand in the current session's fleet (rules §15.36): the
/// ones still valid, most recently kept first.
#[utoipa::path(get, path = "/api/v1/sessions", responses((status = 200, body = [SessionInfo]), (status = 401, body = ApiError)))]
async fn kept_sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
    token: Token,
) -> Result<Json<Vec<SessionInfo>>, AppError> {
    let engine = session_of(&state, &token).await?.0;
    Ok(Json(
        kept_infos(&engine, &token, &headers, &state)
            .await
            .into_iter()
            .map(|(_, i)| i)
            .collect(),
    ))
}

/// The valid kept sessions of `token`'s fleet, with their tokens.
async fn kept_infos(
    engine: &Engine,
    token: &Token,
    headers: &HeaderMap,
    state: &AppState,
) -> Vec<(Token, SessionInfo)> {
    let mut out = Vec::new();
    for kept in kept_tokens(headers, state.site.kept_cookie_name()) {
        if kept.fleet != token.fleet || kept.raw == token.raw {
            continue;
        }
        let hash = kept.hash.clone();
        if let Ok(view) = engine
            .ask(|reply| EngineRequest::Session {
                token_hash: hash,
                reply,
            })
            .await
        {
            out.push((kept, view.info));
        }
    }
    out
}

/// Makes the session this browser keeps on a login host its current one; the current one is kept at
/// hand in its place (rules §15.36).
#[utoipa::path(post, path = "/api/v1/sessions/switch", request_body = SwitchRequest,
    responses((status = 200, body = SessionInfo), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
async fn switch_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    token: Token,
    ApiJson(body): ApiJson<SwitchRequest>,
) -> Result<Response, AppError> {
    let engine = session_of(&state, &token).await?.0;
    let kept = kept_infos(&engine, &token, &headers, &state).await;
    let Some(pos) = kept
        .iter()
        .position(|(_, i)| i.login_host.to_string() == body.login_host)
    else {
        return Err(AppError::new(
            404,
            "no_kept_session",
            format!(
                "This browser keeps no other session on {}: open one first (the machine's page or the account menu, \"Open a session on another machine\"), then switch to it.",
                body.login_host.chars().take(253).collect::<String>()
            ),
        ));
    };
    let info = kept[pos].1.clone();
    let others: Vec<&Token> = std::iter::once(&token)
        .chain(
            kept.iter()
                .enumerate()
                .filter(|(i, _)| *i != pos)
                .map(|(_, (t, _))| t),
        )
        .collect();
    let mut response = Json(info).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookie_header(state.site.cookie(Some(&kept[pos].0.raw))),
    );
    response
        .headers_mut()
        .append(header::SET_COOKIE, kept_cookie(&state, &others));
    Ok(response)
}

/// The current session: fleet, user, role, login host, the terminal's mode and prompt, its staged changes.
#[utoipa::path(get, path = "/api/v1/session", responses((status = 200, body = SessionInfo), (status = 401, body = ApiError)))]
async fn session(State(state): State<AppState>, token: Token) -> Result<Json<SessionInfo>, AppError> {
    Ok(Json(session_of(&state, &token).await?.1.info))
}

/// One CLI line (rules §10), or the answer to the previous line's question, in the session's own mode.
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
    let engine = engine_of(&state, &token).await?;
    Ok(Json(
        engine
            .ask(|reply| EngineRequest::Cli {
                token_hash: token.hash,
                line: body.line,
                reply,
            })
            .await?,
    ))
}

/// A typed command with the mode of the page that sends it, the revision the client saw and the answers
/// so far: the plan's events, a question, a refusal (422, 403), or 409 when an immediate command was
/// checked against a stale revision.
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
    if body.revision.is_some_and(|r| r > MAX_QUERY_INT) {
        return Err(AppError::new(
            400,
            "bad_revision",
            format!("revision: at most {MAX_QUERY_INT}."),
        ));
    }
    let engine = engine_of(&state, &token).await?;
    Ok(Json(
        engine
            .ask(|reply| EngineRequest::Command {
                token_hash: token.hash,
                command: Box::new(body.command),
                at: body.mode,
                answers: body.answers,
                revision: body.revision,
                reply,
            })
            .await?,
    ))
}

/// A simulator control (rules §16.2), for administrators, on the session's fleet: cut or restore a link,
/// a name, power; arm a failing install, a slow reboot, slow delivery. Not an appliance command: it is
/// recorded in the audit log as `simulator: @...`.
#[utoipa::path(post, path = "/api/v1/simulator", request_body = cluster::event::Fault,
    responses((status = 200, body = crate::engine::SimulatorResponse), (status = 422, body = ApiError),
              (status = 403, body = ApiError), (status = 401, body = ApiError)))]
async fn simulator(
    State(state): State<AppState>,
    token: Token,
    ApiJson(fault): ApiJson<cluster::event::Fault>,
) -> Result<Json<crate::engine::SimulatorResponse>, AppError> {
    let engine = engine_of(&state, &token).await?;
    Ok(Json(
        engine
            .ask(|reply| EngineRequest::Simulate {
                token_hash: token.hash,
                fault,
                reply,
            })
            .await?,
    ))
}

/// The largest integer a query takes (what the document's `int64` allows).
const MAX_QUERY_INT: u64 = i64::MAX as u64;

// The filters' patterns and lengths are the domain's (`cluster::wire::AUDIT_*_PATTERN`, `AUDIT_*_MAX`:
// a value fits them exactly when `AuditFilter::parse` reads it); `server/tests/audit.rs` holds them equal.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Only entries with a smaller id (for paging back: the last id of the previous page).
    #[param(maximum = 9_223_372_036_854_775_807_i64)]
    before: Option<u64>,
    /// At most this many (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// Only this user's entries (a user name; empty: any user).
    #[param(pattern = "^([A-Za-z][A-Za-z0-9_.-]{0,63})?$", max_length = 64)]
    user: Option<String>,
    /// Only entries typed on this machine (login host) or run in its machine mode (a hostname; empty:
    /// any machine).
    #[param(
        pattern = "^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)?$",
        max_length = 253
    )]
    machine: Option<String>,
    /// Only entries with this outcome: `accepted` (accepted or read), `refused`, `prompt` (empty: any).
    #[param(pattern = "^(accepted|refused|prompt)?$", max_length = 8)]
    outcome: Option<String>,
    /// Only entries at or after this simulated time (`YYYY-MM-DDTHH:MM:SSZ`; empty: no bound).
    #[param(
        pattern = "^([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z)?$",
        max_length = 20
    )]
    from: Option<String>,
    /// Only entries at or before this simulated time (`YYYY-MM-DDTHH:MM:SSZ`; empty: no bound). Before
    /// `from`, nothing matches.
    #[param(
        pattern = "^([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z)?$",
        max_length = 20
    )]
    to: Option<String>,
}

/// The audit log of the session's fleet, newest first: every command, accepted or refused
/// (administrators); filtered by user, machine, outcome and simulated time, paged back by `before`
/// (rules §15.33). A parameter that cannot be read is 400 naming it.
#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery),
    responses((status = 200, body = [AuditEntry]), (status = 400, body = ApiError),
              (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn audit(
    State(state): State<AppState>,
    token: Token,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Vec<AuditEntry>>, AppError> {
    let Query(q) = query.map_err(|e| AppError::new(400, "bad_query", e.body_text()))?;
    if q.before.is_some_and(|b| b > MAX_QUERY_INT) {
        return Err(AppError::new(
            400,
            "bad_query",
            format!("before: at most {MAX_QUERY_INT}."),
        ));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::new(400, "bad_query", "limit: from 1 to 1000."));
    }
    let filter = cluster::wire::AuditFilter::parse(cluster::wire::AuditFilterText {
        user: q.user.as_deref().unwrap_or(""),
        machine: q.machine.as_deref().unwrap_or(""),
        outcome: q.outcome.as_deref().unwrap_or(""),
        from: q.from.as_deref().unwrap_or(""),
        to: q.to.as_deref().unwrap_or(""),
    })
    .map_err(|e| AppError::new(400, "bad_query", format!("{e}.")))?;
    let engine = engine_of(&state, &token).await?;
    Ok(Json(
        engine
            .ask(|reply| EngineRequest::Audit {
                token_hash: token.hash,
                filter,
                before: q.before,
                limit,
                reply,
            })
            .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct EventsQuery {
    /// The last revision the client has; events after it are sent first.
    #[param(maximum = 9_223_372_036_854_775_807_i64)]
    since: u64,
}

/// Server-sent events of the session's fleet, as its role may see them: every event after `since`, then
/// live ones (`event`), and this session's own changes (`session`; `ended` when it ends). A client too
/// far behind gets a `resync` event and should fetch the fleet again.
#[utoipa::path(get, path = "/api/v1/events", params(EventsQuery), responses((status = 200, content_type = "text/event-stream")))]
async fn events(
    State(state): State<AppState>,
    token: Token,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, AppError> {
    let Query(q) = query.map_err(|e| AppError::new(400, "bad_query", e.body_text()))?;
    if q.since > MAX_QUERY_INT {
        return Err(AppError::new(
            400,
            "bad_query",
            format!("since: at most {MAX_QUERY_INT}."),
        ));
    }
    let (engine, view) = session_of(&state, &token).await?;
    let audience = Audience::of(view.role);
    let own = view.info.session;
    let live = engine.events.subscribe();
    let updates = engine.sessions.subscribe();
    let backlog = match engine.backlog(q.since, audience).await {
        Ok(b) => b,
        Err(EngineError::TooFarBehind) => {
            let s = stream::once(async { Ok(resync_event()) }).boxed();
            return Ok(Sse::new(s).keep_alive(KeepAlive::default()));
        }
        Err(e) => return Err(e.into()),
    };
    let last = backlog.last().map(|r| r.revision).unwrap_or(q.since);
    let first = stream::iter(backlog.into_iter().map(|r| record_event(&r)));
    let rest = stream::unfold((live, last, false), move |(mut rx, last, done)| async move {
        if done {
            return None;
        }
        loop {
            match rx.recv().await {
                Ok(p) if p.revision <= last => continue,
                Ok(p) => {
                    let revision = p.revision;
                    return Some((record_event(p.for_audience(audience)), (rx, revision, false)));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    return Some((resync_event(), (rx, last, true)))
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let mine = stream::unfold((updates, false), move |(mut rx, done)| async move {
        if done {
            return None;
        }
        loop {
            match rx.recv().await {
                Ok(u) if u.session != own => continue,
                Ok(u) => {
                    return match &u.info {
                        Some(info) => Some((Out::More(session_event(info)), (rx, false))),
                        None => Some((
                            Out::Last(SseEvent::default().event("ended").data("{}")),
                            (rx, true),
                        )),
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    // The test API changed the clock (issue 15): the console loads the fleet and its clock again.
    let mut clock = engine.clock_changes.clone();
    clock.mark_unchanged();
    let clock = stream::unfold(clock, |mut rx| async move {
        rx.changed().await.ok()?;
        Some((Out::More(resync_event()), rx))
    });
    // The stream ends right after its session's "ended", and when the server stops.
    let mut stopping = state.stopping.clone();
    let mine = stream::select(mine, clock);
    let both = stream::select(first.chain(rest).map(Out::More), mine)
        .take_until(async move { crate::listen::stopped(&mut stopping).await })
        .boxed();
    let merged = stream::unfold((both, false), |(mut both, over)| async move {
        if over {
            return None;
        }
        match both.next().await? {
            Out::More(e) => Some((Ok(e), (both, false))),
            Out::Last(e) => Some((Ok(e), (both, true))),
        }
    });
    Ok(Sse::new(merged.boxed()).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// An event of a stream, or the last one.
enum Out {
    More(SseEvent),
    Last(SseEvent),
}

fn record_event(r: &EventRecord) -> SseEvent {
    SseEvent::default()
        .event("event")
        .id(r.revision.to_string())
        .data(serde_json::to_string(r).unwrap_or_else(|_| "{}".into()))
}

fn session_event(info: &SessionInfo) -> SseEvent {
    SseEvent::default()
        .event("session")
        .data(serde_json::to_string(info).unwrap_or_else(|_| "{}".into()))
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
        description = "Centralized management of simulated appliance clusters, one fleet per session."
    ),
    paths(
        health,
        fleet,
        login,
        logout,
        session,
        kept_sessions,
        switch_session,
        cli,
        commands,
        simulator,
        audit,
        events,
        openapi,
        crate::sandbox::http::scenarios,
        crate::sandbox::http::create,
        crate::sandbox::http::current,
        crate::sandbox::http::reset,
        crate::sandbox::http::share,
        crate::sandbox::http::log,
        crate::sandbox::http::info,
        crate::sandbox::http::fork
    )
)]
struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", responses((status = 200, body = Object)))]
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    static DOC: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    Json(DOC.get_or_init(document).clone())
}

/// The API's OpenAPI document: the handlers' own declarations, plus the answers every operation may
/// give whatever its handler says (they come from the layers in front of it).
pub fn document() -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};
    let mut doc = ApiDoc::openapi();
    let error = |why: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(why)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                            "ApiError",
                        ))))
                        .build(),
                )
                .build(),
        )
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let open = matches!(
            path.as_str(),
            "/api/v1/health"
                | "/api/v1/openapi.json"
                | "/api/v1/login"
                | "/api/v1/sandboxes"
                | "/api/v1/sandboxes/scenarios"
                | "/api/v1/shares/{code}"
                | "/api/v1/shares/{code}/info"
                | "/api/v1/shares/{code}/fork"
        );
        let ops = [
            (&mut item.get, false),
            (&mut item.post, true),
            (&mut item.put, true),
            (&mut item.delete, true),
        ];
        for (op, changes) in ops {
            let Some(op) = op.as_mut() else { continue };
            let mut add = |status: &str, why: &str| {
                op.responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| error(why));
            };
            add(
                "400",
                "The request is malformed (a query parameter or the JSON body).",
            );
            if !open {
                add("401", "No session: log in first (or the session has ended).");
            }
            add("408", "The request took too long to arrive.");
            add("421", "The request's Host is not this server (--public-url).");
            add("503", "Busy or stopping: retry shortly (see Retry-After).");
            if changes {
                add(
                    "403",
                    "No Origin of this server, or the session's role may not do this.",
                );
                add("413", "The body is too large.");
                add("415", "The body is not JSON.");
                add(
                    "422",
                    "The body does not fit the schema, or the rules refuse the command.",
                );
            }
        }
    }
    if let Some(components) = doc.components.as_mut() {
        components
            .schemas
            .entry("ApiError".to_string())
            .or_insert_with(<ApiError as utoipa::PartialSchema>::schema);
    }
    doc
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
    let test_api = if state.test_api {
        crate::testapi::routes()
    } else {
        Router::new()
    };
    let api = Router::new()
        .merge(test_api)
        .route("/health", get(health))
        .route("/fleet", get(fleet))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/sessions", get(kept_sessions))
        .route("/sessions/switch", post(switch_session))
        .route("/session", get(session))
        .route("/cli", post(cli))
        .route("/commands", post(commands))
        .route("/simulator", post(simulator))
        .route("/audit", get(audit))
        .route("/events", get(events))
        .route("/openapi.json", get(openapi))
        .route("/sandboxes", post(crate::sandbox::http::create))
        .route("/sandboxes/scenarios", get(crate::sandbox::http::scenarios))
        .route("/sandboxes/current", get(crate::sandbox::http::current))
        .route("/sandboxes/reset", post(crate::sandbox::http::reset))
        .route("/shares", post(crate::sandbox::http::share))
        .route("/shares/{code}", get(crate::sandbox::http::log))
        .route("/shares/{code}/info", get(crate::sandbox::http::info))
        .route("/shares/{code}/fork", post(crate::sandbox::http::fork))
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

#[cfg(test)]
mod tests {
    #[test]
    fn body_errors_name_fields_not_types() {
        let cases = [
            (
                "Failed to deserialize the JSON body into the target type: invalid length 0, expected struct CliRequest with 1 element",
                "invalid length 0, expected an object with 1 element",
            ),
            (
                "command: expected internally tagged enum Command at line 1 column 14",
                "command: expected an object with its kind field (see the API document) at line 1 column 14",
            ),
            ("command.op: unknown variant `x`, expected enum CommitCmd", "command.op: unknown variant `x`, expected one of the documented values"),
            ("line: invalid type: integer `5`, expected a string", "line: invalid type: integer `5`, expected a string"),
        ];
        for (given, wanted) in cases {
            assert_eq!(super::plain_words(given), wanted);
        }
    }
}
