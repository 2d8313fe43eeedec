//! Runtime commands (DOMAIN 3.10, 14.3.2): listeners, suspend/resume, and the reads of one machine
//! (`status`, `version`, `showqueue`, `showquarantine`, `showlog`). Runtime state is never replicated.

use serde::{Deserialize, Serialize};

use crate::event::EventKind;
use crate::features::FeatureId;
use crate::model::{Fleet, Machine};
use crate::names::{Hostname, Timestamp};
use crate::verdict::{Plan, Rejection, Stop};

use super::Ctx;

/// What a listener is doing on one machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListenerState {
    Accepting,
    Suspended,
    /// Its interface does not exist on the machine (DOMAIN 2.8); wins over suspended.
    Disabled,
}

impl ListenerState {
    pub fn word(self) -> &'static str {
        match self {
            ListenerState::Accepting => "accepting",
            ListenerState::Suspended => "suspended",
            ListenerState::Disabled => "disabled",
        }
    }
}

/// One listener on one machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    pub name: String,
    pub interface: String,
    pub state: ListenerState,
}

/// The listeners `host` runs with (its own replica) and their states.
pub fn listener_states(fleet: &Fleet, host: &Hostname) -> Vec<Listener> {
    let Some(machine) = fleet.machine(host) else {
        return Vec::new();
    };
    let interfaces = fleet.effective(host, FeatureId::IpInterfaces);
    fleet
        .effective(host, FeatureId::Listeners)
        .rows
        .iter()
        .map(|row| {
            let (name, interface) = (row.cell(0).to_string(), row.cell(1).to_string());
            let state = if interfaces.row(&interface).is_none() {
                ListenerState::Disabled
            } else if machine.runtime.suspended || machine.runtime.suspended_listeners.contains(&name) {
                ListenerState::Suspended
            } else {
                ListenerState::Accepting
            };
            Listener {
                name,
                interface,
                state,
            }
        })
        .collect()
}

/// Simulated mail traffic of a machine at `now` (DOMAIN 11): zero while nothing accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Traffic {
    pub messages_per_minute: u32,
    pub queue_depth: u32,
}

fn hash(s: &str) -> u32 {
    // FNV-1a: a stable per-host number, the same in the browser and the server.
    s.bytes().fold(2_166_136_261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    })
}

pub fn traffic(fleet: &Fleet, host: &Hostname, now: Timestamp) -> Traffic {
    let Some(machine) = fleet.machine(host) else {
        return Traffic {
            messages_per_minute: 0,
            queue_depth: 0,
        };
    };
    if machine.is_upgrading() {
        return Traffic {
            messages_per_minute: 0,
            queue_depth: 0,
        };
    }
    let listeners = listener_states(fleet, host);
    let live = listeners
        .iter()
        .filter(|l| l.state != ListenerState::Disabled)
        .count() as u32;
    let accepting = listeners
        .iter()
        .filter(|l| l.state == ListenerState::Accepting)
        .count() as u32;
    if accepting == 0 || live == 0 {
        return Traffic {
            messages_per_minute: 0,
            queue_depth: 0,
        };
    }
    let h = hash(host.as_str());
    let base = 120 + h % 180;
    // A slow wave over the hour: ±25 %.
    let minute = (now.0.div_euclid(60_000)).rem_euclid(60) as u32;
    let wave = if minute < 30 {
        75 + minute * 50 / 30
    } else {
        125 - (minute - 30) * 50 / 30
    };
    let mpm = base * wave / 100 * accepting / live;
    Traffic {
        messages_per_minute: mpm,
        queue_depth: mpm / 5 + h % 7,
    }
}

/// The machine a runtime command acts on: the machine of the mode, reachable from the login host.
fn target<'a>(ctx: &Ctx<'a>) -> Result<&'a Machine, Rejection> {
    let host = ctx.machine_of_mode();
    let machine = ctx
        .fleet
        .machine(host)
        .ok_or_else(|| Rejection::UnknownMachine { host: host.clone() })?;
    if !ctx.reaches(host) {
        return Err(Rejection::Unreachable {
            host: host.clone(),
            login_host: ctx.host().clone(),
        });
    }
    Ok(machine)
}

