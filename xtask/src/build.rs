//! `cargo xtask build`: the WebAssembly bundle and the site directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context};

use crate::tools::{self, cargo, repo_root, run};

/// Which cargo profile builds the WASM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `wasm-release` (size-optimised, then `wasm-opt -Oz`): what `run` serves and CI tests.
    Release,
    /// `dev`: quick to build, large, no `wasm-opt`; for iterating on the app.
    Dev,
}

impl Profile {
    pub fn from_args(args: &[String]) -> Profile {
        if args.iter().any(|a| a == "--dev") {
            Profile::Dev
        } else {
            Profile::Release
        }
    }

    fn cargo_name(self) -> &'static str {
        match self {
            Profile::Release => "wasm-release",
            Profile::Dev => "dev",
        }
    }

    fn target_subdir(self) -> &'static str {
        match self {
            Profile::Release => "wasm-release",
            Profile::Dev => "debug",
        }
    }
}

/// Sizes of the bundle (WASM + JS glue), in bytes.
#[derive(Debug, Clone, Copy)]
pub struct BundleSize {
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
}

/// The committed size budget: `xtask/bundle-budget.txt` holds the most brotli bytes the bundle
/// (WASM + JS glue) may take. Raise it only on purpose, in its own commit.
pub fn budget() -> anyhow::Result<u64> {
    let path = repo_root().join("xtask/bundle-budget.txt");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    text.lines()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .and_then(|l| l.trim().parse().ok())
        .with_context(|| format!("{} holds no byte count", path.display()))
}

/// Fails when the bundle has grown beyond its budget.
pub fn check_budget(size: &BundleSize) -> anyhow::Result<()> {
    let budget = budget()?;
    println!(
        "size budget: {} of {budget} brotli bytes ({:.0}%)",
        size.brotli,
        size.brotli as f64 * 100.0 / budget as f64
    );
    if size.brotli > budget {
        bail!(
            "the bundle is {} brotli bytes, over its budget of {budget} (xtask/bundle-budget.txt)",
            size.brotli
        );
    }
    Ok(())
}

pub fn site_dir() -> PathBuf {
    repo_root().join("site")
}

/// Builds the site into `site/` and returns the bundle's sizes.
pub fn build(profile: Profile) -> anyhow::Result<BundleSize> {
    tools::ensure_wasm_target()?;
    if profile == Profile::Release {
        tools::ensure_binaryen()?;
    }
    let root = repo_root();
    let t = Instant::now();
    run(cargo().args([
        "build",
        "-p",
        "app",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        profile.cargo_name(),
    ]))?;
    let wasm = crate::tools::target_dir()
        .join("wasm32-unknown-unknown")
        .join(profile.target_subdir())
        .join("app.wasm");
    if !wasm.exists() {
        bail!("cargo did not produce {}", wasm.display());
    }
    println!(
        "compiled {} in {:.1} s",
        wasm.display(),
        t.elapsed().as_secs_f64()
    );

    let site = site_dir();
    let staging = crate::tools::target_dir().join("site-staging");
    let _ = std::fs::remove_dir_all(&staging);
    let pkg = staging.join("pkg");
    std::fs::create_dir_all(&pkg)?;

    let t = Instant::now();
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .out_name("app")
        .web(true)
        .map_err(|e| anyhow::anyhow!("{e:#}"))?
        .typescript(false)
        .remove_name_section(profile == Profile::Release)
        .remove_producers_section(true)
        .generate(&pkg)
        .map_err(|e| anyhow::anyhow!("wasm-bindgen failed: {e:#}"))?;
    println!("wasm-bindgen in {:.1} s", t.elapsed().as_secs_f64());

    let bg = pkg.join("app_bg.wasm");
    if profile == Profile::Release {
        wasm_opt(&bg)?;
    }

    copy_dir(&root.join("public"), &staging)?;
    std::fs::write(
        staging.join("style.css"),
        bundle_css(&root.join("style"), "main.css")?,
    )?;
    precompress(&staging)?;

    let _ = std::fs::remove_dir_all(&site);
    std::fs::rename(&staging, &site)
        .with_context(|| format!("cannot move the site to {}", site.display()))?;

    let size = bundle_size(&site)?;
    println!(
        "bundle (WASM + JS glue): {} raw, {} gzip, {} brotli  [{}]",
        human(size.raw),
        human(size.gzip),
        human(size.brotli),
        profile.cargo_name()
    );
    println!("site assembled in {}", site.display());
    Ok(size)
}

