//! The console's rendering of every question (rules §15.31): each question site gives a title, a body
//! and one button per accepted answer whose label says what happens, and the CLI's text stays as
//! rules §14.1.3 pins it. Driven through the same `check` the server and the console run.

use std::collections::BTreeMap;

use cluster::cmd::due_events;
use cluster::fleet::Fleet;
use cluster::mode::Mode;
use cluster::names::{GroupName, Hostname, UserName};
use cluster::roles::Role;
use cluster::session::{Session, SessionId};
use cluster::verdict::{Effect, Prompt};
use cluster::{cli, fixture, Event, EventKind, Verdict};

/// A fleet and its sessions, fed every event the way the server's engine feeds them.
struct Desk {
    fleet: Fleet,
    sessions: BTreeMap<String, Session>,
    last_id: SessionId,
}

impl Desk {
    fn new(fixture: &str) -> Desk {
        Desk {
            fleet: fixture::by_name(fixture).expect("known fixture"),
            sessions: BTreeMap::new(),
            last_id: 0,
        }
    }

    fn session(&mut self, who: &str) -> &Session {
        if !self.sessions.contains_key(who) {
            let (user, host) = who.split_once('@').expect("user@host");
            self.last_id += 1;
            let id = self.last_id;
            let s = cluster::login::open_session(
                &self.fleet,
                id,
                UserName::parse(user).unwrap(),
                Hostname::parse(host).unwrap(),
            );
            self.sessions.insert(who.to_string(), s);
        }
        &self.sessions[who]
    }

    fn apply(&mut self, e: &Event) {
        for s in self.sessions.values_mut() {
            cluster::apply::follow(s, &self.fleet, e);
        }
        cluster::apply(&mut self.fleet, e);
    }

    fn verdict(&mut self, who: &str, line: &str, at: Option<&Mode>, answers: &[&str]) -> Verdict {
        let command = cli::parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let answers: Vec<String> = answers.iter().map(|a| a.to_string()).collect();
        let now = self.fleet.now;
        let session = self.session(who).clone();
        cluster::check(&self.fleet, &session, &command, at, &answers, now)
    }

    /// The question `line` asks after `answers`; fails when it asks none.
    fn ask(&mut self, who: &str, line: &str, at: Option<&Mode>, answers: &[&str]) -> Prompt {
        match self.verdict(who, line, at, answers) {
            Verdict::Prompt { prompt } => {
                if let Some(why) = prompt.gui_problem() {
                    panic!("{line}: the console's rendering is wrong: {why}\n{prompt:#?}");
                }
                prompt
            }
            other => panic!("{line} asked nothing: {other:?}"),
        }
    }

    /// Runs `line` with `answers` to a plan and applies it.
    fn ok(&mut self, who: &str, line: &str, answers: &[&str]) {
        match self.verdict(who, line, None, answers) {
            Verdict::Plan { plan } => {
                for e in &plan.events {
                    self.apply(e);
                }
                let s = self.sessions.get_mut(who).unwrap();
                for c in &plan.session {
                    s.apply(c);
                }
            }
            other => panic!("{line}: {other:?}"),
        }
    }
}

fn label<'a>(p: &'a Prompt, answer: &str) -> (&'a str, Effect) {
    let a = p
        .gui
        .answers
        .iter()
        .find(|a| a.answer == answer)
        .unwrap_or_else(|| panic!("no button answers {answer}: {p:#?}"));
    (&a.label, a.effect)
}

const NY: &str = "admin@newyork.example.com";
const LA: &str = "admin@losangeles.example.com";

