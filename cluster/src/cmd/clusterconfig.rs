//! `clusterconfig`: create, join, prepjoin, list, connstatus, groups, name, removemachine, disconnect,
//! reconnect (DOMAIN 3.1, 3.2, 14.2.2).

use std::collections::BTreeSet;

use crate::apply::MAIN_GROUP;
use crate::command::Command;
use crate::event::EventKind;
use crate::features::FeatureId;
use crate::model::{Addressing, Cluster, Connection, FeatureValue, Fleet, Machine, PrepJoin};
use crate::names::{GroupName, Hostname};
use crate::roles::Role;
use crate::session::Pending;
use crate::verdict::{Asker, Plan, Rejection, Stop};

use super::Ctx;

/// More members than this is allowed but flagged (I10).
pub const SOFT_MEMBER_LIMIT: usize = 20;

fn large_cluster_warning() -> String {
    "Warning: Clusters larger than 20 appliances may experience communication errors.".to_string()
}

pub(super) fn check(ctx: &Ctx, command: &Command, asker: &mut Asker) -> Result<Plan, Stop> {
    use Command as C;
    if ctx.cluster().is_some() && !ctx.is_connected() {
        detached_host_rule(ctx, command)?;
    }
    match command {
        C::ClusterConfig => match ctx.cluster() {
            None => Ok(Plan::output(vec![
                format!("{} is not a member of a cluster.", ctx.host()),
                "To create one:  clusterconfig create <name> [hostname|ip]".into(),
                "To join one:    clusterconfig join <member-host> [ccs] [port <n>] [group <g>] [by ip]"
                    .into(),
            ])),
            Some(c) => Ok(Plan::output(list_lines(ctx.fleet, c))),
        },
        C::Create { name, addressing } => create(ctx, name, *addressing),
        C::Join {
            member,
            ccs,
            port,
            group,
            by_ip,
        } => join(ctx, member, *ccs, *port, group.as_ref(), *by_ip, asker),
        C::PrepJoinPrint => {
            let mut out = vec![
                format!("Hostname: {}", ctx.login.hostname),
                format!("Serial #: {}", ctx.login.serial),
                format!("User key: {}", ctx.login.user_key),
            ];
            if let Some(c) = ctx.cluster() {
                out.push(format!(
                    "Pending join entries of cluster {}: {}",
                    c.name,
                    c.prepjoin.len()
                ));
                for e in &c.prepjoin {
                    out.push(format!(
                        "  {} (Serial #: {}) key {}",
                        e.host, e.serial, e.user_key
                    ));
                }
            }
            Ok(Plan::output(out))
        }
        C::PrepJoinNew {
            serial,
            host,
            user_key,
        } => {
            let cluster = ctx.require_cluster(command)?;
            for (what, value) in [("serial number", serial), ("user key", user_key)] {
                if value.is_empty()
                    || value.len() > 128
                    || !value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    return Err(Rejection::Other(format!(
                        "The {what} \"{}\" is not valid: use letters, digits, '-' and '_' (1 to 128).",
                        value.chars().take(40).collect::<String>()
                    ))
                    .into());
                }
            }
            let staged = ctx
                .session
                .pending
                .iter()
                .any(|p| matches!(p, Pending::PrepJoinNew { entry } if &entry.host == host));
            if staged || cluster.prepjoin.iter().any(|e| &e.host == host) {
                return Err(Rejection::PrepJoinExists { host: host.clone() }.into());
            }
            let entry = PrepJoin {
                host: host.clone(),
                serial: serial.clone(),
                user_key: user_key.clone(),
            };
            Ok(staged_plan(ctx, Pending::PrepJoinNew { entry }, vec![]))
        }
        C::PrepJoinDelete { entry } => {
            let cluster = ctx.require_cluster(command)?;
            if !cluster
                .prepjoin
                .iter()
                .any(|e| &e.serial == entry || e.host.as_str() == entry)
            {
                return Err(Rejection::PrepJoinMissing {
                    entry: entry.chars().take(80).collect(),
                }
                .into());
            }
            Ok(staged_plan(
                ctx,
                Pending::PrepJoinDelete { entry: entry.clone() },
                vec![],
            ))
        }
        C::List => {
            let cluster = ctx.require_cluster(command)?;
            Ok(Plan::output(list_lines(ctx.fleet, cluster)))
        }
        C::ConnStatus => {
            let cluster = ctx.require_cluster(command)?;
            Ok(Plan::output(connstatus_lines(ctx.fleet, cluster)))
        }
        C::AddGroup { group } => {
            let cluster = ctx.require_cluster(command)?;
            if group_exists(ctx, cluster, group) {
                return Err(Rejection::GroupExists { group: group.clone() }.into());
            }
            Ok(staged_plan(
                ctx,
                Pending::AddGroup { group: group.clone() },
                same_name_warning(cluster, group),
            ))
        }
        C::RenameGroup { old, new } => {
            let cluster = ctx.require_cluster(command)?;
            require_staged_group(ctx, cluster, old)?;
            if group_exists(ctx, cluster, new) {
                return Err(Rejection::GroupExists { group: new.clone() }.into());
            }
            Ok(staged_plan(
                ctx,
                Pending::RenameGroup {
                    old: old.clone(),
                    new: new.clone(),
                },
                same_name_warning(cluster, new),
            ))
        }
        C::DeleteGroup { group, dest } => {
            let cluster = ctx.require_cluster(command)?;
            require_staged_group(ctx, cluster, group)?;
            if staged_groups(cluster, &ctx.session.pending).len() <= 1 {
                return Err(Rejection::LastGroup { group: group.clone() }.into());
            }
            let occupied = ctx.fleet.group_members(&cluster.name, group).next().is_some();
            match dest {
                Some(d) if d == group => {
                    return Err(Rejection::Other(format!(
                        "Group \"{group}\" cannot receive its own machines; choose another group."
                    ))
                    .into())
                }
                Some(d) => require_staged_group(ctx, cluster, d)?,
                None if occupied => return Err(Rejection::GroupNotEmpty { group: group.clone() }.into()),
                None => {}
            }
            Ok(staged_plan(
                ctx,
                Pending::DeleteGroup {
                    group: group.clone(),
                    dest: dest.clone(),
                },
                vec![],
            ))
        }
        C::SetGroup { host, group } => {
            let cluster = ctx.require_cluster(command)?;
            let m = require_member(ctx, cluster, host)?;
            require_staged_group(ctx, cluster, group)?;
            if m.membership.as_ref().is_some_and(|ms| &ms.group == group) {
                return Err(Rejection::AlreadyInGroup {
                    host: host.clone(),
                    group: group.clone(),
                }
                .into());
            }
            Ok(staged_plan(
                ctx,
                Pending::SetGroup {
                    host: host.clone(),
                    group: group.clone(),
                },
                vec![],
            ))
        }
        C::SetName { name } => {
            let cluster = ctx.require_cluster(command)?;
            if name != &cluster.name && ctx.fleet.clusters.contains_key(name) {
                return Err(Rejection::ClusterNameTaken { name: name.clone() }.into());
            }
            Ok(staged_plan(ctx, Pending::SetName { name: name.clone() }, vec![]))
        }
        C::RemoveMachine { host } => {
            let cluster = ctx.require_cluster(command)?;
            require_member(ctx, cluster, host)?;
            let question = format!(
                "Remove {host} from cluster {}? It keeps a standalone copy of its effective configuration. [N]>",
                cluster.name
            );
            if !asker.yes_no(question, false)? {
                return Ok(Plan::output(vec![format!("{host} was not removed.")]));
            }
            let last = ctx.fleet.members(&cluster.name).count() == 1;
            let mut output = vec![format!(
                "{host} was removed from cluster {} and is now a standalone machine.",
                cluster.name
            )];
            if last {
                output.push(format!(
                    "Cluster {} had no other member and no longer exists.",
                    cluster.name
                ));
            }
            Ok(Plan {
                events: vec![ctx.event(EventKind::MachineRemoved { host: host.clone() })],
                output,
                reach: vec![host.clone()],
                ..Plan::default()
            })
        }
        C::Disconnect { hosts } => disconnect(ctx, command, hosts),
        C::Reconnect { hosts } => reconnect(ctx, command, hosts),
        _ => Err(Rejection::Other(format!("{} is not a clusterconfig command.", command.word())).into()),
    }
}

