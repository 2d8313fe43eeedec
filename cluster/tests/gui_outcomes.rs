//! The console's words for what an accepted or refused command says (rules §15.31): every staging
//! command names the feature, the mode as the pages name it and where to commit; no console text uses the
//! CLI's notation; the CLI's output stays as it is; a declined mode switch says nothing was sent.
//! Driven through the same `check` the server and the console run.

use std::collections::BTreeMap;

use cluster::fleet::Fleet;
use cluster::mode::Mode;
use cluster::names::{GroupName, Hostname, UserName};
use cluster::session::{Session, SessionId};
use cluster::verdict::{cli_notation_in, Effect, Plan, Rejection, DECLINED};
use cluster::{cli, fixture, Verdict};

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

    fn session(&mut self, who: &str) -> Session {
        if !self.sessions.contains_key(who) {
            let (user, host) = who.split_once('@').expect("user@host");
            self.last_id += 1;
            let s = cluster::login::open_session(
                &self.fleet,
                self.last_id,
                UserName::parse(user).unwrap(),
                Hostname::parse(host).unwrap(),
            );
            self.sessions.insert(who.to_string(), s);
        }
        self.sessions[who].clone()
    }

    fn verdict(&mut self, who: &str, line: &str, at: Option<&Mode>, answers: &[String]) -> Verdict {
        let command = cli::parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let session = self.session(who);
        cluster::check(&self.fleet, &session, &command, at, answers, self.fleet.now)
    }

    /// The plan of `line`, applied; each question is answered with its default button when that goes
    /// ahead, else with the first that does.
    fn run(&mut self, who: &str, line: &str, at: Option<&Mode>) -> Plan {
        let mut answers = Vec::new();
        for _ in 0..8 {
            match self.verdict(who, line, at, &answers) {
                Verdict::Plan { plan } => {
                    for e in &plan.events {
                        for s in self.sessions.values_mut() {
                            cluster::apply::follow(s, &self.fleet, e);
                        }
                        cluster::apply(&mut self.fleet, e);
                    }
                    let s = self.sessions.get_mut(who).unwrap();
                    for c in &plan.session {
                        s.apply(c);
                    }
                    return plan;
                }
                Verdict::Prompt { prompt } => {
                    let goes = |a: &&cluster::verdict::GuiAnswer| a.effect != Effect::ChangesNothing;
                    let go = prompt
                        .gui
                        .answers
                        .iter()
                        .find(|a| a.answer == prompt.default && goes(a))
                        .or_else(|| prompt.gui.answers.iter().find(goes))
                        .unwrap_or_else(|| panic!("{line}: no button goes ahead: {prompt:#?}"));
                    answers.push(go.answer.clone());
                }
                Verdict::Rejected { message, .. } => panic!("{line} was refused: {message}"),
            }
        }
        panic!("{line} kept asking");
    }

    fn refusal(&mut self, who: &str, line: &str, at: Option<&Mode>) -> Rejection {
        match self.verdict(who, line, at, &[]) {
            Verdict::Rejected { rejection, .. } => rejection,
            other => panic!("{line} was not refused: {other:?}"),
        }
    }
}

const NY: &str = "admin@newyork.example.com";

fn west() -> Mode {
    Mode::Group(GroupName::parse("West").unwrap())
}

/// The console's text of `plan`, checked free of the CLI's notation and of CLI mode words.
fn console_text(line: &str, plan: &Plan) -> String {
    let text = plan.gui_lines().join("\n");
    assert!(!text.is_empty(), "{line}: the console shows nothing");
    if let Some(w) = cli_notation_in(&text) {
        panic!("{line}: the console's text speaks the CLI ({w}): {text}");
    }
    for w in ["group:", "machine:", "Run commit"] {
        assert!(!text.contains(w), "{line}: {w:?} in {text}");
    }
    text
}

