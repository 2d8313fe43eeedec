//! What the console's pages show, decided here so that no page computes a rule (rules §5.4, §9): a
//! feature's page state at a mode (defined here, inherited from its real source, configured at another
//! level) with its banner, where each machine's value comes from, the modes of the mode drop-down, which
//! settings actions a mode offers, which connection action a member offers, and the user list.

use serde::{Deserialize, Serialize};

use crate::features::{FeatureId, FeatureValue};
use crate::fleet::Fleet;
use crate::mode::{Level, Mode};
use crate::names::{Hostname, UserName};
use crate::roles::Role;
use crate::store::{inherited, resolve, Definitions};

/// The state of a feature's page at a mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PageState {
    /// A standalone machine: its own settings, no modes.
    Standalone { value: FeatureValue },
    /// The mode defines the feature.
    Defined { value: FeatureValue },
    /// The mode inherits the value from `from` (the real source, not always the cluster).
    Inherited { from: Mode, value: FeatureValue },
    /// The feature cannot be set at this level; `at` is where it can.
    WrongLevel { at: Level },
}

/// The group a mode's machine belongs to (none for a group or cluster mode).
fn group_for<'f>(fleet: &'f Fleet, mode: &Mode) -> Option<&'f crate::names::GroupName> {
    match mode {
        Mode::Machine(h) => fleet.group_of(h),
        _ => None,
    }
}

/// The page state of `feature` at `mode` for a login host, reading `defs` (the session's view).
pub fn page_state<D: Definitions>(
    fleet: &Fleet,
    login_host: &Hostname,
    defs: &D,
    mode: &Mode,
    feature: FeatureId,
) -> PageState {
    let schema = feature.schema();
    if fleet.cluster_of(login_host).is_none() {
        let own = Mode::Machine(login_host.clone());
        let value = defs
            .defined(&own, feature)
            .cloned()
            .unwrap_or_else(|| schema.default_value());
        return PageState::Standalone { value };
    }
    if !schema.levels.allows(mode.level()) {
        let at = if schema.levels.machine {
            Level::Machine
        } else {
            Level::Cluster
        };
        return PageState::WrongLevel { at };
    }
    match defs.defined(mode, feature) {
        Some(value) => PageState::Defined { value: value.clone() },
        None => {
            let r = inherited(defs, mode, group_for(fleet, mode), feature);
            PageState::Inherited {
                from: r.source.clone(),
                value: r.value_or_default(feature),
            }
        }
    }
}

/// A page's banner (rules §9): its text, and for a wrong-level page the mode to change to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    pub text: String,
    /// Where the page is configurable instead (a wrong-level page).
    pub change_to: Option<Mode>,
}

/// The banner of a feature page in `state`, for `login_host` in `cluster` (if any), at `mode`.
pub fn banner(fleet: &Fleet, login_host: &Hostname, state: &PageState, mode: &Mode) -> Banner {
    let cluster = fleet.cluster_of(login_host).map(|c| &c.name);
    let label = |m: &Mode| match cluster {
        Some(c) => m.gui_label(c),
        None => m.to_string(),
    };
    match state {
        PageState::Standalone { .. } => Banner {
            text: format!("Settings of the standalone machine {login_host}."),
            change_to: None,
        },
        PageState::Defined { .. } => Banner {
            text: format!("Settings are defined for {}.", label(mode)),
            change_to: None,
        },
        PageState::Inherited { from, .. } => Banner {
            text: format!("Settings for this feature are inherited from {}.", label(from)),
            change_to: None,
        },
        PageState::WrongLevel { at: Level::Machine } => Banner {
            text: format!("These settings are configured per machine. Change mode to Machine: {login_host}."),
            change_to: Some(Mode::Machine(login_host.clone())),
        },
        PageState::WrongLevel { .. } => Banner {
            text: format!(
                "These settings are shared by the whole cluster. Change mode to Cluster: {}.",
                cluster.map(|c| c.to_string()).unwrap_or_default()
            ),
            change_to: Some(Mode::Cluster),
        },
    }
}

