//! The engine of one fleet: one thread owns the fleet, its login sessions and its store. Requests arrive
//! on a channel and are handled in batches: each command is checked with `cluster::check` (the server
//! never trusts the browser's verdict), its fleet events applied and its session changes made, and the
//! whole batch — events, audit lines, sessions — is written in one transaction (group commit). Only then
//! are the replies sent and the events published: an answer always means durable.
//!
//! Sessions are the fleet's but not part of it (rules §14.7.4): logins, mode switches and staging never
//! advance the fleet's revision. The engine speaks the domain: its errors are [`EngineError`], mapped to
//! HTTP in one place (`api`).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cluster::cmd::{due_events, prompt_of, CommandKind};
use cluster::roles::{Permission, Role};
use cluster::session::SessionId;
use cluster::wire::{
    redact_session, scope_event_for, Audience, AuditEntry, CliResponse, CliStatus, CommandResponse,
    EventRecord, SessionInfo,
};
use cluster::{Command, Event, Fleet, Hostname, Mode, Rejection, UserName, Verdict};
use tokio::sync::{broadcast, oneshot, watch};

use crate::clock::SimClock;
use crate::registry::FleetId;
use crate::store::{Batch, ClockReading, SessionRow, Store, Stored};

/// Events between snapshots.
const SNAPSHOT_EVERY: u64 = 500;
/// Requests handled in one batch (one transaction) at most.
const BATCH: usize = 256;
/// A subscriber further behind than this is told to resync.
pub const MAX_BACKLOG: usize = 1000;
/// The most bytes of backlog one event stream is sent before it is told to resync instead.
pub const BACKLOG_BUDGET: usize = 1 << 20;
/// Backlog reads at once, across fleets: each holds decoded events in memory.
const BACKLOG_READS: usize = 2;
/// Sessions one fleet holds at most; a login past it ends the least recently used session.
pub const MAX_SESSIONS: usize = 10_000;
/// Live events a slow stream may fall behind by before it is told to resync (its backlog is read from
/// the store, so this only bounds the live part). Each slot is allocated per fleet up front.
const EVENT_CHANNEL: usize = 1024;
/// Session updates in flight to their streams.
const SESSION_CHANNEL: usize = 256;
/// Sessions one user keeps in a fleet; a login past it ends that user's least recently used one.
pub const MAX_SESSIONS_PER_USER: usize = 32;

/// Why the engine did not do what it was asked. The HTTP layer maps each to a status code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    #[error("Log in first: this request has no valid session.")]
    Unauthenticated,
    #[error("Login failed: wrong user name or password.")]
    LoginFailed,
    #[error("{0}")]
    Rejected(Rejection),
    #[error("{message}")]
    Forbidden { message: String },
    /// A simulator control the domain refused (rules §16.2), naming why.
    #[error("{message}")]
    Refused { message: String },
    #[error(
        "The fleet changed (revision {current} now, you saw {seen}); check again against the new state."
    )]
    Stale { current: u64, seen: u64 },
    #[error("Revision {since} is in the future; the fleet is at {current}.")]
    FutureRevision { since: u64, current: u64 },
    #[error("The command was checked against revision {seen}, which the fleet has not reached (it is at {current}): send the revision you last saw.")]
    AheadRevision { seen: u64, current: u64 },
    #[error("Too far behind: fetch the fleet again.")]
    TooFarBehind,
    #[error("No fleet named \"{fleet}\".")]
    UnknownFleet { fleet: String },
    #[error("A fleet named \"{fleet}\" already exists.")]
    FleetExists { fleet: String },
    #[error("The server is busy; retry shortly.")]
    Busy,
    #[error("The fleet is stopping; retry shortly.")]
    Stopped,
    #[error("The change could not be stored; nothing was changed.")]
    Storage,
}

pub type Reply<T> = oneshot::Sender<Result<T, EngineError>>;

/// When sessions end by themselves, in real seconds (not the simulated clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// A session with no request for this long ends.
    pub idle_secs: i64,
    /// A session this old ends, however active.
    pub lifetime_secs: i64,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            idle_secs: 1800,
            lifetime_secs: 43_200,
        }
    }
}

/// Characters of an accepted command's audit line kept.
const MAX_AUDIT_LINE: usize = 2048;
/// Characters of a refused (or unanswered) command's audit line kept.
const MAX_REFUSED_LINE: usize = 200;
/// Characters of an audit outcome kept.
const MAX_AUDIT_OUTCOME: usize = 1024;

/// `text` cut to `max` characters, marked with `…` where it was cut.
fn clip(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// How often expired sessions are swept out, and recent activity written.
const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// Activity is written to the store at most this often per session (it is kept in memory meanwhile).
const SEEN_WRITE_SECS: i64 = 60;

/// A session as the HTTP layer sees it: who, with which role.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub info: SessionInfo,
    pub role: Role,
}

/// What the engine is asked to do.
pub enum Request {
    /// Opens a session for a user whose password the caller has verified.
    OpenSession {
        user: UserName,
        host: Hostname,
        token_hash: String,
        reply: Reply<SessionInfo>,
    },
    Logout {
        token_hash: String,
        reply: Reply<()>,
    },
    Session {
        token_hash: String,
        reply: Reply<SessionView>,
    },
    Command {
        token_hash: String,
        command: Box<Command>,
        /// The mode of the page that sent it (`None`: the session's own mode).
        at: Option<Mode>,
        answers: Vec<String>,
        revision: Option<u64>,
        reply: Reply<CommandResponse>,
    },
    Cli {
        token_hash: String,
        line: String,
        reply: Reply<CliResponse>,
    },
    EventsAfter {
        since: u64,
        audience: Audience,
        reply: Reply<Vec<EventRecord>>,
    },
    /// Audit entries that pass `filter`, newest first, with an id below `before` (rules §15.33).
    Audit {
        token_hash: String,
        filter: cluster::wire::AuditFilter,
        before: Option<u64>,
        limit: usize,
        reply: Reply<Vec<AuditEntry>>,
    },
    /// A simulator control (rules §16.2) by the session's user, on its fleet.
    Simulate {
        token_hash: String,
        fault: cluster::event::Fault,
        reply: Reply<SimulatorResponse>,
    },
    /// A simulator control from the test API (issue 15), with no session.
    TestFault {
        fault: cluster::event::Fault,
        reply: Reply<SimulatorResponse>,
    },
    /// The events a test API script caused on the fleet as it was at `base` (issue 15): applied if the
    /// fleet is still there, and the clock moved by the script's waits.
    ApplyScript {
        base: u64,
        events: Vec<Event>,
        waited_ms: i64,
        /// The script's command lines (for the audit log).
        lines: Vec<String>,
        reply: Reply<u64>,
    },
    /// The test API's control of the simulated clock (issue 15).
    Clock {
        change: ClockChange,
        reply: Reply<ClockState>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// A change of a fleet's simulated clock (the test API, `docs/testing.md`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockChange {
    /// Stop it (`true`) or let it run again at its speed before (`false`).
    Freeze(bool),
    /// Move it this many simulated seconds forward at once.
    Advance(i64),
    /// Run it this many times real time from now on.
    Speed(f64),
}

/// A fleet's clock after a change.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ClockState {
    /// Simulated time now, ms since the epoch.
    pub now: i64,
    /// How many times real time it runs (0 while frozen).
    pub speed: f64,
    pub frozen: bool,
}

