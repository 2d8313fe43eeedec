//! Cluster operations (rules §9.1: beyond the appliance's GUI): create or join for a standalone login
//! host; for a member: disconnect, reconnect, remove, move between groups, groups themselves, and
//! `clustercheck` with its resolution choices. Every button shows the browser's verdict first; an action
//! refused only because the login host is disconnected is left out, and the page says why once.

use cluster::cmd::{ClusterCheckCmd, ClusterConfigCmd};
use cluster::structure::{Addressing, StructureOp};
use cluster::view::{cluster_page_mode, connection_action, ConnectionAction};
use cluster::{Command, GroupName, Hostname, Mode, Rejection, Verdict};
use leptos::prelude::*;

use crate::components::{ActionButton, OutcomeView, StateBadge};
use crate::state::{use_console, Outcome};

#[derive(Clone, PartialEq)]
struct MemberRow {
    host: Hostname,
    group: GroupName,
    version: String,
    connection: cluster::Connection,
    connection_label: &'static str,
    action: ConnectionAction,
}

#[component]
pub fn ClusterOps() -> impl IntoView {
    let console = use_console();
    let outcome = RwSignal::new(None::<Outcome>);
    let info = Memo::new(move |_| {
        let login = console
            .session
            .with(|s| s.as_ref().map(|s| s.login_host.clone()))?;
        console.fleet.with(|f| {
            let fleet = f.as_ref()?;
            let cluster = fleet.cluster_of(&login).cloned();
            let members: Vec<MemberRow> = match &cluster {
                Some(c) => fleet
                    .members(&c.name)
                    .map(|m| MemberRow {
                        host: m.hostname.clone(),
                        group: fleet
                            .group_of(&m.hostname)
                            .cloned()
                            .unwrap_or_else(|| c.groups[0].clone()),
                        version: m.version.to_string(),
                        connection: fleet.connection(&m.hostname),
                        connection_label: fleet.describe_connection(&m.hostname),
                        action: connection_action(fleet, &m.hostname),
                    })
                    .collect(),
                None => Vec::new(),
            };
            // A standalone machine joins through a member of some cluster.
            let others: Vec<Hostname> = fleet
                .machines
                .keys()
                .filter(|h| **h != login && fleet.cluster_of(h).is_some())
                .cloned()
                .collect();
            let page = cluster_page_mode(fleet, &login);
            Some((login, cluster, members, others, page))
        })
    });
    // Why this login host cannot act on the other members, said once: the refusal of disconnecting one.
    let detached_note = Memo::new(move |_| {
        let (login, _, members, _, page) = info.get()?;
        members.iter().filter(|m| m.host != login).find_map(|m| {
            let probe = Command::ClusterConfig(ClusterConfigCmd::Disconnect {
                hosts: vec![m.host.clone()],
            });
            detached_refusal(console.preview_with(&probe, page.as_ref(), &[]))
        })
    });
    view! {
        <h1>"Cluster operations"</h1>
        {move || info.get().map(|(login, cluster, members, others, page)| match cluster {
            None => view! { <Standalone login=login others=others outcome=outcome /> }.into_any(),
            Some(c) => {
                let groups = c.groups.clone();
                view! {
                    <p>{format!("Cluster {} ({} addressing), logged into {login}.", c.name, c.addressing)}</p>
                    {move || detached_note.get().map(|n| view! { <p role="alert" class="refused">{n}</p> })}
                    <div class="table-wrap" tabindex="0">
                    <table class="members" aria-label="Members">
                        <thead><tr><th>"Machine"</th><th>"Group"</th><th>"Version"</th><th>"State"</th><th>"Actions"</th></tr></thead>
                        <tbody>
                            {members.into_iter().map(|m| view! { <MemberActions row=m groups=groups.clone() outcome=outcome page=page.clone() /> }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                    <Groups groups=c.groups.clone() outcome=outcome page=page.clone() />
                    <section aria-label="Consistency">
                        <h2>"Consistency"</h2>
                        <ActionButton label="Run clustercheck" command=Signal::derive(|| Some(ClusterCheckCmd {}.into())) outcome=outcome mode=page.clone() />
                    </section>
                }.into_any()
            }
        })}
        <OutcomeView outcome=outcome />
    }
}

/// The message of a refusal that says only that the login host is disconnected (rules §14.7.8).
fn detached_refusal(verdict: Option<Verdict>) -> Option<String> {
    match verdict {
        Some(Verdict::Rejected {
            rejection: Rejection::DetachedHost { .. },
            message,
        }) => Some(message),
        _ => None,
    }
}

fn stage(op: StructureOp) -> Command {
    Command::ClusterConfig(ClusterConfigCmd::Stage(op))
}

#[component]
fn MemberActions(
    row: MemberRow,
    groups: Vec<GroupName>,
    outcome: RwSignal<Option<Outcome>>,
    /// The page's mode: the cluster's.
    page: Option<Mode>,
) -> impl IntoView {
    let host = row.host.clone();
    let h = host.clone();
    let disconnect = Signal::derive(move || {
        Some(Command::ClusterConfig(ClusterConfigCmd::Disconnect {
            hosts: vec![h.clone()],
        }))
    });
    let h = host.clone();
    let reconnect = Signal::derive(move || {
        Some(Command::ClusterConfig(ClusterConfigCmd::Reconnect {
            hosts: vec![h.clone()],
        }))
    });
    let h = host.clone();
    let remove = Signal::derive(move || {
        Some(Command::ClusterConfig(ClusterConfigCmd::RemoveMachine {
            host: h.clone(),
        }))
    });
    // No group is chosen until the user picks one of the others: nothing to refuse before that.
    let target = RwSignal::new(String::new());
    let h = host.clone();
    let setgroup = Signal::derive(move || {
        GroupName::parse(&target.get()).ok().map(|group| {
            stage(StructureOp::SetGroup {
                host: h.clone(),
                group,
            })
        })
    });
    let detached = row.action == ConnectionAction::Reconnect;
    let host_label = host.to_string();
    // What reconnecting would replace, shown before the click (rules §8.3), following every change.
    let console = crate::state::use_console();
    let preview_host = host.clone();
    let preview = move || {
        console.fleet.with(|f| {
            f.as_ref()
                .map(|f| cluster::view::reconnect_preview(f, &preview_host))
                .unwrap_or_default()
        })
    };
    // Left out when the only reason is that the login host is disconnected (the page says it once).
    let page_mode = StoredValue::new(page.clone());
    let offered = move |c: Signal<Option<Command>>| {
        c.get().is_none_or(|c| {
            detached_refusal(console.preview_with(&c, page_mode.get_value().as_ref(), &[])).is_none()
        })
    };
    let current = row.group.clone();
    let other_groups: Vec<GroupName> = groups.into_iter().filter(|g| *g != current).collect();
    let can_move = !other_groups.is_empty();
    // Whether moving is refused only for the login host's state, before a group is chosen.
    let (h, first) = (host.clone(), other_groups.first().cloned());
    let probe_setgroup = Signal::derive(move || {
        first.clone().map(|group| {
            stage(StructureOp::SetGroup {
                host: h.clone(),
                group,
            })
        })
    });
    view! {
        <tr aria-label=format!("Member {host}")>
            <td>{host.to_string()}</td>
            <td>{row.group.to_string()}</td>
            <td>{row.version}</td>
            <td><StateBadge host=row.host.clone() /></td>
            <td class="actions">
                {if detached {
                    view! {
                        {move || {
                            let lines = preview();
                            (!lines.is_empty()).then(|| view! {
                                <ul class="preview" aria-label=format!("Reconnecting {} replaces", host_label)>
                                    {lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}
                                </ul>
                            })
                        }}
                        <ActionButton label="Reconnect" command=reconnect outcome=outcome mode=page.clone() />
                    }.into_any()
                } else {
                    let page = page.clone();
                    view! { <Show when=move || offered(disconnect)>
                        <ActionButton label="Disconnect" command=disconnect outcome=outcome mode=page.clone() />
                    </Show> }.into_any()
                }}
                <Show when=move || offered(remove)>
                    <ActionButton label="Remove from cluster" command=remove outcome=outcome mode=page_mode.get_value() class="danger" />
                </Show>
                {can_move.then(|| view! {
                    <Show when=move || offered(Signal::derive(move || setgroup.get().or_else(|| probe_setgroup.get())))>
                        <label>"Move to group " <select on:change=move |ev| target.set(event_target_value(&ev)) prop:value=move || target.get()>
                            <option value="">"Choose a group"</option>
                            {other_groups.iter().map(|g| view! { <option value=g.to_string()>{g.to_string()}</option> }).collect_view()}
                        </select></label>
                        <ActionButton label="Move" command=setgroup outcome=outcome mode=page_mode.get_value() />
                    </Show>
                })}
            </td>
        </tr>
    }
}

#[component]
fn Groups(groups: Vec<GroupName>, outcome: RwSignal<Option<Outcome>>, page: Option<Mode>) -> impl IntoView {
    let new_name = RwSignal::new(String::new());
    let add = Signal::derive(move || {
        GroupName::parse(new_name.get().trim())
            .ok()
            .map(|group| stage(StructureOp::AddGroup { group }))
    });
    let all = groups.clone();
    let rows = groups
        .into_iter()
        .map(|g| {
            let rename_to = RwSignal::new(String::new());
            let g1 = g.clone();
            let rename = Signal::derive(move || {
                GroupName::parse(rename_to.get().trim()).ok().map(|new| stage(StructureOp::RenameGroup { old: g1.clone(), new }))
            });
            let dest_default = all.iter().find(|x| **x != g).map(|x| x.to_string()).unwrap_or_default();
            let dest = RwSignal::new(dest_default);
            let g2 = g.clone();
            let delete = Signal::derive(move || {
                Some(stage(StructureOp::DeleteGroup { group: g2.clone(), dest: GroupName::parse(&dest.get()).ok() }))
            });
            let options = all.iter().filter(|x| **x != g).map(|x| view! { <option value=x.to_string()>{x.to_string()}</option> }).collect_view();
            view! {
                <li aria-label=format!("Group {g}")>
                    <strong>{g.to_string()}</strong>
                    <label>" Rename to " <input type="text" prop:value=move || rename_to.get() on:input=move |ev| rename_to.set(event_target_value(&ev)) /></label>
                    <ActionButton label="Rename" command=rename outcome=outcome mode=page.clone() />
                    <label>" Move its machines to " <select on:change=move |ev| dest.set(event_target_value(&ev))>{options}</select></label>
                    <ActionButton label="Delete group" command=delete outcome=outcome mode=page.clone() class="danger" />
                </li>
            }
        })
        .collect_view();
    view! {
        <section aria-label="Groups">
            <h2>"Groups"</h2>
            <ul class="groups">{rows}</ul>
            <label>"New group " <input type="text" prop:value=move || new_name.get() on:input=move |ev| new_name.set(event_target_value(&ev)) /></label>
            <ActionButton label="Add group" command=add outcome=outcome mode=page.clone() />
            <p class="hint">"Group changes are staged: commit them on the Pending changes page."</p>
        </section>
    }
}

#[component]
fn Standalone(login: Hostname, others: Vec<Hostname>, outcome: RwSignal<Option<Outcome>>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let ip = RwSignal::new(false);
    let create = Signal::derive(move || {
        cluster::ClusterName::parse(name.get().trim()).ok().map(|name| {
            Command::ClusterConfig(ClusterConfigCmd::Create {
                name,
                addressing: if ip.get() {
                    Addressing::Ip
                } else {
                    Addressing::Hostname
                },
            })
        })
    });
    // Nothing is chosen until the user picks a member: no refusal shows on an untouched form.
    let member = RwSignal::new(String::new());
    let ccs = RwSignal::new(false);
    let group = RwSignal::new(String::new());
    let join = Signal::derive(move || {
        let member = Hostname::parse(&member.get()).ok()?;
        let g = group.get();
        let group = if g.trim().is_empty() {
            None
        } else {
            Some(GroupName::parse(g.trim()).ok()?)
        };
        Some(Command::ClusterConfig(ClusterConfigCmd::Join {
            member,
            ccs: ccs.get(),
            port: None,
            group,
            by_ip: ip.get(),
        }))
    });
    view! {
        <p>{format!("{login} is a standalone machine. Create a cluster with it, or join an existing one.")}</p>
        <section aria-label="Create a cluster">
            <h2>"Create a cluster"</h2>
            <p><label>"Cluster name " <input type="text" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) /></label></p>
            <p><label><input type="checkbox" prop:checked=move || ip.get() on:change=move |ev| ip.set(event_target_checked(&ev)) />" Members reach each other by IP address (default: by hostname)"</label></p>
            <ActionButton label="Create cluster" command=create outcome=outcome class="primary" />
        </section>
        <section aria-label="Join a cluster">
            <h2>"Join a cluster"</h2>
            {others.is_empty().then(|| view! { <p class="empty">"No machine of this fleet is in a cluster yet: create one first."</p> })}
            <p><label>"Join through the member " <select on:change=move |ev| member.set(event_target_value(&ev)) prop:value=move || member.get()>
                <option value="">"Choose a member"</option>
                {others.iter().map(|h| view! { <option value=h.to_string()>{h.to_string()}</option> }).collect_view()}
            </select></label></p>
            <p><label><input type="checkbox" prop:checked=move || ccs.get() on:change=move |ev| ccs.set(event_target_checked(&ev)) />" Connect over the CCS port instead of SSH"</label></p>
            <p><label>"Group to join " <input type="text" placeholder="Main_Group" prop:value=move || group.get() on:input=move |ev| group.set(event_target_value(&ev)) /></label>
                <span class="hint">" Empty: Main_Group, or the cluster's first group."</span></p>
            <ActionButton label="Join cluster" command=join outcome=outcome class="primary" />
        </section>
    }
}
