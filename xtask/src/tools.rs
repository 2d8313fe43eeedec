//! Finding and installing the tools the build needs: the wasm32 target, Chromium and ChromeDriver, and
//! the pinned npm `binaryen` (for `wasm-opt`) and `axe-core` (for the accessibility checks) in `.tools/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

/// The binaryen release whose `wasm-opt` optimises the bundle. Debian's binaryen 108 is too old: its
/// output fails at run time (`WebAssembly.Table.set(): Argument 1 is invalid`).
pub const BINARYEN_VERSION: &str = "132.0.0";

/// The axe-core release the end-to-end tests check every page with (accessibility, WCAG 2.2 AA).
pub const AXE_CORE_VERSION: &str = "4.10.3";

/// Cargo's target directory: `CARGO_TARGET_DIR` (relative to the repository when not absolute), else
/// `target/` in the repository.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => repo_root().join(PathBuf::from(d)),
        _ => repo_root().join("target"),
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// A `cargo` command in the repository root, with incremental compilation off under CI.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(repo_root());
    if std::env::var_os("CI").is_some() {
        cmd.env("CARGO_INCREMENTAL", "0");
    }
    cmd
}

/// Runs a command, failing with its command line when it does not exit 0.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd.status().with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{:?} exited with {status}", display(cmd));
    }
    Ok(())
}

fn display(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn output(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {}", display(cmd)))?;
    if !out.status.success() {
        bail!(
            "{} exited with {}: {}",
            display(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        return Ok(());
    }
    println!("installing the wasm32-unknown-unknown target with rustup");
    run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u"))
        .map(|s| s.trim() == "0")
        .unwrap_or(false)
}

pub fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromium".into())
}

pub fn chromedriver() -> PathBuf {
    std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromedriver".into())
}

/// Debian's `wrk` (the established HTTP load generator P3 is measured with), installed when missing.
pub fn ensure_wrk() -> anyhow::Result<std::path::PathBuf> {
    let wrk = std::path::PathBuf::from(std::env::var_os("WRK").unwrap_or_else(|| "/usr/bin/wrk".into()));
    if wrk.exists() {
        return Ok(wrk);
    }
    if !is_root() {
        bail!(
            "wrk is missing ({}); install Debian's `wrk` (or set WRK)",
            wrk.display()
        );
    }
    println!("installing Debian's wrk");
    run(Command::new("apt-get").arg("update").arg("-q"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends", "wrk"])
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    Ok(wrk)
}

/// The oha release `cargo xtask bench` measures P3 with, coordinated omission corrected (crates.io).
pub const OHA_VERSION: &str = "1.16.0";

/// oha, installed from crates.io into `.tools/cargo` on first use (`OHA` overrides; about five minutes
/// to build on two cores, once).
pub fn ensure_oha() -> anyhow::Result<PathBuf> {
    ensure_cargo_tool("oha", OHA_VERSION, "OHA")
}

/// `name` at `version`, installed from crates.io into `.tools/cargo` on first use (`env` overrides).
fn ensure_cargo_tool(name: &str, version: &str, env: &str) -> anyhow::Result<PathBuf> {
    if let Some(t) = std::env::var_os(env) {
        return Ok(PathBuf::from(t));
    }
    let root = tools_dir().join("cargo");
    let tool = root.join("bin").join(name);
    if !tool.exists() {
        println!("installing {name} {version} from crates.io");
        run(cargo()
            .args(["install", "--locked", "--version", version, name, "--root"])
            .arg(&root))?;
    }
    Ok(tool)
}

/// The twiggy release `cargo xtask bench` reads the WebAssembly's code size with (crates.io).
pub const TWIGGY_VERSION: &str = "0.8.0";

/// twiggy, installed from crates.io into `.tools/cargo` on first use (`TWIGGY` overrides).
pub fn ensure_twiggy() -> anyhow::Result<PathBuf> {
    ensure_cargo_tool("twiggy", TWIGGY_VERSION, "TWIGGY")
}

pub fn ensure_chromium() -> anyhow::Result<()> {
    if chromium().exists() && chromedriver().exists() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "Chromium and ChromeDriver are missing ({} / {}); install Debian's `chromium` and `chromium-driver` \
             (or set CHROMIUM and CHROMEDRIVER)",
            chromium().display(),
            chromedriver().display()
        );
    }
    println!("installing Debian's chromium and chromium-driver");
    run(Command::new("apt-get").arg("update").arg("-q"))?;
    run(Command::new("apt-get")
        .args([
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            "chromium",
            "chromium-driver",
        ])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// The local tools folder (`.tools/`, ignored by git).
pub fn tools_dir() -> PathBuf {
    repo_root().join(".tools")
}

/// `wasm-opt` from the pinned npm binaryen: a Node script.
pub fn wasm_opt() -> PathBuf {
    tools_dir().join("node_modules/binaryen/bin/wasm-opt")
}

/// binaryen's JS API (the same package), for `xtask/wasm-opt-many.mjs`.
pub fn binaryen_js() -> PathBuf {
    tools_dir().join("node_modules/binaryen/index.js")
}

pub fn ensure_binaryen() -> anyhow::Result<()> {
    ensure_npm_package("binaryen", BINARYEN_VERSION, &wasm_opt())
}

/// axe-core's browser bundle, which the end-to-end tests inject into each page (`AXE_CORE_JS`).
pub fn axe_core_js() -> PathBuf {
    tools_dir().join("node_modules/axe-core/axe.min.js")
}

pub fn ensure_axe_core() -> anyhow::Result<()> {
    ensure_npm_package("axe-core", AXE_CORE_VERSION, &axe_core_js())
}

/// Installs `name@version` from npm into `.tools/` unless it is there already with `needed` present.
fn ensure_npm_package(name: &str, version: &str, needed: &Path) -> anyhow::Result<()> {
    let pkg = tools_dir().join(format!("node_modules/{name}/package.json"));
    if let Ok(text) = std::fs::read_to_string(&pkg) {
        if text.contains(&format!("\"version\": \"{version}\"")) && needed.exists() {
            return Ok(());
        }
    }
    println!(
        "installing {name}@{version} from npm into {}",
        tools_dir().display()
    );
    std::fs::create_dir_all(tools_dir())?;
    let manifest = tools_dir().join("package.json");
    if !manifest.exists() {
        std::fs::write(
            &manifest,
            "{ \"name\": \"clusterdeck-tools\", \"private\": true }\n",
        )?;
    }
    run(Command::new("npm").current_dir(tools_dir()).args([
        "install",
        "--no-audit",
        "--no-fund",
        "--save-exact",
        &format!("{name}@{version}"),
    ]))
}

/// A Python virtual environment at `venv` (`python3 -m venv`; on Debian, which splits venv out of
/// python3, `python3-venv` is installed first when it is missing).
pub fn make_venv(venv: &std::path::Path) -> anyhow::Result<()> {
    let made = std::process::Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg(venv)
        .status();
    if !made.is_ok_and(|s| s.success()) {
        run(std::process::Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends", "python3-venv"])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
        run(std::process::Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg("--clear")
            .arg(venv))?;
    }
    Ok(())
}
