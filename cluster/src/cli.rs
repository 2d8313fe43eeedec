//! The one-line CLI (DOMAIN 10): tokenizer, parser (errors give the column and what was expected),
//! `help` texts, and completion candidates for the web terminal. Rendering is `Command`'s `Display`.

use crate::command::{ClusterSet, Command, FeatureAction, FeatureSel, UpgradeOp};
use crate::features::{FeatureId, Shape, CATALOGUE};
use crate::model::{Addressing, Fleet, Mode};
use crate::names::{ClusterName, GroupName, Hostname, Version};

/// A parse failure: 1-based column, what was expected, what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at column {column}: expected {expected}, found {found}")]
pub struct ParseError {
    pub column: usize,
    pub expected: String,
    pub found: String,
}

/// One word of a line, with its 1-based column and whether it was quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub column: usize,
    pub quoted: bool,
}

/// Lines longer than this are refused before tokenizing.
pub const MAX_LINE: usize = 4096;

/// Splits a line into words; a double-quoted word may contain spaces and `\"`, `\\` escapes.
pub fn tokenize(line: &str) -> Result<Vec<Token>, ParseError> {
    if line.len() > MAX_LINE {
        return Err(ParseError {
            column: MAX_LINE + 1,
            expected: format!("a line of at most {MAX_LINE} bytes"),
            found: format!("{} bytes", line.len()),
        });
    }
    let mut tokens = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_control() {
            return Err(ParseError {
                column: i + 1,
                expected: "printable text".into(),
                found: "a control character".into(),
            });
        }
        let column = i + 1;
        if c == '"' {
            let mut text = String::new();
            i += 1;
            let mut closed = false;
            while i < chars.len() {
                match chars[i] {
                    '"' => {
                        closed = true;
                        i += 1;
                        break;
                    }
                    // Control characters are refused in quoted words too (found by fuzzing: they
                    // parsed, then rendered unquoted and no longer parsed).
                    ch if ch.is_control()
                        || (ch == '\\' && chars.get(i + 1).is_some_and(|c| c.is_control())) =>
                    {
                        return Err(ParseError {
                            column: i + 1,
                            expected: "printable text".into(),
                            found: "a control character".into(),
                        });
                    }
                    '\\' if i + 1 < chars.len() => {
                        text.push(chars[i + 1]);
                        i += 2;
                    }
                    ch => {
                        text.push(ch);
                        i += 1;
                    }
                }
            }
            if !closed {
                return Err(ParseError {
                    column,
                    expected: "a closing '\"'".into(),
                    found: "the end of the line".into(),
                });
            }
            tokens.push(Token {
                text,
                column,
                quoted: true,
            });
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() {
                if chars[i] == '"' {
                    return Err(ParseError {
                        column: i + 1,
                        expected: "a space before a quoted word".into(),
                        found: "'\"'".into(),
                    });
                }
                if chars[i].is_control() {
                    return Err(ParseError {
                        column: i + 1,
                        expected: "printable text".into(),
                        found: "a control character".into(),
                    });
                }
                i += 1;
            }
            tokens.push(Token {
                text: chars[start..i].iter().collect(),
                column,
                quoted: false,
            });
        }
    }
    Ok(tokens)
}

struct Words<'a> {
    tokens: &'a [Token],
    pos: usize,
    end_column: usize,
}

