//! The `clusterdeck script` command line: transcripts, exit codes, and the failing line.

use std::process::Command;

fn clusterdeck() -> Command {
    Command::new(env!("CARGO_BIN_EXE_clusterdeck"))
}

fn scenario(name: &str) -> String {
    format!("{}/../scenarios/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn script_prints_the_transcript_and_exits_zero_when_every_expectation_holds() {
    let out = clusterdeck()
        .args(["script", &scenario("49-rolling-upgrade.script")])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("(Machine losangeles.example.com)> upgrade 9.5.0"),
        "{stdout}"
    );
    assert!(stdout.contains("scripts: 1 passed, 0 failed"), "{stdout}");
}

#[test]
fn script_exits_non_zero_and_names_the_failing_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.script");
    std::fs::write(
        &path,
        "@as admin@newyork.example.com\nclusterconfig list\n= Group Nowhere:\n",
    )
    .unwrap();
    let out = clusterdeck()
        .args(["script", "--fixture", "americas"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.script:3: no line contains \"Group Nowhere:\""),
        "{stderr}"
    );
}

#[test]
fn script_refuses_an_unknown_fixture() {
    let out = clusterdeck()
        .args([
            "script",
            "--fixture",
            "europe",
            &scenario("13-addgroup-exists.script"),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("europe"));
}
