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

/// Sizes of the bundle, in bytes: what the first page loads (the main module, its JS glue and the
/// chunk loader) and, in all, with every lazily loaded chunk.
#[derive(Debug, Clone, Copy)]
pub struct BundleSize {
    pub raw: u64,
    pub gzip: u64,
    /// The first page's brotli bytes.
    pub brotli: u64,
    /// Every chunk's brotli bytes added: what a visitor who opens every page has loaded.
    pub total_brotli: u64,
    /// How many chunks load later.
    pub chunks: usize,
    /// What logging in adds (the `console` module and the chunks it needs: following the fleet, the
    /// overview), brotli bytes, and in how many files.
    pub console_brotli: u64,
    pub console_files: usize,
}

/// The committed size budget: `xtask/bundle-budget.txt` holds the most brotli bytes the first page
/// may load, then the most the whole bundle (with every chunk) may take. Raise them only on purpose, in
/// their own commit.
pub fn budget() -> anyhow::Result<(u64, u64)> {
    let path = repo_root().join("xtask/bundle-budget.txt");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let numbers: Vec<u64> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| l.trim().parse())
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} holds a line that is not a byte count", path.display()))?;
    match numbers[..] {
        [first, total] => Ok((first, total)),
        _ => bail!(
            "{} must hold two byte counts (the first page, then the total), not {}",
            path.display(),
            numbers.len()
        ),
    }
}

