//! `apply`: the one way the fleet changes. Deterministic: the same events in the same order give the same
//! fleet, on the server and in the browser.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::event::{Event, EventKind, Fault, InstallFault, Switch, Write};
use crate::features::{FeatureId, FeatureValue};
use crate::fleet::{Cluster, Fleet, Membership, Power, Upgrade};
use crate::mode::Mode;
use crate::names::{ClusterName, GroupName, Hostname, Timestamp, UserName, Version};
use crate::session::Session;
use crate::store::{effective, resolve, Change, ConfigStore, Definitions, Rev, Setting};
use crate::structure::{Addressing, StructureOp};

/// The group a new cluster starts with (rules §3.1).
pub const MAIN_GROUP: &str = "Main_Group";

/// Applies one event.
pub fn apply(fleet: &mut Fleet, event: &Event) {
    let mut hosts = flow_scope(fleet, &event.kind);
    let flows = crate::mail::all_params(fleet, &hosts);
    apply_kind(fleet, event);
    // A machine that joins or leaves takes its new cluster's members along.
    for h in flow_scope(fleet, &event.kind) {
        if !hosts.contains(&h) {
            hosts.push(h);
        }
    }
    let force = matches!(event.kind, EventKind::MailSettled);
    crate::mail::settle(fleet, &flows, &hosts, event.at, force);
}

/// The machines whose mail flow an event may change (rules §16.4.8): the machines it names and every
/// member of their clusters (a commit, a reconnect or a restored link changes their listeners); only
/// the machine itself for an event that changes nothing but its own runtime state.
fn flow_scope(fleet: &Fleet, kind: &EventKind) -> Vec<Hostname> {
    use EventKind as K;
    if let Some(host) = kind.machine_local() {
        return vec![host.clone()];
    }
    let named: Vec<&Hostname> = match kind {
        K::ClockAdvanced => return Vec::new(),
        K::MailSettled => return fleet.machines.keys().cloned().collect(),
        K::Committed { host, .. }
        | K::Forced { host, .. }
        | K::ClusterCreated { host, .. }
        | K::MachineRemoved { host }
        | K::UpgradeDownloaded { host, .. }
        | K::UpgradeFinished { host }
        | K::UpgradeFailed { host }
        | K::ListenersSuspended { host, .. }
        | K::ListenersResumed { host, .. }
        | K::MachineSuspended { host }
        | K::MachineResumed { host }
        | K::ConfigSaved { host, .. }
        | K::DnsChanged { host, .. }
        | K::DeliveryChanged { host, .. }
        | K::WorkQueueChanged { host, .. }
        | K::RebootStarted { host }
        | K::RebootFinished { host }
        | K::ShutDown { host } => vec![host],
        K::Joined { host, via, .. } => vec![host, via],
        K::UpgradeStarted { host, detach, .. } => std::iter::once(host).chain(detach).collect(),
        K::Detached { hosts } | K::Reconnected { hosts } => hosts.iter().collect(),
        K::LinkChanged { a, b, .. } => vec![a, b],
        K::MachineAdded { machine } => vec![&machine.hostname],
        K::Fault { fault } => fault.hosts(),
    };
    let mut out: BTreeSet<Hostname> = BTreeSet::new();
    for h in named {
        out.insert(h.clone());
        if let Some(c) = fleet.machine(h).and_then(|m| m.cluster()) {
            out.extend(fleet.members(c).map(|m| m.hostname.clone()));
        }
    }
    out.into_iter().collect()
}