#[test]
fn the_upgrade_question_fits_a_connected_and_a_disconnected_member() {
    let mut desk = Desk::new("americas");
    let p = desk.ask(LA, "upgrade 9.5.0", None, &[]);
    // The CLI's text is the pinned one (rules §14.1.3), whatever the machine's state.
    assert_eq!(
        p.question,
        "Warning: upgrading to 9.5.0 disconnects every machine of cluster Americas unless losangeles.example.com was disconnected first; losangeles.example.com reboots when done. Continue? [N]>"
    );
    assert_eq!(p.default, "N");
    let body = p.gui.body.join(" ");
    assert!(body.contains("is connected"), "{body}");
    assert!(body.contains("newyork.example.com, sf.example.com"), "{body}");
    assert_eq!(
        label(&p, "Y"),
        ("Upgrade and disconnect all 3 machines", Effect::Destroys)
    );
    assert_eq!(label(&p, "N"), ("Don't upgrade", Effect::ChangesNothing));
    assert!(!p.gui.needs_cancel());
    assert!(
        cluster::view::upgrade_warning(&desk.fleet, &Hostname::parse("losangeles.example.com").unwrap())
            .is_some_and(|w| w.contains("newyork.example.com"))
    );

    desk.ok(NY, "clusterconfig disconnect losangeles.example.com", &[]);
    let p = desk.ask(LA, "upgrade 9.5.0", None, &[]);
    assert!(p
        .question
        .contains("unless losangeles.example.com was disconnected first"));
    let body = p.gui.body.join(" ");
    assert!(!body.contains("unless"), "{body}");
    assert!(!body.contains("disconnects every machine"), "{body}");
    assert!(body.contains("upgrades alone"), "{body}");
    assert_eq!(label(&p, "Y"), ("Upgrade losangeles.example.com", Effect::Acts));
    assert!(
        cluster::view::upgrade_warning(&desk.fleet, &Hostname::parse("losangeles.example.com").unwrap())
            .is_none()
    );

    let mut alone = Desk::new("americas");
    let p = alone.ask("admin@boston.example.com", "upgrade 9.5.0", None, &[]);
    assert_eq!(label(&p, "Y"), ("Upgrade boston.example.com", Effect::Acts));
    assert!(!p.gui.body.join(" ").contains("cluster"));
}

#[test]
fn the_commit_conflict_names_whose_change_survives() {
    let mut desk = Desk::new("americas");
    desk.ok(NY, "smtproutes new a.example.com x.example.com", &[]);
    desk.ok(
        "ops@sf.example.com",
        "smtproutes new a.example.com y.example.com",
        &[],
    );
    desk.ok("ops@sf.example.com", "commit", &[]);
    let p = desk.ask(NY, "commit", None, &[]);
    assert!(
        p.question.ends_with("Discard your change to it? [Y]>"),
        "{}",
        p.question
    );
    assert_eq!(p.default, "Y");
    assert_eq!(label(&p, "Y"), ("Keep ops's change", Effect::Acts));
    assert_eq!(label(&p, "N"), ("Overwrite ops's change", Effect::Destroys));
    assert!(
        p.gui
            .title
            .starts_with("ops changed SMTP Routes at the cluster level"),
        "{}",
        p.gui.title
    );
    assert!(p.gui.body.join(" ").contains("a.example.com"));
    // Cancel is a third outcome here (nothing committed), so the dialog offers it.
    assert!(p.gui.needs_cancel());

    // A whole-item change asks the same way.
    desk.ok(NY, "clear", &[]);
    desk.ok(NY, "clustermode group West", &[]);
    desk.ok(NY, "smtproutes new e.example.com v.example.com", &["2"]);
    desk.ok(
        "ops@sf.example.com",
        "clusterset delete smtproutes group:West",
        &[],
    );
    desk.ok("ops@sf.example.com", "commit", &[]);
    let p = desk.ask(NY, "commit", None, &[]);
    assert!(
        p.question.ends_with("Discard your change? [Y]>"),
        "{}",
        p.question
    );
    assert_eq!(label(&p, "N"), ("Overwrite ops's change", Effect::Destroys));
    assert!(p.gui.title.contains("group West"), "{}", p.gui.title);
}

