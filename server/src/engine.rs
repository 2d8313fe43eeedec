//! The engine: one thread owns the fleet and the store. Requests arrive on a channel and are handled in
//! batches: each is checked with `cluster::check` (the server never trusts the browser's verdict), its
//! events are applied, and the whole batch — events, audit lines, session tokens — is written in one
//! transaction (group commit). Only then are the replies sent and the events broadcast: an answer
//! always means durable.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use cluster::cmd::{due_events, prompt_of, CommandKind};
use cluster::roles::Permission;
use cluster::wire::{
    redact_event, ApiError, AuditEntry, CliResponse, CliStatus, CommandResponse, EventRecord, SessionInfo,
};
use cluster::{Command, Event, EventKind, Fleet, Hostname, Rejection, UserName, Verdict};
use tokio::sync::{broadcast, oneshot, watch};

use crate::clock::SimClock;
use crate::store::{Store, Stored};

/// Events between snapshots.
const SNAPSHOT_EVERY: u64 = 500;
/// Requests handled in one batch (one transaction) at most.
const BATCH: usize = 256;
/// A subscriber further behind than this is told to resync.
pub const MAX_BACKLOG: usize = 1000;

/// An error as the HTTP layer maps it: status and body.
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: u16,
    pub error: ApiError,
}

impl Failure {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Failure {
            status,
            error: ApiError {
                code: code.into(),
                message: message.into(),
                rule: None,
                revision: None,
            },
        }
    }

    fn rejected(r: &Rejection) -> Self {
        let rule = serde_json::to_value(r)
            .ok()
            .and_then(|v| v.get("rule").and_then(|x| x.as_str()).map(str::to_string));
        let (status, code) = match r {
            Rejection::NotPermitted { .. } => (403, "forbidden"),
            Rejection::UnknownSession { .. } | Rejection::UserGone { .. } => (401, "unauthenticated"),
            _ => (422, "rejected"),
        };
        Failure {
            status,
            error: ApiError {
                code: code.into(),
                message: r.to_string(),
                rule,
                revision: None,
            },
        }
    }

    fn unauthenticated() -> Self {
        Failure::new(
            401,
            "unauthenticated",
            "Log in first: this request has no valid session.",
        )
    }
}

pub type Reply<T> = oneshot::Sender<Result<T, Failure>>;

/// What the engine is asked to do.
pub enum Request {
    /// Opens a session for a user whose password the caller has verified.
    OpenSession {
        user: UserName,
        host: Hostname,
        token: String,
        reply: Reply<SessionInfo>,
    },
    Logout {
        token: String,
        reply: Reply<()>,
    },
    Session {
        token: String,
        reply: Reply<SessionInfo>,
    },
    Command {
        token: String,
        command: Box<Command>,
        answers: Vec<String>,
        revision: Option<u64>,
        reply: Reply<CommandResponse>,
    },
    Cli {
        token: String,
        line: String,
        reply: Reply<CliResponse>,
    },
    EventsAfter {
        since: u64,
        reply: Reply<Vec<EventRecord>>,
    },
    Audit {
        token: String,
        before: Option<u64>,
        limit: usize,
        reply: Reply<Vec<AuditEntry>>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// The handle the HTTP layer holds.
#[derive(Clone)]
pub struct Engine {
    tx: SyncSender<Request>,
    /// The latest durable state (not redacted).
    pub fleet: watch::Receiver<Arc<Fleet>>,
    /// Every durable event, redacted, in order.
    pub events: broadcast::Sender<Arc<EventRecord>>,
    pub clock: SimClock,
}

impl Engine {
    /// Sends a request; fails with 503 when the engine is gone or its queue is full.
    pub async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, Failure> {
        let (reply, rx) = oneshot::channel();
        match self.tx.try_send(make(reply)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(Failure::new(503, "busy", "The server is busy; retry shortly."))
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(Failure::new(503, "stopped", "The server is stopping."))
            }
        }
        rx.await
            .unwrap_or_else(|_| Err(Failure::new(503, "stopped", "The server is stopping.")))
    }

    /// Asks the engine to write a final snapshot and stop.
    pub async fn shutdown(&self) {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Request::Shutdown { reply }).is_ok() {
            let _ = rx.await;
        }
    }
}

/// Starts the engine thread on `fleet` (already loaded from `store`).
pub fn start(fleet: Fleet, mut store: Box<dyn Store>, speed: f64) -> anyhow::Result<Engine> {
    let tokens: HashMap<String, u64> = store.tokens()?.into_iter().collect();
    let clock = SimClock::new(fleet.now, speed);
    let (tx, rx) = std::sync::mpsc::sync_channel(4096);
    let (fleet_tx, fleet_rx) = watch::channel(Arc::new(fleet.clone()));
    let (events_tx, _) = broadcast::channel(4096);
    let core = Core {
        fleet,
        store,
        tokens,
        cli_pending: HashMap::new(),
        clock: clock.clone(),
        fleet_tx,
        events_tx: events_tx.clone(),
        since_snapshot: 0,
    };
    std::thread::Builder::new()
        .name("clusterdeck-engine".into())
        .spawn(move || core.run(rx))?;
    Ok(Engine {
        tx,
        fleet: fleet_rx,
        events: events_tx,
        clock,
    })
}

