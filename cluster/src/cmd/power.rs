//! `reboot` and `shutdown` (rules §16.3): the machine of the mode goes down and comes back, or stays off
//! until the simulator powers it on. Its queues are kept. They go with `upgrade` (administrators and
//! operators).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::runtime::changing_target;
use super::{CommandKind, Ctx, Family, Help};
use crate::event::EventKind;
use crate::fleet::REBOOT_SECS;
use crate::lexer::{ParseError, Words};
use crate::roles::Permission;
use crate::verdict::{Asker, Choice, Plan, Stop, YesNo};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PowerCmd {
    Reboot,
    Shutdown,
}

impl Family for PowerCmd {
    fn owns(word: &str) -> bool {
        matches!(word, "reboot" | "shutdown")
    }

    fn words() -> Vec<&'static str> {
        vec!["reboot", "shutdown"]
    }

    fn parse(word: &str, w: &mut Words) -> Result<Self, ParseError> {
        w.done()?;
        Ok(if word == "reboot" {
            PowerCmd::Reboot
        } else {
            PowerCmd::Shutdown
        })
    }

    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }

    fn word(&self) -> &'static str {
        match self {
            PowerCmd::Reboot => "reboot",
            PowerCmd::Shutdown => "shutdown",
        }
    }

    fn kind(&self) -> CommandKind {
        CommandKind::Immediate
    }

    fn permission(&self) -> Permission {
        Permission::Upgrade
    }

    fn check(&self, ctx: &Ctx, asker: &mut Asker) -> Result<Plan, Stop> {
        let m = changing_target(ctx)?;
        let host = m.hostname.clone();
        let slower = i64::from(m.runtime.faults.reboot_extra_secs);
        let back = REBOOT_SECS + slower;
        let (question, event, line) = match self {
            PowerCmd::Reboot => (
                YesNo {
                    question: format!(
                        "Warning: {host} reboots now: it stops receiving and delivering mail until it is back; sessions stay open. Continue? [N]>"
                    ),
                    default_yes: false,
                    title: format!("Reboot {host}?"),
                    body: vec![
                        format!("{host} stops receiving and delivering mail until it is back, in about {back} simulated seconds."),
                        "Its queues are kept and sessions stay open.".into(),
                    ],
                    yes: Choice::destroys(format!("Reboot {host}")),
                    no: Choice::changes_nothing("Don't reboot"),
                },
                EventKind::RebootStarted { host: host.clone() },
                format!("Rebooting {host}: back in about {back} simulated seconds; its queues are kept."),
            ),
            PowerCmd::Shutdown => (
                YesNo {
                    question: format!(
                        "Warning: {host} shuts down and stays off until it is powered on (the simulator's power control); sessions logged in to it end. Continue? [N]>"
                    ),
                    default_yes: false,
                    title: format!("Shut down {host}?"),
                    body: vec![
                        format!("{host} stays off until it is powered on again on the Simulator page."),
                        format!("Sessions logged in to {host} end; its queues are kept."),
                    ],
                    yes: Choice::destroys(format!("Shut down {host}")),
                    no: Choice::changes_nothing("Don't shut down"),
                },
                EventKind::ShutDown { host: host.clone() },
                format!("{host} is shutting down; its queues are kept."),
            ),
        };
        if !asker.yes_no(question)? {
            return Ok(Plan::output(vec![format!(
                "{} cancelled; nothing changed.",
                if *self == PowerCmd::Reboot {
                    "Reboot"
                } else {
                    "Shutdown"
                }
            )]));
        }
        Ok(Plan {
            events: vec![ctx.event(event)],
            output: vec![line],
            ..Plan::default()
        })
    }

    fn help(word: &str) -> Option<Help> {
        Some(if word == "reboot" {
            Help::new(
                "Reboot the machine of the mode; it comes back with its queues.",
                "reboot   (machine mode)",
            )
        } else {
            Help::new(
                "Shut the machine of the mode down; it stays off until powered on.",
                "shutdown   (machine mode)",
            )
        })
    }
}
