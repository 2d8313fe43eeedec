//! The API against the real server process (port 0, temporary data directory): login, roles, origin
//! check, throttling, commit conflicts, durability across SIGKILL, SSE, and malformed requests.

mod common;

use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use serde_json::{json, Value};

#[tokio::test]
async fn login_good_bad_unknown_user_and_unknown_host() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let r = login(&s.url, "admin", "ironport", "newyork.example.com").await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["role"].as_str(), body["mode"].as_str()),
        (Some("administrator"), Some("cluster"))
    );
    for (user, password, host, code) in [
        ("admin", "wrong", "newyork.example.com", "login_failed"),
        ("nobody", "ironport", "newyork.example.com", "login_failed"),
        ("admin", "ironport", "nowhere.example.com", "unknown_login_host"),
    ] {
        let r = login(&s.url, user, password, host).await;
        assert_eq!(r.status(), 401, "{user}@{host}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["code"], code);
    }
    // A standalone machine has its own users: the cluster's ops does not exist on boston.
    assert_eq!(
        login(&s.url, "ops", "ops-pass", "boston.example.com")
            .await
            .status(),
        401
    );
    // Without a cookie, nothing but health and the API document.
    assert_eq!(
        http()
            .get(format!("{}/api/v1/fleet", s.url))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        http()
            .get(format!("{}/api/v1/health", s.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let doc: Value = http()
        .get(format!("{}/api/v1/openapi.json", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/commands"]["post"].is_object(), "{doc}");
}

#[tokio::test]
async fn each_role_against_commands_it_may_and_may_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let viewer = Client::new(&s.url, "viewer", "viewer-pass", "newyork.example.com").await;
    let r = viewer.cli("smtproutes new v.example.com mx.v.example.com").await;
    assert_eq!(r["status"], "ok", "a read-only operator may stage: {r}");
    let (status, e) = viewer
        .command(json!({"command": {"command": "commit", "op": "commit", "comment": null}}))
        .await;
    assert_eq!(status, 403, "{e}");
    assert_eq!(e["code"], "forbidden");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("read-only operator viewer may not run commit"),
        "{e}"
    );

    let helpdesk = Client::new(&s.url, "helpdesk", "helpdesk-pass", "sf.example.com").await;
    assert_eq!(
        helpdesk.cli("clustermode machine sf.example.com").await["status"],
        "ok"
    );
    let r = helpdesk.cli("suspendlistener InboundMail").await;
    assert_eq!(r["status"], "ok", "{r}");
    let r = helpdesk
        .cli("smtproutes new h.example.com mx.h.example.com")
        .await;
    assert_eq!(r["status"], "rejected");
    assert!(lines(&r).contains("may not run smtproutes"), "{r}");

    let guest = Client::new(&s.url, "guest1", "guest1-pass", "losangeles.example.com").await;
    assert_eq!(guest.cli("passwd guest1-other").await["status"], "ok");
    let r = guest.cli("clusterconfig disconnect sf.example.com").await;
    assert!(
        lines(&r).contains("guest guest1 may not run clusterconfig"),
        "{r}"
    );

    let ops = Client::new(&s.url, "ops", "ops-pass", "newyork.example.com").await;
    assert!(
        lines(&ops.cli("userconfig new carol operator carol-pass").await).contains("may not run userconfig")
    );
    assert_eq!(
        ops.cli("clusterconfig disconnect sf.example.com").await["status"],
        "ok"
    );

    let admin = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    assert_eq!(
        admin.cli("userconfig new carol operator carol-pass").await["status"],
        "ok"
    );
    assert_eq!(admin.cli("commit").await["status"], "ok");
    // carol now logs into members (the commit reached newyork and losangeles; sf is disconnected).
    assert_eq!(
        login(&s.url, "carol", "carol-pass", "losangeles.example.com")
            .await
            .status(),
        200
    );
    assert_eq!(
        login(&s.url, "carol", "carol-pass", "sf.example.com")
            .await
            .status(),
        401
    );
    // No password is ever shown: the fleet masks them.
    let (_, fleet) = admin.get("/api/v1/fleet").await;
    let text = fleet.to_string();
    assert!(
        !text.contains("carol-pass") && !text.contains("$argon2"),
        "secrets leak into the fleet view"
    );
    // The audit log has the refusals and masks passwords.
    let (_, audit) = admin.get("/api/v1/audit").await;
    let audit = audit.to_string();
    assert!(
        audit.contains("rejected: read-only operator viewer may not run commit"),
        "{audit}"
    );
    assert!(
        audit.contains("userconfig new carol operator ********") && !audit.contains("carol-pass"),
        "{audit}"
    );
    assert_eq!(viewer.get("/api/v1/audit").await.0, 403);
}

#[tokio::test]
async fn cross_origin_posts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    let before = admin.revision().await;
    let r = admin
        .http
        .post(format!("{}/api/v1/cli", s.url))
        .header("cookie", &admin.cookie)
        .header("origin", "http://evil.example.com")
        .json(&json!({"line": "clusterconfig disconnect sf.example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "cross_origin");
    assert_eq!(admin.revision().await, before);
    let host = s.url.strip_prefix("http://").unwrap();
    let r = admin
        .http
        .post(format!("{}/api/v1/cli", s.url))
        .header("cookie", &admin.cookie)
        .header("origin", format!("http://{host}"))
        .json(&json!({"line": "clusterconfig list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "same origin is fine");
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    for _ in 0..5 {
        assert_eq!(
            login(&s.url, "admin", "guess", "newyork.example.com")
                .await
                .status(),
            401
        );
    }
    let r = login(&s.url, "admin", "ironport", "newyork.example.com").await;
    assert_eq!(r.status(), 429, "even the right password waits");
    assert!(r.headers().contains_key("retry-after"));
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["code"], "throttled");
    // Another account from the same address is not affected by admin's failures.
    assert_eq!(
        login(&s.url, "ops", "ops-pass", "newyork.example.com")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn concurrent_commits_merge_rows_and_ask_only_about_rows_both_changed() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let a = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    let b = Client::new(&s.url, "ops", "ops-pass", "sf.example.com").await;
    // The reported loss (issue 11 item 9): both stage an entry, A commits first, B commits. Every
    // acknowledged entry must still be there, and no question is asked about rows nobody else touched.
    let rounds = 40;
    for i in 0..rounds {
        assert_eq!(
            a.cli(&format!("unsubscribe new a{i}.example.net")).await["status"],
            "ok"
        );
        assert_eq!(
            b.cli(&format!("unsubscribe new b{i}.example.net")).await["status"],
            "ok"
        );
        assert_eq!(a.cli("commit").await["status"], "ok");
        let r = b.cli("commit").await;
        assert_eq!(r["status"], "ok", "round {i}: {r}");
    }
    let printed = lines(&a.cli("unsubscribe print").await);
    let lost: Vec<String> = (0..rounds)
        .flat_map(|i| [format!("a{i}.example.net"), format!("b{i}.example.net")])
        .filter(|e| !printed.contains(e.as_str()))
        .collect();
    assert!(lost.is_empty(), "acknowledged entries lost: {lost:?}");
    // A row both changed: the question names it; N overwrites that row only, and B's other row stays.
    a.cli("smtproutes edit example.com mine.example.com").await;
    b.cli("smtproutes edit example.com theirs.example.com").await;
    b.cli("smtproutes new b-only.example.com y.example.com").await;
    assert_eq!(b.cli("commit").await["status"], "ok");
    let r = a.cli("commit").await;
    assert_eq!(r["status"], "prompt", "{r}");
    assert!(
        lines(&r).starts_with("smtproutes at cluster was changed by 'ops' on sf.example.com at ")
            && lines(&r).ends_with("after you started editing: example.com. Discard your change to it? [Y]>"),
        "{r}"
    );
    let r = a.cli("N").await;
    assert_eq!(r["status"], "ok", "{r}");
    let printed = lines(&a.cli("smtproutes print").await);
    assert!(
        printed.contains("example.com -> mine.example.com")
            && printed.contains("b-only.example.com -> y.example.com"),
        "{printed}"
    );
    // The audit log records what was overwritten and whose change it was.
    let (_, audit) = a.get("/api/v1/audit").await;
    let audit = audit.to_string();
    assert!(
        audit.contains(
            "accepted; Overwrote example.com of smtproutes at cluster (changed by 'ops' on sf.example.com"
        ),
        "{audit}"
    );
    // The typed API asks the same question and takes the answer with the re-sent command.
    b.cli("smtproutes delete b-only.example.com").await;
    a.cli("smtproutes edit b-only.example.com z.example.com").await;
    b.cli("commit").await;
    let commit = json!({"command": "commit", "op": "commit", "comment": "mine"});
    let (status, r) = a
        .command(json!({"command": commit, "revision": a.revision().await}))
        .await;
    assert_eq!((status, r["status"].as_str()), (200, Some("prompt")), "{r}");
    let (status, r) = a
        .command(json!({"command": commit, "revision": a.revision().await, "answers": ["Y"]}))
        .await;
    assert_eq!((status, r["status"].as_str()), (200, Some("ok")), "{r}");
    assert!(!lines(&a.cli("smtproutes print").await).contains("b-only"));
    // A commit against a stale revision is a conflict (409) with the current revision.
    a.cli("smtproutes new d.example.com z.example.com").await;
    let (status, e) = a.command(json!({"command": commit, "revision": 1})).await;
    assert_eq!(status, 409, "{e}");
    assert_eq!(e["code"], "stale_revision");
    assert_eq!(e["revision"].as_u64(), Some(a.revision().await));
}

#[tokio::test]
async fn acknowledged_commands_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    let mut acknowledged = 0;
    for i in 0..20 {
        let r = admin.cli(&format!("unsubscribe new kill{i}.example.net")).await;
        assert_eq!(r["status"], "ok");
        let r = admin.cli("commit").await;
        acknowledged = r["revision"].as_u64().unwrap();
    }
    let r = admin.cli("clusterconfig disconnect sf.example.com").await;
    acknowledged = acknowledged.max(r["revision"].as_u64().unwrap());
    // Let the simulated clock run well past the last event before reading it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, before) = admin.get("/api/v1/fleet").await;
    let url = s.url.clone();
    s.kill();
    let s = Server::start(dir.path());
    assert_ne!(s.url, url, "a new process on a new port");
    let again = Client {
        url: s.url.clone(),
        ..admin.clone()
    };
    let (status, after) = again.get("/api/v1/fleet").await;
    assert_eq!(status, 200, "the session cookie survives the restart");
    assert_eq!(after["revision"].as_u64(), Some(acknowledged));
    assert_eq!(
        after["fleet"], before["fleet"],
        "the state equals what was acknowledged"
    );
    assert!(
        after["clock"]["now"].as_i64() >= before["clock"]["now"].as_i64(),
        "the simulated clock does not go back across a restart"
    );
    let printed = lines(&again.cli("unsubscribe print").await);
    assert!(printed.contains("kill19.example.net"), "{printed}");
}

#[tokio::test]
async fn sse_delivers_another_sessions_events_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let watcher = Client::new(&s.url, "viewer", "viewer-pass", "sf.example.com").await;
    let actor = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    let since = watcher.revision().await;
    let response = watcher
        .http
        .get(format!("{}/api/v1/events?since={since}", s.url))
        .header("cookie", &watcher.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    actor
        .cli("smtproutes new sse.example.com mx.sse.example.com")
        .await;
    actor.cli("commit").await;
    actor.cli("clusterconfig disconnect losangeles.example.com").await;
    let target = actor.revision().await;
    let mut stream = response.bytes_stream();
    let mut text = String::new();
    let mut revisions = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while revisions.last().copied().unwrap_or(0) < target {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("events within 10 s")
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                let v: Value = serde_json::from_str(data).unwrap();
                revisions.push(v["revision"].as_u64().unwrap());
            }
        }
    }
    let expected: Vec<u64> = (since + 1..=target).collect();
    assert_eq!(revisions, expected, "every event, in order, none twice");
}

#[tokio::test]
async fn malformed_requests_get_json_4xx_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    let before = admin.revision().await;
    let huge = "x".repeat(70 * 1024);
    let hostile = "'; DROP TABLE events; --";
    let cases: Vec<(&str, &str, String, &str)> = vec![
        ("POST", "/api/v1/cli", "{".into(), "application/json"),
        ("POST", "/api/v1/cli", "[]".into(), "application/json"),
        ("POST", "/api/v1/cli", "{\"line\": 5}".into(), "application/json"),
        ("POST", "/api/v1/cli", "{\"lines\": \"list\"}".into(), "application/json"),
        ("POST", "/api/v1/cli", "line=list".into(), "application/x-www-form-urlencoded"),
        ("POST", "/api/v1/cli", format!("{{\"line\": \"{huge}\"}}"), "application/json"),
        ("POST", "/api/v1/cli", "{\"line\": null}".into(), "application/json"),
        ("POST", "/api/v1/commands", "{}".into(), "application/json"),
        ("POST", "/api/v1/commands", "{\"command\": {\"command\": \"frobnicate\"}}".into(), "application/json"),
        ("POST", "/api/v1/commands", "{\"command\": \"commit\"}".into(), "application/json"),
        ("POST", "/api/v1/commands", "{\"command\": {\"command\": \"cluster_config\", \"op\": \"stage\", \"change\": \"add_group\", \"group\": \"bad name!\"}}".into(), "application/json"),
        ("POST", "/api/v1/commands", format!("{{\"command\": {{\"command\": \"cluster_config\", \"op\": \"stage\", \"change\": \"add_group\", \"group\": \"{hostile}\"}}}}"), "application/json"),
        ("POST", "/api/v1/commands", "{\"command\": {\"command\": \"cluster_config\", \"op\": \"disconnect\", \"hosts\": [\"-bad-.host\"]}}".into(), "application/json"),
        ("POST", "/api/v1/commands", "{\"command\": {\"command\": \"cluster_mode\", \"mode\": \"planet:mars\"}}".into(), "application/json"),
        ("POST", "/api/v1/commands", "{\"command\": {\"command\": \"upgrade\", \"op\": \"install\", \"version\": \"9.x\"}}".into(), "application/json"),
        ("POST", "/api/v1/commands", "{\"command\": {\"command\": \"commit\", \"op\": \"commit\"}, \"revision\": -1}".into(), "application/json"),
        ("POST", "/api/v1/commands", "{\"command\": {\"command\": \"commit\", \"op\": \"commit\"}, \"answers\": \"Y\"}".into(), "application/json"),
        ("POST", "/api/v1/commands", format!("{{\"command\": {{\"command\": \"commit\", \"op\": \"commit\"}}, \"answers\": [\"{}\"]}}", "Y".repeat(100)), "application/json"),
        ("POST", "/api/v1/commands", "{\"command\": {\"command\": \"feature\", \"feature\": \"smtp_routes\", \"action\": {\"action\": \"new\", \"cells\": [\"bad domain!\", \"x\"]}}}".into(), "application/json"),
        ("POST", "/api/v1/commands", "{\"command\": {\"command\": \"feature\", \"feature\": \"no_such\", \"action\": {\"action\": \"print\"}}}".into(), "application/json"),
        ("POST", "/api/v1/commands", "{\"command\": {\"command\": \"cluster_config\", \"op\": \"reconnect\", \"hosts\": [\"newyork.example.com\"]}}".into(), "application/json"),
        ("POST", "/api/v1/commands", format!("{{\"command\": {{\"command\": \"cluster_config\", \"op\": \"remove_machine\", \"host\": \"{}\"}}}}", "a".repeat(300)), "application/json"),
        ("POST", "/api/v1/commands", "{\"command\": {\"command\": \"files\", \"op\": \"load\", \"name\": \"../../etc/passwd\"}}".into(), "application/json"),
        ("POST", "/api/v1/login", "{\"user\": \"admin\"}".into(), "application/json"),
        ("POST", "/api/v1/login", format!("{{\"user\": \"{hostile}\", \"password\": \"x\", \"login_host\": \"newyork.example.com\"}}"), "application/json"),
        ("POST", "/api/v1/login", "{\"user\": \"admin\", \"password\": \"x\", \"login_host\": \"<script>\"}".into(), "application/json"),
        ("GET", "/api/v1/events?since=abc", String::new(), ""),
        ("GET", "/api/v1/events", String::new(), ""),
        ("GET", "/api/v1/events?since=999999", String::new(), ""),
        ("GET", "/api/v1/audit?limit=-3", String::new(), ""),
        ("GET", "/api/v1/no-such-endpoint", String::new(), ""),
        ("DELETE", "/api/v1/fleet", String::new(), ""),
        ("GET", "/api/v2/fleet", String::new(), ""),
    ];
    assert!(cases.len() >= 30);
    for (method, path, body, content_type) in &cases {
        let mut req = admin
            .http
            .request(method.parse().unwrap(), format!("{}{path}", s.url))
            .header("cookie", &admin.cookie)
            .header("origin", &s.url);
        if !content_type.is_empty() {
            req = req.header("content-type", *content_type).body(body.clone());
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let body: Value = r
            .json()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e})"));
        assert!(
            (400..500).contains(&status),
            "{method} {path} {}: {status} {body}",
            &body.to_string().chars().take(80).collect::<String>()
        );
        assert!(
            body["code"].is_string() && body["message"].is_string(),
            "{method} {path}: {body}"
        );
    }
    assert_eq!(
        admin.revision().await,
        before,
        "no malformed request changed the fleet"
    );
}

/// A site directory holding the app shell and `files` (paths under it, with their content).
fn site_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(
        site.path().join("index.html"),
        "<!doctype html><title>shell</title>",
    )
    .unwrap();
    for (path, content) in files {
        let path = site.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    site
}

#[tokio::test]
async fn no_path_answers_500() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_with(&[("pkg/app.js", b"// app")]);
    let s = Server::start_with(dir.path(), &["--site-dir", site.path().to_str().unwrap()]);
    let long = "a".repeat(300);
    let http = http();
    let cases = [
        (format!("/{long}"), 200, "shell"),
        (format!("/machine/{long}/settings"), 200, "shell"),
        ("/machine/newyork.example.com".to_string(), 200, "shell"),
        ("/no/such/page".to_string(), 200, "shell"),
        ("/..%2f..%2fetc%2fpasswd".to_string(), 200, "shell"),
        (format!("/pkg/{long}.wasm"), 404, ""),
        ("/pkg/missing.js".to_string(), 404, ""),
        ("/missing.css".to_string(), 404, ""),
        ("/pkg/app.js".to_string(), 200, "// app"),
        (format!("/api/v1/{long}"), 404, "not_found"),
    ];
    for (path, status, body) in cases {
        let r = http.get(format!("{}{path}", s.url)).send().await.unwrap();
        let got = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert_eq!(got, status, "{}: {text}", &path[..path.len().min(60)]);
        assert!(text.contains(body), "{}: {text}", &path[..path.len().min(60)]);
    }
}

#[tokio::test]
async fn site_files_are_kept_and_revalidated_and_api_answers_never_stored() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_with(&[("pkg/app_bg.wasm", b"\0asm")]);
    let s = Server::start_with(dir.path(), &["--site-dir", site.path().to_str().unwrap()]);
    let http = http();
    let cache = |r: &reqwest::Response| {
        r.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let wasm = format!("{}/pkg/app_bg.wasm", s.url);
    let first = http.get(&wasm).send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(
        cache(&first),
        "no-cache",
        "the browser keeps the module and asks before using it"
    );
    assert_eq!(
        first.headers().get("vary").and_then(|v| v.to_str().ok()),
        Some("accept-encoding"),
        "kept per encoding: one path is served brotli, gzip or plain"
    );
    let modified = first
        .headers()
        .get("last-modified")
        .expect("a site file says when it changed")
        .clone();
    let again = http
        .get(&wasm)
        .header("if-modified-since", modified)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304, "an unchanged module is not sent again");
    assert_eq!(cache(&again), "no-cache");
    // The shell is never stored: a stored page enters the back/forward cache with its event stream
    // open, and a few reloads later those hold every connection the browser allows the server.
    for path in ["/", "/machine/sf.example.com", "/index.html"] {
        let shell = http.get(format!("{}{path}", s.url)).send().await.unwrap();
        assert_eq!(shell.status(), 200, "{path}");
        assert_eq!(cache(&shell), "no-store", "{path}");
    }
    for path in ["/api/v1/health", "/api/v1/session", "/pkg/missing.wasm"] {
        let r = http.get(format!("{}{path}", s.url)).send().await.unwrap();
        assert_eq!(cache(&r), "no-store", "{path}");
    }
}