fn changing_target<'a>(ctx: &Ctx<'a>) -> Result<&'a Machine, Rejection> {
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

pub(super) fn suspend_listener(ctx: &Ctx, listener: Option<&str>) -> Result<Plan, Stop> {
    let m = changing_target(ctx)?;
    let listeners = listeners_named(ctx, m, listener)?;
    let output = listeners
        .iter()
        .map(|l| format!("Listener {l} on {} stopped taking new connections.", m.hostname))
        .collect();
    Ok(Plan {
        events: vec![ctx.event(EventKind::ListenersSuspended {
            host: m.hostname.clone(),
            listeners,
        })],
        output,
        ..Plan::default()
    })
}

pub(super) fn resume_listener(ctx: &Ctx, listener: Option<&str>) -> Result<Plan, Stop> {
    let m = changing_target(ctx)?;
    let listeners = listeners_named(ctx, m, listener)?;
    let output = listeners
        .iter()
        .map(|l| format!("Listener {l} on {} takes new connections again.", m.hostname))
        .collect();
    Ok(Plan {
        events: vec![ctx.event(EventKind::ListenersResumed {
            host: m.hostname.clone(),
            listeners,
        })],
        output,
        ..Plan::default()
    })
}

pub(super) fn suspend(ctx: &Ctx) -> Result<Plan, Stop> {
    let m = changing_target(ctx)?;
    Ok(Plan {
        events: vec![ctx.event(EventKind::MachineSuspended {
            host: m.hostname.clone(),
        })],
        output: vec![format!("Receiving and delivery stopped on {}.", m.hostname)],
        ..Plan::default()
    })
}

pub(super) fn resume(ctx: &Ctx) -> Result<Plan, Stop> {
    let m = changing_target(ctx)?;
    Ok(Plan {
        events: vec![ctx.event(EventKind::MachineResumed {
            host: m.hostname.clone(),
        })],
        output: vec![format!(
            "Receiving and delivery resumed on {}; every listener takes connections again.",
            m.hostname
        )],
        ..Plan::default()
    })
}

pub(super) fn status(ctx: &Ctx) -> Result<Plan, Stop> {
    let m = target(ctx)?;
    let fleet = ctx.fleet;
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
    } else if let crate::model::Upgrade::Downloaded { version } = m.upgrade {
        out.push(format!("Upgrade: AsyncOS {version} downloaded, ready to install"));
    }
    let t = traffic(fleet, &m.hostname, ctx.now);
    out.push(format!("Messages per minute: {}", t.messages_per_minute));
    out.push(format!("Queue depth: {} messages", t.queue_depth));
    for l in listener_states(fleet, &m.hostname) {
        out.push(format!("{}: {}", l.name, l.state.word()));
    }
    Ok(Plan::output(out))
}

pub(super) fn version(ctx: &Ctx) -> Result<Plan, Stop> {
    let m = target(ctx)?;
    Ok(Plan::output(vec![
        format!("Machine: {}", m.hostname),
        format!("AsyncOS version: {}", m.version),
    ]))
}

pub(super) fn showqueue(ctx: &Ctx) -> Result<Plan, Stop> {
    let m = target(ctx)?;
    let t = traffic(ctx.fleet, &m.hostname, ctx.now);
    Ok(Plan::output(vec![format!(
        "Queue on {}: {} message(s)",
        m.hostname, t.queue_depth
    )]))
}

pub(super) fn showquarantine(ctx: &Ctx) -> Result<Plan, Stop> {
    let m = target(ctx)?;
    let mut out = vec![format!(
        "Quarantine on {} ({} message(s)):",
        m.hostname,
        m.local.quarantine.len()
    )];
    out.extend(m.local.quarantine.iter().map(|q| format!("  {q}")));
    Ok(Plan::output(out))
}

pub(super) fn showlog(ctx: &Ctx) -> Result<Plan, Stop> {
    let m = target(ctx)?;
    let mut out = vec![format!("Log of {}:", m.hostname)];
    out.extend(m.local.log.iter().map(|l| format!("  {l}")));
    Ok(Plan::output(out))
}
