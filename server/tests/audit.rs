//! The audit log over the API (rules §15.33): filtered by user, machine, outcome and simulated time,
//! paged back by the `before` cursor well beyond one page, each entry with its real time beside the
//! simulated one, bad parameters refused (400) naming the parameter, and the document's patterns the
//! domain's.

mod common;

use common::*;
use serde_json::Value;

fn entries(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap_or_else(|| panic!("an array of entries: {v}"))
}

fn ids(v: &Value) -> Vec<u64> {
    entries(v).iter().map(|e| e["id"].as_u64().unwrap()).collect()
}

fn text<'a>(e: &'a Value, field: &str) -> &'a str {
    e[field].as_str().unwrap_or_default()
}

/// `GET /api/v1/audit?<query>`, which must answer 200.
async fn audit(client: &Client, query: &str) -> Value {
    let (status, body) = client.get(&format!("/api/v1/audit?{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    body
}

#[tokio::test]
async fn each_filter_narrows_the_log_and_paging_goes_past_two_hundred() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    let ops = Client::new(&s.url, "ops", "ops-pass", "sf.example.com").await;

    // A read in losangeles's machine mode, typed on newyork.
    admin.cli("clustermode machine losangeles.example.com").await;
    assert_eq!(admin.cli("smtproutes print").await["status"], "ok");
    admin.cli("clustermode cluster").await;
    // A question, answered N.
    admin.cli("clustermode group West").await;
    assert_eq!(admin.cli("userconfig").await["status"], "prompt");
    admin.cli("N").await;
    // Refusals by ops on sf: more than two pages of 100.
    for i in 0..230 {
        ops.cli(&format!("frobnicate {i}")).await;
    }

    let all = audit(&admin, "limit=1000").await;
    let all = entries(&all).clone();
    assert!(all.len() > 230, "{} entries", all.len());
    let newest_first = all.windows(2).all(|w| w[0]["id"].as_u64() > w[1]["id"].as_u64());
    assert!(newest_first, "newest first");

    // User.
    let mine = audit(&admin, "user=ops&limit=1000").await;
    assert!(entries(&mine).len() > 230);
    assert!(entries(&mine).iter().all(|e| e["user"] == "ops"), "{mine}");

    // Machine: typed on it (login host) or run in its machine mode.
    let la = audit(&admin, "machine=LosAngeles.example.com&limit=1000").await;
    assert!(
        entries(&la)
            .iter()
            .any(|e| text(e, "line") == "smtproutes print" && e["login_host"] == "newyork.example.com"),
        "{la}"
    );
    assert!(
        entries(&la)
            .iter()
            .all(|e| e["login_host"] == "losangeles.example.com"
                || e["mode"] == "machine:losangeles.example.com"),
        "{la}"
    );
    let sf = audit(&admin, "machine=sf.example.com&limit=1000").await;
    assert!(entries(&sf).len() > 230);
    assert!(
        entries(&sf)
            .iter()
            .all(|e| e["login_host"] == "sf.example.com" || e["mode"] == "machine:sf.example.com"),
        "{sf}"
    );
    let toronto = audit(&admin, "machine=toronto.example.com").await;
    assert!(entries(&toronto).is_empty(), "{toronto}");

    // Outcome.
    let refused = audit(&admin, "outcome=refused&limit=1000").await;
    assert!(entries(&refused).len() >= 230);
    assert!(entries(&refused)
        .iter()
        .all(|e| text(e, "outcome").starts_with("rejected: ")));
    let prompt = audit(&admin, "outcome=prompt").await;
    assert!(
        entries(&prompt)
            .iter()
            .any(|e| text(e, "line").starts_with("userconfig")),
        "{prompt}"
    );
    assert!(entries(&prompt).iter().all(|e| e["outcome"] == "prompt"));
    let accepted = audit(&admin, "outcome=accepted&limit=1000").await;
    assert!(
        entries(&accepted).iter().any(|e| e["outcome"] == "read"),
        "a read ran: {accepted}"
    );
    assert!(entries(&accepted).iter().any(|e| e["line"] == "login"));
    assert!(entries(&accepted)
        .iter()
        .all(|e| e["outcome"] == "read" || text(e, "outcome").starts_with("accepted")));

    // Simulated time, inclusive at both ends: exactly the entries of the whole log in the range.
    let mid = text(&all[all.len() / 2], "at").to_string();
    let since = audit(&admin, &format!("from={mid}&limit=1000")).await;
    let expect: Vec<u64> = all
        .iter()
        .filter(|e| text(e, "at") >= mid.as_str())
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids(&since), expect);
    let until = audit(&admin, &format!("to={mid}&limit=1000")).await;
    let expect: Vec<u64> = all
        .iter()
        .filter(|e| text(e, "at") <= mid.as_str())
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids(&until), expect);
    let exact = audit(&admin, &format!("from={mid}&to={mid}&limit=1000")).await;
    assert!(entries(&exact).iter().all(|e| e["at"] == mid.as_str()) && !entries(&exact).is_empty());
    // A range that ends before it starts holds nothing (not an error).
    let inverted = audit(&admin, "from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z").await;
    assert!(entries(&inverted).is_empty());

    // Paging by the cursor, filtered: pages of 100 down to an empty one, together the whole filtered log.
    let mut paged = Vec::new();
    let mut before = String::new();
    for _ in 0..10 {
        let page = audit(&admin, &format!("user=ops&outcome=refused&limit=100{before}")).await;
        let page = ids(&page);
        let Some(last) = page.last() else { break };
        assert!(page.len() <= 100);
        before = format!("&before={last}");
        paged.extend(page);
    }
    let whole = audit(&admin, "user=ops&outcome=refused&limit=1000").await;
    assert_eq!(paged, ids(&whole), "pages join up without gaps or repeats");
    assert!(paged.len() >= 230, "past two pages: {}", paged.len());
    // And unfiltered, beyond the first 200.
    let first = audit(&admin, "limit=200").await;
    let older = audit(&admin, &format!("limit=200&before={}", ids(&first)[199])).await;
    assert_eq!(
        [ids(&first), ids(&older)].concat(),
        all.iter().map(|e| e["id"].as_u64().unwrap()).collect::<Vec<_>>()
    );

    // Every entry carries its real time beside the simulated one, both as ISO text, the real one now.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for e in &all {
        let sim = cluster::Timestamp::parse_iso(text(e, "at"));
        let real = cluster::Timestamp::parse_iso(text(e, "real_at"))
            .unwrap_or_else(|err| panic!("real_at of {e}: {err}"));
        assert!(sim.is_ok(), "{e}");
        assert!((real.0 / 1000 - now).abs() < 600, "{e} is not from now");
    }
}

