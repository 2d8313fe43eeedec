//! Request and response bodies of the HTTP API, shared by the server and the browser so both sides
//! agree on the wire format.

use serde::{Deserialize, Serialize};

use crate::model::Fleet;

/// `GET /api/v1/fleet`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FleetResponse {
    pub revision: u64,
    pub fleet: Fleet,
}

/// Every API error: a stable machine-readable `code` and a human `message`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}
