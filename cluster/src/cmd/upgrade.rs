//! `upgrade` (rules §3.11, §6, §14.3.3): the state machine's commands, the versions offered, and its
//! time-driven transitions.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CommandKind, Completion, Ctx, Family, Help};
use crate::event::{Event, EventKind};
use crate::fleet::{Fleet, Machine, Power, Upgrade};
use crate::lexer::{ParseError, Words};
use crate::names::Hostname;
use crate::names::{Timestamp, Version};
use crate::roles::{ModeRule, Permission, Role};
use crate::verdict::{Asker, Choice, Plan, Rejection, Stop, YesNo};

/// The members installing on `host` would disconnect (rules §6, §15.13): every member not detached, when
/// `host` is a connected member; none for a standalone machine or a member that is not connected (it
/// upgrades alone). The upgrade's plan, its question and the Upgrade page's warning all read this.
pub fn install_disconnects(fleet: &Fleet, host: &Hostname) -> Vec<Hostname> {
    match fleet.cluster_of(host) {
        Some(c) if fleet.connection(host).is_connected() => fleet
            .members(&c.name)
            .filter(|m| !m.detached)
            .map(|m| m.hostname.clone())
            .collect(),
        _ => Vec::new(),
    }
}

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
            let detach = install_disconnects(ctx.fleet, host);
            let minutes = (INSTALL_SECS + REBOOT_SECS) / 60;
            let reboots = format!(
                "{host} installs AsyncOS {version}, then reboots: about {minutes} simulated minutes in all."
            );
            // The CLI's text is pinned (rules §14.1.3, §15.14); the console's says what happens to this
            // machine as it stands now (rules §15.31).
            let (question, body, yes) = match ctx.cluster() {
                Some(c) => {
                    let question = format!(
                        "Warning: upgrading to {version} disconnects every machine of cluster {} unless {host} was disconnected first; {host} reboots when done. Continue? [N]>",
                        c.name
                    );
                    if detach.is_empty() {
                        (
                            question,
                            vec![
                                format!("{host} is not connected to cluster {}: it upgrades alone, and the other members stay as they are.", c.name),
                                reboots,
                            ],
                            Choice::acts(format!("Upgrade {host}")),
                        )
                    } else {
                        let names: Vec<String> = detach.iter().map(|h| h.to_string()).collect();
                        (
                            question,
                            vec![
                                format!(
                                    "{host} is connected: upgrading it disconnects every machine of cluster {} ({}).",
                                    c.name,
                                    names.join(", ")
                                ),
                                "To upgrade it alone, disconnect it first on the Cluster page.".into(),
                                reboots,
                            ],
                            Choice::destroys(format!("Upgrade and disconnect all {} machines", detach.len())),
                        )
                    }
                }
                None => (
                    format!(
                        "Warning: upgrading {host} to {version}; {host} reboots when done. Continue? [N]>"
                    ),
                    vec![reboots],
                    Choice::acts(format!("Upgrade {host}")),
                ),
            };
            let question = YesNo {
                question,
                default_yes: false,
                title: format!("Upgrade {host} to AsyncOS {version}?"),
                body,
                yes,
                no: Choice::changes_nothing("Don't upgrade"),
            };
            if !asker.yes_no(question)? {
                return Ok(Plan::output(vec!["Upgrade cancelled; nothing changed.".into()]));
            }
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
