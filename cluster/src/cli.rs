//! The one-line CLI (rules §10): [`parse`] reads a line into a typed [`Command`] — the first word picks
//! the command family, whose file parses the rest — [`complete`] offers completions for the web
//! terminal, and [`reask`] keeps a question open after an answer that is not one (rules §15.34). Words
//! and their errors come from [`crate::lexer`]; rendering is `Command`'s `Display`.

pub use crate::cmd::{command_words, help_of, Help};
pub use crate::lexer::{tokenize, ParseError, Token, MAX_LINE};

use crate::cmd::{complete_words, parse_words, Command, Completion};
use crate::fleet::Fleet;
use crate::lexer::Words;
use crate::names::Hostname;
use crate::verdict::{Prompt, Rejection, Verdict};

/// Parses one line into a command.
pub fn parse(line: &str) -> Result<Command, ParseError> {
    let tokens = tokenize(line)?;
    let mut w = Words::new(&tokens, line);
    let first = w.next("a command (type help for the list)")?;
    let word = first.text.to_ascii_lowercase();
    parse_words(&word, &mut w).unwrap_or_else(|| {
        Err(ParseError {
            column: first.column,
            expected: "a command (type help for the list)".into(),
            found: format!("\"{}\"", first.text.chars().take(40).collect::<String>()),
        })
    })
}

