//! `clusterconfig`: create, join, prepjoin, list, connstatus, groups, name, removemachine, disconnect,
//! reconnect (rules §3.1, §3.2, §10, §14.2.2).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CommandKind, Completion, Ctx, Family, Help};
use crate::apply::MAIN_GROUP;
use crate::event::EventKind;
use crate::features::{FeatureId, FeatureValue, InterfaceRow};
use crate::fleet::{Cluster, Connection, Fleet, LinkDownCause, Machine};
use crate::lexer::{one_of, ParseError, Words};
use crate::mode::Mode;
use crate::names::{ClusterName, GroupName, Hostname, Serial, UserKey};
use crate::roles::{Permission, Role};
use crate::store::{Rev, Setting};
use crate::structure::{Addressing, PrepJoin, StructureOp};
use crate::verdict::{Asker, Choice, Plan, Rejection, Stop, YesNo};

/// More members than this is allowed but flagged (I10, rules §8.5).
pub const SOFT_MEMBER_LIMIT: usize = 20;

/// A `clusterconfig` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ClusterConfigCmd {
    /// Bare `clusterconfig`.
    Summary,
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
    List,
    /// `connstatus [detail]`: with `detail`, each member's version, cluster service and routes too.
    ConnStatus {
        detail: bool,
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
    /// A structural change, staged until `commit`.
    Stage(StructureOp),
}

const SUBS: &[&str] = &[
    "create",
    "join",
    "prepjoin",
    "list",
    "connstatus",
    "addgroup",
    "renamegroup",
    "deletegroup",
    "setgroup",
    "setname",
    "removemachine",
    "disconnect",
    "reconnect",
];

fn hosts_list(hosts: &[Hostname]) -> String {
    hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(" ")
}

impl Family for ClusterConfigCmd {
    fn owns(word: &str) -> bool {
        word == "clusterconfig"
    }

