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
    let request = Request::post("/api/v1/login").json(body).map_err(|e| Failure {
        status: 0,
        message: e.to_string(),
    })?;
    decode(request.send().await.map_err(network)?).await
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

/// `GET /api/v1/audit`.
pub async fn audit() -> Result<Vec<cluster::wire::AuditEntry>, Failure> {
    decode(
        Request::get("/api/v1/audit?limit=200")
            .send()
            .await
            .map_err(network)?,
    )
    .await
}
