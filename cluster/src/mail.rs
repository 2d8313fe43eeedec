//! Mail flow on one machine (rules §2.8, §11, §14.3.2): which listeners run, and the simulated traffic.
//! Runtime state is per machine and never replicated (I8).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::features::{FeatureId, InterfaceRow, ListenerRow};
use crate::fleet::Fleet;
use crate::names::{Hostname, Timestamp};
use crate::store::{effective, Definitions};

/// What a listener is doing on one machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListenerState {
    Accepting,
    Suspended,
    /// Its interface does not exist on the machine (rules §2.8); wins over suspended.
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

/// The listeners `host` runs with and their states, reading its configuration from `defs`.
pub fn listeners_in<D: Definitions>(fleet: &Fleet, defs: &D, host: &Hostname) -> Vec<Listener> {
    let Some(machine) = fleet.machine(host) else {
        return Vec::new();
    };
    let group = fleet.group_of(host);
    let interfaces: Vec<InterfaceRow> = effective(defs, host, group, FeatureId::IpInterfaces)
        .typed()
        .collect();
    effective(defs, host, group, FeatureId::Listeners)
        .typed::<ListenerRow>()
        .map(|l| {
            let state = if !interfaces.iter().any(|i| i.name == l.interface) {
                ListenerState::Disabled
            } else if machine.runtime.suspended || machine.runtime.suspended_listeners.contains(&l.name) {
                ListenerState::Suspended
            } else {
                ListenerState::Accepting
            };
            Listener {
                name: l.name,
                interface: l.interface,
                state,
            }
        })
        .collect()
}

/// The listeners `host` runs with (its own replica) and their states.
pub fn listener_states(fleet: &Fleet, host: &Hostname) -> Vec<Listener> {
    match fleet.machine(host) {
        Some(m) => listeners_in(fleet, &m.config, host),
        None => Vec::new(),
    }
}

/// One warning line per listener that `after` disables on `hosts` and `before` did not (rules §14.3.5).
pub fn newly_disabled(
    hosts: &BTreeSet<Hostname>,
    before: impl Fn(&Hostname) -> Vec<Listener>,
    after: impl Fn(&Hostname) -> Vec<Listener>,
) -> Vec<String> {
    let mut out = Vec::new();
    for h in hosts {
        let was: BTreeSet<String> = before(h)
            .into_iter()
            .filter(|l| l.state == ListenerState::Disabled)
            .map(|l| l.name)
            .collect();
        for l in after(h) {
            if l.state == ListenerState::Disabled && !was.contains(&l.name) {
                out.push(format!(
                    "Warning: Listener \"{}\" is disabled on {h}: interface \"{}\" does not exist there.",
                    l.name, l.interface
                ));
            }
        }
    }
    out
}

/// Simulated mail traffic of a machine at `now` (rules §11): zero while nothing accepts.
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
    let idle = Traffic {
        messages_per_minute: 0,
        queue_depth: 0,
    };
    let Some(machine) = fleet.machine(host) else {
        return idle;
    };
    if machine.is_upgrading() {
        return idle;
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
        return idle;
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
