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
    /// Every event the script caused, in order (what a live fleet applies for `run_on`).
    pub events: Vec<Event>,
    /// The script's clock at the end (its `@wait`s moved it).
    pub clock: Timestamp,
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
    events: Vec<Event>,
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
            events: Vec::new(),
            clock: Timestamp(0),
        };
    };
    let clock = fleet.now;
    run_lines(fleet, clock, &lines[start..])
}

/// The lines of a script that act — commands, answers and directives, not expectations or comments —
/// up to line `until` (its failing line, if any), at most 1,000 (what an audit log records of a run).
pub fn command_lines(text: &str, until: Option<usize>) -> Vec<String> {
    text.lines()
        .enumerate()
        .take_while(|(i, _)| until.is_none_or(|u| *i < u))
        .map(|(_, l)| l.trim())
        .filter(|l| !l.is_empty() && !l.starts_with(['#', '=', '~', '-']))
        .take(1000)
        .map(str::to_string)
        .collect()
}

/// The seconds a script's `@wait` lines add up to (what running it moves the clock by; a line that does
/// not read as a wait counts nothing, the runner names it).
pub fn total_wait_secs(text: &str) -> i64 {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("@wait"))
        .filter_map(|n| n.trim().parse::<i64>().ok())
        .fold(0i64, |sum, n| sum.saturating_add(n.max(0)))
}

/// Runs `text` on `fleet` as it is at `now` (the test API's script against a live fleet, issue 15): the
/// same lines as [`run`] but `@fixture`, which a live fleet cannot take.
pub fn run_on(fleet: Fleet, now: Timestamp, text: &str) -> ScriptOutcome {
    let mut lines: Vec<(usize, &str)> = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).collect();
    lines.retain(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    if let Some((n, first)) = lines.first().filter(|(_, l)| l.starts_with("@fixture")) {
        let clock = fleet.now;
        return ScriptOutcome {
            transcript: String::new(),
            failure: Some(ScriptFailure {
                line: *n,
                text: first.to_string(),
                why: "@fixture chooses a new fleet's start; this script runs on a fleet that exists".into(),
            }),
            fleet,
            events: Vec::new(),
            clock,
        };
    }
    let clock = now.max(fleet.now);
    run_lines(fleet, clock, &lines)
}

fn run_lines(fleet: Fleet, clock: Timestamp, lines: &[(usize, &str)]) -> ScriptOutcome {
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
        events: Vec::new(),
    };
    let mut failure = None;
    for (n, line) in lines {
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
        events: r.events,
        clock: r.clock,
    }
}

