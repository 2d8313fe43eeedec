//! Durable storage of one fleet behind a small trait: an append-only event log (each row checksummed),
//! periodic snapshots, the audit log, the fleet's login sessions (tokens stored only as hashes), and a
//! little metadata (the simulated clock's last reading, a deletion mark).
//!
//! [`SqliteStore`] is the real adapter (one file per fleet, WAL, `synchronous=FULL`, created 0600);
//! [`MemoryStore`] serves unit tests. Both pass the same test suite (below). [`export`] and [`import`]
//! move a fleet's history as JSON Lines.

use std::io::Write as _;
use std::path::Path;

use anyhow::{bail, Context};
use cluster::session::Session;
use cluster::share::{ExportHeader, ExportSeed};
use cluster::wire::{AuditEntry, AuditFilter, AuditOutcome};
use cluster::{Event, Fleet, Timestamp};
use rusqlite::{params, Connection, OptionalExtension};

/// An event with the revision it produced (the export's line, rules §18.5).
pub use cluster::share::Stored;

/// A login session as stored: the session, the hash of its token, and when (real time, Unix seconds) it
/// was opened and last used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub session: Session,
    pub token_hash: String,
    pub created: i64,
    pub last_seen: i64,
}

/// A reading of a fleet's simulated clock: its time, and the real time (Unix ms) it was read at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockReading {
    pub sim: Timestamp,
    pub real_ms: i64,
}

impl ClockReading {
    /// The clock's time now, had it kept running at `speed` since the reading (a server that was down, or
    /// killed, comes back at least where its clock had got to).
    pub fn resumed(self, speed: f64, real_now_ms: i64) -> Timestamp {
        let elapsed = (real_now_ms - self.real_ms).max(0) as f64 * speed;
        Timestamp(self.sim.0.saturating_add(elapsed as i64))
    }
}

/// What one batch writes, in one transaction.
#[derive(Debug, Default)]
pub struct Batch {
    pub events: Vec<Stored>,
    pub audit: Vec<AuditEntry>,
    /// Sessions opened or changed.
    pub sessions: Vec<SessionRow>,
    /// Sessions ended.
    pub ended: Vec<u64>,
    /// The simulated clock's reading and the real time of it, kept so it never goes back across restarts.
    pub clock: Option<ClockReading>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.audit.is_empty()
            && self.sessions.is_empty()
            && self.ended.is_empty()
            && self.clock.is_none()
    }
}

