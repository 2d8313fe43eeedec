//! Upgrade (System Administration > System Upgrade) for the login host: versions offered, the
//! disconnect-everything warning while connected, progress through install and reboot; and listeners
//! suspend / resume per machine.

use cluster::cmd::{offered_versions, upgrade_progress, RuntimeCmd, UpgradeCmd};
use cluster::mail::{listener_states, ListenerState};
use cluster::{Hostname, Mode, Version};
use leptos::prelude::*;

use crate::components::{ActionButton, OutcomeView, Progress, Sparkline, StateBadge};
use crate::state::{use_console, Console, Outcome};

#[derive(Clone, PartialEq)]
struct MachineListeners {
    host: Hostname,
    listeners: Vec<(String, ListenerState)>,
}

#[component]
pub fn Upgrade() -> impl IntoView {
    let console = use_console();
    let outcome = RwSignal::new(None::<Outcome>);
    let chosen = RwSignal::new(String::new());
    let login = move || console.session.with(|s| s.as_ref().map(|s| s.login_host.clone()));
    let machine = Memo::new(move |_| {
        let host = login()?;
        let now = console.now();
        console.fleet.with(|f| {
            let fleet = f.as_ref()?;
            let m = fleet.machine(&host)?;
            let offered: Vec<Version> = offered_versions(fleet, m);
            let connected = (fleet.connection(&host), fleet.describe_connection(&host));
            Some((
                m.version,
                offered,
                connected,
                upgrade_progress(m, now),
                cluster::view::upgrade_warning(fleet, &host),
                m.local.alerts.clone(),
            ))
        })
    });
    let install = Signal::derive(move || {
        Version::parse(&chosen.get())
            .ok()
            .map(|version| UpgradeCmd::Install { version }.into())
    });
    let download = Signal::derive(move || {
        Version::parse(&chosen.get())
            .ok()
            .map(|version| UpgradeCmd::Download { version }.into())
    });
    view! {
        <h1>"System Upgrade"</h1>
        // The connection is in the memo so the badge re-renders when it changes; the badge reads it itself.
        {move || machine.get().map(|(version, offered, _connection, progress, warning, alerts)| {
            // The choice follows what is offered now (after an upgrade, the old choice is gone).
            if !offered.iter().any(|v| v.to_string() == chosen.get_untracked()) {
                chosen.set(offered.first().map(|v| v.to_string()).unwrap_or_default());
            }
            let host = login().map(|h| h.to_string()).unwrap_or_default();
            view! {
                <p>{format!("{host} runs AsyncOS {version}. ")}{login().map(|h| view! { <StateBadge host=h /> })}</p>
                {alerts.last().map(|a| view! {
                    <div class="banner banner-alert" role="note" aria-label=format!("Latest alert of {host}")>{a.clone()}</div>
                })}
                {warning.map(|w| view! { <div class="banner banner-wrong" role="note">{w}</div> })}
                {progress.map(|p| view! {
                    <Progress label=format!("Upgrade to AsyncOS {} ({})", p.version, p.phase.word()) percent=p.percent />
                })}
                {if offered.is_empty() {
                    view! { <p>"No upgrades available."</p> }.into_any()
                } else {
                    view! {
                        <label>"Version " <select on:change=move |ev| chosen.set(event_target_value(&ev))>
                            {offered.iter().map(|v| view! { <option value=v.to_string()>{format!("AsyncOS {v}")}</option> }).collect_view()}
                        </select></label>
                        <ActionButton label="Upgrade" command=install outcome=outcome />
                        <ActionButton label="Download only" command=download outcome=outcome />
                    }.into_any()
                }}
            }
        })}
        <OutcomeView outcome=outcome />
        <Listeners />
    }
}

/// The queues of `host`, live: what is left to drain after its listeners are suspended (rules §16.4).
fn queue(console: Console, host: Hostname) -> impl IntoView {
    move || {
        let now = console.now();
        console.fleet.with_untracked(|f| {
            let fleet = f.as_ref()?;
            let c = cluster::mail::counters(fleet, &host, now);
            let queued: Vec<u64> = cluster::mail::history(fleet, &host, now, 30)
                .iter()
                .map(|s| s.work_queue + s.delivery_queue)
                .collect();
            Some(view! {
                <p class="queue" role="status" aria-label=format!("Queues of {host}")>
                    {format!("Work queue: {} messages, delivery queue: {}", c.work_queue, c.delivery_queue)}
                    " "<Sparkline label=format!("Queued messages on {host}, last 30 minutes") values=queued class="queue" />
                </p>
            })
        })
    }
}

#[component]
fn Listeners() -> impl IntoView {
    let console = use_console();
    let outcome = RwSignal::new(None::<Outcome>);
    let machines = Memo::new(move |_| {
        let login = console
            .session
            .with(|s| s.as_ref().map(|s| s.login_host.clone()))?;
        console.fleet.with(|f| {
            let fleet = f.as_ref()?;
            let mut hosts: Vec<Hostname> = cluster::apply::targets(fleet, &login).into_iter().collect();
            hosts.sort();
            Some(
                hosts
                    .into_iter()
                    .map(|h| MachineListeners {
                        listeners: listener_states(fleet, &h)
                            .into_iter()
                            .map(|l| (l.name, l.state))
                            .collect(),
                        host: h,
                    })
                    .collect::<Vec<_>>(),
            )
        })
    });
    view! {
        <section aria-label="Listeners">
            <h2>"Listeners"</h2>
            <p class="hint">"Machines this login host can reach; log into another machine to manage it when it is disconnected."</p>
            {move || machines.get().unwrap_or_default().into_iter().map(|m| {
                let host = m.host.clone();
                let (h1, h2) = (host.clone(), host.clone());
                view! {
                    <div class="machine-listeners" role="group" aria-label=format!("Listeners of {host}")>
                        <h3>{host.to_string()}</h3>
                        <ul>{m.listeners.iter().map(|(n, s)| view! { <li>{format!("{n}: {}", s.word())}</li> }).collect_view()}</ul>
                        {queue(console, host.clone())}
                        // In the machine's own mode (its box names it); the verdict shows before the click.
                        <ActionButton label="Suspend listeners" command=Signal::derive(|| Some(RuntimeCmd::SuspendListener { listener: None }.into())) outcome=outcome mode=Some(Mode::Machine(h1.clone())) />
                        <ActionButton label="Resume" command=Signal::derive(|| Some(RuntimeCmd::Resume.into())) outcome=outcome mode=Some(Mode::Machine(h2.clone())) />
                    </div>
                }
            }).collect_view()}
            <OutcomeView outcome=outcome />
        </section>
    }
}
