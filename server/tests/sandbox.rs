//! Sandbox mode (issue 14, rules §18) against the real server process: a fleet per visitor from a
//! scenario, logins bound to it, reset, shares without secrets, forks, the time to live, the cap, the
//! creation rate, and survival across a restart.

mod common;

use common::*;
use serde_json::{json, Value};

fn scenarios_dir() -> String {
    format!("{}/../scenarios/demo", env!("CARGO_MANIFEST_DIR"))
}

fn sandbox_server(dir: &std::path::Path, extra: &[&str]) -> Server {
    let scenarios = scenarios_dir();
    let mut flags = vec!["--sandbox", "--sandbox-scenarios", scenarios.as_str()];
    flags.extend_from_slice(extra);
    Server::start_with(dir, &flags)
}

/// A visitor: a cookie-keeping client that starts a sandbox from `scenario`.
async fn visit(url: &str, scenario: &str) -> (Client, Value) {
    let r = http()
        .post(format!("{url}/api/v1/sandboxes"))
        .header("origin", url)
        .json(&json!({"scenario": scenario}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let set: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let cookie = if status == 200 {
        session_cookie(&set)
    } else {
        String::new()
    };
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    (
        Client {
            http: http(),
            url: url.to_string(),
            cookie,
        },
        body,
    )
}

async fn post_raw(url: &str, path: &str, cookie: Option<&str>, body: Value) -> (u16, Value, Vec<String>) {
    let mut req = http()
        .post(format!("{url}{path}"))
        .header("origin", url)
        .json(&body);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let cookies = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
        cookies,
    )
}

/// The `Cookie` header a browser sends after these `Set-Cookie`s: the session and the sandbox key.
fn session_cookie(cookies: &[String]) -> String {
    let get = |name: &str| {
        cookies
            .iter()
            .find(|v| v.starts_with(&format!("{name}=")) && !v.starts_with(&format!("{name}=;")))
            .map(|v| v.split(';').next().unwrap().to_string())
            .unwrap_or_else(|| panic!("a {name} cookie in {cookies:?}"))
    };
    format!("{}; {}", get("cd_session"), get("cd_sandbox"))
}

#[tokio::test]
async fn two_visitors_get_their_own_sandboxes_and_logins_stay_in_them() {
    let dir = tempfile::tempdir().unwrap();
    let s = sandbox_server(dir.path(), &[]);
    let (status, list) = http()
        .get(format!("{}/api/v1/sandboxes/scenarios", s.url))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(status, 200);
    let list: Value = list.json().await.unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    for id in [
        "americas",
        "rolling-upgrade-halfway",
        "diverged-replicas",
        "standalone-first-cluster",
        "twenty-four-machines",
        "failed-upgrade",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    assert!(list[0]["title"].as_str().is_some_and(|t| !t.is_empty()));

    let (alice, a) = visit(&s.url, "americas").await;
    let (bob, b) = visit(&s.url, "americas").await;
    let (fa, fb) = (a["fleet"].as_str().unwrap(), b["fleet"].as_str().unwrap());
    assert_ne!(fa, fb);
    assert!(fa.starts_with("sb-") && fa.len() == 35, "128 random bits: {fa}");
    assert_eq!(a["session"]["user"], "admin");
    assert_eq!(a["scenario"], "americas");
    assert!(a["seconds_left"].as_u64().unwrap() > 1700);

    // Alice breaks her cluster; Bob's is whole.
    let out = alice
        .cli("clusterconfig removemachine losangeles.example.com")
        .await;
    let out = if lines(&out).contains("Continue?") {
        alice.cli("Y").await
    } else {
        out
    };
    assert!(!lines(&out).contains("Error"), "{out}");
    let listed = |out: &Value| lines(out).contains("Machine losangeles.example.com");
    assert!(
        !listed(&alice.cli("clusterconfig list").await),
        "losangeles left Alice's cluster"
    );
    assert!(
        listed(&bob.cli("clusterconfig list").await),
        "Alice's change is hers only"
    );

    // The default fleet is closed, even with the published demo passwords.
    let r = login(&s.url, "admin", "ironport", "newyork.example.com").await;
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "sandbox_only", "{body}");
    let r = login_to(
        &s.url,
        Some("default"),
        "admin",
        "ironport",
        "newyork.example.com",
    )
    .await;
    assert_eq!(r.status(), 403);

    // Alice switches role inside her sandbox; naming Bob's fleet is refused.
    let (status, body, _) = post_raw(
        &s.url,
        "/api/v1/login",
        Some(&alice.cookie),
        json!({"user": "ops", "password": "ops-pass", "login_host": "sf.example.com", "keep_current": true}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["fleet"], fa);
    let (status, body, _) = post_raw(
        &s.url,
        "/api/v1/login",
        Some(&alice.cookie),
        json!({"user": "admin", "password": "ironport", "login_host": "sf.example.com", "fleet": fb}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("sandbox_only")),
        "{body}"
    );

    // Knowing a sandbox's name is not enough: a key cookie must carry its key.
    let forged = format!("cd_sandbox={fb}.{}", "0".repeat(64));
    let (status, body, _) = post_raw(
        &s.url,
        "/api/v1/login",
        Some(&forged),
        json!({"user": "admin", "password": "ironport", "login_host": "newyork.example.com"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("sandbox_only")),
        "{body}"
    );
    let session_only = alice.cookie.split("; ").next().unwrap().to_string();
    let (status, body, _) = post_raw(
        &s.url,
        "/api/v1/login",
        Some(&session_only),
        json!({"user": "viewer", "password": "viewer-pass", "login_host": "newyork.example.com"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("sandbox_only")),
        "a session cookie alone is no key: {body}"
    );

    // The current sandbox, as its visitor sees it.
    let (status, cur) = bob.get("/api/v1/sandboxes/current").await;
    assert_eq!(status, 200);
    assert_eq!(cur["fleet"], fb);
    assert_eq!(cur["title"], b["title"]);

    // A scenario that does not exist is named.
    let (status, body, _) = post_raw(&s.url, "/api/v1/sandboxes", None, json!({"scenario": "nope"})).await;
    assert_eq!(status, 404);
    assert!(body["message"].as_str().unwrap().contains("\"nope\""), "{body}");
}

#[tokio::test]
async fn reset_restores_the_scenario_and_a_share_replays_without_secrets_and_forks() {
    let dir = tempfile::tempdir().unwrap();
    let s = sandbox_server(dir.path(), &[]);
    let (v, started) = visit(&s.url, "americas").await;
    let first_fleet = started["fleet"].as_str().unwrap().to_string();
    let out = v.cli("clusterconfig disconnect losangeles.example.com").await;
    assert!(!lines(&out).contains("Error"), "{out}");
    v.cli("userconfig new carol operator carol-secret-1").await;
    v.cli("commit added carol").await;

    // Share: a code of 128 bits, a link, readable without login, with no secret in it.
    let (status, share, _) = post_raw(&s.url, "/api/v1/shares", Some(&v.cookie), json!({})).await;
    assert_eq!(status, 200, "{share}");
    let code = share["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 32);
    assert!(share["url"].as_str().unwrap().ends_with(&format!("/s/{code}")));
    let log = http()
        .get(format!("{}/api/v1/shares/{code}", s.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        log.starts_with("{\"clusterdeck_export\":1"),
        "{}",
        &log[..80.min(log.len())]
    );
    for secret in ["$argon2", "ironport", "carol-secret-1", "token"] {
        assert!(!log.contains(secret), "the share holds {secret}");
    }
    let export = cluster::share::read_export(&log).expect("the share reads as an export");
    assert!(export
        .events
        .iter()
        .any(|e| cluster::share::headline(&e.event).contains("losangeles.example.com disconnected")));
    let (status, info) = Client {
        http: http(),
        url: s.url.clone(),
        cookie: String::new(),
    }
    .get(&format!("/api/v1/shares/{code}/info"))
    .await;
    assert_eq!(status, 200);
    let commands = info["commands"].to_string();
    assert!(
        commands.contains("clusterconfig disconnect losangeles.example.com"),
        "{commands}"
    );
    assert!(!commands.contains("carol-secret-1"), "{commands}");
    // An unknown or malformed code is a 404 naming it.
    let r = http()
        .get(format!("{}/api/v1/shares/../../etc", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = http()
        .get(format!("{}/api/v1/shares/%ff%fe/info", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.expect("a JSON error");
    assert_eq!(body["code"], "unknown_share");

    // Reset: a new sandbox from the scenario's start, the cookie moves to it, the old one is gone.
    let (status, reset, cookies) =
        post_raw(&s.url, "/api/v1/sandboxes/reset", Some(&v.cookie), json!({})).await;
    assert_eq!(status, 200, "{reset}");
    assert_ne!(reset["fleet"], first_fleet.as_str());
    let fresh = Client {
        http: http(),
        url: s.url.clone(),
        cookie: session_cookie(&cookies),
    };
    let out = fresh.cli("clusterconfig list").await;
    assert!(
        lines(&out).contains("losangeles.example.com") && !lines(&out).contains("disconnected"),
        "{out}"
    );
    let (status, body) = v.get("/api/v1/session").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("sandbox_gone")),
        "{body}"
    );

    // Fork the share at its last revision: the visitor's change is there, the demo passwords work.
    let (status, fork, cookies) =
        post_raw(&s.url, &format!("/api/v1/shares/{code}/fork"), None, json!({})).await;
    assert_eq!(status, 200, "{fork}");
    let forked = Client {
        http: http(),
        url: s.url.clone(),
        cookie: session_cookie(&cookies),
    };
    let out = forked.cli("clusterconfig list").await;
    assert!(lines(&out).contains("disconnected"), "{out}");
    let (status, body, _) = post_raw(
        &s.url,
        "/api/v1/login",
        Some(&forked.cookie),
        json!({"user": "viewer", "password": "viewer-pass", "login_host": "newyork.example.com"}),
    )
    .await;
    assert_eq!(status, 200, "the demo passwords work in a fork: {body}");
    let (status, body, _) = post_raw(
        &s.url,
        "/api/v1/login",
        Some(&forked.cookie),
        json!({"user": "carol", "password": "********", "login_host": "newyork.example.com"}),
    )
    .await;
    assert_eq!(status, 401, "a masked password is no password: {body}");
    // A fork at a revision outside the share is refused, naming the range.
    let (status, body, _) = post_raw(
        &s.url,
        &format!("/api/v1/shares/{code}/fork"),
        None,
        json!({"revision": 999_999}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["message"].as_str().unwrap().contains("revisions"), "{body}");
}

#[tokio::test]
async fn idle_sandboxes_expire_the_cap_evicts_the_idlest_and_creation_is_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let s = sandbox_server(
        dir.path(),
        &["--sandbox-ttl", "3", "--sandbox-max", "2", "--sandbox-rate", "3"],
    );
    let (a, _) = visit(&s.url, "americas").await;
    let (b, _) = visit(&s.url, "americas").await;
    // Both in use: a third visitor is told the demo is full.
    let (status, body, _) =
        post_raw(&s.url, "/api/v1/sandboxes", None, json!({"scenario": "americas"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("demo_full")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("try again in a minute"),
        "{body}"
    );
    // Past the rate: three creations (two made, one refused for the cap) used the minute's allowance.
    let (status, body, _) =
        post_raw(&s.url, "/api/v1/sandboxes", None, json!({"scenario": "americas"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("sandbox_rate")),
        "{body}"
    );
    // Unused for longer than the time to live, both are discarded, and their visitors told why.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    for v in [&a, &b] {
        let (status, body) = v.get("/api/v1/session").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("sandbox_gone")),
            "{body}"
        );
        assert!(body["message"].as_str().unwrap().contains("not used"), "{body}");
    }
    let fleets = std::fs::read_dir(dir.path().join("fleets"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("sb-"))
        .count();
    assert_eq!(fleets, 0, "a discarded sandbox's files are removed");
}

#[tokio::test]
async fn sandboxes_survive_a_restart_until_their_time_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let s = sandbox_server(dir.path(), &[]);
    let (v, _) = visit(&s.url, "rolling-upgrade-halfway").await;
    let out = v.cli("clusterconfig list").await;
    assert!(lines(&out).contains("9.5.0"), "the scenario's state: {out}");
    v.cli("clusterconfig disconnect sf.example.com").await;
    let before = v.revision().await;
    s.kill();
    let s = sandbox_server(dir.path(), &[]);
    let v = Client {
        url: s.url.clone(),
        ..v
    };
    assert_eq!(
        v.revision().await,
        before,
        "the same sandbox, at the same revision"
    );
    let (status, cur) = v.get("/api/v1/sandboxes/current").await;
    assert_eq!(status, 200, "{cur}");
    assert_eq!(cur["scenario"], "rolling-upgrade-halfway");
}

#[tokio::test]
async fn without_sandbox_mode_the_endpoints_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let (status, body, _) =
        post_raw(&s.url, "/api/v1/sandboxes", None, json!({"scenario": "americas"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("not_sandbox_mode")),
        "{body}"
    );
}

#[tokio::test]
async fn creations_at_once_never_overshoot_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let s = sandbox_server(dir.path(), &["--sandbox-max", "5", "--sandbox-rate", "1000"]);
    let tries: Vec<_> = (0..20)
        .map(|_| {
            let url = s.url.clone();
            tokio::spawn(async move {
                post_raw(&url, "/api/v1/sandboxes", None, json!({"scenario": "americas"}))
                    .await
                    .0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tries {
        statuses.push(t.await.unwrap());
    }
    let made = statuses.iter().filter(|s| **s == 200).count();
    let full = statuses.iter().filter(|s| **s == 503).count();
    assert_eq!((made, full), (5, 15), "{statuses:?}");
}

#[tokio::test]
async fn a_visitor_whose_session_ended_logs_in_again_with_the_sandbox_key() {
    let dir = tempfile::tempdir().unwrap();
    let s = sandbox_server(dir.path(), &[]);
    let (v, started) = visit(&s.url, "americas").await;
    let key = v.cookie.split("; ").nth(1).unwrap().to_string();
    // Log out: the session ends, the sandbox stays the browser's.
    let (status, _, _) = post_raw(&s.url, "/api/v1/logout", Some(&v.cookie), json!({})).await;
    assert_eq!(status, 204);
    let (status, cur) = Client {
        http: http(),
        url: s.url.clone(),
        cookie: key.clone(),
    }
    .get("/api/v1/sandboxes/current")
    .await;
    assert_eq!(status, 200, "{cur}");
    assert_eq!(cur["fleet"], started["fleet"]);
    let (status, body, _) = post_raw(
        &s.url,
        "/api/v1/login",
        Some(&key),
        json!({"user": "admin", "password": "ironport", "login_host": "losangeles.example.com"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["fleet"], started["fleet"]);
    // Its files are the server's only.
    use std::os::unix::fs::PermissionsExt;
    for d in ["sandboxes", "fleets", "shares"] {
        let mode = std::fs::metadata(dir.path().join(d))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700, "{d}");
    }
    let record = std::fs::read_dir(dir.path().join("sandboxes"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(record.metadata().unwrap().permissions().mode() & 0o777, 0o600);
}
