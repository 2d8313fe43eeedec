//! Runtime commands on the machine of the mode (rules §3.10, §14.3.2): `suspendlistener`,
//! `resumelistener`, `suspend`, `resume`. They act at once, on that machine only, and are never
//! replicated; the machine must be reachable from the login host.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CommandKind, Ctx, Family, Help};
use crate::event::EventKind;
use crate::features::quote_if_needed;
use crate::fleet::Machine;
use crate::lexer::{ParseError, Words};
use crate::mail::listener_states;
use crate::roles::Permission;
use crate::verdict::{Asker, Plan, Rejection, Stop};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum RuntimeCmd {
    /// `suspendlistener [<listener>]`: stop taking new connections (all listeners without a name).
    SuspendListener { listener: Option<String> },
    /// `resumelistener [<listener>]`.
    ResumeListener { listener: Option<String> },
    /// `suspend`: receiving and delivery.
    Suspend,
    /// `resume`: everything `suspend`, `suspendlistener` or `suspenddel` stopped.
    Resume,
    /// `suspenddel`: stop delivery; receiving goes on and the queue grows (rules §16.5).
    SuspendDel,
    /// `resumedel`.
    ResumeDel,
}

impl Family for RuntimeCmd {
    fn owns(word: &str) -> bool {
        matches!(
            word,
            "suspendlistener" | "resumelistener" | "suspend" | "resume" | "suspenddel" | "resumedel"
        )
    }

    fn words() -> Vec<&'static str> {
        vec![
            "suspendlistener",
            "resumelistener",
            "suspend",
            "resume",
            "suspenddel",
            "resumedel",
        ]
    }

    fn parse(word: &str, w: &mut Words) -> Result<Self, ParseError> {
        let cmd = match word {
            "suspendlistener" | "resumelistener" => {
                let listener = if w.is_empty() {
                    None
                } else {
                    Some(w.word("a listener name")?)
                };
                if word == "suspendlistener" {
                    RuntimeCmd::SuspendListener { listener }
                } else {
                    RuntimeCmd::ResumeListener { listener }
                }
            }
            "suspend" => RuntimeCmd::Suspend,
            "suspenddel" => RuntimeCmd::SuspendDel,
            "resumedel" => RuntimeCmd::ResumeDel,
            _ => RuntimeCmd::Resume,
        };
        w.done()?;
        Ok(cmd)
    }

    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuntimeCmd::SuspendListener { listener: Some(l) } => {
                write!(f, "suspendlistener {}", quote_if_needed(l))
            }
            RuntimeCmd::SuspendListener { listener: None } => f.write_str("suspendlistener"),
            RuntimeCmd::ResumeListener { listener: Some(l) } => {
                write!(f, "resumelistener {}", quote_if_needed(l))
            }
            RuntimeCmd::ResumeListener { listener: None } => f.write_str("resumelistener"),
            RuntimeCmd::Suspend | RuntimeCmd::Resume | RuntimeCmd::SuspendDel | RuntimeCmd::ResumeDel => {
                f.write_str(self.word())
            }
        }
    }

    fn word(&self) -> &'static str {
        match self {
            RuntimeCmd::SuspendListener { .. } => "suspendlistener",
            RuntimeCmd::ResumeListener { .. } => "resumelistener",
            RuntimeCmd::Suspend => "suspend",
            RuntimeCmd::Resume => "resume",
            RuntimeCmd::SuspendDel => "suspenddel",
            RuntimeCmd::ResumeDel => "resumedel",
        }
    }

    fn kind(&self) -> CommandKind {
        CommandKind::Immediate
    }

    fn permission(&self) -> Permission {
        Permission::Runtime
    }

    fn check(&self, ctx: &Ctx, _asker: &mut Asker) -> Result<Plan, Stop> {
        let m = changing_target(ctx)?;
        let host = m.hostname.clone();
        let (event, output) = match self {
            RuntimeCmd::SuspendListener { listener } => {
                let listeners = listeners_named(ctx, m, listener.as_deref())?;
                let output = listeners
                    .iter()
                    .map(|l| format!("Listener {l} on {host} stopped taking new connections."))
                    .collect();
                (EventKind::ListenersSuspended { host, listeners }, output)
            }
            RuntimeCmd::ResumeListener { listener } => {
                let listeners = listeners_named(ctx, m, listener.as_deref())?;
                let output = listeners
                    .iter()
                    .map(|l| format!("Listener {l} on {host} takes new connections again."))
                    .collect();
                (EventKind::ListenersResumed { host, listeners }, output)
            }
            RuntimeCmd::Suspend => {
                let output = vec![format!("Receiving and delivery stopped on {host}.")];
                (EventKind::MachineSuspended { host }, output)
            }
            RuntimeCmd::Resume => {
                let output = vec![format!(
                    "Receiving and delivery resumed on {host}; every listener takes connections again."
                )];
                (EventKind::MachineResumed { host }, output)
            }
            RuntimeCmd::SuspendDel => {
                let output = vec![format!(
                    "Delivery suspended on {host}; messages queue until resumedel."
                )];
                (
                    EventKind::DeliveryChanged {
                        host,
                        suspended: true,
                    },
                    output,
                )
            }
            RuntimeCmd::ResumeDel => {
                let output = vec![format!("Delivery resumed on {host}.")];
                (
                    EventKind::DeliveryChanged {
                        host,
                        suspended: false,
                    },
                    output,
                )
            }
        };
        Ok(Plan {
            events: vec![ctx.event(event)],
            output,
            ..Plan::default()
        })
    }

    fn help(word: &str) -> Option<Help> {
        Some(match word {
            "suspendlistener" => Help::new(
                "Stop a listener (or all) accepting connections on the machine of the mode.",
                "suspendlistener [<listener>]   (machine mode)",
            ),
            "resumelistener" => Help::new(
                "Resume a listener (or all) on the machine of the mode.",
                "resumelistener [<listener>]   (machine mode)",
            ),
            "suspend" => Help::new(
                "Suspend receiving and delivery on the machine of the mode.",
                "suspend   (machine mode)",
            ),
            "suspenddel" => Help::new(
                "Suspend delivery on the machine of the mode; receiving goes on.",
                "suspenddel   (machine mode)",
            ),
            "resumedel" => Help::new(
                "Resume delivery on the machine of the mode.",
                "resumedel   (machine mode)",
            ),
            _ => Help::new(
                "Resume everything suspended on the machine of the mode.",
                "resume   (machine mode)",
            ),
        })
    }
}

