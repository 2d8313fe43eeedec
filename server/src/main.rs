//! `clusterdeck`: the server binary.

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
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("CLUSTERDECK_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let command = cli.command.unwrap_or_else(|| {
        Command::Serve(server::serve::ServeOptions {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            data_dir: "./data".into(),
            site_dir: "./site".into(),
        })
    });
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match command {
        Command::Serve(opts) => runtime.block_on(server::serve::run(opts)),
    }
}