/// Fails when the first page or the whole bundle has grown beyond its budget.
pub fn check_budget(size: &BundleSize) -> anyhow::Result<()> {
    let (first, total) = budget()?;
    println!(
        "size budget: first page {} of {first} brotli bytes ({:.0}%); in all {} of {total} ({:.0}%)",
        size.brotli,
        size.brotli as f64 * 100.0 / first as f64,
        size.total_brotli,
        size.total_brotli as f64 * 100.0 / total as f64
    );
    if size.brotli > first {
        bail!(
            "the first page loads {} brotli bytes, over its budget of {first} (xtask/bundle-budget.txt)",
            size.brotli
        );
    }
    if size.total_brotli > total {
        bail!(
            "the bundle with every chunk is {} brotli bytes, over its budget of {total} (xtask/bundle-budget.txt)",
            size.total_brotli
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
    // The splitter needs the linker's relocations to move functions into chunks. Set for this target
    // only, so the native build (and clippy's wasm32 check) keep their own fingerprints.
    let mut rustflags = std::env::var("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS").unwrap_or_default();
    rustflags.push_str(" -Clink-args=--emit-relocs");
    run(cargo()
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", rustflags.trim())
        .args([
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
    let main = crate::tools::target_dir().join("app_split.wasm");
    let chunks = split(&wasm, &pkg, &main)?;
    println!(
        "split into the main module and {} lazily loaded chunks in {:.1} s",
        chunks.len(),
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&main)
        .out_name("app")
        .web(true)
        .map_err(|e| anyhow::anyhow!("{e:#}"))?
        .typescript(false)
        // The chunks link to the main module through the linker's exports, by their mangled names.
        .keep_lld_exports(true)
        .demangle(false)
        .remove_name_section(profile == Profile::Release)
        .remove_producers_section(true)
        .generate(&pkg)
        .map_err(|e| anyhow::anyhow!("wasm-bindgen failed: {e:#}"))?;
    println!("wasm-bindgen in {:.1} s", t.elapsed().as_secs_f64());

    let bg = pkg.join("app_bg.wasm");
    if profile == Profile::Release {
        // The main module (one CLI run, about a minute) beside the chunks: together they take the
        // longer of the two on two cores, not the sum.
        std::thread::scope(|scope| {
            let main = scope.spawn(|| wasm_opt(&bg));
            let chunks = optimise_chunks(&chunks);
            main.join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the wasm-opt thread panicked")))
                .and(chunks)
        })?;
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
        "first page (main module, JS glue, chunk loader): {} raw, {} gzip, {} brotli; logging in adds {} brotli in {} files; with all {} chunks {} brotli  [{}]",
        human(size.raw),
        human(size.gzip),
        human(size.brotli),
        human(size.console_brotli),
        size.console_files,
        size.chunks,
        human(size.total_brotli),
        profile.cargo_name()
    );
    println!("site assembled in {}", site.display());
    Ok(size)
}

/// The name of the JS module through which the main module loads its chunks (written by the splitter
/// into `pkg/`, beside `app.js`).
pub const SPLIT_LINK: &str = "split.js";

/// The split module logging in needs (app/src/routes.rs).
const CONSOLE_MODULE: &str = "console";

/// The manifest the splitter writes: for each split point, the chunks it needs (file stems in `pkg/`).
pub const SPLIT_MANIFEST: &str = "split-manifest.json";

/// Splits `wasm` at the app's split points (`#[wasm_split]` in app/src/routes.rs): writes the chunks, their JS
/// loader and the manifest into `pkg`, and the main module (still to pass through wasm-bindgen) to
/// `main`. Returns the chunks' paths.
fn split(wasm: &Path, pkg: &Path, main: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let input = std::fs::read(wasm).with_context(|| format!("cannot read {}", wasm.display()))?;
    let link = format!("./{SPLIT_LINK}");
    let split = wasm_split_cli_support::transform({
        let mut opts = wasm_split_cli_support::Options::new(&input);
        opts.output_dir = pkg;
        opts.main_out_path = main;
        opts.main_module = "./app.js";
        opts.link_name = &link;
        opts
    })
    .map_err(|e| anyhow::anyhow!("splitting {} failed: {e:#}", wasm.display()))?;
    let manifest: std::collections::BTreeMap<_, _> = split.prefetch_map.into_iter().collect();
    std::fs::write(pkg.join(SPLIT_MANIFEST), serde_json::to_string_pretty(&manifest)?)?;
    Ok(split.split_modules)
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

/// `wasm-opt -Oz` on the chunks: those optimised before come from the cache, the others go through
/// `xtask/wasm-opt-many.mjs`, one process for all (the CLI's start-up, about 2 s, would dominate: most
/// chunks are a few shared functions, under 1 KiB).
fn optimise_chunks(chunks: &[PathBuf]) -> anyhow::Result<()> {
    let t = Instant::now();
    let mut todo = Vec::new();
    for chunk in chunks {
        let cached = wasm_opt_cache_entry(chunk)?;
        if cached.exists() {
            std::fs::copy(&cached, chunk)?;
        } else {
            todo.push((chunk, cached));
        }
    }
    if !todo.is_empty() {
        // One process per core, the chunks dealt out largest first to the least loaded. The main
        // module's wasm-opt runs meanwhile: since the split it takes half as long as the chunks, so
        // sharing the cores with it beats leaving it one (32 s rather than 40 on two cores).
        let cores = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, todo.len());
        let mut by_size: Vec<(u64, &Path)> = todo
            .iter()
            .map(|(chunk, _)| Ok((std::fs::metadata(chunk)?.len(), chunk.as_path())))
            .collect::<anyhow::Result<_>>()?;
        by_size.sort_by_key(|s| std::cmp::Reverse(s.0));
        let mut shares: Vec<(u64, Vec<&Path>)> = vec![(0, Vec::new()); cores];
        for (len, chunk) in by_size {
            let least = shares.iter_mut().min_by_key(|s| s.0).expect("at least one share");
            least.0 += len;
            least.1.push(chunk);
        }
        let mut children = Vec::new();
        for (_, share) in &shares {
            children.push(
                Command::new("node")
                    .arg(repo_root().join("xtask/wasm-opt-many.mjs"))
                    .arg(tools::binaryen_js())
                    .args(share)
                    .spawn()
                    .context("cannot start node for wasm-opt on the chunks")?,
            );
        }
        for mut child in children {
            let status = child.wait()?;
            if !status.success() {
                bail!("wasm-opt on the chunks failed: xtask/wasm-opt-many.mjs exited with {status}");
            }
        }
        for (chunk, cached) in &todo {
            let optimised = chunk.with_extension("opt.wasm");
            std::fs::copy(&optimised, cached)?;
            std::fs::rename(&optimised, chunk)?;
        }
        trim_wasm_opt_cache()?;
    }
    println!(
        "wasm-opt -Oz on {} chunks ({} from the cache) in {:.1} s",
        chunks.len(),
        chunks.len() - todo.len(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Entries kept in the `wasm-opt` cache (the main module and each chunk is one; a build has about 90).
const WASM_OPT_CACHE_ENTRIES: usize = 256;

/// `wasm-opt -Oz` on `wasm` in place, skipped when the same input was optimised before (a cache keyed by
/// a hash of the input and the arguments, under `target/wasm-opt-cache`, at most a few entries).
fn wasm_opt(wasm: &Path) -> anyhow::Result<()> {
    let cached = wasm_opt_cache_entry(wasm)?;
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
    trim_wasm_opt_cache()
}

/// Where the optimised form of `wasm`'s current content is cached: a hash of the input and the
/// arguments, under `target/wasm-opt-cache`.
fn wasm_opt_cache_entry(wasm: &Path) -> anyhow::Result<PathBuf> {
    use std::hash::{Hash, Hasher};
    let input = std::fs::read(wasm)?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    input.hash(&mut hasher);
    WASM_OPT_ARGS.hash(&mut hasher);
    let cache = crate::tools::target_dir().join("wasm-opt-cache");
    std::fs::create_dir_all(&cache)?;
    Ok(cache.join(format!("{:016x}.wasm", hasher.finish())))
}

/// Keeps the newest [`WASM_OPT_CACHE_ENTRIES`] entries of the cache.
fn trim_wasm_opt_cache() -> anyhow::Result<()> {
    let cache = crate::tools::target_dir().join("wasm-opt-cache");
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
        total_brotli: 0,
        chunks: 0,
        console_brotli: 0,
        console_files: 0,
    };
    let compressed = |path: &Path, with: &str| {
        std::fs::metadata(path.with_extension(format!("{}.{with}", ext(path)))).map(|m| m.len())
    };
    for name in ["app_bg.wasm", "app.js", SPLIT_LINK] {
        let path = site.join("pkg").join(name);
        size.raw += std::fs::metadata(&path)?.len();
        size.gzip += compressed(&path, "gz")?;
        size.brotli += compressed(&path, "br")?;
    }
    size.total_brotli = size.brotli;
    for entry in std::fs::read_dir(site.join("pkg"))? {
        let path = entry?.path();
        if ext(&path) == "wasm" && path.file_name().is_some_and(|n| n != "app_bg.wasm") {
            size.total_brotli += compressed(&path, "br")?;
            size.chunks += 1;
        }
    }
    let manifest = site.join("pkg").join(SPLIT_MANIFEST);
    let manifest: std::collections::BTreeMap<String, Vec<String>> =
        serde_json::from_slice(&std::fs::read(&manifest)?)
            .with_context(|| format!("{} is not the splitter's manifest", manifest.display()))?;
    let console = manifest
        .get(CONSOLE_MODULE)
        .with_context(|| format!("the split manifest names no `{CONSOLE_MODULE}` module"))?;
    for stem in console {
        size.console_brotli += compressed(&site.join("pkg").join(format!("{stem}.wasm")), "br")?;
    }
    size.console_files = console.len();
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
