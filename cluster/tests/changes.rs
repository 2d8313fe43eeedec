//! Events carry row changes, not whole values (rules §14.7.10), commits merge them (§14.7.5), and every
//! table has a row limit (§15.28) — driven through the same `check` the server runs.

use cluster::features::FeatureId;
use cluster::session::{Session, SessionId};
use cluster::{cli, fixture, Event, EventKind, Fleet, Hostname, UserName, Verdict};

/// A fleet and its sessions, fed every event the way the server's engine feeds them.
struct Desk {
    fleet: Fleet,
    sessions: Vec<Session>,
    log: Vec<Event>,
}

impl Desk {
    fn americas() -> Desk {
        Desk {
            fleet: fixture::by_name("americas").unwrap(),
            sessions: Vec::new(),
            log: Vec::new(),
        }
    }

    fn login(&mut self, user: &str, host: &str) -> usize {
        let id = self.sessions.len() as SessionId + 1;
        self.sessions.push(cluster::login::open_session(
            &self.fleet,
            id,
            UserName::parse(user).unwrap(),
            Hostname::parse(host).unwrap(),
        ));
        self.sessions.len() - 1
    }

    /// Runs `line` with `answers` in session `who`; the output lines, or the refusal.
    fn run(&mut self, who: usize, line: &str, answers: &[&str]) -> Result<Vec<String>, String> {
        let command = cli::parse(line).map_err(|e| e.to_string())?;
        let answers: Vec<String> = answers.iter().map(|a| a.to_string()).collect();
        let now = self.fleet.now;
        match cluster::check(&self.fleet, &self.sessions[who], &command, None, &answers, now) {
            Verdict::Plan { plan } => {
                for e in plan.events {
                    for s in self.sessions.iter_mut() {
                        cluster::apply::follow(s, &self.fleet, &e);
                    }
                    cluster::apply(&mut self.fleet, &e);
                    self.log.push(e);
                }
                for c in &plan.session {
                    self.sessions[who].apply(c);
                }
                let mut out = plan.warnings;
                out.extend(plan.output);
                out.extend(plan.notes);
                Ok(out)
            }
            Verdict::Prompt { prompt } => Err(format!("asked: {}", prompt.question)),
            Verdict::Rejected { message, .. } => Err(message),
        }
    }

