//! What `check` answers: a [`Rejection`] (which rule refused, naming the objects), a [`Prompt`] (a
//! question; the caller re-sends the command with the answers given so far), or a [`Plan`] (events to
//! apply, output, warnings, and which machines' effective values change) — and the [`Asker`] that hands a
//! command its answers, asking the mode-switch question just before the command's own first question
//! (so every refusal comes before any question, rules §14.1.2, without running the command twice).
//!
//! A question is built from a [`YesNo`] or a [`Numbered`], which carry both its renderings: the CLI's
//! text and the console's title, body and named buttons ([`GuiPrompt`], rules §15.31).

use serde::Serialize;

use crate::config_file::FileError;
use crate::event::Event;
use crate::features::{FeatureId, RowError};
use crate::mode::{Level, Mode};
use crate::names::{ClusterName, GroupName, Hostname, NameError, UserName, Version};
use crate::roles::Role;
use crate::session::SessionChange;

/// A refusal. Every variant names the rule and the objects; `Display` is the message users see
/// (without the `Error: ` prefix the CLI adds).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Rejection {
    #[error("{0}")]
    InvalidName(NameError),
    #[error("{0}")]
    InvalidRow(RowError),
    #[error("passwd: the new password is not valid: {reason}")]
    PasswordPolicy { reason: &'static str },
    #[error("user {user} no longer exists on {host}; log in again")]
    UserGone { user: UserName, host: Hostname },
    #[error("{role} {user} may not run {command}: {why}")]
    NotPermitted {
        user: UserName,
        role: Role,
        command: String,
        why: String,
    },
    #[error("{host} is {state}: only version and status can run until it has rebooted")]
    HostUpgrading { host: Hostname, state: String },
    #[error("Unknown machine {host}.")]
    UnknownMachine { host: Hostname },
    #[error("{host} is not a member of cluster {cluster}.")]
    NotAMember { host: Hostname, cluster: ClusterName },
    #[error("Unknown group {group} in cluster {cluster}.")]
    UnknownGroup { group: GroupName, cluster: ClusterName },
    #[error("{host} is a standalone machine: {command} needs a cluster. Create one or join one with clusterconfig.")]
    NotInCluster { host: Hostname, command: String },
    #[error("Cannot {action}: this machine is already a member of cluster \"{cluster}\".")]
    AlreadyMember { action: String, cluster: ClusterName },
    #[error("A cluster named \"{name}\" already exists.")]
    ClusterNameTaken { name: ClusterName },
    #[error("Cannot create a cluster: hostname {host} does not resolve; use \"ip\" addressing or fix DNS.")]
    CreateUnresolvable { host: Hostname },
    #[error("Cannot create a cluster: no interface on {host} has SSH or CCS enabled.")]
    NoClusterInterface { host: Hostname },
    #[error("Cannot join: this machine runs AsyncOS {machine_version} but the cluster runs {cluster_version}. All machines in a cluster must run the same version.")]
    JoinVersionMismatch {
        machine_version: Version,
        cluster_version: Version,
    },
    #[error("Cannot join: cannot reach {host}:{port}.")]
    JoinUnreachable { host: Hostname, port: u16 },
    #[error(
        "Cannot join: authentication failed on {host}: {user} is not an administrator of cluster {cluster}."
    )]
    JoinAuthFailed {
        host: Hostname,
        user: UserName,
        cluster: ClusterName,
    },
    #[error("Cannot join: the cluster communicates by {cluster_addressing}; hostnames and IP addresses cannot be mixed.")]
    AddressingMismatch { cluster_addressing: String },
    #[error("Cannot join: hostname {host} does not resolve.")]
    JoinUnresolvable { host: Hostname },
    #[error("Cannot join over CCS: no pending join entry for {host} (serial {serial}). Run \"clusterconfig prepjoin\" on a cluster member and commit.")]
    NoPrepJoin { host: Hostname, serial: String },
    #[error("Cannot join over CCS: the remote port must be the CCS port ({ccs_port}), not the SSH port ({ssh_port}).")]
    CcsPortIsSsh { ccs_port: u16, ssh_port: u16 },
    #[error("Cannot join over CCS: CCS is not enabled on any interface of {host}; enable it with interfaceconfig.")]
    CcsNotEnabled { host: Hostname },
    #[error("Entry for {host} already pending.")]
    PrepJoinExists { host: Hostname },
    #[error("No pending join entry matches {entry}.")]
    PrepJoinMissing { entry: String },
    #[error("A group named \"{group}\" already exists.")]
    GroupExists { group: GroupName },
    #[error("A cluster must contain at least one group.")]
    LastGroup { group: GroupName },
    #[error("Group \"{group}\" still has machines; choose a group to move them to.")]
    GroupNotEmpty { group: GroupName },
    #[error("{host} is already in group {group}.")]
    AlreadyInGroup { host: Hostname, group: GroupName },
    #[error("Machine {host} is already disconnected.")]
    AlreadyDisconnected { host: Hostname },
    #[error("Machine {host} is connected; only a machine disconnected with \"clusterconfig disconnect\" can be reconnected.")]
    NotDetached { host: Hostname },
    /// rules §15.15: `list` shows a link-down member as disconnected, and `reconnect` says why it is not
    /// the one to bring it back.
    #[error("Machine {host} is disconnected because {reason}, not by an administrator: it reconnects by itself once that is repaired; only a machine disconnected with \"clusterconfig disconnect\" can be reconnected (rules §15.15).")]
    ReconnectLinkDown { host: Hostname, reason: String },
    #[error("Cannot reconnect {host}: it runs AsyncOS {machine_version} but the cluster runs {cluster_version}. Upgrade it (or the cluster) first.")]
    ReconnectVersionMismatch {
        host: Hostname,
        machine_version: Version,
        cluster_version: Version,
    },
    #[error("Cannot reconnect {host}: it is {state}; wait until it has rebooted.")]
    ReconnectWhileUpgrading { host: Hostname, state: String },
    #[error("This machine is disconnected from the cluster and cannot be used to configure other machines.")]
    DetachedHost { host: Hostname, command: String },
    #[error("{command} names {host}: a machine can only be named once in one command.")]
    DuplicateHost { host: Hostname, command: String },
    #[error("Destination level \"{level}\" is not allowed for {feature}; it can only be set at {levels}.")]
    LevelNotAllowed {
        feature: FeatureId,
        level: Level,
        levels: String,
    },
    #[error("{feature} is not defined at {mode}; nothing to {action}.")]
    NotDefined {
        feature: FeatureId,
        mode: Mode,
        action: String,
    },
    /// rules §3.4, §5.3, §14.7.6: a machine-only feature always exists at its machine level.
    #[error("{feature} is a machine-only setting: it always exists at {mode} and cannot be {action} (rules §14.7.6).")]
    MachineOnlyStays {
        feature: FeatureId,
        mode: Mode,
        action: String,
    },
    #[error("{mode} defines only machine-only settings ({features}); they stay with their machine and cannot be {action} (rules §14.7.6).")]
    OnlyMachineOnly {
        mode: Mode,
        features: String,
        action: String,
    },
    #[error("Cluster-level settings cannot be deleted; edit them or move them instead.")]
    ClusterCannotBeUndefined { feature: FeatureId },
    #[error("Source and destination are both {mode}.")]
    SameMode { mode: Mode },
    #[error("No feature is defined at {mode} that can be copied to {dest}.")]
    NothingToCopy { mode: Mode, dest: Mode },
    #[error("{feature} at {mode} already has an entry \"{key}\"; use edit to change it.")]
    KeyExists {
        feature: FeatureId,
        mode: Mode,
        key: String,
    },
    #[error("{feature} at {mode} has no entry \"{key}\".")]
    KeyMissing {
        feature: FeatureId,
        mode: Mode,
        key: String,
    },
    #[error("The main hostname of {host} cannot be changed here: cluster traffic and sessions address machines by it.")]
    HostnameChange { host: Hostname },
    #[error("{host} has no listener named \"{listener}\".")]
    UnknownListener { host: Hostname, listener: String },
    #[error("{host} cannot be reached from {login_host}; log into it to run this.")]
    Unreachable { host: Hostname, login_host: Hostname },
    #[error("AsyncOS {version} is not offered; available: {offered}.")]
    VersionNotOffered { version: Version, offered: String },
    #[error("{host} already runs AsyncOS {current}; choose a newer version than {version}.")]
    NotNewer {
        host: Hostname,
        current: Version,
        version: Version,
    },
    #[error("{host} is already upgrading.")]
    AlreadyUpgrading { host: Hostname },
    #[error(
        "No upgrade path leads from AsyncOS {current} to {version} on {host}; valid from {current}: {valid}."
    )]
    NoUpgradePath {
        host: Hostname,
        current: Version,
        version: Version,
        valid: String,
    },
    #[error("{host} is {state}.")]
    HostDown { host: Hostname, state: &'static str },
    #[error("Simulator: {why}.")]
    BadFault { why: String },
    #[error("No configuration file named \"{name}\" on {host}.")]
    NoSuchFile { host: Hostname, name: String },
    #[error("Configuration file was saved by AsyncOS {file_version}; this appliance runs {host_version}.")]
    FileVersion {
        file_version: Version,
        host_version: Version,
    },
    #[error("Cannot load a configuration with masked passphrases.")]
    MaskedPassphrases { name: String },
    #[error("{reason}")]
    FileScope { reason: String },
    #[error("Configuration file \"{name}\" is damaged: {reason}")]
    BadFile { name: String, reason: FileError },
    #[error("Cannot commit {what} from {host}: it is disconnected, and cluster structure never diverges.")]
    StructureWhileDetached { host: Hostname, what: String },
    /// rules §7, §14.7.8: every staged item is checked again at commit against the session's standing.
    #[error("Cannot commit {feature} at {mode} from {host}: this machine is disconnected from the cluster and cannot be used to configure other machines (rules §14.7.8). Nothing was committed; run clear and stage changes for this machine only.")]
    DetachedCommit {
        host: Hostname,
        feature: FeatureId,
        mode: Mode,
    },
    #[error("Cannot commit: {reason}")]
    StaleStructure { reason: String },
    #[error("\"{answer}\" is not an answer to this question; expected {expected}.")]
    InvalidAnswer { answer: String, expected: String },
    #[error("Unknown user {user}.")]
    UnknownUser { user: UserName },
    #[error("The admin account cannot be deleted.")]
    AdminIsPermanent,
    #[error("{feature} holds one value: set it with \"{feature} {syntax}\".")]
    SingleValueFeature { feature: FeatureId, syntax: String },
    #[error("{feature} takes new, edit or delete; see help {feature}.")]
    TableFeature { feature: FeatureId },
    #[error("Group \"{group}\" cannot receive its own machines; choose another group.")]
    DeleteGroupIntoItself { group: GroupName },
    /// rules §3.1, §14.7.8: a detached (or cut off) member's replica may have diverged; joining through
    /// it would copy that.
    #[error("Cannot join through {host}: it is {state} from cluster {cluster}; join through a connected member (rules §14.7.8).")]
    JoinThroughDisconnected {
        host: Hostname,
        state: String,
        cluster: ClusterName,
    },
    #[error("Cannot join: {host} is not a member of any cluster.")]
    JoinTargetStandalone { host: Hostname },
    #[error("Cluster {cluster} has no group to join.")]
    NoGroupToJoin { cluster: ClusterName },
    #[error("Nothing is defined at {mode}; nothing to delete.")]
    NothingDefined { mode: Mode },
    #[error("No help for \"{topic}\": it is not a command. Type help for the list.")]
    NoHelp { topic: String },
    #[error("{feature} at {mode} would hold more than {max} entries, the most it takes.")]
    TooManyRows {
        feature: FeatureId,
        mode: Mode,
        max: usize,
    },
}