/// On a disconnected host only `list`, `connstatus`, and disconnect or reconnect of itself (14.2.2).
fn detached_host_rule(ctx: &Ctx, command: &Command) -> Result<(), Rejection> {
    let me = ctx.host();
    let ok = match command {
        Command::ClusterConfig | Command::List | Command::ConnStatus | Command::PrepJoinPrint => true,
        Command::Disconnect { hosts } | Command::Reconnect { hosts } => hosts.iter().all(|h| h == me),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Rejection::DetachedHost {
            host: me.clone(),
            command: command.to_string(),
        })
    }
}

fn staged_plan(ctx: &Ctx, item: Pending, warnings: Vec<String>) -> Plan {
    let what = item.describe();
    Plan {
        events: vec![ctx.event(EventKind::Staged {
            session: ctx.session.id,
            item,
        })],
        output: vec![format!("Staged: {what}. Run commit to apply it.")],
        warnings,
        ..Plan::default()
    }
}

fn same_name_warning(cluster: &Cluster, group: &GroupName) -> Vec<String> {
    if group.as_str() == cluster.name.as_str() {
        vec![format!(
            "Warning: group \"{group}\" has the same name as the cluster."
        )]
    } else {
        vec![]
    }
}

/// The cluster's groups with the session's staged group changes applied in order: what the next staged
/// item is checked against (DOMAIN 14.2.3).
pub fn staged_groups(cluster: &Cluster, pending: &[Pending]) -> Vec<GroupName> {
    let mut groups = cluster.groups.clone();
    for p in pending {
        match p {
            Pending::AddGroup { group } => groups.push(group.clone()),
            Pending::RenameGroup { old, new } => {
                for g in groups.iter_mut() {
                    if g == old {
                        *g = new.clone();
                    }
                }
            }
            Pending::DeleteGroup { group, .. } => groups.retain(|g| g != group),
            _ => {}
        }
    }
    groups
}