fn apply_kind(fleet: &mut Fleet, event: &Event) {
    fleet.revision += 1;
    if event.at > fleet.now {
        fleet.now = event.at;
    }
    let seq = fleet.revision;
    let at = event.at;
    match &event.kind {
        EventKind::Committed {
            host,
            user,
            writes,
            structure,
            ..
        } => {
            let rev = Rev {
                at,
                user: user.clone(),
                origin: host.clone(),
                seq,
            };
            // Interfaces decide whether a machine has links (rules §8.1): a machine that offers SSH or
            // CCS again re-forms its links at once, as a restored link does (rules §15.17). Only then
            // are the versions needed (reading them walks the whole fleet).
            let before = writes
                .iter()
                .any(|w| w.feature == FeatureId::IpInterfaces)
                .then(|| connected_versions(fleet));
            write_reachable(fleet, host, writes, &rev);
            for item in structure {
                apply_structure(fleet, host, item);
            }
            if let Some(before) = before {
                detach_mismatched(fleet, &before);
                synchronise(fleet);
            }
        }
        EventKind::Forced {
            host,
            mode,
            feature,
            setting,
        } => {
            for target in targets(fleet, host) {
                if let Some(m) = fleet.machine_mut(&target) {
                    m.config.set(mode.clone(), *feature, setting.clone());
                }
            }
        }
        EventKind::ClusterCreated {
            host,
            name,
            addressing,
        } => create(fleet, host, name, *addressing),
        EventKind::Joined {
            host,
            via,
            group,
            ccs,
        } => join(fleet, host, via, group, *ccs, at, seq),
        EventKind::MachineRemoved { host } => remove_machine(fleet, host),
        EventKind::Detached { hosts } => {
            for h in hosts {
                if let Some(m) = fleet.machine_mut(h) {
                    m.detached = true;
                }
            }
        }
        EventKind::Reconnected { hosts } => {
            for h in hosts {
                if let Some(m) = fleet.machine_mut(h) {
                    m.detached = false;
                }
            }
            synchronise(fleet);
        }
        EventKind::UpgradeDownloaded { host, version } => {
            if let Some(m) = fleet.machine_mut(host) {
                m.upgrade = Upgrade::Downloaded { version: *version };
            }
        }
        EventKind::UpgradeStarted {
            host,
            version,
            detach,
        } => {
            for h in detach {
                if let Some(m) = fleet.machine_mut(h) {
                    m.detached = true;
                }
            }
            if let Some(m) = fleet.machine_mut(host) {
                if m.membership.is_some() {
                    m.detached = true;
                }
                let faults = &mut m.runtime.faults;
                m.upgrade = Upgrade::Installing {
                    version: *version,
                    started: at,
                    fails: std::mem::take(&mut faults.fail_next_install),
                    extra_secs: std::mem::take(&mut faults.reboot_extra_secs),
                };
            }
        }
        EventKind::UpgradeFinished { host } => {
            if let Some(m) = fleet.machine_mut(host) {
                if let Upgrade::Installing { version, .. } = m.upgrade {
                    m.version = version;
                }
                m.upgrade = Upgrade::Idle;
                let line = format!("{at} system: Info: rebooted, running AsyncOS {}", m.version);
                m.local.push_log(line);
            }
        }
        EventKind::UpgradeFailed { host } => {
            if let Some(m) = fleet.machine_mut(host) {
                if let Upgrade::Installing { version, .. } = m.upgrade {
                    let alert = format!(
                        "{at} system: Critical: the installation of AsyncOS {version} failed; {host} still runs AsyncOS {}",
                        m.version
                    );
                    m.local.push_alert(alert);
                }
                m.upgrade = Upgrade::Idle;
            }
        }
        EventKind::Fault { fault } => apply_fault(fleet, fault, at),
        EventKind::DeliveryChanged { host, suspended } => {
            if let Some(m) = fleet.machine_mut(host) {
                m.runtime.delivery_suspended = *suspended;
            }
        }
        EventKind::WorkQueueChanged { host, paused } => {
            if let Some(m) = fleet.machine_mut(host) {
                m.runtime.workqueue_paused = *paused;
            }
        }
        EventKind::RebootStarted { host } => {
            if let Some(m) = fleet.machine_mut(host) {
                let extra = std::mem::take(&mut m.runtime.faults.reboot_extra_secs);
                let until = at.plus_secs(crate::fleet::REBOOT_SECS + i64::from(extra));
                m.runtime.power = Power::Rebooting { until };
                m.local.push_log(format!("{at} system: Info: reboot requested"));
            }
        }
        EventKind::RebootFinished { host } => {
            let before = connected_versions(fleet);
            if let Some(m) = fleet.machine_mut(host) {
                if m.is_rebooting() {
                    m.runtime.power = Power::On;
                    m.local.push_log(format!(
                        "{at} system: Info: rebooted, running AsyncOS {}",
                        m.version
                    ));
                }
            }
            reform(fleet, &before);
        }
        EventKind::ShutDown { host } => {
            if let Some(m) = fleet.machine_mut(host) {
                m.runtime.power = Power::Off;
                m.local.push_log(format!("{at} system: Info: shut down"));
            }
        }
        EventKind::MailSettled => {}
        EventKind::ListenersSuspended { host, listeners } => {
            if let Some(m) = fleet.machine_mut(host) {
                m.runtime.suspended_listeners.extend(listeners.iter().cloned());
            }
        }
        EventKind::ListenersResumed { host, listeners } => {
            if let Some(m) = fleet.machine_mut(host) {
                for l in listeners {
                    m.runtime.suspended_listeners.remove(l);
                }
            }
        }
        EventKind::MachineSuspended { host } => {
            if let Some(m) = fleet.machine_mut(host) {
                m.runtime.suspended = true;
            }
        }
        EventKind::MachineResumed { host } => {
            if let Some(m) = fleet.machine_mut(host) {
                m.runtime.suspended = false;
                m.runtime.suspended_listeners.clear();
            }
        }
        EventKind::ConfigSaved { host, name, text } => {
            if let Some(m) = fleet.machine_mut(host) {
                m.local.saved_configs.insert(name.clone(), text.clone());
            }
        }
        EventKind::LinkChanged { a, b, up } => {
            let key = if a <= b {
                (a.clone(), b.clone())
            } else {
                (b.clone(), a.clone())
            };
            set_link(fleet, key, *up);
        }
        EventKind::DnsChanged { host, resolves } => set_dns(fleet, host, *resolves),
        EventKind::MachineAdded { machine } => {
            fleet
                .machines
                .insert(machine.hostname.clone(), Arc::new((**machine).clone()));
        }
        EventKind::ClockAdvanced => {}
    }
}

