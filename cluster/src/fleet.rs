//! The fleet: machines, clusters, groups, per-member configuration replicas and runtime state. Login
//! sessions are not part of it (rules §14.7.4): they are their own, private to each session.
//!
//! Everything here is plain data. Queries that derive state (effective values, connection state, the
//! user database a login host uses, the modes of a cluster) live beside the data they read; changes
//! happen only through [`crate::apply`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::features::{FeatureId, FeatureValue, TypedRow, UserRow};
use crate::mode::Mode;
use crate::names::{ClusterName, GroupName, Hostname, Serial, Timestamp, UserKey, UserName, Version};
use crate::store::{effective, ConfigStore, Definitions};
use crate::structure::{Addressing, PrepJoin};

/// A cluster: facts of the fleet that every host sees (rules §14.2). Members are derived from
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

/// Simulated seconds an installation takes before the reboot (T5).
pub const INSTALL_SECS: i64 = 300;
/// Simulated seconds a reboot takes (T6). Install + reboot stays within 600 s (rules §14.3.3) unless the
/// simulator slows the reboot (rules §16.2).
pub const REBOOT_SECS: i64 = 120;

/// The upgrade sub-state (rules §6.1).
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
        /// A simulator fault (rules §16.2): the install fails instead of rebooting into `version`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        fails: bool,
        /// A simulator fault: the reboot takes this many seconds longer than usual.
        #[serde(default, skip_serializing_if = "is_zero")]
        extra_secs: u32,
    },
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_full(p: &u8) -> bool {
    *p == 100
}

fn full() -> u8 {
    100
}

/// Whether a machine runs (rules §16.3): on, off (`shutdown` or the simulator), or rebooting until a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Power {
    #[default]
    On,
    Off,
    Rebooting {
        until: Timestamp,
    },
}

/// Faults the simulator armed on a machine (rules §16.2); each is used up by what it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faults {
    /// The next install fails.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fail_next_install: bool,
    /// The next reboot (of an upgrade or `reboot`) takes this many seconds longer.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reboot_extra_secs: u32,
    /// Delivery runs at this percentage of the machine's normal rate (0 stalls it).
    #[serde(default = "full", skip_serializing_if = "is_full")]
    pub delivery_percent: u8,
}

impl Faults {
    /// The armed faults in words, for the console (empty when none is armed).
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.fail_next_install {
            out.push("next install fails".to_string());
        }
        if self.reboot_extra_secs > 0 {
            out.push(format!("next reboot +{} s", self.reboot_extra_secs));
        }
        if self.delivery_percent < 100 {
            out.push(format!("delivery at {}%", self.delivery_percent));
        }
        out
    }
}

impl Runtime {
    /// Delivery stopped by `suspend` or `suspenddel` (rules §16.5).
    pub fn delivery_stopped(&self) -> bool {
        self.suspended || self.delivery_suspended
    }

    /// `running` or `paused`, as `workqueue status` prints it.
    pub fn workqueue_word(&self) -> &'static str {
        if self.workqueue_paused {
            "paused"
        } else {
            "running"
        }
    }
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            fail_next_install: false,
            reboot_extra_secs: 0,
            delivery_percent: 100,
        }
    }
}

/// What drives a machine's mail flow between two events (rules §16.4): derived from the fleet, and
/// recorded with each [`MailSegment`] so the flow can be replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FlowParams {
    /// Listeners taking connections.
    pub receiving: Vec<String>,
    /// The work queue is processed (running, not paused, the machine up).
    pub processing: bool,
    /// The delivery queue is delivered.
    pub delivering: bool,
    /// Delivery speed in percent of the machine's normal rate.
    pub delivery_percent: u8,
}

/// A machine's mail counters at one minute (rules §16.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MailCounters {
    /// Messages received and not yet processed.
    pub work_queue: u64,
    /// Messages processed and waiting for delivery.
    pub delivery_queue: u64,
    /// Received since the fleet began, in total and per listener (listener order of [`FlowParams`]).
    pub received: u64,
    pub delivered: u64,
    /// Connections refused because the queues were full.
    pub refused: u64,
    pub per_listener: BTreeMap<String, u64>,
}

