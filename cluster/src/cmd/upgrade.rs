//! `upgrade` (rules §3.11, §6, §14.3.3): the state machine's commands, the versions offered, and its
//! time-driven transitions.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CommandKind, Completion, Ctx, Family, Help};
use crate::event::{Event, EventKind};
use crate::fleet::{Fleet, Machine, Power, Upgrade};
use crate::lexer::{ParseError, Words};
use crate::names::{Timestamp, Version};
use crate::roles::{ModeRule, Permission, Role};
use crate::verdict::{Asker, Plan, Rejection, Stop};

/// `upgrade` forms. Every form acts on the login host, from any mode (rules §14.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum UpgradeCmd {
    /// Lists the versions offered.
    List,
    /// Downloads in the background (T11); no disconnect.
    Download { version: Version },
    /// Installs, then reboots.
    Install { version: Version },
}

impl Family for UpgradeCmd {
    fn owns(word: &str) -> bool {
        word == "upgrade"
    }

    fn words() -> Vec<&'static str> {
        vec!["upgrade"]
    }

    fn parse(_word: &str, w: &mut Words) -> Result<Self, ParseError> {
        let cmd = if w.is_empty() {
            UpgradeCmd::List
        } else if w.keyword(&["download"]).is_some() {
            UpgradeCmd::Download {
                version: w.version()?,
            }
        } else {
            UpgradeCmd::Install {
                version: w.version()?,
            }
        };
        w.done()?;
        Ok(cmd)
    }

    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpgradeCmd::List => f.write_str("upgrade"),
            UpgradeCmd::Install { version } => write!(f, "upgrade {version}"),
            UpgradeCmd::Download { version } => write!(f, "upgrade download {version}"),
        }
    }

    fn word(&self) -> &'static str {
        "upgrade"
    }

    fn kind(&self) -> CommandKind {
        match self {
            UpgradeCmd::List => CommandKind::Read,
            _ => CommandKind::Immediate,
        }
    }

    fn permission(&self) -> Permission {
        match self {
            UpgradeCmd::List => Permission::Read,
            _ => Permission::Upgrade,
        }
    }

    fn mode_rule(&self, _role: Role) -> ModeRule {
        ModeRule::Any
    }

    fn check(&self, ctx: &Ctx, asker: &mut Asker) -> Result<Plan, Stop> {
        check(ctx, self, asker)
    }

    fn help(_word: &str) -> Option<Help> {
        Some(Help::new(
            "List or install AsyncOS upgrades on the login host.",
            "upgrade                 lists the versions offered\nupgrade <version>       installs it; the machine reboots when done\nupgrade download <version>   downloads in the background\nUpgrading a connected member disconnects every member: disconnect it first.",
        ))
    }

    fn complete(_word: &str, done: &[&str], c: &Completion) -> Vec<String> {
        if !done.is_empty() {
            return Vec::new();
        }
        let mut v: Vec<String> = match c.fleet.machine(c.login_host) {
            Some(m) => offered_versions(c.fleet, m)
                .iter()
                .map(|v| v.to_string())
                .collect(),
            None => Vec::new(),
        };
        v.push("download".into());
        v
    }
}

pub use crate::fleet::{INSTALL_SECS, REBOOT_SECS};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UpgradePhase {
    Installing,
    Rebooting,
}

impl UpgradePhase {
    pub fn word(self) -> &'static str {
        match self {
            UpgradePhase::Installing => "installing",
            UpgradePhase::Rebooting => "rebooting",
        }
    }
}

/// Where an upgrade stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpgradeProgress {
    pub phase: UpgradePhase,
    pub version: Version,
    /// 0–100 over install and reboot together.
    pub percent: u8,
    pub done_at: Timestamp,
}

pub fn upgrade_progress(machine: &Machine, now: Timestamp) -> Option<UpgradeProgress> {
    let Upgrade::Installing {
        version,
        started,
        fails,
        extra_secs,
    } = machine.upgrade
    else {
        return None;
    };
    // An install armed to fail ends when the install would have (rules §16.2); a slowed reboot takes
    // its extra seconds, past 600 s if need be.
    let total = if fails {
        INSTALL_SECS
    } else {
        INSTALL_SECS + REBOOT_SECS + i64::from(extra_secs)
    };
    let elapsed = now.secs_since(started).clamp(0, total);
    let phase = if elapsed < INSTALL_SECS {
        UpgradePhase::Installing
    } else {
        UpgradePhase::Rebooting
    };
    Some(UpgradeProgress {
        phase,
        version,
        percent: (elapsed * 100 / total.max(1)) as u8,
        done_at: started.plus_secs(total),
    })
}

/// The time-driven events due by `now`, in time order: upgrades that have rebooted or failed, reboots
/// that are over, and the daily record of the mail flow.
pub fn due_events(fleet: &Fleet, now: Timestamp) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::new();
    for m in fleet.machines.values() {
        let host = m.hostname.clone();
        if let Some(p) = upgrade_progress(m, now) {
            if p.done_at <= now {
                let fails = matches!(m.upgrade, Upgrade::Installing { fails: true, .. });
                let kind = if fails {
                    EventKind::UpgradeFailed { host }
                } else {
                    EventKind::UpgradeFinished { host }
                };
                out.push(Event::new(p.done_at, kind));
            }
        } else if let Power::Rebooting { until } = m.runtime.power {
            if until <= now {
                out.push(Event::new(until, EventKind::RebootFinished { host }));
            }
        }
    }
    out.sort_by_key(|e| e.at);
    if crate::mail::mail_due(fleet, now) {
        out.push(Event::new(now, EventKind::MailSettled));
    }
    out
}