pub use cluster::wire::SimulatorResponse;

/// One durable event as every audience sees it (built once, shared by every subscriber).
#[derive(Debug)]
pub struct Published {
    pub revision: u64,
    scoped: [EventRecord; 3],
}

impl Published {
    pub fn for_audience(&self, audience: Audience) -> &EventRecord {
        &self.scoped[audience.index()]
    }
}

/// A session's new state (`None`: it ended), for that session's own event streams.
#[derive(Debug, Clone)]
pub struct SessionUpdate {
    pub session: SessionId,
    pub info: Option<SessionInfo>,
}

/// The handle the HTTP layer holds.
#[derive(Clone)]
pub struct Engine {
    pub id: FleetId,
    /// Boxed: a bounded channel allocates (and touches) every slot up front, so a slot the size of a
    /// pointer keeps an idle fleet small (issue 14, S2).
    tx: SyncSender<Box<Request>>,
    /// The latest durable state (not redacted).
    pub fleet: watch::Receiver<Arc<Fleet>>,
    /// Every durable event, scoped for each audience, in order.
    pub events: broadcast::Sender<Arc<Published>>,
    /// Changes of sessions, for their own streams.
    pub sessions: broadcast::Sender<Arc<SessionUpdate>>,
    pub clock: SimClock,
    /// Bumped whenever the test API changes the clock: event streams then tell their consoles to load
    /// the fleet (and its clock) again.
    pub clock_changes: watch::Receiver<u64>,
    last_used: Arc<AtomicU64>,
    running: Arc<AtomicBool>,
    deleted: Arc<AtomicBool>,
    /// Reads the event log beside the engine thread (`None`: ask the engine).
    backlog: Option<Arc<Backlog>>,
}

/// A read-only connection to a fleet's store, opened on first use: event streams read their backlog
/// here, so a client asking for a long backlog never holds up the engine (issue 11 item 4).
pub struct Backlog {
    path: std::path::PathBuf,
    reader: std::sync::Mutex<Option<crate::store::SqliteStore>>,
}

impl Backlog {
    pub fn new(path: std::path::PathBuf) -> Backlog {
        Backlog {
            path,
            reader: std::sync::Mutex::new(None),
        }
    }

    /// The events after `since` (at most [`MAX_BACKLOG`]) scoped for `audience`, or `TooFarBehind` once
    /// they pass [`BACKLOG_BUDGET`] bytes.
    fn read(&self, since: u64, audience: Audience) -> Result<Vec<EventRecord>, EngineError> {
        let mut reader = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        let storage = |e: anyhow::Error| {
            tracing::error!(path = %self.path.display(), error = %format!("{e:#}"), "cannot read the event log");
            EngineError::Storage
        };
        if reader.is_none() {
            *reader = Some(crate::store::SqliteStore::open_reader(&self.path).map_err(storage)?);
        }
        let Some(store) = reader.as_mut() else {
            return Err(EngineError::Storage);
        };
        let events = store.events_after(since, MAX_BACKLOG).map_err(storage)?;
        let mut bytes = 0;
        let mut out = Vec::with_capacity(events.len());
        for s in events {
            let record = EventRecord {
                revision: s.revision,
                event: scope_event_for(&s.event, audience),
            };
            bytes += serde_json::to_vec(&record).map_or(0, |v| v.len());
            if bytes > BACKLOG_BUDGET {
                return Err(EngineError::TooFarBehind);
            }
            out.push(record);
        }
        Ok(out)
    }
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn process_ms() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

impl Engine {
    /// Sends a request; fails with `Busy` when the queue is full, `Stopped` when the engine is gone.
    pub async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, EngineError> {
        self.touch();
        let (reply, rx) = oneshot::channel();
        match self.tx.try_send(Box::new(make(reply))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(EngineError::Busy),
            Err(TrySendError::Disconnected(_)) => return Err(EngineError::Stopped),
        }
        rx.await.unwrap_or(Err(EngineError::Stopped))
    }

    /// The events after `since`, scoped for `audience`, for an event stream: read beside the engine, a
    /// few at a time across the server.
    pub async fn backlog(&self, since: u64, audience: Audience) -> Result<Vec<EventRecord>, EngineError> {
        static READS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(BACKLOG_READS);
        let current = self.fleet.borrow().revision;
        if since > current {
            return Err(EngineError::FutureRevision { since, current });
        }
        if current - since > MAX_BACKLOG as u64 {
            return Err(EngineError::TooFarBehind);
        }
        if since == current {
            return Ok(Vec::new());
        }
        let Some(backlog) = self.backlog.clone() else {
            return self
                .ask(|reply| Request::EventsAfter {
                    since,
                    audience,
                    reply,
                })
                .await;
        };
        let _permit = READS.acquire().await.map_err(|_| EngineError::Stopped)?;
        tokio::task::spawn_blocking(move || backlog.read(since, audience))
            .await
            .map_err(|_| EngineError::Busy)?
    }

    /// Asks the engine to write a final snapshot and stop.
    pub async fn shutdown(&self) {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Box::new(Request::Shutdown { reply })).is_ok() {
            let _ = rx.await;
        }
    }

    pub fn touch(&self) {
        self.last_used.store(process_ms(), Ordering::Relaxed);
    }

    pub fn last_used(&self) -> u64 {
        self.last_used.load(Ordering::Relaxed)
    }

