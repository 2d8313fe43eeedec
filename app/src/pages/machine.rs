//! The pages of one machine (`/machine/<host>`), one group (`/group/<name>`) and the cluster
//! (`/cluster`): what each is, its state, the settings defined at it, and the actions on it — enabled or
//! explained by the domain's verdicts (rules §15.35). A machine the session cannot act on from its login
//! host offers a session on that machine, kept beside the current one (rules §15.36).

use cluster::cmd::{upgrade_progress, ClusterConfigCmd, RuntimeCmd, UpgradeCmd};
use cluster::mail::listener_states;
use cluster::topology::{machine_facts, MachineFacts};
use cluster::view::{connection_action, ConnectionAction};
use cluster::{Command, GroupName, Hostname, Mode, Version};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::components::{ActionButton, MailFlow, OutcomeView, Progress, StateBadge};
use crate::pages::overview::{defs_of, group_section};
use crate::state::{use_console, Console, Outcome};

/// A page for an address that names nothing: says what was not found and links home.
#[component]
pub fn NotFound(#[prop(into)] what: String) -> impl IntoView {
    view! {
        <h1>"Not found"</h1>
        <p role="alert">{what}</p>
        <p><A href="/">"Back to the overview"</A></p>
    }
}

/// The login host of the session (tracked: a view using it follows a switch of sessions).
fn login_host(console: Console) -> Option<Hostname> {
    console.session.with(|s| s.as_ref().map(|s| s.login_host.clone()))
}

/// The login host now, outside any view.
fn login_host_now(console: Console) -> Option<Hostname> {
    console
        .session
        .with_untracked(|s| s.as_ref().map(|s| s.login_host.clone()))
}

#[component]
pub fn MachinePage() -> impl IntoView {
    let console = use_console();
    let params = use_params_map();
    let host = Memo::new(move |_| params.with(|p| p.get("host").and_then(|h| Hostname::parse(&h).ok())));
    // The outcome of the last action outlives the re-renders the fleet's changes cause; a new machine
    // starts without one.
    let outcome = RwSignal::new(None::<Outcome>);
    Effect::new(move |_| {
        host.track();
        outcome.set(None);
    });
    let facts = Memo::new(move |_| {
        let host = host.get()?;
        let s = console.session.with(|s| s.as_ref().map(|s| s.session()))?;
        console.fleet.with(|f| {
            let fleet = f.as_ref()?;
            let login = fleet.machine(&s.host)?;
            machine_facts(fleet, &s.view(&login.config), &host)
        })
    });
    move || {
        let loaded = console.fleet.with(|f| f.is_some());
        match (facts.get(), loaded) {
            (_, false) => view! { <p role="status">"Loading the fleet…"</p> }.into_any(),
            (None, true) => {
                let name = params.with(|p| p.get("host").unwrap_or_default());
                view! { <NotFound what=format!("There is no machine {name} in this fleet.") /> }.into_any()
            }
            (Some(f), true) => view! { <Machine facts=f outcome=outcome /> }.into_any(),
        }
    }
}