/// Which Centralized Management Options a defined feature page offers at a mode (rules §9): Manage
/// Settings always; Delete Settings everywhere but cluster mode (I6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingsActions {
    pub manage: bool,
    pub delete: bool,
}

pub fn settings_actions(mode: &Mode) -> SettingsActions {
    SettingsActions {
        manage: true,
        delete: *mode != Mode::Cluster,
    }
}

/// [`settings_actions`] for one feature's page: a machine-only feature offers no Delete Settings, since
/// it always exists at its machine (rules §14.7.6).
pub fn feature_settings_actions(mode: &Mode, feature: FeatureId) -> SettingsActions {
    SettingsActions {
        delete: settings_actions(mode).delete && !feature.schema().levels.machine_only(),
        ..settings_actions(mode)
    }
}

/// The connection action a member's row offers: reconnect for a machine an administrator (or an
/// upgrade) detached, disconnect otherwise (rules §6.1: only DETACHED leaves by `reconnect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionAction {
    Disconnect,
    Reconnect,
}

pub fn connection_action(fleet: &Fleet, host: &Hostname) -> ConnectionAction {
    if fleet.machine(host).is_some_and(|m| m.detached) {
        ConnectionAction::Reconnect
    } else {
        ConnectionAction::Disconnect
    }
}

/// What reconnecting the detached member `host` would replace, shown before the click (rules §8.3,
/// §14.7.5): per (mode, feature) whose copies differ, this side's copy, the cluster's, and which is newer
/// and wins — the `Warning:` lines `clusterconfig reconnect` prints. Empty when `host` is not detached
/// or nothing would be replaced.
pub fn reconnect_preview(fleet: &Fleet, host: &Hostname) -> Vec<String> {
    crate::cmd::reconnect_preview_lines(fleet, host)
}

/// Each member of `host`'s cluster, the mode its effective value of `feature` comes from, and the value.
pub fn sources<D: Definitions>(
    fleet: &Fleet,
    host: &Hostname,
    defs: &D,
    feature: FeatureId,
) -> Vec<(Hostname, Mode, FeatureValue)> {
    let Some(cluster) = fleet.cluster_of(host) else {
        return Vec::new();
    };
    fleet
        .members(&cluster.name)
        .map(|m| {
            let r = resolve(defs, &m.own_mode(), fleet.group_of(&m.hostname), feature);
            (m.hostname.clone(), r.source.clone(), r.value_or_default(feature))
        })
        .collect()
}

/// The modes of the mode drop-down for `login_host`, with their GUI labels (rules §9): the cluster, each
/// group, each member; a standalone machine has only itself.
pub fn mode_options(fleet: &Fleet, login_host: &Hostname) -> Vec<(Mode, String)> {
    let Some(c) = fleet.cluster_of(login_host) else {
        return vec![(
            Mode::Machine(login_host.clone()),
            format!("Machine: {login_host} (standalone)"),
        )];
    };
    fleet
        .modes_of(login_host)
        .into_iter()
        .map(|m| {
            let label = m.gui_label(&c.name);
            (m, label)
        })
        .collect()
}

/// Why a page's mode is not one `login_host` can show (rules §15.34), naming the group or the machine
/// that was not found; `None` when it is one of [`mode_options`].
pub fn missing_mode(fleet: &Fleet, login_host: &Hostname, mode: &Mode) -> Option<String> {
    if mode_options(fleet, login_host).iter().any(|(m, _)| m == mode) {
        return None;
    }
    let cluster = fleet.cluster_of(login_host).map(|c| &c.name);
    Some(match (mode, cluster) {
        (Mode::Group(g), Some(c)) => format!("Cluster {c} has no group {g}."),
        (Mode::Machine(h), _) if fleet.machine(h).is_none() => format!("There is no machine {h}."),
        (Mode::Machine(h), Some(c)) => format!("{h} is not a member of cluster {c}."),
        (Mode::Machine(h), None) => {
            format!("{login_host} is a standalone machine: it shows its own settings, not those of {h}.")
        }
        (_, None) => format!("{login_host} is a standalone machine: it has no cluster, groups or modes."),
        // Every member has the cluster level ([`Fleet::modes_of`]); said plainly should that change.
        (Mode::Cluster, Some(c)) => format!("Cluster {c} has no cluster level here."),
    })
}

