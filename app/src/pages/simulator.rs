//! Simulator: the faults an administrator raises and repairs (rules §16.2) — cut links, names that stop
//! resolving, power, failing installs, slow reboots, slow delivery. These are the simulator's controls,
//! not appliance commands; each is checked by `cluster::sim` on the server and shows up live everywhere.

use std::collections::BTreeMap;

use cluster::event::{Fault, InstallFault, Switch};
use cluster::sim::{MAX_DELIVERY_PERCENT, MAX_EXTRA_REBOOT_SECS};
use cluster::{Fleet, Hostname};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::StateBadge;
use crate::state::use_console;

#[component]
pub fn Simulator() -> impl IntoView {
    let console = use_console();
    let message: RwSignal<Option<(bool, String)>> = RwSignal::new(None);
    // What the administrator typed, per machine and field: kept across the re-renders fleet events cause.
    let typed: StoredValue<Typed> = StoredValue::new(BTreeMap::new());
    let send = move |fault: Fault| {
        spawn_local(async move {
            let shown = match crate::api::simulate(&fault).await {
                Ok(r) => (true, r.message),
                Err(f) => (false, f.message),
            };
            message.set(Some(shown));
        });
    };
    view! {
        <h1>"Simulator"</h1>
        <p class="note">"The simulator's controls, not appliance commands: they change the simulated world (network, power, faults) and are recorded in the audit log."</p>
        {move || message.get().map(|(ok, text)| if ok {
            view! { <p role="status" class="outcome">{text}</p> }.into_any()
        } else {
            view! { <p role="alert" class="outcome error">{text}</p> }.into_any()
        })}
        {move || console.fleet.with(|f| f.as_ref().map(|fleet| view! {
            {machines(fleet, send, message, typed)}
            {links(fleet, send)}
        }))}
    }
}