impl<'a> Words<'a> {
    fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.pos)
    }

    fn column(&self) -> usize {
        self.peek().map(|t| t.column).unwrap_or(self.end_column)
    }

    fn err(&self, expected: impl Into<String>) -> ParseError {
        ParseError {
            column: self.column(),
            expected: expected.into(),
            found: match self.peek() {
                Some(t) => format!("\"{}\"", t.text.chars().take(40).collect::<String>()),
                None => "the end of the line".into(),
            },
        }
    }

    fn next(&mut self, expected: &str) -> Result<&'a Token, ParseError> {
        let t = self.peek().ok_or_else(|| self.err(expected))?;
        self.pos += 1;
        Ok(t)
    }

    fn word(&mut self, expected: &str) -> Result<String, ParseError> {
        Ok(self.next(expected)?.text.clone())
    }

    /// The next word if it is one of `keywords` (case-insensitive, unquoted).
    fn keyword(&mut self, keywords: &[&str]) -> Option<String> {
        let t = self.peek()?;
        if t.quoted {
            return None;
        }
        let lower = t.text.to_ascii_lowercase();
        if keywords.contains(&lower.as_str()) {
            self.pos += 1;
            Some(lower)
        } else {
            None
        }
    }

    fn expect_keyword(&mut self, keywords: &[&str]) -> Result<String, ParseError> {
        let expected = one_of(keywords);
        self.keyword(keywords).ok_or_else(|| self.err(expected))
    }

    fn parsed<T>(&mut self, expected: &str, f: impl Fn(&str) -> Result<T, String>) -> Result<T, ParseError> {
        let column = self.column();
        let t = self.next(expected)?;
        f(&t.text).map_err(|reason| ParseError {
            column,
            expected: expected.to_string(),
            found: format!("\"{}\" ({reason})", t.text.chars().take(40).collect::<String>()),
        })
    }

    fn host(&mut self) -> Result<Hostname, ParseError> {
        self.parsed("a machine's hostname", |s| {
            Hostname::parse(s).map_err(|e| e.reason.to_string())
        })
    }

    fn group(&mut self) -> Result<GroupName, ParseError> {
        self.parsed("a group name", |s| {
            GroupName::parse(s).map_err(|e| e.reason.to_string())
        })
    }

    fn mode(&mut self) -> Result<Mode, ParseError> {
        self.parsed("a mode (cluster, group:<name> or machine:<host>)", |s| {
            Mode::parse(s).map_err(|e| e.reason.to_string())
        })
    }

    fn version(&mut self) -> Result<Version, ParseError> {
        self.parsed("a version like 9.5.0", |s| {
            Version::parse(s).map_err(|e| e.reason.to_string())
        })
    }

    fn rest(&mut self) -> Vec<String> {
        let out = self.tokens[self.pos..].iter().map(|t| t.text.clone()).collect();
        self.pos = self.tokens.len();
        out
    }

    fn done(&self) -> Result<(), ParseError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.err("the end of the line")),
        }
    }
}

fn one_of(words: &[&str]) -> String {
    match words {
        [one] => one.to_string(),
        _ => format!("one of {}", words.join(", ")),
    }
}

/// Every command word the parser knows, for `help` and completion.
pub fn command_words() -> Vec<&'static str> {
    let mut words = vec![
        "clusterconfig",
        "clustermode",
        "clustershow",
        "clusterset",
        "clustercheck",
        "commit",
        "clear",
        "passwd",
        "suspendlistener",
        "resumelistener",
        "suspend",
        "resume",
        "status",
        "version",
        "showqueue",
        "showquarantine",
        "showlog",
        "upgrade",
        "saveconfig",
        "showconfig",
        "loadconfig",
        "help",
    ];
    words.extend(CATALOGUE.iter().map(|s| s.command));
    words.sort_unstable();
    words
}

const CLUSTERCONFIG_SUBS: &[&str] = &[
    "create",
    "join",
    "prepjoin",
    "list",
    "connstatus",
    "addgroup",
    "renamegroup",
    "deletegroup",
    "setgroup",
    "setname",
    "removemachine",
    "disconnect",
    "reconnect",
];

fn feature_sel(w: &mut Words) -> Result<FeatureSel, ParseError> {
    let column = w.column();
    let t = w.next("a feature command (smtproutes, listenerconfig, ...) or all")?;
    if !t.quoted && t.text.eq_ignore_ascii_case("all") {
        return Ok(FeatureSel::All);
    }
    FeatureId::from_command(&t.text)
        .map(FeatureSel::One)
        .ok_or_else(|| ParseError {
            column,
            expected: "a feature command (smtproutes, listenerconfig, ...) or all".into(),
            found: format!("\"{}\"", t.text.chars().take(40).collect::<String>()),
        })
}

fn feature_id(w: &mut Words) -> Result<FeatureId, ParseError> {
    let column = w.column();
    match feature_sel(w)? {
        FeatureSel::One(f) => Ok(f),
        FeatureSel::All => Err(ParseError {
            column,
            expected: "a feature command".into(),
            found: "\"all\"".into(),
        }),
    }
}

fn port_number(s: &str) -> Result<String, String> {
    match s.parse::<u32>() {
        Ok(1..=65535) => Ok(s.to_string()),
        _ => Err("a port is a number from 1 to 65535".into()),
    }
}