/// Completion candidates for a partial line typed on `login_host`: whole replacement lines, sorted. Only
/// what the command accepts is offered (the members of the login host's cluster for `clustermode
/// machine`, its groups for `renamegroup`, ...).
pub fn complete(fleet: &Fleet, login_host: &Hostname, line: &str) -> Vec<String> {
    let ends_with_space = line.ends_with(' ');
    let Ok(tokens) = tokenize(line) else {
        return Vec::new();
    };
    let words: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
    let (done, partial): (&[&str], &str) = if ends_with_space || words.is_empty() {
        (&words[..], "")
    } else {
        (&words[..words.len() - 1], words[words.len() - 1])
    };
    let candidates = complete_words(done, &Completion { fleet, login_host });
    let prefix: String = if done.is_empty() {
        String::new()
    } else {
        let mut p = done
            .iter()
            .map(|w| crate::features::quote_if_needed(w))
            .collect::<Vec<_>>()
            .join(" ");
        p.push(' ');
        p
    };
    let mut out: Vec<String> = candidates
        .into_iter()
        .filter(|c| c.to_ascii_lowercase().starts_with(&partial.to_ascii_lowercase()))
        .map(|c| format!("{prefix}{c}"))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A question asked again because the last answer was not an answer to it (rules §15.34).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reask {
    /// The refusal naming the answer and what the question accepts, as printed (`Error: ...`).
    pub error: String,
    /// The same question, to be answered again.
    pub prompt: Prompt,
}

/// Keeps a question open after a wrong answer (rules §15.34). `verdict` is what `check` said with
/// `answers`; when it refuses the last answer as not an answer to its question, that answer is dropped
/// from `answers` and `check` is run again without it: its question is the one to ask again. Any other
/// verdict — or a re-run that does not end on that question — leaves `answers` as they were and
/// gives `None`: the command is done, and the next line is a new command.
pub fn reask(
    verdict: &Verdict,
    answers: &mut Vec<String>,
    check: impl FnOnce(&[String]) -> Verdict,
) -> Option<Reask> {
    let Verdict::Rejected {
        rejection: Rejection::InvalidAnswer { .. },
        message,
    } = verdict
    else {
        return None;
    };
    let last = answers.pop()?;
    match check(answers) {
        Verdict::Prompt { prompt } => Some(Reask {
            error: format!("Error: {message}"),
            prompt,
        }),
        _ => {
            answers.push(last);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_domain_grammar() {
        let ok = [
            "clusterconfig",
            "clusterconfig create Lab ip",
            "clusterconfig join newyork.example.com ccs port 2222 group West by ip",
            "clusterconfig prepjoin new 4229C0A1B2C6-BO0004 boston.example.com ukey-bo-5e6f12",
            "clusterconfig disconnect losangeles.example.com sf.example.com",
            "clustermode group West",
            "clustermode machine:sf.example.com",
            "clusterset copy smtproutes cluster group:West",
            "clusterset delete all machine:newyork.example.com",
            "smtproutes new example.com a.example.com,b.example.com:25",
            "interfaceconfig new Data3 10.0.0.9 ssh ccs=2223",
            "userconfig new carol operator \"carol pass\"",
            "setgateway 10.0.0.1",
            "upgrade download 9.5.0",
            "saveconfig masked",
            "commit fixed the routes",
        ];
        for line in ok {
            let c = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(parse(&c.to_string()).unwrap(), c, "{line} -> {c}");
        }
    }

    #[test]
    fn errors_name_the_column_and_what_was_expected() {
        let e = parse("clusterconfig frobnicate").unwrap_err();
        assert_eq!(e.column, 15);
        assert!(e.expected.contains("addgroup"), "{e}");
        let e = parse("clustermode machine bad..host").unwrap_err();
        assert_eq!(e.column, 21);
        assert!(e.to_string().contains("hostname"), "{e}");
        let e = parse("smtproutes new \"unterminated").unwrap_err();
        assert!(e.expected.contains("closing"), "{e}");
        assert!(parse("").is_err());
        // Found by cargo fuzz: a control character inside quotes.
        let e = parse("setgateway \"\u{0}-\"").unwrap_err();
        assert_eq!(e.expected, "printable text");
        assert!(parse("commit \"a\\\u{7}\"").is_err());
    }

    #[test]
    fn completes_commands_and_arguments() {
        let fleet = crate::fixture::americas();
        let ny = Hostname::parse("newyork.example.com").unwrap();
        let complete = |line: &str| complete(&fleet, &ny, line);
        assert!(complete("cluster").contains(&"clusterconfig".to_string()));
        assert!(complete("clusterconfig dis").contains(&"clusterconfig disconnect".to_string()));
        assert!(complete("clustermode group W").contains(&"clustermode group West".to_string()));
        assert!(complete("clusterset copy smtproutes cluster group:")
            .contains(&"clusterset copy smtproutes cluster group:West".to_string()));
        // Only what the command accepts: members of the login host's cluster, not standalone machines.
        let machines = complete("clustermode machine ");
        assert!(machines.contains(&"clustermode machine sf.example.com".to_string()));
        assert!(!machines.iter().any(|m| m.contains("boston")), "{machines:?}");
    }

    use crate::mode::Mode;
    use crate::names::{Timestamp, UserName};
    use crate::session::{Session, SessionId};
    use crate::verdict::Verdict;
    use proptest::prelude::*;

    fn session_on(fleet: &Fleet, host: &str) -> Session {
        let host = Hostname::parse(host).unwrap();
        let member = fleet.cluster_of(&host).is_some();
        Session::open(1 as SessionId, UserName::parse("admin").unwrap(), host, member)
    }

    /// Runs `line` with `answers` as the terminal does, one answer a turn (rules §15.34): the prompt
    /// shown after each turn, or `None` once the command is done, and the answers still held.
    fn turns(mode: Mode, line: &str, given: &[&str]) -> (Vec<Option<String>>, Vec<String>) {
        let fleet = crate::fixture::americas();
        let mut session = session_on(&fleet, "newyork.example.com");
        session.mode = Some(mode);
        let command = parse(line).unwrap();
        let check = |a: &[String]| crate::cmd::check(&fleet, &session, &command, None, a, Timestamp(0));
        let mut answers: Vec<String> = Vec::new();
        let mut shown = Vec::new();
        let mut verdict = check(&answers);
        for a in given {
            let Verdict::Prompt { .. } = verdict else { break };
            answers.push(a.to_string());
            verdict = check(&answers);
            if let Some(r) = reask(&verdict, &mut answers, check) {
                assert!(r.error.starts_with("Error: "), "{}", r.error);
                assert!(
                    r.error.contains(&format!("\"{}\"", a.trim())),
                    "the error names the answer: {}",
                    r.error
                );
                verdict = Verdict::Prompt { prompt: r.prompt };
            }
            shown.push(match &verdict {
                Verdict::Prompt { prompt } => Some(prompt.question.clone()),
                _ => None,
            });
        }
        (shown, answers)
    }

    #[test]
    fn a_wrong_answer_asks_the_same_question_again() {
        let line = "clusterconfig removemachine sf.example.com";
        let (shown, answers) = turns(Mode::Cluster, line, &["maybe", "clusterconfig list", "N"]);
        let question = shown[0].clone().expect("asked again");
        assert!(question.starts_with("Remove sf.example.com"), "{question}");
        assert_eq!(
            shown[1].as_deref(),
            Some(question.as_str()),
            "asked again, the same question"
        );
        assert_eq!(shown[2], None, "N answers it: the command is done");
        assert_eq!(answers, ["N"], "the wrong answers were dropped");
        // A numbered question (Main_Group inherits smtproutes): a number out of range is no answer
        // either; 1 is.
        let main = Mode::Group(crate::names::GroupName::parse("Main_Group").unwrap());
        let (shown, answers) = turns(
            main,
            "smtproutes new a.example.com b.example.com",
            &["3", "Y", "1"],
        );
        assert!(
            shown[0]
                .as_deref()
                .is_some_and(|q| q.contains("1. Start with the default")),
            "{shown:?}"
        );
        assert_eq!(shown[0], shown[1]);
        assert_eq!(shown[2], None);
        assert_eq!(answers, ["1"]);
    }

    #[test]
    fn other_verdicts_are_not_asked_again() {
        let fleet = crate::fixture::americas();
        let session = session_on(&fleet, "newyork.example.com");
        // A refusal that is not about an answer ends the command.
        let command = parse("clusterconfig removemachine boston.example.com").unwrap();
        let mut answers = Vec::new();
        let verdict = crate::cmd::check(&fleet, &session, &command, None, &answers, Timestamp(0));
        assert!(matches!(verdict, Verdict::Rejected { .. }), "{verdict:?}");
        let rerun = |_: &[String]| panic!("not re-run");
        assert_eq!(reask(&verdict, &mut answers, rerun), None);
        // Nor does a plan or a question.
        let plan = Verdict::Plan {
            plan: Default::default(),
        };
        let mut answers = vec!["Y".to_string()];
        assert_eq!(reask(&plan, &mut answers, rerun), None);
        assert_eq!(answers, ["Y"]);
    }

    proptest! {
        /// Whatever is typed at a yes/no question, it is answered or asked again — never dropped.
        #[test]
        fn every_line_at_a_question_answers_it_or_asks_again(answer in "[ -~]{0,20}") {
            let (shown, answers) = turns(Mode::Cluster, "clusterconfig removemachine sf.example.com", &[answer.as_str()]);
            let word = answer.trim().to_ascii_lowercase();
            let valid = ["", "y", "yes", "n", "no"].contains(&word.as_str());
            prop_assert_eq!(shown[0].is_none(), valid, "{:?}", shown);
            prop_assert_eq!(answers.len(), usize::from(valid));
        }
    }

    /// Every completion is something the command accepts: a completed host, group or mode is never
    /// refused as unknown, not a member, or the wrong kind of machine (rules §15.34).
    #[test]
    fn completions_are_accepted_by_the_command() {
        let fleet = crate::fixture::americas();
        let lines = [
            "clustermode machine ",
            "clustermode group ",
            "clusterconfig ",
            "clusterconfig join ",
            "clusterconfig disconnect ",
            "clusterconfig disconnect sf.example.com ",
            "clusterconfig removemachine ",
            "clusterconfig setgroup sf.example.com ",
            "clusterconfig deletegroup ",
            "clusterset copy smtproutes cluster ",
            "clusterset delete smtproutes ",
            "clustershow ",
        ];
        let unaccepted = |v: &Verdict| match v {
            Verdict::Rejected { rejection, .. } => matches!(
                rejection,
                Rejection::UnknownMachine { .. }
                    | Rejection::NotAMember { .. }
                    | Rejection::UnknownGroup { .. }
                    | Rejection::NotInCluster { .. }
                    | Rejection::AlreadyMember { .. }
                    | Rejection::JoinTargetStandalone { .. }
                    | Rejection::DuplicateHost { .. }
                    | Rejection::SameMode { .. }
            ),
            _ => false,
        };
        for host in ["newyork.example.com", "boston.example.com"] {
            let login = Hostname::parse(host).unwrap();
            let session = session_on(&fleet, host);
            for line in lines {
                for done in complete(&fleet, &login, line) {
                    let Ok(command) = parse(&done) else { continue };
                    let v = crate::cmd::check(&fleet, &session, &command, None, &[], Timestamp(0));
                    assert!(!unaccepted(&v), "on {host}, {done:?} was offered but: {v:?}");
                }
            }
        }
        let on = |host: &str, line: &str| complete(&fleet, &Hostname::parse(host).unwrap(), line);
        // A standalone machine is offered what it can do: create or join through a member.
        let subs = on("boston.example.com", "clusterconfig ");
        assert!(
            subs.contains(&"clusterconfig join".to_string()) && !subs.iter().any(|s| s.ends_with("list"))
        );
        let targets = on("boston.example.com", "clusterconfig join ");
        assert!(
            targets.contains(&"clusterconfig join sf.example.com".to_string()),
            "{targets:?}"
        );
        assert!(
            !targets
                .iter()
                .any(|t| t.contains("toronto") || t.contains("boston")),
            "{targets:?}"
        );
        assert!(on("boston.example.com", "clustermode ").is_empty());
        // A member is not offered create or join, nor a host it already listed.
        assert!(!on("newyork.example.com", "clusterconfig ")
            .iter()
            .any(|s| s.ends_with(" join")));
        let more = on("newyork.example.com", "clusterconfig disconnect sf.example.com ");
        assert!(
            !more.iter().any(|m| m.ends_with("sf.example.com sf.example.com")),
            "{more:?}"
        );
    }
}