impl Rejection {
    /// The refusal as the console says it (rules §15.31): the same facts as [`Display`](std::fmt::Display),
    /// which the CLI prints, but naming features by their titles, modes in words and the page or button
    /// to use where the CLI's text names a command to type.
    pub fn gui_message(&self) -> String {
        use Rejection as R;
        let title = |f: &FeatureId| f.title();
        match self {
            R::NotPermitted { user, role, why, .. } => {
                format!("{role} {user} may not do this: {why}.")
            }
            R::HostUpgrading { host, state } => {
                format!("{host} is {state}: nothing else can be done on it until it has rebooted.")
            }
            R::NotInCluster { host, .. } => format!(
                "{host} is a standalone machine and this needs a cluster. Create or join one on the Cluster page."
            ),
            R::CreateUnresolvable { host } => format!(
                "Cannot create a cluster: hostname {host} does not resolve; choose IP addressing or fix DNS."
            ),
            R::NoPrepJoin { host, serial } => format!(
                "Cannot join over CCS: no pending join entry for {host} (serial {serial}). Prepare the join on a cluster member and commit it there first."
            ),
            R::CcsNotEnabled { host } => format!(
                "Cannot join over CCS: CCS is not enabled on any interface of {host}; enable it in its IP Interfaces settings."
            ),
            R::NotDetached { host } => format!(
                "Machine {host} is connected; only a machine disconnected with Disconnect can be reconnected."
            ),
            R::ReconnectLinkDown { host, reason } => format!(
                "Machine {host} is disconnected because {reason}, not by an administrator: it reconnects by itself once that is repaired. Reconnect is only for a machine disconnected with Disconnect."
            ),
            R::LevelNotAllowed {
                feature,
                level,
                levels,
            } => format!(
                "{} cannot be set at the {level} level; only at {levels}.",
                title(feature)
            ),
            R::NotDefined {
                feature,
                mode,
                action,
            } => format!(
                "{} is not defined at {}; nothing to {action}.",
                title(feature),
                gui_place(mode)
            ),
            R::MachineOnlyStays {
                feature,
                mode,
                action,
            } => format!(
                "{} is a machine-only setting: it always exists at {} and cannot be {action}.",
                title(feature),
                gui_place(mode)
            ),
            R::OnlyMachineOnly { mode, action, .. } => format!(
                "{} defines only machine-only settings; they stay with their machine and cannot be {action}.",
                capitalised(&gui_place(mode))
            ),
            R::SameMode { mode } => format!("Source and destination are both {}.", gui_place(mode)),
            R::NothingToCopy { mode, dest } => format!(
                "Nothing is defined at {} that can be copied to {}.",
                gui_place(mode),
                gui_place(dest)
            ),
            R::KeyExists { feature, mode, key } => format!(
                "{} at {} already has an entry \"{key}\". To change it, use Save changes instead of Add.",
                title(feature),
                gui_place(mode)
            ),
            R::KeyMissing { feature, mode, key } => format!(
                "{} at {} has no entry \"{key}\".",
                title(feature),
                gui_place(mode)
            ),
            R::DetachedCommit { host, feature, mode } => format!(
                "Cannot commit {} at {} from {host}: this machine is disconnected from the cluster and cannot configure other machines. Nothing was committed; clear your changes under Pending changes and stage changes for this machine only.",
                title(feature),
                gui_place(mode)
            ),
            R::SingleValueFeature { feature, .. } => {
                format!("{} holds one value: change it with Save.", title(feature))
            }
            R::TableFeature { feature } => format!(
                "{} is a table: add, change or delete its entries.",
                title(feature)
            ),
            R::NothingDefined { mode } => {
                format!("Nothing is defined at {}; nothing to delete.", gui_place(mode))
            }
            R::TooManyRows { feature, mode, max } => format!(
                "{} at {} would hold more than {max} entries, the most it takes.",
                title(feature),
                gui_place(mode)
            ),
            R::InvalidAnswer { answer, .. } => {
                format!("\"{answer}\" is not an answer to this question.")
            }
            _ => self.to_string(),
        }
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

impl From<NameError> for Rejection {
    fn from(e: NameError) -> Self {
        Rejection::InvalidName(e)
    }
}

impl From<RowError> for Rejection {
    fn from(e: RowError) -> Self {
        Rejection::InvalidRow(e)
    }
}

/// A question (rules §10.2, §14.1.3). `question` is the whole text shown, ending with `[<default>]>`;
/// `gui` is the same question as the console asks it (rules §15.31).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Prompt {
    pub question: String,
    /// The accepted answers, e.g. `["Y", "N"]` or `["1", "2", "3"]`.
    pub choices: Vec<String>,
    pub default: String,
    /// Absent from JSON written before it existed: then empty, and a client falls back to `question`.
    #[serde(default)]
    pub gui: GuiPrompt,
}

impl Prompt {
    /// What is wrong with the console's rendering of this question, if anything (rules §15.31): a
    /// title, one button per accepted answer in order, each label saying what happens, distinct and
    /// free of the CLI's notation.
    pub fn gui_problem(&self) -> Option<String> {
        let g = &self.gui;
        if g.title.trim().is_empty() {
            return Some("no title".into());
        }
        let answers: Vec<&str> = g.answers.iter().map(|a| a.answer.as_str()).collect();
        if answers != self.choices.iter().map(String::as_str).collect::<Vec<_>>() {
            return Some(format!(
                "buttons {answers:?} do not match the choices {:?}",
                self.choices
            ));
        }
        let cli_words = ["[Y]", "[N]", "]>", "Continue?", "Y/N"];
        let texts = std::iter::once(&g.title)
            .chain(&g.body)
            .chain(g.answers.iter().map(|a| &a.label));
        for t in texts {
            if let Some(w) = cli_words.iter().find(|w| t.contains(*w)) {
                return Some(format!("{t:?} speaks the CLI ({w})"));
            }
        }
        for (i, a) in g.answers.iter().enumerate() {
            let label = a.label.trim();
            if label.is_empty() || ["yes", "no", "ok"].contains(&label.to_ascii_lowercase().as_str()) {
                return Some(format!(
                    "button {} is labelled {label:?}, which says not what happens",
                    a.answer
                ));
            }
            if label.parse::<usize>().is_ok() || label.starts_with("Choice ") {
                return Some(format!("button {} is labelled by its number", a.answer));
            }
            if g.answers[..i].iter().any(|b| b.label == a.label) {
                return Some(format!("two buttons are labelled {label:?}"));
            }
        }
        None
    }
}

/// A question as the console asks it (rules §15.31): a title, the facts it rests on, and one button per
/// accepted answer, each saying what it does. Filled at the question's site from the same facts as the
/// CLI text, so the two never diverge.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct GuiPrompt {
    pub title: String,
    pub body: Vec<String>,
    /// One per accepted answer, in the order of [`Prompt::choices`].
    pub answers: Vec<GuiAnswer>,
}

