//! # xtask — `cargo xtask build | run | test`
//!
//! - `build [--dev]`: the WebAssembly bundle (cargo → wasm-bindgen as a library → `wasm-opt -Oz` from the
//!   pinned npm `binaryen`), assembled with the HTML shell, CSS and public assets into `site/`, with
//!   precompressed `.br`/`.gz` copies. Prints the bundle's sizes.
//! - `run [-- serve flags]`: builds, then starts `clusterdeck serve` on 127.0.0.1 with `./data`.
//! - `bench`: every performance figure of issue 6 beside its goal, and the crash drill (release builds).
//! - `test`: installs what is missing, checks formatting and lints (native and wasm32), runs every test,
//!   builds the site and runs the end-to-end tests in headless Chromium. Ends with one summary line.

mod bench;
mod build;
mod conformance;
mod examples;
mod readme;
mod tools;

use std::process::ExitCode;
use std::time::Instant;

use anyhow::bail;

use crate::tools::{cargo, repo_root, run};

/// The native package selection, the same for every native cargo call so features resolve once.
pub const NATIVE: &[&str] = &["--workspace", "--exclude", "app", "--exclude", "xtask"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build") => build::build(build::Profile::from_args(&args[1..])).map(|_| ()),
        Some("run") => run_console(&args[1..]),
        Some("test") => test(),
        Some("bench") => bench::bench(),
        Some("conformance") => conformance::check(),
        Some("examples") => examples::check(),
        _ => {
            eprintln!(
                "usage: cargo xtask <build [--dev] | run [serve flags...] | test | bench | conformance | examples>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_console(extra: &[String]) -> anyhow::Result<()> {
    // `cargo xtask run -- --listen ...`: the `--` separates xtask's own arguments from serve's.
    let extra = match extra.first().map(String::as_str) {
        Some("--") => &extra[1..],
        _ => extra,
    };
    tools::ensure_wasm_target()?;
    tools::ensure_binaryen()?;
    build::build(build::Profile::Release)?;
    let mut args: Vec<&str> = vec!["build"];
    args.extend(NATIVE);
    run(cargo().args(&args))?;
    let root = repo_root();
    let bin = crate::tools::target_dir().join("debug/clusterdeck");
    // A flag the user gives wins over ours (`--listen 127.0.0.1:9000`, `--data-dir /tmp/demo`).
    let given = |flag: &str| {
        extra.iter().enumerate().find_map(|(i, a)| {
            a.strip_prefix(&format!("{flag}="))
                .map(str::to_string)
                .or_else(|| (a == flag).then(|| extra.get(i + 1).cloned()).flatten())
        })
    };
    let listen = given("--listen");
    let data_dir = given("--data-dir");
    let data = root.join(data_dir.as_deref().unwrap_or("data"));
    let fresh = !data.join("fleets/default.db").exists();
    println!();
    println!(
        "Clusterdeck console: http://{}   (Ctrl-C stops it)",
        listen.as_deref().unwrap_or("127.0.0.1:8080")
    );
    if extra.iter().any(|a| a == "--sandbox") {
        println!(
            "Sandbox mode: every visitor chooses a scenario on the start page and gets a fleet of their own \
             (discarded after 30 idle minutes; see README, \"A public demo\")."
        );
    } else if fresh {
        println!("Demo login: user admin, password ironport, login host newyork.example.com");
        println!(
            "(other demo users: ops/ops-pass, viewer/viewer-pass, helpdesk/helpdesk-pass, guest1/guest1-pass)"
        );
    } else {
        println!(
            "Using the existing {} with the logins it was made with (the demo's unless changed: admin/ironport \
             on newyork.example.com); delete it for a fresh demo.",
            data.display()
        );
    }
    println!();
    let mut cmd = std::process::Command::new(bin);
    // The demo the README advertises: the demo credentials printed above.
    cmd.current_dir(&root)
        .arg("serve")
        .arg("--demo")
        .arg("--site-dir")
        .arg("site");
    if listen.is_none() {
        cmd.arg("--listen").arg("127.0.0.1:8080");
    }
    if data_dir.is_none() {
        cmd.arg("--data-dir").arg("data");
    }
    cmd.args(extra);
    run(&mut cmd)
}

struct Step {
    name: &'static str,
    seconds: f64,
    ok: bool,
}

fn test() -> anyhow::Result<()> {
    let started = Instant::now();
    let mut steps: Vec<Step> = Vec::new();
    let mut step = |name: &'static str, f: &mut dyn FnMut() -> anyhow::Result<()>| -> bool {
        println!("\n==> {name}");
        let t = Instant::now();
        let result = f();
        let ok = match &result {
            Ok(()) => true,
            Err(e) => {
                eprintln!("xtask: {name} failed: {e:#}");
                false
            }
        };
        steps.push(Step {
            name,
            seconds: t.elapsed().as_secs_f64(),
            ok,
        });
        ok
    };

    let ok = step("install tools", &mut || {
        tools::ensure_wasm_target()?;
        tools::ensure_chromium()?;
        tools::ensure_binaryen()?;
        tools::ensure_axe_core()
    }) && step("cargo fmt --check", &mut || {
        run(cargo().args(["fmt", "--all", "--", "--check"]))
    }) && step("clippy (native)", &mut || {
        run(cargo().args([
            "clippy",
            "--workspace",
            "--exclude",
            "app",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    }) && step("clippy (wasm32: cluster, app)", &mut || {
        run(cargo().args([
            "clippy",
            "-p",
            "cluster",
            "-p",
            "app",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ]))
    }) && step("cargo test", &mut || {
        let mut args = vec!["test"];
        args.extend(NATIVE);
        run(cargo().args(&args))
    }) && step("build the site (and its size budget)", &mut || {
        let size = build::build(build::Profile::Release)?;
        build::check_budget(&size)
    }) && step("end-to-end tests (Chromium) and crash drill", &mut || {
        let mut build_args = vec!["build"];
        build_args.extend(NATIVE);
        run(cargo().args(&build_args))?;
        let mut args = vec!["test"];
        args.extend(NATIVE);
        args.extend([
            "--test",
            "e2e",
            "--test",
            "drill",
            "--test",
            "selectors",
            "--",
            "--ignored",
            "--test-threads=1",
        ]);
        run(cargo()
            .args(&args)
            .env("CLUSTERDECK_SITE_DIR", repo_root().join("site"))
            .env("AXE_CORE_JS", tools::axe_core_js()))
    }) && step("example suites (pytest, playwright)", &mut examples::check)
        && step("API conformance (schemathesis)", &mut conformance::check)
        && step("the README's run command", &mut readme::check);

    println!("\n==> summary");
    for s in &steps {
        println!(
            "  {:<40} {:>7.1} s  {}",
            s.name,
            s.seconds,
            if s.ok { "ok" } else { "FAILED" }
        );
    }
    let failed = steps.iter().filter(|s| !s.ok).count();
    let passed = steps.len() - failed;
    let total = started.elapsed().as_secs_f64();
    println!("  {:<40} {total:>7.1} s", "total");
    println!("steps: {passed} passed, {failed} failed");
    if ok {
        Ok(())
    } else {
        bail!("cargo xtask test: a step failed")
    }
}