    pub fn idle_for(&self) -> Duration {
        Duration::from_millis(process_ms().saturating_sub(self.last_used()))
    }

    /// How many event streams watch this fleet.
    pub fn watchers(&self) -> usize {
        self.events.receiver_count()
    }

    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }

    /// Whether the fleet's store was marked for deletion (`clusterdeck fleet delete`).
    pub fn deleted(&self) -> bool {
        self.deleted.load(Ordering::Relaxed)
    }
}

/// Starts the engine thread of fleet `id` on `fleet` (already loaded from `store`). `clock` is the
/// simulated clock's last stored reading: the clock resumes from it as if it had kept running, so it
/// never goes back across a restart (not even after a crash).
pub fn start(
    id: FleetId,
    fleet: Fleet,
    mut store: Box<dyn Store>,
    speed: f64,
    clock: Option<ClockReading>,
    limits: SessionLimits,
    backlog: Option<Backlog>,
) -> anyhow::Result<Engine> {
    let rows = store.sessions()?;
    let base = clock.map_or(fleet.now, |c| c.resumed(speed, unix_ms()).max(fleet.now));
    let clock = SimClock::new(base, speed);
    let (tx, rx) = std::sync::mpsc::sync_channel(4096);
    let (fleet_tx, fleet_rx) = watch::channel(Arc::new(fleet.clone()));
    let (events_tx, _) = broadcast::channel(EVENT_CHANNEL);
    let (sessions_tx, _) = broadcast::channel(SESSION_CHANNEL);
    let (clock_tx, clock_changes) = watch::channel(0u64);
    let running = Arc::new(AtomicBool::new(true));
    let deleted = Arc::new(AtomicBool::new(false));
    let mut sessions = HashMap::new();
    let mut by_token = HashMap::new();
    let mut next_session = 1;
    let mut credentials = HashMap::new();
    for row in rows {
        next_session = next_session.max(row.session.id + 1);
        by_token.insert(row.token_hash.clone(), row.session.id);
        credentials.insert(
            row.session.id,
            cluster::login::credential(&fleet, &row.session.host, &row.session.user),
        );
        sessions.insert(row.session.id, row);
    }
    let core = Core {
        id: id.clone(),
        fleet,
        store,
        sessions,
        by_token,
        next_session,
        cli_pending: HashMap::new(),
        clock: clock.clone(),
        fleet_tx,
        events_tx: events_tx.clone(),
        sessions_tx: sessions_tx.clone(),
        since_snapshot: 0,
        running: running.clone(),
        deleted: deleted.clone(),
        last_check: Instant::now(),
        clock_written: false,
        limits,
        seen: HashMap::new(),
        credentials,
        last_sweep: Instant::now() - SWEEP_EVERY,
        clock_tx,
        running_speed: speed,
    };
    std::thread::Builder::new()
        .name(format!("fleet-{id}"))
        .spawn(move || core.run(rx))?;
    let engine = Engine {
        id,
        tx,
        fleet: fleet_rx,
        events: events_tx,
        sessions: sessions_tx,
        clock,
        clock_changes,
        last_used: Arc::new(AtomicU64::new(0)),
        running,
        deleted,
        backlog: backlog.map(Arc::new),
    };
    engine.touch();
    Ok(engine)
}

/// A reply waiting for the batch to be durable.
enum Pending {
    Session(Reply<SessionInfo>, Result<SessionInfo, EngineError>),
    Unit(Reply<()>, Result<(), EngineError>),
    Command(Reply<CommandResponse>, Result<CommandResponse, EngineError>),
    Cli(Reply<CliResponse>, Result<CliResponse, EngineError>),
    Simulator(Reply<SimulatorResponse>, Result<SimulatorResponse, EngineError>),
    Clock(Reply<ClockState>, Result<ClockState, EngineError>),
    Revision(Reply<u64>, Result<u64, EngineError>),
}

impl Pending {
    fn send(self, storage_failed: bool) {
        fn pick<T>(v: Result<T, EngineError>, failed: bool) -> Result<T, EngineError> {
            if failed {
                Err(EngineError::Storage)
            } else {
                v
            }
        }
        match self {
            Pending::Session(r, v) => drop(r.send(pick(v, storage_failed))),
            Pending::Unit(r, v) => drop(r.send(pick(v, storage_failed))),
            Pending::Command(r, v) => drop(r.send(pick(v, storage_failed))),
            Pending::Simulator(r, v) => drop(r.send(pick(v, storage_failed))),
            Pending::Clock(r, v) => drop(r.send(pick(v, storage_failed))),
            Pending::Revision(r, v) => drop(r.send(pick(v, storage_failed))),
            Pending::Cli(r, v) => drop(r.send(pick(v, storage_failed))),
        }
    }
}

struct Core {
    id: FleetId,
    fleet: Fleet,
    store: Box<dyn Store>,
    sessions: HashMap<SessionId, SessionRow>,
    by_token: HashMap<String, SessionId>,
    next_session: SessionId,
    /// A question the web terminal of a session has not answered yet: the command and answers so far.
    cli_pending: HashMap<SessionId, (Command, Vec<String>)>,
    clock: SimClock,
    fleet_tx: watch::Sender<Arc<Fleet>>,
    events_tx: broadcast::Sender<Arc<Published>>,
    sessions_tx: broadcast::Sender<Arc<SessionUpdate>>,
    since_snapshot: u64,
    running: Arc<AtomicBool>,
    deleted: Arc<AtomicBool>,
    last_check: Instant,
    clock_written: bool,
    limits: SessionLimits,
    /// The latest request of each session (unix seconds), ahead of what the store holds.
    seen: HashMap<SessionId, i64>,
    /// Each session's credential when it last held (see [`cluster::login::credential`]).
    credentials: HashMap<SessionId, Option<String>>,
    last_sweep: Instant,
    clock_tx: watch::Sender<u64>,
    /// The speed a frozen clock runs at again when unfrozen.
    running_speed: f64,
}

/// What one batch does.
#[derive(Default)]
struct Work {
    batch: Batch,
    replies: Vec<Pending>,
    /// Sessions changed in this batch (written, and published to their streams).
    touched: BTreeSet<SessionId>,
    ended: BTreeSet<SessionId>,
    /// The clock was changed by the test API: consoles reload.
    clock_changed: bool,
}