fn set_link(fleet: &mut Fleet, key: (Hostname, Hostname), up: bool) {
    if up {
        let before = connected_versions(fleet);
        fleet.network.links_down.remove(&key);
        reform(fleet, &before);
    } else {
        fleet.network.links_down.insert(key);
    }
}

fn set_dns(fleet: &mut Fleet, host: &Hostname, resolves: bool) {
    if resolves {
        let before = connected_versions(fleet);
        fleet.network.dns_off.remove(host);
        reform(fleet, &before);
    } else {
        fleet.network.dns_off.insert(host.clone());
    }
}

/// A member back on the network re-forms its cluster's links at once (rules §2.10), unless it runs
/// another version than the connected members (T10's guard).
fn reform(fleet: &mut Fleet, before: &BTreeMap<ClusterName, Version>) {
    detach_mismatched(fleet, before);
    synchronise(fleet);
}

/// A simulator control (rules §16.2). The check (`crate::sim`) has validated it.
fn apply_fault(fleet: &mut Fleet, fault: &Fault, at: Timestamp) {
    match fault {
        Fault::Link {
            between: [a, b],
            state,
        } => {
            let key = if a <= b {
                (a.clone(), b.clone())
            } else {
                (b.clone(), a.clone())
            };
            set_link(fleet, key, *state == Switch::Up);
        }
        Fault::Dns { host, state } => set_dns(fleet, host, *state == Switch::On),
        Fault::Power { host, state } => {
            let before = connected_versions(fleet);
            let on = *state == Switch::On;
            if let Some(m) = fleet.machine_mut(host) {
                m.runtime.power = if on { Power::On } else { Power::Off };
                let what = if on { "powered on" } else { "powered off" };
                m.local.push_log(format!("{at} system: Info: {what}"));
            }
            if on {
                reform(fleet, &before);
            }
        }
        Fault::Install { host, state } => {
            if let Some(m) = fleet.machine_mut(host) {
                m.runtime.faults.fail_next_install = *state == InstallFault::Fail;
            }
        }
        Fault::Reboot { host, extra_seconds } => {
            if let Some(m) = fleet.machine_mut(host) {
                m.runtime.faults.reboot_extra_secs = *extra_seconds;
            }
        }
        Fault::Delivery { host, rate_percent } => {
            if let Some(m) = fleet.machine_mut(host) {
                m.runtime.faults.delivery_percent = (*rate_percent).min(100);
            }
        }
    }
}