#[component]
fn Machine(facts: MachineFacts, outcome: RwSignal<Option<Outcome>>) -> impl IntoView {
    let console = use_console();
    let host = facts.host.clone();
    let crumbs = view! {
        <nav class="crumbs" aria-label="Breadcrumb">
            <A href="/">"Overview"</A>
            {facts.cluster.as_ref().map(|c| view! { " › " <A href="/cluster">{format!("Cluster {c}")}</A> })}
            {facts.group.as_ref().map(|g| view! { " › " <A href=format!("/group/{g}")>{format!("Group {g}")}</A> })}
            " › " {host.to_string()}
        </nav>
    };
    let upgrades = if facts.upgrades.is_empty() {
        "none offered".to_string()
    } else {
        facts
            .upgrades
            .iter()
            .map(|v| format!("AsyncOS {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let settings_href = format!("/machine/{host}/settings");
    let member = facts.cluster.is_some();
    let sources = facts
        .sources
        .iter()
        .map(|s| {
            let schema = s.feature.schema();
            let (from, href) = match &s.source {
                Some(m) => (
                    facts
                        .cluster
                        .as_ref()
                        .map_or_else(|| m.to_string(), |c| m.gui_label(c)),
                    format!("{}/settings/{}", m.path(), schema.command),
                ),
                None => (
                    "built-in default".to_string(),
                    format!("/machine/{host}/settings/{}", schema.command),
                ),
            };
            let here = facts.defined_here.contains(&s.feature);
            view! {
                <tr>
                    <td><A href=href>{schema.title}</A></td>
                    <td>{from}</td>
                    <td>{if here { "yes" } else { "" }}</td>
                </tr>
            }
        })
        .collect_view();
    let h = host.clone();
    let h2 = host.clone();
    view! {
        {crumbs}
        <h1 class="level-head">{host.to_string()}" "<StateBadge host=host.clone() /></h1>
        {facts.alert.clone().map(|a| view! {
            <div class="banner banner-alert" role="note" aria-label=format!("Latest alert of {h}")>{a}</div>
        })}
        {move || {
            let now = console.now();
            console.fleet.with_untracked(|f| {
                let m = f.as_ref()?.machine(&h2)?;
                upgrade_progress(m, now).map(|p| view! {
                    <Progress label=format!("Upgrade to AsyncOS {} ({})", p.version, p.phase.word()) percent=p.percent />
                })
            })
        }}
        <div class="columns">
            <section aria-label=format!("About {host}")>
                <h2>"Machine"</h2>
                <dl class="facts">
                    <dt>"Serial number"</dt><dd>{facts.serial.clone()}</dd>
                    <dt>"Version"</dt><dd>{format!("AsyncOS {}", facts.version)}</dd>
                    <dt>"Upgrades offered"</dt><dd>{upgrades}</dd>
                    <dt>"Cluster"</dt><dd>{facts.cluster.as_ref().map_or("none (standalone)".to_string(), |c| c.to_string())}</dd>
                    <dt>"Group"</dt><dd>{facts.group.as_ref().map_or("—".to_string(), |g| g.to_string())}</dd>
                    <dt>"Connection"</dt><dd>{facts.connection}</dd>
                </dl>
            </section>
            <MachineActions host=host.clone() member=member upgrades=facts.upgrades.clone() outcome=outcome />
        </div>
        <MachineListeners host=host.clone() />
        <MailFlow host=host.clone() />
        <section aria-label=format!("Settings of {host}")>
            <h2>"Settings"</h2>
            <p class="note">"Where each effective value of this machine comes from; "<A href=settings_href>"edit this machine's settings"</A>"."</p>
            <div class="table-wrap" tabindex="0">
                <table>
                    <thead><tr><th scope="col">"Feature"</th><th scope="col">"Value comes from"</th><th scope="col">"Defined at this machine"</th></tr></thead>
                    <tbody>{sources}</tbody>
                </table>
            </div>
        </section>
        <crate::pages::audit::MachineAudit host=host.clone() limit=10 />
    }
}

/// The listeners of `host`, live.
#[component]
fn MachineListeners(host: Hostname) -> impl IntoView {
    let console = use_console();
    let label = format!("Listeners of {host}");
    move || {
        let list = console.fleet.with(|f| {
            f.as_ref()
                .map(|fleet| listener_states(fleet, &host))
                .unwrap_or_default()
        });
        view! {
            <section aria-label=label.clone()>
                <h2>"Listeners"</h2>
                {if list.is_empty() {
                    view! { <p class="empty">"No listeners are configured."</p> }.into_any()
                } else {
                    view! { <ul>{list.into_iter().map(|l| view! { <li>{format!("{}: {}", l.name, l.state.word())}</li> }).collect_view()}</ul> }.into_any()
                }}
            </section>
        }
    }
}

/// The actions on one machine: connection (in the cluster's mode), listeners (in the machine's mode),
/// upgrade (on the login host only), and a session on the machine when the current one cannot act.
#[component]
fn MachineActions(
    host: Hostname,
    member: bool,
    upgrades: Vec<Version>,
    outcome: RwSignal<Option<Outcome>>,
) -> impl IntoView {
    let console = use_console();
    let here = Mode::Machine(host.clone());
    let h = host.clone();
    let connection = Memo::new(move |_| {
        console
            .fleet
            .with(|f| f.as_ref().map(|fleet| connection_action(fleet, &h)))
    });
    let h = host.clone();
    let disconnect = Signal::derive(move || {
        (connection.get() == Some(ConnectionAction::Disconnect)).then(|| {
            Command::ClusterConfig(ClusterConfigCmd::Disconnect {
                hosts: vec![h.clone()],
            })
        })
    });
    let h = host.clone();
    let reconnect = Signal::derive(move || {
        (connection.get() == Some(ConnectionAction::Reconnect)).then(|| {
            Command::ClusterConfig(ClusterConfigCmd::Reconnect {
                hosts: vec![h.clone()],
            })
        })
    });
    // Connecting and disconnecting name the cluster's mode, as the Cluster page does (rules §9.1).
    let cluster_mode = StoredValue::new(console.fleet.with_untracked(|f| {
        let login = login_host_now(console)?;
        cluster::view::cluster_page_mode(f.as_ref()?, &login)
    }));
    let suspend = Signal::derive(|| Some(RuntimeCmd::SuspendListener { listener: None }.into()));
    let resume = Signal::derive(|| Some(RuntimeCmd::Resume.into()));
    let chosen = RwSignal::new(upgrades.first().map(|v| v.to_string()).unwrap_or_default());
    let install = Signal::derive(move || {
        Version::parse(&chosen.get())
            .ok()
            .map(|version| UpgradeCmd::Install { version }.into())
    });
    let h = host.clone();
    let on_login_host = Memo::new(move |_| login_host(console).as_ref() == Some(&h));
    let h = host.clone();
    view! {
        <section class="page-actions" aria-label=format!("Actions on {host}")>
            <h2>"Actions"</h2>
            {member.then(|| view! {
                <div>
                    {move || match connection.get() {
                        Some(ConnectionAction::Reconnect) => view! {
                            <ActionButton label="Reconnect" command=reconnect outcome=outcome mode=cluster_mode.get_value() class="primary" />
                        }.into_any(),
                        _ => view! {
                            <ActionButton label="Disconnect" command=disconnect outcome=outcome mode=cluster_mode.get_value() />
                        }.into_any(),
                    }}
                </div>
            })}
            <div>
                <ActionButton label="Suspend listeners" command=suspend outcome=outcome mode=Some(here.clone()) />
                <ActionButton label="Resume" command=resume outcome=outcome mode=Some(here.clone()) />
            </div>
            {move || if on_login_host.get() {
                if upgrades.is_empty() {
                    view! { <p class="note">"No upgrade is offered for this machine."</p> }.into_any()
                } else {
                    let options = upgrades.iter().map(|v| view! { <option value=v.to_string()>{format!("AsyncOS {v}")}</option> }).collect_view();
                    view! {
                        <div>
                            <label>"Upgrade to " <select on:change=move |ev| chosen.set(event_target_value(&ev))>{options}</select></label>
                            " "<ActionButton label="Upgrade" command=install outcome=outcome class="primary" />
                        </div>
                    }.into_any()
                }
            } else {
                view! { <SessionOn host=h.clone() /> }.into_any()
            }}
            <OutcomeView outcome=outcome />
        </section>
    }
}

/// Switch to the session this browser keeps on `host`, or open one (rules §15.36): `upgrade` and the
/// commands of a disconnected machine act on the machine one is logged into.
#[component]
pub fn SessionOn(host: Hostname) -> impl IntoView {
    let console = use_console();
    let kept = LocalResource::new(crate::api::kept_sessions);
    let error = RwSignal::new(None::<String>);
    let h = host.clone();
    let has_kept = move || {
        kept.get()
            .and_then(|r| r.ok())
            .is_some_and(|list| list.iter().any(|s| s.login_host == h))
    };
    let h = host.clone();
    let switch = move |_| {
        let h = h.clone();
        leptos::task::spawn_local(async move {
            match crate::api::switch_session(&h).await {
                Ok(info) => console.switched(info).await,
                Err(f) => error.set(Some(f.message)),
            }
        });
    };
    let href = format!("/open-session?host={host}");
    let text = format!("Upgrading acts on the machine you are logged into. Open a session on {host} to upgrade it or to act on it while it is disconnected; your current session stays open.");
    view! {
        <div class="note-block">
            <p class="note">{text}</p>
            {move || if has_kept() {
                view! { <button class="primary" on:click=switch.clone()>{format!("Switch to your session on {host}")}</button> }.into_any()
            } else {
                view! { <A href=href.clone() attr:class="button-link">{format!("Open a session on {host}")}</A> }.into_any()
            }}
            {move || error.get().map(|e| view! { <p role="alert">{e}</p> })}
        </div>
    }
}

/// `/open-session?host=<h>`: log into another machine (its user database decides) and keep the current
/// session at hand (rules §15.36).
#[component]
pub fn OpenSession() -> impl IntoView {
    let console = use_console();
    let query = leptos_router::hooks::use_query_map();
    let user = RwSignal::new(
        console
            .session
            .with_untracked(|s| s.as_ref().map(|s| s.user.to_string()).unwrap_or_default()),
    );
    let host = RwSignal::new(query.with_untracked(|q| q.get("host").unwrap_or_default()));
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let navigate = leptos_router::hooks::use_navigate();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let fleet = console
            .session
            .with_untracked(|s| s.as_ref().map(|s| s.fleet.clone()));
        let body = cluster::wire::LoginRequest {
            user: user.get_untracked(),
            password: password.get_untracked(),
            login_host: host.get_untracked().trim().to_string(),
            fleet,
            keep_current: true,
        };
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match crate::api::login(&body).await {
                Ok(info) => {
                    let target = format!("/machine/{}", info.login_host);
                    console.switched(info).await;
                    navigate(&target, Default::default());
                }
                Err(f) => error.set(Some(f.message)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="login" aria-labelledby="open-session-title">
            <h1 id="open-session-title">"Open a session on another machine"</h1>
            <p class="note">"The machine's user database checks your password. Your current session stays open: switch between them from the account menu."</p>
            <form on:submit=submit>
                <label>"Machine" <input type="text" name="login_host" required
                    prop:value=move || host.get() on:input=move |ev| host.set(event_target_value(&ev)) /></label>
                <label>"User" <input type="text" name="user" autocomplete="username" required
                    prop:value=move || user.get() on:input=move |ev| user.set(event_target_value(&ev)) /></label>
                <label>"Password" <input type="password" name="password" autocomplete="current-password" required
                    prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev)) /></label>
                <button type="submit" class="primary" disabled=move || busy.get()>"Open session"</button>
                {move || error.get().map(|e| view! { <p role="alert">{e}</p> })}
            </form>
        </section>
    }
}

#[component]
pub fn GroupPage() -> impl IntoView {
    let console = use_console();
    let params = use_params_map();
    move || {
        let name = params.with(|p| p.get("group").unwrap_or_default());
        let group = GroupName::parse(&name).ok();
        let login = login_host(console);
        console.session.track();
        console.fleet.with(|f| {
            let Some(fleet) = f.as_ref() else {
                return view! { <p role="status">"Loading the fleet…"</p> }.into_any();
            };
            // One rule says which addresses exist, and names what was not found (rules §15.34, §15.35).
            let Some((g, login)) = group.zip(login) else {
                return view! { <NotFound what=format!("There is no group {name}: not a group name.") /> }.into_any();
            };
            if let Some(why) = cluster::view::missing_mode(fleet, &login, &Mode::Group(g.clone())) {
                return view! { <NotFound what=why /> }.into_any();
            }
            let Some(cluster) = fleet.cluster_of(&login).map(|c| c.name.clone()) else {
                return view! { <NotFound what="Your login host belongs to no cluster." /> }.into_any();
            };
            let defs = defs_of(console, fleet);
            let mode = Mode::Group(g.clone());
            view! {
                <nav class="crumbs" aria-label="Breadcrumb"><A href="/">"Overview"</A>" › "<A href="/cluster">{format!("Cluster {cluster}")}</A>" › "{format!("Group {g}")}</nav>
                <h1>{format!("Group {g}")}</h1>
                <DefinedHere mode=mode.clone() />
                {group_section(console, fleet, &cluster, &g, &defs)}
            }
            .into_any()
        })
    }
}

#[component]
pub fn ClusterPage() -> impl IntoView {
    let console = use_console();
    move || {
        let login = login_host(console);
        console.session.track();
        console.fleet.with(|f| {
            let Some(fleet) = f.as_ref() else {
                return view! { <p role="status">"Loading the fleet…"</p> }.into_any();
            };
            let Some(cluster) = login.as_ref().and_then(|l| fleet.cluster_of(l)) else {
                return view! { <NotFound what="Your login host is a standalone machine: it belongs to no cluster. Create or join one on the Cluster page." /> }.into_any();
            };
            let defs = defs_of(console, fleet);
            let groups = cluster
                .groups
                .iter()
                .map(|g| group_section(console, fleet, &cluster.name, g, &defs))
                .collect_view();
            view! {
                <nav class="crumbs" aria-label="Breadcrumb"><A href="/">"Overview"</A>" › "{format!("Cluster {}", cluster.name)}</nav>
                <h1>{format!("Cluster {}", cluster.name)}</h1>
                <p class="note">{format!("{} machines in {} groups, {} addressing. ", fleet.members(&cluster.name).count(), cluster.groups.len(), cluster.addressing)}
                    <A href="/cluster-ops">"Manage members and groups"</A></p>
                {login.as_ref().and_then(|l| cluster::view::cluster_page_mode(fleet, l)).map(|mode| view! { <DefinedHere mode=mode /> })}
                <section class="cluster" role="region" aria-label=format!("Cluster {}", cluster.name)>{groups}</section>
            }
            .into_any()
        })
    }
}

/// The settings a mode defines, each a link to its page, and a link to all of the mode's settings.
#[component]
fn DefinedHere(mode: Mode) -> impl IntoView {
    let console = use_console();
    let base = mode.path();
    let features = console.session.with_untracked(|s| {
        let s = s.as_ref()?.session();
        console.fleet.with_untracked(|f| {
            let fleet = f.as_ref()?;
            let m = fleet.machine(&s.host)?;
            Some(cluster::topology::defined_at(&s.view(&m.config), &mode))
        })
    });
    let label = format!("Settings defined at {mode}");
    view! {
        <section aria-label=label>
            <h2>"Settings defined here"</h2>
            {match features {
                None => view! { <p class="note">"Your role does not read configuration."</p> }.into_any(),
                Some(list) if list.is_empty() => view! { <p class="empty">"Nothing is defined here: every value is inherited."</p> }.into_any(),
                Some(list) => view! {
                    <ul>{list.into_iter().map(|f| {
                        let s = f.schema();
                        view! { <li><A href=format!("{base}/settings/{}", s.command)>{s.title}</A></li> }
                    }).collect_view()}</ul>
                }.into_any(),
            }}
            <p><A href=format!("{base}/settings")>"All settings in this mode"</A></p>
        </section>
    }
}