/// What a failed write restores (the fleet itself comes back from the published copy).
type Checkpoint = (
    HashMap<SessionId, SessionRow>,
    HashMap<String, SessionId>,
    HashMap<SessionId, (Command, Vec<String>)>,
    SessionId,
);

impl Core {
    fn run(mut self, rx: Receiver<Box<Request>>) {
        loop {
            let first = match rx.recv_timeout(Duration::from_millis(250)) {
                Ok(r) => Some(*r),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut requests: Vec<Request> = first.into_iter().collect();
            while requests.len() < BATCH {
                match rx.try_recv() {
                    Ok(r) => requests.push(*r),
                    Err(_) => break,
                }
            }
            let sweep_due = self.last_sweep.elapsed() >= SWEEP_EVERY;
            if requests.is_empty()
                && !sweep_due
                && self.clock_written
                && due_events(&self.fleet, self.clock.now()).is_empty()
            {
                // Nothing to do: no checkpoint, no batch.
                self.check_deleted();
                continue;
            }
            // The fleet is not copied: it changes only by events (`push`), and every batch with
            // events publishes it, so the published one is the fleet as of the last stored batch.
            let checkpoint: Checkpoint = (
                self.sessions.clone(),
                self.by_token.clone(),
                self.cli_pending.clone(),
                self.next_session,
            );
            let mut work = Work::default();
            self.settle(&mut work);
            if sweep_due {
                self.last_sweep = Instant::now();
                self.sweep_sessions(&mut work);
            }
            let mut shutdown = None;
            for r in requests {
                match r {
                    Request::Shutdown { reply } => shutdown = Some(reply),
                    other => self.handle(other, &mut work),
                }
            }
            for id in &work.touched {
                if let Some(row) = self.sessions.get(id) {
                    work.batch.sessions.push(row.clone());
                }
            }
            work.batch.ended = work.ended.iter().copied().collect();
            if !work.batch.is_empty() || !self.clock_written {
                // The clock's reading goes with every write (and once at start): a restart resumes from it.
                work.batch.clock = Some(ClockReading {
                    sim: self.clock.now(),
                    real_ms: unix_ms(),
                });
                self.clock_written = true;
            }
            let failed = !work.batch.is_empty()
                && {
                    match self.store.append(&work.batch) {
                        Ok(()) => false,
                        Err(e) => {
                            tracing::error!(fleet = %self.id, error = %format!("{e:#}"), "cannot store a batch; rolled back");
                            self.fleet = Fleet::clone(&self.fleet_tx.borrow());
                            (self.sessions, self.by_token, self.cli_pending, self.next_session) = checkpoint;
                            true
                        }
                    }
                };
            if !failed {
                self.publish(&work);
            }
            if work.clock_changed {
                self.clock_tx.send_modify(|n| *n += 1);
            }
            for p in work.replies {
                p.send(failed);
            }
            self.check_deleted();
            if let Some(reply) = shutdown {
                self.snapshot();
                let _ = reply.send(());
                break;
            }
        }
        self.running.store(false, Ordering::Relaxed);
        tracing::debug!(fleet = %self.id, revision = self.fleet.revision, "engine stopped");
    }

    /// Every 2 s: whether `clusterdeck fleet delete` marked the store.
    fn check_deleted(&mut self) {
        if self.last_check.elapsed() >= Duration::from_secs(2) {
            self.last_check = Instant::now();
            if self.store.marked_deleted().unwrap_or(false) {
                self.deleted.store(true, Ordering::Relaxed);
            }
        }
    }

    fn publish(&mut self, work: &Work) {
        if !work.batch.events.is_empty() {
            self.fleet_tx.send_replace(Arc::new(self.fleet.clone()));
            for s in &work.batch.events {
                let scoped = Audience::ALL.map(|a| EventRecord {
                    revision: s.revision,
                    event: scope_event_for(&s.event, a),
                });
                let _ = self.events_tx.send(Arc::new(Published {
                    revision: s.revision,
                    scoped,
                }));
            }
            self.since_snapshot += work.batch.events.len() as u64;
            if self.since_snapshot >= SNAPSHOT_EVERY {
                self.snapshot();
            }
        }
        for id in &work.touched {
            if let Ok(info) = self.info(*id) {
                let _ = self.sessions_tx.send(Arc::new(SessionUpdate {
                    session: *id,
                    info: Some(info),
                }));
            }
        }
        for id in &work.ended {
            let _ = self.sessions_tx.send(Arc::new(SessionUpdate {
                session: *id,
                info: None,
            }));
        }
    }

    fn snapshot(&mut self) {
        let reading = Batch {
            clock: Some(ClockReading {
                sim: self.clock.now(),
                real_ms: unix_ms(),
            }),
            ..Batch::default()
        };
        if let Err(e) = self.store.append(&reading) {
            tracing::error!(fleet = %self.id, error = %format!("{e:#}"), "cannot store the clock");
        }
        match self.store.write_snapshot(&self.fleet) {
            Ok(()) => self.since_snapshot = 0,
            Err(e) => tracing::error!(fleet = %self.id, error = %format!("{e:#}"), "cannot write a snapshot"),
        }
    }

    /// Applies a fleet event; every session follows it first (rules §14.2.6).
    fn push(&mut self, work: &mut Work, event: Event) -> u64 {
        for (id, row) in self.sessions.iter_mut() {
            let before = row.session.clone();
            cluster::apply::follow(&mut row.session, &self.fleet, &event);
            if row.session != before {
                work.touched.insert(*id);
            }
        }
        cluster::apply(&mut self.fleet, &event);
        work.batch.events.push(Stored {
            revision: self.fleet.revision,
            event,
        });
        self.fleet.revision
    }

    /// Changes the clock (the test API): every time-driven transition due by the new time happens now,
    /// in order, chained ones included (an install, then its reboot), as if the time had passed.
    fn change_clock(&mut self, work: &mut Work, change: ClockChange) -> ClockState {
        let speed = self.clock.speed();
        match change {
            ClockChange::Freeze(true) => {
                if speed > 0.0 {
                    self.running_speed = speed;
                }
                self.clock.set_speed(0.0);
            }
            ClockChange::Freeze(false) => {
                if speed == 0.0 {
                    self.clock.set_speed(self.running_speed);
                }
            }
            ClockChange::Speed(x) => {
                if x > 0.0 {
                    self.running_speed = x;
                }
                self.clock.set_speed(x);
            }
            ClockChange::Advance(secs) => {
                self.clock.advance(secs);
                // A transition may make the next one due (an install ends, the reboot starts): settle
                // until nothing more is due, a bounded number of rounds.
                for _ in 0..64 {
                    let before = work.batch.events.len();
                    self.settle(work);
                    if work.batch.events.len() == before {
                        break;
                    }
                }
                self.push(
                    work,
                    Event::new(self.clock.now(), cluster::event::EventKind::ClockAdvanced),
                );
            }
        }
        work.clock_changed = true;
        let speed = self.clock.speed();
        ClockState {
            now: self.clock.now().0,
            speed,
            frozen: speed == 0.0,
        }
    }

    /// Time-driven transitions (upgrades that have rebooted) due by now.
    fn settle(&mut self, work: &mut Work) {
        let due = due_events(&self.fleet, self.clock.now());
        let any = !due.is_empty();
        for e in due {
            self.push(work, e);
        }
        if any {
            self.end_changed_credentials(work, None);
        }
    }

    /// Whether session `id` has ended by time, as of `now` (unix seconds).
    fn expired(&self, id: SessionId, now: i64) -> Option<&'static str> {
        let row = self.sessions.get(&id)?;
        let seen = self
            .seen
            .get(&id)
            .copied()
            .unwrap_or(row.last_seen)
            .max(row.last_seen);
        if now - row.created >= self.limits.lifetime_secs {
            Some("expired: lifetime")
        } else if now - seen >= self.limits.idle_secs {
            Some("expired: idle")
        } else {
            None
        }
    }

