//! Request and response bodies of the HTTP API, shared by the server and the browser so both sides
//! agree on the wire format — and the one place that knows which cells are secret: [`try_fleet_secrets`]
//! and [`try_event_secrets`] visit every password cell (the server hashes them), [`redact_fleet`] and
//! [`redact_event`] mask them for the wire.

use serde::{Deserialize, Serialize};

use crate::event::{Event, EventKind, Write};
use crate::features::{ColumnKind, FeatureId, FeatureValue, Row, MASK};
use crate::fleet::Fleet;
use crate::roles::{Permission, Role};
use crate::session::{Pending, Session};
use crate::store::{Change, ConfigStore};

/// Calls `f` on every secret cell of a value of `feature`.
pub fn try_value_secrets<E>(
    feature: FeatureId,
    value: &mut FeatureValue,
    f: &mut impl FnMut(&mut String) -> Result<(), E>,
) -> Result<(), E> {
    try_rows_secrets(feature, value.rows.iter_mut(), f)
}

/// Calls `f` on every secret cell of rows of `feature`.
fn try_rows_secrets<'a, E>(
    feature: FeatureId,
    rows: impl Iterator<Item = &'a mut Row>,
    f: &mut impl FnMut(&mut String) -> Result<(), E>,
) -> Result<(), E> {
    let secret: Vec<usize> = feature
        .schema()
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind == ColumnKind::Secret)
        .map(|(i, _)| i)
        .collect();
    if secret.is_empty() {
        return Ok(());
    }
    for row in rows {
        for &i in &secret {
            if let Some(cell) = row.cell_mut(i) {
                f(cell)?;
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

/// Calls `f` on every secret cell a staged item carries.
pub fn try_pending_secrets<E>(
    item: &mut Pending,
    f: &mut impl FnMut(&mut String) -> Result<(), E>,
) -> Result<(), E> {
    if let Pending::Edit { feature, edit, .. } = item {
        try_rows_secrets(*feature, edit.rows_mut(), f)?;
    }
    Ok(())
}

/// Calls `f` on every secret cell of the fleet (every replica).
pub fn try_fleet_secrets<E>(
    fleet: &mut Fleet,
    f: &mut impl FnMut(&mut String) -> Result<(), E>,
) -> Result<(), E> {
    for m in fleet.machines.values_mut() {
        try_store_secrets(&mut m.config, f)?;
    }
    Ok(())
}

/// Calls `f` on every secret cell a session's staged edits carry.
pub fn try_session_secrets<E>(
    session: &mut Session,
    f: &mut impl FnMut(&mut String) -> Result<(), E>,
) -> Result<(), E> {
    for item in session.pending.iter_mut() {
        try_pending_secrets(item, f)?;
    }
    Ok(())
}

/// Calls `f` on every secret cell an event carries.
pub fn try_event_secrets<E>(
    event: &mut Event,
    f: &mut impl FnMut(&mut String) -> Result<(), E>,
) -> Result<(), E> {
    match &mut event.kind {
        EventKind::Committed { writes, .. } => {
            for Write { feature, change, .. } in writes.iter_mut() {
                try_rows_secrets(*feature, change.rows_mut(), f)?;
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

/// A session as its own browser may see it: its staged passwords masked.
pub fn redact_session(session: &Session) -> Session {
    let mut s = session.clone();
    let _ = try_session_secrets(&mut s, &mut mask);
    s
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

/// The features a role without configuration reads still sees, because status reads need them: which
/// listeners run on which interface (rules §14.7.2: status is for every role).
pub const STATUS_FEATURES: &[FeatureId] =
    &[FeatureId::Listeners, FeatureId::IpInterfaces, FeatureId::Hostname];

/// What a role may see of the fleet and its history: the three views the server builds (rules §14.7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// Configuration and the audit-like history (commit comments): administrators.
    Full,
    /// Configuration: operators and read-only operators.
    Config,
    /// Status only: help desk and guests.
    Status,
}

impl Audience {
    pub const ALL: [Audience; 3] = [Audience::Full, Audience::Config, Audience::Status];

    pub fn of(role: Role) -> Audience {
        if role.may(Permission::ReadAudit) {
            Audience::Full
        } else if role.may(Permission::ReadConfig) {
            Audience::Config
        } else {
            Audience::Status
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    fn config(self) -> bool {
        self != Audience::Status
    }

    fn hidden(self, feature: FeatureId) -> bool {
        !self.config() && !STATUS_FEATURES.contains(&feature)
    }
}

/// What stands in for a machine's user key where the role does not read configuration (the key is what
/// `clusterconfig prepjoin` exchanges).
fn withheld_key() -> crate::names::UserKey {
    crate::names::UserKey::known("withheld")
}

fn blank_store(store: &mut ConfigStore, audience: Audience) {
    for settings in store.modes.values_mut() {
        for (feature, setting) in settings.iter_mut() {
            if audience.hidden(*feature) {
                setting.value = FeatureValue::withheld();
            }
        }
    }
}

/// The fleet as a session of `role` may see it (rules §14.7.2), the one view the server sends: no
/// secrets; without configuration reads, every feature but [`STATUS_FEATURES`] is blanked (definitions
/// and their revisions stay, their rows do not) and saved files hold nothing.
pub fn scope_fleet(fleet: &Fleet, role: Role) -> Fleet {
    scope_fleet_for(fleet, Audience::of(role))
}

/// [`scope_fleet`] for an audience.
pub fn scope_fleet_for(fleet: &Fleet, audience: Audience) -> Fleet {
    let mut f = redact_fleet(fleet);
    if !audience.config() {
        for m in f.machines.values_mut() {
            blank_store(&mut m.config, audience);
            m.user_key = withheld_key();
            for text in m.local.saved_configs.values_mut() {
                text.clear();
            }
        }
        for c in f.clusters.values_mut() {
            for entry in c.prepjoin.iter_mut() {
                entry.user_key = withheld_key();
            }
        }
    }
    f
}

/// An event as a session of `role` may see it, so that applying the scoped events to the scoped fleet
/// gives the scope of the fleet: secrets masked; without configuration reads, hidden features' values
/// blanked and saved files empty; commit comments only for roles that may read the audit log.
pub fn scope_event(event: &Event, role: Role) -> Event {
    scope_event_for(event, Audience::of(role))
}

/// [`scope_event`] for an audience.
pub fn scope_event_for(event: &Event, audience: Audience) -> Event {
    let mut e = redact_event(event);
    let config = audience.config();
    match &mut e.kind {
        EventKind::Committed {
            writes,
            comment,
            structure,
            ..
        } => {
            if audience != Audience::Full {
                *comment = None;
            }
            if !config {
                for op in structure.iter_mut() {
                    if let crate::structure::StructureOp::PrepJoinNew { entry } = op {
                        entry.user_key = withheld_key();
                    }
                }
            }
            for w in writes.iter_mut() {
                // A hidden feature's scoped value is blank, whatever rows the change carries.
                if audience.hidden(w.feature) && w.change != Change::Remove {
                    w.change = Change::Define {
                        value: FeatureValue::withheld(),
                    };
                }
            }
        }
        EventKind::Forced { feature, setting, .. } if audience.hidden(*feature) => {
            setting.value = FeatureValue::withheld();
        }
        EventKind::MachineAdded { machine } if !config => {
            blank_store(&mut machine.config, audience);
            machine.user_key = withheld_key();
            for text in machine.local.saved_configs.values_mut() {
                text.clear();
            }
        }
        EventKind::ConfigSaved { text, .. } if !config => text.clear(),
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

/// The fleet's simulated clock: its time now (ms since the epoch) and how fast it runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClockInfo {
    pub now: i64,
    pub speed: f64,
}

/// `GET /api/v1/fleet`: the fleet as the session's role may see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FleetResponse {
    pub revision: u64,
    pub clock: ClockInfo,
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
    /// For a server error: the id of the request, to quote when reporting it (details are in the log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// `POST /api/v1/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub user: String,
    pub password: String,
    pub login_host: String,
    /// The fleet to log into (absent: `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$"))]
    pub fleet: Option<String>,
}

/// The answer to a login, and `GET /api/v1/session`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    /// The fleet the session belongs to.
    pub fleet: String,
    pub session: crate::session::SessionId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub user: crate::names::UserName,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub role: crate::roles::Role,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub login_host: crate::names::Hostname,
    /// The terminal's mode (pages name their own).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub mode: Option<crate::mode::Mode>,
    /// The command prompt, e.g. `(Cluster Americas)>`.
    pub prompt: String,
    /// This session's staged changes (secrets masked); nobody else sees them.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub pending: Vec<crate::session::Pending>,
}

impl SessionInfo {
    /// The session as `cluster::check` takes it (the browser checks against it before sending).
    pub fn session(&self) -> Session {
        Session {
            id: self.session,
            user: self.user.clone(),
            host: self.login_host.clone(),
            mode: self.mode.clone(),
            pending: self.pending.clone(),
            role: Some(self.role),
        }
    }
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
    /// The session after the line.
    pub session: SessionInfo,
}

/// The answer of `POST /api/v1/simulator`: what the control did, and the fleet's revision after it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SimulatorResponse {
    pub message: String,
    pub revision: u64,
}

/// `POST /api/v1/commands`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommandRequest {
    /// The typed command: `command` names the family (`feature`, `cluster_config`, `commit`, ...),
    /// the rest its operation and arguments.
    pub command: crate::cmd::Command,
    /// The mode the page that sends the command shows (rules §14.7.3); absent: the session's own mode.
    #[serde(default)]
    pub mode: Option<crate::mode::Mode>,
    /// The revision the client saw; an immediate command or commit made on a stale one gets 409.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 9_223_372_036_854_775_807_i64))]
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
        /// The session after the command (its staged changes, its mode).
        session: SessionInfo,
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
