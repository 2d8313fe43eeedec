//! Overview, the console's home: the topology — clusters, groups, machines and standalone machines — each
//! machine with version, state, listeners, message rate and queue, the settings each level overrides,
//! and a progress bar while it upgrades; the cluster, every group and every machine link to their pages.
//! Live: it renders the replica the event stream keeps. The topology re-renders when the fleet changes; only each row's
//! time-dependent part (traffic, progress) follows the clock.

use cluster::cmd::upgrade_progress;
use cluster::mail::{history, listener_states, traffic, ListenerState};
use cluster::topology::override_counts;
use cluster::{Fleet, Hostname, Machine, Mode};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::{Progress, Sparkline, StateBadge};
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

/// The topology of `fleet` as `console`'s session sees it (a replay passes a console without one).
pub fn topology(console: Console, fleet: &Fleet) -> impl IntoView {
    let defs = defs_of(console, fleet);
    let login = console
        .session
        .with_untracked(|s| s.as_ref().map(|s| s.login_host.clone()));
    let cluster_mode = login.and_then(|l| cluster::view::cluster_page_mode(fleet, &l));
    let clusters = fleet
        .clusters
        .values()
        .map(|cluster| {
            let groups = cluster
                .groups
                .iter()
                .map(|group| group_section(console, fleet, &cluster.name, group, &defs))
                .collect_view();
            let label = format!("Cluster {}", cluster.name);
            let heading = label.clone();
            let members = fleet.members(&cluster.name).count();
            let here = cluster_mode
                .as_ref()
                .and_then(|m| overrides(&defs, m, "defined at the cluster"));
            view! {
                <section class="cluster" role="region" aria-label=label.clone()>
                    <h2 class="level-head">{page_link(console, "/cluster".into(), heading, "")}" "<small>{format!("({members} machines, {} addressing)", cluster.addressing)}</small>{here}</h2>
                    {groups}
                </section>
            }
        })
        .collect_view();
    let standalone: Vec<_> = fleet
        .standalone_machines()
        .map(|m| machine_row(console, fleet, m, &defs))
        .collect();
    view! {
        <div class="topology">
            {clusters}
            <section class="standalone" role="region" aria-label="Standalone machines">
                <h2>"Standalone machines"</h2>
                {if standalone.is_empty() {
                    view! { <p class="empty">"Every machine belongs to a cluster."</p> }.into_any()
                } else {
                    view! { <ul class="machines">{standalone}</ul> }.into_any()
                }}
            </section>
        </div>
    }
}

/// How many settings each mode defines, as the session sees the configuration (its staged changes over
/// its login host's replica); empty for a role without configuration reads.
pub fn defs_of(console: Console, fleet: &Fleet) -> Overrides {
    console
        .session
        .with_untracked(|s| {
            let s = s.as_ref()?.session();
            let m = fleet.machine(&s.host)?;
            Some(override_counts(fleet, &s.host, &s.view(&m.config)))
        })
        .unwrap_or_default()
}

/// Modes and the number of settings they define.
pub type Overrides = Vec<(Mode, usize)>;

/// A group of a cluster with its members.
pub fn group_section(
    console: Console,
    fleet: &Fleet,
    cluster: &cluster::ClusterName,
    group: &cluster::GroupName,
    defs: &Overrides,
) -> impl IntoView {
    let machines = fleet
        .group_members(cluster, group)
        .map(|m| machine_row(console, fleet, m, defs))
        .collect_view();
    let label = format!("Group {group}");
    let heading = label.clone();
    let href = format!("/group/{group}");
    let here = overrides(defs, &Mode::Group(group.clone()), "overridden at this group");
    view! {
        <section class="group" role="group" aria-label=label.clone()>
            <h3 class="level-head">{page_link(console, href, heading, "")}{here}</h3>
            <ul class="machines">{machines}</ul>
        </section>
    }
}

/// A link to a console page; in a share's replay (a console without a session) those pages cannot
/// open, so the name is plain text.
fn page_link(console: Console, href: String, text: String, class: &'static str) -> impl IntoView {
    if console.session.with_untracked(Option::is_some) {
        leptos::either::Either::Left(view! { <A href=href attr:class=class>{text}</A> })
    } else {
        leptos::either::Either::Right(view! { <span class=class>{text}</span> })
    }
}

/// "3 settings overridden here": the features `mode` defines (rules §15.35).
fn overrides(defs: &Overrides, mode: &Mode, what: &'static str) -> Option<impl IntoView> {
    let n = defs.iter().find(|(m, _)| m == mode).map_or(0, |(_, n)| *n);
    (n > 0).then(|| {
        let text = if n == 1 {
            format!("1 setting {what}")
        } else {
            format!("{n} settings {what}")
        };
        view! { <span class="badge badge-override">{text}</span> }
    })
}

/// One machine: name (a link to its page), version, state badge, listeners, overrides, alert, and the
/// live part (traffic, charts, upgrade progress).
pub fn machine_row(console: Console, fleet: &Fleet, machine: &Machine, defs: &Overrides) -> impl IntoView {
    let label = format!("Machine {}", machine.hostname);
    // One text node for the listeners (a thousand-machine fleet renders thousands fewer elements).
    let states = listener_states(fleet, &machine.hostname);
    let attention = states.iter().any(|l| l.state != ListenerState::Accepting);
    let listeners = states
        .iter()
        .map(|l| format!("{}: {}", l.name, l.state.word()))
        .collect::<Vec<_>>()
        .join("  ");
    let host = machine.hostname.clone();
    let alert = machine.local.alerts.last().cloned();
    let href = format!("/machine/{}", machine.hostname);
    let name = machine.hostname.to_string();
    let member = machine.cluster().is_some();
    let here = overrides(defs, &machine.own_mode(), "overridden at this machine").filter(|_| member);
    view! {
        <li class="machine" aria-label=label>
            <div class="machine-id">
                {page_link(console, href, name, "hostname")}
                <span class="version">{format!("AsyncOS {}", machine.version)}</span>
            </div>
            <div class="machine-state">
                <StateBadge host=machine.hostname.clone() />
                <span class="listeners" class:listeners-attention=attention>{listeners}</span>
                {here}
                {alert.map(|a| view! { <span class="machine-alert" role="note">{a}</span> })}
            </div>
            <div class="machine-live">{move || live(console, &host)}</div>
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
