//! Request and response bodies of the HTTP API, shared by the server and the browser so both sides
//! agree on the wire format — and the one place that knows which cells are secret: [`try_fleet_secrets`]
//! and [`try_event_secrets`] visit every password cell (the server hashes them), [`redact_fleet`] and
//! [`redact_event`] mask them for the wire.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

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
    for m in fleet.machines.values_mut().map(Arc::make_mut) {
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
    for m in f.machines.values_mut().map(Arc::make_mut) {
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
        for m in f.machines.values_mut().map(Arc::make_mut) {
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
    /// Keep the browser's current session at hand (rules §15.36): it stays logged in beside the new one,
    /// and `POST /api/v1/sessions/switch` makes it current again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_current: bool,
}

/// `POST /api/v1/sessions/switch`: make the session this browser holds on `login_host` its current one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SwitchRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 253))]
    pub login_host: String,
}

/// A scenario a sandbox starts from (rules §18.2): `GET /api/v1/sandboxes/scenarios`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScenarioInfo {
    pub id: String,
    pub title: String,
    pub description: String,
}

/// `POST /api/v1/sandboxes`: a new sandbox from a scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SandboxRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub scenario: String,
}

/// A visitor's sandbox (rules §18.1): its fleet, the scenario it started from, and when it is discarded
/// unless used again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SandboxInfo {
    pub fleet: String,
    pub scenario: String,
    /// The scenario's title.
    pub title: String,
    /// Real time (UTC, `YYYY-MM-DDTHH:MM:SSZ`) the sandbox is discarded at unless it is used before.
    pub expires_at: String,
    /// The same as seconds from now (the browser counts down from it, whatever its own clock says).
    pub seconds_left: u64,
    /// Every use (a request of one of its sessions) restarts the count from this many seconds.
    pub ttl_seconds: u64,
}

/// A new sandbox (created, reset or forked) and its first session, whose cookie the answer sets.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SandboxStarted {
    #[serde(flatten)]
    pub sandbox: SandboxInfo,
    pub session: SessionInfo,
}

/// `POST /api/v1/shares`: the link that replays the sandbox as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareResponse {
    pub code: String,
    /// The link to give (`<public URL>/s/<code>`).
    pub url: String,
}

/// `GET /api/v1/shares/{code}/info`: what a share holds besides its log (rules §18.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareInfo {
    pub code: String,
    pub scenario: String,
    pub title: String,
    /// The revision the sandbox was frozen at.
    pub revision: u64,
    /// Real time of the share (UTC).
    pub shared_at: String,
    /// Who ran what (the sandbox's audit log, oldest first; the newest 1,000 entries at most).
    pub commands: Vec<AuditEntry>,
}

/// `POST /api/v1/shares/{code}/fork`: a new sandbox from a share, at its last revision or at `revision`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ForkRequest {
    #[serde(default)]
    pub revision: Option<u64>,
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

/// One line of the audit log (rules §15.33).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: u64,
    /// When, in the fleet's simulated time (`YYYY-MM-DDTHH:MM:SSZ`).
    pub at: String,
    /// When, in real time (UTC, the same format); absent for entries recorded before it was kept.
    #[serde(default)]
    pub real_at: Option<String>,
    pub user: String,
    pub login_host: String,
    pub mode: String,
    pub line: String,
    /// `accepted`, `accepted; <notes>`, `read`, `prompt`, `rejected: <message>`, or why a session ended.
    pub outcome: String,
    pub revision: u64,
}

/// The outcome an audit filter asks for (rules §15.33).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AuditOutcome {
    /// The command ran: `accepted`, `accepted; …` and `read` (a command that changed nothing).
    Accepted,
    /// `rejected: …`.
    Refused,
    /// The command asked a question and waits for its answer.
    Prompt,
}

impl AuditOutcome {
    pub const ALL: [AuditOutcome; 3] = [Self::Accepted, Self::Refused, Self::Prompt];

    pub fn word(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Refused => "refused",
            Self::Prompt => "prompt",
        }
    }

    /// The class of an entry's outcome text; `None` for an entry that is no command's outcome (a session
    /// that ended, and why).
    pub fn of(outcome: &str) -> Option<Self> {
        if outcome == "prompt" {
            Some(Self::Prompt)
        } else if outcome.starts_with("rejected:") {
            Some(Self::Refused)
        } else if outcome == "accepted" || outcome.starts_with("accepted;") || outcome == "read" {
            Some(Self::Accepted)
        } else {
            None
        }
    }
}