/// What a store must do. `append` is durable when it returns.
pub trait Store: Send {
    fn latest_snapshot(&mut self) -> anyhow::Result<Option<Fleet>>;
    /// The first snapshot ever written (the seeded fleet).
    fn first_snapshot(&mut self) -> anyhow::Result<Option<Fleet>>;
    fn write_snapshot(&mut self, fleet: &Fleet) -> anyhow::Result<()>;
    /// Events with revision > `after`, in order; a corrupt or missing row is an error naming it.
    fn events_after(&mut self, after: u64, limit: usize) -> anyhow::Result<Vec<Stored>>;
    fn append(&mut self, batch: &Batch) -> anyhow::Result<()>;
    /// The newest `limit` audit entries that pass `filter` with an id below `before_id`, newest first
    /// (rules §15.33).
    fn audit(
        &mut self,
        filter: &AuditFilter,
        before_id: Option<u64>,
        limit: usize,
    ) -> anyhow::Result<Vec<AuditEntry>>;
    fn sessions(&mut self) -> anyhow::Result<Vec<SessionRow>>;
    /// The simulated clock's last stored reading.
    fn clock(&mut self) -> anyhow::Result<Option<ClockReading>>;
    /// Whether `clusterdeck fleet delete` marked this fleet for deletion.
    fn marked_deleted(&mut self) -> anyhow::Result<bool>;
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

/// The embedded SQLite store of one fleet.
pub struct SqliteStore {
    conn: Connection,
    /// Audit entries kept; older ones are dropped as new ones come (`None`: all).
    audit_retention: Option<u64>,
    /// Audit rows per class (acknowledged commands, other entries) as committed, read once when
    /// retention first applies: trimming then walks only the excess, not the `keep` rows it keeps.
    audit_counts: Option<[u64; 2]>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS snapshots (revision INTEGER PRIMARY KEY, fleet TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (revision INTEGER PRIMARY KEY, body TEXT NOT NULL, crc INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user TEXT NOT NULL,
    login_host TEXT NOT NULL, mode TEXT NOT NULL, line TEXT NOT NULL, outcome TEXT NOT NULL,
    revision INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, body TEXT NOT NULL,
    created INTEGER NOT NULL, last_seen INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
";

/// Added after the first stores were written: whether an audit entry records an acknowledged command
/// (0) or anything else (1: logins, refusals, questions, expiries), which retention keeps fewer of.
const AUDIT_CLASS: &str = "
ALTER TABLE audit ADD COLUMN other INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS audit_by_class ON audit (other, id);
";

/// Whether an audit entry is "other" than an acknowledged change: flooding those (a guest's refused
/// lines, reads, logins) must never push acknowledged changes out of the retention window.
fn audit_other(a: &AuditEntry) -> bool {
    !a.outcome.starts_with("accepted") || matches!(a.line.as_str(), "login" | "logout")
}

/// Added with the audit filters (rules §15.33): the real time of each entry beside its simulated time
/// (entries written before have none).
const AUDIT_REAL_TIME: &str = "ALTER TABLE audit ADD COLUMN real_at TEXT;";

/// What the audit filters look entries up by, newest first: a user, a login host, a mode.
const AUDIT_INDEXES: &str = "
CREATE INDEX IF NOT EXISTS audit_by_user ON audit (user, id);
CREATE INDEX IF NOT EXISTS audit_by_login_host ON audit (login_host, id);
CREATE INDEX IF NOT EXISTS audit_by_mode ON audit (mode, id);
";

/// The SQL condition an outcome class stands for: `AuditOutcome::of` in SQL (`GLOB` is case-sensitive,
/// as `starts_with` is). The store suite checks the two agree.
fn outcome_sql(outcome: AuditOutcome) -> &'static str {
    match outcome {
        AuditOutcome::Accepted => "(outcome = 'accepted' OR outcome GLOB 'accepted;*' OR outcome = 'read')",
        AuditOutcome::Refused => "outcome GLOB 'rejected:*'",
        AuditOutcome::Prompt => "outcome = 'prompt'",
    }
}

impl SqliteStore {
    /// One batch's rows, inside the transaction `append` opened; the audit counts as they will be
    /// once it commits.
    fn write_batch(&self, batch: &Batch) -> anyhow::Result<Option<[u64; 2]>> {
        let mut counts = self.audit_counts;
        let mut ins = self
            .conn
            .prepare_cached("INSERT INTO events (revision, body, crc) VALUES (?1, ?2, ?3)")?;
        for s in &batch.events {
            let body = serde_json::to_string(&s.event)?;
            ins.execute(params![s.revision as i64, body, checksum(&body) as i64])?;
        }
        let mut ins = self.conn.prepare_cached(
            "INSERT INTO audit (at, user, login_host, mode, line, outcome, revision, other, real_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for a in &batch.audit {
            ins.execute(params![
                a.at,
                a.user,
                a.login_host,
                a.mode,
                a.line,
                a.outcome,
                a.revision as i64,
                audit_other(a),
                a.real_at
            ])?;
        }
        if let (Some(keep), false) = (self.audit_retention, batch.audit.is_empty()) {
            // The newest `keep` acknowledged commands, and a tenth as many other entries.
            let mut c = match self.audit_counts {
                Some(c) => c,
                None => {
                    let mut count = self
                        .conn
                        .prepare_cached("SELECT COUNT(*) FROM audit WHERE other = ?1")?;
                    let mut read = |other: bool| count.query_row(params![other], |r| r.get::<_, i64>(0));
                    [read(false)? as u64, read(true)? as u64]
                }
            };
            // The rows inserted above are counted in a count read now; add them only to an old one.
            if self.audit_counts.is_some() {
                for a in &batch.audit {
                    c[audit_other(a) as usize] += 1;
                }
            }
            let mut drop = self.conn.prepare_cached(
                "DELETE FROM audit WHERE id IN \
                 (SELECT id FROM audit WHERE other = ?1 ORDER BY id ASC LIMIT ?2)",
            )?;
            for (class, limit) in [(false, keep), (true, (keep / 10).max(100))] {
                let excess = c[class as usize].saturating_sub(limit);
                if excess > 0 {
                    let gone = drop.execute(params![class, excess as i64])?;
                    c[class as usize] -= gone as u64;
                }
            }
            counts = Some(c);
        }
        let mut ins = self.conn.prepare_cached(
            "INSERT OR REPLACE INTO sessions (id, token_hash, body, created, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for s in &batch.sessions {
            ins.execute(params![
                s.session.id as i64,
                s.token_hash,
                serde_json::to_string(&s.session)?,
                s.created,
                s.last_seen
            ])?;
        }
        let mut del = self.conn.prepare_cached("DELETE FROM sessions WHERE id = ?1")?;
        for id in &batch.ended {
            del.execute(params![*id as i64])?;
        }
        if let Some(clock) = batch.clock {
            // Cached like the others: parsing this statement on every batch was a twentieth of
            // the writer's time under load (perf, the P3 bench).
            self.conn
                .prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES ('clock', ?1)")?
                .execute(params![format!("{} {}", clock.sim.0, clock.real_ms)])?;
        }
        Ok(counts)
    }

    /// Opens (creating if needed, readable by its owner only) the store file at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create data directory {}", dir.display()))?;
        }
        if !path.exists() {
            create_private(path)?;
        }
        let conn = Connection::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // A small page cache: a server holds many fleets (each writes mostly appends and reads rarely).
        // 512 KiB holds the pages a batch touches (the tables' and indexes' last leaves, the oldest
        // audit pages retention deletes): at 64 KiB each durable batch re-read them from the file, and
        // P3's batches took a third longer to store.
        conn.pragma_update(None, "cache_size", -512)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Room for every statement a batch runs and the audit filters' queries besides (rusqlite
        // keeps 16): a few distinct audit searches must not push BEGIN, COMMIT or the inserts out.
        conn.set_prepared_statement_cache_capacity(64);
        conn.execute_batch(SCHEMA)
            .with_context(|| format!("cannot create the store's tables in {}", path.display()))?;
        let classed: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('audit') WHERE name = 'other'")?
            .exists([])?;
        if !classed {
            conn.execute_batch(AUDIT_CLASS)
                .with_context(|| format!("cannot add the audit class column in {}", path.display()))?;
        }
        let timed: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('audit') WHERE name = 'real_at'")?
            .exists([])?;
        if !timed {
            conn.execute_batch(AUDIT_REAL_TIME)
                .with_context(|| format!("cannot add the audit real-time column in {}", path.display()))?;
        }
        conn.execute_batch(AUDIT_INDEXES)
            .with_context(|| format!("cannot index the audit log in {}", path.display()))?;
        Ok(Self {
            conn,
            audit_retention: None,
            audit_counts: None,
        })
    }

