//! Sessions kept at hand (rules §15.36): a browser logs into a second machine without losing its first
//! session, switches between them, and Log out ends both. Only the browser holding the cookies can
//! switch: a kept-sessions cookie is just tokens, each checked as a session is.

mod common;

use common::*;
use serde_json::{json, Value};

/// The `name=value` pairs of every `Set-Cookie` of a response.
fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect()
}

/// The browser's cookie jar, by hand: later values win, empty ones are removed.
fn jar(old: &str, set: &[String]) -> String {
    let mut pairs: Vec<(String, String)> = old
        .split("; ")
        .filter(|kv| !kv.is_empty())
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    for kv in set {
        let (k, v) = kv.split_once('=').unwrap();
        pairs.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            pairs.push((k.to_string(), v.to_string()));
        }
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

async fn send(url: &str, cookie: &str, method: &str, path: &str, body: Option<Value>) -> reqwest::Response {
    let http = http();
    let mut req = match method {
        "GET" => http.get(format!("{url}{path}")),
        _ => http.post(format!("{url}{path}")).header("origin", url),
    };
    if !cookie.is_empty() {
        req = req.header("cookie", cookie);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_second_session_is_kept_beside_the_first_and_switching_swaps_them() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let first = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    let mut cookie = first.cookie.clone();

    // Log into losangeles, keeping newyork.
    let r = send(
        &s.url,
        &cookie,
        "POST",
        "/api/v1/login",
        Some(json!({"user": "admin", "password": "ironport", "login_host": "losangeles.example.com", "keep_current": true})),
    )
    .await;
    assert_eq!(r.status(), 200);
    let set = set_cookies(&r);
    assert_eq!(set.len(), 2, "the session and the kept one: {set:?}");
    cookie = jar(&cookie, &set);
    let me: Value = send(&s.url, &cookie, "GET", "/api/v1/session", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["login_host"], "losangeles.example.com");
    let kept: Value = send(&s.url, &cookie, "GET", "/api/v1/sessions", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kept.as_array().unwrap().len(), 1, "{kept}");
    assert_eq!(kept[0]["login_host"], "newyork.example.com");

    // The first session is still valid on its own.
    assert_eq!(first.get("/api/v1/session").await.0, 200);

    // Switch back: newyork is current, losangeles kept.
    let r = send(
        &s.url,
        &cookie,
        "POST",
        "/api/v1/sessions/switch",
        Some(json!({"login_host": "newyork.example.com"})),
    )
    .await;
    assert_eq!(r.status(), 200);
    cookie = jar(&cookie, &set_cookies(&r));
    let me: Value = send(&s.url, &cookie, "GET", "/api/v1/session", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["login_host"], "newyork.example.com");
    let kept: Value = send(&s.url, &cookie, "GET", "/api/v1/sessions", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kept[0]["login_host"], "losangeles.example.com", "{kept}");

    // A machine this browser holds no session on: 404 naming it.
    let r = send(
        &s.url,
        &cookie,
        "POST",
        "/api/v1/sessions/switch",
        Some(json!({"login_host": "boston.example.com"})),
    )
    .await;
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "no_kept_session");
    assert!(
        body["message"].as_str().unwrap().contains("boston.example.com"),
        "{body}"
    );

    // Another browser cannot switch into these sessions: its own cookie holds no kept tokens.
    let other = Client::new(&s.url, "guest1", "guest1-pass", "newyork.example.com").await;
    let r = send(
        &s.url,
        &other.cookie,
        "POST",
        "/api/v1/sessions/switch",
        Some(json!({"login_host": "losangeles.example.com"})),
    )
    .await;
    assert_eq!(r.status(), 404);

    // Log out ends both sessions and clears both cookies.
    let r = send(&s.url, &cookie, "POST", "/api/v1/logout", None).await;
    assert_eq!(r.status(), 204);
    let set = set_cookies(&r);
    assert_eq!(set.len(), 2, "{set:?}");
    assert_eq!(
        first.get("/api/v1/session").await.0,
        401,
        "newyork's session ended"
    );
    let r = send(&s.url, &cookie, "GET", "/api/v1/session", None).await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn a_forged_kept_cookie_switches_to_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let me = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    let forged = format!(
        "{}; cd_kept=default.{}~default.{}~garbage~{}",
        me.cookie,
        "0".repeat(64),
        "f".repeat(64),
        "x".repeat(5000)
    );
    let kept: Value = send(&s.url, &forged, "GET", "/api/v1/sessions", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kept, json!([]));
    let r = send(
        &s.url,
        &forged,
        "POST",
        "/api/v1/sessions/switch",
        Some(json!({"login_host": "newyork.example.com"})),
    )
    .await;
    assert_eq!(r.status(), 404, "its own session is not a kept one");
}