/// The filter parameters as a query string or a form gives them: text, empty when not given.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditFilterText<'a> {
    pub user: &'a str,
    pub machine: &'a str,
    pub outcome: &'a str,
    pub from: &'a str,
    pub to: &'a str,
}

/// Which audit entries to list (rules §15.33): every part given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub user: Option<crate::names::UserName>,
    /// Entries typed on this machine (login host) or run in its machine mode.
    pub machine: Option<crate::names::Hostname>,
    pub outcome: Option<AuditOutcome>,
    /// Simulated time, inclusive.
    pub from: Option<crate::names::Timestamp>,
    /// Simulated time, inclusive.
    pub to: Option<crate::names::Timestamp>,
}

/// A filter parameter that cannot be read: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {reason}")]
pub struct AuditFilterError {
    pub param: &'static str,
    pub reason: String,
}

/// The text each filter parameter takes, as the API document states it (empty: not given). A value
/// matches exactly when [`AuditFilter::parse`] reads it.
pub const AUDIT_USER_PATTERN: &str = "^([A-Za-z][A-Za-z0-9_.-]{0,63})?$";
/// See [`AUDIT_USER_PATTERN`]; a hostname is also at most 253 characters.
pub const AUDIT_MACHINE_PATTERN: &str =
    "^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)?$";
/// See [`AUDIT_USER_PATTERN`].
pub const AUDIT_OUTCOME_PATTERN: &str = "^(accepted|refused|prompt)?$";
/// The longest text each filter parameter takes (the document's `maxLength`).
pub const AUDIT_USER_MAX: usize = 64;
/// See [`AUDIT_USER_MAX`].
pub const AUDIT_MACHINE_MAX: usize = 253;
/// See [`AUDIT_USER_MAX`].
pub const AUDIT_OUTCOME_MAX: usize = 8;
/// See [`AUDIT_USER_MAX`].
pub const AUDIT_TIME_MAX: usize = 20;
/// See [`AUDIT_USER_PATTERN`].
pub const AUDIT_TIME_PATTERN: &str =
    "^([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z)?$";

impl AuditFilter {
    /// Reads each parameter (empty means not given); the first that cannot be read is named in the
    /// error. A range whose end comes before its start is no error: nothing matches it
    /// ([`AuditFilter::is_empty_range`]).
    pub fn parse(text: AuditFilterText<'_>) -> Result<Self, AuditFilterError> {
        fn part<T, E: std::fmt::Display>(
            param: &'static str,
            text: &str,
            parse: impl FnOnce(&str) -> Result<T, E>,
        ) -> Result<Option<T>, AuditFilterError> {
            if text.is_empty() {
                return Ok(None);
            }
            parse(text).map(Some).map_err(|e| AuditFilterError {
                param,
                reason: e.to_string(),
            })
        }
        // Digits where the format has digits (not `+1` or `-1`, which a number parser would take).
        let time = |t: &str| {
            let digits = t
                .bytes()
                .enumerate()
                .all(|(i, b)| matches!(i, 4 | 7 | 10 | 13 | 16 | 19) || b.is_ascii_digit());
            if digits {
                crate::names::Timestamp::parse_iso(t).map_err(|e| e.to_string())
            } else {
                Err(format!(
                    "invalid timestamp \"{t}\": expected YYYY-MM-DDTHH:MM:SSZ"
                ))
            }
        };
        Ok(AuditFilter {
            user: part("user", text.user, crate::names::UserName::parse)?,
            machine: part("machine", text.machine, crate::names::Hostname::parse)?,
            outcome: part("outcome", text.outcome, |w| {
                AuditOutcome::ALL
                    .into_iter()
                    .find(|o| o.word() == w)
                    .ok_or("must be accepted, refused or prompt")
            })?,
            from: part("from", text.from, time)?,
            to: part("to", text.to, time)?,
        })
    }

    /// Whether the time range ends before it starts, so that nothing can match.
    pub fn is_empty_range(&self) -> bool {
        matches!((self.from, self.to), (Some(from), Some(to)) if to < from)
    }

    /// How an entry records the machine's own mode (`machine:<host>`).
    pub fn machine_mode(&self) -> Option<String> {
        self.machine
            .as_ref()
            .map(|h| crate::mode::Mode::Machine(h.clone()).to_string())
    }