#[test]
fn the_mode_switch_says_where_it_runs() {
    let mut desk = Desk::new("americas");
    desk.ok(NY, "clustermode group West", &[]);
    // From the terminal: the session switches.
    let p = desk.ask(NY, "clustercheck", None, &[]);
    assert!(p
        .question
        .contains("Would you like to switch to \"cluster\" mode? [Y]>"));
    assert_eq!(p.gui.title, "Switch to the cluster level?");
    assert_eq!(
        label(&p, "Y"),
        ("Switch to the cluster level and run clustercheck", Effect::Acts)
    );
    assert_eq!(label(&p, "N"), ("Don't run clustercheck", Effect::ChangesNothing));
    // From a page: it runs there, and the page's mode stays.
    let west = Mode::Group(GroupName::parse("West").unwrap());
    let p = desk.ask(NY, "clustercheck", Some(&west), &[]);
    assert_eq!(label(&p, "Y"), ("Run it on the cluster level", Effect::Acts));
    assert!(p.gui.body.iter().any(|l| l.contains("group West")));
    // Login host only, asked from another machine's mode.
    desk.ok(NY, "clustermode machine sf.example.com", &[]);
    let p = desk.ask(NY, "saveconfig snap", None, &[]);
    assert!(
        p.question.contains("runs on the login host only"),
        "{}",
        p.question
    );
    assert_eq!(
        label(&p, "Y"),
        (
            "Switch to machine newyork.example.com and run saveconfig",
            Effect::Acts
        )
    );
    assert!(
        p.gui.body[0].contains("and this is machine sf.example.com"),
        "{:?}",
        p.gui.body
    );
}

#[test]
fn power_removal_join_and_replace_name_their_act() {
    let mut desk = Desk::new("americas");
    desk.ok(NY, "clustermode machine newyork.example.com", &[]);
    let p = desk.ask(NY, "reboot", None, &[]);
    assert_eq!(label(&p, "Y"), ("Reboot newyork.example.com", Effect::Destroys));
    assert_eq!(label(&p, "N").1, Effect::ChangesNothing);
    let p = desk.ask(NY, "shutdown", None, &[]);
    assert_eq!(
        label(&p, "Y"),
        ("Shut down newyork.example.com", Effect::Destroys)
    );

    let p = desk.ask(NY, "clusterconfig removemachine sf.example.com", None, &["Y"]);
    assert!(p
        .question
        .starts_with("Remove sf.example.com from cluster Americas?"));
    assert_eq!(label(&p, "Y"), ("Remove sf.example.com", Effect::Destroys));
    assert_eq!(
        label(&p, "N"),
        ("Keep sf.example.com in the cluster", Effect::ChangesNothing)
    );

    let p = desk.ask(
        "admin@boston.example.com",
        "clusterconfig join newyork.example.com",
        None,
        &[],
    );
    assert!(p.question.starts_with("WARNING: all non-network settings"));
    assert_eq!(
        label(&p, "Y"),
        (
            "Join and replace the settings of boston.example.com",
            Effect::Destroys
        )
    );
    assert!(p.gui.body.join(" ").contains("group Main_Group"));

    // Copy onto a mode that defines the feature (West does in the fixture): one feature — No changes
    // nothing; with several, No skips that one and goes on (rules §15.18).
    let mut desk = Desk::new("americas");
    let p = desk.ask(NY, "clusterset copy smtproutes cluster group:West", None, &[]);
    assert_eq!(
        label(&p, "Y"),
        ("Replace them with those of the cluster level", Effect::Destroys)
    );
    assert_eq!(
        label(&p, "N"),
        ("Keep the SMTP Routes of group West", Effect::ChangesNothing)
    );
    let p = desk.ask(NY, "clusterset copy all cluster group:West", None, &[]);
    assert_eq!(label(&p, "N").1, Effect::Acts);
    assert!(label(&p, "N").0.ends_with("and go on"));
}