/// The versions `upgrade` offers `machine` (rules §16.6): those offered that a valid upgrade path leads
/// to from the version it runs (any newer one when the fleet names no paths), oldest first.
pub fn offered_versions(fleet: &Fleet, machine: &Machine) -> Vec<Version> {
    let mut v: Vec<Version> = fleet
        .upgrades_offered
        .iter()
        .copied()
        .filter(|v| *v > machine.version)
        .filter(|v| {
            fleet.upgrade_paths.is_empty()
                || fleet
                    .upgrade_paths
                    .iter()
                    .any(|(from, to)| *from == machine.version && to == v)
        })
        .collect();
    v.sort();
    v
}

fn validate(ctx: &Ctx, version: Version) -> Result<(), Rejection> {
    let login = ctx.login;
    if !ctx.fleet.upgrades_offered.contains(&version) {
        // Name only what this machine can upgrade to (rules §16.6).
        let offered = offered_versions(ctx.fleet, login)
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let offered = if offered.is_empty() {
            "none".to_string()
        } else {
            offered
        };
        return Err(Rejection::VersionNotOffered { version, offered });
    }
    if version <= login.version {
        return Err(Rejection::NotNewer {
            host: login.hostname.clone(),
            current: login.version,
            version,
        });
    }
    let valid = offered_versions(ctx.fleet, login);
    if !valid.contains(&version) {
        let valid = valid.iter().map(|v| v.to_string()).collect::<Vec<_>>();
        return Err(Rejection::NoUpgradePath {
            host: login.hostname.clone(),
            current: login.version,
            version,
            valid: if valid.is_empty() {
                "none".to_string()
            } else {
                valid.join(", ")
            },
        });
    }
    if login.is_upgrading() {
        return Err(Rejection::AlreadyUpgrading {
            host: login.hostname.clone(),
        });
    }
    Ok(())
}

fn check(ctx: &Ctx, op: &UpgradeCmd, asker: &mut Asker) -> Result<Plan, Stop> {
    let login = ctx.login;
    let host = &login.hostname;
    match op {
        UpgradeCmd::List => {
            let versions = offered_versions(ctx.fleet, login);
            if versions.is_empty() {
                return Ok(Plan::output(vec![format!(
                    "No upgrades available for {host} (AsyncOS {}).",
                    login.version
                )]));
            }
            let mut out = vec![format!(
                "Upgrades available for {host} (AsyncOS {}):",
                login.version
            )];
            out.extend(
                versions
                    .iter()
                    .enumerate()
                    .map(|(i, v)| format!("{}. AsyncOS {v}", i + 1)),
            );
            Ok(Plan::output(out))
        }
        UpgradeCmd::Download { version } => {
            validate(ctx, *version)?;
            Ok(Plan {
                events: vec![ctx.event(EventKind::UpgradeDownloaded { host: host.clone(), version: *version })],
                output: vec![format!(
                    "AsyncOS {version} downloaded on {host} in the background; no machine was disconnected. Run \"upgrade {version}\" to install it."
                )],
                ..Plan::default()
            })
        }
        UpgradeCmd::Install { version } => {
            validate(ctx, *version)?;
            let question = match ctx.cluster() {
                Some(c) => format!(
                    "Warning: upgrading to {version} disconnects every machine of cluster {} unless {host} was disconnected first; {host} reboots when done. Continue? [N]>",
                    c.name
                ),
                None => format!("Warning: upgrading {host} to {version}; {host} reboots when done. Continue? [N]>"),
            };
            if !asker.yes_no(question, false)? {
                return Ok(Plan::output(vec!["Upgrade cancelled; nothing changed.".into()]));
            }
            let detach: Vec<_> = if ctx.cluster().is_some() && ctx.is_connected() {
                ctx.members()
                    .iter()
                    .filter(|m| !m.detached)
                    .map(|m| m.hostname.clone())
                    .collect()
            } else {
                Vec::new()
            };
            let mut warnings = Vec::new();
            if !detach.is_empty() {
                let names: Vec<String> = detach.iter().map(|h| h.to_string()).collect();
                warnings.push(format!(
                    "Warning: {host} was connected: every member of cluster {} is now disconnected ({}).",
                    ctx.cluster().map(|c| c.name.to_string()).unwrap_or_default(),
                    names.join(", ")
                ));
            }
            Ok(Plan {
                events: vec![ctx.event(EventKind::UpgradeStarted { host: host.clone(), version: *version, detach })],
                output: vec![format!(
                    "Upgrading {host} to AsyncOS {version}: installing, then rebooting (about {} simulated minutes).",
                    (INSTALL_SECS + REBOOT_SECS) / 60
                )],
                warnings,
                reach: vec![host.clone()],
                ..Plan::default()
            })
        }
    }
}
