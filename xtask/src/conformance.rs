//! The API against its own OpenAPI document: schemathesis (installed from PyPI into `.tools/`) runs its
//! checks — no server error, documented statuses and content types, responses that fit their schemas,
//! schema-valid requests accepted and schema-violating ones refused, 405 for unsupported methods —
//! against a live debug server, with a bounded number of examples. `cargo xtask test` runs this.
//!
//! Left out of the run: `POST /api/v1/logout` (it would end the session the run is authenticated
//! with; its tests are in `server/tests`) and `GET /api/v1/events` (a stream that stays open).

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::readme::{http_with_head, Group};
use crate::tools::{repo_root, run, tools_dir};

const SCHEMATHESIS_VERSION: &str = "4.32.5";
/// Examples per operation: enough to cover each schema's shapes, bounded for CI.
const MAX_EXAMPLES: &str = "40";
/// The whole run stops after this long.
const LIMIT: Duration = Duration::from_secs(300);

/// `st` from a virtual environment under `.tools/`, installed at the pinned version when missing.
fn ensure_schemathesis() -> anyhow::Result<PathBuf> {
    let venv = tools_dir().join("schemathesis");
    let st = venv.join("bin/st");
    let marker = venv.join(format!(".installed-{SCHEMATHESIS_VERSION}"));
    if st.exists() && marker.exists() {
        return Ok(st);
    }
    println!(
        "installing schemathesis {SCHEMATHESIS_VERSION} from PyPI into {}",
        venv.display()
    );
    std::fs::create_dir_all(tools_dir())?;
    crate::tools::make_venv(&venv)?;
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("schemathesis=={SCHEMATHESIS_VERSION}"),
    ]))?;
    std::fs::write(&marker, "")?;
    Ok(st)
}

pub fn check() -> anyhow::Result<()> {
    let st = ensure_schemathesis()?;
    let root = repo_root();
    // The console as shipped, logged in with the demo login.
    let login = r#"{"user":"admin","password":"ironport","login_host":"newyork.example.com"}"#;
    against(&st, &[], ("/api/v1/login", login), &[])?;
    // A demo server (rules §18), as a visitor: the session of a new sandbox. Reset is left out: it ends
    // the session the run is authenticated with (its tests are in `server/tests/sandbox.rs`).
    let scenarios = root.join("scenarios/demo").display().to_string();
    against(
        &st,
        &[
            "--sandbox",
            "--sandbox-scenarios",
            &scenarios,
            "--sandbox-rate",
            "100000",
        ],
        ("/api/v1/sandboxes", r#"{"scenario":"americas"}"#),
        &["/api/v1/sandboxes/reset"],
    )
}

/// One schemathesis run against a new server started with `flags`, authenticated with the cookie that
/// `POST session.0` with body `session.1` sets; `exclude`: more paths left out.
fn against(
    st: &std::path::Path,
    flags: &[&str],
    session: (&str, &str),
    exclude: &[&str],
) -> anyhow::Result<()> {
    let root = repo_root();
    let data = tempfile_dir()?;
    let (server, url) = crate::readme::serve_debug(flags, &data)?;
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .context("no port")?;
    let (status, head, body) = http_with_head(port, "POST", session.0, Some(session.1))?;
    anyhow::ensure!(status == 200, "POST {} was refused: {status} {body}", session.0);
    let cookie = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
                .filter(|v| v.starts_with("cd_session="))
        })
        .and_then(|v| v.split(';').next())
        .context("no session cookie")?
        .to_string();
    println!(
        "schemathesis {SCHEMATHESIS_VERSION} against {url} {} ({MAX_EXAMPLES} examples per operation)",
        flags.join(" ")
    );
    let mut st_cmd = Command::new(st);
    st_cmd
        .arg("--config-file")
        .arg(root.join("tests/api/schemathesis.toml"))
        .arg("run")
        .arg(format!("{url}/api/v1/openapi.json"))
        .args(["--checks", "all", "--max-examples", MAX_EXAMPLES, "--seed", "1"])
        .args(["--request-timeout", "10", "--no-color"])
        .arg("--header")
        .arg(format!("Cookie: {cookie}"))
        .arg("--header")
        .arg(format!("Origin: {url}"))
        .args([
            "--exclude-path",
            "/api/v1/logout",
            "--exclude-path",
            "/api/v1/events",
        ])
        .args(exclude.iter().flat_map(|p| ["--exclude-path", p]))
        .current_dir(&data)
        .process_group(0);
    let mut runner = Group(st_cmd.spawn().context("cannot start schemathesis")?);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = runner.0.try_wait()? {
            break status;
        }
        if started.elapsed() > LIMIT {
            bail!("schemathesis did not finish within {} s", LIMIT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    if !status.success() {
        bail!("schemathesis found the API and its document disagree (see above)");
    }
    Ok(())
}

/// A fresh directory for the server's data and schemathesis's reports.
fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("clusterdeck-conformance-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
