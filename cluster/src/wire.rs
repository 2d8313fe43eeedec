//! Request and response bodies of the HTTP API, shared by the server and the browser so both sides
//! agree on the wire format.

use serde::{Deserialize, Serialize};

use crate::event::{Event, EventKind, Write};
use crate::features::{ColumnKind, FeatureId};
use crate::model::{ConfigStore, FeatureValue, Fleet};
use crate::session::Pending;

/// What the wire shows instead of a secret.
pub const MASK: &str = "********";

/// Masks every secret cell (passwords, whatever the store holds: hashes included).
pub fn redact_value(feature: FeatureId, value: &mut FeatureValue) {
    for (i, column) in feature.schema().columns.iter().enumerate() {
        if column.kind == ColumnKind::Secret {
            for row in value.rows.iter_mut() {
                if let Some(cell) = row.0.get_mut(i) {
                    *cell = MASK.to_string();
                }
            }
        }
    }
}

fn redact_store(store: &mut ConfigStore) {
    for settings in store.modes.values_mut() {
        for (feature, setting) in settings.iter_mut() {
            redact_value(*feature, &mut setting.value);
        }
    }
}

fn redact_pending(item: &mut Pending) {
    if let Pending::Edit {
        feature,
        value: Some(v),
        ..
    } = item
    {
        redact_value(*feature, v);
    }
}

/// The fleet as a browser may see it: no secrets, no saved files' contents.
pub fn redact_fleet(fleet: &Fleet) -> Fleet {
    let mut f = fleet.clone();
    for m in f.machines.values_mut() {
        redact_store(&mut m.config);
        for text in m.local.saved_configs.values_mut() {
            *text = redact_config_text(text);
        }
    }
    for s in f.sessions.values_mut() {
        s.pending.iter_mut().for_each(redact_pending);
    }
    f
}

/// A saved configuration file with its password hashes masked.
fn redact_config_text(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.starts_with("+ ") && l.contains("$argon2") {
                l.split(' ')
                    .map(|w| if w.starts_with("$argon2") { MASK } else { w })
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// An event as a browser may see it.
pub fn redact_event(event: &Event) -> Event {
    let mut e = event.clone();
    match &mut e.kind {
        EventKind::Staged { item, .. } => redact_pending(item),
        EventKind::Committed {
            writes, structure, ..
        } => {
            for Write { feature, value, .. } in writes.iter_mut() {
                if let Some(v) = value {
                    redact_value(*feature, v);
                }
            }
            structure.iter_mut().for_each(redact_pending);
        }
        EventKind::Forced { feature, setting, .. } => redact_value(*feature, &mut setting.value),
        EventKind::MachineAdded { machine } => redact_store(&mut machine.config),
        EventKind::ConfigSaved { text, .. } => *text = redact_config_text(text),
        _ => {}
    }
    e
}

/// One event of the stream, with the revision it produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventRecord {
    pub revision: u64,
    pub event: Event,
}

/// `GET /api/v1/fleet`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FleetResponse {
    pub revision: u64,
    pub fleet: Fleet,
}

/// Every API error: a stable machine-readable `code` and a human `message`; for a refused command the
/// `rule` that refused, for a stale one the current `revision`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
}

/// `POST /api/v1/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub user: String,
    pub password: String,
    pub login_host: String,
}

/// The answer to a login, and `GET /api/v1/session`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    pub session: crate::model::SessionId,
    pub user: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub role: crate::roles::Role,
    pub login_host: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub mode: Option<crate::model::Mode>,
    /// The command prompt, e.g. `(Cluster Americas)>`.
    pub prompt: String,
}

/// `POST /api/v1/cli`: one line, or the answer to the previous line's question.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CliRequest {
    pub line: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CliStatus {
    Ok,
    Prompt,
    Rejected,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CliResponse {
    pub status: CliStatus,
    /// The lines printed (for a prompt: the question).
    pub output: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub mode: Option<crate::model::Mode>,
    /// The command prompt after the line.
    pub prompt: String,
    pub revision: u64,
}

/// `POST /api/v1/commands`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommandRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub command: crate::command::Command,
    /// The revision the client saw; an immediate command or commit made on a stale one gets 409.
    #[serde(default)]
    pub revision: Option<u64>,
    /// Answers to the command's questions so far, in order.
    #[serde(default)]
    pub answers: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CommandResponse {
    Ok {
        revision: u64,
        events: Vec<EventRecord>,
        output: Vec<String>,
        warnings: Vec<String>,
        reach: Vec<crate::names::Hostname>,
    },
    Prompt {
        revision: u64,
        prompt: crate::verdict::Prompt,
    },
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: u64,
    pub at: String,
    pub user: String,
    pub login_host: String,
    pub mode: String,
    pub line: String,
    /// `accepted`, `prompt`, `rejected: <message>`.
    pub outcome: String,
    pub revision: u64,
}
