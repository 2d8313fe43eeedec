//! Sessions end (issue 11 item 3): by idle timeout and lifetime in real time, and when the user's
//! password changes; what the store keeps of them is never a working cookie.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::*;

fn session_rows(dir: &std::path::Path) -> Vec<(String, i64)> {
    let db = rusqlite::Connection::open_with_flags(
        dir.join("fleets/default.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut stmt = db.prepare("SELECT token_hash, id FROM sessions").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn sessions_end_after_their_idle_timeout_and_their_lifetime() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(
        dir.path(),
        &["--session-idle-timeout", "3", "--session-lifetime", "6"],
    );
    let idle = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    let busy = Client::new(&s.url, "ops", "ops-pass", "sf.example.com").await;
    // Requests keep a session alive past its idle timeout...
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert_eq!(busy.get("/api/v1/session").await.0, 200);
    }
    // ...the one without requests has ended.
    assert_eq!(idle.get("/api/v1/session").await.0, 401);
    // Past its lifetime, the busy one ends too, however active.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        busy.get("/api/v1/session").await;
    }
    assert_eq!(busy.get("/api/v1/session").await.0, 401);
    // Expired sessions leave the store (the sweep runs every few seconds).
    let admin = Client::new(&s.url, "admin", "ironport", "losangeles.example.com").await;
    let mut rows = session_rows(dir.path()).len();
    for _ in 0..40 {
        if rows == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        rows = session_rows(dir.path()).len();
    }
    assert_eq!(rows, 1, "only the live session is stored");
    let (_, audit) = admin.get("/api/v1/audit").await;
    let audit = audit.to_string();
    assert!(
        audit.contains("expired: idle") && audit.contains("expired: lifetime"),
        "{audit}"
    );
}

#[tokio::test]
async fn a_password_change_ends_the_users_other_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let here = Client::new(&s.url, "ops", "ops-pass", "newyork.example.com").await;
    let elsewhere = Client::new(&s.url, "ops", "ops-pass", "sf.example.com").await;
    let admin = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    let r = here.cli("passwd ops-new-pass").await;
    assert_eq!(r["status"], "ok", "{r}");
    assert_eq!(
        here.get("/api/v1/session").await.0,
        200,
        "the session that changed it stays"
    );
    assert_eq!(
        elsewhere.get("/api/v1/session").await.0,
        401,
        "the other session ends"
    );
    assert_eq!(
        admin.get("/api/v1/session").await.0,
        200,
        "other users are not affected"
    );
    // An admin deleting a user ends that user's sessions.
    let again = Client::new(&s.url, "ops", "ops-new-pass", "sf.example.com").await;
    assert_eq!(admin.cli("userconfig delete ops").await["status"], "ok");
    let r = admin.cli("commit").await;
    assert_eq!(r["status"], "ok", "{r}");
    assert_eq!(again.get("/api/v1/session").await.0, 401);
    assert_eq!(here.get("/api/v1/session").await.0, 401);
    let (_, audit) = admin.get("/api/v1/audit").await;
    assert!(audit.to_string().contains("credentials changed"), "{audit}");
}

#[tokio::test]
async fn the_store_holds_no_working_token_and_only_its_owner_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let c = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    let token = c.cookie.split_once('.').unwrap().1.to_string();
    let rows = session_rows(dir.path());
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0].0, token);
    assert!(!rows[0].0.contains(&token));
    // The stored hash as a cookie is not a session.
    let forged = Client {
        cookie: format!("cd_session=default.{}", rows[0].0),
        ..c.clone()
    };
    assert_eq!(forged.get("/api/v1/session").await.0, 401);
    for entry in std::fs::read_dir(dir.path().join("fleets")).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is {mode:o}", entry.path().display());
    }
}

#[tokio::test]
async fn one_users_logins_never_end_anyone_elses_session() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    let first_guest = Client::new(&s.url, "guest1", "guest1-pass", "newyork.example.com").await;
    for _ in 0..40 {
        Client::new(&s.url, "guest1", "guest1-pass", "newyork.example.com").await;
    }
    assert_eq!(
        admin.get("/api/v1/session").await.0,
        200,
        "the admin's session is untouched"
    );
    assert_eq!(
        first_guest.get("/api/v1/session").await.0,
        401,
        "the guest's own oldest session went"
    );
}
