//! Property tests: the parser never panics, rendering round-trips, and random command sequences on the
//! fixtures keep the invariants I1–I10 after every step (and replaying the events gives the same fleet).

use cluster::cmd::{
    ClusterCheckCmd, ClusterConfigCmd, ClusterModeCmd, ClusterSetCmd, ClusterShowCmd, CommitCmd,
    FeatureAction, FeatureCmd, FeatureSel, FilesCmd, HelpCmd, PasswdCmd, PowerCmd, RuntimeCmd, StatusCmd,
    UpgradeCmd, WorkQueueCmd,
};
use cluster::event::{Fault, InstallFault, Switch};
use cluster::features::{FeatureId, Shape};
use cluster::fleet::Fleet;
use cluster::mode::Mode;
use cluster::names::{ClusterName, FileName, GroupName, Hostname, Serial, UserKey, UserName, Version};
use cluster::roles::Role;
use cluster::session::{Session, SessionId};
use cluster::structure::{Addressing, PrepJoin, StructureOp};
use cluster::wire::{scope_event, scope_fleet};
use cluster::Command;
use cluster::{cli, Event, Verdict};
use proptest::prelude::*;
use std::collections::BTreeMap;

const HOSTS: &[&str] = &[
    "newyork.example.com",
    "losangeles.example.com",
    "sf.example.com",
    "boston.example.com",
    "toronto.example.com",
];
const GROUPS: &[&str] = &["Main_Group", "West", "East", "Americas"];

fn host() -> impl Strategy<Value = Hostname> {
    prop::sample::select(HOSTS).prop_map(|h| Hostname::parse(h).unwrap())
}

fn group() -> impl Strategy<Value = GroupName> {
    prop::sample::select(GROUPS).prop_map(|g| GroupName::parse(g).unwrap())
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![
        Just(Mode::Cluster),
        group().prop_map(Mode::Group),
        host().prop_map(Mode::Machine)
    ]
}

fn feature() -> impl Strategy<Value = FeatureId> {
    prop::sample::select(FeatureId::ALL.to_vec())
}

fn word() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 _.,:@\"\\\\=-]{0,12}"
}

fn version() -> impl Strategy<Value = Version> {
    (0u16..20, 0u16..20, 0u16..20).prop_map(|(a, b, c)| Version::new(a, b, c))
}

fn file() -> impl Strategy<Value = FileName> {
    "[a-z0-9][a-z0-9_.-]{0,10}"
        .prop_filter("not the keyword", |s| s != "masked")
        .prop_map(|s| FileName::parse(&s).unwrap())
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,12}"
}

fn feature_command() -> impl Strategy<Value = Command> {
    (feature(), prop::collection::vec(word(), 1..4), word(), 0u8..5).prop_map(
        |(feature, cells, key, pick)| {
            let single = feature.schema().shape == Shape::Single;
            let action = if feature == FeatureId::IpInterfaces && pick < 3 {
                let port = |x: u8| {
                    if x.is_multiple_of(2) {
                        "0".to_string()
                    } else {
                        (1000 + u32::from(x)).to_string()
                    }
                };
                let row = vec!["Data1".into(), "10.0.0.1".into(), port(pick), port(pick + 1)];
                if pick % 2 == 0 {
                    FeatureAction::New(row)
                } else {
                    FeatureAction::Edit(row)
                }
            } else {
                match (single, pick) {
                    (_, 0) => FeatureAction::Print,
                    (true, _) => FeatureAction::Set(cells),
                    (false, 1) => FeatureAction::New(cells),
                    (false, 2) => FeatureAction::Edit(cells),
                    (false, _) => FeatureAction::Delete(key),
                }
            };
            Command::Feature(FeatureCmd { feature, action })
        },
    )
}

fn stage(op: StructureOp) -> Command {
    Command::ClusterConfig(ClusterConfigCmd::Stage(op))
}