/// Keeps a session consistent with a fleet event (rules §14.2.6): a session whose mode names a renamed
/// group follows the rename; a deleted group or a removed machine puts it back in cluster mode; the
/// sessions on a machine that creates, joins or leaves a cluster start over (cluster mode, or none on a
/// standalone machine, and nothing staged). `before` is the fleet the event applies to.
pub fn follow(session: &mut Session, before: &Fleet, event: &Event) {
    match &event.kind {
        EventKind::Committed { host, structure, .. } if !structure.is_empty() => {
            let cluster_of = |h: &Hostname| before.machine(h).and_then(|m| m.cluster()).cloned();
            if cluster_of(host).is_none() || cluster_of(host) != cluster_of(&session.host) {
                return;
            }
            for op in structure {
                match op {
                    StructureOp::RenameGroup { old, new }
                        if session.mode == Some(Mode::Group(old.clone())) =>
                    {
                        session.mode = Some(Mode::Group(new.clone()));
                    }
                    StructureOp::DeleteGroup { group, .. }
                        if session.mode == Some(Mode::Group(group.clone())) =>
                    {
                        session.mode = Some(Mode::Cluster);
                    }
                    _ => {}
                }
            }
        }
        EventKind::ClusterCreated { host, .. } | EventKind::Joined { host, .. } if host == &session.host => {
            session.mode = Some(Mode::Cluster);
            session.pending.clear();
        }
        EventKind::MachineRemoved { host } => {
            if host == &session.host {
                session.mode = None;
                session.pending.clear();
            } else if session.mode.as_ref() == Some(&Mode::Machine(host.clone())) {
                session.mode = Some(Mode::Cluster);
            }
        }
        _ => {}
    }
}

/// The hosts a commit from `host` reaches: every member reachable over up links, or only itself when it
/// is disconnected or standalone.
pub fn targets(fleet: &Fleet, host: &Hostname) -> BTreeSet<Hostname> {
    let mut out = fleet.reachable_from(host);
    out.insert(host.clone());
    out
}

fn write_reachable(fleet: &mut Fleet, host: &Hostname, writes: &[Write], rev: &Rev) {
    for target in targets(fleet, host) {
        if let Some(m) = fleet.machine_mut(&target) {
            for w in writes {
                let before = m.config.defined(&w.mode, w.feature);
                match w.change.applied_to(w.feature, before) {
                    Some(value) => m.config.set(
                        w.mode.clone(),
                        w.feature,
                        Setting {
                            value,
                            rev: rev.clone(),
                        },
                    ),
                    None => m.config.delete(&w.mode, w.feature, rev.clone()),
                }
            }
        }
    }
}

fn member_hosts(fleet: &Fleet, host: &Hostname) -> Vec<Hostname> {
    match fleet.machine(host).and_then(|m| m.cluster()) {
        Some(c) => fleet.members(c).map(|m| m.hostname.clone()).collect(),
        None => Vec::new(),
    }
}

