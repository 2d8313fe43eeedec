//! The fleet: machines, clusters, groups, per-member configuration replicas, sessions and runtime state.
//!
//! Everything here is plain data. Queries that derive state (effective values, connection state) live
//! beside the data they read; changes happen only through [`crate::apply`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::features::FeatureId;
use crate::names::{ClusterName, GroupName, Hostname, NameError, Timestamp, UserName, Version};

/// The tier a setting is stored at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Cluster,
    Group,
    Machine,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Cluster => "cluster",
            Level::Group => "group",
            Level::Machine => "machine",
        })
    }
}

/// A named member of a level: the cluster, one group, or one machine.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    Cluster,
    Group(GroupName),
    Machine(Hostname),
}

impl Mode {
    pub fn level(&self) -> Level {
        match self {
            Mode::Cluster => Level::Cluster,
            Mode::Group(_) => Level::Group,
            Mode::Machine(_) => Level::Machine,
        }
    }

    /// `cluster`, `group:<g>`, `machine:<host>` (DOMAIN 10).
    pub fn parse(input: &str) -> Result<Mode, NameError> {
        if input.eq_ignore_ascii_case("cluster") {
            return Ok(Mode::Cluster);
        }
        match input.split_once(':') {
            Some((kind, name)) if kind.eq_ignore_ascii_case("group") => {
                Ok(Mode::Group(GroupName::parse(name)?))
            }
            Some((kind, name)) if kind.eq_ignore_ascii_case("machine") => {
                Ok(Mode::Machine(Hostname::parse(name)?))
            }
            _ => Err(NameError {
                kind: "mode",
                input: input.chars().take(80).collect(),
                reason: "expected cluster, group:<name> or machine:<host>",
            }),
        }
    }

    /// How prompts name the mode: `Cluster Americas`, `Group West`, `Machine sf.example.com`.
    pub fn prompt_label(&self, cluster: &ClusterName) -> String {
        match self {
            Mode::Cluster => format!("Cluster {cluster}"),
            Mode::Group(g) => format!("Group {g}"),
            Mode::Machine(h) => format!("Machine {h}"),
        }
    }

    /// How the GUI names the mode: `Cluster: Americas`, `Group: West`, `Machine: sf.example.com`.
    pub fn gui_label(&self, cluster: &ClusterName) -> String {
        match self {
            Mode::Cluster => format!("Cluster: {cluster}"),
            Mode::Group(g) => format!("Group: {g}"),
            Mode::Machine(h) => format!("Machine: {h}"),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Cluster => f.write_str("cluster"),
            Mode::Group(g) => write!(f, "group:{g}"),
            Mode::Machine(h) => write!(f, "machine:{h}"),
        }
    }
}

impl FromStr for Mode {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::parse(s)
    }
}

impl Serialize for Mode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Mode::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// One row of a feature table; cells follow the feature's columns.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Row(pub Vec<String>);

impl Row {
    pub fn cell(&self, i: usize) -> &str {
        self.0.get(i).map(String::as_str).unwrap_or("")
    }

    pub fn key(&self) -> &str {
        self.cell(0)
    }
}

/// A feature's whole value: definitions replace, never merge (DOMAIN 2.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct FeatureValue {
    pub rows: Vec<Row>,
}

impl FeatureValue {
    pub fn row(&self, key: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.key() == key)
    }
}

/// Who wrote a setting, when, and on which host (DOMAIN 2.6).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rev {
    pub at: Timestamp,
    pub user: UserName,
    pub origin: Hostname,
    /// The fleet revision of the commit that wrote it; unique per commit.
    pub seq: u64,
}

/// A stored definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    pub value: FeatureValue,
    pub rev: Rev,
}

/// One host's copy of the configuration: `mode -> feature -> setting`. A mode that holds a feature
/// *defines* it. For a standalone machine the only mode is its own machine mode.
///
/// `removed` keeps the revision of each deleted definition (a tombstone), so that the last-writer-wins
/// merge on reconnect (DOMAIN 8.3) does not bring back what a newer commit deleted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConfigStore {
    pub modes: BTreeMap<Mode, BTreeMap<FeatureId, Setting>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub removed: BTreeMap<Mode, BTreeMap<FeatureId, Rev>>,
}

