//! The app's HTTP client: every request the browser makes goes through here.

use cluster::wire::{ApiError, FleetResponse, LoginRequest, SessionInfo};
use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;

/// A failed request: the HTTP status (0 for a network failure) and the server's message.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub status: u16,
    pub message: String,
    /// The server's error code (`sandbox_gone`, ...); empty when it gave none.
    pub code: String,
}

impl Failure {
    pub fn is_unauthenticated(&self) -> bool {
        self.status == 401
    }
}

/// What a response that is not a success says.
async fn failure(response: Response) -> Failure {
    let status = response.status();
    let (message, code) = match response.json::<ApiError>().await {
        Ok(err) => (err.message, err.code),
        Err(_) => (format!("the server answered HTTP {status}"), String::new()),
    };
    Failure {
        status,
        message,
        code,
    }
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, Failure> {
    let status = response.status();
    if !response.ok() {
        return Err(failure(response).await);
    }
    response.json::<T>().await.map_err(|e| Failure {
        code: String::new(),
        status,
        message: format!("unreadable answer from the server: {e}"),
    })
}

fn network(e: gloo_net::Error) -> Failure {
    Failure {
        code: String::new(),
        status: 0,
        message: format!("cannot reach the server: {e}"),
    }
}

/// Fetches the fleet and its revision.
pub async fn fetch_fleet() -> Result<FleetResponse, Failure> {
    decode(Request::get("/api/v1/fleet").send().await.map_err(network)?).await
}

/// The current session, if logged in.
pub async fn fetch_session() -> Result<SessionInfo, Failure> {
    decode(Request::get("/api/v1/session").send().await.map_err(network)?).await
}

pub async fn login(body: &LoginRequest) -> Result<SessionInfo, Failure> {
    // Other logins of the same account being checked right now (several tabs at once): the server says
    // to try again in a second, so do, a few times.
    for _ in 0..3 {
        let request = Request::post("/api/v1/login").json(body).map_err(|e| Failure {
            code: String::new(),
            status: 0,
            message: e.to_string(),
        })?;
        let response = request.send().await.map_err(network)?;
        if response.status() == 429 {
            if let Ok(err) = response.json::<ApiError>().await {
                if err.code == "login_busy" {
                    pause_ms(1000).await;
                    continue;
                }
                return Err(Failure {
                    code: err.code,
                    status: 429,
                    message: err.message,
                });
            }
        }
        return decode(response).await;
    }
    Err(Failure {
        code: String::new(),
        status: 429,
        message: "Other logins of this account are being checked right now; try again in a moment.".into(),
    })
}

/// Resolves after `ms` milliseconds.
async fn pause_ms(ms: i32) {
    use wasm_bindgen::JsCast;
    let (tx, rx) = futures_channel::oneshot::channel::<()>();
    let done = wasm_bindgen::closure::Closure::once(move || {
        let _ = tx.send(());
    });
    if let Some(w) = web_sys::window() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(done.as_ref().unchecked_ref(), ms);
    }
    done.forget();
    let _ = rx.await;
}

/// `GET /api/v1/sessions`: the other sessions this browser keeps at hand.
pub async fn kept_sessions() -> Result<Vec<SessionInfo>, Failure> {
    decode(Request::get("/api/v1/sessions").send().await.map_err(network)?).await
}

/// `POST /api/v1/sessions/switch`: makes the kept session on `host` the current one.
pub async fn switch_session(host: &cluster::Hostname) -> Result<SessionInfo, Failure> {
    post(
        "/api/v1/sessions/switch",
        &cluster::wire::SwitchRequest {
            login_host: host.to_string(),
        },
    )
    .await
}

pub async fn logout() -> Result<(), Failure> {
    let response = Request::post("/api/v1/logout").send().await.map_err(network)?;
    if response.ok() {
        Ok(())
    } else {
        Err(Failure {
            code: String::new(),
            status: response.status(),
            message: "logout failed".into(),
        })
    }
}

async fn post<B: serde::Serialize, T: DeserializeOwned>(url: &str, body: &B) -> Result<T, Failure> {
    let request = Request::post(url).json(body).map_err(|e| Failure {
        code: String::new(),
        status: 0,
        message: e.to_string(),
    })?;
    decode(request.send().await.map_err(network)?).await
}

