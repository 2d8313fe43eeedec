//! Built-in fixtures (rules §11, §14.6): `americas` (the demo data and the scenarios' starting point) and
//! `standalone` (the same machines, none clustered). Every value is stated here.

use crate::features::{FeatureId, FeatureValue, Row, TypedRow, UserRow};
use crate::fleet::{Cluster, Fleet, LocalData, Machine, Membership, Network, Runtime, Upgrade};
use crate::mode::Mode;
use crate::names::{ClusterName, GroupName, Hostname, Serial, Timestamp, UserKey, UserName, Version};
use crate::store::{ConfigStore, Rev, Setting};
use crate::structure::Addressing;
use std::sync::Arc;

/// The names `clusterdeck script --fixture` accepts.
pub const FIXTURES: &[&str] = &["americas", "standalone"];

/// Builds a fixture by name; `scale-<n>` is `americas` grown to `n` machines with standalone ones (for
/// measuring the console on a large fleet).
pub fn by_name(name: &str) -> Option<Fleet> {
    match name {
        "americas" => Some(americas()),
        "standalone" => Some(standalone()),
        _ => {
            let n: usize = name
                .strip_prefix("scale-")?
                .parse()
                .ok()
                .filter(|n| (5..=20_000).contains(n))?;
            Some(scale(n))
        }
    }
}

/// `americas` plus standalone machines `m00001.scale.example.com`, ... up to `n` machines in all.
pub fn scale(n: usize) -> Fleet {
    let mut fleet = americas();
    for i in 1..=n.saturating_sub(fleet.machines.len()) {
        let host = Hostname::known(&format!("m{i:05}.scale.example.com"));
        let machine = new_standalone(&host, Version::new(9, 1, 2), (i % 250) as u8);
        fleet.machines.insert(host, Arc::new(machine));
    }
    started(fleet)
}

/// A fixture with every machine's mail flowing from the clock's start (rules §16.4).
fn started(mut fleet: Fleet) -> Fleet {
    let now = fleet.now;
    crate::mail::begin(&mut fleet, now);
    fleet
}

/// The simulated clock's start: 2026-01-01T00:00:00Z.
pub const CLOCK_START: Timestamp = Timestamp(1_767_225_600_000);
/// When the fixture's settings were written: a month before the clock starts, so any later commit is newer.
pub const FIXTURE_WRITTEN: Timestamp = Timestamp(1_767_225_600_000 - 31 * 86_400 * 1000);

/// Demo users of the `americas` cluster: (name, role word, password).
pub const DEMO_USERS: &[(&str, &str, &str)] = &[
    ("admin", "administrator", "ironport"),
    ("ops", "operator", "ops-pass"),
    ("viewer", "readonly", "viewer-pass"),
    ("helpdesk", "helpdesk", "helpdesk-pass"),
    ("guest1", "guest", "guest1-pass"),
];

struct Host {
    name: &'static str,
    serial: &'static str,
    key: &'static str,
    version: &'static str,
    /// Third octet-free prefix: interfaces are 10.<net>.0.<n>, 10.<net>.1.<n>, 10.<net>.2.<n>.
    net: u8,
    n: u8,
}

const HOSTS: &[Host] = &[
    Host {
        name: "newyork.example.com",
        serial: "4229C0A1B2C3-NY0001",
        key: "ukey-ny-7f3a91",
        version: "9.1.2",
        net: 1,
        n: 10,
    },
    Host {
        name: "losangeles.example.com",
        serial: "4229C0A1B2C4-LA0002",
        key: "ukey-la-2b8c44",
        version: "9.1.2",
        net: 1,
        n: 20,
    },
    Host {
        name: "sf.example.com",
        serial: "4229C0A1B2C5-SF0003",
        key: "ukey-sf-91d0e7",
        version: "9.1.2",
        net: 1,
        n: 30,
    },
    Host {
        name: "boston.example.com",
        serial: "4229C0A1B2C6-BO0004",
        key: "ukey-bo-5e6f12",
        version: "9.1.2",
        net: 2,
        n: 40,
    },
    Host {
        name: "toronto.example.com",
        serial: "4229C0A1B2C7-TO0005",
        key: "ukey-to-c3a7b8",
        version: "9.5.0",
        net: 3,
        n: 50,
    },
];

fn h(s: &str) -> Hostname {
    Hostname::parse(s).expect("fixture hostname")
}