/// The users of the user database `login_host` uses, as `defs` (the session's view) holds them.
pub fn users<D: Definitions>(fleet: &Fleet, login_host: &Hostname, defs: &D) -> Vec<(UserName, Role)> {
    let Some(m) = fleet.machine(login_host) else {
        return Vec::new();
    };
    defs.defined(&m.user_db_mode(), FeatureId::Users)
        .map(|v| {
            v.typed::<crate::features::UserRow>()
                .map(|u| (u.name, u.role))
                .collect()
        })
        .unwrap_or_default()
}

/// The warning the upgrade page shows before anything is chosen (rules §9, §3.11): a connected member's
/// upgrade disconnects every member.
pub fn upgrade_warning(fleet: &Fleet, host: &Hostname) -> Option<String> {
    let detach = crate::cmd::install_disconnects(fleet, host);
    (!detach.is_empty()).then(|| {
        let names: Vec<String> = detach.iter().map(|h| h.to_string()).collect();
        format!(
            "{host} is connected: upgrading it disconnects every machine of the cluster ({}). Disconnect it first on the Cluster page to upgrade it alone.",
            names.join(", ")
        )
    })
}

/// The mode a page about the whole cluster names (cluster operations, rules §9.1): the cluster's, for a
/// member; none for a standalone machine (it has no modes).
pub fn cluster_page_mode(fleet: &Fleet, login_host: &Hostname) -> Option<Mode> {
    fleet.cluster_of(login_host).map(|_| Mode::Cluster)
}

/// The mode the Users page names: the one holding the user database the login host uses (rules §2.7).
pub fn users_page_mode(fleet: &Fleet, login_host: &Hostname) -> Option<Mode> {
    fleet.machine(login_host).map(|m| m.user_db_mode())
}

/// The console's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Page {
    Overview,
    Settings,
    Pending,
    ClusterOps,
    Upgrade,
    Terminal,
    Users,
    Audit,
    Simulator,
}

impl Page {
    /// Every page, in the order the navigation lists them.
    pub const ALL: [Page; 9] = [
        Page::Overview,
        Page::Settings,
        Page::Pending,
        Page::ClusterOps,
        Page::Upgrade,
        Page::Terminal,
        Page::Users,
        Page::Audit,
        Page::Simulator,
    ];

    /// The page's path and its name in the navigation.
    pub fn link(self) -> (&'static str, &'static str) {
        match self {
            Page::Overview => ("/", "Overview"),
            Page::Settings => ("/settings", "Settings"),
            Page::Pending => ("/pending", "Pending changes"),
            Page::ClusterOps => ("/cluster-ops", "Cluster"),
            Page::Upgrade => ("/upgrade", "Upgrade"),
            Page::Terminal => ("/terminal", "Terminal"),
            Page::Users => ("/users", "Users"),
            Page::Audit => ("/audit", "Audit log"),
            Page::Simulator => ("/simulator", "Simulator"),
        }
    }

    /// What reading the page takes (rules §14.7.2): settings, staged changes and the user list are
    /// configuration; the audit log is for administrators; the rest is status.
    pub fn permission(self) -> crate::roles::Permission {
        use crate::roles::Permission;
        match self {
            Page::Settings | Page::Pending | Page::Users => Permission::ReadConfig,
            Page::Audit => Permission::ReadAudit,
            Page::Simulator => Permission::Simulate,
            Page::Overview | Page::ClusterOps | Page::Upgrade | Page::Terminal => Permission::Read,
        }
    }

    /// Why `role` may not read the page (`None`: it may).
    pub fn refusal(self, role: Role) -> Option<String> {
        let permission = self.permission();
        (!role.may(permission)).then(|| {
            format!(
                "The {} page is for {}; {} users see status: the overview, the cluster and upgrade pages, and the terminal.",
                self.link().1,
                permission.who(),
                role.word()
            )
        })
    }
}