fn group_exists(ctx: &Ctx, cluster: &Cluster, group: &GroupName) -> bool {
    staged_groups(cluster, &ctx.session.pending).contains(group)
}

fn require_staged_group(ctx: &Ctx, cluster: &Cluster, group: &GroupName) -> Result<(), Rejection> {
    if group_exists(ctx, cluster, group) {
        Ok(())
    } else {
        Err(Rejection::UnknownGroup {
            group: group.clone(),
            cluster: cluster.name.clone(),
        })
    }
}

fn require_group(cluster: &Cluster, group: &GroupName) -> Result<(), Rejection> {
    if cluster.groups.contains(group) {
        Ok(())
    } else {
        Err(Rejection::UnknownGroup {
            group: group.clone(),
            cluster: cluster.name.clone(),
        })
    }
}

fn require_member<'a>(ctx: &Ctx<'a>, cluster: &Cluster, host: &Hostname) -> Result<&'a Machine, Rejection> {
    let m = ctx
        .fleet
        .machine(host)
        .ok_or_else(|| Rejection::UnknownMachine { host: host.clone() })?;
    if m.cluster() != Some(&cluster.name) {
        return Err(Rejection::NotAMember {
            host: host.clone(),
            cluster: cluster.name.clone(),
        });
    }
    Ok(m)
}

fn no_duplicates(command: &Command, hosts: &[Hostname]) -> Result<(), Rejection> {
    let mut seen = BTreeSet::new();
    for h in hosts {
        if !seen.insert(h) {
            return Err(Rejection::DuplicateHost {
                host: h.clone(),
                command: command.word().into(),
            });
        }
    }
    Ok(())
}