    /// Keeps only the newest `entries` audit entries from now on.
    pub fn set_audit_retention(&mut self, entries: u64) {
        self.audit_retention = Some(entries);
    }

    /// A read-only connection to an existing store, for reading its event log beside the engine (SQLite's
    /// WAL lets it read while the engine writes).
    pub fn open_reader(path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("cannot open {} to read", path.display()))?;
        conn.pragma_update(None, "cache_size", -256)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Self {
            conn,
            audit_retention: None,
            audit_counts: None,
        })
    }

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

    fn meta(&mut self, key: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// The revision the store's history reaches.
    pub fn revision(&mut self) -> anyhow::Result<u64> {
        let r: Option<i64> = self.conn.query_row(
            "SELECT MAX(r) FROM (SELECT MAX(revision) AS r FROM events UNION ALL SELECT MAX(revision) FROM snapshots)",
            [],
            |r| r.get(0),
        )?;
        Ok(r.unwrap_or(0) as u64)
    }

    /// The newest `limit` audit entries where every condition of `wheres` holds (`?` bound to `values`
    /// in order).
    fn audit_where(
        &mut self,
        wheres: &[String],
        values: Vec<rusqlite::types::Value>,
        limit: usize,
    ) -> anyhow::Result<Vec<AuditEntry>> {
        let sql = format!(
            "SELECT id, at, real_at, user, login_host, mode, line, outcome, revision FROM audit
             WHERE {} ORDER BY id DESC LIMIT {}",
            wheres.join(" AND "),
            limit.min(i64::MAX as usize)
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(values), |r| {
            Ok(AuditEntry {
                id: r.get::<_, i64>(0)? as u64,
                at: r.get(1)?,
                real_at: r.get(2)?,
                user: r.get(3)?,
                login_host: r.get(4)?,
                mode: r.get(5)?,
                line: r.get(6)?,
                outcome: r.get(7)?,
                revision: r.get::<_, i64>(8)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks the fleet for deletion: a running server that holds it ends its sessions and removes it.
    pub fn mark_deleted(&mut self) -> anyhow::Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('deleted', '1')",
            [],
        )?;
        Ok(())
    }
}

/// Creates an empty file only its owner may read and write.
fn create_private(path: &Path) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

fn session_row(r: &rusqlite::Row) -> rusqlite::Result<(String, String, i64, i64)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
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

    fn append(&mut self, batch: &Batch) -> anyhow::Result<()> {
        // BEGIN and COMMIT as cached statements: `Connection::transaction` parses both on every
        // batch. Anything that fails in between rolls the whole batch back.
        self.conn.prepare_cached("BEGIN")?.execute([])?;
        match self.write_batch(batch).and_then(|counts| {
            self.conn.prepare_cached("COMMIT")?.execute([])?;
            Ok(counts)
        }) {
            Ok(counts) => {
                // Only what committed is counted: a failed batch leaves the counts as they were.
                self.audit_counts = counts;
                Ok(())
            }
            Err(e) => {
                if !self.conn.is_autocommit() {
                    if let Err(r) = self.conn.execute_batch("ROLLBACK") {
                        tracing::error!(error = %r, "cannot roll a failed batch back");
                    }
                }
                Err(e)
            }
        }
    }

    fn audit(
        &mut self,
        filter: &AuditFilter,
        before_id: Option<u64>,
        limit: usize,
    ) -> anyhow::Result<Vec<AuditEntry>> {
        use rusqlite::types::Value;
        let mut wheres = vec!["id < ?".to_string()];
        let mut values = vec![Value::Integer(
            before_id.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64),
        )];
        if let Some(user) = &filter.user {
            wheres.push("user = ?".into());
            values.push(Value::Text(user.to_string()));
        }
        if let Some(outcome) = filter.outcome {
            wheres.push(outcome_sql(outcome).into());
        }
        // Simulated times are fixed-width ISO text, so text order is time order.
        if let Some(from) = filter.from {
            wheres.push("at >= ?".into());
            values.push(Value::Text(from.to_string()));
        }
        if let Some(to) = filter.to {
            wheres.push("at <= ?".into());
            values.push(Value::Text(to.to_string()));
        }
        let (Some(host), Some(mode)) = (&filter.machine, filter.machine_mode()) else {
            return self.audit_where(&wheres, values, limit);
        };
        // A machine's entries: those typed on it and those run in its machine mode. Each half walks its
        // own index newest first; the newest `limit` of both are the answer.
        let mut by_host = wheres.clone();
        by_host.push("login_host = ?".into());
        let mut host_values = values.clone();
        host_values.push(Value::Text(host.to_string()));
        let mut found = self.audit_where(&by_host, host_values, limit)?;
        wheres.push("mode = ?".into());
        values.push(Value::Text(mode));
        found.extend(self.audit_where(&wheres, values, limit)?);
        found.sort_by_key(|e| std::cmp::Reverse(e.id));
        found.dedup_by_key(|e| e.id);
        found.truncate(limit);
        Ok(found)
    }

    fn sessions(&mut self) -> anyhow::Result<Vec<SessionRow>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT token_hash, body, created, last_seen FROM sessions")?;
        let rows: Vec<(String, String, i64, i64)> =
            stmt.query_map([], session_row)?.collect::<Result<_, _>>()?;
        // A session written by an older version that this one cannot read is dropped (its user logs in
        // again), never the reason a fleet fails to load.
        Ok(rows
            .into_iter()
            .filter_map(
                |(token_hash, body, created, last_seen)| match serde_json::from_str(&body) {
                    Ok(session) => Some(SessionRow {
                        session,
                        token_hash,
                        created,
                        last_seen,
                    }),
                    Err(e) => {
                        tracing::warn!(error = %e, "a stored session cannot be read; it is dropped");
                        None
                    }
                },
            )
            .collect())
    }

    fn clock(&mut self) -> anyhow::Result<Option<ClockReading>> {
        Ok(self.meta("clock")?.and_then(|v| {
            let (sim, real) = v.split_once(' ')?;
            Some(ClockReading {
                sim: Timestamp(sim.parse().ok()?),
                real_ms: real.parse().ok()?,
            })
        }))
    }

    fn marked_deleted(&mut self) -> anyhow::Result<bool> {
        Ok(self.meta("deleted")?.is_some())
    }
}

