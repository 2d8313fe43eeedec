//! The app's HTTP client: every request the browser makes goes through here.

use cluster::wire::{ApiError, FleetResponse, LoginRequest, SessionInfo};
use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;

/// A failed request: the HTTP status (0 for a network failure) and the server's message.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub status: u16,
    pub message: String,
}

impl Failure {
    pub fn is_unauthenticated(&self) -> bool {
        self.status == 401
    }
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, Failure> {
    let status = response.status();
    if !response.ok() {
        let message = match response.json::<ApiError>().await {
            Ok(err) => err.message,
            Err(_) => format!("the server answered HTTP {status}"),
        };
        return Err(Failure { status, message });
    }
    response.json::<T>().await.map_err(|e| Failure {
        status,
        message: format!("unreadable answer from the server: {e}"),
    })
}

fn network(e: gloo_net::Error) -> Failure {
    Failure {
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
                    status: 429,
                    message: err.message,
                });
            }
        }
        return decode(response).await;
    }
    Err(Failure {
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
            status: response.status(),
            message: "logout failed".into(),
        })
    }
}

async fn post<B: serde::Serialize, T: DeserializeOwned>(url: &str, body: &B) -> Result<T, Failure> {
    let request = Request::post(url).json(body).map_err(|e| Failure {
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