impl GuiPrompt {
    /// Whether the dialog needs a Cancel button of its own: not when an answer already changes nothing.
    pub fn needs_cancel(&self) -> bool {
        !self.answers.iter().any(|a| a.effect == Effect::ChangesNothing)
    }
}

/// One button of a [`GuiPrompt`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct GuiAnswer {
    /// What the button answers (one of [`Prompt::choices`]).
    pub answer: String,
    pub label: String,
    pub effect: Effect,
}

/// What an answer does, for the button's style: a destructive answer is shown as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Goes ahead (the command continues or acts).
    Acts,
    /// Goes ahead and replaces, removes or interrupts something that cannot be had back by undoing.
    Destroys,
    /// Nothing changes: the command stops (like Cancel).
    ChangesNothing,
}

/// A button's label and effect, before it is tied to an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub label: String,
    pub effect: Effect,
}

impl Choice {
    pub fn acts(label: impl Into<String>) -> Choice {
        Choice {
            label: label.into(),
            effect: Effect::Acts,
        }
    }
    pub fn destroys(label: impl Into<String>) -> Choice {
        Choice {
            label: label.into(),
            effect: Effect::Destroys,
        }
    }
    pub fn changes_nothing(label: impl Into<String>) -> Choice {
        Choice {
            label: label.into(),
            effect: Effect::ChangesNothing,
        }
    }
}

