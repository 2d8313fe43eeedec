//! Mail flow on one machine (rules §2.8, §11, §14.3.2, §16.4): which listeners run, and the simulated
//! traffic — arrivals per listener, a work queue, a delivery queue, delivery at the machine's rate.
//! Runtime state is per machine and never replicated (I8).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::features::{FeatureId, InterfaceRow, ListenerRow};
use crate::fleet::{Fleet, FlowParams, MailCounters, MailSegment};
use crate::names::{Hostname, Timestamp};
use crate::store::{effective_ref, Definitions};

/// What a listener is doing on one machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListenerState {
    Accepting,
    Suspended,
    /// Its interface does not exist on the machine (rules §2.8); wins over suspended.
    Disabled,
    /// The machine is not running: off, rebooting or upgrading (rules §16.3); wins over suspended.
    Down,
}

impl ListenerState {
    pub fn word(self) -> &'static str {
        match self {
            ListenerState::Accepting => "accepting",
            ListenerState::Suspended => "suspended",
            ListenerState::Disabled => "disabled",
            ListenerState::Down => "not running",
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
    let interfaces: Vec<InterfaceRow> = effective_ref(defs, host, group, FeatureId::IpInterfaces)
        .typed()
        .collect();
    effective_ref(defs, host, group, FeatureId::Listeners)
        .typed::<ListenerRow>()
        .map(|l| {
            let state = if !interfaces.iter().any(|i| i.name == l.interface) {
                ListenerState::Disabled
            } else if machine.is_down() {
                ListenerState::Down
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

/// How many mail-flow segments a machine keeps (the chart reaches back over them).
pub const SEGMENTS_KEPT: usize = 8;
/// The longest stretch simulated in one read: 14 days of minutes. A fleet settles every machine's flow
/// once a simulated hour ([`mail_due`]), so a read simulates at most about an hour; only a fleet left
/// without events (a server down for weeks) meets the cap.
pub const MAX_SIM_MINUTES: i64 = 14 * 1440;
/// The queues' capacity: when work and delivery queue together hold this many messages, new
/// connections are refused (the appliance's resource conservation).
pub const QUEUE_LIMIT: u64 = 200_000;
/// The work queue processes at most this many messages a minute.
pub const PROCESS_MAX: u64 = 900;
/// The most minutes a chart asks for.
pub const HISTORY_MAX: u32 = 240;

/// The share of traffic in percent each hour of the (UTC) day carries, relative to the daily mean.
const DAY_SHAPE: [u64; 24] = [
    35, 30, 28, 27, 30, 40, 60, 90, 130, 155, 165, 160, 150, 155, 160, 150, 135, 115, 95, 80, 70, 60, 50, 42,
];

/// Destinations the simulated mail goes to: name, share of recipients in percent, speed (100 = normal).
pub const DESTINATIONS: &[(&str, u64, u64)] = &[
    ("gmail.com", 30, 120),
    ("outlook.com", 24, 100),
    ("yahoo.com", 12, 60),
    ("example.org", 10, 100),
    ("partner.example.net", 9, 40),
    ("icloud.com", 8, 90),
    ("aol.com", 7, 50),
];

fn hash(parts: &[&[u8]]) -> u64 {
    // FNV-1a: stable numbers, the same in the browser and the server.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.iter().chain(std::iter::once(&0xff)) {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The whole simulated minute `at` falls in.
pub fn minute_of(at: Timestamp) -> i64 {
    at.0.div_euclid(60_000)
}

/// A listener's mean arrivals a minute on `host` (rules §16.4): 15–44, fixed per host and listener.
fn listener_base(host: &Hostname, listener: &str) -> u64 {
    15 + hash(&[host.as_str().as_bytes(), listener.as_bytes()]) % 30
}

/// Messages arriving at `listener` of `host` during `minute`: the daily shape with ±15 % noise drawn from
/// the fleet's seed.
pub fn arrivals(seed: u64, host: &Hostname, listener: &str, minute: i64) -> u64 {
    let hour = (minute.rem_euclid(1440) / 60) as usize;
    let noise = 85
        + hash(&[
            &seed.to_le_bytes(),
            host.as_str().as_bytes(),
            listener.as_bytes(),
            &minute.to_le_bytes(),
        ]) % 31;
    listener_base(host, listener) * DAY_SHAPE[hour] / 100 * noise / 100
}

/// What `host` delivers a minute at full speed: 220–339 messages, fixed per host.
pub fn delivery_capacity(host: &Hostname) -> u64 {
    220 + hash(&[b"delivery", host.as_str().as_bytes()]) % 120
}

/// The parameters of `host`'s mail flow in the fleet as it is (rules §16.4).
pub fn flow_params(fleet: &Fleet, host: &Hostname) -> FlowParams {
    let Some(m) = fleet.machine(host) else {
        return FlowParams::default();
    };
    let up = !m.is_down();
    let receiving = if up {
        listener_states(fleet, host)
            .into_iter()
            .filter(|l| l.state == ListenerState::Accepting)
            .map(|l| l.name)
            .collect()
    } else {
        Vec::new()
    };
    FlowParams {
        receiving,
        processing: up && !m.runtime.workqueue_paused,
        delivering: up && !m.runtime.delivery_stopped(),
        delivery_percent: m.runtime.faults.delivery_percent,
    }
}

/// One minute of flow: what arrived, was processed and was delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Minute {
    pub received: u64,
    pub delivered: u64,
}

/// Advances `c` by one minute under `p`.
fn step(c: &mut MailCounters, p: &FlowParams, seed: u64, host: &Hostname, minute: i64) -> Minute {
    let mut received = 0;
    for l in &p.receiving {
        let n = arrivals(seed, host, l, minute);
        let room = QUEUE_LIMIT.saturating_sub(c.work_queue + c.delivery_queue);
        let taken = n.min(room);
        c.refused += n - taken;
        c.work_queue += taken;
        received += taken;
        *c.per_listener.entry(l.clone()).or_default() += taken;
    }
    c.received += received;
    if p.processing {
        // A message spends about three minutes in scanning.
        let out = c
            .work_queue
            .min(PROCESS_MAX)
            .min(c.work_queue.div_ceil(3).max(10));
        c.work_queue -= out;
        c.delivery_queue += out;
    }
    let mut delivered = 0;
    if p.delivering {
        let cap = delivery_capacity(host) * u64::from(p.delivery_percent) / 100;
        delivered = c.delivery_queue.min(cap).min(c.delivery_queue.div_ceil(2).max(5));
        c.delivery_queue -= delivered;
        c.delivered += delivered;
    }
    Minute { received, delivered }
}

/// The counters `segment` reaches at `minute` (at most [`MAX_SIM_MINUTES`] simulated).
fn run_to(
    seed: u64,
    host: &Hostname,
    segment: &MailSegment,
    minute: i64,
    mut each: impl FnMut(i64, &MailCounters, Minute),
) -> MailCounters {
    let mut c = segment.counters.clone();
    let from = segment.minute.max(minute - MAX_SIM_MINUTES);
    for m in from..minute {
        let flow = step(&mut c, &segment.params, seed, host, m);
        each(m + 1, &c, flow);
    }
    c
}

/// Counters a machine starts with when the simulation first sees it: queues as a few minutes of its
/// normal flow leave them, totals at zero.
fn warm_start(seed: u64, host: &Hostname, p: &FlowParams, minute: i64) -> MailCounters {
    let mut c = MailCounters::default();
    for m in minute - 15..minute {
        step(&mut c, p, seed, host, m);
    }
    // What the queues hold counts as received, so that received = queued + delivered always holds.
    let received = c.work_queue + c.delivery_queue;
    let weights: Vec<u64> = c.per_listener.values().copied().collect();
    let per_listener = c
        .per_listener
        .keys()
        .cloned()
        .zip(apportion(received, &weights))
        .collect();
    MailCounters {
        work_queue: c.work_queue,
        delivery_queue: c.delivery_queue,
        received,
        per_listener,
        ..MailCounters::default()
    }
}

/// `host`'s mail counters at `now`.
pub fn counters(fleet: &Fleet, host: &Hostname, now: Timestamp) -> MailCounters {
    let Some(seg) = fleet.machine(host).and_then(|m| m.runtime.mail.last()) else {
        return MailCounters::default();
    };
    run_to(fleet.seed, host, seg, minute_of(now), |_, _, _| {})
}

/// Records where every machine's flow stands at `at` and the parameters it flows with from then on:
/// called by `apply` after each event, with the parameters from before it (rules §16.4).
pub fn settle(
    fleet: &mut Fleet,
    before: &BTreeMap<Hostname, FlowParams>,
    hosts: &[Hostname],
    at: Timestamp,
    force: bool,
) {
    let minute = minute_of(at);
    for host in hosts {
        let params = flow_params(fleet, host);
        let seed = fleet.seed;
        let Some(m) = fleet.machine_mut(host) else {
            continue;
        };
        let segment = match m.runtime.mail.last() {
            None => MailSegment {
                minute,
                counters: warm_start(seed, host, &params, minute),
                params,
            },
            Some(last) if force || before.get(host) != Some(&params) || last.params != params => {
                let minute = minute.max(last.minute);
                let mut old = last.clone();
                if let Some(p) = before.get(host) {
                    old.params = p.clone();
                }
                MailSegment {
                    minute,
                    counters: run_to(seed, host, &old, minute, |_, _, _| {}),
                    params,
                }
            }
            Some(_) => continue,
        };
        let mail = &mut m.runtime.mail;
        if mail.last().is_some_and(|l| l.minute == segment.minute) {
            mail.pop();
        }
        mail.push(segment);
        if mail.len() > SEGMENTS_KEPT {
            mail.remove(0);
        }
    }
}

/// The flow parameters of `hosts`, for [`settle`].
pub fn all_params(fleet: &Fleet, hosts: &[Hostname]) -> BTreeMap<Hostname, FlowParams> {
    hosts.iter().map(|h| (h.clone(), flow_params(fleet, h))).collect()
}

/// Starts the flow of every machine of a new fleet at `at`.
pub fn begin(fleet: &mut Fleet, at: Timestamp) {
    let hosts: Vec<Hostname> = fleet.machines.keys().cloned().collect();
    let now = all_params(fleet, &hosts);
    settle(fleet, &now, &hosts, at, false);
}

/// Minutes between two records of every machine's flow: what one read simulates at most, normally.
pub const SETTLE_EVERY_MINUTES: i64 = 60;

/// Whether an hour has passed since some machine's flow last settled (a `MailSettled` event is due).
pub fn mail_due(fleet: &Fleet, now: Timestamp) -> bool {
    let minute = minute_of(now);
    fleet.machines.values().any(|m| {
        m.runtime
            .mail
            .last()
            .is_some_and(|s| minute - s.minute >= SETTLE_EVERY_MINUTES)
    })
}

/// One point of a machine's chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    pub minute: i64,
    pub received: u64,
    pub delivered: u64,
    pub work_queue: u64,
    pub delivery_queue: u64,
}

/// The last `minutes` minutes of `host`'s flow up to `now` (at most [`HISTORY_MAX`]), one sample a
/// minute, as far back as its kept segments reach.
pub fn history(fleet: &Fleet, host: &Hostname, now: Timestamp, minutes: u32) -> Vec<Sample> {
    let Some(m) = fleet.machine(host) else {
        return Vec::new();
    };
    let end = minute_of(now);
    let start = end - i64::from(minutes.min(HISTORY_MAX));
    let segs = &m.runtime.mail;
    let mut out = Vec::new();
    for (i, seg) in segs.iter().enumerate() {
        let until = segs.get(i + 1).map_or(end, |n| n.minute.min(end));
        if until <= start {
            continue;
        }
        run_to(fleet.seed, host, seg, until, |minute, c, flow| {
            if minute > start {
                out.push(Sample {
                    minute,
                    received: flow.received,
                    delivered: flow.delivered,
                    work_queue: c.work_queue,
                    delivery_queue: c.delivery_queue,
                });
            }
        });
    }
    out
}

/// Simulated mail traffic of a machine at `now` (rules §16.4): what it received in the current minute
/// and what its queues hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Traffic {
    pub messages_per_minute: u32,
    pub queue_depth: u32,
}

pub fn traffic(fleet: &Fleet, host: &Hostname, now: Timestamp) -> Traffic {
    let Some(m) = fleet.machine(host) else {
        return Traffic {
            messages_per_minute: 0,
            queue_depth: 0,
        };
    };
    let c = counters(fleet, host, now);
    let minute = minute_of(now);
    let rate: u64 = m
        .runtime
        .mail
        .last()
        .map(|s| {
            s.params
                .receiving
                .iter()
                .map(|l| arrivals(fleet.seed, host, l, minute))
                .sum()
        })
        .unwrap_or(0);
    Traffic {
        messages_per_minute: u32::try_from(rate).unwrap_or(u32::MAX),
        queue_depth: u32::try_from(c.work_queue + c.delivery_queue).unwrap_or(u32::MAX),
    }
}

/// A destination's share of `host`'s delivery queue and deliveries (`hoststatus`, `tophosts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    pub domain: &'static str,
    /// Recipients in the delivery queue for it.
    pub active: u64,
    pub delivered: u64,
}

/// `total` split in proportion to `weights`, exactly: the parts add up to `total` (largest remainders
/// first, ties to the earlier weight). All zero weights give all zero parts.
pub fn apportion(total: u64, weights: &[u64]) -> Vec<u64> {
    let sum: u128 = weights.iter().map(|w| u128::from(*w)).sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<(u64, u128)> = weights
        .iter()
        .map(|w| {
            let p = u128::from(total) * u128::from(*w);
            ((p / sum) as u64, p % sum)
        })
        .collect();
    let mut parts: Vec<u64> = exact.iter().map(|(q, _)| *q).collect();
    let mut left = total - parts.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|a, b| exact[*b].1.cmp(&exact[*a].1).then(a.cmp(b)));
    for i in order {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
}

/// Every destination of `host`'s mail at `now`, most active recipients first; the parts add up to the
/// delivery queue and to what was delivered. A slower destination holds a larger share of the queue
/// than of the mail.
pub fn destinations(fleet: &Fleet, host: &Hostname, now: Timestamp) -> Vec<Destination> {
    let c = counters(fleet, host, now);
    let queue_weights: Vec<u64> = DESTINATIONS.iter().map(|(_, s, v)| s * 100 / v.max(&1)).collect();
    let shares: Vec<u64> = DESTINATIONS.iter().map(|(_, s, _)| *s).collect();
    let active = apportion(c.delivery_queue, &queue_weights);
    let delivered = apportion(c.delivered, &shares);
    let mut out: Vec<Destination> = DESTINATIONS
        .iter()
        .enumerate()
        .map(|(i, (d, _, _))| Destination {
            domain: d,
            active: active[i],
            delivered: delivered[i],
        })
        .collect();
    out.sort_by(|a, b| b.active.cmp(&a.active).then(a.domain.cmp(b.domain)));
    out
}