/// `interfaceconfig new|edit <name> <ip> [ssh[=<port>]] [ccs[=<port>]]`.
fn interface_row(w: &mut Words) -> Result<Vec<String>, ParseError> {
    let name = w.word("an interface name")?;
    let ip = w.word("an IP address")?;
    let mut ssh = "0".to_string();
    let mut ccs = "0".to_string();
    while let Some(t) = w.peek() {
        let lower = t.text.to_ascii_lowercase();
        let (key, value) = match lower.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (lower.clone(), None),
        };
        let column = t.column;
        let slot = match key.as_str() {
            "ssh" => &mut ssh,
            "ccs" => &mut ccs,
            _ => return Err(w.err("ssh[=<port>] or ccs[=<port>]")),
        };
        *slot = match value {
            None if key == "ssh" => "22".into(),
            None => "2222".into(),
            Some(v) => port_number(&v).map_err(|reason| ParseError {
                column,
                expected: format!("{key}=<port>"),
                found: format!("\"{}\" ({reason})", t.text),
            })?,
        };
        w.pos += 1;
    }
    Ok(vec![name, ip, ssh, ccs])
}

fn parse_feature(feature: FeatureId, w: &mut Words) -> Result<Command, ParseError> {
    let schema = feature.schema();
    let action = if schema.shape == Shape::Single {
        if w.peek().is_none() || w.keyword(&["print"]).is_some() {
            FeatureAction::Print
        } else {
            FeatureAction::Set(w.rest())
        }
    } else {
        let actions: &[&str] = if feature == FeatureId::Users {
            &["print", "list", "new", "edit", "delete"]
        } else {
            &["print", "new", "edit", "delete"]
        };
        if w.peek().is_none() {
            FeatureAction::Print
        } else {
            match w.expect_keyword(actions)?.as_str() {
                "print" | "list" => FeatureAction::Print,
                "new" if feature == FeatureId::IpInterfaces => FeatureAction::New(interface_row(w)?),
                "edit" if feature == FeatureId::IpInterfaces => FeatureAction::Edit(interface_row(w)?),
                "new" => {
                    let cells = w.rest();
                    if cells.is_empty() {
                        return Err(w.err(format!("the row: {}", schema.row_syntax())));
                    }
                    FeatureAction::New(cells)
                }
                "edit" => {
                    let cells = w.rest();
                    if cells.is_empty() {
                        return Err(w.err(format!("the row: {}", schema.row_syntax())));
                    }
                    FeatureAction::Edit(cells)
                }
                _ => FeatureAction::Delete(w.word(&format!("the <{}> to delete", schema.columns[0].name))?),
            }
        }
    };
    w.done()?;
    Ok(Command::Feature { feature, action })
}

fn parse_clusterconfig(w: &mut Words) -> Result<Command, ParseError> {
    let Some(sub) = w.keyword(CLUSTERCONFIG_SUBS) else {
        if w.peek().is_none() {
            return Ok(Command::ClusterConfig);
        }
        return Err(w.err(one_of(CLUSTERCONFIG_SUBS)));
    };
    let cmd = match sub.as_str() {
        "create" => {
            let name = w.parsed("a cluster name", |s| {
                ClusterName::parse(s).map_err(|e| e.reason.to_string())
            })?;
            let addressing = match w.keyword(&["hostname", "ip"]).as_deref() {
                Some("ip") => Addressing::Ip,
                _ => Addressing::Hostname,
            };
            Command::Create { name, addressing }
        }
        "join" => {
            let member = w.host()?;
            let (mut ccs, mut port, mut group, mut by_ip) = (false, None, None, false);
            while let Some(kw) = w.keyword(&["ccs", "port", "group", "by"]) {
                match kw.as_str() {
                    "ccs" => ccs = true,
                    "port" => {
                        port = Some(w.parsed("a port number", |s| {
                            s.parse::<u16>()
                                .ok()
                                .filter(|p| *p > 0)
                                .ok_or_else(|| "a port is a number from 1 to 65535".to_string())
                        })?)
                    }
                    "group" => group = Some(w.group()?),
                    _ => {
                        w.expect_keyword(&["ip"])?;
                        by_ip = true;
                    }
                }
            }
            Command::Join {
                member,
                ccs,
                port,
                group,
                by_ip,
            }
        }
        "prepjoin" => match w.expect_keyword(&["print", "new", "delete"])?.as_str() {
            "print" => Command::PrepJoinPrint,
            "new" => {
                let serial = w.word("the joining machine's serial number")?;
                let host = w.host()?;
                let user_key = w.word("the joining machine's user key")?;
                Command::PrepJoinNew {
                    serial,
                    host,
                    user_key,
                }
            }
            _ => Command::PrepJoinDelete {
                entry: w.word("a serial number or hostname")?,
            },
        },
        "list" => Command::List,
        "connstatus" => Command::ConnStatus,
        "addgroup" => Command::AddGroup { group: w.group()? },
        "renamegroup" => Command::RenameGroup {
            old: w.group()?,
            new: w.group()?,
        },
        "deletegroup" => {
            let group = w.group()?;
            let dest = if w.peek().is_some() {
                Some(w.group()?)
            } else {
                None
            };
            Command::DeleteGroup { group, dest }
        }
        "setgroup" => Command::SetGroup {
            host: w.host()?,
            group: w.group()?,
        },
        "setname" => Command::SetName {
            name: w.parsed("a cluster name", |s| {
                ClusterName::parse(s).map_err(|e| e.reason.to_string())
            })?,
        },
        "removemachine" => Command::RemoveMachine { host: w.host()? },
        "disconnect" | "reconnect" => {
            let mut hosts = vec![w.host()?];
            while w.peek().is_some() {
                hosts.push(w.host()?);
            }
            if sub == "disconnect" {
                Command::Disconnect { hosts }
            } else {
                Command::Reconnect { hosts }
            }
        }
        _ => unreachable_sub(),
    };
    w.done()?;
    Ok(cmd)
}

