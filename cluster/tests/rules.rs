//! Unit tests of the core rules: resolution (rules §5.1), the reconnect merge (rules §8.3, §14.2.4), and the
//! upgrade transitions (6.2).

use cluster::cmd::{due_events, upgrade_progress, UpgradePhase, INSTALL_SECS, REBOOT_SECS};
use cluster::event::Write;
use cluster::features::FeatureValue;
use cluster::fleet::Upgrade;
use cluster::store::{resolve, Change};
use cluster::{apply, fixture, Connection, Event, EventKind, FeatureId, Fleet, Hostname, Mode, UserName};

fn h(s: &str) -> Hostname {
    Hostname::parse(s).unwrap()
}

fn routes(domain: &str) -> FeatureValue {
    FeatureValue::of(vec![FeatureId::SmtpRoutes
        .schema()
        .parse_row(&[domain.into(), "mx.example.com".into()])
        .unwrap()])
}

fn commit(fleet: &mut Fleet, host: &str, mode: Mode, value: Option<FeatureValue>, at_secs: i64) {
    let at = fixture::CLOCK_START.plus_secs(at_secs);
    let e = Event::new(
        at,
        EventKind::Committed {
            host: h(host),
            user: UserName::parse("admin").unwrap(),
            writes: vec![Write {
                mode,
                feature: FeatureId::SmtpRoutes,
                change: match value {
                    Some(value) => Change::Define { value },
                    None => Change::Remove,
                },
            }],
            structure: vec![],
            comment: None,
        },
    );
    apply(fleet, &e);
}

fn detach(fleet: &mut Fleet, host: &str) {
    apply(
        fleet,
        &Event::new(fleet.now, EventKind::Detached { hosts: vec![h(host)] }),
    );
}

fn reconnect(fleet: &mut Fleet, host: &str) {
    apply(
        fleet,
        &Event::new(fleet.now, EventKind::Reconnected { hosts: vec![h(host)] }),
    );
}

fn routes_on(fleet: &Fleet, host: &str, mode: &Mode) -> Option<FeatureValue> {
    fleet
        .machine(&h(host))
        .unwrap()
        .config
        .get(mode, FeatureId::SmtpRoutes)
        .map(|s| s.value.clone())
}

#[test]
fn resolution_prefers_machine_then_group_then_cluster() {
    let mut fleet = fixture::americas();
    let sf = h("sf.example.com");
    let ny = h("newyork.example.com");
    let store = &fleet.machine(&ny).unwrap().config;
    let west = fleet.group_of(&sf).cloned();
    assert_eq!(
        resolve(
            store,
            &Mode::Machine(sf.clone()),
            west.as_ref(),
            FeatureId::SmtpRoutes
        )
        .source,
        Mode::Group(west.clone().unwrap())
    );
    assert_eq!(
        resolve(
            store,
            &Mode::Machine(ny.clone()),
            fleet.group_of(&ny),
            FeatureId::SmtpRoutes
        )
        .source,
        Mode::Cluster
    );
    assert_eq!(
        resolve(
            store,
            &Mode::Machine(ny.clone()),
            fleet.group_of(&ny),
            FeatureId::IpInterfaces
        )
        .source,
        Mode::Machine(ny.clone())
    );
    // A machine definition wins over its group's, and is a whole-value replacement (an empty table too).
    commit(
        &mut fleet,
        "newyork.example.com",
        Mode::Machine(sf.clone()),
        Some(FeatureValue::default()),
        1,
    );
    assert_eq!(
        fleet.effective(&sf, FeatureId::SmtpRoutes),
        FeatureValue::default()
    );
    assert_eq!(fleet.effective(&ny, FeatureId::SmtpRoutes).rows.len(), 2);
}

#[test]
fn merge_takes_the_newest_commit_per_item() {
    let mut fleet = fixture::americas();
    detach(&mut fleet, "losangeles.example.com");
    commit(
        &mut fleet,
        "newyork.example.com",
        Mode::Cluster,
        Some(routes("old.example.com")),
        10,
    );
    commit(
        &mut fleet,
        "losangeles.example.com",
        Mode::Cluster,
        Some(routes("new.example.com")),
        20,
    );
    assert_eq!(
        routes_on(&fleet, "sf.example.com", &Mode::Cluster),
        Some(routes("old.example.com"))
    );
    reconnect(&mut fleet, "losangeles.example.com");
    for host in ["newyork.example.com", "losangeles.example.com", "sf.example.com"] {
        assert_eq!(
            routes_on(&fleet, host, &Mode::Cluster),
            Some(routes("new.example.com")),
            "{host}"
        );
    }
}