/// Typed field values by machine and field name.
type Typed = BTreeMap<(Hostname, &'static str), String>;

fn machines(
    fleet: &Fleet,
    send: impl Fn(Fault) + Copy + 'static,
    message: RwSignal<Option<(bool, String)>>,
    typed: StoredValue<Typed>,
) -> impl IntoView {
    let rows = fleet
        .machines
        .values()
        .map(|m| {
            let host = m.hostname.clone();
            let off = m.is_off();
            let dns_off = fleet.network.dns_off.contains(&host);
            let faults = m.runtime.faults.clone();
            let armed = faults.describe().join(", ");
            let field = move |h: &Hostname, name: &'static str, default: String| {
                typed.with_value(|t| t.get(&(h.clone(), name)).cloned()).unwrap_or(default)
            };
            let extra_now = field(&host, "reboot", "600".into());
            let current_percent = faults.delivery_percent;
            let percent_now = field(&host, "delivery", current_percent.to_string());
            let h = host.clone();
            let power = move |_| {
                let state = if off { Switch::On } else { Switch::Off };
                send(Fault::Power { host: h.clone(), state });
            };
            let h = host.clone();
            let dns = move |_| {
                let state = if dns_off { Switch::On } else { Switch::Off };
                send(Fault::Dns { host: h.clone(), state });
            };
            let h = host.clone();
            let install = move |_| {
                send(Fault::Install {
                    host: h.clone(),
                    state: if faults.fail_next_install { InstallFault::Succeed } else { InstallFault::Fail },
                })
            };
            let h = host.clone();
            let reboot = move |_| match field(&h, "reboot", "600".into()).trim().parse::<u32>() {
                Ok(extra_seconds) => send(Fault::Reboot { host: h.clone(), extra_seconds }),
                Err(_) => message.set(Some((
                    false,
                    format!("Extra reboot seconds for {h}: enter a whole number from 0 to {MAX_EXTRA_REBOOT_SECS}."),
                ))),
            };
            let h = host.clone();
            let delivery = move |_| match field(&h, "delivery", current_percent.to_string()).trim().parse::<u8>() {
                Ok(rate_percent) => send(Fault::Delivery { host: h.clone(), rate_percent }),
                Err(_) => message.set(Some((
                    false,
                    format!("Delivery percent for {h}: enter a whole number from 0 to {MAX_DELIVERY_PERCENT}."),
                ))),
            };
            let name = host.to_string();
            view! {
                <tr aria-label=format!("Simulator {name}")>
                    <th scope="row">{name.clone()}</th>
                    <td><StateBadge host=host.clone() /></td>
                    <td><button on:click=power aria-label=format!("{} {name}", if off { "Power on" } else { "Power off" })>
                        {if off { "Power on" } else { "Power off" }}</button></td>
                    <td><button on:click=dns aria-label=format!("{} {name}", if dns_off { "Restore DNS of" } else { "Break DNS of" })>
                        {if dns_off { "Restore DNS" } else { "Break DNS" }}</button></td>
                    <td><button on:click=install aria-label=format!("{} {name}", if faults.fail_next_install { "Let the next install succeed on" } else { "Fail the next install on" })>
                        {if faults.fail_next_install { "Let install succeed" } else { "Fail next install" }}</button></td>
                    <td>
                        <input type="number" min="0" max=MAX_EXTRA_REBOOT_SECS.to_string() aria-label=format!("Extra reboot seconds for {name}")
                            prop:value=extra_now on:input={
                                let h = host.clone();
                                move |ev| typed.update_value(|t| { t.insert((h.clone(), "reboot"), event_target_value(&ev)); })
                            } />
                        <button on:click=reboot aria-label=format!("Slow the next reboot of {name}")>"Slow reboot"</button>
                    </td>
                    <td>
                        <input type="number" min="0" max=MAX_DELIVERY_PERCENT.to_string() aria-label=format!("Delivery percent for {name}")
                            prop:value=percent_now on:input={
                                let h = host.clone();
                                move |ev| typed.update_value(|t| { t.insert((h.clone(), "delivery"), event_target_value(&ev)); })
                            } />
                        <button on:click=delivery aria-label=format!("Set the delivery rate of {name}")>"Set delivery %"</button>
                    </td>
                    <td class="armed">{armed}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap" tabindex="0"><table class="simulator" aria-label="Machines in the simulator">
            <thead><tr><th>"Machine"</th><th>"State"</th><th>"Power"</th><th>"Name"</th><th>"Install"</th><th>"Reboot"</th><th>"Delivery"</th><th>"Armed faults"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table></div>
    }
}

fn links(fleet: &Fleet, send: impl Fn(Fault) + Copy + 'static) -> impl IntoView {
    let mut pairs: Vec<(Hostname, Hostname)> = Vec::new();
    for c in fleet.clusters.values() {
        let members: Vec<Hostname> = fleet.members(&c.name).map(|m| m.hostname.clone()).collect();
        for (i, a) in members.iter().enumerate() {
            for b in &members[i + 1..] {
                pairs.push((a.clone(), b.clone()));
            }
        }
    }
    let rows = pairs
        .into_iter()
        .map(|(a, b)| {
            let up = fleet.network.link_up(&a, &b);
            let label = format!("{a} – {b}");
            let (a2, b2) = (a.clone(), b.clone());
            let toggle = move |_| {
                let state = if up { Switch::Down } else { Switch::Up };
                send(Fault::Link { between: [a2.clone(), b2.clone()], state });
            };
            view! {
                <tr aria-label=format!("Link {label}")>
                    <th scope="row">{label.clone()}</th>
                    <td>{if up { "up" } else { "down" }}</td>
                    <td><button on:click=toggle aria-label=format!("{} link {label}", if up { "Cut" } else { "Restore" })>
                        {if up { "Cut link" } else { "Restore link" }}</button></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap" tabindex="0"><table class="simulator" aria-label="Cluster links in the simulator">
            <thead><tr><th>"Link"</th><th>"State"</th><th>"Change"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table></div>
    }
}