/// A reply waiting for the batch to be durable.
enum Pending {
    Session(Reply<SessionInfo>, Result<SessionInfo, Failure>),
    Unit(Reply<()>, Result<(), Failure>),
    Command(Reply<CommandResponse>, Result<CommandResponse, Failure>),
    Cli(Reply<CliResponse>, Result<CliResponse, Failure>),
}

impl Pending {
    fn send(self, storage_failed: bool) {
        let fail = || {
            Failure::new(
                503,
                "storage",
                "The change could not be stored; nothing was changed.",
            )
        };
        match self {
            Pending::Session(r, v) => drop(r.send(if storage_failed { Err(fail()) } else { v })),
            Pending::Unit(r, v) => drop(r.send(if storage_failed { Err(fail()) } else { v })),
            Pending::Command(r, v) => drop(r.send(if storage_failed { Err(fail()) } else { v })),
            Pending::Cli(r, v) => drop(r.send(if storage_failed { Err(fail()) } else { v })),
        }
    }
}

struct Core {
    fleet: Fleet,
    store: Box<dyn Store>,
    tokens: HashMap<String, u64>,
    /// A question the web terminal of a session has not answered yet: the command and answers so far.
    cli_pending: HashMap<u64, (Command, Vec<String>)>,
    clock: SimClock,
    fleet_tx: watch::Sender<Arc<Fleet>>,
    events_tx: broadcast::Sender<Arc<EventRecord>>,
    since_snapshot: u64,
}

/// What one batch writes.
#[derive(Default)]
struct Batch {
    events: Vec<Stored>,
    audit: Vec<AuditEntry>,
    tokens: Vec<(String, u64)>,
    replies: Vec<Pending>,
}