/// From `minute` on, the machine's mail flowed with `params`, starting from `counters`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailSegment {
    /// Whole simulated minutes since the epoch.
    pub minute: i64,
    pub counters: MailCounters,
    pub params: FlowParams,
}

/// Per-machine runtime state; never replicated (I8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Runtime {
    /// Listeners stopped by `suspendlistener <name>` (or all of them, by `suspendlistener`).
    pub suspended_listeners: BTreeSet<String>,
    /// `suspend`: receiving and delivery stopped.
    pub suspended: bool,
    /// `suspenddel`: delivery stopped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delivery_suspended: bool,
    /// `workqueue pause`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub workqueue_paused: bool,
    #[serde(default)]
    pub power: Power,
    #[serde(default)]
    pub faults: Faults,
    /// The latest mail-flow segments, oldest first (at most [`crate::mail::SEGMENTS_KEPT`]).
    #[serde(default)]
    pub mail: Vec<MailSegment>,
}

/// Data that stays on its machine (I8): queue, quarantine, logs, saved configuration files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LocalData {
    pub quarantine: Vec<String>,
    pub log: Vec<String>,
    pub saved_configs: BTreeMap<String, String>,
    /// Alerts the machine raised (a failed install), newest last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<String>,
}

/// The most lines a machine's log keeps; the oldest go first.
pub const LOG_KEPT: usize = 500;
/// The most alerts a machine keeps.
pub const ALERTS_KEPT: usize = 50;

impl LocalData {
    pub fn push_log(&mut self, line: String) {
        self.log.push(line);
        if self.log.len() > LOG_KEPT {
            let extra = self.log.len() - LOG_KEPT;
            self.log.drain(..extra);
        }
    }

    /// An alert, also written to the log.
    pub fn push_alert(&mut self, line: String) {
        self.push_log(line.clone());
        self.alerts.push(line);
        if self.alerts.len() > ALERTS_KEPT {
            self.alerts.remove(0);
        }
    }
}

/// One simulated appliance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    pub hostname: Hostname,
    pub serial: Serial,
    pub version: Version,
    /// The key `clusterconfig prepjoin print` shows.
    pub user_key: UserKey,
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

    /// Powered off by `shutdown` or the simulator (rules §16.3).
    pub fn is_off(&self) -> bool {
        self.runtime.power == Power::Off
    }

    /// Rebooting after `reboot` (an upgrade's reboot is part of [`Machine::is_upgrading`]).
    pub fn is_rebooting(&self) -> bool {
        matches!(self.runtime.power, Power::Rebooting { .. })
    }

    /// Not running: installing, rebooting or off. Takes no part in the cluster and moves no mail.
    pub fn is_down(&self) -> bool {
        self.is_upgrading() || self.runtime.power != Power::On
    }

    /// The mode that holds the user database this machine uses (rules §2.7, §14.2.5): the cluster's for
    /// a member, its own for a standalone machine.
    pub fn user_db_mode(&self) -> Mode {
        if self.membership.is_some() {
            Mode::Cluster
        } else {
            self.own_mode()
        }
    }

    /// The users of the user database this machine uses, from its own replica.
    pub fn users(&self) -> Vec<UserRow> {
        self.config
            .defined(&self.user_db_mode(), FeatureId::Users)
            .map(|v| v.typed::<UserRow>().collect())
            .unwrap_or_default()
    }

    /// One user of that database.
    pub fn user(&self, name: &UserName) -> Option<UserRow> {
        // Rows are keyed by the user name as parsed, so only the matching row is read (the role of
        // the session's user is looked up on every command).
        let row = self
            .config
            .defined(&self.user_db_mode(), FeatureId::Users)?
            .row(name.as_str())?;
        UserRow::from_row(row).ok()
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

/// Whether some interface of the machine, in its own replica, offers SSH or CCS. The model keeps no DNS
/// record per interface: the main hostname is taken to resolve to the interface that offers cluster
/// service, so a machine whose interfaces offer neither has no cluster links (rules §8.1, §14.7.7,
/// §15.30).
pub fn offers_cluster_service(m: &Machine) -> bool {
    let group = m.membership.as_ref().map(|ms| &ms.group);
    effective(&m.config, &m.hostname, group, FeatureId::IpInterfaces)
        .typed::<crate::features::InterfaceRow>()
        .any(|i| i.ssh.is_some() || i.ccs.is_some())
}

/// The whole world.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fleet {
    pub clusters: BTreeMap<ClusterName, Cluster>,
    /// Shared between copies: publishing the fleet after an event copies only the map, and an event
    /// copies only the machines it changes ([`Fleet::machine_mut`]).
    pub machines: BTreeMap<Hostname, Arc<Machine>>,
    /// Versions `upgrade` offers.
    pub upgrades_offered: Vec<Version>,
    /// The valid upgrade paths, `(from, to)` (rules §16.6); empty: any offered newer version.
    #[serde(default)]
    pub upgrade_paths: Vec<(Version, Version)>,
    /// The seed of the simulation's randomness (mail arrivals, rules §16.4).
    #[serde(default)]
    pub seed: u64,
    pub network: Network,
    /// The number of events applied; every event increments it.
    pub revision: u64,
    /// The simulated time of the last event applied.
    pub now: Timestamp,
}