    /// Whether `entry` passes every part of the filter.
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        let at = crate::names::Timestamp::parse_iso(&entry.at).ok();
        self.user.as_ref().is_none_or(|u| entry.user == u.as_str())
            && self.machine.as_ref().is_none_or(|h| {
                entry.login_host == h.as_str() || Some(&entry.mode) == self.machine_mode().as_ref()
            })
            && self
                .outcome
                .is_none_or(|o| AuditOutcome::of(&entry.outcome) == Some(o))
            && self.from.is_none_or(|from| at.is_some_and(|at| at >= from))
            && self.to.is_none_or(|to| at.is_some_and(|at| at <= to))
    }

    /// The filter as query parameters (`user=…&outcome=…`; empty when nothing is filtered). Every value
    /// is a parsed name or timestamp, so none needs escaping.
    pub fn query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(u) = &self.user {
            parts.push(format!("user={u}"));
        }
        if let Some(h) = &self.machine {
            parts.push(format!("machine={h}"));
        }
        if let Some(o) = self.outcome {
            parts.push(format!("outcome={}", o.word()));
        }
        if let Some(t) = self.from {
            parts.push(format!("from={t}"));
        }
        if let Some(t) = self.to {
            parts.push(format!("to={t}"));
        }
        parts.join("&")
    }
}

#[cfg(test)]
mod audit_filter_tests {
    use super::*;

    fn entry(user: &str, host: &str, mode: &str, outcome: &str, at: &str) -> AuditEntry {
        AuditEntry {
            id: 1,
            at: at.into(),
            real_at: None,
            user: user.into(),
            login_host: host.into(),
            mode: mode.into(),
            line: "commit".into(),
            outcome: outcome.into(),
            revision: 0,
        }
    }

    #[test]
    fn outcomes_fall_into_three_classes_and_session_ends_into_none() {
        assert_eq!(AuditOutcome::of("accepted"), Some(AuditOutcome::Accepted));
        assert_eq!(
            AuditOutcome::of("accepted; Overwrote 1 row"),
            Some(AuditOutcome::Accepted)
        );
        assert_eq!(AuditOutcome::of("read"), Some(AuditOutcome::Accepted));
        assert_eq!(AuditOutcome::of("rejected: no"), Some(AuditOutcome::Refused));
        assert_eq!(AuditOutcome::of("prompt"), Some(AuditOutcome::Prompt));
        assert_eq!(AuditOutcome::of("expired: idle"), None);
        assert_eq!(AuditOutcome::of("acceptedish"), None);
    }

    #[test]
    fn a_bad_parameter_is_named() {
        let bad = |t: AuditFilterText| AuditFilter::parse(t).unwrap_err().param;
        let t = AuditFilterText::default();
        assert_eq!(bad(AuditFilterText { user: "9lives", ..t }), "user");
        assert_eq!(bad(AuditFilterText { user: " admin", ..t }), "user");
        assert_eq!(bad(AuditFilterText { machine: "a..b", ..t }), "machine");
        assert_eq!(
            bad(AuditFilterText {
                outcome: "maybe",
                ..t
            }),
            "outcome"
        );
        assert_eq!(
            bad(AuditFilterText {
                from: "yesterday",
                ..t
            }),
            "from"
        );
        assert_eq!(
            bad(AuditFilterText {
                to: "2026-13-01T00:00:00Z",
                ..t
            }),
            "to"
        );
        assert_eq!(
            bad(AuditFilterText {
                to: "2026-+1-01T00:00:00Z",
                ..t
            }),
            "to"
        );
        let err = AuditFilter::parse(AuditFilterText { outcome: "ok", ..t }).unwrap_err();
        assert_eq!(err.to_string(), "outcome: must be accepted, refused or prompt");
        assert_eq!(AuditFilter::parse(t), Ok(AuditFilter::default()));
        let inverted = AuditFilter::parse(AuditFilterText {
            from: "2026-01-02T00:00:00Z",
            to: "2026-01-01T00:00:00Z",
            ..t
        })
        .unwrap();
        assert!(inverted.is_empty_range());
    }