#[test]
fn the_start_of_a_definition_and_clustercheck_name_their_sources() {
    let mut desk = Desk::new("americas");
    desk.ok(NY, "clustermode machine sf.example.com", &[]);
    let p = desk.ask(NY, "smtproutes new a.example.com x.example.com", None, &[]);
    assert_eq!(p.gui.title, "Define SMTP Routes at machine sf.example.com?");
    assert_eq!(p.choices, ["1", "2"]);
    assert_eq!(label(&p, "1"), ("Start from the default settings", Effect::Acts));
    assert_eq!(
        label(&p, "2"),
        ("Start from a copy of the settings of group West", Effect::Acts)
    );
    assert!(p.gui.needs_cancel());

    // Scenario 43's inconsistency.
    let mut desk = Desk::new("americas");
    desk.ok(NY, "clusterconfig disconnect losangeles.example.com", &[]);
    desk.ok(NY, "listenerconfig new NYMail Data1 public", &[]);
    desk.ok(NY, "commit", &[]);
    desk.ok(LA, "listenerconfig new LAMail Data2 private", &[]);
    desk.ok(LA, "commit", &[]);
    desk.ok(NY, "clusterconfig reconnect losangeles.example.com", &[]);
    let p = desk.ask(NY, "clustercheck", None, &[]);
    assert_eq!(p.choices, ["1", "2", "3", "4"]);
    assert_eq!(p.default, "4");
    assert_eq!(
        label(&p, "1"),
        (
            "Use the settings of losangeles.example.com on every machine",
            Effect::Destroys
        )
    );
    assert_eq!(label(&p, "4"), ("Leave it as it is", Effect::Acts));
    // The console's body holds the facts, not the terminal's running output.
    assert!(!p.gui.body.iter().any(|l| l.starts_with("Checking")));
    assert!(p
        .gui
        .body
        .iter()
        .any(|l| l.starts_with("losangeles.example.com: changed by admin")));
}

/// The check itself must fail on the CLI's notation and on labels that do not say what happens.
#[test]
fn a_rendering_that_speaks_the_cli_is_refused() {
    let mut desk = Desk::new("americas");
    let good = desk.ask(LA, "upgrade 9.5.0", None, &[]);
    let mut p = good.clone();
    p.gui.answers[0].label = "Yes".into();
    assert!(p.gui_problem().unwrap().contains("says not what happens"));
    let mut p = good.clone();
    p.gui.body.push("Continue? [N]>".into());
    assert!(p.gui_problem().unwrap().contains("speaks the CLI"));
    let mut p = good.clone();
    p.gui.answers.pop();
    assert!(p.gui_problem().unwrap().contains("do not match"));
    let mut p = good.clone();
    p.gui.title.clear();
    assert!(p.gui_problem().is_some());
    // A prompt from a client that predates the rendering still parses (the wire stays compatible).
    let json = serde_json::json!({"question": "Q? [Y]>", "choices": ["Y", "N"], "default": "Y"});
    let old: Prompt = serde_json::from_value(json).unwrap();
    assert!(old.gui.title.is_empty() && old.gui_problem().is_some());
    let round: Prompt = serde_json::from_str(&serde_json::to_string(&good).unwrap()).unwrap();
    assert_eq!(round, good);
}

/// Every question any scenario script asks (rules §13) carries a console rendering that passes
/// [`Prompt::gui_problem`]. The scripts are replayed here with their own answers; the replay is checked
/// against the scripts by counting the questions each asks.
#[test]
fn every_question_of_every_scenario_has_a_console_rendering() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "script"))
        .collect();
    files.sort();
    assert!(files.len() >= 40);
    let mut asked: BTreeMap<&'static str, usize> = BTreeMap::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let (prompts, answers) = replay(&text, path.display().to_string(), &mut asked);
        assert_eq!(
            prompts,
            answers,
            "{}: the replay asked {prompts} question(s), the script answers {answers}",
            path.display()
        );
    }
    // Every question site of rules §14.1.3 appears in the scenarios.
    for family in FAMILIES {
        assert!(
            asked.contains_key(family.0),
            "no scenario asks {}: {asked:?}",
            family.0
        );
    }
}

/// Question sites, by a phrase of their CLI text.
const FAMILIES: &[(&str, &str)] = &[
    ("mode switch", "Would you like to switch to"),
    ("start of a definition", "1. Start with the default settings"),
    ("upgrade", "Warning: upgrading"),
    ("join", "all non-network settings"),
    ("clustercheck", "How do you want to resolve"),
    ("commit conflict", "after you started editing"),
    ("removemachine", "It keeps a standalone copy"),
    ("replace by copy or move", "replace them? [N]>"),
    ("reboot", "reboots now"),
    ("shutdown", "shuts down and stays off"),
];