    fn words() -> Vec<&'static str> {
        vec!["clusterconfig"]
    }

    fn parse(_word: &str, w: &mut Words) -> Result<Self, ParseError> {
        use ClusterConfigCmd as C;
        let Some(sub) = w.keyword(SUBS) else {
            if w.is_empty() {
                return Ok(C::Summary);
            }
            return Err(w.err(one_of(SUBS)));
        };
        let cluster_name = |w: &mut Words| w.name("a cluster name", ClusterName::parse);
        let cmd = match sub.as_str() {
            "create" => {
                let name = cluster_name(w)?;
                let addressing = match w.keyword(&["hostname", "ip"]).as_deref() {
                    Some("ip") => Addressing::Ip,
                    _ => Addressing::Hostname,
                };
                C::Create { name, addressing }
            }
            "join" => {
                let member = w.host()?;
                let (mut ccs, mut port, mut group, mut by_ip) = (false, None, None, false);
                while let Some(kw) = w.keyword(&["ccs", "port", "group", "by"]) {
                    match kw.as_str() {
                        "ccs" => ccs = true,
                        "port" => {
                            port = Some(w.parsed("a port number", |s| {
                                s.parse::<u16>()
                                    .ok()
                                    .filter(|p| *p > 0)
                                    .ok_or_else(|| "a port is a number from 1 to 65535".to_string())
                            })?)
                        }
                        "group" => group = Some(w.group()?),
                        _ => {
                            w.expect_keyword(&["ip"])?;
                            by_ip = true;
                        }
                    }
                }
                C::Join {
                    member,
                    ccs,
                    port,
                    group,
                    by_ip,
                }
            }
            "prepjoin" => match w.expect_keyword(&["print", "new", "delete"])?.as_str() {
                "print" => C::PrepJoinPrint,
                "new" => {
                    let serial = w.name("the joining machine's serial number", Serial::parse)?;
                    let host = w.host()?;
                    let user_key = w.name("the joining machine's user key", UserKey::parse)?;
                    C::Stage(StructureOp::PrepJoinNew {
                        entry: PrepJoin {
                            host,
                            serial,
                            user_key,
                        },
                    })
                }
                _ => C::Stage(StructureOp::PrepJoinDelete {
                    entry: w.word("a serial number or hostname")?,
                }),
            },
            "list" => C::List,
            "connstatus" => C::ConnStatus {
                detail: w.keyword(&["detail"]).is_some(),
            },
            "addgroup" => C::Stage(StructureOp::AddGroup { group: w.group()? }),
            "renamegroup" => C::Stage(StructureOp::RenameGroup {
                old: w.group()?,
                new: w.group()?,
            }),
            "deletegroup" => {
                let group = w.group()?;
                let dest = if w.is_empty() { None } else { Some(w.group()?) };
                C::Stage(StructureOp::DeleteGroup { group, dest })
            }
            "setgroup" => C::Stage(StructureOp::SetGroup {
                host: w.host()?,
                group: w.group()?,
            }),
            "setname" => C::Stage(StructureOp::SetName {
                name: cluster_name(w)?,
            }),
            "removemachine" => C::RemoveMachine { host: w.host()? },
            // disconnect | reconnect
            _ => {
                let mut hosts = vec![w.host()?];
                while !w.is_empty() {
                    hosts.push(w.host()?);
                }
                if sub == "disconnect" {
                    C::Disconnect { hosts }
                } else {
                    C::Reconnect { hosts }
                }
            }
        };
        w.done()?;
        Ok(cmd)
    }

    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::features::quote_if_needed as q;
        use ClusterConfigCmd as C;
        match self {
            C::Summary => f.write_str("clusterconfig"),
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
            C::List => f.write_str("clusterconfig list"),
            C::ConnStatus { detail: false } => f.write_str("clusterconfig connstatus"),
            C::ConnStatus { detail: true } => f.write_str("clusterconfig connstatus detail"),
            C::RemoveMachine { host } => write!(f, "clusterconfig removemachine {host}"),
            C::Disconnect { hosts } => write!(f, "clusterconfig disconnect {}", hosts_list(hosts)),
            C::Reconnect { hosts } => write!(f, "clusterconfig reconnect {}", hosts_list(hosts)),
            C::Stage(op) => match op {
                StructureOp::PrepJoinNew { entry } => write!(
                    f,
                    "clusterconfig prepjoin new {} {} {}",
                    entry.serial, entry.host, entry.user_key
                ),
                StructureOp::PrepJoinDelete { entry } => {
                    write!(f, "clusterconfig prepjoin delete {}", q(entry))
                }
                StructureOp::AddGroup { group } => write!(f, "clusterconfig addgroup {group}"),
                StructureOp::RenameGroup { old, new } => write!(f, "clusterconfig renamegroup {old} {new}"),
                StructureOp::DeleteGroup { group, dest: Some(d) } => {
                    write!(f, "clusterconfig deletegroup {group} {d}")
                }
                StructureOp::DeleteGroup { group, dest: None } => {
                    write!(f, "clusterconfig deletegroup {group}")
                }
                StructureOp::SetGroup { host, group } => write!(f, "clusterconfig setgroup {host} {group}"),
                StructureOp::SetName { name } => write!(f, "clusterconfig setname {name}"),
            },
        }
    }

    fn word(&self) -> &'static str {
        "clusterconfig"
    }

    fn kind(&self) -> CommandKind {
        use ClusterConfigCmd as C;
        match self {
            C::Summary | C::PrepJoinPrint | C::List | C::ConnStatus { .. } => CommandKind::Read,
            C::Stage(_) => CommandKind::Stage,
            C::Create { .. }
            | C::Join { .. }
            | C::RemoveMachine { .. }
            | C::Disconnect { .. }
            | C::Reconnect { .. } => CommandKind::Immediate,
        }
    }

    fn permission(&self) -> Permission {
        use ClusterConfigCmd as C;
        match self {
            C::Summary | C::PrepJoinPrint | C::List | C::ConnStatus { .. } => Permission::Read,
            C::Stage(_) | C::Disconnect { .. } | C::Reconnect { .. } => Permission::Structure,
            C::Create { .. } | C::Join { .. } | C::RemoveMachine { .. } => Permission::Admin,
        }
    }

    fn check(&self, ctx: &Ctx, asker: &mut Asker) -> Result<Plan, Stop> {
        check(self, ctx, asker)
    }

    fn help(_word: &str) -> Option<Help> {
        Some(Help::new(
            "Create, join and configure the cluster.",
            "clusterconfig                         standalone: how to create or join; member: the cluster summary\n\
             clusterconfig create <name> [hostname|ip]\n\
             clusterconfig join <member-host> [ccs] [port <n>] [group <g>] [by ip]\n\
             clusterconfig prepjoin print | new <serial> <host> <user-key> | delete <serial|host>\n\
             clusterconfig list | connstatus [detail]\n\
             clusterconfig addgroup <g> | renamegroup <old> <new> | deletegroup <g> [<dest>] | setgroup <host> <g> | setname <name>\n\
             clusterconfig removemachine <host>\n\
             clusterconfig disconnect <host>... | reconnect <host>...\n\
             Group, name and prepjoin changes are staged until commit; the others act at once.",
        ))
    }

    /// Only what the command accepts here (rules §15.34): a standalone machine creates, joins (through
    /// a member of some cluster) or registers; a member does the rest; a host already listed is not
    /// offered again.
    fn complete(_word: &str, done: &[&str], c: &Completion) -> Vec<String> {
        let sub = done.first().map(|s| s.to_ascii_lowercase());
        let not_listed = |hosts: Vec<String>| -> Vec<String> {
            hosts
                .into_iter()
                .filter(|h| !done[1..].iter().any(|d| d.eq_ignore_ascii_case(h)))
                .collect()
        };
        let member = c.is_member();
        match (sub.as_deref(), done.len()) {
            (None, _) => SUBS
                .iter()
                .filter(|s| match **s {
                    "create" | "join" => !member,
                    "prepjoin" => true,
                    _ => member,
                })
                .map(|s| s.to_string())
                .collect(),
            (Some("join"), 1) if !member => c.join_targets(),
            (Some("create"), 2) if !member => vec!["hostname".into(), "ip".into()],
            (Some("disconnect" | "reconnect" | "removemachine" | "setgroup"), 1) => c.members(),
            (Some("renamegroup" | "deletegroup"), 1) => c.groups(),
            (Some("prepjoin"), 1) => vec!["print".into(), "new".into(), "delete".into()],
            (Some("connstatus"), 1) if member => vec!["detail".into()],
            (Some("disconnect" | "reconnect"), _) => not_listed(c.members()),
            (Some("setgroup"), 2) => c.groups(),
            (Some("deletegroup"), 2) => not_listed(c.groups()),
            (Some("join"), n) if n >= 2 && !member => match done[n - 1].to_ascii_lowercase().as_str() {
                "by" => vec!["ip".into()],
                "port" => Vec::new(),
                "group" => c.groups_of_cluster_of(done[1]),
                _ => ["ccs", "port", "group", "by"]
                    .into_iter()
                    .filter(|k| !done[2..].iter().any(|d| d.eq_ignore_ascii_case(k)))
                    .map(String::from)
                    .collect(),
            },
            _ => Vec::new(),
        }
    }
}