/// An in-memory store for unit tests.
#[derive(Default)]
pub struct MemoryStore {
    snapshots: Vec<Fleet>,
    events: Vec<(u64, String, u32)>,
    audit: Vec<AuditEntry>,
    sessions: Vec<SessionRow>,
    clock: Option<ClockReading>,
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

    fn append(&mut self, batch: &Batch) -> anyhow::Result<()> {
        for s in &batch.events {
            let body = serde_json::to_string(&s.event)?;
            let crc = checksum(&body);
            self.events.push((s.revision, body, crc));
        }
        for a in &batch.audit {
            let id = self.audit.len() as u64 + 1;
            self.audit.push(AuditEntry { id, ..a.clone() });
        }
        for s in &batch.sessions {
            self.sessions.retain(|x| x.session.id != s.session.id);
            self.sessions.push(s.clone());
        }
        self.sessions.retain(|x| !batch.ended.contains(&x.session.id));
        if batch.clock.is_some() {
            self.clock = batch.clock;
        }
        Ok(())
    }

    fn audit(
        &mut self,
        filter: &AuditFilter,
        before_id: Option<u64>,
        limit: usize,
    ) -> anyhow::Result<Vec<AuditEntry>> {
        Ok(self
            .audit
            .iter()
            .rev()
            .filter(|a| before_id.is_none_or(|b| a.id < b) && filter.matches(a))
            .take(limit)
            .cloned()
            .collect())
    }

