//! `workqueue` (rules §16.5): the work queue of the machine of the mode — messages received and not yet
//! processed. `workqueue status` is a status read; `pause` and `resume` go with `suspendlistener`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::runtime::{changing_target, target};
use super::{CommandKind, Completion, Ctx, Family, Help};
use crate::event::EventKind;
use crate::lexer::{ParseError, Words};
use crate::mail::counters;
use crate::roles::Permission;
use crate::verdict::{Asker, Plan, Stop};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum WorkQueueCmd {
    /// `workqueue status` (also `workqueue` alone).
    Status,
    /// `workqueue pause`: stop processing; received messages wait in the queue.
    Pause,
    /// `workqueue resume`.
    Resume,
}

impl Family for WorkQueueCmd {
    fn owns(word: &str) -> bool {
        word == "workqueue"
    }

    fn words() -> Vec<&'static str> {
        vec!["workqueue"]
    }

    fn parse(_word: &str, w: &mut Words) -> Result<Self, ParseError> {
        let cmd = if w.is_empty() {
            WorkQueueCmd::Status
        } else {
            match w.expect_keyword(&["status", "pause", "resume"])?.as_str() {
                "pause" => WorkQueueCmd::Pause,
                "resume" => WorkQueueCmd::Resume,
                _ => WorkQueueCmd::Status,
            }
        };
        w.done()?;
        Ok(cmd)
    }

    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkQueueCmd::Status => f.write_str("workqueue status"),
            WorkQueueCmd::Pause => f.write_str("workqueue pause"),
            WorkQueueCmd::Resume => f.write_str("workqueue resume"),
        }
    }

    fn word(&self) -> &'static str {
        "workqueue"
    }

    fn kind(&self) -> CommandKind {
        match self {
            WorkQueueCmd::Status => CommandKind::Read,
            _ => CommandKind::Immediate,
        }
    }

    fn permission(&self) -> Permission {
        match self {
            WorkQueueCmd::Status => Permission::Read,
            _ => Permission::Runtime,
        }
    }

    fn check(&self, ctx: &Ctx, _asker: &mut Asker) -> Result<Plan, Stop> {
        match self {
            WorkQueueCmd::Status => {
                let m = target(ctx)?;
                let c = counters(ctx.fleet, &m.hostname, ctx.now);
                Ok(Plan::output(vec![
                    format!("Work queue of {}:", m.hostname),
                    format!("Status: {}", m.runtime.workqueue_word()),
                    format!("Messages in work queue: {}", c.work_queue),
                    format!("Messages in delivery queue: {}", c.delivery_queue),
                ]))
            }
            WorkQueueCmd::Pause | WorkQueueCmd::Resume => {
                let m = changing_target(ctx)?;
                let host = m.hostname.clone();
                let paused = *self == WorkQueueCmd::Pause;
                let line = if paused {
                    format!("Work queue paused on {host}; received messages wait in it.")
                } else {
                    format!("Work queue resumed on {host}.")
                };
                Ok(Plan {
                    events: vec![ctx.event(EventKind::WorkQueueChanged { host, paused })],
                    output: vec![line],
                    ..Plan::default()
                })
            }
        }
    }

    fn help(_word: &str) -> Option<Help> {
        Some(Help::new(
            "Show, pause or resume the work queue of the machine of the mode.",
            "workqueue status   messages received and not yet processed\nworkqueue pause\nworkqueue resume\n(machine mode)",
        ))
    }

    fn complete(_word: &str, done: &[&str], _c: &Completion) -> Vec<String> {
        if done.is_empty() {
            vec!["status".into(), "pause".into(), "resume".into()]
        } else {
            Vec::new()
        }
    }
}
