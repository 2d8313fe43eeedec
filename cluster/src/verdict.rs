//! What `check` answers: a [`Rejection`] (which rule refused, naming the objects), a [`Prompt`] (a
//! question; the caller re-sends the command with the answers given so far), or a [`Plan`] (events to
//! apply, output, warnings, and which machines' effective values change) — and the [`Asker`] that hands a
//! command its answers, asking the mode-switch question just before the command's own first question
//! (so every refusal comes before any question, rules §14.1.2, without running the command twice).

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

/// A question (rules §10.2, §14.1.3). `question` is the whole text shown, ending with `[<default>]>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Prompt {
    pub question: String,
    /// The accepted answers, e.g. `["Y", "N"]` or `["1", "2", "3"]`.
    pub choices: Vec<String>,
    pub default: String,
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
    Ask(Prompt),
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

/// A yes/no question; `question` must end with `[Y]>` or `[N]>`.
pub fn yes_no_prompt(question: String, default_yes: bool) -> Prompt {
    Prompt {
        question,
        choices: vec!["Y".into(), "N".into()],
        default: if default_yes { "Y" } else { "N" }.into(),
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
            None => Err(Stop::Ask(prompt.clone())),
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

    /// A yes/no question; `question` must end with `[Y]>` or `[N]>`.
    pub fn yes_no(&mut self, question: String, default_yes: bool) -> Result<bool, Stop> {
        self.pass_gate()?;
        self.yes_no_answer(&yes_no_prompt(question, default_yes))
    }

    /// A numbered choice from 1 to `count`; returns the 1-based number.
    pub fn choose(&mut self, question: String, count: usize, default: usize) -> Result<usize, Stop> {
        self.pass_gate()?;
        let prompt = Prompt {
            question,
            choices: (1..=count).map(|i| i.to_string()).collect(),
            default: default.to_string(),
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
