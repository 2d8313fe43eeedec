//! The one-line CLI (rules §10): [`parse`] reads a line into a typed [`Command`] — the first word picks
//! the command family, whose file parses the rest — and [`complete`] offers completions for the web
//! terminal. Words and their errors come from [`crate::lexer`]; rendering is `Command`'s `Display`.

pub use crate::cmd::{command_words, help_of, Help};
pub use crate::lexer::{tokenize, ParseError, Token, MAX_LINE};

use crate::cmd::{complete_words, parse_words, Command, Completion};
use crate::fleet::Fleet;
use crate::lexer::Words;
use crate::names::Hostname;

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
}