    fn sessions(&mut self) -> anyhow::Result<Vec<SessionRow>> {
        Ok(self.sessions.clone())
    }

    fn clock(&mut self) -> anyhow::Result<Option<ClockReading>> {
        Ok(self.clock)
    }

    fn marked_deleted(&mut self) -> anyhow::Result<bool> {
        Ok(false)
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

/// Loads a fleet that must already exist in the store.
pub fn load_existing(store: &mut dyn Store) -> anyhow::Result<Fleet> {
    if store.latest_snapshot()?.is_none() {
        bail!("the store holds no fleet");
    }
    load(store, cluster::fixture::americas)
}

/// Checks the store: the fleet loaded from the latest snapshot and its tail must equal the replay of the
/// whole log from the first snapshot. Returns the revision.
pub fn verify(store: &mut dyn Store) -> anyhow::Result<u64> {
    let mut replay = store
        .first_snapshot()?
        .context("the store is empty: it has no snapshot")?;
    let loaded = load_existing(store)?;
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

/// Writes the fleet's history as JSON Lines: a header, the seed (the first snapshot), then every event
/// with its revision. Returns the revision it ends at.
pub fn export(store: &mut dyn Store, out: &mut dyn std::io::Write) -> anyhow::Result<u64> {
    let seed = store
        .first_snapshot()?
        .context("the store is empty: it has no snapshot")?;
    let latest = load(store, || seed.clone())?;
    serde_json::to_writer(
        &mut *out,
        &ExportHeader {
            clusterdeck_export: cluster::share::EXPORT_FORMAT,
            revision: latest.revision,
        },
    )?;
    out.write_all(b"\n")?;
    let mut at = seed.revision;
    serde_json::to_writer(&mut *out, &ExportSeed { seed })?;
    out.write_all(b"\n")?;
    loop {
        let batch = store.events_after(at, 10_000)?;
        let Some(last) = batch.last() else { break };
        at = last.revision;
        for s in &batch {
            serde_json::to_writer(&mut *out, s)?;
            out.write_all(b"\n")?;
        }
    }
    Ok(at)
}

/// Reads an export into an empty store; the replay must reach the revision the header names
/// ([`cluster::share::read_export`]). Returns it.
pub fn import(store: &mut dyn Store, text: &str) -> anyhow::Result<u64> {
    if store.latest_snapshot()?.is_some() {
        bail!("the fleet already has a history; import into a new fleet");
    }
    let cluster::share::Export {
        seed,
        events,
        last: fleet,
    } = cluster::share::read_export(text).map_err(anyhow::Error::msg)?;
    store.write_snapshot(&seed)?;
    // The clock resumes from the log's last time as of now (not as of 1970: it would jump centuries).
    let real_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    for chunk in events.chunks(1000) {
        store.append(&Batch {
            events: chunk.to_vec(),
            clock: Some(ClockReading {
                sim: fleet.now,
                real_ms,
            }),
            ..Batch::default()
        })?;
    }
    store.write_snapshot(&fleet)?;
    Ok(fleet.revision)
}

/// Writes `text` to `path` atomically (a temporary file, then a rename).
pub fn write_file(path: &Path, text: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(text)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cluster::event::EventKind;
    use cluster::{Hostname, UserName};

    /// An audit entry by admin on newyork in cluster mode.
    fn audit_entry(line: &str, outcome: &str, revision: u64) -> AuditEntry {
        AuditEntry {
            id: 0,
            at: "t".into(),
            real_at: None,
            user: "admin".into(),
            login_host: "newyork.example.com".into(),
            mode: "cluster".into(),
            line: line.into(),
            outcome: outcome.into(),
            revision,
        }
    }

    fn event(fleet: &Fleet) -> Event {
        Event::new(
            fleet.now,
            EventKind::Detached {
                hosts: vec![Hostname::parse("losangeles.example.com").unwrap()],
            },
        )
    }

    fn session() -> SessionRow {
        SessionRow {
            session: Session::open(
                7,
                UserName::parse("admin").unwrap(),
                Hostname::parse("newyork.example.com").unwrap(),
                true,
            ),
            token_hash: "ab".repeat(32),
            created: 1,
            last_seen: 2,
        }
    }

    /// The suite every adapter passes.
    fn suite(store: &mut dyn Store) {
        let first = load(store, cluster::fixture::americas).unwrap();
        let again = load(store, || panic!("must not seed twice")).unwrap();
        assert_eq!(first, again);
        let mut fleet = first;
        let e = event(&fleet);
        cluster::apply(&mut fleet, &e);
        let audit = audit_entry("login", "accepted", 1);
        store
            .append(&Batch {
                events: vec![Stored {
                    revision: 1,
                    event: e,
                }],
                audit: vec![audit],
                sessions: vec![session()],
                clock: Some(ClockReading {
                    sim: Timestamp(42),
                    real_ms: 7,
                }),
                ..Batch::default()
            })
            .unwrap();
        assert_eq!(
            load(store, || panic!("seeded")).unwrap(),
            fleet,
            "snapshot + replay"
        );
        assert_eq!(store.audit(&AuditFilter::default(), None, 10).unwrap().len(), 1);
        assert_eq!(store.sessions().unwrap(), vec![session()]);
        let reading = store.clock().unwrap().unwrap();
        assert_eq!(reading.sim, Timestamp(42));
        assert_eq!(
            reading.resumed(10.0, 107),
            Timestamp(1042),
            "the clock kept running while stored"
        );
        store
            .append(&Batch {
                ended: vec![7],
                ..Batch::default()
            })
            .unwrap();
        assert!(store.sessions().unwrap().is_empty());
        store.write_snapshot(&fleet).unwrap();
        assert_eq!(load(store, || panic!("seeded")).unwrap(), fleet);
        assert_eq!(verify(store).unwrap(), fleet.revision);
        // Export, then import into a new store: the same state and revision.
        let mut out = Vec::new();
        assert_eq!(export(store, &mut out).unwrap(), 1);
        let mut copy = MemoryStore::default();
        assert_eq!(import(&mut copy, std::str::from_utf8(&out).unwrap()).unwrap(), 1);
        assert_eq!(load(&mut copy, || panic!("imported")).unwrap(), fleet);
        assert_eq!(verify(&mut copy).unwrap(), 1);
    }

    #[test]
    fn memory_store_passes_the_suite() {
        suite(&mut MemoryStore::default());
        filter_suite(&mut MemoryStore::default());
    }

    /// The audit filters (rules §15.33), the same on every adapter.
    fn filter_suite(store: &mut dyn Store) {
        use cluster::wire::AuditFilterText;
        let outcomes = [
            "accepted",
            "accepted; Overwrote 1 row",
            "read",
            "rejected: no",
            "prompt",
            "expired: idle",
            "ACCEPTED",
            "rejected",
        ];
        let who = [
            ("admin", "newyork.example.com", "cluster"),
            ("ops", "sf.example.com", "group:West"),
            ("admin", "boston.example.com", "machine:sf.example.com"),
        ];
        let mut audit = Vec::new();
        for i in 0..48 {
            let (user, host, mode) = who[i % 3];
            audit.push(AuditEntry {
                id: 0,
                at: Timestamp::from_secs(1_767_225_600 + i as i64 * 60).to_string(),
                real_at: (i % 2 == 0).then(|| "2020-01-01T00:00:00Z".to_string()),
                user: user.into(),
                login_host: host.into(),
                mode: mode.into(),
                line: format!("line {i}"),
                outcome: outcomes[i % outcomes.len()].into(),
                revision: 0,
            });
        }
        store
            .append(&Batch {
                audit: audit.clone(),
                ..Batch::default()
            })
            .unwrap();
        // Ids as stored: the entries in order, after whatever the store already held.
        let all = store.audit(&AuditFilter::default(), None, 1000).unwrap();
        let base = all.iter().map(|e| e.id).max().unwrap() - 48;
        let expect = |keep: &dyn Fn(usize, &AuditEntry) -> bool, before: Option<u64>, limit: usize| {
            let mut ids: Vec<u64> = audit
                .iter()
                .enumerate()
                .filter(|(i, e)| keep(*i, e))
                .map(|(i, _)| base + 1 + i as u64)
                .filter(|id| before.is_none_or(|b| *id < b))
                .collect();
            ids.reverse();
            ids.truncate(limit);
            ids
        };
        let run = |store: &mut dyn Store, text: AuditFilterText, before, limit| {
            let filter = AuditFilter::parse(text).unwrap();
            let got = store.audit(&filter, before, limit).unwrap();
            assert!(got.iter().all(|e| filter.matches(e)), "{text:?}");
            // Only the entries written here (the store may hold older ones).
            got.iter()
                .map(|e| e.id)
                .filter(|id| *id > base)
                .collect::<Vec<_>>()
        };
        let t = AuditFilterText::default();
        // The outcome classes: the store's reading is the domain's.
        for o in AuditOutcome::ALL {
            assert_eq!(
                run(
                    store,
                    AuditFilterText {
                        outcome: o.word(),
                        ..t
                    },
                    None,
                    100
                ),
                expect(&|_, e| AuditOutcome::of(&e.outcome) == Some(o), None, 100),
                "outcome {}",
                o.word()
            );
        }
        assert_eq!(
            run(store, AuditFilterText { user: "ops", ..t }, None, 100),
            expect(&|i, _| i % 3 == 1, None, 100)
        );
        // A machine: its login host or its machine mode.
        assert_eq!(
            run(
                store,
                AuditFilterText {
                    machine: "SF.example.com",
                    ..t
                },
                None,
                100
            ),
            expect(&|i, _| i % 3 != 0, None, 100)
        );
        assert_eq!(
            run(
                store,
                AuditFilterText {
                    machine: "sf.example.com",
                    ..t
                },
                None,
                5
            ),
            expect(&|i, _| i % 3 != 0, None, 5),
            "the newest of both halves"
        );
        assert_eq!(
            run(
                store,
                AuditFilterText {
                    machine: "toronto.example.com",
                    ..t
                },
                None,
                100
            ),
            Vec::<u64>::new()
        );
        // A time range, inclusive at both ends.
        let (from, to) = (audit[10].at.clone(), audit[20].at.clone());
        assert_eq!(
            run(
                store,
                AuditFilterText {
                    from: &from,
                    to: &to,
                    ..t
                },
                None,
                100
            ),
            expect(&|i, _| (10..=20).contains(&i), None, 100)
        );
        // Everything together, paged by the cursor.
        let text = AuditFilterText {
            user: "admin",
            machine: "sf.example.com",
            from: &from,
            ..t
        };
        let keep = |i: usize, _: &AuditEntry| i % 3 == 2 && i >= 10;
        let first = run(store, text, None, 3);
        assert_eq!(first, expect(&keep, None, 3));
        let next = run(store, text, first.last().copied(), 3);
        assert_eq!(next, expect(&keep, first.last().copied(), 3));
        assert_eq!(next.len(), 3, "a second page");
        // The real time comes back as written.
        let newest = store.audit(&AuditFilter::default(), None, 2).unwrap();
        assert_eq!(newest[0].real_at, None);
        assert_eq!(newest[1].real_at.as_deref(), Some("2020-01-01T00:00:00Z"));
    }

    /// Retention keeps exactly the newest `keep` acknowledged commands and the newest 100 others, in a
    /// store reopened half way as in one run: the counts are read from the file, not assumed.
    #[test]
    fn audit_retention_keeps_the_newest_entries_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let entry = |i: usize, outcome: &str| audit_entry(&format!("command {i}"), outcome, 0);
        let mut i = 0;
        for _ in 0..2 {
            let mut store = SqliteStore::open(&path).unwrap();
            store.set_audit_retention(10);
            for _ in 0..60 {
                i += 1;
                let batch = Batch {
                    audit: vec![entry(i, "accepted"), entry(i, "rejected: no")],
                    ..Batch::default()
                };
                store.append(&batch).unwrap();
            }
        }
        let mut store = SqliteStore::open(&path).unwrap();
        let kept = store.audit(&AuditFilter::default(), None, 1000).unwrap();
        let accepted: Vec<&str> = kept
            .iter()
            .filter(|e| e.outcome == "accepted")
            .map(|e| e.line.as_str())
            .collect();
        let wanted: Vec<String> = (111..=120).rev().map(|i| format!("command {i}")).collect();
        assert_eq!(accepted, wanted, "the newest 10 acknowledged commands");
        let others: Vec<&str> = kept
            .iter()
            .filter(|e| e.outcome != "accepted")
            .map(|e| e.line.as_str())
            .collect();
        let wanted: Vec<String> = (21..=120).rev().map(|i| format!("command {i}")).collect();
        assert_eq!(others, wanted, "the newest 100 other entries");
    }

    #[test]
    fn sqlite_store_passes_the_suite_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        suite(&mut SqliteStore::open(&path).unwrap());
        filter_suite(&mut SqliteStore::open(&path).unwrap());
        let mut reopened = SqliteStore::open(&path).unwrap();
        assert_eq!(load(&mut reopened, || panic!("seeded")).unwrap().revision, 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "the store file is readable by its owner only");
        }
        assert!(!reopened.marked_deleted().unwrap());
        reopened.mark_deleted().unwrap();
        assert!(reopened.marked_deleted().unwrap());
    }

