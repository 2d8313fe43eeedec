//! `cargo xtask bench`: every figure of issue 6 beside its goal (and its baseline where one is
//! stated), in one table. Release builds; loopback only; every run is bounded.

use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context};

use crate::build::{self, Profile};
use crate::tools::{self, cargo, repo_root, run};
use crate::NATIVE;

struct Row {
    id: &'static str,
    figure: String,
    value: String,
    goal: String,
    met: Option<bool>,
}

fn json_line(out: &str) -> anyhow::Result<serde_json::Value> {
    let line = out
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .context("the measurement printed no result")?;
    Ok(serde_json::from_str(line)?)
}

fn measure(args: &[&str]) -> anyhow::Result<serde_json::Value> {
    measure_with(args, &[])
}

fn measure_with(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> anyhow::Result<serde_json::Value> {
    let root = repo_root();
    let bench = crate::tools::target_dir().join("release/clusterdeck-bench");
    let t = Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 8192 2>/dev/null; exec \"$0\" \"$@\"")
        .arg(&bench)
        .args(args)
        .env(
            "CLUSTERDECK_BIN",
            crate::tools::target_dir().join("release/clusterdeck"),
        )
        .env("CLUSTERDECK_SITE_DIR", root.join("site"))
        .envs(env.iter().copied())
        .current_dir(&root)
        .output()
        .with_context(|| format!("cannot start {}", bench.display()))?;
    if !out.status.success() {
        bail!(
            "clusterdeck-bench {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    println!(
        "  measured {} in {:.0} s",
        args.join(" "),
        t.elapsed().as_secs_f64()
    );
    json_line(&String::from_utf8_lossy(&out.stdout))
}

/// Parses divan's median column for `name` (e.g. `19.93 ms`) into milliseconds.
fn divan_median_ms(output: &str, name: &str) -> anyhow::Result<f64> {
    let line = output
        .lines()
        .find(|l| l.contains(name))
        .with_context(|| format!("divan printed no {name}"))?;
    let median = line.split('│').nth(2).context("no median column")?.trim();
    let (num, unit) = median.split_once(' ').context("no unit")?;
    let n: f64 = num.parse()?;
    Ok(match unit {
        "ns" => n / 1e6,
        "µs" | "us" => n / 1e3,
        "ms" => n,
        "s" => n * 1e3,
        _ => bail!("unknown unit {unit}"),
    })
}

/// The crate an item of twiggy's list belongs to, read off its name: the path segment before its first
/// `::` (`<T as reactive_graph::traits::With>::try_with` is reactive_graph's, a generic's instance is the
/// generic's crate's); data segments and unnamed items are grouped apart.
fn crate_of(name: &str) -> &str {
    if name.starts_with("data segment") {
        return "(data segments)";
    }
    let Some(at) = name.find("::") else {
        return "(tables, imports, unnamed)";
    };
    let mut before = &name[..at];
    if before.ends_with(']') {
        before = before.rfind('[').map_or(before, |i| &before[..i]);
    }
    let start = before
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    match &before[start..] {
        "" => "(tables, imports, unnamed)",
        c => c,
    }
}

/// What each crate contributes to the WebAssembly's code and data, by twiggy on the module before
/// `wasm-opt` (which drops the names): (crate, bytes), largest first, and the total. Custom sections
/// (names, debug info) are left out: they are not shipped.
fn wasm_contributors(
    twiggy: &std::path::Path,
    wasm: &std::path::Path,
) -> anyhow::Result<(Vec<(String, u64)>, u64)> {
    let out = Command::new(twiggy)
        .args(["top", "-n", "10000000", "--format", "json"])
        .arg(wasm)
        .output()
        .context("cannot run twiggy")?;
    anyhow::ensure!(
        out.status.success(),
        "twiggy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let items: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).context("twiggy's JSON")?;
    let mut by_crate: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    let mut total = 0;
    for item in &items {
        let name = item["name"].as_str().unwrap_or_default();
        let size = item["shallow_size"].as_u64().unwrap_or(0);
        if name.starts_with("custom section")
            || name.contains("subsection")
            || name.starts_with("Σ")
            || name.starts_with("...")
        {
            continue;
        }
        total += size;
        *by_crate.entry(crate_of(name).to_string()).or_default() += size;
    }
    let mut ranked: Vec<(String, u64)> = by_crate.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok((ranked, total))
}

/// A page-load row (P2, P2c): p50 and p95 of the loads, the goal on the p50.
fn page_load_row(id: &'static str, figure: &str, v: &serde_json::Value) -> Row {
    Row {
        id,
        figure: figure.into(),
        value: format!("p50 {:.0} ms, p95 {:.0} ms", f(v, "p50_ms"), f(v, "p95_ms")),
        goal: "p50 ≤ 300 ms".into(),
        met: Some(f(v, "p50_ms") <= 300.0),
    }
}

fn f(v: &serde_json::Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

pub fn bench() -> anyhow::Result<()> {
    let started = Instant::now();
    tools::ensure_wasm_target()?;
    tools::ensure_chromium()?;
    tools::ensure_binaryen()?;
    let wrk = tools::ensure_wrk()?;
    let oha = tools::ensure_oha()?;
    let size = build::build(Profile::Release)?;
    let mut args = vec!["build", "--release"];
    args.extend(NATIVE);
    run(cargo().args(&args))?;
    let mut rows = Vec::new();

    // The main module as the splitter left it (before wasm-bindgen and wasm-opt, names kept): what the
    // first page loads.
    let wasm = tools::target_dir().join("app_split.wasm");
    let (crates, code) = wasm_contributors(&tools::ensure_twiggy()?, &wasm)?;
    println!("P1 contributors to the first page's module (twiggy, code and data before wasm-opt, {code} B in all):");
    for (name, bytes) in crates.iter().take(15) {
        println!(
            "  {bytes:>9} B  {:>5.1}%  {name}",
            *bytes as f64 * 100.0 / code.max(1) as f64
        );
    }
    let top: Vec<String> = crates
        .iter()
        .take(5)
        .map(|(n, b)| format!("{n} {:.0}%", *b as f64 * 100.0 / code.max(1) as f64))
        .collect();
    rows.push(Row {
        id: "P1",
        figure: "site bundle (WASM, JS glue, chunk loader), brotli: what the first page loads, and in all".into(),
        value: format!(
            "first page (the login form) {} B ({:.1} KiB); logging in adds {} B in {} files (fetched while the form waits); in all {} B with {} chunks loaded as pages are first visited; largest crates of the first page: {}",
            size.brotli,
            size.brotli as f64 / 1024.0,
            size.console_brotli,
            size.console_files,
            size.total_brotli,
            size.chunks,
            top.join(", ")
        ),
        goal: "first page ≤ 200 KB".into(),
        met: Some(size.brotli <= 200_000),
    });

    rows.push(page_load_row(
        "P2",
        "navigation → overview interactive (20 loads, Chromium)",
        &measure(&["p2", "20"])?,
    ));
    rows.push(page_load_row(
        "P2c",
        "first visit on a cold cache → console interactive (login form focused); 20 loads, each a new Chromium profile",
        &measure(&["p2c", "20"])?,
    ));

    let p3 = measure(&["p3", "32", "8"])?;
    let ratio = f(&p3, "ratio");
    rows.push(Row {
        id: "P3",
        figure: "POST /api/v1/commands, durable (suspend/resume: one event each), 32 connections".into(),
        value: format!(
            "p50 {:.2} ms, p99 {:.2} ms, {:.0} req/s; bare JSON handler {:.0} req/s; ratio {ratio:.2} ({} requests, {} errors)",
            f(&p3, "p50_ms"),
            f(&p3, "p99_ms"),
            f(&p3, "per_second"),
            f(&p3, "bare_per_second"),
            p3["requests"],
            p3["errors"]
        ),
        goal: "p50 ≤ 1 ms, p99 ≤ 10 ms, ratio ≥ 0.5".into(),
        met: Some(f(&p3, "p50_ms") <= 1.0 && f(&p3, "p99_ms") <= 10.0 && ratio >= 0.5),
    });

    let w = measure_with(&["p3wrk", "32", "8"], &[("WRK", wrk.as_os_str())])?;
    let ratio = f(&w, "ratio");
    rows.push(Row {
        id: "P3w",
        figure: "P3 by wrk (Debian): POST /api/v1/commands `runtime suspend` every time (one durable event each; P3 alternates suspend and resume), 32 connections, 32 sessions".into(),
        value: format!(
            "p50 {:.2} ms, p99 {:.2} ms, {:.0} req/s; bare GET /api/v1/health {:.0} req/s; ratio {ratio:.2} ({} requests, {} errors, {} bare errors; closed loop, no coordinated-omission correction)",
            f(&w, "p50_ms"),
            f(&w, "p99_ms"),
            f(&w, "per_second"),
            f(&w, "bare_per_second"),
            w["requests"],
            w["errors"],
            w["bare_errors"]
        ),
        goal: "p50 ≤ 1 ms, p99 ≤ 10 ms, ratio ≥ 0.5 (judged only with coordinated omission corrected)".into(),
        // Closed-loop wrk under-reports the tail when the server stalls: a miss is a miss, a pass is
        // not claimed.
        met: if f(&w, "p50_ms") <= 1.0
            && f(&w, "p99_ms") <= 10.0
            && ratio >= 0.5
            && w["errors"] == 0
            && w["bare_errors"] == 0
        {
            None
        } else {
            Some(false)
        },
    });

    let o = measure_with(&["p3oha", "32", "8000", "8"], &[("OHA", oha.as_os_str())])?;
    let ratio = f(&o, "ratio");
    let all_ok = f(&o, "success_rate") == 1.0
        && f(&o, "open_success_rate") == 1.0
        && f(&o, "bare_success_rate") == 1.0;
    rows.push(Row {
        id: "P3o",
        figure: "P3 by oha (crates.io): POST /api/v1/commands `runtime suspend` every time (one durable event each), 32 connections, one session; closed loop for the throughput, then open loop at 8,000 req/s with coordinated omission corrected (latency from when each request was due)".into(),
        value: format!(
            "open loop: p50 {:.2} ms, p99 {:.2} ms at {:.0} req/s; closed loop: {:.0} req/s (p50 {:.2} ms, p99 {:.2} ms); bare GET /api/v1/health {:.0} req/s; ratio {ratio:.2}; {}",
            f(&o, "open_p50_ms"),
            f(&o, "open_p99_ms"),
            f(&o, "open_per_second"),
            f(&o, "per_second"),
            f(&o, "p50_ms"),
            f(&o, "p99_ms"),
            f(&o, "bare_per_second"),
            if all_ok { "every answer 2xx".to_string() } else { format!("success rates {}, {}, {}", o["success_rate"], o["open_success_rate"], o["bare_success_rate"]) }
        ),
        goal: "p50 ≤ 1 ms, p99 ≤ 10 ms (open loop, corrected), ratio ≥ 0.5".into(),
        met: Some(f(&o, "open_p50_ms") <= 1.0 && f(&o, "open_p99_ms") <= 10.0 && ratio >= 0.5 && all_ok),
    });

    let c1 = measure(&["cli", "500"])?;
    rows.push(Row {
        id: "C1",
        figure: "POST /api/v1/cli: a staged setting change, then commit (issue 4)".into(),
        value: format!(
            "stage p50 {:.2} ms, p99 {:.2} ms; commit p50 {:.2} ms, p99 {:.2} ms (500 each, one session)",
            f(&c1, "stage_p50_ms"),
            f(&c1, "stage_p99_ms"),
            f(&c1, "commit_p50_ms"),
            f(&c1, "commit_p99_ms")
        ),
        goal: "(no goal stated)".into(),
        met: None,
    });

    println!("\n==> cargo bench -p cluster --bench effective");
    let out = cargo()
        .args(["bench", "-p", "cluster", "--bench", "effective"])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    print!("{text}");
    if !out.status.success() {
        bail!(
            "the effective-values benchmark failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let all = divan_median_ms(&text, "flat_500_all_machines")?;
    let one = divan_median_ms(&text, "flat_500_one_machine")?;
    let lookup = divan_median_ms(&text, "flat_500_one_lookup")?;
    rows.push(Row {
        id: "P4",
        figure: "effective values, 10,000 machines × a generated 500-feature catalogue (cluster::store::flat; pages still resolve item by item)".into(),
        value: format!(
            "all: {all:.1} ms; one machine (500 features): {:.0} ns; one lookup: {:.0} ns",
            one * 1e6,
            lookup * 1e6
        ),
        goal: "≤ 20 ms all, ≤ 1 µs one machine".into(),
        met: Some(all <= 20.0 && one <= 0.001),
    });
    let nested = divan_median_ms(&text, "nested_19_all_machines")?;
    let nested_one = divan_median_ms(&text, "nested_19_one_lookup")?;
    let from_store = divan_median_ms(&text, "flat_19_from_store")?;
    rows.push(Row {
        id: "P4b",
        figure: "the same, real 19-feature catalogue: nested maps (resolve); flat table built from the store"
            .into(),
        value: format!(
            "nested all: {nested:.1} ms, one lookup {:.0} ns; building the flat table: {from_store:.1} ms",
            nested_one * 1e6
        ),
        goal: "(beside P4; no goal stated)".into(),
        met: None,
    });

    let p5 = measure(&["p5", "1000"])?;
    rows.push(Row {
        id: "P5",
        figure: "one event → 1,000 SSE subscribers, delivery delay".into(),
        value: format!(
            "p50 {:.1} ms, p99 {:.1} ms ({} received, {} missed)",
            f(&p5, "p50_ms"),
            f(&p5, "p99_ms"),
            p5["received"],
            p5["missed"]
        ),
        goal: "p99 ≤ 50 ms".into(),
        met: Some(f(&p5, "p99_ms") <= 50.0 && p5["missed"] == 0),
    });

    let p6 = measure(&["p6", "1000", "100"])?;
    rows.push(Row {
        id: "P6",
        figure: "browser: overview of 1,000 machines (a windowed list of 997), first screen; jump to its end; apply each of 100 events".into(),
        value: format!(
            "render {:.0} ms; jump to the end {:.0} ms; apply: first {:.1} ms (compiles that code), then p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (page clock, 0.1 ms resolution)",
            f(&p6, "render_ms"),
            f(&p6, "scroll_ms"),
            f(&p6, "first_apply_ms"),
            f(&p6, "apply_p50_ms"),
            f(&p6, "apply_p99_ms"),
            f(&p6, "apply_max_ms")
        ),
        goal: "render ≤ 100 ms; apply ≤ 1 ms after the first (the jump: no goal)".into(),
        met: Some(f(&p6, "render_ms") <= 100.0 && f(&p6, "apply_max_ms") <= 1.0),
    });

    let f1 = measure(&["f1", "100"])?;
    rows.push(Row {
        id: "F1",
        figure: "fleet creation from the americas fixture (store, snapshot, engine), 100 fleets".into(),
        value: format!("p50 {:.2} ms, p99 {:.2} ms", f(&f1, "p50_ms"), f(&f1, "p99_ms")),
        goal: "p50 ≤ 5 ms".into(),
        met: Some(f(&f1, "p50_ms") <= 5.0),
    });

    let f2 = measure(&["f2", "300"])?;
    rows.push(Row {
        id: "F2",
        figure: "idle fleets loaded per GiB of server memory (300 loaded)".into(),
        value: format!(
            "{:.0} KiB each → {:.0} per GiB",
            f(&f2, "bytes_per_fleet") / 1024.0,
            f(&f2, "per_gib")
        ),
        goal: "≥ 1,000 per GiB".into(),
        met: Some(f(&f2, "per_gib") >= 1000.0),
    });

    let f3 = measure(&["f3", "100", "8"])?;
    rows.push(Row {
        id: "F3",
        figure: "100 fleets, one active session each (a durable command every 100 ms): round trip".into(),
        value: format!(
            "p50 {:.2} ms, p99 {:.2} ms, {:.0} req/s ({} requests, {} errors)",
            f(&f3, "p50_ms"),
            f(&f3, "p99_ms"),
            f(&f3, "per_second"),
            f3["requests"],
            f3["errors"]
        ),
        goal: "p99 ≤ 10 ms".into(),
        met: Some(f(&f3, "p99_ms") <= 10.0 && f3["errors"] == 0),
    });

    let f4 = measure(&["f4", "10000"])?;
    rows.push(Row {
        id: "F4",
        figure: "GET /api/v1/fleet after 10,000 logins (vs one login)".into(),
        value: format!(
            "{} B, p50 {:.2} ms after; {} B, p50 {:.2} ms before",
            f4["after_bytes"],
            f(&f4, "after_p50_ms"),
            f4["before_bytes"],
            f(&f4, "before_p50_ms")
        ),
        goal: "unchanged".into(),
        met: Some(
            f4["after_bytes"] == f4["before_bytes"]
                && f(&f4, "after_p50_ms") <= 2.0 * f(&f4, "before_p50_ms"),
        ),
    });

    let s1 = measure(&["s1", "200"])?;
    rows.push(Row {
        id: "S1",
        figure: "sandbox creation from the americas scenario (fleet, store, engine, record, session), 200"
            .into(),
        value: format!("p50 {:.2} ms, p99 {:.2} ms", f(&s1, "p50_ms"), f(&s1, "p99_ms")),
        goal: "p50 ≤ 10 ms".into(),
        met: Some(f(&s1, "p50_ms") <= 10.0),
    });

    let s2 = measure(&["s2", "300"])?;
    rows.push(Row {
        id: "S2",
        figure: "live idle sandboxes per GiB of server memory (300 live, each with its session)".into(),
        value: format!(
            "{:.0} KiB each → {:.0} per GiB",
            f(&s2, "bytes_per_sandbox") / 1024.0,
            f(&s2, "per_gib")
        ),
        goal: "≥ 1,000 per GiB".into(),
        met: Some(f(&s2, "per_gib") >= 1000.0),
    });

    let s3b = measure(&["s3", "200", "0"])?;
    rows.push(Row {
        id: "S3b",
        figure: "the same 200 visitors arriving in the same instant (200 sandboxes created at once)".into(),
        value: format!(
            "p50 {:.2} ms, p99 {:.2} ms ({} requests, {} errors)",
            f(&s3b, "p50_ms"),
            f(&s3b, "p99_ms"),
            s3b["requests"],
            s3b["errors"]
        ),
        goal: "(context for S3: no goal stated)".into(),
        met: None,
    });

    let s3 = measure(&["s3", "200", "10"])?;
    rows.push(Row {
        id: "S3",
        figure: "200 concurrent visitors, arriving over 10 s: start a sandbox, disconnect losangeles, list (every request)".into(),
        value: format!(
            "p50 {:.2} ms, p99 {:.2} ms ({} requests, {} errors)",
            f(&s3, "p50_ms"),
            f(&s3, "p99_ms"),
            s3["requests"],
            s3["errors"]
        ),
        goal: "p99 ≤ 50 ms, 0 errors".into(),
        met: Some(f(&s3, "p99_ms") <= 50.0 && s3["errors"] == 0),
    });

    let e1 = measure(&["e1", "1000"])?;
    rows.push(Row {
        id: "E1",
        figure: "bytes appended to the log by a commit adding one row to a 1,000-row table".into(),
        value: format!(
            "{} B (the same commit to a 1-row table: {} B)",
            e1["large_table_bytes"], e1["small_table_bytes"]
        ),
        goal: "independent of the table's size (was 73 KB)".into(),
        met: Some(
            e1["large_table_bytes"].as_u64().unwrap_or(u64::MAX)
                <= e1["small_table_bytes"].as_u64().unwrap_or(0) + 64,
        ),
    });

    let r1 = measure(&["r1", "100"])?;
    rows.push(Row {
        id: "R1",
        figure: "crash drill: SIGKILL under load, restart, verify".into(),
        value: format!(
            "{} rounds, {} acknowledged commits, {} lost, {} verify failures ({:.0} s)",
            r1["rounds"],
            r1["acknowledged"],
            r1["lost"],
            r1["verify_failures"],
            f(&r1, "seconds")
        ),
        goal: "0 lost".into(),
        met: Some(r1["lost"] == 0 && r1["verify_failures"] == 0),
    });

    println!(
        "\n==> cargo xtask bench: figures against their goals (this machine, {:.0} s)\n",
        started.elapsed().as_secs_f64()
    );
    println!("| id | figure | measured | goal | met |");
    println!("|---|---|---|---|---|");
    for r in &rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "—",
        };
        println!("| {} | {} | {} | {} | {met} |", r.id, r.figure, r.value, r.goal);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::crate_of;

    #[test]
    fn twiggy_items_are_grouped_by_the_crate_their_name_starts_in() {
        assert_eq!(
            crate_of("<T as reactive_graph::traits::With>::try_with::he0bd"),
            "reactive_graph"
        );
        assert_eq!(
            crate_of("core[c5930c85a12de822]::num::flt2dec::format_shortest"),
            "core"
        );
        assert_eq!(crate_of("cluster::apply::apply::he4d2"), "cluster");
        assert_eq!(crate_of("data segment \".rodata\""), "(data segments)");
        assert_eq!(crate_of("elem[0]"), "(tables, imports, unnamed)");
        assert_eq!(
            crate_of("<&mut serde_json::de::Deserializer<R>>::x"),
            "serde_json"
        );
    }
}
