//! Every line of DOMAIN 10 as a typed command. `Display` renders the one-line form the parser reads
//! (`parse(render(c)) == c`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::features::{quote_if_needed, FeatureId, Shape};
use crate::model::{Addressing, Mode};
use crate::names::{ClusterName, GroupName, Hostname, Version};
use crate::roles::{mode_rule, ModeRule, Permission};

/// A feature, or every feature (`clusterset ... all`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureSel {
    All,
    One(FeatureId),
}

impl fmt::Display for FeatureSel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeatureSel::All => f.write_str("all"),
            FeatureSel::One(id) => write!(f, "{id}"),
        }
    }
}

/// What a feature command does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", content = "cells", rename_all = "snake_case")]
pub enum FeatureAction {
    Print,
    /// Adds a row (table features).
    New(Vec<String>),
    /// Replaces the row with the same key (table features).
    Edit(Vec<String>),
    /// Removes the row with this key (table features).
    Delete(String),
    /// Sets the one row (single-row features, e.g. `setgateway 10.0.0.1`).
    Set(Vec<String>),
}

/// `clusterset` operations (DOMAIN 3.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ClusterSet {
    Copy {
        feature: FeatureSel,
        from: Mode,
        to: Mode,
    },
    Move {
        feature: FeatureSel,
        from: Mode,
        to: Mode,
    },
    Delete {
        feature: FeatureSel,
        mode: Mode,
    },
}

/// `upgrade` forms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", content = "version", rename_all = "snake_case")]
pub enum UpgradeOp {
    /// Lists the versions offered.
    List,
    /// Downloads in the background (T11); no disconnect.
    Download(Version),
    /// Installs, then reboots.
    Install(Version),
}

/// A typed command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Bare `clusterconfig`.
    ClusterConfig,
    Create {
        name: ClusterName,
        addressing: Addressing,
    },
    Join {
        member: Hostname,
        ccs: bool,
        port: Option<u16>,
        group: Option<GroupName>,
        by_ip: bool,
    },
    PrepJoinPrint,
    PrepJoinNew {
        serial: String,
        host: Hostname,
        user_key: String,
    },
    PrepJoinDelete {
        entry: String,
    },
    List,
    ConnStatus,
    AddGroup {
        group: GroupName,
    },
    RenameGroup {
        old: GroupName,
        new: GroupName,
    },
    DeleteGroup {
        group: GroupName,
        dest: Option<GroupName>,
    },
    SetGroup {
        host: Hostname,
        group: GroupName,
    },
    SetName {
        name: ClusterName,
    },
    RemoveMachine {
        host: Hostname,
    },
    Disconnect {
        hosts: Vec<Hostname>,
    },
    Reconnect {
        hosts: Vec<Hostname>,
    },
    /// `clustermode` with no argument prints the mode.
    ClusterMode {
        mode: Option<Mode>,
    },
    ClusterShow {
        feature: FeatureId,
    },
    ClusterSet(ClusterSet),
    ClusterCheck,
    Commit {
        comment: Option<String>,
    },
    Clear,
    Feature {
        feature: FeatureId,
        action: FeatureAction,
    },
    Passwd {
        password: String,
    },
    SuspendListener {
        listener: Option<String>,
    },
    ResumeListener {
        listener: Option<String>,
    },
    Suspend,
    Resume,
    Status,
    Version,
    ShowQueue,
    ShowQuarantine,
    ShowLog,
    Upgrade(UpgradeOp),
    SaveConfig {
        name: Option<String>,
        masked: bool,
    },
    ShowConfig,
    LoadConfig {
        name: String,
    },
    Help {
        topic: Option<String>,
    },
}

/// Whether a command reads, stages (never stale, DOMAIN 14.3.1) or acts at once (stale → 409).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    Read,
    Stage,
    Immediate,
}