fn rows(rows: &[&[&str]]) -> FeatureValue {
    FeatureValue::of(
        rows.iter()
            .map(|r| Row::from_cells(r.iter().map(|c| c.to_string()).collect()))
            .collect(),
    )
}

fn setting(value: FeatureValue) -> Setting {
    Setting {
        value,
        rev: Rev {
            at: FIXTURE_WRITTEN,
            user: UserName::parse("admin").expect("fixture user"),
            origin: h("newyork.example.com"),
            seq: 0,
        },
    }
}

/// The machine-only settings of a host.
fn machine_only(host: &Host) -> Vec<(FeatureId, FeatureValue)> {
    let ip = |third: u8| format!("10.{}.{third}.{}", host.net, host.n);
    let (m, d1, d2) = (ip(0), ip(1), ip(2));
    vec![
        (
            FeatureId::IpInterfaces,
            rows(&[
                &["Management", &m, "22", "0"],
                &["Data1", &d1, "22", "0"],
                &["Data2", &d2, "0", "0"],
            ]),
        ),
        (
            FeatureId::Ethernet,
            rows(&[&["Data_1", "auto"], &["Data_2", "auto"], &["Management", "auto"]]),
        ),
        (FeatureId::StaticRoutes, rows(&[])),
        (
            FeatureId::DefaultGateway,
            rows(&[&[&format!("10.{}.0.1", host.net)]]),
        ),
        (FeatureId::Hostname, rows(&[&[host.name]])),
        (
            FeatureId::FeatureKeys,
            rows(&[
                &["antispam", "365"],
                &["antivirus", "365"],
                &["centralized_management", "365"],
            ]),
        ),
    ]
}

/// Values of every cluster-capable feature for the `americas` cluster level.
fn americas_cluster_values() -> Vec<(FeatureId, FeatureValue)> {
    let users: Vec<Vec<String>> = DEMO_USERS
        .iter()
        .map(|(u, r, p)| vec![u.to_string(), r.to_string(), p.to_string()])
        .collect();
    let users = FeatureValue::of(users.into_iter().map(Row::from_cells).collect());
    vec![
        (FeatureId::Users, users),
        (FeatureId::SshKeys, rows(&[])),
        (
            FeatureId::SmtpRoutes,
            rows(&[
                &["example.com", "mail.example.com"],
                &["partner.example.org", "relay.partner.example.org:25"],
            ]),
        ),
        (FeatureId::DestinationControls, rows(&[&["example.com", "50"]])),
        (
            FeatureId::Ldap,
            rows(&[&["corp", "ldap.example.com", "dc=example,dc=com"]]),
        ),
        (
            FeatureId::Listeners,
            rows(&[
                &["InboundMail", "Data1", "public"],
                &["OutboundMail", "Data2", "private"],
            ]),
        ),
        (FeatureId::GlobalUnsubscribe, rows(&[&["spam.example.net"]])),
        (FeatureId::Dns, rows(&[&["10.1.0.53", "0"]])),
        (FeatureId::AntiSpam, rows(&[&["ipas", "on"]])),
        (FeatureId::AntiVirus, rows(&[&["sophos", "on"]])),
        (
            FeatureId::MailPolicies,
            rows(&[&["default", "example.com", "deliver"]]),
        ),
        (
            FeatureId::ContentFilters,
            rows(&[&["strip_exe", "attachment-filetype==exe", "quarantine"]]),
        ),
        (FeatureId::PvoQuarantine, rows(&[&["off", "none"]])),
    ]
}

/// A standalone machine's own values for the cluster-capable features.
fn standalone_values(host: &Host) -> Vec<(FeatureId, FeatureValue)> {
    let short = host.name.split('.').next().unwrap_or(host.name);
    let mut values = americas_cluster_values();
    for (feature, value) in values.iter_mut() {
        match feature {
            FeatureId::Users => *value = rows(&[&["admin", "administrator", "ironport"]]),
            FeatureId::SmtpRoutes => {
                *value = rows(&[&[
                    &format!("{short}.example.org"),
                    &format!("mx.{short}.example.org"),
                ]])
            }
            FeatureId::Dns => *value = rows(&[&[&format!("10.{}.0.53", host.net), "0"]]),
            _ => {}
        }
    }
    values
}

