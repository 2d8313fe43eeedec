//! Durable storage behind a small trait: an append-only event log (each row checksummed), periodic
//! snapshots, the audit log and web-session tokens.
//!
//! [`SqliteStore`] is the real adapter (one file under the data directory, WAL, `synchronous=FULL`);
//! [`MemoryStore`] serves unit tests. Both pass the same test suite (below).

use std::path::Path;

use anyhow::{bail, Context};
use cluster::wire::AuditEntry;
use cluster::{Event, Fleet};
use rusqlite::{params, Connection, OptionalExtension};

/// An event with the revision it produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub revision: u64,
    pub event: Event,
}

/// What a store must do. `append` is durable when it returns: events, audit lines and tokens of one
/// batch are written in one transaction.
pub trait Store: Send {
    fn latest_snapshot(&mut self) -> anyhow::Result<Option<Fleet>>;
    /// The first snapshot ever written (the seeded fleet).
    fn first_snapshot(&mut self) -> anyhow::Result<Option<Fleet>>;
    fn write_snapshot(&mut self, fleet: &Fleet) -> anyhow::Result<()>;
    /// Events with revision > `after`, in order; a corrupt or missing row is an error naming it.
    fn events_after(&mut self, after: u64, limit: usize) -> anyhow::Result<Vec<Stored>>;
    fn append(
        &mut self,
        events: &[Stored],
        audit: &[AuditEntry],
        tokens: &[(String, u64)],
    ) -> anyhow::Result<()>;
    fn audit(&mut self, before_id: Option<u64>, limit: usize) -> anyhow::Result<Vec<AuditEntry>>;
    fn tokens(&mut self) -> anyhow::Result<Vec<(String, u64)>>;
    fn delete_token(&mut self, token: &str) -> anyhow::Result<()>;
}

fn checksum(text: &str) -> u32 {
    crc32fast::hash(text.as_bytes())
}

fn decode(revision: u64, body: &str, crc: u32, expected: u64) -> anyhow::Result<Stored> {
    if revision != expected {
        bail!("the event log has a gap: revision {expected} is missing (the next row is {revision})");
    }
    if checksum(body) != crc {
        bail!("the event at revision {revision} is corrupt (checksum mismatch)");
    }
    let event: Event = serde_json::from_str(body)
        .with_context(|| format!("the event at revision {revision} cannot be read"))?;
    Ok(Stored { revision, event })
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
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS snapshots (revision INTEGER PRIMARY KEY, fleet TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS events (revision INTEGER PRIMARY KEY, body TEXT NOT NULL, crc INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS audit (
                 id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user TEXT NOT NULL,
                 login_host TEXT NOT NULL, mode TEXT NOT NULL, line TEXT NOT NULL, outcome TEXT NOT NULL,
                 revision INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, session INTEGER NOT NULL);",
        )
        .context("cannot create the store's tables")?;
        Ok(Self { conn })
    }
}

impl SqliteStore {
    /// The first (`ASC`) or latest (`DESC`) snapshot.
    fn snapshot(&mut self, order: &'static str) -> anyhow::Result<Option<Fleet>> {
        let sql = format!("SELECT revision, fleet FROM snapshots ORDER BY revision {order} LIMIT 1");
        let row: Option<(i64, String)> = self
            .conn
            .query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        match row {
            None => Ok(None),
            Some((revision, json)) => {
                Ok(Some(serde_json::from_str(&json).with_context(|| {
                    format!("the snapshot at revision {revision} is corrupt")
                })?))
            }
        }
    }
}

impl Store for SqliteStore {
    fn latest_snapshot(&mut self) -> anyhow::Result<Option<Fleet>> {
        self.snapshot("DESC")
    }

    fn first_snapshot(&mut self) -> anyhow::Result<Option<Fleet>> {
        self.snapshot("ASC")
    }

    fn write_snapshot(&mut self, fleet: &Fleet) -> anyhow::Result<()> {
        let json = serde_json::to_string(fleet)?;
        self.conn.execute(
            "INSERT OR REPLACE INTO snapshots (revision, fleet) VALUES (?1, ?2)",
            params![fleet.revision as i64, json],
        )?;
        // Keep the first snapshot (the seed: `verify` replays the whole log from it) and the two newest.
        self.conn.execute(
            "DELETE FROM snapshots WHERE revision NOT IN (SELECT revision FROM snapshots ORDER BY revision DESC LIMIT 2)
             AND revision <> (SELECT MIN(revision) FROM snapshots)",
            [],
        )?;
        Ok(())
    }