/// `POST /api/v1/commands`.
pub async fn command(
    body: &cluster::wire::CommandRequest,
) -> Result<cluster::wire::CommandResponse, Failure> {
    post("/api/v1/commands", body).await
}

/// `POST /api/v1/simulator`.
pub async fn simulate(fault: &cluster::event::Fault) -> Result<cluster::wire::SimulatorResponse, Failure> {
    post("/api/v1/simulator", fault).await
}

/// `POST /api/v1/cli`.
pub async fn cli(line: &str) -> Result<cluster::wire::CliResponse, Failure> {
    post(
        "/api/v1/cli",
        &cluster::wire::CliRequest {
            line: line.to_string(),
        },
    )
    .await
}

/// `GET /api/v1/audit`: at most `limit` entries that pass `filter`, newest first, older than `before`
/// (rules §15.33).
pub async fn audit(
    filter: &cluster::wire::AuditFilter,
    before: Option<u64>,
    limit: usize,
) -> Result<Vec<cluster::wire::AuditEntry>, Failure> {
    let mut url = format!("/api/v1/audit?limit={limit}");
    let query = filter.query();
    if !query.is_empty() {
        url.push('&');
        url.push_str(&query);
    }
    if let Some(before) = before {
        url.push_str(&format!("&before={before}"));
    }
    decode(Request::get(&url).send().await.map_err(network)?).await
}

/// The scenarios of a demo server (sandbox mode); `None` for any other server, which `GET
/// /api/v1/health` says without a failed request.
pub async fn scenarios() -> Result<Option<Vec<cluster::wire::ScenarioInfo>>, Failure> {
    #[derive(serde::Deserialize)]
    struct Health {
        #[serde(default)]
        sandbox: bool,
    }
    let health: Health = decode(Request::get("/api/v1/health").send().await.map_err(network)?).await?;
    if !health.sandbox {
        return Ok(None);
    }
    decode(
        Request::get("/api/v1/sandboxes/scenarios")
            .send()
            .await
            .map_err(network)?,
    )
    .await
    .map(Some)
}

/// `POST /api/v1/sandboxes`: a sandbox of this browser's own from `scenario`.
pub async fn start_sandbox(scenario: &str) -> Result<cluster::wire::SandboxStarted, Failure> {
    post(
        "/api/v1/sandboxes",
        &cluster::wire::SandboxRequest {
            scenario: scenario.to_string(),
        },
    )
    .await
}

/// `GET /api/v1/sandboxes/current`: the sandbox of this browser's session.
pub async fn current_sandbox() -> Result<cluster::wire::SandboxInfo, Failure> {
    decode(
        Request::get("/api/v1/sandboxes/current")
            .send()
            .await
            .map_err(network)?,
    )
    .await
}

/// `POST /api/v1/sandboxes/reset`.
pub async fn reset_sandbox() -> Result<cluster::wire::SandboxStarted, Failure> {
    post("/api/v1/sandboxes/reset", &serde_json::json!({})).await
}

/// `POST /api/v1/shares`: a link that replays this sandbox as it is now.
pub async fn share() -> Result<cluster::wire::ShareResponse, Failure> {
    post("/api/v1/shares", &serde_json::json!({})).await
}

/// `GET /api/v1/shares/{code}`: a share's log (JSON Lines), read into an export.
pub async fn share_log(code: &str) -> Result<cluster::share::Export, Failure> {
    let response = Request::get(&format!("/api/v1/shares/{code}"))
        .send()
        .await
        .map_err(network)?;
    if !response.ok() {
        return Err(failure(response).await);
    }
    let status = response.status();
    let text = response.text().await.map_err(network)?;
    cluster::share::read_export(&text).map_err(|message| Failure {
        status,
        message: format!("this share does not read: {message}"),
        code: String::new(),
    })
}

/// `GET /api/v1/shares/{code}/info`.
pub async fn share_info(code: &str) -> Result<cluster::wire::ShareInfo, Failure> {
    decode(
        Request::get(&format!("/api/v1/shares/{code}/info"))
            .send()
            .await
            .map_err(network)?,
    )
    .await
}

/// `POST /api/v1/shares/{code}/fork`: a new sandbox from the share at `revision`.
pub async fn fork(code: &str, revision: u64) -> Result<cluster::wire::SandboxStarted, Failure> {
    post(
        &format!("/api/v1/shares/{code}/fork"),
        &cluster::wire::ForkRequest {
            revision: Some(revision),
        },
    )
    .await
}
