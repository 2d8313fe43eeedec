//! The test API (issue 15, `docs/testing.md`) against the real server process: test fleets from a
//! fixture or a script, a clock the test controls, faults, the export; the bad requests a test author
//! sends; and the server keeps serving everyone else.

mod common;

use common::*;
use serde_json::{json, Value};

/// A test-API call as a suite makes it: no Origin, no cookie.
async fn call(url: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = http().request(method, format!("{url}/api/v1/test{path}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn new_fleet(url: &str, body: Value) -> String {
    let (status, b) = call(url, reqwest::Method::POST, "/fleets", Some(body)).await;
    assert_eq!(status, 201, "{b}");
    b["fleet"].as_str().unwrap().to_string()
}

async fn clock(url: &str, fleet: &str, body: Value) -> (u16, Value) {
    call(
        url,
        reqwest::Method::POST,
        &format!("/fleets/{fleet}/clock"),
        Some(body),
    )
    .await
}

fn version_of(list: &str, host: &str) -> String {
    list.lines()
        .find(|l| l.contains(&format!("Machine {host}")))
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_suite_runs_the_rolling_upgrade_on_a_frozen_clock_it_advances() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(dir.path(), &["--test-api"]);
    let fleet = new_fleet(&s.url, json!({"fixture": "americas"})).await;
    assert!(fleet.starts_with("t-") && fleet.len() == 34, "{fleet}");
    let (status, c) = clock(&s.url, &fleet, json!({"freeze": true})).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(
        (c["frozen"].as_bool(), c["speed"].as_f64()),
        (Some(true), Some(0.0))
    );
    let frozen_at = c["now"].as_i64().unwrap();

    // The seed's procedure on losangeles, through the normal API, logged into the test fleet.
    let ny = Client::new_in(&s.url, Some(&fleet), "admin", "ironport", "newyork.example.com").await;
    let out = ny.cli("clusterconfig disconnect losangeles.example.com").await;
    assert!(!lines(&out).contains("Error"), "{out}");
    let la = Client::new_in(
        &s.url,
        Some(&fleet),
        "admin",
        "ironport",
        "losangeles.example.com",
    )
    .await;
    la.cli("clustermode machine losangeles.example.com").await;
    la.cli("suspendlistener").await;
    let out = la.cli("upgrade 9.5.0").await;
    assert!(lines(&out).contains("Continue?"), "{out}");
    let out = la.cli("Y").await;
    assert!(lines(&out).contains("Upgrading losangeles.example.com"), "{out}");
    // The clock stands still: nothing happens by itself.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let list = lines(&ny.cli("clusterconfig list").await);
    assert!(
        version_of(&list, "losangeles.example.com").contains("9.1.2"),
        "{list}"
    );
    let (_, f) = ny.get("/api/v1/fleet").await;
    assert_eq!(
        f["clock"]["now"].as_i64(),
        Some(frozen_at),
        "a frozen clock stays put"
    );
    // Ten minutes later: installed and rebooted, before the answer.
    let (status, c) = clock(&s.url, &fleet, json!({"advance_seconds": 600})).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["now"].as_i64(), Some(frozen_at + 600_000));
    let list = lines(&ny.cli("clusterconfig list").await);
    assert!(
        version_of(&list, "losangeles.example.com").contains("9.5.0"),
        "{list}"
    );
    let out = la.cli("resumelistener").await;
    assert!(!lines(&out).contains("Error"), "{out}");

    // Script lines on the live fleet: a user's commands, an expectation, a wait that moves the clock.
    let (status, b) = call(
        &s.url,
        reqwest::Method::POST,
        &format!("/fleets/{fleet}/script"),
        Some(json!({"script": "@as admin@losangeles.example.com\nclustermode machine losangeles.example.com\nstatus\n= AsyncOS version: 9.5.0\n@wait 60"})),
    )
    .await;
    assert_eq!(status, 200, "{b}");
    assert!(b["transcript"].as_str().unwrap().contains("9.5.0"), "{b}");
    let (_, f) = ny.get("/api/v1/fleet").await;
    assert_eq!(
        f["clock"]["now"].as_i64(),
        Some(frozen_at + 660_000),
        "the script's wait moved the clock"
    );
    let (status, b) = call(
        &s.url,
        reqwest::Method::POST,
        &format!("/fleets/{fleet}/script"),
        Some(json!({"script": "@as admin@newyork.example.com\nclusterconfig list\n= no such text anywhere"})),
    )
    .await;
    assert_eq!(
        (status, b["code"].as_str(), b["line"].as_u64()),
        (422, Some("script_failed"), Some(3)),
        "{b}"
    );
    // A fault on demand, seen by the fleet.
    let (status, b) = call(
        &s.url,
        reqwest::Method::POST,
        &format!("/fleets/{fleet}/faults"),
        Some(json!({"kind": "link", "between": ["newyork.example.com", "sf.example.com"], "state": "down"})),
    )
    .await;
    assert_eq!(status, 200, "{b}");
    // The export holds all of it.
    let (status, log) = call(
        &s.url,
        reqwest::Method::GET,
        &format!("/fleets/{fleet}/export"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let export = cluster::share::read_export(log.as_str().unwrap()).expect("an export");
    assert!(export
        .events
        .iter()
        .any(|e| cluster::share::headline(&e.event).contains("finished its upgrade")));
    assert!(export
        .events
        .iter()
        .any(|e| cluster::share::headline(&e.event).contains("test-api")
            || matches!(e.event.kind, cluster::event::EventKind::Fault { .. })));
    // Unfrozen, it runs again; deleted, it is gone.
    let (_, c) = clock(&s.url, &fleet, json!({"freeze": false})).await;
    assert_eq!(c["frozen"], false, "{c}");
    let (status, _) = call(&s.url, reqwest::Method::DELETE, &format!("/fleets/{fleet}"), None).await;
    assert_eq!(status, 204);
    let (status, b) = clock(&s.url, &fleet, json!({"freeze": true})).await;
    assert_eq!((status, b["code"].as_str()), (404, Some("unknown_fleet")), "{b}");
}

#[tokio::test]
async fn bad_requests_name_what_was_wrong_and_the_server_serves_on() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(dir.path(), &["--test-api"]);
    let post = |body: Value| {
        let url = s.url.clone();
        async move { call(&url, reqwest::Method::POST, "/fleets", Some(body)).await }
    };
    let (status, b) = post(json!({"fixture": "atlantis"})).await;
    assert_eq!(
        (status, b["code"].as_str()),
        (422, Some("unknown_fixture")),
        "{b}"
    );
    assert!(b["message"].as_str().unwrap().contains("atlantis"), "{b}");
    let (status, b) =
        post(json!({"script": "@as admin@newyork.example.com\nclusterconfig frobnicate"})).await;
    assert_eq!((status, b["code"].as_str()), (422, Some("script_failed")), "{b}");
    assert!(b["message"].as_str().unwrap().contains("line 2"), "{b}");
    let (status, b) = post(json!({"fixture": "americas", "script": "x"})).await;
    assert_eq!(status, 422, "{b}");
    let (status, b) = post(json!({"fixtur": "americas"})).await;
    assert_eq!(status, 422, "{b}");
    assert!(b["message"].as_str().unwrap().contains("fixtur"), "{b}");
    // A script seeds any situation in a few lines.
    let fleet = new_fleet(
        &s.url,
        json!({"script": "@as admin@newyork.example.com\nclusterconfig disconnect losangeles.example.com\n= No commit is needed"}),
    )
    .await;
    let ny = Client::new_in(&s.url, Some(&fleet), "admin", "ironport", "newyork.example.com").await;
    assert!(lines(&ny.cli("clusterconfig list").await).contains("disconnected"));
    for (body, field) in [
        (json!({"advance_seconds": -5}), "advance_seconds"),
        (json!({"speed": -1.0}), "speed"),
        (json!({}), "exactly one"),
        (json!({"freeze": true, "speed": 2.0}), "exactly one"),
    ] {
        let (status, b) = clock(&s.url, &fleet, body.clone()).await;
        assert_eq!(
            (status, b["code"].as_str()),
            (422, Some("bad_clock")),
            "{body}: {b}"
        );
        assert!(b["message"].as_str().unwrap().contains(field), "{body}: {b}");
    }
    let (status, b) = call(
        &s.url,
        reqwest::Method::POST,
        &format!("/fleets/{fleet}/faults"),
        Some(json!({"kind": "power", "host": "nowhere.example.com", "state": "off"})),
    )
    .await;
    assert_eq!(status, 422, "{b}");
    assert!(
        b["message"].as_str().unwrap().contains("nowhere.example.com"),
        "{b}"
    );
    for path in [
        "/fleets/t-00000000000000000000000000000000/clock",
        "/fleets/default/clock",
        "/fleets/..%2f/clock",
    ] {
        let (status, b) = call(&s.url, reqwest::Method::POST, path, Some(json!({"freeze": true}))).await;
        assert_eq!(status, 404, "{path}: {b}");
    }
    // A foreign Origin is refused even here.
    let r = http()
        .post(format!("{}/api/v1/test/fleets", s.url))
        .header("origin", "http://evil.example")
        .json(&json!({"fixture": "americas"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Everyone else is served as before.
    let admin = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    assert!(lines(&admin.cli("clusterconfig list").await).contains("newyork.example.com"));
}

#[tokio::test]
async fn the_test_api_is_off_by_default_and_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let (status, _) = call(
        &s.url,
        reqwest::Method::POST,
        "/fleets",
        Some(json!({"fixture": "americas"})),
    )
    .await;
    assert!(status == 404 || status == 403, "{status}");
    let other = tempfile::tempdir().unwrap();
    let (ok, _, err) = clusterdeck(&[
        "serve",
        "--demo",
        "--test-api",
        "--listen",
        "0.0.0.0:0",
        "--data-dir",
        other.path().to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("--test-api") && err.contains("loopback"), "{err}");
}

#[tokio::test]
async fn a_frozen_clock_holds_while_idle_and_the_test_kit_is_audited_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    // Idle fleets are unloaded after a second (the sweep runs every few seconds).
    let s = Server::start_with(dir.path(), &["--test-api", "--fleet-idle-secs", "1"]);
    let fleet = new_fleet(&s.url, json!({"fixture": "americas"})).await;
    let (_, c) = clock(&s.url, &fleet, json!({"freeze": true})).await;
    let at = c["now"].as_i64().unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    let (status, c) = clock(&s.url, &fleet, json!({"advance_seconds": 0})).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(
        (c["now"].as_i64(), c["frozen"].as_bool()),
        (Some(at), Some(true)),
        "still frozen: {c}"
    );
    // Bounded: a day per call, a day of waits per script.
    let (status, b) = clock(&s.url, &fleet, json!({"advance_seconds": 86_401})).await;
    assert_eq!((status, b["code"].as_str()), (422, Some("bad_clock")), "{b}");
    let (status, b) = call(
        &s.url,
        reqwest::Method::POST,
        &format!("/fleets/{fleet}/script"),
        Some(json!({"script": "@wait 50000\n@wait 50000"})),
    )
    .await;
    assert_eq!(
        (status, b["code"].as_str()),
        (422, Some("script_too_long")),
        "{b}"
    );
    assert!(b["message"].as_str().unwrap().contains("100000"), "{b}");
    // A fault and a script line through the test API are in the fleet's audit log, by test-api.
    let (status, _) = call(
        &s.url,
        reqwest::Method::POST,
        &format!("/fleets/{fleet}/faults"),
        Some(json!({"kind": "dns", "host": "sf.example.com", "state": "off"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, b) = call(
        &s.url,
        reqwest::Method::POST,
        &format!("/fleets/{fleet}/script"),
        Some(json!({"script": "@as admin@newyork.example.com\nclusterconfig disconnect losangeles.example.com"})),
    )
    .await;
    assert_eq!(status, 200, "{b}");
    let admin = Client::new_in(&s.url, Some(&fleet), "admin", "ironport", "newyork.example.com").await;
    let (_, audit) = admin.get("/api/v1/audit?user=test-api").await;
    let text = audit.to_string();
    assert!(text.contains("simulator: @dns sf.example.com off"), "{text}");
    assert!(
        text.contains("script: clusterconfig disconnect losangeles.example.com"),
        "{text}"
    );
    // Reads are refused to another site's pages too.
    let r = http()
        .get(format!("{}/api/v1/test/fleets/{fleet}/export", s.url))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}
