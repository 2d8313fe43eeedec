//! Overview: the fleet — clusters, groups, machines and standalone machines — each machine with version,
//! connection, listeners, message rate and queue, and a progress bar while it upgrades. Live: it renders
//! the replica the event stream keeps. The topology re-renders when the fleet changes; only each row's
//! time-dependent part (traffic, progress) follows the clock.

use cluster::cmd::upgrade_progress;
use cluster::mail::{history, listener_states, traffic, ListenerState};
use cluster::{Fleet, Hostname, Machine};
use leptos::prelude::*;

use crate::components::{ConnectionBadge, Progress, Sparkline};
use crate::state::{use_console, Console};

#[component]
pub fn Overview() -> impl IntoView {
    let console = use_console();
    view! {
        <h1>"Overview"</h1>
        {move || {
            console.fleet.with(|f| match f {
                None => view! { <p role="status">"Loading the fleet…"</p> }.into_any(),
                Some(fleet) => topology(console, fleet).into_any(),
            })
        }}
    }
}

fn topology(console: Console, fleet: &Fleet) -> impl IntoView {
    let clusters = fleet
        .clusters
        .values()
        .map(|cluster| {
            let groups = cluster
                .groups
                .iter()
                .map(|group| {
                    let machines =
                        fleet.group_members(&cluster.name, group).map(|m| machine_row(console, fleet, m)).collect_view();
                    let label = format!("Group {group}");
                    let heading = label.clone();
                    view! {
                        <section class="group" role="group" aria-label=label>
                            <h3>{heading}</h3>
                            <ul class="machines">{machines}</ul>
                        </section>
                    }
                })
                .collect_view();
            let label = format!("Cluster {}", cluster.name);
            let heading = label.clone();
            let members = fleet.members(&cluster.name).count();
            view! {
                <section class="cluster" role="region" aria-label=label>
                    <h2>{heading}" "<small>{format!("({members} machines, {} addressing)", cluster.addressing)}</small></h2>
                    {groups}
                </section>
            }
        })
        .collect_view();
    let standalone = fleet
        .standalone_machines()
        .map(|m| machine_row(console, fleet, m))
        .collect_view();
    view! {
        <div class="topology">
            {clusters}
            <section class="standalone" role="region" aria-label="Standalone machines">
                <h2>"Standalone machines"</h2>
                <ul class="machines">{standalone}</ul>
            </section>
        </div>
    }
}

fn machine_row(console: Console, fleet: &Fleet, machine: &Machine) -> impl IntoView {
    let connection = fleet.connection(&machine.hostname);
    let label = format!("Machine {}", machine.hostname);
    // One text node per row (a thousand-machine fleet renders thousands fewer elements).
    let states = listener_states(fleet, &machine.hostname);
    let attention = states.iter().any(|l| l.state != ListenerState::Accepting);
    let listeners = states
        .iter()
        .map(|l| format!("{}: {}", l.name, l.state.word()))
        .collect::<Vec<_>>()
        .join("  ");
    let host = machine.hostname.clone();
    let alert = machine.local.alerts.last().cloned();
    view! {
        <li class="machine" aria-label=label>
            <span class="hostname">{machine.hostname.to_string()}</span>
            <span class="version">{format!("AsyncOS {}", machine.version)}</span>
            <ConnectionBadge connection=connection label=fleet.describe_connection(&machine.hostname) />
            <span class="listeners" class:listeners-attention=attention>{listeners}</span>
            {alert.map(|a| view! { <span class="machine-alert" role="note">{a}</span> })}
            {move || live(console, &host)}
        </li>
    }
}

/// The part of a row that moves with the simulated clock.
fn live(console: Console, host: &Hostname) -> impl IntoView {
    let now = console.now();
    console.fleet.with_untracked(|f| {
        let fleet = f.as_ref()?;
        let machine = fleet.machine(host)?;
        let t = traffic(fleet, host, now);
        let samples = history(fleet, host, now, 30);
        let received: Vec<u64> = samples.iter().map(|s| s.received).collect();
        let queued: Vec<u64> = samples.iter().map(|s| s.work_queue + s.delivery_queue).collect();
        let progress = upgrade_progress(machine, now).map(|p| {
            view! { <Progress label=format!("Upgrade to AsyncOS {} ({})", p.version, p.phase.word()) percent=p.percent /> }
        });
        Some(view! {
            <span class="traffic">{format!("{} msg/min, queue {}", t.messages_per_minute, t.queue_depth)}</span>
            <Sparkline label=format!("Messages a minute on {host}, last 30 minutes") values=received class="rate" />
            <Sparkline label=format!("Queued messages on {host}, last 30 minutes") values=queued class="queue" />
            {progress}
        })
    })
}
