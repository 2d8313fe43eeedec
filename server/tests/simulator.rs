//! The simulator's controls over the API (rules §16.2, §16.3): administrators raise and repair faults on
//! their session's fleet, every control is audited, bad controls are refused naming what was wrong, and a
//! powered-off machine ends the sessions logged in to it.

mod common;

use common::*;
use serde_json::{json, Value};

fn audit_lines(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    format!(
                        "{} | {}",
                        e["line"].as_str().unwrap_or(""),
                        e["outcome"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn faults_are_for_administrators_audited_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    let on_sf = Client::new(&s.url, "ops", "ops-pass", "sf.example.com").await;
    let guest = Client::new(&s.url, "guest1", "guest1-pass", "newyork.example.com").await;

    // A guest (and an operator) may not.
    for c in [&guest, &on_sf] {
        let (status, body) = c
            .simulate(json!({"kind": "power", "host": "losangeles.example.com", "state": "off"}))
            .await;
        assert_eq!(status, 403, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("administrators only"),
            "{body}"
        );
    }

    // Bad controls name what was wrong; nothing changes.
    let before = admin.revision().await;
    for (body, expect) in [
        (
            json!({"kind": "delivery", "host": "sf.example.com", "rate_percent": 150}),
            "rate_percent",
        ),
        (
            json!({"kind": "power", "host": "nowhere.example.com", "state": "off"}),
            "nowhere.example.com",
        ),
        (
            json!({"kind": "link", "between": ["sf.example.com", "sf.example.com"], "state": "down"}),
            "both ends",
        ),
        (
            json!({"kind": "power", "host": "sf.example.com", "state": "up"}),
            "\"off\" or \"on\"",
        ),
        (
            json!({"kind": "reboot", "host": "sf.example.com", "extra_seconds": 999999}),
            "extra_seconds",
        ),
    ] {
        let (status, err) = admin.simulate(body.clone()).await;
        assert!(status == 422 || status == 400, "{body} -> {status} {err}");
        assert!(
            err["message"].as_str().unwrap_or("").contains(expect),
            "{body} -> {err}"
        );
    }
    let (status, err) = admin
        .simulate(json!({"kind": "flood", "host": "sf.example.com"}))
        .await;
    assert_eq!(status, 422, "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("unknown variant `flood`"),
        "{err}"
    );
    assert_eq!(admin.revision().await, before, "refused controls change nothing");

    // Power sf off: its sessions end, the fleet shows it, the audit log records it.
    let (status, body) = admin
        .simulate(json!({"kind": "power", "host": "sf.example.com", "state": "off"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"], "Simulator: sf.example.com powered off.");
    let (status, _) = on_sf.get("/api/v1/session").await;
    assert_eq!(status, 401, "a session on a powered-off machine ends");
    let r = login(&s.url, "admin", "ironport", "sf.example.com").await;
    assert_eq!(r.status(), 401);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["code"], "login_host_powered_off");
    let list = lines(&admin.cli("clusterconfig connstatus").await);
    assert!(
        list.contains("sf.example.com disconnected (powered off)"),
        "{list}"
    );

    // A slowed delivery and a failing install, then power back on: the cluster re-forms at once.
    for body in [
        json!({"kind": "delivery", "host": "losangeles.example.com", "rate_percent": 10}),
        json!({"kind": "install", "host": "losangeles.example.com", "state": "fail"}),
        json!({"kind": "reboot", "host": "losangeles.example.com", "extra_seconds": 900}),
        json!({"kind": "link", "between": ["newyork.example.com", "losangeles.example.com"], "state": "down"}),
        json!({"kind": "dns", "host": "losangeles.example.com", "state": "off"}),
        json!({"kind": "dns", "host": "losangeles.example.com", "state": "on"}),
        json!({"kind": "link", "between": ["newyork.example.com", "losangeles.example.com"], "state": "up"}),
        json!({"kind": "power", "host": "sf.example.com", "state": "on"}),
    ] {
        let (status, r) = admin.simulate(body.clone()).await;
        assert_eq!(status, 200, "{body} -> {r}");
    }
    let list = lines(&admin.cli("clusterconfig list").await);
    assert!(
        list.contains("sf.example.com") && !list.contains("disconnected"),
        "{list}"
    );
    let detail = lines(&admin.cli("status detail").await);
    assert!(detail.contains("Messages received:"), "{detail}");

    let (status, audit) = admin.get("/api/v1/audit?limit=50").await;
    assert_eq!(status, 200);
    let audit = audit_lines(&audit).join("\n");
    for expect in [
        "simulator: @power sf.example.com off | accepted; sf.example.com powered off",
        "simulator: @slow delivery losangeles.example.com 10 | accepted",
        "simulator: @fail install losangeles.example.com | accepted",
        "simulator: @power sf.example.com on | accepted",
    ] {
        assert!(audit.contains(expect), "missing {expect:?} in\n{audit}");
    }
    assert!(
        audit.contains("session ended | login host powered off"),
        "{audit}"
    );
    assert!(
        audit.contains("rejected: Simulator: rate_percent is 150"),
        "{audit}"
    );
    // A refusal names the user who tried.
    assert!(
        audit.contains("rejected: operator ops may not run the simulator"),
        "{audit}"
    );
}

#[tokio::test]
async fn shutting_down_the_login_host_answers_before_the_session_ends() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let toronto = Client::new(&s.url, "admin", "ironport", "toronto.example.com").await;
    let asked = lines(&toronto.cli("shutdown").await);
    assert!(asked.contains("shuts down and stays off"), "{asked}");
    let answered = lines(&toronto.cli("Y").await);
    assert!(
        answered.contains("toronto.example.com is shutting down"),
        "{answered}"
    );
    let (status, _) = toronto.get("/api/v1/session").await;
    assert_eq!(status, 401, "the session on the machine that shut down ended");
    let admin = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    let (status, body) = admin
        .simulate(json!({"kind": "power", "host": "toronto.example.com", "state": "on"}))
        .await;
    assert_eq!(status, 200, "{body}");
    // Once answered, the change is there for the next request.
    assert_eq!(
        login(&s.url, "admin", "ironport", "toronto.example.com")
            .await
            .status(),
        200
    );
}
