//! Roles and the permission table (rules §12.10, §14.4) and the mode tables (rules §4.1), as data.
//! Vocabulary: depends on nothing else in the crate. Every permission decision in the product is
//! [`Role::may`]; the HTTP layer and the console only call it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Administrator,
    Operator,
    ReadOnly,
    HelpDesk,
    Guest,
}

impl Role {
    /// Parses the word `userconfig` uses (`administrator`, `operator`, `readonly`, `helpdesk`, `guest`).
    pub fn from_word(word: &str) -> Option<Role> {
        match word.to_ascii_lowercase().as_str() {
            "administrator" | "admin" => Some(Role::Administrator),
            "operator" => Some(Role::Operator),
            "readonly" | "read-only" | "readonly-operator" => Some(Role::ReadOnly),
            "helpdesk" | "help-desk" => Some(Role::HelpDesk),
            "guest" => Some(Role::Guest),
            _ => None,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Operator => "operator",
            Role::ReadOnly => "readonly",
            Role::HelpDesk => "helpdesk",
            Role::Guest => "guest",
        }
    }

    /// Whether this role may use a permission (rules §14.4).
    pub fn may(self, p: Permission) -> bool {
        use Permission as P;
        use Role as R;
        match p {
            P::Read | P::OwnPassword => true,
            P::Stage | P::ReadConfig => matches!(self, R::Administrator | R::Operator | R::ReadOnly),
            P::Commit | P::Structure | P::Upgrade => matches!(self, R::Administrator | R::Operator),
            P::Runtime => matches!(self, R::Administrator | R::Operator | R::HelpDesk),
            P::Admin | P::ReadAudit | P::Simulate => self == R::Administrator,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Administrator => "administrator",
            Role::Operator => "operator",
            Role::ReadOnly => "read-only operator",
            Role::HelpDesk => "help desk user",
            Role::Guest => "guest",
        })
    }
}

/// The command families of rules §14.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Status reads (rules §14.7.2): `status`, `status detail`, `version`, `showqueue`, `workqueue
    /// status`, `hoststatus`, `tophosts`, `clusterconfig list` and `connstatus`, `help`, `clustermode`;
    /// the overview, topology and machine status.
    Read,
    /// Configuration reads (rules §14.7.2): a feature's `print`, `clustershow`, `userconfig list`,
    /// `showconfig`, `saveconfig`, the settings pages, one's own pending changes.
    ReadConfig,
    /// Stage feature edits, `clear`.
    Stage,
    /// `commit`, `clusterset`, `clustercheck`.
    Commit,
    /// `clusterconfig` groups, name, disconnect, reconnect, prepjoin.
    Structure,
    /// `clusterconfig` create, join, removemachine; `userconfig`; `loadconfig`.
    Admin,
    /// `suspendlistener`, `resumelistener`, `suspend`, `resume`, `suspenddel`, `resumedel`,
    /// `workqueue pause|resume` (rules §16.5).
    Runtime,
    /// `upgrade`, `reboot`, `shutdown`, `saveconfig`, `showconfig`.
    Upgrade,
    /// `passwd`.
    OwnPassword,
    /// Reading the audit log (rules §14.7.2: administrators).
    ReadAudit,
    /// The simulator's controls: faults and repairs (rules §16.2: administrators).
    Simulate,
}

impl Permission {
    /// Who may, for refusal messages.
    pub fn who(self) -> &'static str {
        match self {
            Permission::Read | Permission::OwnPassword => "every role",
            Permission::Stage | Permission::ReadConfig => "administrators, operators and read-only operators",
            Permission::Commit | Permission::Structure | Permission::Upgrade => {
                "administrators and operators"
            }
            Permission::Runtime => "administrators, operators and help desk users",
            Permission::Admin | Permission::ReadAudit | Permission::Simulate => "administrators only",
        }
    }
}

/// Commands restricted to cluster mode (rules §4.1, complete list).
pub const CLUSTER_MODE_ONLY: &[&str] = &[
    "clusterconfig",
    "clustercheck",
    "passwd",
    "sshconfig",
    "userconfig",
];

/// Commands restricted to machine mode (rules §4.1, with our additions).
pub const MACHINE_MODE_ONLY: &[&str] = &[
    "antispamstatus",
    "antispamupdate",
    "antivirusstatus",
    "antivirusupdate",
    "bouncerecipients",
    "deleterecipients",
    "delivernow",
    "etherconfig",
    "featurekey",
    "hostrate",
    "hoststatus",
    "interfaceconfig",
    "ldapflush",
    "ldaptest",
    "resume",
    "resumedel",
    "resumelistener",
    "rollovernow",
    "routeconfig",
    "sbstatus",
    "setgateway",
    "suspenddel",
    "suspendlistener",
    "techsupport",
    "tophosts",
    "topin",
    "trace",
    "sethostname",
    "tlsverify",
    "workqueue",
    "suspend",
    "shutdown",
    "reboot",
    "showquarantine",
    "showlog",
];

/// Commands that run on the login host only (rules §4.1).
pub const LOGIN_HOST_ONLY: &[&str] = &[
    "saveconfig",
    "loadconfig",
    "mailconfig",
    "showconfig",
    "resetconfig",
];

/// Where a command may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeRule {
    Any,
    ClusterOnly,
    MachineOnly,
    LoginHostOnly,
}

/// The mode rule of a command word, from the tables above.
pub fn mode_rule(command: &str) -> ModeRule {
    if CLUSTER_MODE_ONLY.contains(&command) {
        ModeRule::ClusterOnly
    } else if MACHINE_MODE_ONLY.contains(&command) {
        ModeRule::MachineOnly
    } else if LOGIN_HOST_ONLY.contains(&command) {
        ModeRule::LoginHostOnly
    } else {
        ModeRule::Any
    }
}