fn machine(host: &Host, membership: Option<Membership>, config: ConfigStore) -> Machine {
    Machine {
        hostname: h(host.name),
        serial: Serial::parse(host.serial).expect("fixture serial"),
        version: Version::parse(host.version).expect("fixture version"),
        user_key: UserKey::parse(host.key).expect("fixture user key"),
        membership,
        detached: false,
        upgrade: Upgrade::Idle,
        runtime: Runtime::default(),
        local: LocalData {
            quarantine: vec![format!("<{}-q1@{}> held by policy quarantine", host.n, host.name)],
            log: vec![format!(
                "{} mail_logs: Info: {} started",
                CLOCK_START_ISO, host.name
            )],
            ..LocalData::default()
        },
        config,
    }
}

const CLOCK_START_ISO: &str = "2026-01-01T00:00:00Z";

fn standalone_store(host: &Host) -> ConfigStore {
    let mut store = ConfigStore::default();
    let mode = Mode::Machine(h(host.name));
    for (f, v) in standalone_values(host).into_iter().chain(machine_only(host)) {
        store.set(mode.clone(), f, setting(v));
    }
    store
}

/// Rewrites the user table of every replica and mode: `f` keeps (changed or not) or drops each user.
fn rewrite_users(fleet: &mut Fleet, mut f: impl FnMut(UserRow) -> Option<UserRow>) {
    for m in fleet.machines.values_mut().map(Arc::make_mut) {
        for settings in m.config.modes.values_mut() {
            if let Some(users) = settings.get_mut(&FeatureId::Users) {
                users.value.rows = users
                    .value
                    .typed::<UserRow>()
                    .filter_map(&mut f)
                    .map(|u| u.to_row())
                    .collect();
            }
        }
    }
}

/// For a non-demo deployment: every `admin` account gets `password`, and the other demo users are removed.
pub fn replace_demo_credentials(fleet: &mut Fleet, password: &str) {
    rewrite_users(fleet, |mut u| {
        (u.name.as_str() == "admin").then(|| {
            u.password = password.to_string();
            u
        })
    });
}

/// For a fork of a share (rules §18.7): a share's passwords are masked, so the demo users get their
/// published demo passwords back and every other masked password becomes `locked()` (a value nobody
/// knows: that account cannot log in until an administrator sets its password).
pub fn restore_demo_passwords(fleet: &mut Fleet, locked: &mut impl FnMut() -> String) {
    rewrite_users(fleet, |mut u| {
        if u.password == crate::features::MASK {
            u.password = DEMO_USERS
                .iter()
                .find(|(name, _, _)| *name == u.name.as_str())
                .map_or_else(&mut *locked, |(_, _, p)| p.to_string());
        }
        Some(u)
    });
}

/// A new standalone machine for scripts' `@machine <host> <version>`: users `admin`/`ironport`, interfaces
/// `Management`, `Data1`, `Data2` (10.9.<n>.x), listeners `InboundMail` and `OutboundMail`, no routes.
pub fn new_standalone(host: &Hostname, version: Version, n: u8) -> Machine {
    let mode = Mode::Machine(host.clone());
    let short: String = host
        .as_str()
        .split('.')
        .next()
        .unwrap_or("m")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let ip = |i: u8| format!("10.9.{n}.{}", 10 + i);
    let mut store = ConfigStore::default();
    let values: Vec<(FeatureId, FeatureValue)> = vec![
        (FeatureId::Users, rows(&[&["admin", "administrator", "ironport"]])),
        (
            FeatureId::IpInterfaces,
            rows(&[
                &["Management", &ip(0), "22", "0"],
                &["Data1", &ip(1), "22", "0"],
                &["Data2", &ip(2), "0", "0"],
            ]),
        ),
        (
            FeatureId::Listeners,
            rows(&[
                &["InboundMail", "Data1", "public"],
                &["OutboundMail", "Data2", "private"],
            ]),
        ),
        (FeatureId::Hostname, rows(&[&[host.as_str()]])),
        (FeatureId::DefaultGateway, rows(&[&[&format!("10.9.{n}.1")]])),
    ];
    for id in FeatureId::ALL {
        let value = values
            .iter()
            .find(|(f, _)| *f == id)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| id.schema().default_value());
        store.set(mode.clone(), id, setting(value));
    }
    Machine {
        hostname: host.clone(),
        serial: Serial::known(&format!(
            "4229C0A1C0{n:02X}-{}",
            short.to_ascii_uppercase().chars().take(6).collect::<String>()
        )),
        version,
        user_key: UserKey::known(&format!("ukey-{short}-{n:02x}")),
        membership: None,
        detached: false,
        upgrade: Upgrade::Idle,
        runtime: Runtime::default(),
        local: LocalData::default(),
        config: store,
    }
}

