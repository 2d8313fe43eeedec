//! `clusterdeck-bench <what>`: one measurement of `cargo xtask bench`, printed as one JSON line on
//! stdout (`{"id": ..., ...}`). xtask runs each and prints the table.

use std::time::Duration;

use serde_json::json;
use tests::bench::{commands_load, large_fleet, navigation, percentile, sse_fanout};
use tests::Harness;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let out = match args.first().map(String::as_str) {
        Some("p2") => {
            let h = Harness::start().await?;
            h.login("admin", "ironport", "newyork.example.com").await?;
            let s = navigation(&h, arg(1, 20) as usize).await?;
            h.finish().await?;
            json!({"id": "P2", "loads": s.len(), "p50_ms": percentile(&s, 50.0), "p95_ms": percentile(&s, 95.0)})
        }
        Some("p3") => {
            let server = tests::bench::server()?;
            let (c, b) = commands_load(&server, arg(1, 32) as usize, Duration::from_secs(arg(2, 5))).await?;
            json!({"id": "P3", "concurrency": arg(1, 32), "requests": c.requests, "errors": c.errors,
                   "p50_ms": c.p50_ms, "p99_ms": c.p99_ms, "per_second": c.per_second,
                   "bare_per_second": b.per_second, "bare_p50_ms": b.p50_ms, "ratio": c.per_second / b.per_second})
        }
        Some("p3wrk") => {
            let server = tests::bench::server()?;
            let wrk = std::env::var("WRK").unwrap_or_else(|_| "wrk".into());
            let (c, b) = tests::bench::commands_load_wrk(&server, &wrk, arg(1, 32) as usize, Duration::from_secs(arg(2, 8))).await?;
            let per = |v: &serde_json::Value| v["requests"].as_f64().unwrap_or(f64::NAN) / v["seconds"].as_f64().unwrap_or(f64::NAN);
            json!({"id": "P3w", "connections": arg(1, 32), "requests": c["requests"], "errors": c["errors"],
                   "p50_ms": c["p50_us"].as_f64().unwrap_or(f64::NAN) / 1e3, "p99_ms": c["p99_us"].as_f64().unwrap_or(f64::NAN) / 1e3,
                   "per_second": per(&c), "bare_per_second": per(&b), "bare_errors": b["errors"],
                   "bare_p50_ms": b["p50_us"].as_f64().unwrap_or(f64::NAN) / 1e3, "ratio": per(&c) / per(&b)})
        }
        Some("p3oha") => {
            let server = tests::bench::server()?;
            let oha = std::env::var("OHA").unwrap_or_else(|_| "oha".into());
            let (c, o, b) = tests::bench::commands_load_oha(&server, &oha, arg(1, 32) as usize, arg(2, 8000) as u32, Duration::from_secs(arg(3, 8))).await?;
            json!({"id": "P3o", "connections": arg(1, 32), "rate": arg(2, 8000),
                   "requests": c.requests, "success_rate": c.success_rate, "p50_ms": c.p50_ms, "p99_ms": c.p99_ms, "per_second": c.per_second,
                   "open_requests": o.requests, "open_success_rate": o.success_rate, "open_per_second": o.per_second, "open_p50_ms": o.p50_ms, "open_p99_ms": o.p99_ms,
                   "bare_per_second": b.per_second, "bare_success_rate": b.success_rate, "ratio": c.per_second / b.per_second})
        }
        Some("cli") => {
            let server = tests::bench::server()?;
            let (stage, commit) = tests::bench::cli_latency(&server, arg(1, 500) as usize).await?;
            json!({"id": "S1", "iterations": arg(1, 500), "stage_p50_ms": stage.p50_ms, "stage_p99_ms": stage.p99_ms,
                   "commit_p50_ms": commit.p50_ms, "commit_p99_ms": commit.p99_ms})
        }
        Some("p2c") => {
            let h = Harness::start().await?;
            let s = tests::bench::cold_visits(&h, arg(1, 20) as usize).await?;
            h.finish().await?;
            json!({"id": "P2c", "loads": s.len(), "p50_ms": percentile(&s, 50.0), "p95_ms": percentile(&s, 95.0)})
        }
        Some("p5") => {
            let server = tests::bench::server()?;
            let l = sse_fanout(&server, arg(1, 1000) as usize).await?;
            json!({"id": "P5", "subscribers": arg(1, 1000), "received": l.requests, "missed": l.errors,
                   "p50_ms": l.p50_ms, "p99_ms": l.p99_ms})
        }
        Some("p6") => {
            let p6 = large_fleet(arg(1, 1000) as usize, arg(2, 20) as usize).await?;
            let applies = &p6.applies;
            json!({"id": "P6", "machines": arg(1, 1000), "render_ms": p6.render_ms, "scroll_ms": p6.scroll_ms,
                   "first_apply_ms": p6.first_apply_ms, "apply_ms": applies, "apply_p99_ms": percentile(applies, 99.0), "apply_p50_ms": percentile(applies, 50.0), "apply_max_ms": applies.last().copied().unwrap_or(f64::NAN)})
        }
        Some("r1") => {
            let r = tests::drill::crash_drill(arg(1, 100) as usize, |l| eprintln!("{l}")).await?;
            json!({"id": "R1", "rounds": r.rounds, "acknowledged": r.acknowledged, "lost": r.lost,
                   "verify_failures": r.verify_failures, "seconds": r.seconds})
        }
        Some("f1") => {
            let s = tests::bench::fleet_creation(arg(1, 100) as usize).await?;
            json!({"id": "F1", "fleets": s.len(), "p50_ms": percentile(&s, 50.0), "p99_ms": percentile(&s, 99.0)})
        }
        Some("f2") => {
            let n = arg(1, 300) as usize;
            let per = tests::bench::idle_fleets(n).await?;
            json!({"id": "F2", "fleets": n, "bytes_per_fleet": per, "per_gib": (1u64 << 30) as f64 / per})
        }
        Some("f3") => {
            let n = arg(1, 100) as usize;
            let l = tests::bench::many_fleets(n, Duration::from_secs(arg(2, 8))).await?;
            json!({"id": "F3", "fleets": n, "requests": l.requests, "errors": l.errors, "p50_ms": l.p50_ms,
                   "p99_ms": l.p99_ms, "per_second": l.per_second})
        }
        Some("f4") => {
            let n = arg(1, 10_000) as usize;
            let ((b_size, b_ms), (a_size, a_ms)) = tests::bench::fleet_after_logins(n).await?;
            json!({"id": "F4", "logins": n, "before_bytes": b_size, "before_p50_ms": b_ms,
                   "after_bytes": a_size, "after_p50_ms": a_ms})
        }
        Some("e1") => {
            let n = arg(1, 1000) as usize;
            let (small, large) = tests::bench::event_bytes(n).await?;
            json!({"id": "E1", "rows": n, "small_table_bytes": small, "large_table_bytes": large})
        }
        Some("s1") => {
            let s = tests::bench::sandbox_creation(arg(1, 200) as usize, "americas").await?;
            json!({"id": "S1", "sandboxes": s.len(), "p50_ms": percentile(&s, 50.0), "p99_ms": percentile(&s, 99.0)})
        }
        Some("s2") => {
            let n = arg(1, 300) as usize;
            let per = tests::bench::idle_sandboxes(n).await?;
            json!({"id": "S2", "sandboxes": n, "bytes_per_sandbox": per, "per_gib": (1u64 << 30) as f64 / per})
        }
        Some("s3") => {
            let n = arg(1, 200) as usize;
            let over = arg(2, 10);
            let l = tests::bench::sandbox_visitors(n, Duration::from_secs(over)).await?;
            json!({"id": "S3", "visitors": n, "arrive_over_s": over, "requests": l.requests, "errors": l.errors,
                   "p50_ms": l.p50_ms, "p99_ms": l.p99_ms})
        }
        _ => anyhow::bail!("usage: clusterdeck-bench s1 [sandboxes] | s2 [sandboxes] | s3 [visitors] [arrival seconds] | p2 [loads] | p3 [concurrency] [seconds] | p3wrk [connections] [seconds] | p3oha [connections] [rate] [seconds] | cli [iterations] | p5 [subscribers] | p6 [machines] [events] | r1 [rounds] | f1 [fleets] | f2 [fleets] | f3 [fleets] [seconds] | f4 [logins] | e1 [rows]"),
    };
    println!("{out}");
    Ok(())
}