fn unreachable_sub() -> Command {
    // Every keyword of CLUSTERCONFIG_SUBS is matched above; keep a harmless answer rather than panic.
    Command::ClusterConfig
}

/// Parses one line into a command.
pub fn parse(line: &str) -> Result<Command, ParseError> {
    let tokens = tokenize(line)?;
    let mut w = Words {
        tokens: &tokens,
        pos: 0,
        end_column: line.chars().count() + 1,
    };
    let first = w.next("a command (type help for the list)")?;
    let word = first.text.to_ascii_lowercase();
    if let Some(feature) = FeatureId::from_command(&word) {
        return parse_feature(feature, &mut w);
    }
    let cmd = match word.as_str() {
        "clusterconfig" => return parse_clusterconfig(&mut w),
        "clustermode" => {
            let mode = match w.keyword(&["cluster", "group", "machine"]).as_deref() {
                None if w.peek().is_none() => None,
                None => {
                    // Also accept the mode notation `group:<g>` / `machine:<host>`.
                    Some(w.mode()?)
                }
                Some("cluster") => Some(Mode::Cluster),
                Some("group") => Some(Mode::Group(w.group()?)),
                _ => Some(Mode::Machine(w.host()?)),
            };
            Command::ClusterMode { mode }
        }
        "clustershow" => Command::ClusterShow {
            feature: feature_id(&mut w)?,
        },
        "clusterset" => match w.expect_keyword(&["copy", "move", "delete"])?.as_str() {
            "copy" => Command::ClusterSet(ClusterSet::Copy {
                feature: feature_sel(&mut w)?,
                from: w.mode()?,
                to: w.mode()?,
            }),
            "move" => Command::ClusterSet(ClusterSet::Move {
                feature: feature_sel(&mut w)?,
                from: w.mode()?,
                to: w.mode()?,
            }),
            _ => Command::ClusterSet(ClusterSet::Delete {
                feature: feature_sel(&mut w)?,
                mode: w.mode()?,
            }),
        },
        "clustercheck" => Command::ClusterCheck,
        "commit" => {
            let rest = w.rest();
            Command::Commit {
                comment: if rest.is_empty() {
                    None
                } else {
                    Some(rest.join(" "))
                },
            }
        }
        "clear" => Command::Clear,
        "passwd" => Command::Passwd {
            password: w.word("the new password")?,
        },
        "suspendlistener" | "resumelistener" => {
            let listener = if w.peek().is_some() {
                Some(w.word("a listener name")?)
            } else {
                None
            };
            if word == "suspendlistener" {
                Command::SuspendListener { listener }
            } else {
                Command::ResumeListener { listener }
            }
        }
        "suspend" => Command::Suspend,
        "resume" => Command::Resume,
        "status" => Command::Status,
        "version" => Command::Version,
        "showqueue" => Command::ShowQueue,
        "showquarantine" => Command::ShowQuarantine,
        "showlog" => Command::ShowLog,
        "upgrade" => {
            if w.peek().is_none() {
                Command::Upgrade(UpgradeOp::List)
            } else if w.keyword(&["download"]).is_some() {
                Command::Upgrade(UpgradeOp::Download(w.version()?))
            } else {
                Command::Upgrade(UpgradeOp::Install(w.version()?))
            }
        }
        "saveconfig" => {
            let mut name = None;
            let mut masked = false;
            while let Some(t) = w.peek() {
                if !t.quoted && t.text.eq_ignore_ascii_case("masked") {
                    masked = true;
                    w.pos += 1;
                } else if name.is_none() && !masked {
                    name = Some(w.parsed("a file name", file_name)?);
                } else {
                    return Err(w.err("masked or the end of the line"));
                }
            }
            Command::SaveConfig { name, masked }
        }
        "showconfig" => Command::ShowConfig,
        "loadconfig" => Command::LoadConfig {
            name: w.parsed("a file name", file_name)?,
        },
        "help" => Command::Help {
            topic: if w.peek().is_some() {
                Some(w.word("a command")?.to_ascii_lowercase())
            } else {
                None
            },
        },
        _ => {
            return Err(ParseError {
                column: first.column,
                expected: "a command (type help for the list)".into(),
                found: format!("\"{}\"", first.text.chars().take(40).collect::<String>()),
            })
        }
    };
    w.done()?;
    Ok(cmd)
}

