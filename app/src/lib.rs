//! # app — the Clusterdeck console in the browser
//!
//! Module map:
//!
//! - [`api`] — the one HTTP client of the app.
//! - [`pages`] — one file per page (`login`, `overview`, ...).
//! - [`components`] — shared widgets.
//!
//! No rule lives here: the app renders state from the `cluster` crate and asks it for every verdict.

use cluster::wire::SessionInfo;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

pub mod api;
pub mod components;
pub mod pages;

/// The logged-in session, shared by every page.
#[derive(Clone, Copy)]
pub struct SessionCtx(pub RwSignal<Option<SessionInfo>>);

/// The root component: the login page until there is a session, then the console.
#[component]
pub fn App() -> impl IntoView {
    let session = RwSignal::new(None::<SessionInfo>);
    let checked = RwSignal::new(false);
    provide_context(SessionCtx(session));
    spawn_local(async move {
        if let Ok(info) = api::fetch_session().await {
            session.set(Some(info));
        }
        checked.set(true);
    });
    let logout = move |_| {
        spawn_local(async move {
            let _ = api::logout().await;
            session.set(None);
        });
    };
    view! {
        <Router>
            <header class="topbar">
                <a class="brand" href="/">"Clusterdeck"</a>
                {move || session.get().map(|s| view! {
                    <span class="whoami" aria-label="Signed in as">{format!("{} ({}) on {}", s.user, s.role.word(), s.login_host)}</span>
                    <button class="link" on:click=logout>"Log out"</button>
                })}
            </header>
            <main id="main">
                {move || match (checked.get(), session.get().is_some()) {
                    (false, _) => view! { <p role="status">"Loading…"</p> }.into_any(),
                    (true, false) => view! { <pages::login::Login on_login=Callback::new(move |info| session.set(Some(info))) /> }.into_any(),
                    (true, true) => view! {
                        <Routes fallback=|| view! { <p role="alert">"Page not found."</p> }>
                            <Route path=path!("/") view=pages::overview::Overview />
                        </Routes>
                    }.into_any(),
                }}
            </main>
        </Router>
    }
}

/// Entry point called by the JS glue once the module is instantiated.
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