#[tokio::test]
async fn a_bad_parameter_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    let cases = [
        ("user=9lives", "user: "),
        ("user=%20admin", "user: "),
        ("user=adm%C3%AFn", "user: "),
        ("machine=a..b", "machine: "),
        ("machine=-x.example.com", "machine: "),
        ("outcome=maybe", "outcome: must be accepted, refused or prompt"),
        ("outcome=Accepted", "outcome: "),
        ("from=yesterday", "from: "),
        ("from=2026-01-01", "from: "),
        ("to=2026-13-01T00:00:00Z", "to: "),
        ("to=2026-%2B1-01T00:00:00Z", "to: "),
        ("limit=0", "limit: "),
        ("limit=1001", "limit: "),
        ("before=-1", "before"),
    ];
    for (query, named) in cases {
        let (status, body) = admin.get(&format!("/api/v1/audit?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["code"], "bad_query", "{query}: {body}");
        let message = text(&body, "message");
        assert!(message.contains(named), "{query}: {message}");
    }
    // Empty parameters are no filter at all (what a form sends for a blank field).
    let blank = audit(&admin, "user=&machine=&outcome=&from=&to=").await;
    assert_eq!(ids(&blank), ids(&audit(&admin, "").await));
    assert!(!entries(&blank).is_empty());
    // Filters are no way around the permission.
    let viewer = Client::new(&s.url, "viewer", "viewer-pass", "newyork.example.com").await;
    assert_eq!(viewer.get("/api/v1/audit?user=admin").await.0, 403);
}

#[tokio::test]
async fn the_document_states_the_domains_patterns_and_the_400() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let doc: Value = http()
        .get(format!("{}/api/v1/openapi.json", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let op = &doc["paths"]["/api/v1/audit"]["get"];
    assert!(op["responses"]["400"].is_object(), "{op}");
    let params = op["parameters"].as_array().unwrap();
    let schema = |name: &str| {
        params
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("parameter {name}: {op}"))["schema"]
            .clone()
    };
    use cluster::wire::*;
    for (name, pattern, max) in [
        ("user", AUDIT_USER_PATTERN, AUDIT_USER_MAX),
        ("machine", AUDIT_MACHINE_PATTERN, AUDIT_MACHINE_MAX),
        ("outcome", AUDIT_OUTCOME_PATTERN, AUDIT_OUTCOME_MAX),
        ("from", AUDIT_TIME_PATTERN, AUDIT_TIME_MAX),
        ("to", AUDIT_TIME_PATTERN, AUDIT_TIME_MAX),
    ] {
        let schema = schema(name);
        assert_eq!(schema["pattern"], pattern, "{name}: {schema}");
        assert_eq!(schema["maxLength"], max as u64, "{name}: {schema}");
    }
}