impl ConfigStore {
    pub fn get(&self, mode: &Mode, feature: FeatureId) -> Option<&Setting> {
        self.modes.get(mode).and_then(|m| m.get(&feature))
    }

    /// Defines `feature` at `mode`.
    pub fn set(&mut self, mode: Mode, feature: FeatureId, setting: Setting) {
        if let Some(t) = self.removed.get_mut(&mode) {
            t.remove(&feature);
            if t.is_empty() {
                self.removed.remove(&mode);
            }
        }
        self.modes.entry(mode).or_default().insert(feature, setting);
    }

    /// Removes a definition without leaving a tombstone (for views and whole-mode drops).
    pub fn remove(&mut self, mode: &Mode, feature: FeatureId) -> Option<Setting> {
        let map = self.modes.get_mut(mode)?;
        let out = map.remove(&feature);
        if map.is_empty() {
            self.modes.remove(mode);
        }
        out
    }

    /// Removes a definition by a commit at `rev`, leaving a tombstone for the merge.
    pub fn delete(&mut self, mode: &Mode, feature: FeatureId, rev: Rev) {
        self.remove(mode, feature);
        self.removed.entry(mode.clone()).or_default().insert(feature, rev);
    }

    /// The tombstone of a deleted definition.
    pub fn tombstone(&self, mode: &Mode, feature: FeatureId) -> Option<&Rev> {
        self.removed.get(mode).and_then(|m| m.get(&feature))
    }

    /// Drops a whole mode (its definitions and tombstones).
    pub fn drop_mode(&mut self, mode: &Mode) {
        self.modes.remove(mode);
        self.removed.remove(mode);
    }

    /// Renames a mode, keeping its definitions (group rename).
    pub fn rename_mode(&mut self, old: &Mode, new: Mode) {
        if let Some(m) = self.modes.remove(old) {
            self.modes.insert(new.clone(), m);
        }
        if let Some(t) = self.removed.remove(old) {
            self.removed.insert(new, t);
        }
    }

    /// Every `(mode, feature)` this store defines.
    pub fn keys(&self) -> impl Iterator<Item = (&Mode, FeatureId)> {
        self.modes
            .iter()
            .flat_map(|(m, fs)| fs.keys().map(move |f| (m, *f)))
    }
}

/// How cluster members address each other; the same for every member (I4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Addressing {
    Hostname,
    Ip,
}

impl fmt::Display for Addressing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Addressing::Hostname => "hostname",
            Addressing::Ip => "ip",
        })
    }
}

/// A committed `clusterconfig prepjoin new` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepJoin {
    pub host: Hostname,
    pub serial: String,
    pub user_key: String,
}

/// A cluster: facts of the fleet that every host sees (DOMAIN 14.2). Members are derived from
/// machine memberships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    pub name: ClusterName,
    pub addressing: Addressing,
    pub groups: Vec<GroupName>,
    pub prepjoin: Vec<PrepJoin>,
}

/// Where a member sits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub cluster: ClusterName,
    pub group: GroupName,
}

/// The upgrade sub-state (DOMAIN 6.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Upgrade {
    #[default]
    Idle,
    Downloaded {
        version: Version,
    },
    Installing {
        version: Version,
        started: Timestamp,
    },
}

/// Per-machine runtime state; never replicated (I8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Runtime {
    /// Listeners stopped by `suspendlistener <name>` (or all of them, by `suspendlistener`).
    pub suspended_listeners: BTreeSet<String>,
    /// `suspend`: receiving and delivery stopped.
    pub suspended: bool,
}

/// Data that stays on its machine (I8): queue, quarantine, logs, saved configuration files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LocalData {
    pub quarantine: Vec<String>,
    pub log: Vec<String>,
    pub saved_configs: BTreeMap<String, String>,
}

/// One simulated appliance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    pub hostname: Hostname,
    pub serial: String,
    pub version: Version,
    /// The key `clusterconfig prepjoin print` shows.
    pub user_key: String,
    pub membership: Option<Membership>,
    /// Set by `clusterconfig disconnect` or an upgrade of a connected member; cleared by `reconnect`.
    pub detached: bool,
    pub upgrade: Upgrade,
    pub runtime: Runtime,
    pub local: LocalData,
    /// A member's replica of its cluster's store, or a standalone machine's own configuration.
    pub config: ConfigStore,
}

