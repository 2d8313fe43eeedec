//! `clusterdeck fleet list | create | export | import | delete` — operators manage the fleets of a data
//! directory, also while a server runs on it: a new fleet is found by the server on first use, and a
//! deleted one is marked so that a server holding it ends its sessions and lets it go within seconds.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::registry::{self, FleetId};
use crate::store::{self, SqliteStore, Store};

/// `clusterdeck fleet ...`.
#[derive(Debug, Clone, clap::Args)]
pub struct FleetOptions {
    #[arg(long, env = "CLUSTERDECK_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    #[command(subcommand)]
    pub action: FleetAction,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum FleetAction {
    /// The fleets of the data directory, with their revisions.
    List,
    /// A new fleet from a fixture or from a script (the rules §11 format; the fleet as the script leaves it).
    #[command(group = clap::ArgGroup::new("source").required(true).args(["fixture", "script"]))]
    Create {
        name: String,
        #[arg(long)]
        fixture: Option<String>,
        #[arg(long)]
        script: Option<PathBuf>,
        /// Keep the demo users and passwords (admin/ironport, ...). Without it the fleet's admin password
        /// is CLUSTERDECK_ADMIN_PASSWORD and the other demo users are removed.
        #[arg(long)]
        demo: bool,
    },
    /// The fleet's event log as JSON Lines (to standard output, or `--out FILE`).
    Export {
        name: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// A new fleet from an export: the same state and revision.
    Import { name: String, file: PathBuf },
    /// Removes a fleet (a server holding it lets it go within seconds).
    Delete { name: String },
}

fn parse_name(name: &str) -> anyhow::Result<FleetId> {
    FleetId::parse(name).map_err(anyhow::Error::msg)
}

/// The seed of a new fleet: a fixture or the fleet a script leaves, with the demo credentials (`demo`) or
/// `CLUSTERDECK_ADMIN_PASSWORD` ([`crate::serve::credentials`]).
pub fn seed_from(fixture: Option<&str>, script: Option<&str>, demo: bool) -> anyhow::Result<cluster::Fleet> {
    let fleet = match (fixture, script) {
        (Some(f), _) => cluster::fixture::by_name(f).with_context(|| {
            format!(
                "unknown fixture \"{f}\": use {}, or scale-<n>",
                cluster::fixture::FIXTURES.join(", ")
            )
        })?,
        (None, Some(text)) => {
            let outcome = cluster::script::run(text, None);
            if let Some(f) = outcome.failure {
                bail!("the script fails at line {}: {}\n    {}", f.line, f.why, f.text);
            }
            outcome.fleet
        }
        (None, None) => bail!("give --fixture NAME or --script FILE"),
    };
    crate::serve::credentials(fleet, demo)
}

fn exists(data_dir: &Path, id: &FleetId) -> bool {
    registry::fleet_path(data_dir, id).exists()
}

pub fn run(opts: FleetOptions) -> anyhow::Result<()> {
    let dir = &opts.data_dir;
    match opts.action {
        FleetAction::List => {
            let fleets = registry::list(dir)?;
            if fleets.is_empty() {
                println!("no fleets in {}", dir.display());
            }
            for id in fleets {
                let mut store = SqliteStore::open(&registry::fleet_path(dir, &id))?;
                let revision = store.revision()?;
                let mark = if store.marked_deleted()? {
                    "  (being deleted)"
                } else {
                    ""
                };
                println!("{id}  revision {revision}{mark}");
            }
            Ok(())
        }
        FleetAction::Create {
            name,
            fixture,
            script,
            demo,
        } => {
            let id = parse_name(&name)?;
            if exists(dir, &id) {
                bail!("fleet \"{id}\" already exists in {}", dir.display());
            }
            let text = match &script {
                Some(p) => {
                    Some(std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?)
                }
                None => None,
            };
            let fleet = seed_from(fixture.as_deref(), text.as_deref(), demo)?;
            let mut store = SqliteStore::open(&registry::fleet_path(dir, &id))?;
            store.write_snapshot(&fleet)?;
            println!("fleet {id} created at revision {}", fleet.revision);
            Ok(())
        }
        FleetAction::Export { name, out } => {
            let id = parse_name(&name)?;
            if !exists(dir, &id) {
                bail!("no fleet \"{id}\" in {}", dir.display());
            }
            let mut store = SqliteStore::open(&registry::fleet_path(dir, &id))?;
            let mut buf = Vec::new();
            let revision = store::export(&mut store, &mut buf)?;
            match out {
                Some(p) => {
                    store::write_file(&p, &buf)?;
                    eprintln!("fleet {id} exported to {} (revision {revision})", p.display());
                }
                None => std::io::stdout().lock().write_all(&buf)?,
            }
            Ok(())
        }
        FleetAction::Import { name, file } => {
            let id = parse_name(&name)?;
            if exists(dir, &id) {
                bail!("fleet \"{id}\" already exists in {}", dir.display());
            }
            let text =
                std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let path = registry::fleet_path(dir, &id);
            let result = SqliteStore::open(&path).and_then(|mut store| {
                let revision = store::import(&mut store, &text)?;
                store::verify(&mut store)?;
                Ok(revision)
            });
            match result {
                Ok(revision) => {
                    println!("fleet {id} imported at revision {revision}");
                    Ok(())
                }
                Err(e) => {
                    let _ = registry::remove_files(dir, &id);
                    Err(e.context(format!("cannot import {}", file.display())))
                }
            }
        }
        FleetAction::Delete { name } => {
            let id = parse_name(&name)?;
            if !exists(dir, &id) {
                bail!("no fleet \"{id}\" in {}", dir.display());
            }
            // Mark first: a server holding the fleet sees the mark and lets it go.
            SqliteStore::open(&registry::fleet_path(dir, &id))?.mark_deleted()?;
            registry::remove_files(dir, &id)?;
            println!("fleet {id} deleted");
            if id == FleetId::default_fleet() {
                println!("(the server seeds a new default fleet when it next starts)");
            }
            Ok(())
        }
    }
}
