//! The sandbox's demo scenarios under `scenarios/demo/` (docs/scenarios.md): every one runs, has a valid
//! id and a unique title, and starts from the state its title promises.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use cluster::fleet::{Connection, Fleet, Upgrade};
use cluster::names::{Hostname, Version};
use cluster::script::{is_scenario_id, run, scenario, scenario_header, Scenario};

fn demo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/demo")
}

/// Every `scenarios/demo/*.script`, by id (the file stem), with its text.
fn demo_scripts() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(demo_dir()).expect("scenarios/demo/ exists") {
        let path = entry.expect("readable entry").path();
        if path.extension().is_some_and(|e| e == "script") {
            let id = path
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("a UTF-8 file name")
                .to_string();
            let text = std::fs::read_to_string(&path).expect("readable script");
            out.insert(id, text);
        }
    }
    out
}

fn text_of(id: &str) -> String {
    demo_scripts()
        .remove(id)
        .unwrap_or_else(|| panic!("scenarios/demo/{id}.script exists"))
}

fn load(id: &str) -> Scenario {
    scenario(&text_of(id)).unwrap_or_else(|e| panic!("{id}: {e}"))
}

fn host(name: &str) -> Hostname {
    Hostname::parse(name).expect("a hostname")
}

fn version(v: &str) -> Version {
    Version::parse(v).expect("a version")
}

fn machine_version(fleet: &Fleet, name: &str) -> Version {
    fleet.machine(&host(name)).expect("the machine exists").version
}

/// Runs the scenario's script followed by `more` (the visitor's next steps): it must pass.
fn continue_with(id: &str, more: &str) {
    let text = format!("{}\n{more}", text_of(id));
    let outcome = run(&text, None);
    if let Some(f) = outcome.failure {
        panic!("{id} continued: {f}\n--- transcript ---\n{}", outcome.transcript);
    }
}