fn apply_structure(fleet: &mut Fleet, host: &Hostname, item: &StructureOp) {
    let Some(cluster_name) = fleet.machine(host).and_then(|m| m.cluster()).cloned() else {
        return;
    };
    let members = member_hosts(fleet, host);
    match item {
        StructureOp::AddGroup { group } => {
            if let Some(c) = fleet.clusters.get_mut(&cluster_name) {
                if !c.groups.contains(group) {
                    c.groups.push(group.clone());
                }
            }
        }
        StructureOp::RenameGroup { old, new } => {
            if let Some(c) = fleet.clusters.get_mut(&cluster_name) {
                for g in c.groups.iter_mut() {
                    if g == old {
                        *g = new.clone();
                    }
                }
            }
            for h in &members {
                if let Some(m) = fleet.machine_mut(h) {
                    m.config
                        .rename_mode(&Mode::Group(old.clone()), Mode::Group(new.clone()));
                    if let Some(ms) = m.membership.as_mut() {
                        if &ms.group == old {
                            ms.group = new.clone();
                        }
                    }
                }
            }
        }
        StructureOp::DeleteGroup { group, dest } => {
            if let Some(c) = fleet.clusters.get_mut(&cluster_name) {
                c.groups.retain(|g| g != group);
            }
            for h in &members {
                if let Some(m) = fleet.machine_mut(h) {
                    m.config.drop_mode(&Mode::Group(group.clone()));
                    if let (Some(ms), Some(d)) = (m.membership.as_mut(), dest) {
                        if &ms.group == group {
                            ms.group = d.clone();
                        }
                    }
                }
            }
        }
        StructureOp::SetGroup { host: h, group } => {
            if let Some(ms) = fleet.machine_mut(h).and_then(|m| m.membership.as_mut()) {
                ms.group = group.clone();
            }
        }
        StructureOp::SetName { name } => {
            if let Some(mut c) = fleet.clusters.remove(&cluster_name) {
                c.name = name.clone();
                fleet.clusters.insert(name.clone(), c);
                for h in &members {
                    if let Some(ms) = fleet.machine_mut(h).and_then(|m| m.membership.as_mut()) {
                        ms.cluster = name.clone();
                    }
                }
            }
        }
        StructureOp::PrepJoinNew { entry } => {
            if let Some(c) = fleet.clusters.get_mut(&cluster_name) {
                c.prepjoin.retain(|e| e.host != entry.host);
                c.prepjoin.push(entry.clone());
            }
        }
        StructureOp::PrepJoinDelete { entry } => {
            if let Some(c) = fleet.clusters.get_mut(&cluster_name) {
                c.prepjoin.retain(|e| !StructureOp::prepjoin_matches(e, entry));
            }
        }
    }
}

fn create(fleet: &mut Fleet, host: &Hostname, name: &crate::names::ClusterName, addressing: Addressing) {
    let main = GroupName::known(MAIN_GROUP);
    let Some(m) = fleet.machines.get_mut(host).map(Arc::make_mut) else {
        return;
    };
    let own = Mode::Machine(host.clone());
    let mut store = ConfigStore::default();
    if let Some(settings) = m.config.modes.get(&own) {
        for (feature, setting) in settings {
            let mode = if feature.schema().levels.cluster {
                Mode::Cluster
            } else {
                own.clone()
            };
            store.set(mode, *feature, setting.clone());
        }
    }
    for id in FeatureId::ALL {
        let schema = id.schema();
        if schema.levels.cluster && store.get(&Mode::Cluster, id).is_none() {
            let rev = Rev {
                at: fleet.now,
                user: admin_user(),
                origin: host.clone(),
                seq: fleet.revision,
            };
            store.set(
                Mode::Cluster,
                id,
                Setting {
                    value: schema.default_value(),
                    rev,
                },
            );
        }
    }
    m.config = store;
    m.membership = Some(Membership {
        cluster: name.clone(),
        group: main.clone(),
    });
    m.detached = false;
    fleet.clusters.insert(
        name.clone(),
        Cluster {
            name: name.clone(),
            addressing,
            groups: vec![main],
            prepjoin: Vec::new(),
        },
    );
}

