//! Users (System Administration > Users): the cluster's one user database (rules §2.7), edited in
//! cluster mode and staged until commit.

use cluster::cmd::{FeatureAction, FeatureCmd};
use cluster::features::{FeatureId, ROLE_WORDS};
use cluster::Command;
use leptos::prelude::*;

use crate::components::{ActionButton, OutcomeView};
use crate::state::{use_console, Outcome};

#[component]
pub fn Users() -> impl IntoView {
    let console = use_console();
    let outcome = RwSignal::new(None::<Outcome>);
    let users = Memo::new(move |_| {
        let s = console.session.with(|s| s.as_ref().map(|s| s.session()))?;
        console.fleet.with(|f| {
            let fleet = f.as_ref()?;
            let machine = fleet.machine(&s.host)?;
            let view = s.view(&machine.config);
            Some((
                cluster::view::users_page_mode(fleet, &s.host),
                cluster::view::users(fleet, &s.host, &view)
                    .into_iter()
                    .map(|(u, r)| (u.to_string(), r.word().to_string()))
                    .collect::<Vec<_>>(),
            ))
        })
    });
    // The page shows the user database's mode (the cluster's, or a standalone machine's own).
    let page_mode = move || users.get().and_then(|(m, _)| m);
    let name = RwSignal::new(String::new());
    let role = RwSignal::new("operator".to_string());
    let password = RwSignal::new(String::new());
    // A user added clears the form for the next one (its name would now be refused as taken, and the
    // password should not linger); the outcome shows where the others' do.
    let added = RwSignal::new(None::<Outcome>);
    Effect::new(move |_| {
        if let Some(o) = added.get() {
            if o.is_done() {
                name.set(String::new());
                password.set(String::new());
            }
            outcome.set(Some(o));
        }
    });
    let add = Signal::derive(move || {
        let n = name.get();
        (!n.trim().is_empty()).then(|| {
            Command::from(FeatureCmd {
                feature: FeatureId::Users,
                action: FeatureAction::New(vec![n.trim().to_string(), role.get(), password.get()]),
            })
        })
    });
    view! {
        <h1>"Users"</h1>
        <p class="hint">"One user database for the whole cluster; changes are staged until you commit them."</p>
        <div class="table-wrap" tabindex="0" role="region" aria-label="Users table"><table class="users" aria-label="Users">
            <thead><tr><th scope="col">"User"</th><th scope="col">"Role"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
            <tbody>
                {move || users.get().map(|(_, u)| u).unwrap_or_default().into_iter().map(|(u, r)| {
                    let key = u.clone();
                    let delete = Signal::derive(move || Some(FeatureCmd { feature: FeatureId::Users, action: FeatureAction::Delete(key.clone()) }.into()));
                    view! { <tr aria-label=format!("User {u}")><td>{u.clone()}</td><td>{r}</td>
                        <td><ActionButton label="Delete" command=delete outcome=outcome mode=page_mode() class="danger" /></td></tr> }
                }).collect_view()}
            </tbody>
        </table></div>
        // A form, so that Enter in a field adds the user (the button is its submit button).
        <form on:submit=|ev| ev.prevent_default()><fieldset>
            <legend>"Add a user"</legend>
            <label>"User name " <input type="text" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) /></label>
            <label>"Role " <select on:change=move |ev| role.set(event_target_value(&ev)) prop:value=move || role.get()>
                {ROLE_WORDS.iter().map(|r| view! { <option value=*r>{*r}</option> }).collect_view()}
            </select></label>
            <label>"Password " <input type="password" prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev)) /></label>
            {move || view! { <ActionButton label="Add user" command=add outcome=added mode=page_mode() /> }}
        </fieldset></form>
        <OutcomeView outcome=outcome />
    }
}