/// A yes/no question in both renderings: `question` (the CLI's, ending with `[Y]>` or `[N]>`) and the
/// console's title, body and the two buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YesNo {
    pub question: String,
    pub default_yes: bool,
    pub title: String,
    pub body: Vec<String>,
    pub yes: Choice,
    pub no: Choice,
}

/// A numbered question in both renderings; its answers are `1..=options.len()`, `default` among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numbered {
    pub question: String,
    pub default: usize,
    pub title: String,
    pub body: Vec<String>,
    pub options: Vec<Choice>,
}

/// How the console names a mode in a sentence: `the cluster level`, `group West`, `machine sf.example.com`.
pub fn gui_place(mode: &Mode) -> String {
    match mode {
        Mode::Cluster => "the cluster level".into(),
        Mode::Group(g) => format!("group {g}"),
        Mode::Machine(h) => format!("machine {h}"),
    }
}

/// What a command does when it is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Plan {
    /// Changes of the fleet (each advances its revision).
    pub events: Vec<Event>,
    /// Changes of the command's own session (never seen by anyone else).
    pub session: Vec<SessionChange>,
    /// Lines the command prints (warnings are separate and printed first).
    pub output: Vec<String>,
    /// Each starts with `Warning:`.
    pub warnings: Vec<String>,
    /// Machines whose effective configuration changes when this plan (or, for staging, its commit) applies.
    pub reach: Vec<Hostname>,
    /// What the audit log records besides the command (e.g. whose change a commit overwrote).
    pub notes: Vec<String>,
    /// The console's words for `output` (rules §15.31), made beside it from the same facts where the
    /// CLI's words name commands to type; empty when `output` reads the same in both.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gui: Vec<String>,
    /// The mode-switch question was answered No: nothing runs and nothing is sent (rules §15.31).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub declined: bool,
}

