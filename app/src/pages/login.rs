//! Login: user, password and the login host, as on the appliance (the login host's user database decides).

use cluster::wire::{LoginRequest, SessionInfo};
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn Login(
    on_login: Callback<SessionInfo>,
    /// In a demo sandbox: no other fleet to name, and the demo users' passwords are shown.
    #[prop(optional)]
    sandbox: bool,
) -> impl IntoView {
    let user = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let host = RwSignal::new("newyork.example.com".to_string());
    // `/login?fleet=<id>` (or any page with it) preselects the fleet; without it, the default fleet.
    let fleet = RwSignal::new(fleet_from_url().unwrap_or_default());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    // The first field has the focus when the page opens.
    let first = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = first.get() {
            let _ = input.focus();
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let body = LoginRequest {
            user: user.get_untracked(),
            password: password.get_untracked(),
            login_host: host.get_untracked(),
            fleet: Some(fleet.get_untracked().trim().to_string()).filter(|f| !f.is_empty()),
            keep_current: false,
        };
        spawn_local(async move {
            match crate::api::login(&body).await {
                Ok(info) => on_login.run(info),
                Err(f) => error.set(Some(f.message)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="login" aria-labelledby="login-title">
            <h1 id="login-title">{if sandbox { "Log in to a machine of your sandbox" } else { "Log in to Clusterdeck" }}</h1>
            <form on:submit=submit>
                <label>"User" <input type="text" name="user" autocomplete="username" required node_ref=first
                    prop:value=move || user.get() on:input=move |ev| user.set(event_target_value(&ev)) /></label>
                <label>"Password" <input type="password" name="password" autocomplete="current-password" required
                    prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev)) /></label>
                <label>"Login host" <input type="text" name="login_host" required
                    prop:value=move || host.get() on:input=move |ev| host.set(event_target_value(&ev)) /></label>
                {(!sandbox).then(|| view! {
                    <details class="login-fleet" open=!fleet.get_untracked().is_empty()>
                        <summary>"Another fleet"</summary>
                        <label>"Fleet" <input type="text" name="fleet" placeholder="default"
                            prop:value=move || fleet.get() on:input=move |ev| fleet.set(event_target_value(&ev)) /></label>
                    </details>
                })}
                {sandbox.then(crate::pages::demo::demo_passwords)}
                <button type="submit" disabled=move || busy.get()>"Log in"</button>
                {move || error.get().map(|e| view! { <p role="alert">{e}</p> })}
            </form>
        </section>
    }
}

/// The `fleet` query parameter of the page's address.
fn fleet_from_url() -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|kv| kv.strip_prefix("fleet="))
        .map(|v| v.chars().take(64).collect())
}