    /// Ends every session past its idle timeout or lifetime; writes recent activity of the others.
    fn sweep_sessions(&mut self, work: &mut Work) {
        let now = unix_now();
        let expired: Vec<(SessionId, &'static str)> = self
            .sessions
            .keys()
            .filter_map(|id| self.expired(*id, now).map(|why| (*id, why)))
            .collect();
        for (id, why) in expired {
            self.audit(work, id, None, "session ended".into(), why.into());
            self.end_session(work, id);
        }
        let seen = std::mem::take(&mut self.seen);
        for (id, at) in seen {
            match self.sessions.get_mut(&id) {
                Some(row) if at - row.last_seen >= SEEN_WRITE_SECS => {
                    row.last_seen = at;
                    work.touched.insert(id);
                }
                Some(_) => {
                    self.seen.insert(id, at);
                }
                None => {}
            }
        }
    }

    /// Ends the sessions whose credential changed (a new password, the user gone), except `actor`'s: the
    /// session that changed its own password stays.
    fn end_changed_credentials(&mut self, work: &mut Work, actor: Option<SessionId>) {
        let mut current: HashMap<(&Hostname, &UserName), Option<String>> = HashMap::new();
        let mut changed = Vec::new();
        for (id, row) in &self.sessions {
            let now = current
                .entry((&row.session.host, &row.session.user))
                .or_insert_with(|| {
                    cluster::login::credential(&self.fleet, &row.session.host, &row.session.user)
                });
            if self.credentials.get(id) != Some(now) {
                changed.push((*id, now.clone()));
            }
        }
        for (id, now) in changed {
            if Some(id) == actor {
                self.credentials.insert(id, now);
            } else {
                self.audit(
                    work,
                    id,
                    None,
                    "session ended".into(),
                    "credentials changed".into(),
                );
                self.end_session(work, id);
            }
        }
    }

    fn info(&self, id: SessionId) -> Result<SessionInfo, EngineError> {
        let row = self.sessions.get(&id).ok_or(EngineError::Unauthenticated)?;
        let s = &row.session;
        let role = self
            .fleet
            .role_of(&s.host, &s.user)
            .ok_or(EngineError::Unauthenticated)?;
        Ok(SessionInfo {
            fleet: self.id.to_string(),
            session: id,
            user: s.user.clone(),
            role,
            login_host: s.host.clone(),
            mode: s.mode.clone(),
            prompt: prompt_of(&self.fleet, s),
            pending: redact_session(s).pending,
        })
    }

    /// The live session of a token: one past its idle timeout or lifetime ends now; any other notes the
    /// request as activity.
    fn session_of(&mut self, work: &mut Work, token_hash: &str) -> Result<SessionId, EngineError> {
        let id = self
            .by_token
            .get(token_hash)
            .copied()
            .ok_or(EngineError::Unauthenticated)?;
        let now = unix_now();
        if let Some(why) = self.expired(id, now) {
            self.audit(work, id, None, "session ended".into(), why.into());
            self.end_session(work, id);
            return Err(EngineError::Unauthenticated);
        }
        self.seen.insert(id, now);
        Ok(id)
    }

    fn audit(&self, work: &mut Work, session: SessionId, mode: Option<&Mode>, line: String, outcome: String) {
        let (user, host, mode) = match self.sessions.get(&session) {
            Some(r) => (
                r.session.user.to_string(),
                r.session.host.to_string(),
                mode.or(r.session.mode.as_ref())
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "standalone".into()),
            ),
            None => ("?".into(), "?".into(), "?".into()),
        };
        self.audit_as(work, user, host, mode, line, outcome);
    }

    /// An audit entry of the test API's (issue 15): no session; the user `test-api`.
    fn audit_test_kit(&self, work: &mut Work, line: String, outcome: String) {
        self.audit_as(
            work,
            cluster::sim::TEST_KIT_USER.into(),
            "-".into(),
            "-".into(),
            line,
            outcome,
        );
    }

    fn audit_as(
        &self,
        work: &mut Work,
        user: String,
        host: String,
        mode: String,
        line: String,
        outcome: String,
    ) {
        // Whatever a client sends, one entry stays small: a refused or unanswered line is kept only as
        // far as it identifies the command; an accepted one in full up to a generous bound.
        let accepted = outcome.starts_with("accepted");
        let line = clip(
            line,
            if accepted {
                MAX_AUDIT_LINE
            } else {
                MAX_REFUSED_LINE
            },
        );
        let outcome = clip(outcome, MAX_AUDIT_OUTCOME);
        // The store assigns the id.
        work.batch.audit.push(AuditEntry {
            id: 0,
            at: self.clock.now().to_string(),
            // The real time beside the simulated one (rules §15.33).
            real_at: Some(cluster::Timestamp::from_secs(unix_now()).to_string()),
            user,
            login_host: host,
            mode,
            line,
            outcome,
            revision: self.fleet.revision,
        });
    }