    fn ok(&mut self, who: usize, line: &str) -> Vec<String> {
        self.run(who, line, &[]).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn last_event_bytes(&self) -> usize {
        serde_json::to_vec(self.log.last().unwrap()).unwrap().len()
    }

    fn print(&mut self, who: usize, feature: &str) -> String {
        self.ok(who, &format!("{feature} print")).join("\n")
    }
}

#[test]
fn a_commit_adding_one_row_to_a_large_table_records_one_row() {
    let mut desk = Desk::americas();
    let admin = desk.login("admin", "newyork.example.com");
    desk.ok(admin, "unsubscribe new first.example.net");
    desk.ok(admin, "commit");
    let small = desk.last_event_bytes();
    for i in 0..1000 {
        desk.ok(admin, &format!("unsubscribe new bulk{i}.example.net"));
    }
    desk.ok(admin, "commit");
    desk.ok(admin, "unsubscribe new last.example.net");
    desk.ok(admin, "commit");
    let after_1000 = desk.last_event_bytes();
    // Same row, same size, whatever the table holds (an event with the whole value was ~40 KB here).
    assert!(
        after_1000 <= small + 16,
        "one row added to a 1,002-row table made a {after_1000}-byte event (one row to a small table: {small})"
    );
    // The committed value is whole: every row is there.
    let printed = desk.print(admin, "unsubscribe");
    assert!(printed.contains("bulk999.example.net") && printed.contains("last.example.net"));
    // A staged edit of a defined item keeps only the rows it touches.
    desk.ok(admin, "unsubscribe delete bulk5.example.net");
    let staged = serde_json::to_vec(&desk.sessions[admin].pending).unwrap().len();
    assert!(staged < 400, "one staged deletion is {staged} bytes");
}

#[test]
fn a_table_refuses_rows_beyond_its_limit_by_name_when_staging_and_when_merging() {
    let max = FeatureId::Dns.schema().max_rows;
    let mut desk = Desk::americas();
    let admin = desk.login("admin", "newyork.example.com");
    let ops = desk.login("ops", "sf.example.com");
    let have = desk
        .fleet
        .effective(&Hostname::parse("newyork.example.com").unwrap(), FeatureId::Dns);
    let have = have.rows.len();
    // Fill to two short of the limit, then each session adds two more: each is fine alone.
    for i in have..max - 2 {
        desk.ok(admin, &format!("dnsconfig new 10.77.{}.{}", i / 200, i % 200 + 1));
    }
    desk.ok(admin, "commit");
    desk.ok(admin, "dnsconfig new 10.2.0.1");
    desk.ok(admin, "dnsconfig new 10.2.0.2");
    let refused = desk.run(admin, "dnsconfig new 10.2.0.3", &[]).unwrap_err();
    assert_eq!(
        refused,
        format!("dnsconfig at cluster would hold more than {max} entries, the most it takes.")
    );
    desk.ok(ops, "dnsconfig new 10.3.0.1");
    desk.ok(admin, "commit");
    // Merged with what admin committed, ops's row would pass the limit: refused, nothing applied.
    let revision = desk.fleet.revision;
    let refused = desk.run(ops, "commit", &[]).unwrap_err();
    assert!(refused.contains(&format!("more than {max} entries")), "{refused}");
    assert_eq!(desk.fleet.revision, revision);
    assert_eq!(
        desk.sessions[ops].pending.len(),
        1,
        "the refused commit keeps the staged row"
    );
}

#[test]
fn merged_commits_keep_both_sides_rows_and_name_what_was_overwritten() {
    let mut desk = Desk::americas();
    let admin = desk.login("admin", "newyork.example.com");
    let ops = desk.login("ops", "sf.example.com");
    desk.ok(admin, "unsubscribe new a.example.net");
    desk.ok(ops, "unsubscribe new b.example.net");
    desk.ok(admin, "commit");
    let out = desk.ok(ops, "commit");
    assert!(out.iter().all(|l| !l.contains("Overwrote")), "{out:?}");
    let printed = desk.print(admin, "unsubscribe");
    assert!(
        printed.contains("a.example.net") && printed.contains("b.example.net"),
        "{printed}"
    );
    // Both delete the same row: no conflict (they agree).
    desk.ok(admin, "unsubscribe delete a.example.net");
    desk.ok(ops, "unsubscribe delete a.example.net");
    desk.ok(admin, "commit");
    desk.ok(ops, "commit");
    // One edits a row the other deleted: asked, naming the row; N writes it back, and the note says whose
    // change was overwritten.
    desk.ok(admin, "smtproutes edit example.com mine.example.com");
    desk.ok(ops, "smtproutes delete example.com");
    desk.ok(ops, "commit");
    let asked = desk.run(admin, "commit", &[]).unwrap_err();
    assert!(
        asked.contains("after you started editing: example.com. Discard your change to it?"),
        "{asked}"
    );
    let out = desk.run(admin, "commit", &["N"]).unwrap();
    assert!(
        out.iter().any(|l| l.starts_with(
            "Overwrote example.com of smtproutes at cluster (changed by 'ops' on sf.example.com"
        )),
        "{out:?}"
    );
    assert!(desk
        .print(admin, "smtproutes")
        .contains("example.com -> mine.example.com"));
    let EventKind::Committed { writes, .. } = &desk.log.last().unwrap().kind else {
        panic!("not a commit")
    };
    assert_eq!(writes.len(), 1);
}

#[test]
fn every_default_fits_its_row_limit() {
    for feature in FeatureId::ALL {
        let schema = feature.schema();
        assert!(schema.max_rows >= 1, "{feature}");
        assert!(schema.defaults.len() <= schema.max_rows, "{feature}");
    }
}

#[test]
fn a_log_written_with_whole_values_still_reads() {
    let old = r#"{"mode":"cluster","feature":"global_unsubscribe","value":{"rows":[["a.example.net"]]}}"#;
    let w: cluster::event::Write = serde_json::from_str(old).unwrap();
    assert!(matches!(w.change, cluster::store::Change::Define { ref value } if value.rows.len() == 1));
    let removed = r#"{"mode":"cluster","feature":"global_unsubscribe","value":null}"#;
    let w: cluster::event::Write = serde_json::from_str(removed).unwrap();
    assert_eq!(w.change, cluster::store::Change::Remove);
    let round = serde_json::to_string(&w).unwrap();
    assert_eq!(serde_json::from_str::<cluster::event::Write>(&round).unwrap(), w);
}
