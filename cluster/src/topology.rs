//! What the topology (the console's home), and the pages of a machine, a group and the cluster show,
//! decided here so that no page computes a rule (rules §15.35): a machine's state as one word for its
//! badge, the settings each mode defines (its overrides), where each of a machine's effective values
//! comes from, and the versions it may be upgraded to.

use crate::cmd::offered_versions;
use crate::features::FeatureId;
use crate::fleet::{Connection, Fleet};
use crate::mode::Mode;
use crate::names::{ClusterName, GroupName, Hostname};
use crate::store::{resolve, Definitions};
use crate::Version;

/// A machine's state, as its status badge names it (rules §15.35): what stops it first wins — powered
/// off, then installing an upgrade, then rebooting, then a lost link, then detached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MachineState {
    Standalone,
    Connected,
    Disconnected,
    Upgrading,
    Rebooting,
    Off,
    LinkDown,
}

impl MachineState {
    /// The badge's word (also its CSS class `badge-<word>`).
    pub fn word(self) -> &'static str {
        match self {
            MachineState::Standalone => "standalone",
            MachineState::Connected => "connected",
            MachineState::Disconnected => "disconnected",
            MachineState::Upgrading => "upgrading",
            MachineState::Rebooting => "rebooting",
            MachineState::Off => "off",
            MachineState::LinkDown => "linkdown",
        }
    }
}

/// The state of `host` (standalone when it is not a machine of the fleet).
pub fn machine_state(fleet: &Fleet, host: &Hostname) -> MachineState {
    let Some(m) = fleet.machine(host) else {
        return MachineState::Standalone;
    };
    if m.is_off() {
        return MachineState::Off;
    }
    if m.is_upgrading() {
        return MachineState::Upgrading;
    }
    if m.is_rebooting() {
        return MachineState::Rebooting;
    }
    match fleet.connection(host) {
        Connection::Standalone => MachineState::Standalone,
        Connection::Connected => MachineState::Connected,
        Connection::LinkDown => MachineState::LinkDown,
        Connection::Upgrading => MachineState::Upgrading,
        Connection::Rebooting => MachineState::Rebooting,
        Connection::PoweredOff => MachineState::Off,
        Connection::Detached => MachineState::Disconnected,
    }
}

/// The features `mode` defines (its overrides, for a group or a machine of a cluster), in catalogue
/// order.
pub fn defined_at<D: Definitions>(defs: &D, mode: &Mode) -> Vec<FeatureId> {
    defs.defined_at(mode)
}