    fn end_session(&mut self, work: &mut Work, id: SessionId) {
        if let Some(row) = self.sessions.remove(&id) {
            self.by_token.remove(&row.token_hash);
        }
        self.seen.remove(&id);
        self.credentials.remove(&id);
        self.cli_pending.remove(&id);
        work.touched.remove(&id);
        work.ended.insert(id);
    }

    fn handle(&mut self, request: Request, work: &mut Work) {
        match request {
            Request::TestFault { fault, reply } => {
                let line = format!("simulator: {}", fault.directive());
                let result = match cluster::sim::check_for_test_kit(&self.fleet, &fault, self.clock.now()) {
                    Ok((event, message)) => {
                        self.push(work, event);
                        self.audit_test_kit(work, line, format!("accepted; {message}"));
                        self.end_changed_credentials(work, None);
                        self.end_sessions_on_down_hosts(work, None);
                        Ok(SimulatorResponse {
                            message: format!("Simulator: {message}."),
                            revision: self.fleet.revision,
                        })
                    }
                    Err(rejection) => {
                        self.audit_test_kit(work, line, format!("rejected: {rejection}"));
                        Err(EngineError::Refused {
                            message: rejection.to_string(),
                        })
                    }
                };
                work.replies.push(Pending::Simulator(reply, result));
            }
            Request::ApplyScript {
                base,
                events,
                waited_ms,
                lines,
                reply,
            } => {
                let result = if self.fleet.revision != base {
                    Err(EngineError::Stale {
                        seen: base,
                        current: self.fleet.revision,
                    })
                } else {
                    for e in events {
                        self.push(work, e);
                    }
                    for line in lines {
                        self.audit_test_kit(work, format!("script: {line}"), "accepted".into());
                    }
                    self.end_sessions_on_down_hosts(work, None);
                    self.end_changed_credentials(work, None);
                    if waited_ms > 0 {
                        self.clock.advance(waited_ms.div_euclid(1000));
                        work.clock_changed = true;
                    }
                    Ok(self.fleet.revision)
                };
                work.replies.push(Pending::Revision(reply, result));
            }
            Request::Clock { change, reply } => {
                let state = self.change_clock(work, change);
                work.replies.push(Pending::Clock(reply, Ok(state)));
            }
            Request::OpenSession {
                user,
                host,
                token_hash,
                reply,
            } => {
                let result = if self.fleet.role_of(&host, &user).is_none() {
                    Err(EngineError::LoginFailed)
                } else {
                    // One user's logins end that user's oldest sessions first, so that logging in
                    // over and over cannot push anyone else's session out.
                    let mine: Vec<(i64, SessionId)> = self
                        .sessions
                        .values()
                        .filter(|r| r.session.user == user)
                        .map(|r| {
                            (
                                self.seen.get(&r.session.id).copied().unwrap_or(r.last_seen),
                                r.session.id,
                            )
                        })
                        .collect();
                    if mine.len() >= MAX_SESSIONS_PER_USER {
                        if let Some((_, oldest)) = mine.iter().min() {
                            self.end_session(work, *oldest);
                        }
                    }
                    if self.sessions.len() >= MAX_SESSIONS {
                        if let Some(oldest) = self
                            .sessions
                            .values()
                            .min_by_key(|r| r.last_seen)
                            .map(|r| r.session.id)
                        {
                            self.end_session(work, oldest);
                        }
                    }
                    let id = self.next_session;
                    self.next_session += 1;
                    let now = unix_now();
                    self.credentials
                        .insert(id, cluster::login::credential(&self.fleet, &host, &user));
                    let session = cluster::login::open_session(&self.fleet, id, user, host);
                    self.by_token.insert(token_hash.clone(), id);
                    self.sessions.insert(
                        id,
                        SessionRow {
                            session,
                            token_hash,
                            created: now,
                            last_seen: now,
                        },
                    );
                    work.touched.insert(id);
                    self.audit(work, id, None, "login".into(), "accepted".into());
                    self.info(id)
                };
                work.replies.push(Pending::Session(reply, result));
            }
            Request::Logout { token_hash, reply } => {
                let result = match self.session_of(work, &token_hash) {
                    Ok(id) => {
                        self.audit(work, id, None, "logout".into(), "accepted".into());
                        self.end_session(work, id);
                        Ok(())
                    }
                    Err(e) => Err(e),
                };
                work.replies.push(Pending::Unit(reply, result));
            }
            Request::Session { token_hash, reply } => {
                let result = self.session_of(work, &token_hash).and_then(|id| {
                    let info = self.info(id)?;
                    Ok(SessionView {
                        role: info.role,
                        info,
                    })
                });
                let _ = reply.send(result);
            }
            Request::Command {
                token_hash,
                command,
                at,
                answers,
                revision,
                reply,
            } => {
                let result = self.command(work, &token_hash, &command, at.as_ref(), &answers, revision);
                // A `shutdown` of the login host ends its own session too, after its answer is built.
                self.end_sessions_on_down_hosts(work, None);
                work.replies.push(Pending::Command(reply, result));
            }
            Request::Cli {
                token_hash,
                line,
                reply,
            } => {
                let result = self.cli(work, &token_hash, &line);
                self.end_sessions_on_down_hosts(work, None);
                work.replies.push(Pending::Cli(reply, result));
            }
            Request::EventsAfter {
                since,
                audience,
                reply,
            } => {
                let current = self.fleet.revision;
                let result = if since > current {
                    Err(EngineError::FutureRevision { since, current })
                } else if current - since > MAX_BACKLOG as u64 {
                    Err(EngineError::TooFarBehind)
                } else {
                    self.store
                        .events_after(since, MAX_BACKLOG)
                        .map(|v| {
                            v.into_iter()
                                .map(|s| EventRecord {
                                    revision: s.revision,
                                    event: scope_event_for(&s.event, audience),
                                })
                                .collect()
                        })
                        .map_err(|e| {
                            tracing::error!(fleet = %self.id, error = %format!("{e:#}"), "cannot read the event log");
                            EngineError::Storage
                        })
                };
                let _ = reply.send(result);
            }
            Request::Audit {
                token_hash,
                filter,
                before,
                limit,
                reply,
            } => {
                let result = self.session_of(work, &token_hash).and_then(|id| {
                    let info = self.info(id)?;
                    if !info.role.may(Permission::ReadAudit) {
                        return Err(EngineError::Forbidden {
                            message: format!(
                                "{} {} may not read the audit log: it is for {}.",
                                info.role,
                                info.user,
                                Permission::ReadAudit.who()
                            ),
                        });
                    }
                    self.store.audit(&filter, before, limit).map_err(|e| {
                        tracing::error!(fleet = %self.id, error = %format!("{e:#}"), "cannot read the audit log");
                        EngineError::Storage
                    })
                });
                let _ = reply.send(result);
            }
            Request::Simulate {
                token_hash,
                fault,
                reply,
            } => {
                // Answered once the batch is durable, like every change.
                let result = self.simulate(work, &token_hash, &fault);
                self.end_sessions_on_down_hosts(work, None);
                work.replies.push(Pending::Simulator(reply, result));
            }
            Request::Shutdown { .. } => {}
        }
    }

