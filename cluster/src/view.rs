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

/// A machine list of at least this many rows is windowed (rules §9.2): only the rows on screen, and a
/// few either side, are rendered.
pub const WINDOW_FROM: usize = 60;
/// Rows rendered beyond each edge of the screen, so a short scroll shows rows already there.
pub const WINDOW_OVERSCAN: usize = 8;
/// The most rows a window renders, however tall the screen (a bound on a render's cost).
pub const WINDOW_MAX: usize = 200;
/// The rows a window renders before it has been measured: about one screen.
pub const WINDOW_FIRST: usize = 24;

/// Whether a list of `n` machines is windowed (rules §9.2).
pub fn windowed(n: usize) -> bool {
    n >= WINDOW_FROM
}

/// The rows of an `n`-row list to render (rules §9.2), by position: the list's first row starts `top`
/// pixels below the top of the viewport (negative once scrolled past), rows are `stride` pixels apart
/// (row and gap) and the viewport is `height` pixels tall. A list shorter than [`WINDOW_FROM`] (a long
/// one narrowed by its find box) is rendered whole; otherwise never more than [`WINDOW_MAX`] rows, and an
/// unmeasured stride (zero, negative, not a number) gives the first [`WINDOW_FIRST`].
pub fn window(n: usize, top: f64, height: f64, stride: f64) -> std::ops::Range<usize> {
    if !windowed(n) {
        return 0..n;
    }
    if !(stride.is_finite() && stride > 0.0 && top.is_finite() && height.is_finite()) {
        return 0..n.min(WINDOW_FIRST);
    }
    // Float to usize saturates (negative to 0, huge to usize::MAX), so no bound is crossed.
    let first = (-top / stride).floor().max(0.0) as usize;
    let last = ((height.max(0.0) - top) / stride).ceil().max(0.0) as usize;
    let start = first.saturating_sub(WINDOW_OVERSCAN).min(n);
    let end = last.saturating_add(WINDOW_OVERSCAN).min(n).max(start);
    start..end.min(start.saturating_add(WINDOW_MAX))
}

/// The machines of a list whose name contains `query`, ignoring case and surrounding spaces (the find
/// box of a windowed list, rules §9.2); an empty query keeps them all.
pub fn matching<'h>(hosts: &'h [Hostname], query: &str) -> Vec<&'h Hostname> {
    let q = query.trim().to_ascii_lowercase();
    hosts
        .iter()
        .filter(|h| q.is_empty() || h.as_str().to_ascii_lowercase().contains(&q))
        .collect()
}

#[cfg(test)]
mod window_tests {
    use super::*;

    #[test]
    fn a_list_below_the_fold_renders_its_first_rows_only_once_they_near_the_screen() {
        // 1,000 rows of 100 px, starting 2,000 px down an 800 px screen: none on screen yet, only the
        // overscan is ready for the first scroll.
        assert_eq!(window(1000, 2000.0, 800.0, 100.0), 0..WINDOW_OVERSCAN);
        // Starting 500 px down: rows 0..3 are on screen, plus the overscan after them.
        assert_eq!(window(1000, 500.0, 800.0, 100.0), 0..3 + WINDOW_OVERSCAN);
    }

    #[test]
    fn a_scrolled_list_renders_the_rows_on_screen_and_the_overscan() {
        // Scrolled 10,050 px past the list's start: rows 100..109 are (partly) on screen.
        let r = window(1000, -10_050.0, 800.0, 100.0);
        assert_eq!(r, 100 - WINDOW_OVERSCAN..109 + WINDOW_OVERSCAN);
        // At the very end the window stops at the last row.
        assert_eq!(window(1000, -99_500.0, 800.0, 100.0).end, 1000);
        // Past the end (the list shrank under the scroll position): empty, in bounds.
        let r = window(100, -99_500.0, 800.0, 100.0);
        assert!(r.is_empty() && r.end <= 100);
    }

    #[test]
    fn a_window_is_bounded_and_survives_unmeasured_or_absurd_sizes() {
        assert_eq!(window(1000, 0.0, 1e9, 1.0).len(), WINDOW_MAX);
        assert_eq!(window(1000, f64::NAN, 800.0, 100.0), 0..WINDOW_FIRST);
        assert_eq!(window(1000, 0.0, 800.0, 0.0), 0..WINDOW_FIRST);
        assert_eq!(window(5, 0.0, 800.0, -3.0), 0..5);
        assert_eq!(window(1000, f64::NEG_INFINITY, 800.0, 100.0), 0..WINDOW_FIRST);
        assert_eq!(window(0, 0.0, 800.0, 100.0), 0..0);
        let r = window(1000, -1e300, 800.0, 1e-300);
        assert!(r.start <= r.end && r.end <= 1000);
    }

    #[test]
    fn a_short_list_is_rendered_whole_wherever_it_is() {
        assert_eq!(window(10, 5000.0, 800.0, 100.0), 0..10);
        assert_eq!(window(WINDOW_FROM - 1, -1e6, 800.0, f64::NAN), 0..WINDOW_FROM - 1);
        assert_eq!(window(WINDOW_FROM, 5000.0, 800.0, 100.0), 0..WINDOW_OVERSCAN);
    }

    #[test]
    fn the_find_box_matches_part_of_a_name_ignoring_case() {
        let hosts: Vec<Hostname> = [
            "m00001.scale.example.com",
            "m00010.scale.example.com",
            "newyork.example.com",
        ]
        .iter()
        .map(|h| Hostname::known(h))
        .collect();
        let names = |q: &str| {
            matching(&hosts, q)
                .iter()
                .map(|h| h.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(" M0001 "), ["m00010.scale.example.com"]);
        assert_eq!(names("").len(), 3);
        assert!(names("london").is_empty());
    }
}