#[test]
fn every_staging_command_says_what_where_and_where_to_commit() {
    let mut desk = Desk::new("americas");
    let west = west();
    let cluster = Mode::Cluster;
    // (line, page mode, what the console names: the feature's title or the change, the mode).
    let cases: Vec<(&str, Option<&Mode>, &str, &str)> = vec![
        (
            "smtproutes new w1.example.com west-x.example.com",
            Some(&west),
            "SMTP Routes",
            "Group: West",
        ),
        (
            "smtproutes edit example.com west-y.example.com",
            Some(&west),
            "SMTP Routes",
            "Group: West",
        ),
        (
            "smtproutes delete example.com",
            Some(&west),
            "SMTP Routes",
            "Group: West",
        ),
        (
            "clusterset copy smtproutes cluster group:West",
            None,
            "SMTP Routes",
            "Group: West",
        ),
        (
            "clusterset delete smtproutes group:West",
            None,
            "SMTP Routes",
            "Group: West",
        ),
        (
            "clusterconfig addgroup East",
            Some(&cluster),
            "add group East",
            "Cluster: Americas",
        ),
        (
            "clusterconfig setgroup sf.example.com Main_Group",
            Some(&cluster),
            "move sf.example.com to group Main_Group",
            "Cluster: Americas",
        ),
    ];
    for (line, at, what, place) in cases {
        let plan = desk.run(NY, line, at);
        assert!(!plan.session.is_empty(), "{line} staged nothing");
        // The CLI's words stay (the scenario scripts pin them).
        assert!(
            plan.output.iter().any(|l| l.contains("Run commit to apply")),
            "{line}: {:?}",
            plan.output
        );
        let text = console_text(line, &plan);
        assert!(text.starts_with("Staged: "), "{line}: {text}");
        assert!(text.contains(what), "{line}: no {what:?} in {text}");
        assert!(text.contains(place), "{line}: no {place:?} in {text}");
        assert!(text.contains("under Pending changes"), "{line}: {text}");
    }
    // The edit's own summary stays in the console's words (the e2e tests wait for it).
    let plan = desk.run(
        NY,
        "smtproutes new w2.example.com west-x.example.com",
        Some(&west),
    );
    let plan2 = desk.run(
        NY,
        "smtproutes edit w2.example.com west-y.example.com",
        Some(&west),
    );
    assert!(
        console_text("new", &plan).contains("w2.example.com"),
        "{:?}",
        plan.gui
    );
    assert!(console_text("edit", &plan2).contains("changed w2.example.com -> west-y.example.com"));
    // clusterset counts entries in words, not `row(s)`.
    let copy = desk.run(NY, "clusterset copy smtproutes cluster group:West", None);
    assert!(
        copy.output.iter().any(|l| l.contains("row(s)")),
        "{:?}",
        copy.output
    );
    let text = console_text("copy", &copy);
    assert!(
        text.contains("defined with 1 entry") || text.contains("entries"),
        "{text}"
    );
}

#[test]
fn a_standalone_machine_names_itself_and_loading_a_file_says_where_to_commit() {
    let mut alone = Desk::new("americas");
    let boston = "admin@boston.example.com";
    let plan = alone.run(boston, "smtproutes new example.com b.example.com", None);
    let text = console_text("standalone smtproutes", &plan);
    assert!(text.contains("SMTP Routes at boston.example.com"), "{text}");
    assert!(text.contains("under Pending changes"), "{text}");

    let mut desk = Desk::new("americas");
    desk.run(NY, "saveconfig snap", None);
    let plan = desk.run(NY, "loadconfig snap", None);
    assert!(
        plan.output[0].contains("change(s). Run commit to apply them."),
        "{:?}",
        plan.output
    );
    let text = console_text("loadconfig", &plan);
    assert!(text.contains("Loaded snap on newyork.example.com"), "{text}");
    assert!(text.contains("under Pending changes"), "{text}");
}

#[test]
fn commit_and_clear_count_in_words() {
    let mut desk = Desk::new("americas");
    desk.run(
        NY,
        "smtproutes new w1.example.com west-x.example.com",
        Some(&west()),
    );
    let plan = desk.run(NY, "commit", None);
    assert_eq!(plan.output[0], "Committed 1 change(s).");
    let text = console_text("commit", &plan);
    assert!(text.contains("Committed 1 change."), "{text}");
    assert!(
        text.contains("Effective configuration changed on: sf.example.com."),
        "{text}"
    );

    desk.run(NY, "clusterconfig addgroup East", None);
    desk.run(NY, "clusterconfig addgroup North", None);
    let plan = desk.run(NY, "clear", None);
    assert_eq!(plan.output, vec!["Discarded 2 staged change(s).".to_string()]);
    assert_eq!(
        console_text("clear", &plan),
        "Discarded 2 staged changes. Nothing was sent to any machine."
    );
}