impl Plan {
    pub fn output(lines: Vec<String>) -> Plan {
        Plan {
            output: lines,
            ..Plan::default()
        }
    }

    /// All printed lines: warnings, then output.
    pub fn lines(&self) -> impl Iterator<Item = &String> {
        self.warnings.iter().chain(self.output.iter())
    }

    /// What the console shows when the command is accepted (rules §15.31): the warnings, then its own
    /// words for the output (the output itself when they are the same); a declined mode switch says
    /// that nothing was sent.
    pub fn gui_lines(&self) -> Vec<String> {
        if self.declined {
            return vec![DECLINED.to_string()];
        }
        let body = if self.gui.is_empty() {
            &self.output
        } else {
            &self.gui
        };
        self.warnings.iter().chain(body).cloned().collect()
    }

    /// The plan of a mode-switch question answered No.
    pub fn declined() -> Plan {
        Plan {
            declined: true,
            ..Plan::default()
        }
    }
}

/// What the console says when a question was turned down or cancelled before anything was sent.
pub const DECLINED: &str = "Cancelled; nothing was sent.";

/// Where the console says staged changes are reviewed and committed (rules §15.31): `it` for one
/// change, `them` for more.
pub fn gui_commit_hint(changes: usize) -> &'static str {
    if changes == 1 {
        "Review and commit it under Pending changes."
    } else {
        "Review and commit them under Pending changes."
    }
}