impl Machine {
    pub fn own_mode(&self) -> Mode {
        Mode::Machine(self.hostname.clone())
    }

    pub fn cluster(&self) -> Option<&ClusterName> {
        self.membership.as_ref().map(|m| &m.cluster)
    }

    pub fn is_upgrading(&self) -> bool {
        matches!(self.upgrade, Upgrade::Installing { .. })
    }
}

/// Broken links and names, set by the simulation (`@link`, `@dns`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Network {
    /// Links that are down, each pair stored with the smaller name first.
    pub links_down: BTreeSet<(Hostname, Hostname)>,
    /// Hosts whose main hostname does not resolve.
    pub dns_off: BTreeSet<Hostname>,
}

impl Network {
    pub fn link_up(&self, a: &Hostname, b: &Hostname) -> bool {
        let key = if a <= b {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        };
        !self.links_down.contains(&key)
    }
}

/// Identifies a login session ([`crate::session::Session`]).
pub type SessionId = u64;

/// The whole world.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fleet {
    pub clusters: BTreeMap<ClusterName, Cluster>,
    pub machines: BTreeMap<Hostname, Machine>,
    /// Versions `upgrade` offers.
    pub upgrades_offered: Vec<Version>,
    pub network: Network,
    /// Login sessions, with their modes and staged changes.
    pub sessions: BTreeMap<SessionId, crate::session::Session>,
    /// The id the next session gets.
    pub next_session: SessionId,
    /// The number of events applied; every event increments it.
    pub revision: u64,
    /// The simulated time of the last event applied.
    pub now: Timestamp,
}

/// A member's connection state (DOMAIN 6.1), as LIST and CONNSTATUS report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    Standalone,
    Connected,
    /// Disconnected on purpose (`clusterconfig disconnect`, or an upgrade).
    Detached,
    /// Installing an upgrade or rebooting.
    Upgrading,
    /// Accidental: every link to the rest of the cluster is down, or its hostname does not resolve.
    LinkDown,
}

impl Connection {
    pub fn is_connected(self) -> bool {
        self == Connection::Connected
    }

    pub fn word(self) -> &'static str {
        match self {
            Connection::Standalone => "standalone",
            Connection::Connected => "connected",
            _ => "disconnected",
        }
    }
}

impl Fleet {
    pub fn machine(&self, host: &Hostname) -> Option<&Machine> {
        self.machines.get(host)
    }

