//! What an attacker on the network can send (issue 11), against the real server process on loopback.
//! Every test is bounded in requests and time.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// A client whose connections come from `addr` (any 127.0.0.0/8 address reaches a loopback listener).
fn client_from(addr: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(addr.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn login_with(http: &reqwest::Client, url: &str, user: &str, password: &str) -> u16 {
    http.post(format!("{url}/api/v1/login"))
        .header("origin", url)
        .json(&json!({"user": user, "password": password, "login_host": "newyork.example.com"}))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// `VmHWM` (peak) and `VmRSS` (now) of a process, in MiB.
fn memory_mib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap()
            / 1024
    };
    (field("VmHWM:"), field("VmRSS:"))
}

#[tokio::test]
async fn parallel_guesses_are_charged_before_they_are_verified() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let attacker = client_from("127.0.0.1");
    let guesses: Vec<_> = (0..50)
        .map(|i| {
            let (http, url) = (attacker.clone(), s.url.clone());
            tokio::spawn(async move { login_with(&http, &url, "admin", &format!("guess{i}")).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for g in guesses {
        statuses.push(g.await.unwrap());
    }
    let verified = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        verified <= 5,
        "{verified} of 50 parallel guesses were verified: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [401, 429, 503].contains(s)),
        "{statuses:?}"
    );
    // The guesser's address waits even with the right password; the owner elsewhere does not.
    assert_eq!(login_with(&attacker, &s.url, "admin", "ironport").await, 429);
    assert_eq!(
        login_with(&client_from("127.0.0.2"), &s.url, "admin", "ironport").await,
        200
    );
}

#[tokio::test]
async fn five_hundred_concurrent_failed_logins_keep_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let pid = s.child.id();
    let (_, before) = memory_mib(pid);
    // From 10 addresses, each guess for another (unknown) account: only the password pool bounds this.
    let clients: Vec<reqwest::Client> = (1..=10).map(|i| client_from(&format!("127.0.1.{i}"))).collect();
    let started = Instant::now();
    let attempts: Vec<_> = (0..500)
        .map(|i| {
            let (http, url) = (clients[i % clients.len()].clone(), s.url.clone());
            tokio::spawn(async move { login_with(&http, &url, &format!("nobody{i}"), "guess").await })
        })
        .collect();
    let mut statuses = Vec::new();
    for a in attempts {
        statuses.push(a.await.unwrap());
    }
    let elapsed = started.elapsed();
    let (peak, after) = memory_mib(pid);
    let count = |code: u16| statuses.iter().filter(|s| **s == code).count();
    eprintln!(
        "500 failed logins in {elapsed:?}: {} verified (401), {} busy (503), {} throttled (429); RSS {before} MiB before, peak {peak} MiB, {after} MiB after",
        count(401),
        count(503),
        count(429)
    );
    assert_eq!(count(401) + count(503) + count(429), 500, "{statuses:?}");
    assert!(count(503) > 0, "the pool refused nothing: {statuses:?}");
    assert!(peak < 300, "peak RSS {peak} MiB (goal: under 300 MiB)");
    assert!(after < 300, "RSS after {after} MiB");
    // The server still answers, and a real user still logs in.
    assert_eq!(
        login_with(&client_from("127.0.0.3"), &s.url, "admin", "ironport").await,
        200
    );
}

#[tokio::test]
async fn a_foreign_host_or_a_change_without_origin_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let port = s.url.rsplit(':').next().unwrap().to_string();
    let http = http();
    let body = json!({"user": "admin", "password": "ironport", "login_host": "newyork.example.com"});
    // DNS rebinding: the attacker's name resolves to 127.0.0.1; the browser sends a matching Origin.
    let evil = format!("rebind.evil.example:{port}");
    let r = http
        .post(format!("{}/api/v1/login", s.url))
        .header("host", &evil)
        .header("origin", format!("http://{evil}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 421);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["code"], "wrong_host");
    assert!(
        e["message"].as_str().unwrap().contains("rebind.evil.example"),
        "{e}"
    );
    let r = http
        .get(format!("{}/api/v1/health", s.url))
        .header("host", &evil)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 421, "every request, not only changes");
    // No Origin on a change: refused, whatever else is right.
    let r = http
        .post(format!("{}/api/v1/login", s.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["code"],
        "origin_required"
    );
    // localhost and 127.0.0.1 are the same loopback server.
    let r = http
        .post(format!("{}/api/v1/login", s.url))
        .header("host", format!("localhost:{port}"))
        .header("origin", format!("http://localhost:{port}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("cd_session=") && !cookie.contains("Secure"),
        "{cookie}"
    );
}

#[tokio::test]
async fn over_https_the_cookie_is_secure_and_host_bound() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(dir.path(), &["--public-url", "https://console.example.com"]);
    let http = http();
    let r = http
        .post(format!("{}/api/v1/login", s.url))
        .header("host", "console.example.com")
        .header("origin", "https://console.example.com")
        .json(&json!({"user": "admin", "password": "ironport", "login_host": "newyork.example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set.starts_with("__Host-cd_session=") && set.contains("; Secure") && set.contains("Path=/"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap();
    let r = http
        .get(format!("{}/api/v1/session", s.url))
        .header("host", "console.example.com")
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The listen address is not the public name.
    let r = http.get(format!("{}/api/v1/health", s.url)).send().await.unwrap();
    assert_eq!(r.status(), 421);
}

#[tokio::test]
async fn half_sent_headers_are_cut_off_and_one_address_cannot_take_every_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(
        dir.path(),
        &[
            "--header-read-timeout",
            "1",
            "--max-connections-per-address",
            "50",
        ],
    );
    let addr = s.url.strip_prefix("http://").unwrap().to_string();
    // Slowloris from one address: 60 sockets each sending half a header.
    let mut sockets = Vec::new();
    for _ in 0..60 {
        let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let _ = c.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: ").await;
        sockets.push(c);
    }
    // The others still get served at once.
    let other = client_from("127.0.0.2");
    let r = other
        .get(format!("{}/api/v1/health", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Past the per-address bound, a socket is answered 503 and closed at once; within a few seconds the
    // server has closed every half-sent one.
    let started = Instant::now();
    let (mut busy, mut closed) = (0, 0);
    for mut c in sockets {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut buf)).await;
        match read {
            Ok(_) if String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 503") => busy += 1,
            Ok(_) => closed += 1,
            Err(_) => panic!("a half-sent request was still open after {:?}", started.elapsed()),
        }
    }
    assert!(busy >= 10, "{busy} refused, {closed} timed out");
    assert_eq!(busy + closed, 60);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn sigterm_ends_open_event_streams_and_writes_the_final_snapshot() {
    use futures_util::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(dir.path());
    let admin = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    admin.cli("clusterconfig disconnect sf.example.com").await;
    let revision = admin.revision().await;
    let stream = admin
        .http
        .get(format!("{}/api/v1/events?since={revision}", s.url))
        .header("cookie", &admin.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut body = stream.bytes_stream();
    let pid = s.child.id().to_string();
    let started = Instant::now();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    // The stream ends...
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(chunk) = body.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the event stream was still open 5 s after SIGTERM");
    // ...and the process exits within seconds, having written the final snapshot.
    let status = loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still running 5 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status}");
    let db = rusqlite::Connection::open(dir.path().join("fleets/default.db")).unwrap();
    let snapshot: i64 = db
        .query_row("SELECT max(revision) FROM snapshots", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        snapshot as u64, revision,
        "the final snapshot is at the last revision"
    );
}

#[tokio::test]
async fn fifty_slow_readers_of_the_whole_backlog_do_not_hold_up_anyone() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    // A thousand events: suspend and resume from the machine page, eight sessions at a time.
    let mut sessions = Vec::new();
    for _ in 0..8 {
        sessions.push(Client::new(&s.url, "admin", "ironport", "newyork.example.com").await);
    }
    let writers: Vec<_> = sessions
        .into_iter()
        .enumerate()
        .map(|(w, c)| {
            tokio::spawn(async move {
                for i in 0..125 {
                    let op = if (w + i) % 2 == 0 { "suspend" } else { "resume" };
                    let (status, r) = c
                        .command(json!({"command": {"command": "runtime", "op": op}, "mode": "machine:newyork.example.com"}))
                        .await;
                    assert_eq!(status, 200, "{r}");
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let revision = admin.revision().await;
    assert!(revision >= 1000, "{revision}");
    let since = revision - 1000;
    // Fifty streams asking for all of it, never reading.
    let addr = s.url.strip_prefix("http://").unwrap().to_string();
    let mut readers = Vec::new();
    for _ in 0..50 {
        let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let request = format!(
            "GET /api/v1/events?since={since} HTTP/1.1\r\nHost: {addr}\r\nCookie: {}\r\n\r\n",
            admin.cookie
        );
        c.write_all(request.as_bytes()).await.unwrap();
        readers.push(c);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut times = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        assert_eq!(admin.get("/api/v1/session").await.0, 200);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let p99 = times[98];
    let (peak, now) = memory_mib(s.child.id());
    eprintln!("GET /session beside 50 slow backlog readers: p50 {:.1} ms, p99 {p99:.1} ms; RSS peak {peak} MiB, now {now} MiB", times[49]);
    assert!(p99 < 50.0, "p99 {p99:.1} ms (goal: under 50 ms)");
    assert!(peak < 300, "peak RSS {peak} MiB");
    drop(readers);
}

#[tokio::test]
async fn a_guest_cannot_grow_the_audit_log_without_bound() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(dir.path(), &["--audit-max-entries", "100"]);
    let admin = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    assert_eq!(
        admin.cli("unsubscribe new kept.example.net").await["status"],
        "ok"
    );
    assert_eq!(admin.cli("commit").await["status"], "ok");
    let guest = Client::new(&s.url, "guest1", "guest1-pass", "newyork.example.com").await;
    let long = "x".repeat(4000);
    for _ in 0..300 {
        let r = guest.cli(&format!("clusterconfig addgroup {long}")).await;
        assert_ne!(r["status"], "ok");
    }
    assert_eq!(
        admin.cli("unsubscribe new last.example.net").await["status"],
        "ok"
    );
    assert_eq!(admin.cli("commit").await["status"], "ok");
    let (_, audit) = admin.get("/api/v1/audit?limit=1000").await;
    let entries = audit
        .as_array()
        .unwrap_or_else(|| audit["entries"].as_array().unwrap());
    let refused = entries
        .iter()
        .filter(|e| e["outcome"].as_str().unwrap().starts_with("rejected"))
        .count();
    assert!(refused <= 100, "{refused} refused entries kept");
    assert!(entries.len() <= 200, "{} entries kept", entries.len());
    // The flood did not push the acknowledged commands out: the one from before it is still there.
    assert!(
        entries
            .iter()
            .any(|e| e["line"] == "unsubscribe new kept.example.net"),
        "the acknowledged command before the flood was dropped"
    );
    for e in entries {
        let line = e["line"].as_str().unwrap();
        assert!(
            line.chars().count() <= 2049,
            "{} characters kept",
            line.chars().count()
        );
        if e["outcome"].as_str().unwrap().starts_with("rejected") {
            assert!(line.chars().count() <= 201 && line.ends_with('…'), "{line}");
        }
    }
    let db = rusqlite::Connection::open(dir.path().join("fleets/default.db")).unwrap();
    let bytes: i64 = db
        .query_row("SELECT sum(length(line) + length(outcome)) FROM audit", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(bytes < 200 * 1500, "the audit table holds {bytes} bytes");
}

async fn login_on(
    http: &reqwest::Client,
    url: &str,
    user: &str,
    password: &str,
    host: &str,
) -> (u16, String) {
    let r = http
        .post(format!("{url}/api/v1/login"))
        .header("origin", url)
        .json(&json!({"user": user, "password": password, "login_host": host}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    (status, body["code"].as_str().unwrap_or_default().to_string())
}

#[tokio::test]
async fn attempts_cut_off_by_the_client_count_as_failures_and_never_stick() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let addr = s.url.strip_prefix("http://").unwrap().to_string();
    let body = r#"{"user":"ops","password":"wrong-guess","login_host":"newyork.example.com"}"#;
    // Twenty-five guesses from five addresses, each hung up on while its password is being checked.
    for i in 0..25 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket
            .bind(format!("127.0.4.{}:0", 1 + i % 5).parse().unwrap())
            .unwrap();
        let mut c = socket.connect(addr.parse().unwrap()).await.unwrap();
        let request = format!(
            "POST /api/v1/login HTTP/1.1\r\nHost: {addr}\r\nOrigin: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            s.url,
            body.len()
        );
        c.write_all(request.as_bytes()).await.unwrap();
        // Long enough for a busy server to have read the request (2 ms was not, on a loaded 2-core
        // machine: the guess was then never made), far shorter than a password check.
        tokio::time::sleep(Duration::from_millis(10)).await;
        c.set_zero_linger().unwrap();
        drop(c);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The cut-off guesses counted as failures: those addresses are throttled, not stuck "in flight"...
    let (status, code) = login_on(
        &client_from("127.0.4.1"),
        &s.url,
        "ops",
        "ops-pass",
        "newyork.example.com",
    )
    .await;
    assert_eq!((status, code.as_str()), (429, "throttled"));
    // ...and nothing is left holding the account: the owner elsewhere logs in.
    let (status, code) = login_on(
        &client_from("127.0.4.9"),
        &s.url,
        "ops",
        "ops-pass",
        "newyork.example.com",
    )
    .await;
    assert_eq!(status, 200, "{code}");
}

#[tokio::test]
async fn the_login_hosts_of_a_cluster_share_one_count_and_the_owner_is_never_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    // Fifty parallel guesses from one address, spread over the cluster's three login hosts.
    let attacker = client_from("127.0.5.1");
    let hosts = ["newyork.example.com", "sf.example.com", "losangeles.example.com"];
    let guesses: Vec<_> = (0..50)
        .map(|i| {
            let (http, url) = (attacker.clone(), s.url.clone());
            tokio::spawn(async move {
                login_on(&http, &url, "admin", &format!("guess{i}"), hosts[i % 3])
                    .await
                    .0
            })
        })
        .collect();
    let mut verified = 0;
    for g in guesses {
        if g.await.unwrap() == 401 {
            verified += 1;
        }
    }
    assert!(verified <= 5, "{verified} guesses verified");
    // Strangers on thirty addresses keep guessing; the owner on a fresh address still gets in every time.
    for round in 0..3 {
        for i in 0..30 {
            let http = client_from(&format!("127.0.6.{}", i + 1));
            login_on(&http, &s.url, "admin", "guess", hosts[i % 3]).await;
        }
        let owner = client_from(&format!("127.0.7.{}", round + 1));
        let (status, code) = login_on(&owner, &s.url, "admin", "ironport", "sf.example.com").await;
        assert_eq!(status, 200, "round {round}: the owner got {status} {code}");
    }
}

#[tokio::test]
async fn over_https_only_the_host_cookie_counts() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(dir.path(), &["--public-url", "https://console.example.com"]);
    let http = http();
    let login = |user: &'static str, password: &'static str| {
        let (http, url) = (http.clone(), s.url.clone());
        async move {
            let r = http
                .post(format!("{url}/api/v1/login"))
                .header("host", "console.example.com")
                .header("origin", "https://console.example.com")
                .json(&json!({"user": user, "password": password, "login_host": "newyork.example.com"}))
                .send()
                .await
                .unwrap();
            let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
            set.split(';')
                .next()
                .unwrap()
                .split_once('=')
                .unwrap()
                .1
                .to_string()
        }
    };
    let admin = login("admin", "ironport").await;
    let guest = login("guest1", "guest1-pass").await;
    let whoami = |cookie: String| {
        let (http, url) = (http.clone(), s.url.clone());
        async move {
            let r = http
                .get(format!("{url}/api/v1/session"))
                .header("host", "console.example.com")
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (
                status,
                r.json::<serde_json::Value>().await.unwrap_or_default()["user"].clone(),
            )
        }
    };
    // A plain cd_session planted beside the real one changes nothing; alone it is no session.
    let (status, user) = whoami(format!("cd_session={guest}; __Host-cd_session={admin}")).await;
    assert_eq!((status, user), (200, json!("admin")));
    assert_eq!(whoami(format!("cd_session={admin}")).await.0, 401);
}

#[tokio::test]
async fn a_guest_reading_all_day_cannot_push_changes_out_of_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(dir.path(), &["--audit-max-entries", "100"]);
    let admin = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    for i in 0..20 {
        admin.cli(&format!("unsubscribe new read{i}.example.net")).await;
        assert_eq!(admin.cli("commit").await["status"], "ok");
    }
    let guest = Client::new(&s.url, "guest1", "guest1-pass", "newyork.example.com").await;
    for i in 0..400 {
        guest.cli(if i % 2 == 0 { "help" } else { "status" }).await;
    }
    let (_, audit) = admin.get("/api/v1/audit?limit=1000").await;
    let commits = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["line"] == "commit" && e["outcome"] == "accepted")
        .count();
    assert_eq!(commits, 20, "acknowledged commits kept");
    assert!(audit.as_array().unwrap().iter().any(|e| e["outcome"] == "read"));
}

#[tokio::test]
async fn an_event_stream_closes_right_after_its_session_ends() {
    use futures_util::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    let revision = admin.revision().await;
    let stream = admin
        .http
        .get(format!("{}/api/v1/events?since={revision}", s.url))
        .header("cookie", &admin.cookie)
        .send()
        .await
        .unwrap();
    let mut body = stream.bytes_stream();
    let r = admin
        .http
        .post(format!("{}/api/v1/logout", s.url))
        .header("cookie", &admin.cookie)
        .header("origin", &s.url)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let mut text = String::new();
    let ended = tokio::time::timeout(Duration::from_secs(3), async {
        while let Some(Ok(chunk)) = body.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the stream was still open 3 s after its session ended: {text}"
    );
    assert!(text.contains("event: ended"), "{text}");
}