    /// The document's patterns and the parser agree: a value matches exactly when it is read.
    #[test]
    fn the_patterns_are_what_the_parser_reads() {
        // The document gives each parameter a pattern and a maximum length.
        let check = |pattern: &str, max: usize, read: &dyn Fn(&str) -> bool, samples: &[&str]| {
            let re = regex::Regex::new(pattern).unwrap();
            for s in samples {
                let documented = re.is_match(s) && s.chars().count() <= max;
                assert_eq!(documented, read(s), "{pattern} on {s:?}");
            }
        };
        let t = AuditFilterText::default();
        let long_label = "a".repeat(64);
        let long_user = format!("a{}", "b".repeat(64));
        let max_user = format!("a{}", "b".repeat(63));
        check(
            AUDIT_USER_PATTERN,
            AUDIT_USER_MAX,
            &|s| AuditFilter::parse(AuditFilterText { user: s, ..t }).is_ok(),
            &[
                "", "admin", "a.b-c_d9", "9a", " a", "a b", "é", "a\n", &long_user, &max_user, "_a",
            ],
        );
        let long_host = ["abcdefghij"; 26].join(".");
        check(
            AUDIT_MACHINE_PATTERN,
            AUDIT_MACHINE_MAX,
            &|s| AuditFilter::parse(AuditFilterText { machine: s, ..t }).is_ok(),
            &[
                "",
                "sf.example.com",
                "SF.Example.COM",
                "a",
                "1-2.x",
                "-a.b",
                "a-.b",
                "a..b",
                ".a",
                "a.",
                "a_b.c",
                &long_label,
                &long_host[..253],
                "a b",
            ],
        );
        check(
            AUDIT_OUTCOME_PATTERN,
            AUDIT_OUTCOME_MAX,
            &|s| AuditFilter::parse(AuditFilterText { outcome: s, ..t }).is_ok(),
            &[
                "",
                "accepted",
                "refused",
                "prompt",
                "Accepted",
                "rejected",
                "accepted ",
                "read",
            ],
        );
        check(
            AUDIT_TIME_PATTERN,
            AUDIT_TIME_MAX,
            &|s| AuditFilter::parse(AuditFilterText { from: s, ..t }).is_ok(),
            &[
                "",
                "2026-01-01T00:00:00Z",
                "2026-12-31T23:59:59Z",
                "0000-01-01T00:00:00Z",
                "2026-13-01T00:00:00Z",
                "2026-00-01T00:00:00Z",
                "2026-01-32T00:00:00Z",
                "2026-01-01T24:00:00Z",
                "2026-01-01T00:60:00Z",
                "2026-01-01 00:00:00Z",
                "2026-01-01T00:00:00",
                "2026-+1-01T00:00:00Z",
                "-026-01-01T00:00:00Z",
                "2026-1-01T00:00:00Z",
            ],
        );
    }

    #[test]
    fn every_part_given_must_hold() {
        let f = AuditFilter::parse(AuditFilterText {
            user: "admin",
            machine: "SF.example.com",
            outcome: "refused",
            from: "2026-01-01T00:00:00Z",
            to: "2026-01-01T01:00:00Z",
        })
        .unwrap();
        assert_eq!(
            f.query(),
            "user=admin&machine=sf.example.com&outcome=refused&from=2026-01-01T00:00:00Z&to=2026-01-01T01:00:00Z"
        );
        let at = "2026-01-01T00:30:00Z";
        let ok = entry("admin", "sf.example.com", "cluster", "rejected: x", at);
        assert!(f.matches(&ok));
        // The machine by its machine mode, typed on another login host.
        assert!(f.matches(&entry(
            "admin",
            "newyork.example.com",
            "machine:sf.example.com",
            "rejected: x",
            at
        )));
        assert!(!f.matches(&entry("ops", "sf.example.com", "cluster", "rejected: x", at)));
        assert!(!f.matches(&entry(
            "admin",
            "newyork.example.com",
            "group:West",
            "rejected: x",
            at
        )));
        assert!(!f.matches(&entry("admin", "sf.example.com", "cluster", "accepted", at)));
        assert!(!f.matches(&entry(
            "admin",
            "sf.example.com",
            "cluster",
            "rejected: x",
            "2026-01-01T01:00:01Z"
        )));
        assert!(f.matches(&entry(
            "admin",
            "sf.example.com",
            "cluster",
            "rejected: x",
            "2026-01-01T01:00:00Z"
        )));
        assert!(AuditFilter::default().matches(&entry("?", "?", "?", "expired: idle", "?")));
    }
}