    /// A fault raised or repaired (rules §16.2): checked by the domain, applied, audited; sessions on a
    /// machine it powers off end (rules §16.3).
    fn simulate(
        &mut self,
        work: &mut Work,
        token_hash: &str,
        fault: &cluster::event::Fault,
    ) -> Result<SimulatorResponse, EngineError> {
        let id = self.session_of(work, token_hash)?;
        let info = self.info(id)?;
        let line = fault.directive();
        match cluster::sim::check(&self.fleet, &info.user, info.role, fault, self.clock.now()) {
            Ok((event, message)) => {
                self.push(work, event);
                self.audit(
                    work,
                    id,
                    None,
                    format!("simulator: {line}"),
                    format!("accepted; {message}"),
                );
                // A restored link or power can merge a member back and replace its user database (rules §15.29).
                self.end_changed_credentials(work, Some(id));
                self.end_sessions_on_down_hosts(work, Some(id));
                Ok(SimulatorResponse {
                    message: format!("Simulator: {message}."),
                    revision: self.fleet.revision,
                })
            }
            Err(rejection) => {
                let message = rejection.to_string();
                self.audit(
                    work,
                    id,
                    None,
                    format!("simulator: {line}"),
                    format!("rejected: {message}"),
                );
                // The domain's refusal, worded once: the same in the answer and the audit line.
                Err(match rejection {
                    cluster::Rejection::NotPermitted { .. } => EngineError::Forbidden { message },
                    _ => EngineError::Refused { message },
                })
            }
        }
    }