const WASM_OPT_ARGS: &[&str] = &[
    "-Oz",
    "--enable-bulk-memory",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-reference-types",
    "--enable-multivalue",
    "--strip-debug",
    "--strip-producers",
];

/// Entries kept in the `wasm-opt` cache.
const WASM_OPT_CACHE_ENTRIES: usize = 4;

/// `wasm-opt -Oz` on `wasm` in place, skipped when the same input was optimised before (a cache keyed by
/// a hash of the input and the arguments, under `target/wasm-opt-cache`, at most a few entries).
fn wasm_opt(wasm: &Path) -> anyhow::Result<()> {
    use std::hash::{Hash, Hasher};
    let input = std::fs::read(wasm)?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    input.hash(&mut hasher);
    WASM_OPT_ARGS.hash(&mut hasher);
    let key = format!("{:016x}", hasher.finish());
    let cache = crate::tools::target_dir().join("wasm-opt-cache");
    std::fs::create_dir_all(&cache)?;
    let cached = cache.join(format!("{key}.wasm"));
    if cached.exists() {
        std::fs::copy(&cached, wasm)?;
        println!("wasm-opt -Oz: unchanged input, reused {}", cached.display());
        return Ok(());
    }
    let t = Instant::now();
    let optimised = wasm.with_extension("opt.wasm");
    run(Command::new("node")
        .arg(tools::wasm_opt())
        .args(WASM_OPT_ARGS)
        .arg(wasm)
        .arg("-o")
        .arg(&optimised))
    .context("wasm-opt failed")?;
    std::fs::copy(&optimised, &cached)?;
    std::fs::rename(&optimised, wasm)?;
    println!("wasm-opt -Oz in {:.1} s", t.elapsed().as_secs_f64());
    // Keep the newest few entries.
    let mut entries: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&cache)?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    entries.sort();
    let excess = entries.len().saturating_sub(WASM_OPT_CACHE_ENTRIES);
    for (_, path) in entries.into_iter().take(excess) {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

fn human(bytes: u64) -> String {
    format!("{bytes} B ({:.1} KiB)", bytes as f64 / 1024.0)
}

fn bundle_size(site: &Path) -> anyhow::Result<BundleSize> {
    let mut size = BundleSize {
        raw: 0,
        gzip: 0,
        brotli: 0,
    };
    for name in ["pkg/app_bg.wasm", "pkg/app.js"] {
        let path = site.join(name);
        size.raw += std::fs::metadata(&path)?.len();
        size.gzip += std::fs::metadata(path.with_extension(format!("{}.gz", ext(&path))))?.len();
        size.brotli += std::fs::metadata(path.with_extension(format!("{}.br", ext(&path))))?.len();
    }
    Ok(size)
}

fn ext(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}

/// Inlines `@import "x.css";` lines (one level deep, relative to `dir`).
fn bundle_css(dir: &Path, entry: &str) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(dir.join(entry)).with_context(|| format!("cannot read style/{entry}"))?;
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("@import") {
            let name = rest.trim().trim_end_matches(';').trim().trim_matches('"');
            out.push_str(&format!("/* {name} */\n"));
            out.push_str(
                &std::fs::read_to_string(dir.join(name))
                    .with_context(|| format!("cannot read style/{name}"))?,
            );
            out.push('\n');
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

/// Writes `.br` and `.gz` beside every compressible file.
fn precompress(dir: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            precompress(&path)?;
            continue;
        }
        if !matches!(
            ext(&path).as_str(),
            "wasm" | "js" | "css" | "html" | "svg" | "json"
        ) {
            continue;
        }
        let data = std::fs::read(&path)?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&data)?;
        std::fs::write(path.with_extension(format!("{}.gz", ext(&path))), gz.finish()?)?;
        let mut br = Vec::new();
        {
            let params = brotli::enc::BrotliEncoderParams {
                quality: 11,
                lgwin: 22,
                ..Default::default()
            };
            brotli::BrotliCompress(&mut data.as_slice(), &mut br, &params)?;
        }
        std::fs::write(path.with_extension(format!("{}.br", ext(&path))), br)?;
    }
    Ok(())
}