/// `clusterconfig list` (DOMAIN 10.1).
pub fn list_lines(fleet: &Fleet, cluster: &Cluster) -> Vec<String> {
    let mut out = vec![format!("Cluster {}", cluster.name)];
    for g in &cluster.groups {
        out.push(format!("Group {g}:"));
        for m in fleet.group_members(&cluster.name, g) {
            out.push(format!(
                "Machine {} (Serial #: {}) version {} {}",
                m.hostname,
                m.serial,
                m.version,
                fleet.connection(&m.hostname).word()
            ));
        }
    }
    if fleet.members(&cluster.name).count() > SOFT_MEMBER_LIMIT {
        out.push(large_cluster_warning());
    }
    out
}

/// `clusterconfig connstatus` (DOMAIN 10.1): one line per machine, then the links.
pub fn connstatus_lines(fleet: &Fleet, cluster: &Cluster) -> Vec<String> {
    let members: Vec<&Machine> = fleet.members(&cluster.name).collect();
    let mut out = Vec::new();
    for m in &members {
        let c = fleet.connection(&m.hostname);
        let detail = match c {
            Connection::Detached => " (disconnected by an administrator)",
            Connection::Upgrading => " (upgrading)",
            Connection::LinkDown if fleet.network.dns_off.contains(&m.hostname) => {
                " (hostname does not resolve)"
            }
            Connection::LinkDown => " (no link to the other members)",
            _ => "",
        };
        out.push(format!("{} {}{detail}", m.hostname, c.word()));
    }
    for (i, a) in members.iter().enumerate() {
        for b in &members[i + 1..] {
            let up = fleet.network.link_up(&a.hostname, &b.hostname);
            out.push(format!(
                "link {} - {}: {}",
                a.hostname,
                b.hostname,
                if up { "up" } else { "down" }
            ));
        }
    }
    out
}

/// Whether the machine offers SSH (or CCS) on some interface; returns (ssh port, ccs port) of the first.
fn service_ports(value: &FeatureValue) -> (Option<u16>, Option<u16>) {
    let port = |s: &str| s.parse::<u16>().ok().filter(|p| *p != 0);
    let ssh = value.rows.iter().find_map(|r| port(r.cell(2)));
    let ccs = value.rows.iter().find_map(|r| port(r.cell(3)));
    (ssh, ccs)
}

fn create(ctx: &Ctx, name: &crate::names::ClusterName, addressing: Addressing) -> Result<Plan, Stop> {
    if let Some(c) = ctx.cluster() {
        return Err(Rejection::AlreadyMember {
            action: "create a cluster".into(),
            cluster: c.name.clone(),
        }
        .into());
    }
    if ctx.fleet.clusters.contains_key(name) {
        return Err(Rejection::ClusterNameTaken { name: name.clone() }.into());
    }
    let host = ctx.host();
    if addressing == Addressing::Hostname && ctx.fleet.network.dns_off.contains(host) {
        return Err(Rejection::CreateUnresolvable { host: host.clone() }.into());
    }
    let (ssh, ccs) = service_ports(&ctx.fleet.effective(host, FeatureId::IpInterfaces));
    if ssh.is_none() && ccs.is_none() {
        return Err(Rejection::NoClusterInterface { host: host.clone() }.into());
    }
    Ok(Plan {
        events: vec![ctx.event(EventKind::ClusterCreated { host: host.clone(), name: name.clone(), addressing })],
        output: vec![format!(
            "Cluster {name} created ({addressing} addressing) with {host} in group {MAIN_GROUP}. No commit is needed."
        )],
        reach: vec![host.clone()],
        ..Plan::default()
    })
}