impl Command {
    /// Read, staged or immediate (DOMAIN 14.3.1). `commit` counts as immediate.
    pub fn kind(&self) -> CommandKind {
        use Command as C;
        match self {
            C::ClusterConfig
            | C::PrepJoinPrint
            | C::List
            | C::ConnStatus
            | C::ClusterShow { .. }
            | C::Status
            | C::Version
            | C::ShowQueue
            | C::ShowQuarantine
            | C::ShowLog
            | C::ShowConfig
            | C::Help { .. }
            | C::Upgrade(UpgradeOp::List)
            | C::Feature {
                action: FeatureAction::Print,
                ..
            } => CommandKind::Read,
            // Changing the session's own mode or staged list never conflicts with anyone.
            C::ClusterMode { .. } | C::Clear => CommandKind::Stage,
            C::Feature { .. }
            | C::ClusterSet(_)
            | C::LoadConfig { .. }
            | C::PrepJoinNew { .. }
            | C::PrepJoinDelete { .. }
            | C::AddGroup { .. }
            | C::RenameGroup { .. }
            | C::DeleteGroup { .. }
            | C::SetGroup { .. }
            | C::SetName { .. } => CommandKind::Stage,
            C::Create { .. }
            | C::Join { .. }
            | C::RemoveMachine { .. }
            | C::Disconnect { .. }
            | C::Reconnect { .. }
            | C::ClusterCheck
            | C::Commit { .. }
            | C::Passwd { .. }
            | C::SuspendListener { .. }
            | C::ResumeListener { .. }
            | C::Suspend
            | C::Resume
            | C::Upgrade(_)
            | C::SaveConfig { .. } => CommandKind::Immediate,
        }
    }

    /// The same command with every password replaced by `********`, for audit logs.
    pub fn redacted(&self) -> Command {
        const MASK: &str = "********";
        let mut c = self.clone();
        match &mut c {
            Command::Passwd { password } => *password = MASK.into(),
            Command::Feature {
                feature,
                action: FeatureAction::New(cells) | FeatureAction::Edit(cells) | FeatureAction::Set(cells),
            } => {
                for (i, column) in feature.schema().columns.iter().enumerate() {
                    if column.kind == crate::features::ColumnKind::Secret {
                        if let Some(cell) = cells.get_mut(i) {
                            *cell = MASK.into();
                        }
                    }
                }
            }
            _ => {}
        }
        c
    }

    /// The CLI command word (`clusterconfig`, `smtproutes`, ...), used by the mode and help tables.
    pub fn word(&self) -> &'static str {
        use Command as C;
        match self {
            C::ClusterConfig
            | C::Create { .. }
            | C::Join { .. }
            | C::PrepJoinPrint
            | C::PrepJoinNew { .. }
            | C::PrepJoinDelete { .. }
            | C::List
            | C::ConnStatus
            | C::AddGroup { .. }
            | C::RenameGroup { .. }
            | C::DeleteGroup { .. }
            | C::SetGroup { .. }
            | C::SetName { .. }
            | C::RemoveMachine { .. }
            | C::Disconnect { .. }
            | C::Reconnect { .. } => "clusterconfig",
            C::ClusterMode { .. } => "clustermode",
            C::ClusterShow { .. } => "clustershow",
            C::ClusterSet(_) => "clusterset",
            C::ClusterCheck => "clustercheck",
            C::Commit { .. } => "commit",
            C::Clear => "clear",
            C::Feature { feature, .. } => feature.command(),
            C::Passwd { .. } => "passwd",
            C::SuspendListener { .. } => "suspendlistener",
            C::ResumeListener { .. } => "resumelistener",
            C::Suspend => "suspend",
            C::Resume => "resume",
            C::Status => "status",
            C::Version => "version",
            C::ShowQueue => "showqueue",
            C::ShowQuarantine => "showquarantine",
            C::ShowLog => "showlog",
            C::Upgrade(_) => "upgrade",
            C::SaveConfig { .. } => "saveconfig",
            C::ShowConfig => "showconfig",
            C::LoadConfig { .. } => "loadconfig",
            C::Help { .. } => "help",
        }
    }

    /// The permission family (DOMAIN 14.4).
    pub fn permission(&self) -> Permission {
        use Command as C;
        use Permission as P;
        match self {
            C::ClusterConfig
            | C::PrepJoinPrint
            | C::List
            | C::ConnStatus
            | C::ClusterMode { .. }
            | C::ClusterShow { .. }
            | C::Status
            | C::Version
            | C::ShowQueue
            | C::ShowQuarantine
            | C::ShowLog
            | C::Help { .. } => P::Read,
            C::Upgrade(UpgradeOp::List) => P::Read,
            C::Feature {
                feature: FeatureId::Users,
                action: FeatureAction::Print,
            } => P::Read,
            C::Feature {
                feature: FeatureId::Users,
                ..
            } => P::Admin,
            C::Feature {
                action: FeatureAction::Print,
                ..
            } => P::Read,
            C::Feature { .. } | C::Clear => P::Stage,
            C::Commit { .. } | C::ClusterSet(_) | C::ClusterCheck => P::Commit,
            C::PrepJoinNew { .. }
            | C::PrepJoinDelete { .. }
            | C::AddGroup { .. }
            | C::RenameGroup { .. }
            | C::DeleteGroup { .. }
            | C::SetGroup { .. }
            | C::SetName { .. }
            | C::Disconnect { .. }
            | C::Reconnect { .. } => P::Structure,
            C::Create { .. } | C::Join { .. } | C::RemoveMachine { .. } | C::LoadConfig { .. } => P::Admin,
            C::SuspendListener { .. } | C::ResumeListener { .. } | C::Suspend | C::Resume => P::Runtime,
            C::Upgrade(_) | C::SaveConfig { .. } | C::ShowConfig => P::Upgrade,
            C::Passwd { .. } => P::OwnPassword,
        }
    }

    /// Where the command may run (DOMAIN 4.1 tables). `clusterconfig` on a standalone machine and the
    /// reads of every mode are `Any`.
    pub fn mode_rule(&self) -> ModeRule {
        match self {
            // Reads that report the machine of the mode, or the login host (DOMAIN 14.1.1).
            Command::Status | Command::Version | Command::ShowQueue | Command::Upgrade(_) => ModeRule::Any,
            Command::Help { .. } | Command::ClusterMode { .. } | Command::ClusterShow { .. } => ModeRule::Any,
            _ => mode_rule(self.word()),
        }
    }

    /// Whether the command changes nothing (and may run on a machine that is upgrading: version, status).
    pub fn allowed_while_upgrading(&self) -> bool {
        matches!(self, Command::Version | Command::Status | Command::Help { .. })
    }
}

