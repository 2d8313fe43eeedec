//! `clusterdeck`: the server binary — `serve` (the default), `cli`, `fleet`, `verify`, `script`.

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
    /// Check a data directory: for each fleet (or the one named), the latest snapshot plus its tail
    /// equals the replay of the whole log.
    Verify {
        #[arg(long, env = "CLUSTERDECK_DATA_DIR", default_value = "./data")]
        data_dir: PathBuf,
        #[arg(long)]
        fleet: Option<String>,
    },
    /// Manage the fleets of a data directory: list, create, export, import, delete.
    Fleet(server::fleetctl::FleetOptions),
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
        Some(Command::Verify { data_dir, fleet }) => verify(&data_dir, fleet.as_deref()),
        Some(Command::Fleet(opts)) => match server::fleetctl::run(opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("clusterdeck fleet: {e:#}");
                ExitCode::FAILURE
            }
        },
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

fn verify(data_dir: &std::path::Path, fleet: Option<&str>) -> ExitCode {
    use server::registry::{self, FleetId};
    let fleets = match fleet {
        Some(f) => FleetId::parse(f).map(|id| vec![id]).map_err(anyhow::Error::msg),
        None => registry::list(data_dir),
    };
    let fleets = match fleets {
        Ok(f) if f.is_empty() => {
            eprintln!("clusterdeck verify: no fleets in {}", data_dir.display());
            return ExitCode::FAILURE;
        }
        Ok(f) => f,
        Err(e) => {
            eprintln!("clusterdeck verify: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let mut failed = false;
    for id in fleets {
        let path = registry::fleet_path(data_dir, &id);
        let result = if path.exists() {
            server::store::SqliteStore::open(&path).and_then(|mut s| server::store::verify(&mut s))
        } else {
            Err(anyhow::anyhow!("no fleet {id} in {}", data_dir.display()))
        };
        match result {
            Ok(revision) => println!("verified {id}: revision {revision} equals the replay of the log"),
            Err(e) => {
                eprintln!("clusterdeck verify: {id}: {e:#}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
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