/// `1 entry`, `3 entries`: a count in the console's words (never `row(s)`).
pub fn gui_count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The CLI's notation, which no part of the console's rendering uses (rules §15.31).
pub const CLI_NOTATION: [&str; 10] = [
    "[Y]>",
    "[N]>",
    "]>",
    "Continue?",
    "Run commit",
    "run commit",
    "run clear",
    "use edit",
    "(s)",
    "see help",
];

/// The first piece of CLI notation `text` contains, if any.
pub fn cli_notation_in(text: &str) -> Option<&'static str> {
    CLI_NOTATION.iter().copied().find(|w| text.contains(w))
}

/// The answer of `check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verdict {
    Rejected { rejection: Rejection, message: String },
    Prompt { prompt: Prompt },
    Plan { plan: Plan },
}

impl Verdict {
    pub fn rejected(rejection: Rejection) -> Verdict {
        let message = rejection.to_string();
        Verdict::Rejected { rejection, message }
    }
}

/// Why a command body stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    Rejected(Rejection),
    Ask(Box<Prompt>),
    /// The mode-switch question was answered No: nothing runs.
    Declined,
}

impl From<Rejection> for Stop {
    fn from(r: Rejection) -> Self {
        Stop::Rejected(r)
    }
}

impl From<NameError> for Stop {
    fn from(e: NameError) -> Self {
        Stop::Rejected(e.into())
    }
}