fn join(
    ctx: &Ctx,
    member: &Hostname,
    ccs: bool,
    port: Option<u16>,
    group: Option<&GroupName>,
    by_ip: bool,
    asker: &mut Asker,
) -> Result<Plan, Stop> {
    let fleet = ctx.fleet;
    let me = ctx.login;
    if let Some(c) = ctx.cluster() {
        return Err(Rejection::AlreadyMember {
            action: "join".into(),
            cluster: c.name.clone(),
        }
        .into());
    }
    let target = fleet
        .machine(member)
        .ok_or_else(|| Rejection::UnknownMachine { host: member.clone() })?;
    let cluster = fleet
        .cluster_of(member)
        .ok_or_else(|| Rejection::Other(format!("Cannot join: {member} is not a member of any cluster.")))?;
    let cluster_version = fleet.cluster_version(&cluster.name).unwrap_or(target.version);
    if me.version != cluster_version {
        return Err(Rejection::JoinVersionMismatch {
            machine_version: me.version,
            cluster_version,
        }
        .into());
    }
    match (cluster.addressing, by_ip) {
        (Addressing::Hostname, true) => {
            return Err(Rejection::AddressingMismatch {
                cluster_addressing: "hostname".into(),
            }
            .into())
        }
        (Addressing::Ip, false) => {
            return Err(Rejection::AddressingMismatch {
                cluster_addressing: "IP address".into(),
            }
            .into())
        }
        _ => {}
    }
    if cluster.addressing == Addressing::Hostname && fleet.network.dns_off.contains(&me.hostname) {
        return Err(Rejection::JoinUnresolvable {
            host: me.hostname.clone(),
        }
        .into());
    }
    let (ssh_port, ccs_port) = service_ports(&fleet.effective(member, FeatureId::IpInterfaces));
    let target_down = target.is_upgrading()
        || (cluster.addressing == Addressing::Hostname && fleet.network.dns_off.contains(member));
    if ccs {
        let (_, my_ccs) = service_ports(&fleet.effective(&me.hostname, FeatureId::IpInterfaces));
        if my_ccs.is_none() {
            return Err(Rejection::CcsNotEnabled {
                host: me.hostname.clone(),
            }
            .into());
        }
        // The registration (prepjoin, committed on a member) is what CCS joins hinge on.
        if !cluster
            .prepjoin
            .iter()
            .any(|e| e.host == me.hostname && e.serial == me.serial && e.user_key == me.user_key)
        {
            return Err(Rejection::NoPrepJoin {
                host: me.hostname.clone(),
                serial: me.serial.clone(),
            }
            .into());
        }
        let wanted = port.or(ccs_port).unwrap_or(2222);
        if let (Some(p), Some(ssh)) = (port, ssh_port) {
            if p == ssh && Some(p) != ccs_port {
                return Err(Rejection::CcsPortIsSsh {
                    ccs_port: ccs_port.unwrap_or(2222),
                    ssh_port: ssh,
                }
                .into());
            }
        }
        if target_down || ccs_port != Some(wanted) {
            return Err(Rejection::JoinUnreachable {
                host: member.clone(),
                port: wanted,
            }
            .into());
        }
    } else {
        let wanted = port.or(ssh_port).unwrap_or(22);
        if target_down || ssh_port != Some(wanted) {
            return Err(Rejection::JoinUnreachable {
                host: member.clone(),
                port: wanted,
            }
            .into());
        }
    }
    if super::user_role(fleet, member, ctx.user()) != Some(Role::Administrator) {
        return Err(Rejection::JoinAuthFailed {
            host: member.clone(),
            user: ctx.user().clone(),
            cluster: cluster.name.clone(),
        }
        .into());
    }
    let group = match group {
        Some(g) => {
            require_group(cluster, g)?;
            g.clone()
        }
        None => cluster
            .groups
            .iter()
            .find(|g| g.as_str() == MAIN_GROUP)
            .or_else(|| cluster.groups.first())
            .cloned()
            .ok_or_else(|| Rejection::Other(format!("Cluster {} has no group to join.", cluster.name)))?,
    };
    let question = "WARNING: all non-network settings on this machine will be lost and replaced by the cluster's settings. \
                    Continue? [N]>"
        .to_string();
    if !asker.yes_no(question, false)? {
        return Ok(Plan::output(vec![format!(
            "{} did not join cluster {}.",
            me.hostname, cluster.name
        )]));
    }
    let mut warnings = Vec::new();
    if fleet.members(&cluster.name).count() + 1 > SOFT_MEMBER_LIMIT {
        warnings.push(large_cluster_warning());
    }
    Ok(Plan {
        events: vec![ctx.event(EventKind::Joined {
            host: me.hostname.clone(),
            via: member.clone(),
            group: group.clone(),
            ccs,
        })],
        output: vec![format!(
            "{} joined cluster {} in group {group}{}. No commit is needed.",
            me.hostname,
            cluster.name,
            if ccs { " over CCS" } else { " over SSH" }
        )],
        warnings,
        reach: vec![me.hostname.clone()],
    })
}

