//! Sessions apart from the fleet, views scoped by role, and many fleets in one server (issue 10), against
//! the real server process.

mod common;

use common::*;
use serde_json::{json, Value};

fn fleet_text(v: &Value) -> String {
    v["fleet"].to_string()
}

#[tokio::test]
async fn logins_mode_switches_and_staging_change_no_revision_and_make_no_one_stale() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    let before = admin.revision().await;
    // Another administrator logs in, switches modes and stages: nothing of the fleet changes.
    let ops = Client::new(&s.url, "ops", "ops-pass", "sf.example.com").await;
    ops.cli("clustermode group West").await;
    ops.cli("smtproutes new staged.example.com mx.staged.example.com")
        .await;
    assert_eq!(
        admin.revision().await,
        before,
        "logins, modes and staging are the sessions' own"
    );
    // So the admin's immediate command, checked against the revision it saw, is not stale.
    let (status, body) = admin
        .command(json!({
            "command": {"command": "cluster_config", "op": "disconnect", "hosts": ["losangeles.example.com"]},
            "revision": before
        }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(admin.revision().await, before + 1);
    // A page names its mode: staging at group:Main_Group from a page leaves the session's CLI mode alone.
    let (status, body) = admin
        .command(json!({
            "command": {"command": "feature", "feature": "smtp_routes",
                        "action": {"action": "new", "cells": ["page.example.com", "mx.page.example.com"]}},
            "mode": "group:Main_Group",
            "answers": ["2"]
        }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["session"]["mode"], "cluster",
        "the terminal's mode is unchanged: {body}"
    );
    let pending = body["session"]["pending"].to_string();
    assert!(
        pending.contains("group:Main_Group") && pending.contains("page.example.com"),
        "{pending}"
    );
    let (_, session) = admin.get("/api/v1/session").await;
    assert_eq!(session["mode"], "cluster");
    assert_eq!(session["prompt"], "(Cluster Americas)>");
}

#[tokio::test]
async fn a_guest_sees_no_ones_staged_work_and_no_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    // Another administrator stages a user and does not commit it.
    let other = Client::new(&s.url, "admin", "ironport", "losangeles.example.com").await;
    let r = other
        .cli("userconfig new secretuser administrator secret-pass")
        .await;
    assert_eq!(r["status"], "ok", "{r}");
    admin
        .cli("smtproutes new hidden.example.com mx.hidden.example.com")
        .await;
    admin.cli("commit routes for the hidden partner").await;
    let guest = Client::new(&s.url, "guest1", "guest1-pass", "sf.example.com").await;
    let (status, view) = guest.get("/api/v1/fleet").await;
    assert_eq!(status, 200);
    let text = fleet_text(&view);
    assert!(
        !text.contains("secretuser"),
        "a guest never sees another session's staged users"
    );
    assert!(
        !text.contains("hidden.example.com"),
        "a guest sees status, not configuration"
    );
    assert!(!text.contains("$argon2"), "no password hash leaves the server");
    assert!(text.contains("InboundMail"), "status needs the listeners: {text}");
    let events = read_events(&guest, 0, 800).await;
    assert!(
        events.contains("event: event"),
        "the guest's stream has the commit: {events}"
    );
    assert!(
        !events.contains("secretuser") && !events.contains("hidden.example.com"),
        "{events}"
    );
    assert!(
        !events.contains("hidden partner"),
        "commit comments are for who may read the audit log"
    );
    // The operator sees configuration, but not the admin's staged user nor the comment.
    let ops = Client::new(&s.url, "ops", "ops-pass", "sf.example.com").await;
    let (_, view) = ops.get("/api/v1/fleet").await;
    let text = fleet_text(&view);
    assert!(
        text.contains("hidden.example.com") && !text.contains("secretuser"),
        "{text}"
    );
    let events = read_events(&ops, 0, 800).await;
    assert!(
        events.contains("hidden.example.com") && !events.contains("hidden partner"),
        "{events}"
    );
    // The admin who may read the audit log sees the comment.
    let events = read_events(&admin, 0, 800).await;
    assert!(events.contains("hidden partner"), "{events}");
    // 200 more logins do not grow the fleet the guest reads.
    let size = fleet_text(&guest.get("/api/v1/fleet").await.1).len();
    for _ in 0..20 {
        Client::new(&s.url, "viewer", "viewer-pass", "newyork.example.com").await;
    }
    assert_eq!(fleet_text(&guest.get("/api/v1/fleet").await.1).len(), size);
}

#[tokio::test]
async fn two_fleets_in_one_server_are_isolated_and_an_export_imports_to_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_string();
    let s = Server::start(dir.path());
    // A second fleet, made by the operator's CLI while the server runs.
    let (ok, out, err) = clusterdeck(&[
        "fleet",
        "create",
        "lab",
        "--fixture",
        "americas",
        "--demo",
        "--data-dir",
        &data,
    ]);
    assert!(ok, "{out}{err}");
    let (ok, out, _) = clusterdeck(&["fleet", "list", "--data-dir", &data]);
    assert!(ok && out.contains("default") && out.contains("lab"), "{out}");
    let main = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    let lab = Client::new_in(&s.url, Some("lab"), "admin", "ironport", "newyork.example.com").await;
    let (_, session) = lab.get("/api/v1/session").await;
    assert_eq!(session["fleet"], "lab");
    let watching = tokio::spawn({
        let main = main.clone();
        let since = main.revision().await;
        async move { read_events(&main, since, 1500).await }
    });
    lab.cli("smtproutes new lab-only.example.com mx.lab.example.com")
        .await;
    let r = lab.cli("commit").await;
    assert_eq!(r["status"], "ok", "{r}");
    lab.cli("clusterconfig disconnect sf.example.com").await;
    let main_events = watching.await.unwrap();
    assert!(
        !main_events.contains("lab-only") && !main_events.contains("event: event"),
        "{main_events}"
    );
    assert!(!fleet_text(&main.get("/api/v1/fleet").await.1).contains("lab-only"));
    assert!(fleet_text(&lab.get("/api/v1/fleet").await.1).contains("lab-only"));
    // A fleet that does not exist answers as a wrong password does: fleet names cannot be probed.
    let (code, body) = login_to(&s.url, Some("nosuch"), "admin", "ironport", "newyork.example.com")
        .await
        .json::<Value>()
        .await
        .map(|v| (v["code"].as_str().unwrap_or_default().to_string(), v))
        .unwrap();
    assert_eq!(code, "login_failed", "{body}");
    let (wrong, _) = login_to(&s.url, Some("lab"), "admin", "wrong-pass", "newyork.example.com")
        .await
        .json::<Value>()
        .await
        .map(|v| (v["message"].as_str().unwrap_or_default().to_string(), v))
        .unwrap();
    assert_eq!(
        body["message"].as_str().unwrap(),
        wrong,
        "the same words either way"
    );
    // Export the lab fleet, import it as a copy: the same state and revision; verify passes.
    let file = dir.path().join("lab.jsonl");
    let file = file.to_str().unwrap();
    let (ok, out, err) = clusterdeck(&["fleet", "export", "lab", "--out", file, "--data-dir", &data]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = clusterdeck(&["fleet", "import", "copy", file, "--data-dir", &data]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = clusterdeck(&["verify", "--data-dir", &data]);
    assert!(ok && out.contains("verified copy"), "{out}{err}");
    let copy = Client::new_in(&s.url, Some("copy"), "admin", "ironport", "newyork.example.com").await;
    let (_, original) = lab.get("/api/v1/fleet").await;
    let (_, imported) = copy.get("/api/v1/fleet").await;
    assert_eq!(original["revision"], imported["revision"]);
    assert_eq!(original["fleet"], imported["fleet"]);
    // Importing over an existing fleet, or a damaged file, is refused with the reason.
    let (ok, _, err) = clusterdeck(&["fleet", "import", "copy", file, "--data-dir", &data]);
    assert!(!ok && err.contains("already exists"), "{err}");
    std::fs::write(dir.path().join("bad.jsonl"), "{\"nope\":1}\n").unwrap();
    let bad = dir.path().join("bad.jsonl");
    let (ok, _, err) = clusterdeck(&[
        "fleet",
        "import",
        "other",
        bad.to_str().unwrap(),
        "--data-dir",
        &data,
    ]);
    assert!(!ok && err.contains("not a Clusterdeck export"), "{err}");
    // Deleting a fleet the server holds: its sessions end within seconds.
    let (ok, out, err) = clusterdeck(&["fleet", "delete", "copy", "--data-dir", &data]);
    assert!(ok, "{out}{err}");
    let mut gone = false;
    for _ in 0..40 {
        if copy.get("/api/v1/session").await.0 == 401 {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(gone, "a deleted fleet's sessions end");
}
