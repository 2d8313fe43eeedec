//! The app's HTTP client: every request the browser makes goes through here.

use cluster::wire::{ApiError, FleetResponse};
use gloo_net::http::Request;

/// Fetches the fleet and its revision.
pub async fn fetch_fleet() -> Result<FleetResponse, String> {
    let response = Request::get("/api/v1/fleet")
        .send()
        .await
        .map_err(|e| format!("network error: {e}"))?;
    if !response.ok() {
        let status = response.status();
        return Err(match response.json::<ApiError>().await {
            Ok(err) => err.message,
            Err(_) => format!("the server answered HTTP {status}"),
        });
    }
    response
        .json::<FleetResponse>()
        .await
        .map_err(|e| format!("unreadable answer from the server: {e}"))
}
