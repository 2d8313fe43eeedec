//! `clusterdeck`: the server binary — `serve` (the default), `script`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "clusterdeck",
    version,
    about = "A web console for a cluster of email-security appliances"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the console and the API (the default).
    Serve(server::serve::ServeOptions),
    /// Speak the CLI to a running server (interactive, or one line with -c).
    Cli(server::client::CliOptions),
    /// Check a data directory: the latest snapshot plus its tail equals the replay of the whole log.
    Verify {
        #[arg(long, env = "CLUSTERDECK_DATA_DIR", default_value = "./data")]
        data_dir: PathBuf,
    },
    /// Run scripts against a fresh in-memory fleet and print their transcripts (rules §11).
    Script {
        /// The fixture a script starts from when it has no `@fixture` line.
        #[arg(long, default_value = "americas", value_parser = clap::builder::PossibleValuesParser::new(cluster::fixture::FIXTURES))]
        fixture: String,
        /// Script files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().collect();
    if args.len() == 1 {
        args.push("serve".into());
    }
    let cli = Cli::parse_from(args);
    match cli.command {
        Some(Command::Script { fixture, files }) => script(&fixture, &files),
        Some(Command::Serve(opts)) => serve(opts),
        Some(Command::Cli(opts)) => client(opts),
        Some(Command::Verify { data_dir }) => verify(&data_dir),
        None => serve(server::serve::ServeOptions::parse_default()),
    }
}

fn serve(opts: server::serve::ServeOptions) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("CLUSTERDECK_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(server::serve::run(opts)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clusterdeck: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn client(opts: server::client::CliOptions) -> ExitCode {
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(server::client::run(opts)));
    match result {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => {
            eprintln!("clusterdeck cli: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn verify(data_dir: &std::path::Path) -> ExitCode {
    let result = server::store::SqliteStore::open(data_dir).and_then(|mut s| server::store::verify(&mut s));
    match result {
        Ok(revision) => {
            println!("verified: revision {revision} equals the replay of the log");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("clusterdeck verify: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every script; exits 0 only if every expectation of every script holds.
fn script(fixture: &str, files: &[PathBuf]) -> ExitCode {
    let mut failed = 0;
    for file in files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{}: cannot read: {e}", file.display());
                failed += 1;
                continue;
            }
        };
        let outcome = cluster::script::run(&text, Some(fixture));
        println!("=== {}", file.display());
        print!("{}", outcome.transcript);
        if let Some(f) = outcome.failure {
            eprintln!("{}:{}: {}", file.display(), f.line, f.why);
            failed += 1;
        }
    }
    println!("scripts: {} passed, {failed} failed", files.len() - failed);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
