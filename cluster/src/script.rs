//! The script runner (rules §11, §14.6): runs a script against a fresh in-memory fleet with a manual
//! clock, prints the transcript, and reports the first expectation that does not hold.
//!
//! ```text
//! @fixture americas                 first line only; default americas
//! @as admin@newyork.example.com     run the following lines in that user's session on that host
//! clusterconfig disconnect losangeles.example.com
//! > Y                               answers the previous line's question
//! = disconnected                    some line of the previous output contains this (case-insensitive)
//! ~ losangeles\.example\.com .*dis  some line matches this regex (case-sensitive, unanchored)
//! - TEXT                            no line contains this (case-insensitive)
//! ! clusterconfig reconnect ...     this command must be refused (an `Error:`)
//! @wait 600                         advance the simulated clock
//! ```

use std::collections::BTreeMap;

use crate::cli;
use crate::cmd::{self, due_events, prompt_of};
use crate::event::{Event, EventKind};
use crate::fixture;
use crate::fleet::Fleet;
use crate::login::{login, open_session, PlainPasswords};
use crate::names::{Hostname, Timestamp, UserName, Version};
use crate::roles::Role;
use crate::session::{Session, SessionId};
use crate::verdict::Verdict;

/// Why a script failed: the line and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {why}\n    {text}")]
pub struct ScriptFailure {
    pub line: usize,
    pub text: String,
    pub why: String,
}

/// The result of running a script.
#[derive(Debug, Clone)]
pub struct ScriptOutcome {
    pub transcript: String,
    pub failure: Option<ScriptFailure>,
    /// The fleet at the end (for tests that inspect it).
    pub fleet: Fleet,
}

impl ScriptOutcome {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// A question waiting for its answer.
struct Pending {
    session: SessionId,
    command: crate::cmd::Command,
    answers: Vec<String>,
    expect_reject: bool,
    line: usize,
    text: String,
}

struct Runner {
    fleet: Fleet,
    clock: Timestamp,
    /// Every session opened, by id; sessions live beside the fleet, not in it (rules §14.7.4).
    live: BTreeMap<SessionId, Session>,
    /// The session of each `user@host`, resumed by `@as`.
    sessions: BTreeMap<String, SessionId>,
    current: Option<SessionId>,
    last: Vec<String>,
    pending: Option<Pending>,
    transcript: Vec<String>,
    machines_added: u8,
    last_id: SessionId,
}

/// Runs `text`; `fixture` is used when the script has no `@fixture` line (default `americas`).
pub fn run(text: &str, fixture: Option<&str>) -> ScriptOutcome {
    let mut lines: Vec<(usize, &str)> = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).collect();
    lines.retain(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let mut fixture_name = fixture.unwrap_or("americas").to_string();
    let mut start = 0;
    if let Some((_, first)) = lines.first() {
        if let Some(name) = first.strip_prefix("@fixture") {
            fixture_name = name.trim().to_string();
            start = 1;
        }
    }
    let Some(fleet) = fixture::by_name(&fixture_name) else {
        return ScriptOutcome {
            transcript: String::new(),
            failure: Some(ScriptFailure {
                line: lines.first().map(|l| l.0).unwrap_or(1),
                text: format!("@fixture {fixture_name}"),
                why: format!(
                    "unknown fixture \"{fixture_name}\"; known: {}",
                    fixture::FIXTURES.join(", ")
                ),
            }),
            fleet: fixture::americas(),
        };
    };
    let clock = fleet.now;
    let mut r = Runner {
        fleet,
        clock,
        live: BTreeMap::new(),
        sessions: BTreeMap::new(),
        current: None,
        last: Vec::new(),
        pending: None,
        transcript: Vec::new(),
        machines_added: 0,
        last_id: 0,
    };
    let mut failure = None;
    for (n, line) in &lines[start..] {
        if let Err(why) = r.line(*n, line) {
            failure = Some(ScriptFailure {
                line: *n,
                text: line.to_string(),
                why,
            });
            break;
        }
    }
    if failure.is_none() {
        if let Some(p) = &r.pending {
            failure = Some(ScriptFailure {
                line: p.line,
                text: p.text.clone(),
                why: "its question was never answered".into(),
            });
        }
    }
    if let Some(f) = &failure {
        r.transcript.push(format!("FAILED at line {}: {}", f.line, f.why));
    }
    ScriptOutcome {
        transcript: r.transcript.join("\n") + "\n",
        failure,
        fleet: r.fleet,
    }
}

impl Runner {
    /// Applies a fleet event; every session follows it first (rules §14.2.6).
    fn apply(&mut self, event: &Event) {
        for s in self.live.values_mut() {
            crate::apply::follow(s, &self.fleet, event);
        }
        crate::apply::apply(&mut self.fleet, event);
    }

    fn settle(&mut self) {
        for e in due_events(&self.fleet, self.clock) {
            self.apply(&e);
        }
    }

