//! Starting on a data directory the server cannot write is refused with a message naming the path
//! (issue 11 item 8: an unwritable `-shm` file used to kill the server with SIGBUS later).

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

/// Runs `clusterdeck serve` on `data_dir` as a user who may not write it: as root, the `nobody` user
/// (root writes anything); otherwise this user, after the files are made read-only.
fn serve_without_write_access(data_dir: &std::path::Path) -> Output {
    let root = is_root();
    let bin = env!("CARGO_BIN_EXE_clusterdeck");
    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", bin]);
        c
    } else {
        for entry in walk(data_dir) {
            let mode = if entry.is_dir() { 0o555 } else { 0o444 };
            std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        Command::new(bin)
    };
    cmd.args([
        "serve",
        "--demo",
        "--listen",
        "127.0.0.1:0",
        "--site-dir",
        "/nonexistent",
        "--data-dir",
    ])
    .arg(data_dir)
    .env("CLUSTERDECK_LOG", "warn");
    let out = cmd.output().expect("the server runs");
    if !root {
        for entry in walk(data_dir) {
            std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
    }
    out
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut all = vec![dir.to_path_buf()];
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                all.extend(walk(&p));
            } else {
                all.push(p);
            }
        }
    }
    all
}

/// A data directory others may enter (so `nobody` reaches it) holding a seeded default fleet.
fn seeded_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_clusterdeck"))
        .args([
            "fleet",
            "create",
            "default",
            "--fixture",
            "americas",
            "--demo",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for p in walk(dir.path()) {
        let mode = if p.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    dir
}

#[test]
fn a_store_it_cannot_write_is_refused_at_start_by_name() {
    let dir = seeded_dir();
    let out = serve_without_write_access(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "it started: {stderr}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("listening"),
        "{stderr}"
    );
    assert!(stderr.contains("not writable"), "{stderr}");
    assert!(
        stderr.contains(&dir.path().join("fleets").display().to_string()),
        "{stderr}"
    );
}

#[test]
fn a_second_server_on_the_same_data_directory_is_refused() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let serve = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_clusterdeck"));
        c.args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--site-dir",
            "/nonexistent",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("CLUSTERDECK_LOG", "warn");
        c
    };
    let mut first = serve().stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(first.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("listening on"), "{line}");
    let second = serve().output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    let _ = first.kill();
    let _ = first.wait();
    assert!(!second.status.success(), "the second server started: {stderr}");
    assert!(
        stderr.contains("another `clusterdeck serve` (pid ")
            && stderr.contains("is using the data directory"),
        "{stderr}"
    );
    // Once the first is gone (even killed), the directory is free again.
    let mut third = serve().stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(third.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = third.kill();
    let _ = third.wait();
    assert!(line.starts_with("listening on"), "{line}");
}