    #[test]
    fn a_batch_that_fails_part_way_stores_nothing_and_the_next_one_stores() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("f.db")).unwrap();
        let mut fleet = load(&mut store, cluster::fixture::americas).unwrap();
        let e = event(&fleet);
        cluster::apply(&mut fleet, &e);
        let stored = Stored {
            revision: 1,
            event: e,
        };
        // The second row repeats revision 1: the insert fails after the first row and the audit
        // entry went in.
        let bad = Batch {
            events: vec![stored.clone(), stored.clone()],
            audit: vec![audit_entry("login", "accepted", 1)],
            ..Batch::default()
        };
        assert!(store.append(&bad).is_err());
        assert!(
            store.conn.is_autocommit(),
            "the failed batch's transaction is closed"
        );
        assert!(store.events_after(0, 10).unwrap().is_empty());
        assert!(store.audit(&AuditFilter::default(), None, 10).unwrap().is_empty());
        let good = Batch {
            events: vec![stored],
            audit: vec![audit_entry("login", "accepted", 1)],
            ..Batch::default()
        };
        store.append(&good).unwrap();
        assert_eq!(store.events_after(0, 10).unwrap().len(), 1);
        assert_eq!(store.audit(&AuditFilter::default(), None, 10).unwrap().len(), 1);
        assert_eq!(load(&mut store, || panic!("seeded")).unwrap(), fleet);
    }

    #[test]
    fn an_import_with_a_gap_or_a_wrong_end_is_refused() {
        let mut store = MemoryStore::default();
        let mut fleet = load(&mut store, cluster::fixture::americas).unwrap();
        let e = event(&fleet);
        cluster::apply(&mut fleet, &e);
        store
            .append(&Batch {
                events: vec![Stored {
                    revision: 1,
                    event: e,
                }],
                ..Batch::default()
            })
            .unwrap();
        let mut out = Vec::new();
        export(&mut store, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let wrong = text.replacen("\"revision\":1}", "\"revision\":5}", 1);
        let err = import(&mut MemoryStore::default(), &wrong).unwrap_err();
        assert!(format!("{err:#}").contains("header says 5"), "{err:#}");
        let gap = text.replace("{\"revision\":1,\"event\"", "{\"revision\":2,\"event\"");
        let err = import(&mut MemoryStore::default(), &gap).unwrap_err();
        assert!(format!("{err:#}").contains("gap"), "{err:#}");
        // A good import's clock resumes from the log's last time, as of now.
        let mut copy = MemoryStore::default();
        import(&mut copy, &text).unwrap();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let resumed = copy.clock().unwrap().unwrap().resumed(7.0, now_ms);
        assert!(
            (resumed.0 - fleet.now.0).abs() < 60_000,
            "the imported clock resumes at {resumed}, the log ends at {}",
            fleet.now
        );
    }

    #[test]
    fn a_corrupt_event_is_reported_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("f.db")).unwrap();
        let mut fleet = load(&mut store, cluster::fixture::americas).unwrap();
        let e = event(&fleet);
        cluster::apply(&mut fleet, &e);
        store
            .append(&Batch {
                events: vec![Stored {
                    revision: 1,
                    event: e,
                }],
                ..Batch::default()
            })
            .unwrap();
        store
            .conn
            .execute(
                "UPDATE events SET body = replace(body, 'losangeles', 'losangelos') WHERE revision = 1",
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

    #[test]
    fn an_old_audit_table_gains_real_time_and_indexes_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            // The audit table as the first stores wrote it.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE audit (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user TEXT NOT NULL,
                    login_host TEXT NOT NULL, mode TEXT NOT NULL, line TEXT NOT NULL, outcome TEXT NOT NULL,
                    revision INTEGER NOT NULL);
                 INSERT INTO audit (at, user, login_host, mode, line, outcome, revision)
                    VALUES ('2026-01-01T00:00:00Z', 'admin', 'newyork.example.com', 'cluster', 'commit', 'accepted', 3);",
            )
            .unwrap();
        }
        let mut store = SqliteStore::open(&path).unwrap();
        let old = store.audit(&AuditFilter::default(), None, 10).unwrap();
        assert_eq!(old.len(), 1);
        assert_eq!(old[0].real_at, None, "an old row has no real time");
        assert_eq!(old[0].line, "commit");
        let indexes: Vec<String> = store
            .conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit' ORDER BY name",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            indexes,
            [
                "audit_by_class",
                "audit_by_login_host",
                "audit_by_mode",
                "audit_by_user"
            ]
        );
        // A reopened store migrates nothing twice.
        drop(store);
        let mut again = SqliteStore::open(&path).unwrap();
        assert_eq!(again.audit(&AuditFilter::default(), None, 10).unwrap(), old);
    }
}