/// Replays a script's commands and answers (`@as`, `@wait`, `@machine` and the simulator's directives),
/// checking each question; the number of questions asked and of answers given.
fn replay(text: &str, name: String, asked: &mut BTreeMap<&'static str, usize>) -> (usize, usize) {
    let mut lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let fixture_name = match lines.first().and_then(|l| l.strip_prefix("@fixture")) {
        Some(f) => {
            let f = f.trim().to_string();
            lines.remove(0);
            f
        }
        None => "americas".into(),
    };
    let mut desk = Desk::new(&fixture_name);
    let mut clock = desk.fleet.now;
    let mut current: Option<String> = None;
    let mut pending: Option<(String, Vec<String>)> = None;
    let (mut prompts, mut answers) = (0, 0);
    let mut added = 0u8;
    for line in lines {
        if ["= ", "~ ", "- "].iter().any(|p| line.starts_with(p)) || matches!(line, "=" | "~" | "-") {
            continue;
        }
        let (command, given) = if let Some(a) = line.strip_prefix('>') {
            answers += 1;
            let (c, mut given) = pending
                .take()
                .unwrap_or_else(|| panic!("{name}: answer without a question"));
            given.push(a.trim().to_string());
            (c, given)
        } else {
            pending = None;
            let body = line.strip_prefix('!').map_or(line, str::trim);
            if let Some(rest) = body.strip_prefix('@') {
                let words: Vec<&str> = rest.split_whitespace().collect();
                if let Some(Ok(fault)) = cluster::sim::parse_directive(&words) {
                    let admin = UserName::parse("admin").unwrap();
                    if let Ok((e, _)) =
                        cluster::sim::check(&desk.fleet, &admin, Role::Administrator, &fault, clock)
                    {
                        desk.apply(&e);
                    }
                    desk.sessions
                        .retain(|_, s| cluster::login::session_survives(&desk.fleet, &s.host));
                    continue;
                }
                match words.as_slice() {
                    ["as", who, ..] => {
                        let host = Hostname::parse(who.split_once('@').unwrap().1).unwrap();
                        if cluster::login::session_survives(&desk.fleet, &host)
                            && desk
                                .fleet
                                .role_of(&host, &UserName::parse(who.split_once('@').unwrap().0).unwrap())
                                .is_some()
                        {
                            current = Some(who.to_string());
                        }
                    }
                    ["wait", secs] => {
                        clock = clock.plus_secs(secs.parse().unwrap());
                        for e in due_events(&desk.fleet, clock) {
                            desk.apply(&e);
                        }
                        desk.apply(&Event::new(clock, EventKind::ClockAdvanced));
                    }
                    ["machine", host, version] => {
                        added += 1;
                        let host = Hostname::parse(host).unwrap();
                        let m =
                            fixture::new_standalone(&host, cluster::Version::parse(version).unwrap(), added);
                        desk.apply(&Event::new(
                            clock,
                            EventKind::MachineAdded { machine: Box::new(m) },
                        ));
                    }
                    _ => panic!("{name}: directive {body} is not replayed"),
                }
                continue;
            }
            (body.to_string(), Vec::new())
        };
        let who = current.clone().unwrap_or_else(|| panic!("{name}: no session"));
        for e in due_events(&desk.fleet, clock) {
            desk.apply(&e);
        }
        let Ok(parsed) = cli::parse(&command) else {
            continue;
        };
        let session = desk.session(&who).clone();
        match cluster::check(&desk.fleet, &session, &parsed, None, &given, clock) {
            Verdict::Prompt { prompt } => {
                prompts += 1;
                if let Some(why) = prompt.gui_problem() {
                    panic!("{name}: {command}: {why}\n{prompt:#?}");
                }
                for (family, phrase) in FAMILIES {
                    if prompt.question.contains(phrase) {
                        *asked.entry(family).or_default() += 1;
                    }
                }
                pending = Some((command, given));
            }
            Verdict::Plan { plan } => {
                for e in &plan.events {
                    desk.apply(e);
                }
                if let Some(s) = desk.sessions.get_mut(&who) {
                    for c in &plan.session {
                        s.apply(c);
                    }
                }
                desk.sessions
                    .retain(|_, s| cluster::login::session_survives(&desk.fleet, &s.host));
            }
            Verdict::Rejected { .. } => {}
        }
    }
    (prompts, answers)
}