impl From<RowError> for Stop {
    fn from(e: RowError) -> Self {
        Stop::Rejected(e.into())
    }
}

/// The prompt of a yes/no question.
pub fn yes_no_prompt(q: YesNo) -> Prompt {
    let answer = |answer: &str, c: Choice| GuiAnswer {
        answer: answer.into(),
        label: c.label,
        effect: c.effect,
    };
    Prompt {
        question: q.question,
        choices: vec!["Y".into(), "N".into()],
        default: if q.default_yes { "Y" } else { "N" }.into(),
        gui: GuiPrompt {
            title: q.title,
            body: q.body,
            answers: vec![answer("Y", q.yes), answer("N", q.no)],
        },
    }
}

/// Hands out the answers given so far, one per question, in order (rules §14.1.4). A *gate* — the
/// mode-switch question — is asked just before the command's first own question, or after the command
/// has decided on a plan without asking: either way after every refusal the command can give on its own.
#[derive(Debug)]
pub struct Asker<'a> {
    answers: &'a [String],
    next: usize,
    gate: Option<Prompt>,
    /// Whether a gate was asked and accepted.
    passed: bool,
}

impl<'a> Asker<'a> {
    pub fn new(answers: &'a [String]) -> Self {
        Self {
            answers,
            next: 0,
            gate: None,
            passed: false,
        }
    }

    /// An asker whose first question is `gate` (a yes/no question); No stops the command.
    pub fn gated(answers: &'a [String], gate: Prompt) -> Self {
        Self {
            gate: Some(gate),
            ..Self::new(answers)
        }
    }

    /// Asks the gate if it has not been asked; `Ok(true)` when a gate was accepted (now or before).
    pub fn pass_gate(&mut self) -> Result<bool, Stop> {
        if let Some(prompt) = self.gate.take() {
            if !self.yes_no_answer(&prompt)? {
                return Err(Stop::Declined);
            }
            self.passed = true;
        }
        Ok(self.passed)
    }

    fn raw(&mut self, prompt: &Prompt) -> Result<String, Stop> {
        match self.answers.get(self.next) {
            None => Err(Stop::Ask(Box::new(prompt.clone()))),
            Some(a) => {
                self.next += 1;
                let a = a.trim();
                Ok(if a.is_empty() {
                    prompt.default.clone()
                } else {
                    a.to_string()
                })
            }
        }
    }

    fn yes_no_answer(&mut self, prompt: &Prompt) -> Result<bool, Stop> {
        let answer = self.raw(prompt)?;
        match answer.to_ascii_lowercase().as_str() {
            "y" | "yes" => Ok(true),
            "n" | "no" => Ok(false),
            _ => Err(Stop::Rejected(Rejection::InvalidAnswer {
                answer,
                expected: "Y or N".into(),
            })),
        }
    }

    /// A yes/no question; `q.question` must end with `[Y]>` or `[N]>`.
    pub fn yes_no(&mut self, q: YesNo) -> Result<bool, Stop> {
        self.pass_gate()?;
        self.yes_no_answer(&yes_no_prompt(q))
    }

    /// A numbered choice from 1 to `q.options.len()`; returns the 1-based number.
    pub fn choose(&mut self, q: Numbered) -> Result<usize, Stop> {
        self.pass_gate()?;
        let count = q.options.len();
        let prompt = Prompt {
            question: q.question,
            choices: (1..=count).map(|i| i.to_string()).collect(),
            default: q.default.to_string(),
            gui: GuiPrompt {
                title: q.title,
                body: q.body,
                answers: q
                    .options
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| GuiAnswer {
                        answer: (i + 1).to_string(),
                        label: c.label,
                        effect: c.effect,
                    })
                    .collect(),
            },
        };
        let answer = self.raw(&prompt)?;
        match answer.parse::<usize>() {
            Ok(n) if (1..=count).contains(&n) => Ok(n),
            _ => Err(Stop::Rejected(Rejection::InvalidAnswer {
                answer,
                expected: format!("a number from 1 to {count}"),
            })),
        }
    }
}