impl Runner {
    /// Applies a fleet event; every session follows it first (rules §14.2.6).
    fn apply(&mut self, event: &Event) {
        for s in self.live.values_mut() {
            crate::apply::follow(s, &self.fleet, event);
        }
        crate::apply::apply(&mut self.fleet, event);
        self.events.push(event.clone());
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

/// The most characters a scenario's title may have.
pub const SCENARIO_TITLE_MAX: usize = 80;
/// The most characters a scenario's description may have (continuation lines joined).
pub const SCENARIO_DESCRIPTION_MAX: usize = 600;
/// The most characters a scenario id (its file stem) may have.
pub const SCENARIO_ID_MAX: usize = 64;

/// What a demo scenario says about itself: the `# Title:`, `# Description:` and `# Login:` lines at the top
/// of its script. See `docs/scenarios.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioHeader {
    /// One line, at most [`SCENARIO_TITLE_MAX`] characters.
    pub title: String,
    /// Continuation lines joined with a space, at most [`SCENARIO_DESCRIPTION_MAX`] characters.
    pub description: String,
    /// Who a visitor is logged in as, and on which machine.
    pub login_user: UserName,
    pub login_host: Hostname,
}

/// A demo scenario: its header and the fleet its script leaves at its end (a visitor's starting fleet).
#[derive(Debug, Clone)]
pub struct Scenario {
    pub header: ScenarioHeader,
    pub fleet: Fleet,
}

/// Whether `id` may name a scenario (the stem of `scenarios/demo/<id>.script`): 1 to
/// [`SCENARIO_ID_MAX`] lower-case letters, digits and '-', starting with a letter or digit.
pub fn is_scenario_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= SCENARIO_ID_MAX
        && !id.starts_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Reads a demo scenario's header: the block of `#` lines at the top of the script (after an optional
/// `@fixture` first line and blank lines), up to the first line that is not a comment.
///
/// ```text
/// @fixture americas
/// # Title: Halfway through a rolling upgrade
/// # Description: losangeles is upgraded to 9.5.0 and disconnected; newyork and sf are still on
/// #   9.1.2. Finish the procedure: ...
/// # Login: admin@newyork.example.com
/// ```
///
/// `Title`, `Description` and `Login` are required, each once (keys are case-insensitive); a line
/// indented after `#` continues the description. Errors name the line and the key. The format, and
/// how to add a scenario, are in `docs/scenarios.md`; [`scenario`] also runs the script.
pub fn scenario_header(text: &str) -> Result<ScenarioHeader, String> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l)).peekable();
    if lines
        .peek()
        .is_some_and(|(_, l)| l.trim_start().starts_with("@fixture"))
    {
        lines.next();
    }
    while lines.peek().is_some_and(|(_, l)| l.trim().is_empty()) {
        lines.next();
    }
    let mut title: Option<(usize, String)> = None;
    let mut description: Option<(usize, String)> = None;
    let mut login: Option<(usize, String)> = None;
    // The key the previous line set, for continuation lines.
    let mut last: Option<&'static str> = None;
    let mut end_line = 1;
    for (n, raw) in lines {
        end_line = n;
        let line = raw.trim();
        let Some(body) = line.strip_prefix('#') else {
            break;
        };
        if body.starts_with("  ") || body.starts_with('\t') {
            let more = body.trim();
            match (last, &mut description) {
                (Some("Description"), Some((_, d))) => {
                    if !more.is_empty() {
                        d.push(' ');
                        d.push_str(more);
                    }
                    continue;
                }
                _ => {
                    return Err(format!(
                        "line {n}: an indented line continues a # Description:, and this one follows {}",
                        last.map_or("no key".to_string(), |k| format!("# {k}:"))
                    ))
                }
            }
        }
        let body = body.trim();
        let Some((key, value)) = body.split_once(':') else {
            return Err(format!(
                "line {n}: the header's lines are \"# <Key>: <value>\" (Title, Description, Login), \
                 not \"{}\"; end the header with a blank line before other comments",
                clip(line)
            ));
        };
        let value = value.trim().to_string();
        let key = key.trim();
        let (name, slot) = match key.to_ascii_lowercase().as_str() {
            "title" => ("Title", &mut title),
            "description" => ("Description", &mut description),
            "login" => ("Login", &mut login),
            _ => {
                return Err(format!(
                    "line {n}: unknown header key \"{}\"; the keys are Title, Description and Login",
                    clip(key)
                ))
            }
        };
        if let Some((first, _)) = slot {
            return Err(format!(
                "line {n}: a second # {name}: (the first is on line {first})"
            ));
        }
        if value.is_empty() {
            return Err(format!("line {n}: # {name}: is empty"));
        }
        *slot = Some((n, value));
        last = Some(name);
    }
    let missing = |name: &str| {
        format!("line {end_line}: the header has no # {name}: line (it needs Title, Description and Login)")
    };
    let (title_line, title) = title.ok_or_else(|| missing("Title"))?;
    let (description_line, description) = description.ok_or_else(|| missing("Description"))?;
    let (login_line, login) = login.ok_or_else(|| missing("Login"))?;
    let chars = title.chars().count();
    if chars > SCENARIO_TITLE_MAX {
        return Err(format!(
            "line {title_line}: # Title: has {chars} characters; at most {SCENARIO_TITLE_MAX}"
        ));
    }
    let chars = description.chars().count();
    if chars > SCENARIO_DESCRIPTION_MAX {
        return Err(format!(
            "line {description_line}: # Description: has {chars} characters; at most {SCENARIO_DESCRIPTION_MAX}"
        ));
    }
    let bad_login = |why: String| format!("line {login_line}: # Login: {why}");
    let (user, host) = match login.split_once('@') {
        Some((u, h)) if !u.is_empty() && !h.is_empty() && !login.contains(char::is_whitespace) => (u, h),
        _ => {
            return Err(bad_login(format!(
                "needs <user>@<host>, not \"{}\"",
                clip(&login)
            )))
        }
    };
    let login_user = UserName::parse(user).map_err(|e| bad_login(e.to_string()))?;
    let login_host = Hostname::parse(host).map_err(|e| bad_login(e.to_string()))?;
    Ok(ScenarioHeader {
        title,
        description,
        login_user,
        login_host,
    })
}

/// At most 80 characters of `s`, for an error message.
fn clip(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_string()
    } else {
        s.chars().take(80).chain(std::iter::once('…')).collect()
    }
}

/// Reads a demo scenario's header ([`scenario_header`]), runs its script, and checks that the login user
/// can log in on the login host of the fleet the script leaves. A failing script fails with its message.
pub fn scenario(text: &str) -> Result<Scenario, String> {
    let header = scenario_header(text)?;
    let outcome = run(text, None);
    if let Some(f) = outcome.failure {
        return Err(f.to_string());
    }
    let fleet = outcome.fleet;
    let (user, host) = (&header.login_user, &header.login_host);
    let line = login_line(text);
    let why = if fleet.machine(host).is_none() {
        format!("the fleet at the script's end has no machine {host}")
    } else if !crate::login::session_survives(&fleet, host) {
        format!("{host} is powered off at the script's end")
    } else if fleet.role_of(host, user).is_none() {
        format!("{host} has no user {user} at the script's end")
    } else {
        return Ok(Scenario { header, fleet });
    };
    Err(format!("line {line}: # Login: {user}@{host}: {why}"))
}

/// The line of the header's `# Login:` (for errors about its value once the script ran).
fn login_line(text: &str) -> usize {
    text.lines()
        .position(|l| {
            l.trim()
                .strip_prefix('#')
                .and_then(|b| b.trim().split_once(':'))
                .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("login"))
        })
        .map_or(1, |i| i + 1)
}