    /// Ends the sessions logged in to a machine that is powered off (rules §16.3), except `actor`'s,
    /// whose answer is still being built (the caller ends it afterwards with `None`).
    fn end_sessions_on_down_hosts(&mut self, work: &mut Work, actor: Option<SessionId>) {
        let down: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(id, _)| Some(**id) != actor)
            .filter(|(_, row)| !cluster::login::session_survives(&self.fleet, &row.session.host))
            .map(|(id, _)| *id)
            .collect();
        for id in down {
            self.audit(
                work,
                id,
                None,
                "session ended".into(),
                "login host powered off".into(),
            );
            self.end_session(work, id);
        }
    }

    /// Runs a command with its answers; on a plan, applies its fleet events and its session changes.
    fn run_command(
        &mut self,
        work: &mut Work,
        id: SessionId,
        command: &Command,
        at: Option<&Mode>,
        answers: &[String],
    ) -> Result<(Verdict, Vec<EventRecord>), EngineError> {
        let now = self.clock.now();
        let session = &self
            .sessions
            .get(&id)
            .ok_or(EngineError::Unauthenticated)?
            .session;
        let role = self
            .fleet
            .role_of(&session.host, &session.user)
            .ok_or(EngineError::Unauthenticated)?;
        let verdict = cluster::check(&self.fleet, session, command, at, answers, now);
        let line = command.redacted().to_string();
        let mut records = Vec::new();
        match &verdict {
            Verdict::Plan { plan } => {
                let mut events = plan.events.clone();
                crate::auth::hash_events(&mut events).map_err(|e| {
                    tracing::error!(error = %format!("{e:#}"), "cannot hash a password");
                    EngineError::Storage
                })?;
                let audience = Audience::of(role);
                let any = !events.is_empty();
                let may_end = events.iter().any(|e| cluster::login::may_end_sessions(&e.kind));
                for e in events {
                    let revision = self.push(work, e.clone());
                    records.push(EventRecord {
                        revision,
                        event: scope_event_for(&e, audience),
                    });
                }
                if may_end {
                    self.end_changed_credentials(work, Some(id));
                    self.end_sessions_on_down_hosts(work, Some(id));
                }
                // Staged passwords are hashed before they are kept (and stored with the session).
                let mut changes = plan.session.clone();
                for c in changes.iter_mut() {
                    if let cluster::session::SessionChange::Stage { item } = c {
                        crate::auth::hash_pending(item).map_err(|e| {
                            tracing::error!(error = %format!("{e:#}"), "cannot hash a password");
                            EngineError::Storage
                        })?;
                    }
                }
                if let Some(row) = self.sessions.get_mut(&id) {
                    for c in &changes {
                        row.session.apply(c);
                    }
                    if !changes.is_empty() {
                        work.touched.insert(id);
                    }
                }
                // What changed nothing is a read: audit retention keeps fewer of those, so reading
                // cannot push acknowledged changes out of the log.
                let outcome = if !any && changes.is_empty() {
                    "read".to_string()
                } else if plan.notes.is_empty() {
                    "accepted".to_string()
                } else {
                    format!("accepted; {}", plan.notes.join("; "))
                };
                self.audit(work, id, at, line, outcome);
            }
            Verdict::Prompt { .. } => self.audit(work, id, at, line, "prompt".into()),
            Verdict::Rejected { message, .. } => {
                self.audit(work, id, at, line, format!("rejected: {message}"))
            }
        }
        Ok((verdict, records))
    }

    fn command(
        &mut self,
        work: &mut Work,
        token_hash: &str,
        command: &Command,
        at: Option<&Mode>,
        answers: &[String],
        revision: Option<u64>,
    ) -> Result<CommandResponse, EngineError> {
        let id = self.session_of(work, token_hash)?;
        if let Some(seen) = revision {
            if seen > self.fleet.revision {
                return Err(EngineError::AheadRevision {
                    seen,
                    current: self.fleet.revision,
                });
            }
            if command.kind() == CommandKind::Immediate && seen != self.fleet.revision {
                return Err(EngineError::Stale {
                    current: self.fleet.revision,
                    seen,
                });
            }
        }
        let (verdict, events) = self.run_command(work, id, command, at, answers)?;
        match verdict {
            Verdict::Plan { plan } => Ok(CommandResponse::Ok {
                revision: self.fleet.revision,
                events,
                output: plan.output,
                warnings: plan.warnings,
                reach: plan.reach,
                session: self.info(id)?,
            }),
            Verdict::Prompt { prompt } => Ok(CommandResponse::Prompt {
                revision: self.fleet.revision,
                prompt,
            }),
            Verdict::Rejected { rejection, .. } => Err(EngineError::Rejected(rejection)),
        }
    }

    fn cli(&mut self, work: &mut Work, token_hash: &str, line: &str) -> Result<CliResponse, EngineError> {
        let id = self.session_of(work, token_hash)?;
        let (command, answers) = match self.cli_pending.remove(&id) {
            Some((command, mut answers)) => {
                answers.push(line.trim().to_string());
                (command, answers)
            }
            None if line.trim().is_empty() => return self.cli_response(id, CliStatus::Ok, Vec::new()),
            None => match cluster::cli::parse(line) {
                Ok(c) => (c, Vec::new()),
                Err(e) => {
                    let word: String = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .chars()
                        .take(40)
                        .collect();
                    self.audit(work, id, None, format!("{word} …"), format!("rejected: {e}"));
                    return self.cli_response(id, CliStatus::Rejected, vec![format!("Error: {e}")]);
                }
            },
        };
        let (verdict, _) = self.run_command(work, id, &command, None, &answers)?;
        let mut answers = answers;
        // A wrong answer keeps the question open (rules §15.34): the next line still answers it.
        let reask = self.sessions.get(&id).and_then(|row| {
            cluster::cli::reask(&verdict, &mut answers, |a| {
                cluster::check(&self.fleet, &row.session, &command, None, a, self.clock.now())
            })
        });
        if let Some(r) = reask {
            self.cli_pending.insert(id, (command, answers));
            let mut output = vec![r.error];
            output.extend(r.prompt.question.lines().map(str::to_string));
            return self.cli_response(id, CliStatus::Prompt, output);
        }
        match verdict {
            Verdict::Plan { plan } => self.cli_response(id, CliStatus::Ok, plan.lines().cloned().collect()),
            Verdict::Prompt { prompt } => {
                self.cli_pending.insert(id, (command, answers));
                self.cli_response(
                    id,
                    CliStatus::Prompt,
                    prompt.question.lines().map(str::to_string).collect(),
                )
            }
            Verdict::Rejected { message, .. } => {
                self.cli_response(id, CliStatus::Rejected, vec![format!("Error: {message}")])
            }
        }
    }

    fn cli_response(
        &self,
        id: SessionId,
        status: CliStatus,
        output: Vec<String>,
    ) -> Result<CliResponse, EngineError> {
        let session = self.info(id)?;
        Ok(CliResponse {
            status,
            output,
            mode: session.mode.clone(),
            prompt: session.prompt.clone(),
            revision: self.fleet.revision,
            session,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use cluster::wire::AuditFilter;

    /// A memory store whose writes fail while `fail` is set.
    struct Flaky {
        inner: MemoryStore,
        fail: Arc<AtomicBool>,
    }

    impl Store for Flaky {
        fn latest_snapshot(&mut self) -> anyhow::Result<Option<Fleet>> {
            self.inner.latest_snapshot()
        }
        fn first_snapshot(&mut self) -> anyhow::Result<Option<Fleet>> {
            self.inner.first_snapshot()
        }
        fn write_snapshot(&mut self, fleet: &Fleet) -> anyhow::Result<()> {
            self.inner.write_snapshot(fleet)
        }
        fn events_after(&mut self, after: u64, limit: usize) -> anyhow::Result<Vec<Stored>> {
            self.inner.events_after(after, limit)
        }
        fn append(&mut self, batch: &Batch) -> anyhow::Result<()> {
            if self.fail.load(Ordering::Relaxed) {
                anyhow::bail!("disk full");
            }
            self.inner.append(batch)
        }
        fn audit(
            &mut self,
            f: &AuditFilter,
            before: Option<u64>,
            limit: usize,
        ) -> anyhow::Result<Vec<AuditEntry>> {
            self.inner.audit(f, before, limit)
        }
        fn sessions(&mut self) -> anyhow::Result<Vec<SessionRow>> {
            self.inner.sessions()
        }
        fn clock(&mut self) -> anyhow::Result<Option<ClockReading>> {
            self.inner.clock()
        }
        fn marked_deleted(&mut self) -> anyhow::Result<bool> {
            Ok(false)
        }
    }

    fn suspend() -> Box<Command> {
        Box::new(serde_json::from_value(serde_json::json!({"command": "runtime", "op": "suspend"})).unwrap())
    }

    /// A batch the store refuses leaves the fleet as the last stored batch left it (the published copy),
    /// and the next command applies to that fleet, not to the refused one.
    #[tokio::test]
    async fn a_refused_write_rolls_the_fleet_back() {
        let fail = Arc::new(AtomicBool::new(false));
        let store = Box::new(Flaky {
            inner: MemoryStore::default(),
            fail: fail.clone(),
        });
        let fleet = cluster::fixture::americas();
        let id = FleetId::parse("rollback").unwrap();
        let engine = start(id, fleet, store, 0.0, None, SessionLimits::default(), None).unwrap();
        let host = Hostname::parse("newyork.example.com").unwrap();
        engine
            .ask(|reply| Request::OpenSession {
                user: UserName::parse("admin").unwrap(),
                host: host.clone(),
                token_hash: "t".into(),
                reply,
            })
            .await
            .unwrap();
        let run = || {
            engine.ask(|reply| Request::Command {
                token_hash: "t".into(),
                command: suspend(),
                at: Some(Mode::Machine(host.clone())),
                answers: Vec::new(),
                revision: None,
                reply,
            })
        };
        let before = engine.fleet.borrow().revision;
        fail.store(true, Ordering::Relaxed);
        assert!(run().await.is_err(), "a refused write was acknowledged");
        assert_eq!(engine.fleet.borrow().revision, before);
        fail.store(false, Ordering::Relaxed);
        run().await.unwrap();
        // One event on top of the stored fleet: the refused one did not stay applied.
        assert_eq!(engine.fleet.borrow().revision, before + 1);
        engine.shutdown().await;
    }
}