fn large_cluster_warning() -> String {
    "Warning: Clusters larger than 20 appliances may experience communication errors.".to_string()
}

fn check(command: &ClusterConfigCmd, ctx: &Ctx, asker: &mut Asker) -> Result<Plan, Stop> {
    use ClusterConfigCmd as C;
    if ctx.cluster().is_some() && !ctx.is_connected() {
        detached_host_rule(ctx, command)?;
    }
    let word = "clusterconfig";
    match command {
        C::Summary => match ctx.cluster() {
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
        C::List => Ok(Plan::output(list_lines(ctx.fleet, ctx.require_cluster(word)?))),
        C::ConnStatus { detail } => {
            let cluster = ctx.require_cluster(word)?;
            let mut out = connstatus_lines(ctx.fleet, cluster);
            if *detail {
                out.extend(connstatus_detail(ctx.fleet, cluster));
            }
            Ok(Plan::output(out))
        }
        C::Stage(op) => stage(ctx, op),
        C::RemoveMachine { host } => {
            let cluster = ctx.require_cluster(word)?;
            require_member(ctx, cluster, host)?;
            let last = ctx.fleet.members(&cluster.name).count() == 1;
            let mut body = vec![format!(
                "{host} leaves cluster {} and keeps a standalone copy of its effective configuration.",
                cluster.name
            )];
            if last {
                body.push(format!(
                    "It is the last member: cluster {} no longer exists afterwards.",
                    cluster.name
                ));
            }
            let question = YesNo {
                question: format!(
                    "Remove {host} from cluster {}? It keeps a standalone copy of its effective configuration. [N]>",
                    cluster.name
                ),
                default_yes: false,
                title: format!("Remove {host} from cluster {}?", cluster.name),
                body,
                yes: Choice::destroys(format!("Remove {host}")),
                no: Choice::changes_nothing(format!("Keep {host} in the cluster")),
            };
            if !asker.yes_no(question)? {
                return Ok(Plan::output(vec![format!("{host} was not removed.")]));
            }
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
        C::Disconnect { hosts } => disconnect(ctx, hosts),
        C::Reconnect { hosts } => reconnect(ctx, hosts),
    }
}

/// Staging a structural change: each is checked against the groups the session's earlier staged changes
/// leave (rules §14.2.3).
fn stage(ctx: &Ctx, op: &StructureOp) -> Result<Plan, Stop> {
    let cluster = ctx.require_cluster("clusterconfig")?;
    let exists = |g: &GroupName| ctx.staged_groups(cluster).contains(g);
    let require = |g: &GroupName| {
        if exists(g) {
            Ok(())
        } else {
            Err(Rejection::UnknownGroup {
                group: g.clone(),
                cluster: cluster.name.clone(),
            })
        }
    };
    let warnings = match op {
        StructureOp::PrepJoinNew { entry } => {
            let staged = ctx
                .session
                .structure()
                .any(|p| matches!(p, StructureOp::PrepJoinNew { entry: e } if e.host == entry.host));
            if staged || cluster.prepjoin.iter().any(|e| e.host == entry.host) {
                return Err(Rejection::PrepJoinExists {
                    host: entry.host.clone(),
                }
                .into());
            }
            vec![]
        }
        StructureOp::PrepJoinDelete { entry } => {
            if !cluster
                .prepjoin
                .iter()
                .any(|e| StructureOp::prepjoin_matches(e, entry))
            {
                return Err(Rejection::PrepJoinMissing {
                    entry: entry.chars().take(80).collect(),
                }
                .into());
            }
            vec![]
        }
        StructureOp::AddGroup { group } => {
            if exists(group) {
                return Err(Rejection::GroupExists { group: group.clone() }.into());
            }
            same_name_warning(cluster, group)
        }
        StructureOp::RenameGroup { old, new } => {
            require(old)?;
            if exists(new) {
                return Err(Rejection::GroupExists { group: new.clone() }.into());
            }
            same_name_warning(cluster, new)
        }
        StructureOp::DeleteGroup { group, dest } => {
            require(group)?;
            if ctx.staged_groups(cluster).len() <= 1 {
                return Err(Rejection::LastGroup { group: group.clone() }.into());
            }
            let occupied = ctx.fleet.group_members(&cluster.name, group).next().is_some();
            match dest {
                Some(d) if d == group => {
                    return Err(Rejection::DeleteGroupIntoItself { group: group.clone() }.into())
                }
                Some(d) => require(d)?,
                None if occupied => return Err(Rejection::GroupNotEmpty { group: group.clone() }.into()),
                None => {}
            }
            vec![]
        }
        StructureOp::SetGroup { host, group } => {
            let m = require_member(ctx, cluster, host)?;
            require(group)?;
            if m.membership.as_ref().is_some_and(|ms| &ms.group == group) {
                return Err(Rejection::AlreadyInGroup {
                    host: host.clone(),
                    group: group.clone(),
                }
                .into());
            }
            vec![]
        }
        StructureOp::SetName { name } => {
            if name != &cluster.name && ctx.fleet.clusters.contains_key(name) {
                return Err(Rejection::ClusterNameTaken { name: name.clone() }.into());
            }
            vec![]
        }
    };
    Ok(ctx.stage_structure(op.clone(), warnings))
}

/// On a disconnected host only `list`, `connstatus`, and disconnect or reconnect of itself (rules §14.2.2).
fn detached_host_rule(ctx: &Ctx, command: &ClusterConfigCmd) -> Result<(), Rejection> {
    use ClusterConfigCmd as C;
    let me = ctx.host();
    let ok = match command {
        C::Summary | C::List | C::ConnStatus { .. } | C::PrepJoinPrint => true,
        C::Disconnect { hosts } | C::Reconnect { hosts } => hosts.iter().all(|h| h == me),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Rejection::DetachedHost {
            host: me.clone(),
            command: super::Command::ClusterConfig(command.clone()).to_string(),
        })
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

fn no_duplicates(hosts: &[Hostname]) -> Result<(), Rejection> {
    let mut seen = BTreeSet::new();
    for h in hosts {
        if !seen.insert(h) {
            return Err(Rejection::DuplicateHost {
                host: h.clone(),
                command: "clusterconfig".into(),
            });
        }
    }
    Ok(())
}

/// One replica's state of an item, for the reconnect preview.
fn copy_of<'a>(m: &'a Machine, mode: &Mode, feature: FeatureId) -> (Option<&'a Setting>, Option<&'a Rev>) {
    match m.config.get(mode, feature) {
        Some(s) => (Some(s), None),
        None => (None, m.config.tombstone(mode, feature)),
    }
}

fn describe_copy(copy: (Option<&Setting>, Option<&Rev>)) -> String {
    match copy {
        (Some(s), _) => format!("changed {} by '{}' on {}", s.rev.at, s.rev.user, s.rev.origin),
        (None, Some(r)) => format!("deleted {} by '{}' on {}", r.at, r.user, r.origin),
        (None, None) => "not defined".into(),
    }
}

/// What reconnecting `hosts` replaces (rules §8.3, §14.7.5): for each reconnecting host and each (mode,
/// feature) where its copy and the cluster's differ, a `Warning:` line naming this side's copy, the
/// cluster's, and which one is newer and wins. `after` is the fleet once the reconnect is applied. The
/// cluster's copy is the one a member it then reaches (not reconnecting itself) held before.
pub fn reconnect_overwrites(before: &Fleet, after: &Fleet, hosts: &[Hostname]) -> Vec<String> {
    let mut out = Vec::new();
    for h in hosts {
        let (Some(mine), Some(mine_after)) = (before.machine(h), after.machine(h)) else {
            continue;
        };
        let Some(peer) = after
            .reachable_from(h)
            .into_iter()
            .filter(|p| !hosts.contains(p))
            .find_map(|p| before.machine(&p))
        else {
            continue;
        };
        let mut keys: BTreeSet<(Mode, FeatureId)> = BTreeSet::new();
        for m in [mine, peer] {
            keys.extend(m.config.keys().map(|(mode, f)| (mode.clone(), f)));
            for (mode, fs) in &m.config.removed {
                keys.extend(fs.keys().map(|f| (mode.clone(), *f)));
            }
        }
        for (mode, feature) in keys {
            let this = copy_of(mine, &mode, feature);
            let theirs = copy_of(peer, &mode, feature);
            if this == theirs {
                continue;
            }
            let now = copy_of(mine_after, &mode, feature);
            let winner = if now == this && now != theirs {
                format!("{h}'s copy is newer and wins")
            } else if now == theirs {
                "the cluster's copy is newer and wins".to_string()
            } else {
                continue; // changed at the same time: each keeps its own (the warning below says so)
            };
            out.push(format!(
                "Warning: reconnect replaces {feature} at {mode}: {h}'s copy ({}) vs the cluster's ({}); {winner}.",
                describe_copy(this),
                describe_copy(theirs)
            ));
        }
    }
    out
}

/// What `clusterconfig reconnect <host>` would replace, before it runs (for the console's preview):
/// the same `Warning:` lines the command prints. Empty when `host` is not a detached member or nothing
/// differs.
pub fn reconnect_preview_lines(fleet: &Fleet, host: &Hostname) -> Vec<String> {
    if !fleet
        .machine(host)
        .is_some_and(|m| m.detached && m.membership.is_some())
    {
        return Vec::new();
    }
    let mut after = fleet.clone();
    let event = crate::event::Event::new(
        fleet.now,
        EventKind::Reconnected {
            hosts: vec![host.clone()],
        },
    );
    crate::apply::apply(&mut after, &event);
    reconnect_overwrites(fleet, &after, std::slice::from_ref(host))
}

/// `clusterconfig list` (rules §10.1).
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

/// `clusterconfig connstatus` (rules §10.1): one line per machine, then the links.
pub fn connstatus_lines(fleet: &Fleet, cluster: &Cluster) -> Vec<String> {
    let members: Vec<&Machine> = fleet.members(&cluster.name).collect();
    let mut out = Vec::new();
    for m in &members {
        let c = fleet.connection(&m.hostname);
        let detail = match c {
            Connection::Detached => " (disconnected by an administrator)",
            Connection::Upgrading => " (upgrading)",
            Connection::Rebooting => " (rebooting)",
            Connection::PoweredOff => " (powered off)",
            Connection::LinkDown => match fleet.link_down_cause(&m.hostname) {
                LinkDownCause::Unresolvable => " (hostname does not resolve)",
                LinkDownCause::NoService => " (no interface offers SSH or CCS)",
                LinkDownCause::Links => " (no link to the other members)",
            },
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

/// `connstatus detail`: per member, its version, the cluster service it offers (the first interface with
/// SSH or CCS, rules §2.1, §8.1), and the members it reaches over up links, directly or through others
/// (rules §2.10).
pub fn connstatus_detail(fleet: &Fleet, cluster: &Cluster) -> Vec<String> {
    let mut out = vec!["Detail:".to_string()];
    for m in fleet.members(&cluster.name) {
        let interfaces: Vec<InterfaceRow> = fleet
            .effective(&m.hostname, FeatureId::IpInterfaces)
            .typed()
            .collect();
        let service = interfaces
            .iter()
            .find_map(|i| i.ssh.map(|p| format!("SSH port {p} on {} ({})", i.name, i.ip)))
            .or_else(|| {
                interfaces
                    .iter()
                    .find_map(|i| i.ccs.map(|p| format!("CCS port {p} on {} ({})", i.name, i.ip)))
            })
            .unwrap_or_else(|| "no interface offers SSH or CCS".to_string());
        let reached: Vec<String> = fleet
            .reachable_from(&m.hostname)
            .into_iter()
            .filter(|h| h != &m.hostname)
            .map(|h| h.to_string())
            .collect();
        let reaches = if reached.is_empty() {
            "reaches no other member".to_string()
        } else {
            format!("reaches {}", reached.join(", "))
        };
        out.push(format!(
            "{}: AsyncOS {}, {service}, {reaches}",
            m.hostname, m.version
        ));
    }
    out
}

/// The SSH and CCS ports of the first interfaces offering them (rules §2.1).
fn service_ports(value: &FeatureValue) -> (Option<u16>, Option<u16>) {
    let interfaces: Vec<InterfaceRow> = value.typed().collect();
    let ssh = interfaces.iter().find_map(|i| i.ssh);
    let ccs = interfaces.iter().find_map(|i| i.ccs);
    (ssh, ccs)
}

fn create(ctx: &Ctx, name: &ClusterName, addressing: Addressing) -> Result<Plan, Stop> {
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
        events: vec![ctx.event(EventKind::ClusterCreated {
            host: host.clone(),
            name: name.clone(),
            addressing,
        })],
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
        .ok_or_else(|| Rejection::JoinTargetStandalone { host: member.clone() })?;
    // Not through a detached member, nor one cut off from the others: its replica may have diverged
    // (rules §3.1, §14.7.8). An upgrading or unresolvable one is unreachable (below).
    let state = fleet.connection(member);
    let cut_off = state == Connection::LinkDown && fleet.link_down_cause(member) == LinkDownCause::Links;
    if state == Connection::Detached || cut_off {
        return Err(Rejection::JoinThroughDisconnected {
            host: member.clone(),
            state: state.describe().to_string(),
            cluster: cluster.name.clone(),
        }
        .into());
    }
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
                serial: me.serial.to_string(),
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
    if fleet.role_of(member, ctx.user()) != Some(Role::Administrator) {
        return Err(Rejection::JoinAuthFailed {
            host: member.clone(),
            user: ctx.user().clone(),
            cluster: cluster.name.clone(),
        }
        .into());
    }
    let group = match group {
        Some(g) => {
            if !cluster.groups.contains(g) {
                return Err(Rejection::UnknownGroup {
                    group: g.clone(),
                    cluster: cluster.name.clone(),
                }
                .into());
            }
            g.clone()
        }
        None => cluster
            .groups
            .iter()
            .find(|g| g.as_str() == MAIN_GROUP)
            .or_else(|| cluster.groups.first())
            .cloned()
            .ok_or_else(|| Rejection::NoGroupToJoin {
                cluster: cluster.name.clone(),
            })?,
    };
    let me_host = &me.hostname;
    let question = YesNo {
        question: "WARNING: all non-network settings on this machine will be lost and replaced by the cluster's settings. \
                   Continue? [N]>"
            .to_string(),
        default_yes: false,
        title: format!("Join {me_host} to cluster {}?", cluster.name),
        body: vec![
            format!(
                "All settings of {me_host} except its network settings are lost and replaced by the settings of cluster {}, copied from {member}.",
                cluster.name
            ),
            format!("{me_host} joins group {group}."),
        ],
        yes: Choice::destroys(format!("Join and replace the settings of {me_host}")),
        no: Choice::changes_nothing("Don't join"),
    };
    if !asker.yes_no(question)? {
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
        ..Plan::default()
    })
}

fn disconnect(ctx: &Ctx, hosts: &[Hostname]) -> Result<Plan, Stop> {
    let cluster = ctx.require_cluster("clusterconfig")?;
    no_duplicates(hosts)?;
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

fn reconnect(ctx: &Ctx, hosts: &[Hostname]) -> Result<Plan, Stop> {
    let cluster = ctx.require_cluster("clusterconfig")?;
    no_duplicates(hosts)?;
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
            // `list` calls a link-down member disconnected; say why reconnect is not its way back.
            return Err(match ctx.fleet.connection(h) {
                Connection::LinkDown => Rejection::ReconnectLinkDown {
                    host: h.clone(),
                    reason: ctx.fleet.link_down_cause(h).because().to_string(),
                },
                _ => Rejection::NotDetached { host: h.clone() },
            }
            .into());
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
    // What the newer side replaces, named before it is gone (rules §8.3, §14.7.5); no question.
    let mut warnings = reconnect_overwrites(ctx.fleet, &after, hosts);
    let differing = super::inconsistencies(&after, ctx.host()).len();
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
        ..Plan::default()
    })
}