#[test]
fn a_declined_mode_switch_says_nothing_was_sent() {
    let mut desk = Desk::new("americas");
    desk.run(NY, "clustermode group West", None);
    let verdict = desk.verdict(NY, "clustercheck", Some(&west()), &["N".to_string()]);
    let Verdict::Plan { plan } = verdict else {
        panic!("{verdict:?}")
    };
    assert!(plan.declined);
    // The CLI prints nothing, as before; the console says what happened.
    assert_eq!(plan.lines().count(), 0);
    assert!(plan.events.is_empty() && plan.session.is_empty());
    assert_eq!(plan.gui_lines(), vec![DECLINED.to_string()]);
    assert_eq!(DECLINED, "Cancelled; nothing was sent.");
    // An accepted command is not declined, and the JSON of an old-style plan is unchanged.
    let plan = desk.run(NY, "clustermode cluster", None);
    assert!(!plan.declined);
    let json = serde_json::to_value(&plan).unwrap();
    assert!(
        json.get("declined").is_none() && json.get("gui").is_none(),
        "{json}"
    );
}

#[test]
fn a_refusal_names_the_button_where_the_cli_names_a_command() {
    let mut desk = Desk::new("americas");
    let west = west();
    desk.run(
        NY,
        "smtproutes new w1.example.com west-x.example.com",
        Some(&west),
    );
    let r = desk.refusal(
        NY,
        "smtproutes new w1.example.com west-z.example.com",
        Some(&west),
    );
    // The CLI's words, as DOMAIN 14.1.3 pins them.
    assert_eq!(
        r.to_string(),
        "smtproutes at group:West already has an entry \"w1.example.com\"; use edit to change it."
    );
    let gui = r.gui_message();
    assert_eq!(
        gui,
        "SMTP Routes at group West already has an entry \"w1.example.com\". To change it, use Save changes instead of Add."
    );

    let r = desk.refusal(NY, "clusterconfig reconnect sf.example.com", None);
    assert!(r.to_string().contains("\"clusterconfig disconnect\""));
    assert!(
        r.gui_message().contains("disconnected with Disconnect"),
        "{}",
        r.gui_message()
    );

    let alone = "admin@boston.example.com";
    let r = desk.refusal(alone, "clustercheck", None);
    assert!(r.to_string().contains("with clusterconfig"));
    assert!(
        r.gui_message().contains("on the Cluster page"),
        "{}",
        r.gui_message()
    );
}

#[test]
fn no_console_refusal_speaks_the_cli() {
    use cluster::features::FeatureId;
    let host = Hostname::parse("sf.example.com").unwrap();
    let feature = FeatureId::SmtpRoutes;
    let mode = west();
    let cases = [
        Rejection::KeyExists {
            feature,
            mode: mode.clone(),
            key: "example.com".into(),
        },
        Rejection::NotDetached { host: host.clone() },
        Rejection::ReconnectLinkDown {
            host: host.clone(),
            reason: "its link to newyork.example.com is down".into(),
        },
        Rejection::NotInCluster {
            host: host.clone(),
            command: "clustercheck".into(),
        },
        Rejection::NoPrepJoin {
            host: host.clone(),
            serial: "ABC".into(),
        },
        Rejection::CcsNotEnabled { host: host.clone() },
        Rejection::DetachedCommit {
            host: host.clone(),
            feature,
            mode: mode.clone(),
        },
        Rejection::SingleValueFeature {
            feature,
            syntax: "set <value>".into(),
        },
        Rejection::TableFeature { feature },
        Rejection::NotDefined {
            feature,
            mode: mode.clone(),
            action: "delete".into(),
        },
        Rejection::NothingDefined { mode: mode.clone() },
        Rejection::SameMode { mode: mode.clone() },
        Rejection::InvalidAnswer {
            answer: "x".into(),
            expected: "Y or N".into(),
        },
    ];
    for r in cases {
        let gui = r.gui_message();
        assert!(!gui.is_empty());
        assert!(cli_notation_in(&gui).is_none(), "{gui}");
        for w in [
            "group:",
            "machine:",
            "clusterconfig",
            "interfaceconfig",
            "Y or N",
            "\"clear\"",
        ] {
            assert!(!gui.contains(w), "{w:?} in {gui}");
        }
    }
}