fn disconnect(ctx: &Ctx, command: &Command, hosts: &[Hostname]) -> Result<Plan, Stop> {
    let cluster = ctx.require_cluster(command)?;
    no_duplicates(command, hosts)?;
    for h in hosts {
        let m = require_member(ctx, cluster, h)?;
        if m.detached {
            return Err(Rejection::AlreadyDisconnected { host: h.clone() }.into());
        }
    }
    Ok(Plan {
        events: vec![ctx.event(EventKind::Detached {
            hosts: hosts.to_vec(),
        })],
        output: hosts
            .iter()
            .map(|h| {
                format!(
                    "{h} is now disconnected from cluster {}. No commit is needed.",
                    cluster.name
                )
            })
            .collect(),
        ..Plan::default()
    })
}

fn reconnect(ctx: &Ctx, command: &Command, hosts: &[Hostname]) -> Result<Plan, Stop> {
    let cluster = ctx.require_cluster(command)?;
    no_duplicates(command, hosts)?;
    for h in hosts {
        let m = require_member(ctx, cluster, h)?;
        if m.is_upgrading() {
            let state = super::upgrade_progress(m, ctx.now)
                .map(|p| p.phase.word().to_string())
                .unwrap_or_default();
            return Err(Rejection::ReconnectWhileUpgrading {
                host: h.clone(),
                state,
            }
            .into());
        }
        if !m.detached {
            return Err(Rejection::NotDetached { host: h.clone() }.into());
        }
    }
    // The version guard compares with the machines actually connected, not counting those reconnecting.
    let connected_version = ctx
        .fleet
        .members(&cluster.name)
        .filter(|m| !hosts.contains(&m.hostname) && ctx.fleet.connection(&m.hostname).is_connected())
        .map(|m| m.version)
        .next();
    let first_version = hosts
        .first()
        .and_then(|h| ctx.fleet.machine(h))
        .map(|m| m.version);
    if let Some(cluster_version) = connected_version.or(first_version) {
        for h in hosts {
            if let Some(m) = ctx.fleet.machine(h) {
                if m.version != cluster_version {
                    return Err(Rejection::ReconnectVersionMismatch {
                        host: h.clone(),
                        machine_version: m.version,
                        cluster_version,
                    }
                    .into());
                }
            }
        }
    }
    let event = ctx.event(EventKind::Reconnected {
        hosts: hosts.to_vec(),
    });
    let mut after = ctx.fleet.clone();
    crate::apply::apply(&mut after, &event);
    let mut warnings = Vec::new();
    let differing = super::clustercheck::inconsistencies(&after, ctx.host()).len();
    if differing > 0 {
        warnings.push(format!(
            "Warning: {differing} item(s) differ between members after synchronisation (changes made at the same time); run clustercheck to resolve them."
        ));
    }
    let mut output: Vec<String> = hosts
        .iter()
        .map(|h| {
            format!(
                "{h} is reconnected to cluster {}; its configuration was synchronised.",
                cluster.name
            )
        })
        .collect();
    if connected_version.is_none() {
        if let Some(v) = first_version {
            output.push(format!(
                "No member was connected: cluster {} now runs AsyncOS {v}.",
                cluster.name
            ));
        }
    }
    Ok(Plan {
        events: vec![event],
        output,
        warnings,
        reach: hosts.to_vec(),
    })
}