#[test]
fn merge_keeps_both_copies_on_equal_times() {
    let mut fleet = fixture::americas();
    detach(&mut fleet, "losangeles.example.com");
    commit(
        &mut fleet,
        "newyork.example.com",
        Mode::Cluster,
        Some(routes("ny.example.com")),
        10,
    );
    commit(
        &mut fleet,
        "losangeles.example.com",
        Mode::Cluster,
        Some(routes("la.example.com")),
        10,
    );
    reconnect(&mut fleet, "losangeles.example.com");
    assert_eq!(
        routes_on(&fleet, "losangeles.example.com", &Mode::Cluster),
        Some(routes("la.example.com"))
    );
    assert_eq!(
        routes_on(&fleet, "newyork.example.com", &Mode::Cluster),
        Some(routes("ny.example.com"))
    );
    let found: Vec<(FeatureId, Mode)> = cluster::cmd::inconsistencies(&fleet, &h("newyork.example.com"))
        .into_iter()
        .map(|i| (i.feature, i.mode))
        .collect();
    assert_eq!(found, vec![(FeatureId::SmtpRoutes, Mode::Cluster)]);
}

#[test]
fn a_newer_deletion_is_not_resurrected_by_the_merge() {
    let mut fleet = fixture::americas();
    let west = Mode::Group(cluster::GroupName::parse("West").unwrap());
    detach(&mut fleet, "losangeles.example.com");
    commit(&mut fleet, "newyork.example.com", west.clone(), None, 10);
    reconnect(&mut fleet, "losangeles.example.com");
    assert_eq!(routes_on(&fleet, "losangeles.example.com", &west), None);
    // ... while a newer definition beats an older deletion.
    detach(&mut fleet, "sf.example.com");
    commit(
        &mut fleet,
        "sf.example.com",
        west.clone(),
        Some(routes("back.example.com")),
        20,
    );
    reconnect(&mut fleet, "sf.example.com");
    assert_eq!(
        routes_on(&fleet, "newyork.example.com", &west),
        Some(routes("back.example.com"))
    );
}

#[test]
fn upgrade_of_a_connected_member_detaches_everyone_then_reboots_into_the_new_version() {
    let mut fleet = fixture::americas();
    let ny = h("newyork.example.com");
    let v = cluster::Version::new(9, 5, 0);
    let all: Vec<Hostname> = ["losangeles.example.com", "newyork.example.com", "sf.example.com"]
        .map(h)
        .to_vec();
    let t0 = fixture::CLOCK_START;
    apply(
        &mut fleet,
        &Event::new(
            t0,
            EventKind::UpgradeStarted {
                host: ny.clone(),
                version: v,
                detach: all.clone(),
            },
        ),
    );
    for host in &all {
        assert_ne!(fleet.connection(host), Connection::Connected, "T4: {host}");
    }
    let m = fleet.machine(&ny).unwrap();
    assert_eq!(upgrade_progress(m, t0).unwrap().phase, UpgradePhase::Installing);
    assert_eq!(
        upgrade_progress(m, t0.plus_secs(INSTALL_SECS)).unwrap().phase,
        UpgradePhase::Rebooting
    );
    assert!(due_events(&fleet, t0.plus_secs(INSTALL_SECS + REBOOT_SECS - 1)).is_empty());
    let due = due_events(&fleet, t0.plus_secs(600));
    assert_eq!(due.len(), 1, "completes within 600 s");
    apply(&mut fleet, &due[0]);
    let m = fleet.machine(&ny).unwrap();
    assert_eq!(
        (m.version, &m.upgrade, m.detached),
        (v, &Upgrade::Idle, true),
        "T6: new version, still detached"
    );
    assert_eq!(fleet.connection(&ny), Connection::Detached);
}

#[test]
fn upgrade_of_a_detached_member_touches_only_itself() {
    let mut fleet = fixture::americas();
    detach(&mut fleet, "losangeles.example.com");
    let la = h("losangeles.example.com");
    let now = fleet.now;
    apply(
        &mut fleet,
        &Event::new(
            now,
            EventKind::ListenersSuspended {
                host: la.clone(),
                listeners: vec!["InboundMail".into()],
            },
        ),
    );
    let started = EventKind::UpgradeStarted {
        host: la.clone(),
        version: cluster::Version::new(9, 5, 0),
        detach: vec![],
    };
    apply(&mut fleet, &Event::new(now, started));
    assert_eq!(
        fleet.connection(&h("newyork.example.com")),
        Connection::Connected,
        "T3"
    );
    assert_eq!(
        fleet.connection(&h("sf.example.com")),
        Connection::Connected,
        "T3"
    );
    for e in due_events(&fleet, now.plus_secs(600)) {
        apply(&mut fleet, &e);
    }
    let m = fleet.machine(&la).unwrap();
    assert!(
        m.runtime.suspended_listeners.contains("InboundMail"),
        "a reboot keeps listeners suspended (14.3.4)"
    );
}

#[test]
fn mode_tables_agree_with_the_feature_catalogue() {
    use cluster::roles::{mode_rule, ModeRule};
    for s in cluster::CATALOGUE {
        let expected = match (s.levels.cluster, s.levels.group, s.levels.machine) {
            (true, false, false) => ModeRule::ClusterOnly,
            (false, false, true) => ModeRule::MachineOnly,
            _ => ModeRule::Any,
        };
        assert_eq!(mode_rule(s.command), expected, "{} ({:?})", s.command, s.levels);
    }
}

