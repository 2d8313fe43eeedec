//! Durable storage behind a small trait: an append-only event log plus snapshots.
//!
//! [`SqliteStore`] is the real adapter (one file under the data directory, WAL, `synchronous=FULL`);
//! [`MemoryStore`] serves unit tests.

use std::path::Path;

use anyhow::Context;
use cluster::Fleet;
use rusqlite::{params, Connection, OptionalExtension};

/// What a store must do. Snapshots hold a whole fleet at a revision.
pub trait Store: Send {
    /// The latest snapshot, if any.
    fn latest_snapshot(&mut self) -> anyhow::Result<Option<Fleet>>;
    /// Writes a snapshot of `fleet` at its revision; durable when this returns.
    fn write_snapshot(&mut self, fleet: &Fleet) -> anyhow::Result<()>;
}

/// The embedded SQLite store.
pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    pub const FILE_NAME: &'static str = "clusterdeck.db";

    /// Opens (creating if needed) the store in `data_dir`.
    pub fn open(data_dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
        let path = data_dir.join(Self::FILE_NAME);
        let conn = Connection::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS snapshots (
                revision INTEGER PRIMARY KEY,
                fleet    TEXT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS events (
                revision INTEGER PRIMARY KEY,
                event    TEXT NOT NULL
            );",
        )
        .context("cannot create the store's tables")?;
        Ok(Self { conn })
    }
}

impl Store for SqliteStore {
    fn latest_snapshot(&mut self) -> anyhow::Result<Option<Fleet>> {
        let row: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT revision, fleet FROM snapshots ORDER BY revision DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match row {
            None => Ok(None),
            Some((revision, json)) => {
                let fleet: Fleet = serde_json::from_str(&json)
                    .with_context(|| format!("snapshot at revision {revision} is corrupt"))?;
                Ok(Some(fleet))
            }
        }
    }

    fn write_snapshot(&mut self, fleet: &Fleet) -> anyhow::Result<()> {
        let json = serde_json::to_string(fleet)?;
        self.conn.execute(
            "INSERT OR REPLACE INTO snapshots (revision, fleet) VALUES (?1, ?2)",
            params![fleet.revision as i64, json],
        )?;
        Ok(())
    }
}

/// An in-memory store for unit tests.
#[derive(Default)]
pub struct MemoryStore {
    snapshots: Vec<Fleet>,
}

impl Store for MemoryStore {
    fn latest_snapshot(&mut self) -> anyhow::Result<Option<Fleet>> {
        Ok(self.snapshots.last().cloned())
    }

    fn write_snapshot(&mut self, fleet: &Fleet) -> anyhow::Result<()> {
        self.snapshots.push(fleet.clone());
        Ok(())
    }
}

/// Loads the fleet from `store`, seeding it with `seed()` on first start.
pub fn load_or_seed(store: &mut dyn Store, seed: impl FnOnce() -> Fleet) -> anyhow::Result<Fleet> {
    if let Some(fleet) = store.latest_snapshot()? {
        return Ok(fleet);
    }
    let fleet = seed();
    store.write_snapshot(&fleet)?;
    Ok(fleet)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds_once(store: &mut dyn Store) {
        let first = load_or_seed(store, cluster::fixture::americas).unwrap();
        let again = load_or_seed(store, || panic!("must not seed twice")).unwrap();
        assert_eq!(first, again);
    }

    #[test]
    fn memory_store_seeds_once() {
        seeds_once(&mut MemoryStore::default());
    }

    #[test]
    fn sqlite_store_seeds_once_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        seeds_once(&mut SqliteStore::open(dir.path()).unwrap());
        let mut reopened = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(
            reopened.latest_snapshot().unwrap().unwrap(),
            cluster::fixture::americas()
        );
    }
}