/// A saved configuration's name: letters, digits, `_`, `-`, `.`; at most 64 characters.
pub fn file_name(s: &str) -> Result<String, String> {
    if s.is_empty() || s.len() > 64 {
        return Err("a file name has 1 to 64 characters".into());
    }
    if s.eq_ignore_ascii_case("masked") {
        return Err("\"masked\" is a keyword, not a file name".into());
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        || s.starts_with('.')
    {
        return Err(
            "a file name may contain only letters, digits, '_', '-' and '.', and not start with '.'".into(),
        );
    }
    Ok(s.to_string())
}

/// One-line synopsis and longer help of each command word.
pub fn help_text(word: &str) -> Option<(&'static str, &'static str)> {
    let word = word.to_ascii_lowercase();
    if let Some(f) = FeatureId::from_command(&word) {
        let s = f.schema();
        return Some((s.synopsis, s.synopsis));
    }
    Some(match word.as_str() {
        "clusterconfig" => (
            "Create, join and configure the cluster.",
            "clusterconfig                         standalone: how to create or join; member: the cluster summary\n\
             clusterconfig create <name> [hostname|ip]\n\
             clusterconfig join <member-host> [ccs] [port <n>] [group <g>] [by ip]\n\
             clusterconfig prepjoin print | new <serial> <host> <user-key> | delete <serial|host>\n\
             clusterconfig list | connstatus\n\
             clusterconfig addgroup <g> | renamegroup <old> <new> | deletegroup <g> [<dest>] | setgroup <host> <g> | setname <name>\n\
             clusterconfig removemachine <host>\n\
             clusterconfig disconnect <host>... | reconnect <host>...\n\
             Group, name and prepjoin changes are staged until commit; the others act at once.",
        ),
        "clustermode" => (
            "Show or change the mode the session configures.",
            "clustermode cluster | group <g> | machine <host>\nclustermode            prints the current mode",
        ),
        "clustershow" => ("Show where a feature is defined and where each machine's value comes from.", "clustershow <feature>"),
        "clusterset" => (
            "Copy, move or delete a feature's settings between modes (staged).",
            "clusterset copy <feature|all> <from-mode> <to-mode>\nclusterset move <feature|all> <from> <to>\nclusterset delete <feature|all> <mode>\nModes: cluster, group:<name>, machine:<host>.",
        ),
        "clustercheck" => ("Compare every member's copy of the configuration and resolve inconsistencies.", "clustercheck   (cluster mode)"),
        "commit" => ("Apply every staged change of this session.", "commit [comment]"),
        "clear" => ("Discard every staged change of this session.", "clear"),
        "passwd" => ("Change your own password (cluster level, at once).", "passwd <new-password>"),
        "suspendlistener" => ("Stop a listener (or all) accepting connections on the machine of the mode.", "suspendlistener [<listener>]   (machine mode)"),
        "resumelistener" => ("Resume a listener (or all) on the machine of the mode.", "resumelistener [<listener>]   (machine mode)"),
        "suspend" => ("Suspend receiving and delivery on the machine of the mode.", "suspend   (machine mode)"),
        "resume" => ("Resume everything suspended on the machine of the mode.", "resume   (machine mode)"),
        "status" => ("Show listeners, mail traffic and state of a machine.", "status   (the machine of the mode, or the login host)"),
        "version" => ("Show the AsyncOS version of a machine.", "version   (the machine of the mode, or the login host)"),
        "showqueue" => ("Show the mail queue of a machine.", "showqueue   (the machine of the mode, or the login host)"),
        "showquarantine" => ("Show the local quarantine of a machine.", "showquarantine   (machine mode)"),
        "showlog" => ("Show the local log of a machine.", "showlog   (machine mode)"),
        "upgrade" => (
            "List or install AsyncOS upgrades on the login host.",
            "upgrade                 lists the versions offered\nupgrade <version>       installs it; the machine reboots when done\nupgrade download <version>   downloads in the background\nUpgrading a connected member disconnects every member: disconnect it first.",
        ),
        "saveconfig" => ("Save the configuration to a file on the login host.", "saveconfig [<name>] [masked]"),
        "showconfig" => ("Show the configuration as a file would hold it.", "showconfig"),
        "loadconfig" => ("Load a configuration file saved on the login host (staged).", "loadconfig <name>"),
        "help" => ("List commands, or explain one.", "help [<command>]"),
        _ => return None,
    })
}

/// Completion candidates for a partial line: whole replacement lines, sorted.
pub fn complete(fleet: &Fleet, line: &str) -> Vec<String> {
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
    let hosts = || fleet.machines.keys().map(|h| h.to_string()).collect::<Vec<_>>();
    let groups = || {
        let mut g: Vec<String> = fleet
            .clusters
            .values()
            .flat_map(|c| c.groups.iter().map(|g| g.to_string()))
            .collect();
        g.sort();
        g.dedup();
        g
    };
    let modes = || {
        let mut m = vec!["cluster".to_string()];
        m.extend(groups().into_iter().map(|g| format!("group:{g}")));
        m.extend(hosts().into_iter().map(|h| format!("machine:{h}")));
        m
    };
    let features = || {
        CATALOGUE
            .iter()
            .map(|s| s.command.to_string())
            .collect::<Vec<_>>()
    };
    let first = done.first().map(|w| w.to_ascii_lowercase());
    let candidates: Vec<String> = match (first.as_deref(), done.len()) {
        (None, _) => command_words().into_iter().map(String::from).collect(),
        (Some("clusterconfig"), 1) => CLUSTERCONFIG_SUBS.iter().map(|s| s.to_string()).collect(),
        (Some("clusterconfig"), 2) => match done[1].to_ascii_lowercase().as_str() {
            "disconnect" | "reconnect" | "removemachine" | "setgroup" | "join" => hosts(),
            "renamegroup" | "deletegroup" => groups(),
            "prepjoin" => vec!["print".into(), "new".into(), "delete".into()],
            "create" => vec![],
            _ => vec![],
        },
        (Some("clusterconfig"), n) if n >= 3 => match done[1].to_ascii_lowercase().as_str() {
            "disconnect" | "reconnect" => hosts(),
            "setgroup" | "deletegroup" => groups(),
            "join" => vec!["ccs".into(), "port".into(), "group".into(), "by".into()],
            _ => vec![],
        },
        (Some("clustermode"), 1) => vec!["cluster".into(), "group".into(), "machine".into()],
        (Some("clustermode"), 2) => match done[1].to_ascii_lowercase().as_str() {
            "group" => groups(),
            "machine" => hosts(),
            _ => vec![],
        },
        (Some("clustershow"), 1) => features(),
        (Some("clusterset"), 1) => vec!["copy".into(), "move".into(), "delete".into()],
        (Some("clusterset"), 2) => {
            let mut f = features();
            f.push("all".into());
            f
        }
        (Some("clusterset"), 3 | 4) => modes(),
        (Some("help"), 1) => command_words().into_iter().map(String::from).collect(),
        (Some("upgrade"), 1) => {
            let mut v: Vec<String> = fleet.upgrades_offered.iter().map(|v| v.to_string()).collect();
            v.push("download".into());
            v
        }
        (Some(w), 1) if FeatureId::from_command(w).is_some_and(|f| f.schema().shape == Shape::Table) => {
            vec!["print".into(), "new".into(), "edit".into(), "delete".into()]
        }
        _ => vec![],
    };
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
        assert!(complete(&fleet, "cluster").contains(&"clusterconfig".to_string()));
        assert!(complete(&fleet, "clusterconfig dis").contains(&"clusterconfig disconnect".to_string()));
        assert!(complete(&fleet, "clustermode group W").contains(&"clustermode group West".to_string()));
        assert!(complete(&fleet, "clusterset copy smtproutes cluster group:")
            .contains(&"clusterset copy smtproutes cluster group:West".to_string()));
    }
}
