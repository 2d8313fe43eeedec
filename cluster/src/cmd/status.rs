//! Status reads of one machine (rules §3.10, §14.1.1, §14.3.2): `status`, `version`, `showqueue`, and
//! the machine-mode reads of local data `showquarantine` and `showlog`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::runtime::target;
use super::{CommandKind, Ctx, Family, Help};
use crate::fleet::Upgrade;
use crate::lexer::{ParseError, Words};
use crate::mail::{counters, destinations, listener_states, traffic};
use crate::roles::{ModeRule, Permission, Role};
use crate::verdict::{Asker, Plan, Stop};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StatusCmd {
    Status,
    /// `status detail`: the counters (rules §16.5).
    StatusDetail,
    /// `hoststatus <domain>`: one destination's recipients.
    HostStatus {
        domain: String,
    },
    /// `tophosts`: destinations by active recipients.
    TopHosts,
    Version,
    ShowQueue,
    ShowQuarantine,
    ShowLog,
}

impl Family for StatusCmd {
    fn owns(word: &str) -> bool {
        matches!(
            word,
            "status" | "version" | "showqueue" | "showquarantine" | "showlog" | "hoststatus" | "tophosts"
        )
    }

    fn words() -> Vec<&'static str> {
        vec![
            "status",
            "version",
            "showqueue",
            "showquarantine",
            "showlog",
            "hoststatus",
            "tophosts",
        ]
    }

    fn parse(word: &str, w: &mut Words) -> Result<Self, ParseError> {
        let cmd = match word {
            "status" if w.keyword(&["detail"]).is_some() => StatusCmd::StatusDetail,
            "status" => StatusCmd::Status,
            "hoststatus" => {
                // A domain is named like a host (rules §5.2).
                let domain = w.parsed("a destination domain, like gmail.com", |d| {
                    crate::names::Hostname::parse(d)
                        .map(|h| h.to_string())
                        .map_err(|e| e.reason.to_string())
                })?;
                StatusCmd::HostStatus { domain }
            }
            "tophosts" => StatusCmd::TopHosts,
            "version" => StatusCmd::Version,
            "showqueue" => StatusCmd::ShowQueue,
            "showquarantine" => StatusCmd::ShowQuarantine,
            _ => StatusCmd::ShowLog,
        };
        w.done()?;
        Ok(cmd)
    }

    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusCmd::StatusDetail => f.write_str("status detail"),
            StatusCmd::HostStatus { domain } => write!(f, "hoststatus {domain}"),
            _ => f.write_str(self.word()),
        }
    }

    fn word(&self) -> &'static str {
        match self {
            StatusCmd::Status | StatusCmd::StatusDetail => "status",
            StatusCmd::HostStatus { .. } => "hoststatus",
            StatusCmd::TopHosts => "tophosts",
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
            StatusCmd::Status | StatusCmd::StatusDetail | StatusCmd::Version | StatusCmd::ShowQueue => {
                ModeRule::Any
            }
            _ => crate::roles::mode_rule(self.word()),
        }
    }

    fn allowed_while_upgrading(&self) -> bool {
        matches!(
            self,
            StatusCmd::Status | StatusCmd::StatusDetail | StatusCmd::Version
        )
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
            StatusCmd::StatusDetail => {
                let c = counters(fleet, &m.hostname, ctx.now);
                let t = traffic(fleet, &m.hostname, ctx.now);
                let mut out = vec![
                    format!("Status detail of {}:", m.hostname),
                    format!("Connection: {}", fleet.connection(&m.hostname).describe()),
                    format!("Messages per minute: {}", t.messages_per_minute),
                    format!("Messages received: {}", c.received),
                    format!("Messages delivered: {}", c.delivered),
                    format!("Connections refused (queues full): {}", c.refused),
                    format!("Messages in work queue: {}", c.work_queue),
                    format!("Messages in delivery queue: {}", c.delivery_queue),
                    format!("Work queue: {}", m.runtime.workqueue_word()),
                    format!(
                        "Delivery: {}",
                        if m.runtime.delivery_stopped() {
                            "suspended".to_string()
                        } else if m.runtime.faults.delivery_percent < 100 {
                            format!("running at {}% (simulator)", m.runtime.faults.delivery_percent)
                        } else {
                            "running".to_string()
                        }
                    ),
                ];
                for l in listener_states(fleet, &m.hostname) {
                    let n = c.per_listener.get(&l.name).copied().unwrap_or(0);
                    out.push(format!("Listener {}: {}, {n} received", l.name, l.state.word()));
                }
                out
            }
            StatusCmd::HostStatus { domain } => {
                let d = destinations(fleet, &m.hostname, ctx.now);
                match d.iter().find(|x| x.domain.eq_ignore_ascii_case(domain)) {
                    Some(x) => vec![
                        format!("Host: {} (from {})", x.domain, m.hostname),
                        format!("Active recipients: {}", x.active),
                        format!("Delivered recipients: {}", x.delivered),
                        format!(
                            "Status: {}",
                            if m.runtime.delivery_stopped() {
                                "delivery suspended"
                            } else {
                                "up"
                            }
                        ),
                    ],
                    None => vec![format!(
                        "Host: {domain} (from {}): no messages for it; destinations: {}.",
                        m.hostname,
                        d.iter().map(|x| x.domain).collect::<Vec<_>>().join(", ")
                    )],
                }
            }
            StatusCmd::TopHosts => {
                let mut out = vec![format!(
                    "Top destinations of {} by active recipients:",
                    m.hostname
                )];
                out.extend(
                    destinations(fleet, &m.hostname, ctx.now)
                        .iter()
                        .enumerate()
                        .map(|(i, x)| {
                            format!(
                                "{}. {} — {} active, {} delivered",
                                i + 1,
                                x.domain,
                                x.active,
                                x.delivered
                            )
                        }),
                );
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
                "status          (the machine of the mode, or the login host)\nstatus detail   with the counters: received, delivered, queued, per listener",
            ),
            "hoststatus" => Help::new(
                "Show one destination's recipients on the machine of the mode.",
                "hoststatus <domain>   (machine mode)",
            ),
            "tophosts" => Help::new(
                "List destinations by active recipients on the machine of the mode.",
                "tophosts   (machine mode)",
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