    /// A powered-off machine ends the sessions logged in to it (rules §16.3); `@as` opens a new one.
    fn end_sessions_on_powered_off(&mut self) {
        let fleet = &self.fleet;
        self.live
            .retain(|_, s| crate::login::session_survives(fleet, &s.host));
        if self.current.is_some_and(|id| !self.live.contains_key(&id)) {
            self.current = None;
        }
    }

    fn line(&mut self, n: usize, line: &str) -> Result<(), String> {
        let is_check = line.starts_with("= ")
            || line.starts_with("~ ")
            || line.starts_with("- ")
            || matches!(line, "=" | "~" | "-");
        if is_check {
            return self.check_line(line);
        }
        if let Some(answer) = line.strip_prefix('>') {
            return self.answer(answer.trim());
        }
        if let Some(p) = &self.pending {
            return Err(format!(
                "the question of line {} was not answered (expected a \"> answer\" line)",
                p.line
            ));
        }
        if line.starts_with("@fixture") {
            return Err("@fixture is allowed on the first line only".into());
        }
        let (expect_reject, body) = match line.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, line),
        };
        if let Some(rest) = body.strip_prefix('@') {
            return self.directive(rest, expect_reject);
        }
        let session = self
            .current
            .ok_or("no session: start with \"@as <user>@<host>\"")?;
        let prompt = self
            .live
            .get(&session)
            .map(|s| prompt_of(&self.fleet, s))
            .unwrap_or_default();
        self.transcript.push(format!("{prompt} {body}"));
        match cli::parse(body) {
            Err(e) => {
                let msg = format!("Error: {e}");
                self.transcript.push(msg.clone());
                self.last = vec![msg.clone()];
                if expect_reject {
                    Ok(())
                } else {
                    Err(format!("the command was refused: {msg}"))
                }
            }
            Ok(command) => {
                let p = Pending {
                    session,
                    command,
                    answers: Vec::new(),
                    expect_reject,
                    line: n,
                    text: line.to_string(),
                };
                self.run(p)
            }
        }
    }

    fn run(&mut self, p: Pending) -> Result<(), String> {
        self.settle();
        let Some(session) = self.live.get(&p.session) else {
            return Err("internal: the session is gone".into());
        };
        match cmd::check(&self.fleet, session, &p.command, None, &p.answers, self.clock) {
            Verdict::Plan { plan } => {
                for e in &plan.events {
                    self.apply(e);
                }
                if let Some(s) = self.live.get_mut(&p.session) {
                    for change in &plan.session {
                        s.apply(change);
                    }
                }
                self.last = plan.lines().cloned().collect();
                self.transcript.extend(self.last.iter().cloned());
                if p.expect_reject {
                    return Err(format!(
                        "line {} was expected to be refused, but it was accepted",
                        p.line
                    ));
                }
                Ok(())
            }
            Verdict::Rejected { message, .. } => {
                let msg = format!("Error: {message}");
                self.transcript.push(msg.clone());
                self.last = vec![msg.clone()];
                if p.expect_reject {
                    Ok(())
                } else {
                    Err(format!("the command was refused: {msg}"))
                }
            }
            Verdict::Prompt { prompt } => {
                self.last = prompt.question.lines().map(str::to_string).collect();
                self.transcript.extend(self.last.iter().cloned());
                self.pending = Some(p);
                Ok(())
            }
        }
    }

    fn answer(&mut self, answer: &str) -> Result<(), String> {
        let mut p = self
            .pending
            .take()
            .ok_or("an answer, but the previous command asked no question")?;
        self.transcript.push(format!("> {answer}"));
        p.answers.push(answer.to_string());
        self.run(p)
    }

    fn check_line(&self, line: &str) -> Result<(), String> {
        let (kind, arg) = line.split_at(1);
        let arg = arg.trim();
        let lower = arg.to_lowercase();
        let shown = || {
            if self.last.is_empty() {
                "the previous output was empty".to_string()
            } else {
                format!("the previous output was:\n      {}", self.last.join("\n      "))
            }
        };
        match kind {
            "=" => {
                if self.last.iter().any(|l| l.to_lowercase().contains(&lower)) {
                    Ok(())
                } else {
                    Err(format!("no line contains \"{arg}\"; {}", shown()))
                }
            }
            "-" => match self.last.iter().find(|l| l.to_lowercase().contains(&lower)) {
                None => Ok(()),
                Some(l) => Err(format!("a line contains \"{arg}\": {l}")),
            },
            _ => {
                let re = regex::Regex::new(arg).map_err(|e| format!("invalid regex: {e}"))?;
                if self.last.iter().any(|l| re.is_match(l)) {
                    Ok(())
                } else {
                    Err(format!("no line matches /{arg}/; {}", shown()))
                }
            }
        }
    }

    /// A simulator control (rules §16.1), checked as the API checks it, run as an administrator.
    fn fault(&mut self, fault: crate::event::Fault, expect_reject: bool) -> Result<(), String> {
        self.settle();
        let line = fault.directive();
        self.transcript.push(format!("# {line}"));
        match crate::sim::check(
            &self.fleet,
            &UserName::known("admin"),
            Role::Administrator,
            &fault,
            self.clock,
        ) {
            Ok((event, what)) => {
                if expect_reject {
                    return Err(format!("{line} was expected to be refused, but it was accepted"));
                }
                self.apply(&event);
                self.last = vec![format!("Simulator: {what}.")];
                self.end_sessions_on_powered_off();
                Ok(())
            }
            Err(r) => {
                let msg = format!("Error: {r}");
                self.transcript.push(msg.clone());
                self.last = vec![msg.clone()];
                if expect_reject {
                    Ok(())
                } else {
                    Err(format!("the simulator refused it: {msg}"))
                }
            }
        }
    }

    fn directive(&mut self, rest: &str, expect_reject: bool) -> Result<(), String> {
        let words: Vec<&str> = rest.split_whitespace().collect();
        if let Some(fault) = crate::sim::parse_directive(&words) {
            return self.fault(fault?, expect_reject);
        }
        let bad = |usage: &str| Err(format!("usage: {usage}"));
        match words.as_slice() {
            ["as", who, tail @ ..] => {
                let (user, host) = who
                    .split_once('@')
                    .ok_or("usage: @as <user>@<host> [<password>]")?;
                let key = format!("{user}@{host}");
                self.transcript.push(format!("# @as {key}"));
                let result = match tail {
                    [] => {
                        let user = UserName::parse(user).map_err(|e| e.to_string())?;
                        let host = Hostname::parse(host).map_err(|e| e.to_string())?;
                        if self.fleet.machine(&host).is_none() {
                            Err(format!("Unknown login host {host}."))
                        } else if !crate::login::session_survives(&self.fleet, &host) {
                            Err(format!("{host} is powered off."))
                        } else if self.fleet.role_of(&host, &user).is_none() {
                            Err(format!("Login failed: no user {user} on {host}."))
                        } else {
                            Ok((user, host))
                        }
                    }
                    [password] => login(&self.fleet, user, password, host, &PlainPasswords)
                        .map(|l| (l.user, l.host))
                        .map_err(|e| e.to_string()),
                    _ => return bad("@as <user>@<host> [<password>]"),
                };
                match (result, expect_reject) {
                    (Ok((user, host)), false) => {
                        // Resume the session of that user@host (a login with a password opens a new one).
                        if let (Some(id), []) = (self.sessions.get(&key), tail) {
                            if self.live.contains_key(id) {
                                self.current = Some(*id);
                                return Ok(());
                            }
                        }
                        // Ids are never reused, also after a powered-off machine ended sessions.
                        let id = self.live.keys().max().map_or(0, |m| *m).max(self.last_id) + 1;
                        self.last_id = id;
                        self.live.insert(id, open_session(&self.fleet, id, user, host));
                        self.sessions.insert(key, id);
                        self.current = Some(id);
                        self.last = Vec::new();
                        Ok(())
                    }
                    (Ok(_), true) => Err(format!(
                        "the login of {key} was expected to be refused, but it succeeded"
                    )),
                    (Err(msg), true) => {
                        self.transcript.push(format!("Error: {msg}"));
                        self.last = vec![format!("Error: {msg}")];
                        Ok(())
                    }
                    (Err(msg), false) => Err(format!("login refused: {msg}")),
                }
            }
            ["wait", secs] => {
                let secs: i64 = secs
                    .parse()
                    .map_err(|_| format!("@wait takes a number of seconds, not \"{secs}\""))?;
                if !(0..=86_400 * 365).contains(&secs) {
                    return Err("@wait takes 0 to 31536000 seconds".into());
                }
                self.clock = self.clock.plus_secs(secs);
                self.transcript
                    .push(format!("# @wait {secs} (now {})", self.clock));
                self.settle();
                let e = Event::new(self.clock, EventKind::ClockAdvanced);
                self.apply(&e);
                Ok(())
            }
            ["machine", host, version] => {
                let host = Hostname::parse(host).map_err(|e| e.to_string())?;
                let version = Version::parse(version).map_err(|e| e.to_string())?;
                if self.fleet.machines.contains_key(&host) {
                    return Err(format!("{host} already exists"));
                }
                self.machines_added = self.machines_added.wrapping_add(1);
                let machine = fixture::new_standalone(&host, version, self.machines_added);
                self.transcript.push(format!("# @machine {host} {version}"));
                let e = Event::new(
                    self.clock,
                    EventKind::MachineAdded {
                        machine: Box::new(machine),
                    },
                );
                self.apply(&e);
                Ok(())
            }
            ["as", ..] => bad("@as <user>@<host> [<password>]"),
            ["wait", ..] => bad("@wait <seconds>"),
            ["machine", ..] => bad("@machine <host> <version>"),
            _ => Err(format!("unknown directive \"@{}\"", words.first().unwrap_or(&""))),
        }
    }
}
