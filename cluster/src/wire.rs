//! Request and response bodies of the HTTP API, shared by the server and the browser so both sides
//! agree on the wire format — and the one place that knows which cells are secret: [`try_fleet_secrets`]
//! and [`try_event_secrets`] visit every password cell (the server hashes them), [`redact_fleet`] and
//! [`redact_event`] mask them for the wire.

use serde::{Deserialize, Serialize};

use crate::event::{Event, EventKind, Write};
use crate::features::{ColumnKind, FeatureId, FeatureValue, MASK};
use crate::fleet::Fleet;
use crate::session::Pending;
use crate::store::ConfigStore;

/// Calls `f` on every secret cell of a value of `feature`.
pub fn try_value_secrets<E>(
    feature: FeatureId,
    value: &mut FeatureValue,
    f: &mut impl FnMut(&mut String) -> Result<(), E>,
) -> Result<(), E> {
    for (i, column) in feature.schema().columns.iter().enumerate() {
        if column.kind == ColumnKind::Secret {
            for row in value.rows.iter_mut() {
                if let Some(cell) = row.cell_mut(i) {
                    f(cell)?;
                }
            }
        }
    }
    Ok(())
}

fn try_store_secrets<E>(
    store: &mut ConfigStore,
    f: &mut impl FnMut(&mut String) -> Result<(), E>,
) -> Result<(), E> {
    for settings in store.modes.values_mut() {
        for (feature, setting) in settings.iter_mut() {
            try_value_secrets(*feature, &mut setting.value, f)?;
        }
    }
    Ok(())
}

fn try_pending_secrets<E>(
    item: &mut Pending,
    f: &mut impl FnMut(&mut String) -> Result<(), E>,
) -> Result<(), E> {
    if let Pending::Edit {
        feature,
        value: Some(v),
        ..
    } = item
    {
        try_value_secrets(*feature, v, f)?;
    }
    Ok(())
}

/// Calls `f` on every secret cell of the fleet: every replica and every staged edit.
pub fn try_fleet_secrets<E>(
    fleet: &mut Fleet,
    f: &mut impl FnMut(&mut String) -> Result<(), E>,
) -> Result<(), E> {
    for m in fleet.machines.values_mut() {
        try_store_secrets(&mut m.config, f)?;
    }
    for s in fleet.sessions.values_mut() {
        for item in s.pending.iter_mut() {
            try_pending_secrets(item, f)?;
        }
    }
    Ok(())
}

/// Calls `f` on every secret cell an event carries.
pub fn try_event_secrets<E>(
    event: &mut Event,
    f: &mut impl FnMut(&mut String) -> Result<(), E>,
) -> Result<(), E> {
    match &mut event.kind {
        EventKind::Staged { item, .. } => try_pending_secrets(item, f),
        EventKind::Committed { writes, .. } => {
            for Write { feature, value, .. } in writes.iter_mut() {
                if let Some(v) = value {
                    try_value_secrets(*feature, v, f)?;
                }
            }
            Ok(())
        }
        EventKind::Forced { feature, setting, .. } => try_value_secrets(*feature, &mut setting.value, f),
        EventKind::MachineAdded { machine } => try_store_secrets(&mut machine.config, f),
        _ => Ok(()),
    }
}

fn mask(cell: &mut String) -> Result<(), std::convert::Infallible> {
    *cell = MASK.to_string();
    Ok(())
}

/// Masks every secret cell of a value (passwords, whatever the store holds: hashes included).
pub fn redact_value(feature: FeatureId, value: &mut FeatureValue) {
    let _ = try_value_secrets(feature, value, &mut mask);
}

/// The fleet as a browser may see it: no secrets, no saved files' contents.
pub fn redact_fleet(fleet: &Fleet) -> Fleet {
    let mut f = fleet.clone();
    let _ = try_fleet_secrets(&mut f, &mut mask);
    for m in f.machines.values_mut() {
        for text in m.local.saved_configs.values_mut() {
            *text = redact_config_text(text);
        }
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
    let _ = try_event_secrets(&mut e, &mut mask);
    if let EventKind::ConfigSaved { text, .. } = &mut e.kind {
        *text = redact_config_text(text);
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
    pub session: crate::session::SessionId,
    pub user: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub role: crate::roles::Role,
    pub login_host: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub mode: Option<crate::mode::Mode>,
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
    pub mode: Option<crate::mode::Mode>,
    /// The command prompt after the line.
    pub prompt: String,
    pub revision: u64,
}

/// `POST /api/v1/commands`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommandRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub command: crate::cmd::Command,
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