fn q(s: &str) -> String {
    quote_if_needed(s)
}

fn cells(cells: &[String]) -> String {
    cells.iter().map(|c| q(c)).collect::<Vec<_>>().join(" ")
}

fn hosts(hosts: &[Hostname]) -> String {
    hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(" ")
}

/// `interfaceconfig new <name> <ip> [ssh[=<port>]] [ccs[=<port>]]` (DOMAIN 14.5).
fn interface_cells(row: &[String]) -> String {
    let mut out = format!(
        "{} {}",
        q(row.first().map(String::as_str).unwrap_or("")),
        q(row.get(1).map(String::as_str).unwrap_or(""))
    );
    match row.get(2).map(String::as_str) {
        None | Some("0") => {}
        Some("22") => out.push_str(" ssh"),
        Some(p) => out.push_str(&format!(" ssh={p}")),
    }
    match row.get(3).map(String::as_str) {
        None | Some("0") => {}
        Some("2222") => out.push_str(" ccs"),
        Some(p) => out.push_str(&format!(" ccs={p}")),
    }
    out
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Command as C;
        match self {
            C::ClusterConfig => f.write_str("clusterconfig"),
            C::Create { name, addressing } => write!(f, "clusterconfig create {name} {addressing}"),
            C::Join {
                member,
                ccs,
                port,
                group,
                by_ip,
            } => {
                write!(f, "clusterconfig join {member}")?;
                if *ccs {
                    f.write_str(" ccs")?;
                }
                if let Some(p) = port {
                    write!(f, " port {p}")?;
                }
                if let Some(g) = group {
                    write!(f, " group {g}")?;
                }
                if *by_ip {
                    f.write_str(" by ip")?;
                }
                Ok(())
            }
            C::PrepJoinPrint => f.write_str("clusterconfig prepjoin print"),
            C::PrepJoinNew {
                serial,
                host,
                user_key,
            } => {
                write!(
                    f,
                    "clusterconfig prepjoin new {} {host} {}",
                    q(serial),
                    q(user_key)
                )
            }
            C::PrepJoinDelete { entry } => write!(f, "clusterconfig prepjoin delete {}", q(entry)),
            C::List => f.write_str("clusterconfig list"),
            C::ConnStatus => f.write_str("clusterconfig connstatus"),
            C::AddGroup { group } => write!(f, "clusterconfig addgroup {group}"),
            C::RenameGroup { old, new } => write!(f, "clusterconfig renamegroup {old} {new}"),
            C::DeleteGroup { group, dest: Some(d) } => write!(f, "clusterconfig deletegroup {group} {d}"),
            C::DeleteGroup { group, dest: None } => write!(f, "clusterconfig deletegroup {group}"),
            C::SetGroup { host, group } => write!(f, "clusterconfig setgroup {host} {group}"),
            C::SetName { name } => write!(f, "clusterconfig setname {name}"),
            C::RemoveMachine { host } => write!(f, "clusterconfig removemachine {host}"),
            C::Disconnect { hosts: h } => write!(f, "clusterconfig disconnect {}", hosts(h)),
            C::Reconnect { hosts: h } => write!(f, "clusterconfig reconnect {}", hosts(h)),
            C::ClusterMode { mode: None } => f.write_str("clustermode"),
            C::ClusterMode {
                mode: Some(Mode::Cluster),
            } => f.write_str("clustermode cluster"),
            C::ClusterMode {
                mode: Some(Mode::Group(g)),
            } => write!(f, "clustermode group {g}"),
            C::ClusterMode {
                mode: Some(Mode::Machine(h)),
            } => write!(f, "clustermode machine {h}"),
            C::ClusterShow { feature } => write!(f, "clustershow {feature}"),
            C::ClusterSet(ClusterSet::Copy { feature, from, to }) => {
                write!(f, "clusterset copy {feature} {from} {to}")
            }
            C::ClusterSet(ClusterSet::Move { feature, from, to }) => {
                write!(f, "clusterset move {feature} {from} {to}")
            }
            C::ClusterSet(ClusterSet::Delete { feature, mode }) => {
                write!(f, "clusterset delete {feature} {mode}")
            }
            C::ClusterCheck => f.write_str("clustercheck"),
            C::Commit { comment: Some(c) } => write!(f, "commit {}", q(c)),
            C::Commit { comment: None } => f.write_str("commit"),
            C::Clear => f.write_str("clear"),
            C::Feature { feature, action } => {
                let cmd = feature.command();
                let is_interface = *feature == FeatureId::IpInterfaces;
                match action {
                    FeatureAction::Print if feature.schema().shape == Shape::Single => {
                        write!(f, "{cmd} print")
                    }
                    FeatureAction::Print => write!(f, "{cmd} print"),
                    FeatureAction::New(c) if is_interface => write!(f, "{cmd} new {}", interface_cells(c)),
                    FeatureAction::Edit(c) if is_interface => write!(f, "{cmd} edit {}", interface_cells(c)),
                    FeatureAction::New(c) => write!(f, "{cmd} new {}", cells(c)),
                    FeatureAction::Edit(c) => write!(f, "{cmd} edit {}", cells(c)),
                    FeatureAction::Delete(k) => write!(f, "{cmd} delete {}", q(k)),
                    // A first cell that reads as the `print` keyword is quoted so it stays a value.
                    FeatureAction::Set(c) if c.first().is_some_and(|x| x.eq_ignore_ascii_case("print")) => {
                        write!(f, "{cmd} \"{}\"", c[0])?;
                        for x in &c[1..] {
                            write!(f, " {}", q(x))?;
                        }
                        Ok(())
                    }
                    FeatureAction::Set(c) => write!(f, "{cmd} {}", cells(c)),
                }
            }
            C::Passwd { password } => write!(f, "passwd {}", q(password)),
            C::SuspendListener { listener: Some(l) } => write!(f, "suspendlistener {}", q(l)),
            C::SuspendListener { listener: None } => f.write_str("suspendlistener"),
            C::ResumeListener { listener: Some(l) } => write!(f, "resumelistener {}", q(l)),
            C::ResumeListener { listener: None } => f.write_str("resumelistener"),
            C::Suspend => f.write_str("suspend"),
            C::Resume => f.write_str("resume"),
            C::Status => f.write_str("status"),
            C::Version => f.write_str("version"),
            C::ShowQueue => f.write_str("showqueue"),
            C::ShowQuarantine => f.write_str("showquarantine"),
            C::ShowLog => f.write_str("showlog"),
            C::Upgrade(UpgradeOp::List) => f.write_str("upgrade"),
            C::Upgrade(UpgradeOp::Install(v)) => write!(f, "upgrade {v}"),
            C::Upgrade(UpgradeOp::Download(v)) => write!(f, "upgrade download {v}"),
            C::SaveConfig { name, masked } => {
                f.write_str("saveconfig")?;
                if let Some(n) = name {
                    write!(f, " {}", q(n))?;
                }
                if *masked {
                    f.write_str(" masked")?;
                }
                Ok(())
            }
            C::ShowConfig => f.write_str("showconfig"),
            C::LoadConfig { name } => write!(f, "loadconfig {}", q(name)),
            C::Help { topic: Some(t) } => write!(f, "help {}", q(t)),
            C::Help { topic: None } => f.write_str("help"),
        }
    }
}