/// rules §8.3, §14.7.5: the console's preview of a reconnect names what the newer side replaces, the
/// same lines the command prints; nothing for a member that is not detached.
#[test]
fn reconnect_preview_names_what_the_newer_side_replaces() {
    let outcome = cluster::script::run(
        "@as admin@newyork.example.com\nclusterconfig disconnect losangeles.example.com\n\
         @as admin@losangeles.example.com\nsmtproutes new la.example.com mx.la.example.com\ncommit\n",
        None,
    );
    assert!(outcome.passed(), "{:?}", outcome.failure);
    let la = cluster::Hostname::parse("losangeles.example.com").unwrap();
    let preview = cluster::view::reconnect_preview(&outcome.fleet, &la);
    assert_eq!(preview.len(), 1, "{preview:?}");
    assert!(preview[0]
        .starts_with("Warning: reconnect replaces smtproutes at cluster: losangeles.example.com's copy"));
    assert!(preview[0].ends_with("losangeles.example.com's copy is newer and wins."));
    let ny = cluster::Hostname::parse("newyork.example.com").unwrap();
    assert!(cluster::view::reconnect_preview(&outcome.fleet, &ny).is_empty());
}

/// Pages and `connstatus` name a machine's state alike (rules §16.3): a powered-off standalone machine
/// says so, an unresolvable member says why it is disconnected.
#[test]
fn pages_name_power_and_lost_names_as_the_cli_does() {
    use cluster::event::{Fault, Switch};
    let mut fleet = fixture::by_name("americas").unwrap();
    let at = fixture::CLOCK_START.plus_secs(60);
    let off = Fault::Power {
        host: h("toronto.example.com"),
        state: Switch::Off,
    };
    let dns = Fault::Dns {
        host: h("sf.example.com"),
        state: Switch::Off,
    };
    for f in [off, dns] {
        apply(&mut fleet, &Event::new(at, EventKind::Fault { fault: f }));
    }
    assert_eq!(
        fleet.describe_connection(&h("toronto.example.com")),
        "standalone (powered off)"
    );
    assert_eq!(
        fleet.describe_connection(&h("sf.example.com")),
        "disconnected (hostname does not resolve)"
    );
    assert_eq!(fleet.describe_connection(&h("newyork.example.com")), "connected");
}

/// Every machine's last recorded flow runs with what drives its flow now (rules §16.4.6).
fn flows_recorded(fleet: &Fleet) {
    for m in fleet.machines.values() {
        let last = m.runtime.mail.last().expect("every machine's flow is recorded");
        assert_eq!(
            last.params,
            cluster::mail::flow_params(fleet, &m.hostname),
            "{}'s recorded flow",
            m.hostname
        );
    }
}

/// Rules §16.4.8: suspending one machine records only its flow; a cluster-wide commit of the listeners
/// records every member's.
#[test]
fn a_machine_local_event_records_its_machine_and_a_commit_records_every_member() {
    let mut fleet = fixture::americas();
    let ny = h("newyork.example.com");
    let others: Vec<(Hostname, Vec<cluster::fleet::MailSegment>)> = fleet
        .machines
        .values()
        .filter(|m| m.hostname != ny)
        .map(|m| (m.hostname.clone(), m.runtime.mail.clone()))
        .collect();
    let at = fixture::CLOCK_START.plus_secs(600);
    apply(
        &mut fleet,
        &Event::new(at, EventKind::MachineSuspended { host: ny.clone() }),
    );
    flows_recorded(&fleet);
    let mail = &fleet.machines[&ny].runtime.mail;
    assert!(mail.last().unwrap().params.receiving.is_empty(), "{mail:?}");
    for (host, before) in &others {
        assert_eq!(&fleet.machines[host].runtime.mail, before, "{host} is untouched");
    }
    // No listener at cluster level: every member stops receiving, and each one's flow is recorded.
    let e = Event::new(
        at.plus_secs(60),
        EventKind::Committed {
            host: ny.clone(),
            user: UserName::parse("admin").unwrap(),
            writes: vec![Write {
                mode: Mode::Cluster,
                feature: FeatureId::Listeners,
                change: Change::Define {
                    value: FeatureValue::of(vec![]),
                },
            }],
            structure: vec![],
            comment: None,
        },
    );
    apply(&mut fleet, &e);
    flows_recorded(&fleet);
    let members: Vec<Hostname> = fleet
        .machines
        .values()
        .filter(|m| m.cluster().is_some())
        .map(|m| m.hostname.clone())
        .collect();
    assert!(members.len() > 1);
    for host in &members {
        assert!(
            cluster::mail::flow_params(&fleet, host).receiving.is_empty(),
            "{host}"
        );
    }
}