fn admin_user() -> UserName {
    UserName::known("admin")
}

fn join(
    fleet: &mut Fleet,
    host: &Hostname,
    via: &Hostname,
    group: &GroupName,
    ccs: bool,
    at: Timestamp,
    seq: u64,
) {
    let Some(via_machine) = fleet.machines.get(via) else {
        return;
    };
    let Some(cluster) = via_machine.cluster().cloned() else {
        return;
    };
    let mut store = via_machine.config.clone();
    let own = Mode::Machine(host.clone());
    let Some(joiner) = fleet.machine_mut(host) else {
        return;
    };
    // Machine-only settings stay with the machine, as machine-level settings (rules §3.1).
    let kept: Vec<(FeatureId, FeatureValue)> = joiner
        .config
        .modes
        .get(&own)
        .map(|m| {
            m.iter()
                .filter(|(f, _)| !f.schema().levels.cluster && !f.schema().levels.group)
                .map(|(f, s)| (*f, s.value.clone()))
                .collect()
        })
        .unwrap_or_default();
    store.drop_mode(&own);
    joiner.config = store;
    joiner.membership = Some(Membership {
        cluster: cluster.clone(),
        group: group.clone(),
    });
    joiner.detached = false;
    let user = admin_user();
    let writes: Vec<Write> = kept
        .into_iter()
        .map(|(feature, value)| Write {
            mode: own.clone(),
            feature,
            change: Change::Define { value },
        })
        .collect();
    let rev = Rev {
        at,
        user,
        origin: host.clone(),
        seq,
    };
    write_reachable(fleet, host, &writes, &rev);
    if ccs {
        if let Some(c) = fleet.clusters.get_mut(&cluster) {
            c.prepjoin.retain(|e| &e.host != host);
        }
    }
}

fn remove_machine(fleet: &mut Fleet, host: &Hostname) {
    let Some(m) = fleet.machines.get(host) else { return };
    let Some(cluster) = m.cluster().cloned() else {
        return;
    };
    let group = m.membership.as_ref().map(|ms| ms.group.clone());
    let own = Mode::Machine(host.clone());
    // Flatten: every effective value, users included, becomes the standalone configuration (rules §14.2.5).
    let mut flat = ConfigStore::default();
    for id in FeatureId::ALL {
        let resolved = resolve(&m.config, &own, group.as_ref(), id);
        let setting = match resolved.value.and_then(|_| m.config.get(&resolved.source, id)) {
            Some(s) => s.clone(),
            None => Setting {
                value: effective(&m.config, host, group.as_ref(), id),
                rev: Rev {
                    at: fleet.now,
                    user: admin_user(),
                    origin: host.clone(),
                    seq: fleet.revision,
                },
            },
        };
        flat.set(own.clone(), id, setting);
    }
    let others: Vec<Hostname> = fleet
        .members(&cluster)
        .map(|x| x.hostname.clone())
        .filter(|h| h != host)
        .collect();
    if let Some(m) = fleet.machine_mut(host) {
        m.config = flat;
        m.membership = None;
        m.detached = false;
    }
    for h in &others {
        if let Some(o) = fleet.machine_mut(h) {
            o.config.drop_mode(&own);
        }
    }
    if others.is_empty() {
        fleet.clusters.remove(&cluster);
    }
}

/// The version each cluster's connected members run.
fn connected_versions(fleet: &Fleet) -> BTreeMap<ClusterName, Version> {
    fleet
        .clusters
        .keys()
        .filter_map(|c| fleet.cluster_version(c).map(|v| (c.clone(), v)))
        .collect()
}