#[test]
fn every_demo_scenario_runs_with_a_valid_id_and_a_unique_title() {
    let scripts = demo_scripts();
    for id in [
        "americas",
        "rolling-upgrade-halfway",
        "diverged-replicas",
        "standalone-first-cluster",
        "twenty-four-machines",
        "failed-upgrade",
    ] {
        assert!(scripts.contains_key(id), "scenarios/demo/{id}.script is shipped");
    }
    let mut titles: BTreeMap<String, String> = BTreeMap::new();
    let mut failures = Vec::new();
    let started = Instant::now();
    for (id, text) in &scripts {
        assert!(is_scenario_id(id), "\"{id}\" is not a valid scenario id");
        let one = Instant::now();
        match scenario(text) {
            Ok(s) => {
                eprintln!("{id}: {:?} ({} machines)", one.elapsed(), s.fleet.machines.len());
                if let Some(other) = titles.insert(s.header.title.clone(), id.clone()) {
                    failures.push(format!(
                        "{id}: the title \"{}\" is also {other}'s",
                        s.header.title
                    ));
                }
            }
            Err(e) => failures.push(format!("{id}: {e}")),
        }
    }
    eprintln!("all {} demo scenarios: {:?}", scripts.len(), started.elapsed());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn scenario_ids() {
    for ok in ["americas", "rolling-upgrade-halfway", "a", "24-machines"] {
        assert!(is_scenario_id(ok), "{ok}");
    }
    for bad in [
        "",
        "Americas",
        "rolling_upgrade",
        "-x",
        "a b",
        "a.b",
        &"x".repeat(65),
    ] {
        assert!(!is_scenario_id(bad), "{bad}");
    }
}

const GOOD: &str = "@fixture americas
# Title: Halfway through a rolling upgrade
# Description: losangeles is upgraded to 9.5.0 and disconnected; newyork and sf are still on
#   9.1.2. Finish the procedure.
# Login: admin@newyork.example.com

# An ordinary comment after the header.
@as admin@newyork.example.com
clusterconfig list
";

#[test]
fn a_header_is_read_with_its_continuation_lines() {
    let h = scenario_header(GOOD).expect("a good header");
    assert_eq!(h.title, "Halfway through a rolling upgrade");
    assert_eq!(
        h.description,
        "losangeles is upgraded to 9.5.0 and disconnected; newyork and sf are still on 9.1.2. Finish the procedure."
    );
    assert_eq!(h.login_user.as_str(), "admin");
    assert_eq!(h.login_host, host("newyork.example.com"));
    // Without the @fixture line the header is the first lines.
    let h = scenario_header(GOOD.strip_prefix("@fixture americas\n").unwrap()).expect("no @fixture");
    assert_eq!(h.title, "Halfway through a rolling upgrade");
    assert!(scenario(GOOD).is_ok());
}

fn header_error(text: &str) -> String {
    scenario_header(text).expect_err("the header must be refused")
}

#[test]
fn a_missing_or_malformed_key_is_named_with_its_line() {
    let e = header_error(&GOOD.replace("# Title: Halfway through a rolling upgrade\n", ""));
    assert!(e.contains("# Title:") && e.starts_with("line "), "{e}");
    let e = header_error(&GOOD.replace("# Login: admin@newyork.example.com\n", ""));
    assert!(e.contains("# Login:"), "{e}");
    let e = header_error(&GOOD.replace("# Description:", "# Descr:"));
    assert!(e.starts_with("line 3:") && e.contains("Descr"), "{e}");

    let e = header_error(&GOOD.replace("admin@newyork.example.com", "newyork.example.com"));
    assert!(e.starts_with("line 5: # Login: needs <user>@<host>"), "{e}");
    assert!(e.contains("not \"newyork.example.com\""), "{e}");
    let e = header_error(&GOOD.replace("admin@newyork.example.com", "admin@new_york"));
    assert!(e.starts_with("line 5: # Login:") && e.contains("hostname"), "{e}");
    let e = header_error(&GOOD.replace("admin@newyork.example.com", "admin@"));
    assert!(e.starts_with("line 5: # Login: needs <user>@<host>"), "{e}");

    let e = header_error(&GOOD.replace("# Title: Halfway", "# Title:   \n# X: Halfway"));
    assert!(e.starts_with("line 2: # Title: is empty"), "{e}");
    let e = header_error(&GOOD.replace(
        "# Login: admin@newyork.example.com",
        "# Login: admin@newyork.example.com\n# Title: again",
    ));
    assert!(e.starts_with("line 6: a second # Title:"), "{e}");
    let e = header_error(&GOOD.replace("#   9.1.2.", "# just a remark 9.1.2."));
    assert!(e.starts_with("line 4:"), "{e}");
}

#[test]
fn sizes_are_bounded() {
    let long_title = format!("# Title: {}", "t".repeat(81));
    let e = header_error(&GOOD.replace("# Title: Halfway through a rolling upgrade", &long_title));
    assert!(
        e.starts_with("line 2: # Title: has 81 characters; at most 80"),
        "{e}"
    );
    let exact = format!("# Title: {}", "t".repeat(80));
    assert!(scenario_header(&GOOD.replace("# Title: Halfway through a rolling upgrade", &exact)).is_ok());

    // 601 characters over two lines (joined with a space).
    let long = format!("# Description: {}\n#   {}", "d".repeat(300), "e".repeat(300));
    let e = header_error(&GOOD.replace(
        "# Description: losangeles is upgraded to 9.5.0 and disconnected; newyork and sf are still on\n#   9.1.2. Finish the procedure.",
        &long,
    ));
    assert!(
        e.starts_with("line 3: # Description: has 601 characters; at most 600"),
        "{e}"
    );
}

#[test]
fn the_login_host_and_user_must_exist_at_the_scripts_end() {
    let e = scenario(&GOOD.replace("admin@newyork.example.com\n\n", "admin@nowhere.example.com\n\n"))
        .expect_err("an unknown login host");
    assert!(
        e.starts_with("line 5: # Login: admin@nowhere.example.com:")
            && e.contains("no machine nowhere.example.com"),
        "{e}"
    );
    let e = scenario(&GOOD.replace("admin@newyork.example.com\n\n", "carol@newyork.example.com\n\n"))
        .expect_err("an unknown login user");
    assert!(e.contains("has no user carol"), "{e}");
    // A machine the script added is a valid login host.
    let added = GOOD.replace("admin@newyork.example.com\n\n", "admin@mail1.example.com\n\n")
        + "@machine mail1.example.com 9.1.2\n";
    assert!(scenario(&added).is_ok());
    let off = GOOD.to_string() + "@power newyork.example.com off\n";
    assert!(scenario(&off).expect_err("powered off").contains("powered off"));
}

#[test]
fn a_failing_script_fails_with_its_message() {
    let e = scenario(&(GOOD.to_string() + "= Group Nowhere:\n")).expect_err("a failing expectation");
    assert!(e.starts_with("line 10:") && e.contains("Group Nowhere:"), "{e}");
}

#[test]
fn americas_is_the_fixture() {
    let s = load("americas");
    assert_eq!(s.fleet.machines, cluster::fixture::americas().machines);
    assert_eq!(s.header.login_host, host("newyork.example.com"));
}

#[test]
fn rolling_upgrade_halfway_has_losangeles_upgraded_and_detached() {
    let s = load("rolling-upgrade-halfway");
    let f = &s.fleet;
    let la = f.machine(&host("losangeles.example.com")).unwrap();
    assert_eq!(la.version, version("9.5.0"));
    assert_eq!(la.upgrade, Upgrade::Idle, "the upgrade finished");
    assert!(!la.is_down(), "it rebooted");
    assert!(la.detached);
    assert_eq!(f.connection(&la.hostname), Connection::Detached);
    assert!(la.membership.is_some(), "still a member");
    assert!(la.runtime.suspended_listeners.contains("InboundMail") || la.runtime.suspended);
    for other in ["newyork.example.com", "sf.example.com"] {
        assert_eq!(machine_version(f, other), version("9.1.2"), "{other}");
        assert_eq!(f.connection(&host(other)), Connection::Connected, "{other}");
    }
    // The rest of the procedure works from here.
    continue_with(
        "rolling-upgrade-halfway",
        "@as admin@losangeles.example.com
! clusterconfig reconnect losangeles.example.com
= it runs AsyncOS 9.5.0 but the cluster runs 9.1.2
resume
@as admin@newyork.example.com
clusterconfig disconnect newyork.example.com
clustermode machine newyork.example.com
suspendlistener
upgrade 9.5.0
> Y
@as admin@sf.example.com
clusterconfig disconnect sf.example.com
clustermode machine sf.example.com
suspendlistener
upgrade 9.5.0
> Y
@wait 600
resume
@as admin@newyork.example.com
resume
clustermode cluster
clusterconfig reconnect newyork.example.com
= cluster Americas now runs AsyncOS 9.5.0
clusterconfig reconnect losangeles.example.com sf.example.com
clusterconfig list
~ ^Machine losangeles\\.example\\.com .* version 9\\.5\\.0 connected$
~ ^Machine newyork\\.example\\.com .* version 9\\.5\\.0 connected$
~ ^Machine sf\\.example\\.com .* version 9\\.5\\.0 connected$
",
    );
}

#[test]
fn diverged_replicas_leave_work_for_clustercheck() {
    let s = load("diverged-replicas");
    let la = host("losangeles.example.com");
    assert_eq!(s.fleet.connection(&la), Connection::Detached);
    continue_with(
        "diverged-replicas",
        "@as admin@newyork.example.com
clusterconfig reconnect losangeles.example.com
= item(s) differ between members
clustercheck
= Inconsistency found!
= SMTP routes at Cluster Americas:
= losangeles.example.com was updated
= How do you want to resolve this inconsistency?
> 2
= Forced smtproutes at cluster to the settings of newyork.example.com.
= Listeners (including HAT, RAT, bounce profiles) at Cluster Americas:
> 1
= Forced listenerconfig at cluster to the settings of losangeles.example.com.
clustercheck
= No inconsistencies found.
",
    );
}

#[test]
fn standalone_first_cluster_has_no_cluster() {
    let s = load("standalone-first-cluster");
    assert!(s.fleet.clusters.is_empty());
    assert!(s.fleet.machines.len() >= 2);
    assert!(s.fleet.machines.values().all(|m| m.membership.is_none()));
    continue_with(
        "standalone-first-cluster",
        "@as admin@newyork.example.com
clusterconfig create Lab
= Cluster Lab created
@as admin@boston.example.com
clusterconfig join newyork.example.com
> Y
= joined cluster Lab
",
    );
}

#[test]
fn failed_upgrade_leaves_the_old_version_and_an_alert() {
    let s = load("failed-upgrade");
    let f = &s.fleet;
    let la = f.machine(&host("losangeles.example.com")).unwrap();
    assert_eq!(la.version, version("9.1.2"));
    assert_eq!(la.upgrade, Upgrade::Idle, "the install is over");
    assert!(!la.runtime.faults.fail_next_install, "the fault was used up");
    assert!(
        la.local
            .alerts
            .iter()
            .any(|a| a.contains("installation of AsyncOS 9.5.0 failed")),
        "{:?}",
        la.local.alerts
    );
    assert_eq!(f.connection(&la.hostname), Connection::Detached);
    for other in ["newyork.example.com", "sf.example.com"] {
        assert_eq!(machine_version(f, other), version("9.1.2"), "{other}");
        assert_eq!(f.connection(&host(other)), Connection::Connected, "{other}");
    }
    // Retrying succeeds.
    continue_with(
        "failed-upgrade",
        "@as admin@losangeles.example.com
upgrade 9.5.0
> Y
@wait 600
version
= AsyncOS version: 9.5.0
",
    );
}

#[test]
fn twenty_four_machines_in_four_groups() {
    let s = load("twenty-four-machines");
    let f = &s.fleet;
    assert_eq!(f.clusters.len(), 1);
    let (name, cluster) = f.clusters.iter().next().unwrap();
    assert_eq!(cluster.groups.len(), 4, "{:?}", cluster.groups);
    assert_eq!(f.members(name).count(), 24);
    for g in &cluster.groups {
        assert_eq!(f.group_members(name, g).count(), 6, "group {g}");
    }
    for m in f.members(name) {
        assert_eq!(f.connection(&m.hostname), Connection::Connected, "{}", m.hostname);
        assert_eq!(m.version, version("9.1.2"), "{}", m.hostname);
    }
}