impl Core {
    fn run(mut self, rx: Receiver<Request>) {
        loop {
            let first = match rx.recv_timeout(Duration::from_millis(250)) {
                Ok(r) => Some(r),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut requests: Vec<Request> = first.into_iter().collect();
            while requests.len() < BATCH {
                match rx.try_recv() {
                    Ok(r) => requests.push(r),
                    Err(_) => break,
                }
            }
            let checkpoint = (self.fleet.clone(), self.tokens.clone(), self.cli_pending.clone());
            let mut batch = Batch::default();
            self.settle(&mut batch);
            let mut shutdown = None;
            for r in requests {
                match r {
                    Request::Shutdown { reply } => shutdown = Some(reply),
                    other => self.handle(other, &mut batch),
                }
            }
            let failed = if batch.events.is_empty() && batch.audit.is_empty() && batch.tokens.is_empty() {
                false
            } else {
                match self.store.append(&batch.events, &batch.audit, &batch.tokens) {
                    Ok(()) => false,
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "cannot store a batch; rolled back");
                        (self.fleet, self.tokens, self.cli_pending) = checkpoint;
                        true
                    }
                }
            };
            if !failed && !batch.events.is_empty() {
                self.fleet_tx.send_replace(Arc::new(self.fleet.clone()));
                for s in &batch.events {
                    let _ = self.events_tx.send(Arc::new(EventRecord {
                        revision: s.revision,
                        event: redact_event(&s.event),
                    }));
                }
                self.since_snapshot += batch.events.len() as u64;
                if self.since_snapshot >= SNAPSHOT_EVERY {
                    self.snapshot();
                }
            }
            for p in batch.replies {
                p.send(failed);
            }
            if let Some(reply) = shutdown {
                self.snapshot();
                let _ = reply.send(());
                break;
            }
        }
        tracing::info!(revision = self.fleet.revision, "engine stopped");
    }

    fn snapshot(&mut self) {
        match self.store.write_snapshot(&self.fleet) {
            Ok(()) => self.since_snapshot = 0,
            Err(e) => tracing::error!(error = %format!("{e:#}"), "cannot write a snapshot"),
        }
    }

    fn push(&mut self, batch: &mut Batch, event: Event) -> u64 {
        cluster::apply(&mut self.fleet, &event);
        batch.events.push(Stored {
            revision: self.fleet.revision,
            event,
        });
        self.fleet.revision
    }

    /// Time-driven transitions (upgrades that have rebooted) due by now.
    fn settle(&mut self, batch: &mut Batch) {
        for e in due_events(&self.fleet, self.clock.now()) {
            self.push(batch, e);
        }
    }

    fn session_info(&self, id: u64) -> Result<SessionInfo, Failure> {
        let s = self
            .fleet
            .sessions
            .get(&id)
            .ok_or_else(Failure::unauthenticated)?;
        let role = self
            .fleet
            .role_of(&s.host, &s.user)
            .ok_or_else(Failure::unauthenticated)?;
        Ok(SessionInfo {
            session: id,
            user: s.user.to_string(),
            role,
            login_host: s.host.to_string(),
            mode: s.mode.clone(),
            prompt: prompt_of(&self.fleet, s),
        })
    }

    fn session_of(&self, token: &str) -> Result<u64, Failure> {
        let id = *self.tokens.get(token).ok_or_else(Failure::unauthenticated)?;
        if !self.fleet.sessions.contains_key(&id) {
            return Err(Failure::unauthenticated());
        }
        Ok(id)
    }

    fn audit(&self, batch: &mut Batch, session: u64, line: String, outcome: String) {
        let (user, host, mode) = match self.fleet.sessions.get(&session) {
            Some(s) => (
                s.user.to_string(),
                s.host.to_string(),
                s.mode
                    .as_ref()
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "standalone".into()),
            ),
            None => ("?".into(), "?".into(), "?".into()),
        };
        // The store assigns the id.
        batch.audit.push(AuditEntry {
            id: 0,
            at: self.clock.now().to_string(),
            user,
            login_host: host,
            mode,
            line,
            outcome,
            revision: self.fleet.revision,
        });
    }

    fn handle(&mut self, request: Request, batch: &mut Batch) {
        match request {
            Request::OpenSession {
                user,
                host,
                token,
                reply,
            } => {
                let result = if self.fleet.role_of(&host, &user).is_none() {
                    Err(Failure::new(
                        401,
                        "login_failed",
                        "Login failed: wrong user name or password.",
                    ))
                } else {
                    let event = cluster::login::open_session(&self.fleet, user, host, self.clock.now());
                    let EventKind::SessionOpened { session, .. } = event.kind else {
                        return;
                    };
                    self.push(batch, event);
                    self.tokens.insert(token.clone(), session);
                    batch.tokens.push((token, session));
                    self.audit(batch, session, "login".into(), "accepted".into());
                    self.session_info(session)
                };
                batch.replies.push(Pending::Session(reply, result));
            }
            Request::Logout { token, reply } => {
                let result = match self.tokens.remove(&token) {
                    Some(id) => {
                        if let Err(e) = self.store.delete_token(&token) {
                            tracing::error!(error = %format!("{e:#}"), "cannot delete a session token");
                        }
                        self.cli_pending.remove(&id);
                        if self.fleet.sessions.contains_key(&id) {
                            self.audit(batch, id, "logout".into(), "accepted".into());
                            let e = Event::new(self.clock.now(), EventKind::SessionClosed { session: id });
                            self.push(batch, e);
                        }
                        Ok(())
                    }
                    None => Err(Failure::unauthenticated()),
                };
                batch.replies.push(Pending::Unit(reply, result));
            }
            Request::Session { token, reply } => {
                let result = self.session_of(&token).and_then(|id| self.session_info(id));
                batch.replies.push(Pending::Session(reply, result));
            }
            Request::Command {
                token,
                command,
                answers,
                revision,
                reply,
            } => {
                let result = self.command(batch, &token, &command, &answers, revision);
                batch.replies.push(Pending::Command(reply, result));
            }
            Request::Cli { token, line, reply } => {
                let result = self.cli(batch, &token, &line);
                batch.replies.push(Pending::Cli(reply, result));
            }
            Request::EventsAfter { since, reply } => {
                let result = if since > self.fleet.revision {
                    Err(Failure::new(
                        400,
                        "bad_revision",
                        format!(
                            "Revision {since} is in the future; the fleet is at {}.",
                            self.fleet.revision
                        ),
                    ))
                } else if self.fleet.revision - since > MAX_BACKLOG as u64 {
                    Err(Failure::new(
                        410,
                        "resync",
                        "Too far behind: fetch the fleet again.",
                    ))
                } else {
                    self.store
                        .events_after(since, MAX_BACKLOG)
                        .map(|v| {
                            v.into_iter()
                                .map(|s| EventRecord {
                                    revision: s.revision,
                                    event: redact_event(&s.event),
                                })
                                .collect()
                        })
                        .map_err(|e| Failure::new(500, "storage", format!("{e:#}")))
                };
                let _ = reply.send(result);
            }
            Request::Audit {
                token,
                before,
                limit,
                reply,
            } => {
                let result = self.session_of(&token).and_then(|id| {
                    let info = self.session_info(id)?;
                    if !info.role.may(Permission::ReadAudit) {
                        return Err(Failure::new(
                            403,
                            "forbidden",
                            format!(
                                "{} {} may not read the audit log: it is for {}.",
                                info.role,
                                info.user,
                                Permission::ReadAudit.who()
                            ),
                        ));
                    }
                    self.store
                        .audit(before, limit)
                        .map_err(|e| Failure::new(500, "storage", format!("{e:#}")))
                });
                let _ = reply.send(result);
            }
            Request::Shutdown { .. } => {}
        }
    }

    /// Runs a command with its answers; on a plan, applies and records its events.
    fn run_command(
        &mut self,
        batch: &mut Batch,
        session: u64,
        command: &Command,
        answers: &[String],
    ) -> Result<(Verdict, Vec<EventRecord>), Failure> {
        let now = self.clock.now();
        let verdict = cluster::check(&self.fleet, session, command, answers, now);
        let line = command.redacted().to_string();
        let mut records = Vec::new();
        match &verdict {
            Verdict::Plan { plan } => {
                let mut events = plan.events.clone();
                crate::auth::hash_events(&mut events)
                    .map_err(|e| Failure::new(500, "internal", format!("{e:#}")))?;
                for e in events {
                    let revision = self.push(batch, e.clone());
                    records.push(EventRecord {
                        revision,
                        event: redact_event(&e),
                    });
                }
                self.audit(batch, session, line, "accepted".into());
            }
            Verdict::Prompt { .. } => self.audit(batch, session, line, "prompt".into()),
            Verdict::Rejected { message, .. } => {
                self.audit(batch, session, line, format!("rejected: {message}"))
            }
        }
        Ok((verdict, records))
    }

    fn command(
        &mut self,
        batch: &mut Batch,
        token: &str,
        command: &Command,
        answers: &[String],
        revision: Option<u64>,
    ) -> Result<CommandResponse, Failure> {
        let session = self.session_of(token)?;
        if let Some(seen) = revision {
            if command.kind() == CommandKind::Immediate && seen != self.fleet.revision {
                let mut f = Failure::new(
                    409,
                    "stale_revision",
                    format!("The fleet changed (revision {} now, you saw {seen}); check again against the new state.", self.fleet.revision),
                );
                f.error.revision = Some(self.fleet.revision);
                return Err(f);
            }
        }
        let (verdict, events) = self.run_command(batch, session, command, answers)?;
        match verdict {
            Verdict::Plan { plan } => Ok(CommandResponse::Ok {
                revision: self.fleet.revision,
                events,
                output: plan.output,
                warnings: plan.warnings,
                reach: plan.reach,
            }),
            Verdict::Prompt { prompt } => Ok(CommandResponse::Prompt {
                revision: self.fleet.revision,
                prompt,
            }),
            Verdict::Rejected { rejection, .. } => Err(Failure::rejected(&rejection)),
        }
    }

    fn cli(&mut self, batch: &mut Batch, token: &str, line: &str) -> Result<CliResponse, Failure> {
        let session = self.session_of(token)?;
        let (command, answers) = match self.cli_pending.remove(&session) {
            Some((command, mut answers)) => {
                answers.push(line.trim().to_string());
                (command, answers)
            }
            None if line.trim().is_empty() => {
                return Ok(self.cli_response(session, CliStatus::Ok, Vec::new()))
            }
            None => match cluster::cli::parse(line) {
                Ok(c) => (c, Vec::new()),
                Err(e) => {
                    let redacted: String = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .chars()
                        .take(40)
                        .collect();
                    self.audit(batch, session, format!("{redacted} …"), format!("rejected: {e}"));
                    return Ok(self.cli_response(session, CliStatus::Rejected, vec![format!("Error: {e}")]));
                }
            },
        };
        let (verdict, _) = self.run_command(batch, session, &command, &answers)?;
        Ok(match verdict {
            Verdict::Plan { plan } => {
                self.cli_response(session, CliStatus::Ok, plan.lines().cloned().collect())
            }
            Verdict::Prompt { prompt } => {
                self.cli_pending.insert(session, (command, answers));
                self.cli_response(
                    session,
                    CliStatus::Prompt,
                    prompt.question.lines().map(str::to_string).collect(),
                )
            }
            Verdict::Rejected { message, .. } => {
                self.cli_response(session, CliStatus::Rejected, vec![format!("Error: {message}")])
            }
        })
    }

    fn cli_response(&self, session: u64, status: CliStatus, output: Vec<String>) -> CliResponse {
        let s = self.fleet.sessions.get(&session);
        CliResponse {
            status,
            output,
            mode: s.and_then(|s| s.mode.clone()),
            prompt: s.map(|s| prompt_of(&self.fleet, s)).unwrap_or_default(),
            revision: self.fleet.revision,
        }
    }
}