/// A member's connection state (rules §6.1), as LIST and CONNSTATUS report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    Standalone,
    Connected,
    /// Disconnected on purpose (`clusterconfig disconnect`, or an upgrade).
    Detached,
    /// Installing an upgrade, or rebooting at its end.
    Upgrading,
    /// Rebooting after `reboot` (rules §16.3).
    Rebooting,
    /// Powered off (rules §16.3).
    PoweredOff,
    /// Accidental: every link to the rest of the cluster is down, or its hostname does not resolve.
    LinkDown,
}

impl Connection {
    pub fn is_connected(self) -> bool {
        self == Connection::Connected
    }

    /// The word `clusterconfig list` and `connstatus` print (rules §10.1).
    pub fn word(self) -> &'static str {
        match self {
            Connection::Standalone => "standalone",
            Connection::Connected => "connected",
            _ => "disconnected",
        }
    }

    /// The state as a page names it, with the reason for a disconnection.
    pub fn describe(self) -> &'static str {
        match self {
            Connection::Standalone => "standalone",
            Connection::Connected => "connected",
            Connection::Detached => "disconnected (detached)",
            Connection::Upgrading => "disconnected (upgrading)",
            Connection::Rebooting => "disconnected (rebooting)",
            Connection::PoweredOff => "disconnected (powered off)",
            Connection::LinkDown => "disconnected (link down)",
        }
    }
}

/// Why an eligible-looking member is link-down (rules §2.10, §8.1, §15.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkDownCause {
    /// Hostname addressing, and its main hostname does not resolve.
    Unresolvable,
    /// No interface offers SSH or CCS (rules §8.1, §14.7.7).
    NoService,
    /// Its links to every other eligible member are down.
    Links,
}

impl LinkDownCause {
    /// The cause as the end of "disconnected because …".
    pub fn because(self) -> &'static str {
        match self {
            LinkDownCause::Unresolvable => "its hostname does not resolve",
            LinkDownCause::NoService => "no interface on it offers SSH or CCS",
            LinkDownCause::Links => "its links to the other members are down",
        }
    }
}

impl Fleet {
    pub fn machine(&self, host: &Hostname) -> Option<&Machine> {
        self.machines.get(host).map(Arc::as_ref)
    }

    /// The machine to change: its own copy if another copy of the fleet still shares it.
    pub fn machine_mut(&mut self, host: &Hostname) -> Option<&mut Machine> {
        self.machines.get_mut(host).map(Arc::make_mut)
    }