fn empty_fleet() -> Fleet {
    Fleet {
        clusters: Default::default(),
        machines: Default::default(),
        upgrades_offered: vec![
            Version::new(9, 5, 0),
            Version::new(9, 7, 0),
            Version::new(10, 0, 1),
        ],
        upgrade_paths: vec![
            (Version::new(9, 1, 2), Version::new(9, 5, 0)),
            (Version::new(9, 1, 2), Version::new(9, 7, 0)),
            (Version::new(9, 5, 0), Version::new(9, 7, 0)),
            (Version::new(9, 7, 0), Version::new(10, 0, 1)),
        ],
        seed: 0,
        network: Network::default(),
        revision: 0,
        now: CLOCK_START,
    }
}

/// `standalone`: the five machines, none clustered, each with its own users (`admin`/`ironport`).
pub fn standalone() -> Fleet {
    let mut fleet = empty_fleet();
    for host in HOSTS {
        fleet.machines.insert(
            h(host.name),
            Arc::new(machine(host, None, standalone_store(host))),
        );
    }
    started(fleet)
}

/// `americas`: cluster `Americas` (hostname addressing) with groups `Main_Group` {newyork, losangeles} and
/// `West` {sf}, all 9.1.2 and connected; standalone `boston` (9.1.2) and `toronto` (9.5.0).
pub fn americas() -> Fleet {
    let mut fleet = empty_fleet();
    let cluster = ClusterName::parse("Americas").expect("fixture cluster");
    let main = GroupName::parse("Main_Group").expect("fixture group");
    let west = GroupName::parse("West").expect("fixture group");
    fleet.clusters.insert(
        cluster.clone(),
        Cluster {
            name: cluster.clone(),
            addressing: Addressing::Hostname,
            groups: vec![main.clone(), west.clone()],
            prepjoin: Vec::new(),
        },
    );

    let members: &[(&str, &GroupName)] = &[
        ("newyork.example.com", &main),
        ("losangeles.example.com", &main),
        ("sf.example.com", &west),
    ];
    let mut store = ConfigStore::default();
    for (f, v) in americas_cluster_values() {
        store.set(Mode::Cluster, f, setting(v));
    }
    store.set(
        Mode::Group(west.clone()),
        FeatureId::SmtpRoutes,
        setting(rows(&[&["example.com", "west-mx.example.com"]])),
    );
    for (name, _) in members {
        let host = HOSTS.iter().find(|x| x.name == *name).expect("fixture host");
        for (f, v) in machine_only(host) {
            store.set(Mode::Machine(h(name)), f, setting(v));
        }
    }
    for host in HOSTS {
        let m = match members.iter().find(|(n, _)| *n == host.name) {
            Some((_, group)) => machine(
                host,
                Some(Membership {
                    cluster: cluster.clone(),
                    group: (*group).clone(),
                }),
                store.clone(),
            ),
            None => machine(host, None, standalone_store(host)),
        };
        fleet.machines.insert(h(host.name), Arc::new(m));
    }
    started(fleet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::Connection;

    #[test]
    fn americas_is_as_described() {
        let fleet = americas();
        let c = ClusterName::parse("Americas").unwrap();
        assert_eq!(fleet.members(&c).count(), 3);
        assert_eq!(fleet.standalone_machines().count(), 2);
        for m in fleet.members(&c) {
            assert_eq!(fleet.connection(&m.hostname), Connection::Connected);
            assert_eq!(m.version.to_string(), "9.1.2");
        }
        let sf = fleet.machine(&h("sf.example.com")).unwrap();
        assert_eq!(sf.membership.as_ref().unwrap().group.as_str(), "West");
        assert_eq!(
            fleet
                .machine(&h("toronto.example.com"))
                .unwrap()
                .version
                .to_string(),
            "9.5.0"
        );
    }

    #[test]
    fn every_fixture_value_fits_its_schema() {
        for name in FIXTURES {
            let fleet = by_name(name).unwrap();
            for m in fleet.machines.values() {
                for (mode, feature) in m.config.keys() {
                    let s = m.config.get(mode, feature).unwrap();
                    for row in &s.value.rows {
                        feature
                            .schema()
                            .parse_row(row.cells())
                            .unwrap_or_else(|e| panic!("{name} {mode} {e}"));
                    }
                }
            }
        }
    }
}