/// The machine a runtime command acts on: the machine of the mode, reachable from the login host.
pub(super) fn target<'a>(ctx: &Ctx<'a>) -> Result<&'a Machine, Rejection> {
    let host = ctx.machine_of_mode();
    let machine = ctx
        .fleet
        .machine(host)
        .ok_or_else(|| Rejection::UnknownMachine { host: host.clone() })?;
    if host != ctx.host() && (machine.is_off() || machine.is_rebooting()) {
        let state = if machine.is_off() {
            "powered off"
        } else {
            "rebooting"
        };
        return Err(Rejection::HostDown {
            host: host.clone(),
            state,
        });
    }
    if !ctx.reaches(host) {
        return Err(Rejection::Unreachable {
            host: host.clone(),
            login_host: ctx.host().clone(),
        });
    }
    Ok(machine)
}

/// The target, refused while it installs an upgrade or reboots.
pub(super) fn changing_target<'a>(ctx: &Ctx<'a>) -> Result<&'a Machine, Rejection> {
    let m = target(ctx)?;
    if m.is_upgrading() {
        let state = super::upgrade_progress(m, ctx.now)
            .map(|p| p.phase.word().to_string())
            .unwrap_or_default();
        return Err(Rejection::HostUpgrading {
            host: m.hostname.clone(),
            state,
        });
    }
    Ok(m)
}

fn listeners_named(ctx: &Ctx, m: &Machine, listener: Option<&str>) -> Result<Vec<String>, Rejection> {
    let all: Vec<String> = listener_states(ctx.fleet, &m.hostname)
        .into_iter()
        .map(|l| l.name)
        .collect();
    match listener {
        None => Ok(all),
        Some(l) if all.iter().any(|x| x == l) => Ok(vec![l.to_string()]),
        Some(l) => Err(Rejection::UnknownListener {
            host: m.hostname.clone(),
            listener: l.chars().take(80).collect(),
        }),
    }
}