fn command() -> impl Strategy<Value = Command> {
    use ClusterConfigCmd as CC;
    let cc = Command::ClusterConfig;
    prop_oneof![
        Just(cc(CC::Summary)),
        (prop_oneof![Just("Lab"), Just("Europe")], any::<bool>()).prop_map(|(n, ip)| Command::ClusterConfig(
            CC::Create {
                name: ClusterName::parse(n).unwrap(),
                addressing: if ip { Addressing::Ip } else { Addressing::Hostname }
            }
        )),
        (
            host(),
            any::<bool>(),
            prop::option::of(1u16..),
            prop::option::of(group()),
            any::<bool>()
        )
            .prop_map(
                |(member, ccs, port, group, by_ip)| Command::ClusterConfig(CC::Join {
                    member,
                    ccs,
                    port,
                    group,
                    by_ip
                })
            ),
        Just(cc(CC::PrepJoinPrint)),
        (token(), host(), token()).prop_map(|(serial, host, user_key)| stage(StructureOp::PrepJoinNew {
            entry: PrepJoin {
                serial: Serial::parse(&serial).unwrap(),
                host,
                user_key: UserKey::parse(&user_key).unwrap(),
            }
        })),
        word().prop_map(|entry| stage(StructureOp::PrepJoinDelete { entry })),
        Just(cc(CC::List)),
        any::<bool>().prop_map(|detail| Command::ClusterConfig(CC::ConnStatus { detail })),
        group().prop_map(|group| stage(StructureOp::AddGroup { group })),
        (group(), group()).prop_map(|(old, new)| stage(StructureOp::RenameGroup { old, new })),
        (group(), prop::option::of(group()))
            .prop_map(|(group, dest)| stage(StructureOp::DeleteGroup { group, dest })),
        (host(), group()).prop_map(|(host, group)| stage(StructureOp::SetGroup { host, group })),
        Just(stage(StructureOp::SetName {
            name: ClusterName::parse("Renamed").unwrap()
        })),
        host().prop_map(|host| Command::ClusterConfig(CC::RemoveMachine { host })),
        prop::collection::vec(host(), 1..3)
            .prop_map(|hosts| Command::ClusterConfig(CC::Disconnect { hosts })),
        prop::collection::vec(host(), 1..3).prop_map(|hosts| Command::ClusterConfig(CC::Reconnect { hosts })),
        prop::option::of(mode()).prop_map(|mode| Command::ClusterMode(ClusterModeCmd { mode })),
        feature().prop_map(|feature| Command::ClusterShow(ClusterShowCmd { feature })),
        (prop::option::of(feature()), mode(), mode(), 0u8..3).prop_map(|(f, from, to, op)| {
            let feature = f.map(FeatureSel::One).unwrap_or(FeatureSel::All);
            Command::ClusterSet(match op {
                0 => ClusterSetCmd::Copy { feature, from, to },
                1 => ClusterSetCmd::Move { feature, from, to },
                _ => ClusterSetCmd::Delete { feature, mode: from },
            })
        }),
        Just(Command::ClusterCheck(ClusterCheckCmd {})),
        prop::option::of("[a-zA-Z0-9 ,.]{1,20}")
            .prop_map(|comment| Command::Commit(CommitCmd::Commit { comment })),
        Just(Command::Commit(CommitCmd::Clear)),
        feature_command(),
        word().prop_map(|password| Command::Passwd(PasswdCmd { password })),
        prop::option::of(word())
            .prop_map(|listener| Command::Runtime(RuntimeCmd::SuspendListener { listener })),
        prop::option::of(word())
            .prop_map(|listener| Command::Runtime(RuntimeCmd::ResumeListener { listener })),
        Just(Command::Runtime(RuntimeCmd::Suspend)),
        Just(Command::Runtime(RuntimeCmd::Resume)),
        Just(Command::Runtime(RuntimeCmd::SuspendDel)),
        Just(Command::Runtime(RuntimeCmd::ResumeDel)),
        prop::sample::select(vec![
            WorkQueueCmd::Status,
            WorkQueueCmd::Pause,
            WorkQueueCmd::Resume
        ])
        .prop_map(Command::WorkQueue),
        prop::sample::select(vec![PowerCmd::Reboot, PowerCmd::Shutdown]).prop_map(Command::Power),
        host().prop_map(|h| Command::Status(StatusCmd::HostStatus {
            domain: h.to_string()
        })),
        prop::sample::select(vec![
            StatusCmd::StatusDetail,
            StatusCmd::TopHosts,
            StatusCmd::Status,
            StatusCmd::Version,
            StatusCmd::ShowQueue,
            StatusCmd::ShowQuarantine,
            StatusCmd::ShowLog
        ])
        .prop_map(Command::Status),
        Just(Command::Upgrade(UpgradeCmd::List)),
        version().prop_map(|version| Command::Upgrade(UpgradeCmd::Install { version })),
        version().prop_map(|version| Command::Upgrade(UpgradeCmd::Download { version })),
        (prop::option::of(file()), any::<bool>())
            .prop_map(|(name, masked)| Command::Files(FilesCmd::Save { name, masked })),
        Just(Command::Files(FilesCmd::Show)),
        file().prop_map(|name| Command::Files(FilesCmd::Load { name })),
        prop::option::of("[a-z]{1,12}").prop_map(|topic| Command::Help(HelpCmd { topic })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_of_render_is_identity(c in command()) {
        let line = c.to_string();
        let parsed = cli::parse(&line).map_err(|e| TestCaseError::fail(format!("{line:?}: {e}")))?;
        prop_assert_eq!(parsed, c, "line {:?}", line);
    }

    #[test]
    fn commands_round_trip_through_json(c in command()) {
        // The API carries typed commands as JSON (POST /api/v1/commands).
        let json = serde_json::to_string(&c).unwrap();
        let back: Command = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(format!("{json}: {e}")))?;
        prop_assert_eq!(back, c, "json {}", json);
    }

    #[test]
    fn parser_never_panics_on_arbitrary_text(s in "\\PC{0,4096}") {
        let _ = cli::parse(&s);
        let _ = cli::complete(&cluster::fixture::americas(), &Hostname::parse("newyork.example.com").unwrap(), &s);
    }

    #[test]
    fn parser_never_panics_on_command_like_text(
        words in prop::collection::vec(prop_oneof![
            prop::sample::select(cli::command_words()).prop_map(String::from),
            prop::sample::select(vec!["new", "edit", "delete", "print", "copy", "move", "all", "cluster", "group", "machine", "ccs", "port", "by", "ip", "masked", "download", "\"", "\\", "group:West", "machine:", "9.5.0", "65536", "0"]).prop_map(String::from),
            "\\PC{0,8}",
        ], 0..12)
    ) {
        let line = words.join(" ");
        let _ = cli::parse(&line);
    }
}

// ---- Random sequences on the fixtures ----

const USERS: &[(&str, &str)] = &[
    ("admin", "newyork.example.com"),
    ("admin", "losangeles.example.com"),
    ("ops", "sf.example.com"),
    ("viewer", "newyork.example.com"),
    ("helpdesk", "sf.example.com"),
    ("admin", "boston.example.com"),
    ("admin", "toronto.example.com"),
];

const LINES: &[&str] = &[
    "clusterconfig list",
    "clusterconfig disconnect losangeles.example.com",
    "clusterconfig disconnect sf.example.com",
    "clusterconfig reconnect losangeles.example.com",
    "clusterconfig reconnect sf.example.com",
    "clusterconfig reconnect newyork.example.com",
    "clusterconfig addgroup East",
    "clusterconfig renamegroup West Pacific",
    "clusterconfig deletegroup West Main_Group",
    "clusterconfig setgroup losangeles.example.com West",
    "clusterconfig removemachine sf.example.com",
    "clusterconfig join newyork.example.com",
    "clusterconfig create Lab",
    "clustermode cluster",
    "clustermode group West",
    "clustermode machine newyork.example.com",
    "clustermode machine sf.example.com",
    "smtproutes new a.example.com x.example.com",
    "smtproutes edit example.com y.example.com",
    "smtproutes delete example.com",
    "listenerconfig new Extra Data3 public",
    "interfaceconfig delete Data2",
    "interfaceconfig new Data3 10.5.5.5 ssh",
    "userconfig new carol operator carol-pass",
    "userconfig delete ops",
    "clusterset copy smtproutes cluster group:West",
    "clusterset move smtproutes cluster group:Main_Group",
    "clusterset delete all group:West",
    "clusterset copy all cluster machine:newyork.example.com",
    "clustercheck",
    "commit",
    "clear",
    "passwd new-secret",
    "suspendlistener",
    "resume",
    "status",
    "status detail",
    "suspenddel",
    "resumedel",
    "workqueue pause",
    "workqueue resume",
    "workqueue status",
    "tophosts",
    "hoststatus gmail.com",
    "reboot",
    "shutdown",
    "upgrade 9.5.0",
    "upgrade 9.7.0",
    "upgrade download 9.5.0",
    "saveconfig snap",
    "loadconfig snap",
];

#[derive(Debug, Clone)]
enum Step {
    Line {
        who: usize,
        line: usize,
        answers: Vec<&'static str>,
    },
    Wait(i64),
    Link {
        a: usize,
        b: usize,
        up: bool,
    },
    Dns {
        host: usize,
        on: bool,
    },
    Fault(Fault),
}

fn fault() -> impl Strategy<Value = Fault> {
    let h = || prop::sample::select(HOSTS.to_vec()).prop_map(|h| Hostname::parse(h).unwrap());
    prop_oneof![
        (h(), any::<bool>()).prop_map(|(host, on)| Fault::Power {
            host,
            state: if on { Switch::On } else { Switch::Off }
        }),
        h().prop_map(|host| Fault::Install {
            host,
            state: InstallFault::Fail
        }),
        (h(), 0u32..1000).prop_map(|(host, extra_seconds)| Fault::Reboot { host, extra_seconds }),
        (h(), 0u8..=100).prop_map(|(host, rate_percent)| Fault::Delivery { host, rate_percent }),
        (h(), h(), any::<bool>()).prop_map(|(a, b, up)| Fault::Link {
            between: [a, b],
            state: if up { Switch::Up } else { Switch::Down }
        }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (0..USERS.len(), 0..LINES.len(), prop::collection::vec(prop_oneof![4 => Just("Y"), 1 => Just("N"), 1 => Just("1"), 1 => Just("2"), 1 => Just("")], 0..4))
            .prop_map(|(who, line, answers)| Step::Line { who, line, answers }),
        2 => (0i64..700).prop_map(Step::Wait),
        1 => (0..3usize, 0..3usize, any::<bool>()).prop_map(|(a, b, up)| Step::Link { a, b, up }),
        1 => (0..3usize, any::<bool>()).prop_map(|(host, on)| Step::Dns { host, on }),
        1 => fault().prop_map(Step::Fault),
    ]
}

/// I1–I10, checked on the whole fleet.
fn invariants(fleet: &Fleet) -> Result<(), String> {
    for (name, c) in &fleet.clusters {
        if c.groups.is_empty() {
            return Err(format!("I2: cluster {name} has no group"));
        }
        let members: Vec<_> = fleet.members(name).collect();
        if members.is_empty() {
            return Err(format!("I9: cluster {name} has no member"));
        }
        let versions: std::collections::BTreeSet<_> = members
            .iter()
            .filter(|m| fleet.connection(&m.hostname).is_connected())
            .map(|m| m.version)
            .collect();
        if versions.len() > 1 {
            return Err(format!("I3: connected members of {name} run {versions:?}"));
        }
        for m in &members {
            let g = &m.membership.as_ref().unwrap().group;
            if !c.groups.contains(g) {
                return Err(format!(
                    "I1: {} is in group {g} which {name} does not have",
                    m.hostname
                ));
            }
            for id in FeatureId::ALL {
                if id.schema().levels.cluster && m.config.get(&Mode::Cluster, id).is_none() {
                    return Err(format!(
                        "I6: {}'s replica has no cluster value for {id}",
                        m.hostname
                    ));
                }
            }
            for (mode, f) in m.config.keys() {
                if !f.schema().levels.allows(mode.level()) {
                    return Err(format!("I5: {}'s replica stores {f} at {mode}", m.hostname));
                }
            }
            let users = &m.config.get(&Mode::Cluster, FeatureId::Users).unwrap().value;
            if users.rows.iter().filter(|r| r.key() == "admin").count() != 1 {
                return Err(format!(
                    "I7: {}'s replica has no single admin account",
                    m.hostname
                ));
            }
        }
    }
    for m in fleet.machines.values() {
        if let Some(ms) = &m.membership {
            if !fleet.clusters.contains_key(&ms.cluster) {
                return Err(format!("I1: {} is in a cluster that does not exist", m.hostname));
            }
        } else {
            let own = m.own_mode();
            if m.config.modes.keys().any(|k| k != &own) {
                return Err(format!("standalone {} holds another mode's settings", m.hostname));
            }
        }
        // I10: a machine's last recorded flow runs with what drives its flow now (rules §16.4.6): an
        // event that changes a machine's flow records it, even one that names only another machine
        // (§16.4.8).
        if let Some(last) = m.runtime.mail.last() {
            let now = cluster::mail::flow_params(fleet, &m.hostname);
            if last.params != now {
                return Err(format!(
                    "I10: {}'s flow was last recorded with {:?}, but it now runs with {now:?}",
                    m.hostname, last.params
                ));
            }
        }
        // I8: local data never travels.
        for q in &m.local.quarantine {
            if !q.contains(m.hostname.as_str()) {
                return Err(format!(
                    "I8: {} holds another machine's quarantine entry {q}",
                    m.hostname
                ));
            }
        }
    }
    Ok(())
}

const ROLES: [Role; 5] = [
    Role::Administrator,
    Role::Operator,
    Role::ReadOnly,
    Role::HelpDesk,
    Role::Guest,
];

fn run_sequence(fixture: &str, steps: &[Step]) -> Result<(), TestCaseError> {
    let start = cluster::fixture::by_name(fixture).unwrap();
    let mut fleet = start.clone();
    let mut log: Vec<Event> = Vec::new();
    let mut clock = fleet.now;
    // Sessions live beside the fleet (rules §14.7.4), each following the fleet's events.
    let mut live: BTreeMap<SessionId, Session> = BTreeMap::new();
    let mut by_user = BTreeMap::new();
    // R3, per role: a browser's replica started from the fleet as that role sees it and fed that role's
    // event stream equals the server's view for that role after every event.
    let replicas = std::cell::RefCell::new(ROLES.map(|r| scope_fleet(&start, r)));
    let push =
        |fleet: &mut Fleet, live: &mut BTreeMap<SessionId, Session>, log: &mut Vec<Event>, e: Event| {
            for s in live.values_mut() {
                cluster::apply::follow(s, fleet, &e);
            }
            cluster::apply(fleet, &e);
            for (i, r) in ROLES.iter().enumerate() {
                cluster::apply(&mut replicas.borrow_mut()[i], &scope_event(&e, *r));
            }
            log.push(e);
        };
    for (i, s) in steps.iter().enumerate() {
        for e in cluster::cmd::due_events(&fleet, clock) {
            push(&mut fleet, &mut live, &mut log, e);
        }
        let revision = fleet.revision;
        match s {
            Step::Wait(secs) => clock = clock.plus_secs(*secs),
            Step::Link { a, b, up } => {
                let (a, b) = (
                    Hostname::parse(HOSTS[*a]).unwrap(),
                    Hostname::parse(HOSTS[*b]).unwrap(),
                );
                if a != b {
                    push(
                        &mut fleet,
                        &mut live,
                        &mut log,
                        Event::new(clock, cluster::EventKind::LinkChanged { a, b, up: *up }),
                    );
                }
            }
            Step::Dns { host, on } => {
                let host = Hostname::parse(HOSTS[*host]).unwrap();
                push(
                    &mut fleet,
                    &mut live,
                    &mut log,
                    Event::new(clock, cluster::EventKind::DnsChanged { host, resolves: *on }),
                );
            }
            Step::Fault(f) => {
                if let Ok((e, _)) = cluster::sim::check(
                    &fleet,
                    &UserName::parse("admin").unwrap(),
                    Role::Administrator,
                    f,
                    clock,
                ) {
                    push(&mut fleet, &mut live, &mut log, e);
                }
            }
            Step::Line { who, line, answers } => {
                let (user, host) = USERS[*who];
                let user = UserName::parse(user).unwrap();
                let host = Hostname::parse(host).unwrap();
                if fleet.role_of(&host, &user).is_none() {
                    continue;
                }
                let id = *by_user.entry((user.clone(), host.clone())).or_insert_with(|| {
                    let id = live.len() as SessionId + 1;
                    live.insert(
                        id,
                        cluster::login::open_session(&fleet, id, user.clone(), host.clone()),
                    );
                    id
                });
                let command = cli::parse(LINES[*line]).unwrap();
                let answers: Vec<String> = answers.iter().map(|a| a.to_string()).collect();
                let before = fleet.revision;
                let verdict = cluster::check(&fleet, &live[&id], &command, None, &answers, clock);
                if let Verdict::Plan { plan } = verdict {
                    let events_expected = plan.events.len() as u64;
                    for e in plan.events {
                        push(&mut fleet, &mut live, &mut log, e);
                    }
                    if let Some(s) = live.get_mut(&id) {
                        for change in &plan.session {
                            s.apply(change);
                        }
                    }
                    // Only changes of the fleet advance its revision (rules §14.7.4).
                    prop_assert_eq!(fleet.revision, before + events_expected);
                }
            }
        }
        if matches!(s, Step::Wait(_)) {
            prop_assert_eq!(fleet.revision, revision, "waiting changes nothing by itself");
        }
        invariants(&fleet).map_err(|e| TestCaseError::fail(format!("after step {i} {s:?}: {e}")))?;
        // Mail is conserved and bounded (rules §16.4): received = queued + delivered.
        for h in fleet.machines.keys() {
            let c = cluster::mail::counters(&fleet, h, clock);
            prop_assert_eq!(
                c.received,
                c.work_queue + c.delivery_queue + c.delivered,
                "mail of {}",
                h
            );
            prop_assert!(c.work_queue + c.delivery_queue <= cluster::mail::QUEUE_LIMIT);
            prop_assert_eq!(
                c.per_listener.values().sum::<u64>(),
                c.received,
                "listeners of {}",
                h
            );
            let d = cluster::mail::destinations(&fleet, h, clock);
            prop_assert_eq!(d.iter().map(|x| x.active).sum::<u64>(), c.delivery_queue);
            prop_assert_eq!(d.iter().map(|x| x.delivered).sum::<u64>(), c.delivered);
        }
        for (r, role) in ROLES.iter().enumerate() {
            prop_assert_eq!(
                &replicas.borrow()[r],
                &scope_fleet(&fleet, *role),
                "R3: the {} replica diverged after step {} {:?}",
                role,
                i,
                s
            );
        }
        // Sessions stay consistent with the fleet: a mode names a mode of the login host's cluster.
        for s in live.values() {
            if let Some(mode) = &s.mode {
                prop_assert!(
                    fleet.modes_of(&s.host).contains(mode),
                    "session {} on {} is in mode {} which its cluster does not have",
                    s.id,
                    s.host,
                    mode
                );
            }
        }
    }
    // The state is the replay of the log, and survives a JSON round trip (snapshots, the wire).
    let mut replay = start;
    for e in &log {
        cluster::apply(&mut replay, e);
    }
    prop_assert_eq!(&replay, &fleet);
    let json = serde_json::to_string(&fleet).unwrap();
    let back: Fleet = serde_json::from_str(&json).unwrap();
    prop_assert_eq!(back, fleet);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_the_invariants_on_americas(steps in prop::collection::vec(step(), 1..60)) {
        run_sequence("americas", &steps)?;
    }

    #[test]
    fn random_sequences_keep_the_invariants_on_standalone(steps in prop::collection::vec(step(), 1..30)) {
        run_sequence("standalone", &steps)?;
    }
}