/// For every mode `login_host`'s pages show, how many features it defines: at a group or a machine of a
/// cluster, the settings it overrides — a feature only a lower level can hold overrides nothing (rules
/// §15.35). Modes that define nothing are left out.
pub fn override_counts<D: Definitions>(fleet: &Fleet, login_host: &Hostname, defs: &D) -> Vec<(Mode, usize)> {
    fleet
        .modes_of(login_host)
        .into_iter()
        .map(|m| {
            let n = defs
                .defined_at(&m)
                .into_iter()
                .filter(|f| inheritable_at(*f, &m))
                .count();
            (m, n)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Whether `feature` defined at `mode` overrides something: at the cluster, always (it is the top); at
/// a group, when the cluster can hold it; at a machine, when the cluster or a group can.
fn inheritable_at(feature: FeatureId, mode: &Mode) -> bool {
    let levels = feature.schema().levels;
    match mode {
        Mode::Cluster => true,
        Mode::Group(_) => levels.cluster,
        Mode::Machine(_) => levels.cluster || levels.group,
    }
}

/// Where one effective value of a machine comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueSource {
    pub feature: FeatureId,
    /// The mode that defines the value in effect; `None`: no mode does, the built-in default applies.
    pub source: Option<Mode>,
}

/// What a machine's page shows besides its live mail flow (rules §15.35).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineFacts {
    pub host: Hostname,
    pub serial: String,
    pub version: Version,
    pub cluster: Option<ClusterName>,
    pub group: Option<GroupName>,
    pub state: MachineState,
    /// The connection as a page names it, with why it is disconnected.
    pub connection: &'static str,
    /// The versions `upgrade` would offer it now.
    pub upgrades: Vec<Version>,
    /// The features the machine's own mode defines.
    pub defined_here: Vec<FeatureId>,
    /// For every feature a machine can have, where its effective value comes from.
    pub sources: Vec<ValueSource>,
    /// Its latest alert, if any.
    pub alert: Option<String>,
}

/// The facts of `host`'s page, reading `defs` (the session's view of the configuration); `None` for a
/// host that is not a machine of the fleet.
pub fn machine_facts<D: Definitions>(fleet: &Fleet, defs: &D, host: &Hostname) -> Option<MachineFacts> {
    let m = fleet.machine(host)?;
    let own = m.own_mode();
    let group = fleet.group_of(host).cloned();
    let sources = FeatureId::ALL
        .into_iter()
        .filter(|f| f.schema().levels.machine)
        .map(|feature| {
            let r = resolve(defs, &own, group.as_ref(), feature);
            ValueSource {
                feature,
                source: r.value.map(|_| r.source.clone()),
            }
        })
        .collect();
    Some(MachineFacts {
        host: host.clone(),
        serial: m.serial.to_string(),
        version: m.version,
        cluster: m.cluster().cloned(),
        group,
        state: machine_state(fleet, host),
        connection: fleet.describe_connection(host),
        upgrades: offered_versions(fleet, m),
        defined_here: defs.defined_at(&own),
        sources,
        alert: m.local.alerts.last().cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    fn host(s: &str) -> Hostname {
        Hostname::parse(s).unwrap()
    }

    #[test]
    fn the_americas_machines_name_their_state_sources_and_upgrades() {
        let fleet = fixture::americas();
        let ny = host("newyork.example.com");
        let defs = &fleet.machine(&ny).unwrap().config;
        let facts = machine_facts(&fleet, defs, &ny).unwrap();
        assert_eq!(facts.state, MachineState::Connected);
        assert_eq!(
            facts.cluster.as_ref().map(|c| c.to_string()).as_deref(),
            Some("Americas")
        );
        assert!(
            facts.upgrades.iter().any(|v| v.to_string() == "9.5.0"),
            "{:?}",
            facts.upgrades
        );
        // Every machine-level feature is listed once, with a source that is one of its modes or none.
        assert!(!facts.sources.is_empty());
        for s in &facts.sources {
            if let Some(m) = &s.source {
                assert!(fleet.modes_of(&ny).contains(m), "{m}");
            }
        }
        let boston = host("boston.example.com");
        assert_eq!(machine_state(&fleet, &boston), MachineState::Standalone);
        assert!(machine_facts(&fleet, defs, &host("nosuch.example.com")).is_none());
    }

    #[test]
    fn overrides_count_only_what_could_be_inherited() {
        let fleet = fixture::americas();
        let ny = host("newyork.example.com");
        let defs = &fleet.machine(&ny).unwrap().config;
        let counts = override_counts(&fleet, &ny, defs);
        for (mode, n) in &counts {
            let expected = defs
                .defined_at(mode)
                .into_iter()
                .filter(|f| inheritable_at(*f, mode))
                .count();
            assert_eq!(*n, expected, "{mode}");
            assert!(*n > 0, "modes that override nothing are left out: {mode}");
        }
        // A machine-only feature defined at a machine is not an override.
        for (mode, n) in &counts {
            if let Mode::Machine(_) = mode {
                let all = defs.defined_at(mode).len();
                let machine_only = defs
                    .defined_at(mode)
                    .into_iter()
                    .filter(|f| !f.schema().levels.cluster && !f.schema().levels.group)
                    .count();
                assert_eq!(*n, all - machine_only, "{mode}");
            }
        }
        // West overrides smtproutes (the fixture's group definition).
        let west = Mode::Group(GroupName::parse("West").unwrap());
        assert!(counts.iter().any(|(m, n)| *m == west && *n >= 1), "{counts:?}");
    }
}
