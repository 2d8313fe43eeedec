//! The example suites of `docs/testing.md` (`examples/pytest`, `examples/playwright`) against a live
//! debug server with the test API, as their users run them: pytest + Selenium from a virtual environment
//! under `.tools/pytest-venv` (`examples/pytest/requirements.txt`, from PyPI), Playwright from
//! `npm ci` in `examples/playwright` (its `package-lock.json`), both on the system's Chromium.
//! `cargo xtask examples` runs this; `cargo xtask test` too, right after the end-to-end tests.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::readme::Group;
use crate::tools::{cargo, repo_root, run, tools_dir};

/// Each suite is stopped after this long (each runs in well under a minute).
const LIMIT: Duration = Duration::from_secs(180);

/// The virtual environment's `bin/`, with `examples/pytest/requirements.txt` installed.
fn ensure_pytest() -> anyhow::Result<PathBuf> {
    let venv = tools_dir().join("pytest-venv");
    let requirements = repo_root().join("examples/pytest/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements)
        .with_context(|| format!("cannot read {}", requirements.display()))?;
    // The marker holds the requirements it was installed from: a change of a pin reinstalls.
    let marker = venv.join(".installed-requirements");
    let bin = venv.join("bin");
    if bin.join("pytest").exists() && std::fs::read_to_string(&marker).ok().as_deref() == Some(&wanted) {
        return Ok(bin);
    }
    println!(
        "installing examples/pytest/requirements.txt from PyPI into {}",
        venv.display()
    );
    std::fs::create_dir_all(tools_dir())?;
    crate::tools::make_venv(&venv)?;
    run(Command::new(bin.join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&requirements))?;
    std::fs::write(&marker, wanted)?;
    Ok(bin)
}

/// `npm ci` in `examples/playwright`, unless its `node_modules` is from the same lock file.
fn ensure_playwright() -> anyhow::Result<PathBuf> {
    let dir = repo_root().join("examples/playwright");
    let lock = std::fs::read_to_string(dir.join("package-lock.json"))
        .context("cannot read examples/playwright/package-lock.json")?;
    let marker = dir.join("node_modules/.clusterdeck-installed");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(&lock) {
        return Ok(dir);
    }
    println!("installing examples/playwright's packages from npm (npm ci)");
    run(Command::new("npm")
        .current_dir(&dir)
        .args(["ci", "--no-audit", "--no-fund"]))?;
    std::fs::write(&marker, lock)?;
    Ok(dir)
}

/// Runs `cmd` in its own process group, killed after [`LIMIT`]; `Ok(false)` when it failed.
fn suite(name: &str, cmd: &mut Command) -> anyhow::Result<bool> {
    println!("--> {name}");
    cmd.process_group(0);
    let started = Instant::now();
    let mut child = Group(cmd.spawn().with_context(|| format!("cannot start {name}"))?);
    let status = loop {
        if let Some(status) = child.0.try_wait()? {
            break status;
        }
        if started.elapsed() > LIMIT {
            eprintln!("xtask: {name} did not finish within {} s", LIMIT.as_secs());
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    println!(
        "    {name}: {} in {:.1} s",
        if status.success() { "passed" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    Ok(status.success())
}

/// A fresh data directory for the server.
fn data_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("clusterdeck-examples-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

pub fn check() -> anyhow::Result<()> {
    crate::tools::ensure_chromium()?;
    let mut build = vec!["build"];
    build.extend(crate::NATIVE);
    run(cargo().args(&build))?;
    let venv = ensure_pytest()?;
    let playwright = ensure_playwright()?;
    let data = data_dir()?;
    let (server, url) = crate::readme::serve_debug(&["--test-api"], &data)?;
    println!("example suites against {url} (test API)");
    let root = repo_root();
    let mut failed = Vec::new();
    let pytest = suite(
        "pytest (examples/pytest)",
        Command::new(venv.join("pytest"))
            .args(["-p", "no:cacheprovider", "-q"])
            .arg(root.join("examples/pytest"))
            .current_dir(root.join("examples/pytest"))
            .env("CLUSTERDECK_URL", &url)
            .env("CHROMIUM", crate::tools::chromium())
            .env("CHROMEDRIVER", crate::tools::chromedriver())
            .env("PYTHONDONTWRITEBYTECODE", "1"),
    )?;
    if !pytest {
        failed.push("pytest (examples/pytest)");
    }
    let node = suite(
        "playwright (examples/playwright)",
        Command::new("npm")
            .args(["test", "--silent"])
            .current_dir(&playwright)
            .env("CLUSTERDECK_URL", &url)
            .env("CHROMIUM", crate::tools::chromium()),
    )?;
    if !node {
        failed.push("playwright (examples/playwright)");
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    if !failed.is_empty() {
        bail!("the example suite(s) failed: {}", failed.join(", "));
    }
    Ok(())
}