/// T10's guard (rules §6.2): a member whose link comes back on another version than the connected
/// members does not rejoin them; it is left detached, so that only `reconnect` (and its version check)
/// brings it back.
fn detach_mismatched(fleet: &mut Fleet, before: &BTreeMap<ClusterName, Version>) {
    let mismatched: Vec<Hostname> = fleet
        .machines
        .values()
        .filter(|m| {
            let Some(c) = m.cluster() else { return false };
            before.get(c).is_some_and(|v| *v != m.version) && fleet.connection(&m.hostname).is_connected()
        })
        .map(|m| m.hostname.clone())
        .collect();
    for h in mismatched {
        if let Some(m) = fleet.machine_mut(&h) {
            m.detached = true;
        }
    }
}

/// Last-writer-wins synchronisation (rules §8.3, §14.2.4) within every group of members that can reach
/// each other: per `(mode, feature)` the copy with the newest commit time wins; on equal times each
/// replica keeps its own copy and `clustercheck` reports the difference.
pub fn synchronise(fleet: &mut Fleet) {
    let mut seen: BTreeSet<Hostname> = BTreeSet::new();
    let hosts: Vec<Hostname> = fleet
        .machines
        .values()
        .filter(|m| m.membership.is_some())
        .map(|m| m.hostname.clone())
        .collect();
    for h in hosts {
        if seen.contains(&h) {
            continue;
        }
        let component = fleet.reachable_from(&h);
        seen.extend(component.iter().cloned());
        if component.len() >= 2 {
            merge(fleet, &component);
        }
    }
}

/// A replica's state of one item: defined at a revision, or deleted at a revision.
#[derive(Clone)]
enum Copy {
    Defined(Setting),
    Deleted(Rev),
}

impl Copy {
    fn at(&self) -> Timestamp {
        match self {
            Copy::Defined(s) => s.rev.at,
            Copy::Deleted(r) => r.at,
        }
    }
}

fn merge(fleet: &mut Fleet, component: &BTreeSet<Hostname>) {
    let mut keys: BTreeSet<(Mode, FeatureId)> = BTreeSet::new();
    for h in component {
        if let Some(m) = fleet.machines.get(h) {
            keys.extend(m.config.keys().map(|(mode, f)| (mode.clone(), f)));
            for (mode, fs) in &m.config.removed {
                keys.extend(fs.keys().map(|f| (mode.clone(), *f)));
            }
        }
    }
    for (mode, feature) in keys {
        let copies: Vec<Option<Copy>> = component
            .iter()
            .map(|h| {
                let m = fleet.machines.get(h)?;
                m.config
                    .get(&mode, feature)
                    .map(|s| Copy::Defined(s.clone()))
                    .or_else(|| {
                        m.config
                            .tombstone(&mode, feature)
                            .map(|r| Copy::Deleted(r.clone()))
                    })
            })
            .collect();
        let Some(newest) = copies.iter().flatten().map(Copy::at).max() else {
            continue;
        };
        let winners: Vec<&Copy> = copies.iter().flatten().filter(|c| c.at() == newest).collect();
        let first = winners[0];
        let all_same = winners.iter().all(|c| match (c, first) {
            (Copy::Defined(a), Copy::Defined(b)) => a == b,
            (Copy::Deleted(a), Copy::Deleted(b)) => a == b,
            _ => false,
        });
        if !all_same {
            continue; // a tie: each keeps its copy; clustercheck reports it
        }
        let winner = first.clone();
        for h in component {
            if let Some(m) = fleet.machine_mut(h) {
                match &winner {
                    Copy::Defined(s) => m.config.set(mode.clone(), feature, s.clone()),
                    Copy::Deleted(r) => m.config.delete(&mode, feature, r.clone()),
                }
            }
        }
    }
}
