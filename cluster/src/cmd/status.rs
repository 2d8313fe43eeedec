//! Status reads of one machine (rules §3.10, §14.1.1, §14.3.2): `status`, `version`, `showqueue`, and
//! the machine-mode reads of local data `showquarantine` and `showlog`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::runtime::target;
use super::{CommandKind, Ctx, Family, Help};
use crate::fleet::Upgrade;
use crate::lexer::{ParseError, Words};
use crate::mail::{listener_states, traffic};
use crate::roles::{ModeRule, Permission, Role};
use crate::verdict::{Asker, Plan, Stop};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StatusCmd {
    Status,
    Version,
    ShowQueue,
    ShowQuarantine,
    ShowLog,
}

impl Family for StatusCmd {
    fn owns(word: &str) -> bool {
        matches!(
            word,
            "status" | "version" | "showqueue" | "showquarantine" | "showlog"
        )
    }

    fn words() -> Vec<&'static str> {
        vec!["status", "version", "showqueue", "showquarantine", "showlog"]
    }

    fn parse(word: &str, w: &mut Words) -> Result<Self, ParseError> {
        let cmd = match word {
            "status" => StatusCmd::Status,
            "version" => StatusCmd::Version,
            "showqueue" => StatusCmd::ShowQueue,
            "showquarantine" => StatusCmd::ShowQuarantine,
            _ => StatusCmd::ShowLog,
        };
        w.done()?;
        Ok(cmd)
    }

    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }

    fn word(&self) -> &'static str {
        match self {
            StatusCmd::Status => "status",
            StatusCmd::Version => "version",
            StatusCmd::ShowQueue => "showqueue",
            StatusCmd::ShowQuarantine => "showquarantine",
            StatusCmd::ShowLog => "showlog",
        }
    }

    fn kind(&self) -> CommandKind {
        CommandKind::Read
    }

    fn permission(&self) -> Permission {
        Permission::Read
    }

    /// `status`, `version` and `showqueue` report the machine of the mode, or the login host, from any
    /// mode (rules §14.1.1); the reads of local data are machine-mode commands.
    fn mode_rule(&self, _role: Role) -> ModeRule {
        match self {
            StatusCmd::Status | StatusCmd::Version | StatusCmd::ShowQueue => ModeRule::Any,
            _ => crate::roles::mode_rule(self.word()),
        }
    }

    fn allowed_while_upgrading(&self) -> bool {
        matches!(self, StatusCmd::Status | StatusCmd::Version)
    }

    fn check(&self, ctx: &Ctx, _asker: &mut Asker) -> Result<Plan, Stop> {
        let m = target(ctx)?;
        let fleet = ctx.fleet;
        let out = match self {
            StatusCmd::Status => {
                let mut out = vec![
                    format!("Machine: {}", m.hostname),
                    format!("AsyncOS version: {}", m.version),
                ];
                match m.cluster() {
                    Some(c) => out.push(format!("Cluster: {c} ({})", fleet.connection(&m.hostname).word())),
                    None => out.push("Cluster: none (standalone)".into()),
                }
                if let Some(p) = super::upgrade_progress(m, ctx.now) {
                    out.push(format!(
                        "Upgrade: {} AsyncOS {} ({}%)",
                        p.phase.word(),
                        p.version,
                        p.percent
                    ));
                } else if let Upgrade::Downloaded { version } = m.upgrade {
                    out.push(format!("Upgrade: AsyncOS {version} downloaded, ready to install"));
                }
                let t = traffic(fleet, &m.hostname, ctx.now);
                out.push(format!("Messages per minute: {}", t.messages_per_minute));
                out.push(format!("Queue depth: {} messages", t.queue_depth));
                for l in listener_states(fleet, &m.hostname) {
                    out.push(format!("{}: {}", l.name, l.state.word()));
                }
                out
            }
            StatusCmd::Version => vec![
                format!("Machine: {}", m.hostname),
                format!("AsyncOS version: {}", m.version),
            ],
            StatusCmd::ShowQueue => {
                let t = traffic(fleet, &m.hostname, ctx.now);
                vec![format!("Queue on {}: {} message(s)", m.hostname, t.queue_depth)]
            }
            StatusCmd::ShowQuarantine => {
                let mut out = vec![format!(
                    "Quarantine on {} ({} message(s)):",
                    m.hostname,
                    m.local.quarantine.len()
                )];
                out.extend(m.local.quarantine.iter().map(|q| format!("  {q}")));
                out
            }
            StatusCmd::ShowLog => {
                let mut out = vec![format!("Log of {}:", m.hostname)];
                out.extend(m.local.log.iter().map(|l| format!("  {l}")));
                out
            }
        };
        Ok(Plan::output(out))
    }

    fn help(word: &str) -> Option<Help> {
        Some(match word {
            "status" => Help::new(
                "Show listeners, mail traffic and state of a machine.",
                "status   (the machine of the mode, or the login host)",
            ),
            "version" => Help::new(
                "Show the AsyncOS version of a machine.",
                "version   (the machine of the mode, or the login host)",
            ),
            "showqueue" => Help::new(
                "Show the mail queue of a machine.",
                "showqueue   (the machine of the mode, or the login host)",
            ),
            "showquarantine" => Help::new(
                "Show the local quarantine of a machine.",
                "showquarantine   (machine mode)",
            ),
            _ => Help::new("Show the local log of a machine.", "showlog   (machine mode)"),
        })
    }
}