    fn events_after(&mut self, after: u64, limit: usize) -> anyhow::Result<Vec<Stored>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT revision, body, crc FROM events WHERE revision > ?1 ORDER BY revision LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after as i64, limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)? as u32,
            ))
        })?;
        let mut out = Vec::new();
        for (expected, row) in (after + 1..).zip(rows) {
            let (revision, body, crc) = row?;
            out.push(decode(revision, &body, crc, expected)?);
        }
        Ok(out)
    }

    fn append(
        &mut self,
        events: &[Stored],
        audit: &[AuditEntry],
        tokens: &[(String, u64)],
    ) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut ins =
                tx.prepare_cached("INSERT INTO events (revision, body, crc) VALUES (?1, ?2, ?3)")?;
            for s in events {
                let body = serde_json::to_string(&s.event)?;
                ins.execute(params![s.revision as i64, body, checksum(&body) as i64])?;
            }
            let mut ins = tx.prepare_cached(
                "INSERT INTO audit (at, user, login_host, mode, line, outcome, revision) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for a in audit {
                ins.execute(params![
                    a.at,
                    a.user,
                    a.login_host,
                    a.mode,
                    a.line,
                    a.outcome,
                    a.revision as i64
                ])?;
            }
            let mut ins =
                tx.prepare_cached("INSERT OR REPLACE INTO tokens (token, session) VALUES (?1, ?2)")?;
            for (t, s) in tokens {
                ins.execute(params![t, *s as i64])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn audit(&mut self, before_id: Option<u64>, limit: usize) -> anyhow::Result<Vec<AuditEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, at, user, login_host, mode, line, outcome, revision FROM audit
             WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(
            params![before_id.map(|b| b as i64).unwrap_or(i64::MAX), limit as i64],
            |r| {
                Ok(AuditEntry {
                    id: r.get::<_, i64>(0)? as u64,
                    at: r.get(1)?,
                    user: r.get(2)?,
                    login_host: r.get(3)?,
                    mode: r.get(4)?,
                    line: r.get(5)?,
                    outcome: r.get(6)?,
                    revision: r.get::<_, i64>(7)? as u64,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn tokens(&mut self) -> anyhow::Result<Vec<(String, u64)>> {
        let mut stmt = self.conn.prepare_cached("SELECT token, session FROM tokens")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn delete_token(&mut self, token: &str) -> anyhow::Result<()> {
        self.conn
            .execute("DELETE FROM tokens WHERE token = ?1", params![token])?;
        Ok(())
    }
}

/// An in-memory store for unit tests.
#[derive(Default)]
pub struct MemoryStore {
    snapshots: Vec<Fleet>,
    events: Vec<(u64, String, u32)>,
    audit: Vec<AuditEntry>,
    tokens: Vec<(String, u64)>,
}

impl Store for MemoryStore {
    fn latest_snapshot(&mut self) -> anyhow::Result<Option<Fleet>> {
        Ok(self.snapshots.last().cloned())
    }

    fn first_snapshot(&mut self) -> anyhow::Result<Option<Fleet>> {
        Ok(self.snapshots.first().cloned())
    }

    fn write_snapshot(&mut self, fleet: &Fleet) -> anyhow::Result<()> {
        self.snapshots.push(fleet.clone());
        Ok(())
    }

    fn events_after(&mut self, after: u64, limit: usize) -> anyhow::Result<Vec<Stored>> {
        let rows = self.events.iter().filter(|e| e.0 > after).take(limit);
        (after + 1..)
            .zip(rows)
            .map(|(expected, (revision, body, crc))| decode(*revision, body, *crc, expected))
            .collect()
    }

    fn append(
        &mut self,
        events: &[Stored],
        audit: &[AuditEntry],
        tokens: &[(String, u64)],
    ) -> anyhow::Result<()> {
        for s in events {
            let body = serde_json::to_string(&s.event)?;
            let crc = checksum(&body);
            self.events.push((s.revision, body, crc));
        }
        for a in audit {
            let id = self.audit.len() as u64 + 1;
            self.audit.push(AuditEntry { id, ..a.clone() });
        }
        self.tokens.extend(tokens.iter().cloned());
        Ok(())
    }

    fn audit(&mut self, before_id: Option<u64>, limit: usize) -> anyhow::Result<Vec<AuditEntry>> {
        Ok(self
            .audit
            .iter()
            .rev()
            .filter(|a| before_id.is_none_or(|b| a.id < b))
            .take(limit)
            .cloned()
            .collect())
    }

    fn tokens(&mut self) -> anyhow::Result<Vec<(String, u64)>> {
        Ok(self.tokens.clone())
    }

    fn delete_token(&mut self, token: &str) -> anyhow::Result<()> {
        self.tokens.retain(|(t, _)| t != token);
        Ok(())
    }
}

/// Loads the fleet: the latest snapshot (or `seed()` on first start, stored at once), then every event
/// after it. A corrupt or missing event stops the load with an error naming the revision.
pub fn load(store: &mut dyn Store, seed: impl FnOnce() -> Fleet) -> anyhow::Result<Fleet> {
    let mut fleet = match store.latest_snapshot()? {
        Some(f) => f,
        None => {
            let fleet = seed();
            store.write_snapshot(&fleet)?;
            fleet
        }
    };
    loop {
        let batch = store.events_after(fleet.revision, 10_000)?;
        if batch.is_empty() {
            break;
        }
        for s in batch {
            cluster::apply(&mut fleet, &s.event);
            if fleet.revision != s.revision {
                bail!(
                    "replaying revision {} produced revision {}: the log does not match its snapshot",
                    s.revision,
                    fleet.revision
                );
            }
        }
    }
    Ok(fleet)
}

/// Checks the store: the fleet loaded from the latest snapshot and its tail must equal the replay of the
/// whole log from the first snapshot. Returns the revision.
pub fn verify(store: &mut dyn Store) -> anyhow::Result<u64> {
    let mut replay = store
        .first_snapshot()?
        .context("the store is empty: it has no snapshot")?;
    let loaded = load(store, cluster::fixture::americas)?;
    loop {
        let batch = store.events_after(replay.revision, 10_000)?;
        if batch.is_empty() {
            break;
        }
        for s in batch {
            cluster::apply(&mut replay, &s.event);
        }
    }
    if replay != loaded {
        bail!(
            "the state at revision {} differs from the replay of the log (revision {})",
            loaded.revision,
            replay.revision
        );
    }
    Ok(loaded.revision)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cluster::{EventKind, Hostname, UserName};

    fn login_event(fleet: &Fleet) -> Event {
        cluster::login::open_session(
            fleet,
            UserName::parse("admin").unwrap(),
            Hostname::parse("newyork.example.com").unwrap(),
            fleet.now,
        )
    }

    /// The suite every adapter passes.
    fn suite(store: &mut dyn Store) {
        let first = load(store, cluster::fixture::americas).unwrap();
        let again = load(store, || panic!("must not seed twice")).unwrap();
        assert_eq!(first, again);
        let mut fleet = first;
        let e = login_event(&fleet);
        cluster::apply(&mut fleet, &e);
        let audit = AuditEntry {
            id: 0,
            at: "t".into(),
            user: "admin".into(),
            login_host: "newyork.example.com".into(),
            mode: "cluster".into(),
            line: "login".into(),
            outcome: "accepted".into(),
            revision: 1,
        };
        store
            .append(
                &[Stored {
                    revision: 1,
                    event: e,
                }],
                &[audit],
                &[("tok".into(), 1)],
            )
            .unwrap();
        assert_eq!(
            load(store, || panic!("seeded")).unwrap(),
            fleet,
            "snapshot + replay"
        );
        assert_eq!(store.audit(None, 10).unwrap().len(), 1);
        assert_eq!(store.tokens().unwrap(), vec![("tok".to_string(), 1)]);
        store.delete_token("tok").unwrap();
        assert!(store.tokens().unwrap().is_empty());
        store.write_snapshot(&fleet).unwrap();
        assert_eq!(load(store, || panic!("seeded")).unwrap(), fleet);
        assert_eq!(verify(store).unwrap(), fleet.revision);
        let _ = EventKind::ClockAdvanced;
    }

    #[test]
    fn memory_store_passes_the_suite() {
        suite(&mut MemoryStore::default());
    }

    #[test]
    fn sqlite_store_passes_the_suite_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        suite(&mut SqliteStore::open(dir.path()).unwrap());
        let mut reopened = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(load(&mut reopened, || panic!("seeded")).unwrap().revision, 1);
    }

    #[test]
    fn a_corrupt_event_is_reported_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(dir.path()).unwrap();
        let mut fleet = load(&mut store, cluster::fixture::americas).unwrap();
        let e = login_event(&fleet);
        cluster::apply(&mut fleet, &e);
        store
            .append(
                &[Stored {
                    revision: 1,
                    event: e,
                }],
                &[],
                &[],
            )
            .unwrap();
        store
            .conn
            .execute(
                "UPDATE events SET body = replace(body, 'admin', 'admon') WHERE revision = 1",
                [],
            )
            .unwrap();
        let err = load(&mut store, || panic!("seeded")).unwrap_err();
        assert!(format!("{err:#}").contains("revision 1 is corrupt"), "{err:#}");
        // A gap is reported too.
        store
            .conn
            .execute("UPDATE events SET revision = 3 WHERE revision = 1", [])
            .unwrap();
        let err = load(&mut store, || panic!("seeded")).unwrap_err();
        assert!(format!("{err:#}").contains("revision 1 is missing"), "{err:#}");
    }
}