    /// Members of `cluster`, in hostname order.
    pub fn members<'a>(&'a self, cluster: &'a ClusterName) -> impl Iterator<Item = &'a Machine> + 'a {
        self.machines
            .values()
            .map(Arc::as_ref)
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
            Some(m) => effective(&m.config, host, self.group_of(host), feature),
            None => feature.schema().default_value(),
        }
    }

    /// The role of `user` in the user database `host` uses (its cluster's, or its own when standalone).
    pub fn role_of(&self, host: &Hostname, user: &UserName) -> Option<crate::roles::Role> {
        self.machine(host)?.user(user).map(|u| u.role)
    }

    /// Every mode of `host`'s cluster, in the order the mode drop-down and `clustershow` list them: the
    /// cluster, each group, each member (rules §9). Empty for a standalone machine.
    pub fn modes_of(&self, host: &Hostname) -> Vec<Mode> {
        let Some(c) = self.cluster_of(host) else {
            return Vec::new();
        };
        let mut out = vec![Mode::Cluster];
        out.extend(c.groups.iter().map(|g| Mode::Group(g.clone())));
        out.extend(self.members(&c.name).map(|m| m.own_mode()));
        out
    }

    pub fn standalone_machines(&self) -> impl Iterator<Item = &Machine> {
        self.machines
            .values()
            .map(Arc::as_ref)
            .filter(|m| m.membership.is_none())
    }

    /// Whether the member may take part in cluster traffic at all (not detached, not upgrading, its
    /// name resolves when the cluster addresses by hostname, and it offers SSH or CCS, rules §8.1).
    fn eligible(&self, m: &Machine) -> bool {
        let in_cluster = m.cluster().is_some_and(|c| self.clusters.contains_key(c));
        !(!in_cluster || m.detached || m.is_down() || self.unresolvable(m)) && offers_cluster_service(m)
    }

    fn unresolvable(&self, m: &Machine) -> bool {
        let Some(cluster) = m.cluster().and_then(|c| self.clusters.get(c)) else {
            return false;
        };
        cluster.addressing == Addressing::Hostname && self.network.dns_off.contains(&m.hostname)
    }

    /// A machine's connection as pages name it: [`Connection::describe`], with the cause of a lost link
    /// spelled out as `connstatus` does (rules §10.1), so the console and the CLI agree.
    pub fn describe_connection(&self, host: &Hostname) -> &'static str {
        let c = self.connection(host);
        let m = self.machines.get(host);
        match c {
            // A standalone machine has no cluster links, but it can still be down (rules §16.3).
            Connection::Standalone if m.is_some_and(|m| m.is_off()) => "standalone (powered off)",
            Connection::Standalone if m.is_some_and(|m| m.is_rebooting()) => "standalone (rebooting)",
            Connection::Standalone if m.is_some_and(|m| m.is_upgrading()) => "standalone (upgrading)",
            Connection::LinkDown => match self.link_down_cause(host) {
                LinkDownCause::Unresolvable => "disconnected (hostname does not resolve)",
                LinkDownCause::NoService => "disconnected (no interface offers SSH or CCS)",
                LinkDownCause::Links => c.describe(),
            },
            _ => c.describe(),
        }
    }

    /// Why a link-down member is link-down (for `connstatus` and `reconnect`).
    pub fn link_down_cause(&self, host: &Hostname) -> LinkDownCause {
        match self.machines.get(host) {
            Some(m) if self.unresolvable(m) => LinkDownCause::Unresolvable,
            Some(m) if !offers_cluster_service(m) => LinkDownCause::NoService,
            _ => LinkDownCause::Links,
        }
    }

    /// The eligible members `host` can reach over up links (including itself), possibly through other
    /// members (route table, rules §2.10). Empty when `host` itself is not eligible.
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
        if m.is_off() {
            return Connection::PoweredOff;
        }
        if m.is_rebooting() {
            return Connection::Rebooting;
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
