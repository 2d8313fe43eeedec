//! Overview: the fleet's topology — clusters, groups, machines (version and connection state), and
//! standalone machines.

use cluster::{Fleet, Machine};
use leptos::prelude::*;

use crate::components::ConnectionBadge;

#[component]
pub fn Overview() -> impl IntoView {
    let fleet = LocalResource::new(crate::api::fetch_fleet);
    view! {
        <h1>"Overview"</h1>
        <Suspense fallback=|| view! { <p role="status">"Loading the fleet…"</p> }>
            {move || {
                fleet
                    .get()
                    .map(|result| match result {
                        Ok(response) => view! { <Topology fleet=response.fleet /> }.into_any(),
                        Err(failure) => view! { <p role="alert">{failure.message}</p> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

#[component]
fn Topology(fleet: Fleet) -> impl IntoView {
    let clusters: Vec<_> = fleet
        .clusters
        .values()
        .map(|cluster| {
            let groups: Vec<_> = cluster
                .groups
                .iter()
                .map(|group| {
                    let machines: Vec<_> = fleet
                        .group_members(&cluster.name, group)
                        .map(|m| machine_row(&fleet, m))
                        .collect();
                    let label = format!("Group {group}");
                    let heading = label.clone();
                    view! {
                        <section class="group" role="group" aria-label=label>
                            <h3>{heading}</h3>
                            <ul class="machines">{machines}</ul>
                        </section>
                    }
                })
                .collect();
            let label = format!("Cluster {}", cluster.name);
            let heading = label.clone();
            view! {
                <section class="cluster" role="region" aria-label=label>
                    <h2>{heading}</h2>
                    {groups}
                </section>
            }
        })
        .collect();
    let standalone: Vec<_> = fleet
        .standalone_machines()
        .map(|m| machine_row(&fleet, m))
        .collect();
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

fn machine_row(fleet: &Fleet, machine: &Machine) -> impl IntoView {
    let connection = fleet.connection(&machine.hostname);
    let label = format!("Machine {}", machine.hostname);
    view! {
        <li class="machine" aria-label=label>
            <span class="hostname">{machine.hostname.to_string()}</span>
            <span class="version">{format!("AsyncOS {}", machine.version)}</span>
            <ConnectionBadge connection=connection />
        </li>
    }
}
