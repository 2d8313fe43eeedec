//! Users (System Administration > Users): the cluster's one user database (DOMAIN 2.7), edited in
//! cluster mode and staged until commit.

use cluster::command::FeatureAction;
use cluster::features::{FeatureId, ROLE_WORDS};
use cluster::model::Mode;
use cluster::session::session_view;
use cluster::Command;
use leptos::prelude::*;

use crate::components::{ActionButton, OutcomeView};
use crate::state::{use_console, Outcome};

#[component]
pub fn Users() -> impl IntoView {
    let console = use_console();
    let outcome = RwSignal::new(None::<Outcome>);
    let users = Memo::new(move |_| {
        let id = console.session.with(|s| s.as_ref().map(|s| s.session))?;
        console.fleet.with(|f| {
            let fleet = f.as_ref()?;
            let s = fleet.sessions.get(&id)?;
            let store = session_view(fleet, s);
            let mode = if fleet.cluster_of(&s.host).is_some() {
                Mode::Cluster
            } else {
                Mode::Machine(s.host.clone())
            };
            let rows = store.get(&mode, FeatureId::Users)?.value.rows.clone();
            Some(
                rows.into_iter()
                    .map(|r| (r.cell(0).to_string(), r.cell(1).to_string()))
                    .collect::<Vec<_>>(),
            )
        })
    });
    let name = RwSignal::new(String::new());
    let role = RwSignal::new("operator".to_string());
    let password = RwSignal::new(String::new());
    let add = Signal::derive(move || {
        let n = name.get();
        (!n.trim().is_empty()).then(|| Command::Feature {
            feature: FeatureId::Users,
            action: FeatureAction::New(vec![n.trim().to_string(), role.get(), password.get()]),
        })
    });
    view! {
        <h1>"Users"</h1>
        <p class="hint">"One user database for the whole cluster; changes are staged until you commit them."</p>
        <table class="users" aria-label="Users">
            <thead><tr><th>"User"</th><th>"Role"</th><th></th></tr></thead>
            <tbody>
                {move || users.get().unwrap_or_default().into_iter().map(|(u, r)| {
                    let key = u.clone();
                    let delete = Signal::derive(move || Some(Command::Feature { feature: FeatureId::Users, action: FeatureAction::Delete(key.clone()) }));
                    view! { <tr aria-label=format!("User {u}")><td>{u.clone()}</td><td>{r}</td>
                        <td><ActionButton label="Delete" command=delete outcome=outcome /></td></tr> }
                }).collect_view()}
            </tbody>
        </table>
        <fieldset>
            <legend>"Add a user"</legend>
            <label>"User name " <input type="text" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) /></label>
            <label>"Role " <select on:change=move |ev| role.set(event_target_value(&ev)) prop:value=move || role.get()>
                {ROLE_WORDS.iter().map(|r| view! { <option value=*r>{*r}</option> }).collect_view()}
            </select></label>
            <label>"Password " <input type="password" prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev)) /></label>
            <ActionButton label="Add user" command=add outcome=outcome />
        </fieldset>
        <OutcomeView outcome=outcome />
    }
}