    /// Members of `cluster`, in hostname order.
    pub fn members<'a>(&'a self, cluster: &'a ClusterName) -> impl Iterator<Item = &'a Machine> + 'a {
        self.machines
            .values()
            .filter(move |m| m.cluster() == Some(cluster))
    }

    /// Members of `group` in `cluster`, in hostname order.
    pub fn group_members<'a>(
        &'a self,
        cluster: &'a ClusterName,
        group: &'a GroupName,
    ) -> impl Iterator<Item = &'a Machine> + 'a {
        self.members(cluster)
            .filter(move |m| m.membership.as_ref().is_some_and(|ms| &ms.group == group))
    }

    /// The cluster `host` belongs to.
    pub fn cluster_of(&self, host: &Hostname) -> Option<&Cluster> {
        self.machines
            .get(host)
            .and_then(|m| m.cluster())
            .and_then(|c| self.clusters.get(c))
    }

    /// The group of a member.
    pub fn group_of(&self, host: &Hostname) -> Option<&GroupName> {
        self.machines
            .get(host)
            .and_then(|m| m.membership.as_ref())
            .map(|ms| &ms.group)
    }

    /// The value `host` runs with for `feature`, read from its own replica.
    pub fn effective(&self, host: &Hostname, feature: FeatureId) -> FeatureValue {
        match self.machines.get(host) {
            Some(m) => effective_in(&m.config, host, self.group_of(host), feature),
            None => feature.schema().default_value(),
        }
    }

    pub fn standalone_machines(&self) -> impl Iterator<Item = &Machine> {
        self.machines.values().filter(|m| m.membership.is_none())
    }

    /// Whether the member may take part in cluster traffic at all (not detached, not upgrading, its
    /// name resolves when the cluster addresses by hostname).
    fn eligible(&self, m: &Machine) -> bool {
        let Some(cluster) = m.cluster().and_then(|c| self.clusters.get(c)) else {
            return false;
        };
        let unresolvable =
            cluster.addressing == Addressing::Hostname && self.network.dns_off.contains(&m.hostname);
        !(m.detached || m.is_upgrading() || unresolvable)
    }

    /// The eligible members `host` can reach over up links (including itself), possibly through other
    /// members (route table, DOMAIN 2.10). Empty when `host` itself is not eligible.
    pub fn reachable_from(&self, host: &Hostname) -> BTreeSet<Hostname> {
        let mut seen = BTreeSet::new();
        let Some(start) = self.machines.get(host) else {
            return seen;
        };
        if !self.eligible(start) {
            return seen;
        }
        let Some(cluster) = start.cluster() else {
            return seen;
        };
        let peers: Vec<&Machine> = self.members(cluster).filter(|m| self.eligible(m)).collect();
        let mut stack = vec![host.clone()];
        seen.insert(host.clone());
        while let Some(h) = stack.pop() {
            for p in &peers {
                if !seen.contains(&p.hostname) && self.network.link_up(&h, &p.hostname) {
                    seen.insert(p.hostname.clone());
                    stack.push(p.hostname.clone());
                }
            }
        }
        seen
    }

    /// LIST / CONNSTATUS state of a machine.
    pub fn connection(&self, host: &Hostname) -> Connection {
        let Some(m) = self.machines.get(host) else {
            return Connection::Standalone;
        };
        let Some(cluster) = m.cluster() else {
            return Connection::Standalone;
        };
        if m.is_upgrading() {
            return Connection::Upgrading;
        }
        if m.detached {
            return Connection::Detached;
        }
        if !self.eligible(m) {
            return Connection::LinkDown;
        }
        let eligible = self.members(cluster).filter(|p| self.eligible(p)).count();
        if eligible <= 1 || self.reachable_from(host).len() >= 2 {
            Connection::Connected
        } else {
            Connection::LinkDown
        }
    }

    /// The version every connected member of `cluster` runs (I3), if any member is connected.
    pub fn cluster_version(&self, cluster: &ClusterName) -> Option<Version> {
        self.members(cluster)
            .find(|m| self.connection(&m.hostname).is_connected())
            .map(|m| m.version)
    }
}

/// The effective value of `feature` for `host` in `store`: the defining mode's value, else the default.
pub fn effective_in(
    store: &ConfigStore,
    host: &Hostname,
    group: Option<&GroupName>,
    feature: FeatureId,
) -> FeatureValue {
    resolve(store, host, group, feature)
        .setting
        .map(|s| s.value.clone())
        .unwrap_or_else(|| feature.schema().default_value())
}

/// Where an effective value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved<'a> {
    pub mode: Mode,
    pub setting: Option<&'a Setting>,
}

/// Resolves `feature` for the machine `host` in `store` (DOMAIN 5.1): machine → group → cluster → default.
/// `group` is the machine's group (None for a standalone machine).
pub fn resolve<'a>(
    store: &'a ConfigStore,
    host: &Hostname,
    group: Option<&GroupName>,
    feature: FeatureId,
) -> Resolved<'a> {
    let machine = Mode::Machine(host.clone());
    if let Some(s) = store.get(&machine, feature) {
        return Resolved {
            mode: machine,
            setting: Some(s),
        };
    }
    if let Some(g) = group {
        let gm = Mode::Group(g.clone());
        if let Some(s) = store.get(&gm, feature) {
            return Resolved {
                mode: gm,
                setting: Some(s),
            };
        }
    }
    let levels = feature.schema().levels;
    if levels.cluster {
        if let Some(s) = store.get(&Mode::Cluster, feature) {
            return Resolved {
                mode: Mode::Cluster,
                setting: Some(s),
            };
        }
        return Resolved {
            mode: Mode::Cluster,
            setting: None,
        };
    }
    Resolved {
        mode: machine,
        setting: None,
    }
}
