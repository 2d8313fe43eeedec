//! # app — the Clusterdeck console in the browser
//!
//! Module map:
//!
//! - [`state`] — the console's state: session, the fleet replica kept by the event stream, the simulated
//!   clock, and [`state::Console::perform`], the one way an action is taken (checked here first).
//! - [`api`] — the one HTTP client of the app.
//! - [`pages`] — one file per page: login, overview, settings, pending changes, cluster operations,
//!   upgrade, terminal, users, audit.
//! - [`components`] — shared widgets (mode bar, question dialog, action button, badges).
//! - [`timing`] — marks the benchmarks read (fleet arrival, apply durations).
//!
//! No rule lives here: every verdict comes from `cluster::check`, every derived value from the crate.

use cluster::view::Page;
use cluster::wire::SessionInfo;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::path;

pub mod api;
pub mod components;
pub mod dialog;
pub mod pages;
pub mod state;
pub mod timing;

use state::Console;

/// A page the session's role may not read shows why instead (rules §14.7.2); the server refuses the
/// reads anyway.
#[component]
fn Gate(page: Page, children: ChildrenFn) -> impl IntoView {
    let console = expect_context::<Console>();
    let refusal = Memo::new(move |_| {
        console
            .session
            .with(|s| s.as_ref().and_then(|s| page.refusal(s.role)))
    });
    move || match refusal.get() {
        Some(why) => view! { <p role="alert" class="refusal">{why}</p> }.into_any(),
        None => children().into_any(),
    }
}

/// The root component: the login page until there is a session, then the console.
#[component]
pub fn App() -> impl IntoView {
    let console = Console::new();
    provide_context(console);
    let checked = RwSignal::new(false);
    spawn_local(async move {
        if let Ok(info) = api::fetch_session().await {
            console.session.set(Some(info));
            console.start();
        }
        checked.set(true);
    });
    let on_login = Callback::new(move |info: SessionInfo| {
        console.session.set(Some(info));
        console.start();
    });
    // Pages re-render only when logging in or out, not on every change of the session's mode.
    let logged_in = Memo::new(move |_| console.session.with(|s| s.is_some()));
    let whoami = Memo::new(move |_| {
        console.session.with(|s| {
            s.as_ref().map(|s| {
                let fleet = if s.fleet == "default" {
                    String::new()
                } else {
                    format!(", fleet {}", s.fleet)
                };
                format!("{} ({}) on {}{fleet}", s.user, s.role.word(), s.login_host)
            })
        })
    });
    let logout = move |_| {
        spawn_local(async move {
            let _ = api::logout().await;
            console.session.set(None);
            console.fleet.set(None);
        });
    };
    view! {
        <Router>
            <header class="topbar">
                <a class="brand" href="/">"Clusterdeck"</a>
                {move || whoami.get().map(|who| view! {
                    <nav aria-label="Main" class="mainnav">
                        {move || {
                            // Only the pages the session's role reads (rules §14.7.2).
                            let role = console.session.with(|s| s.as_ref().map(|s| s.role));
                            Page::ALL
                                .into_iter()
                                .filter(|p| role.is_some_and(|r| p.refusal(r).is_none()))
                                .map(|p| {
                                    let (href, name) = p.link();
                                    view! { <A href=href>{name}</A> }
                                })
                                .collect_view()
                        }}
                    </nav>
                    <pages::pending::PendingBadge />
                    <span class="whoami" aria-label="Signed in as">{who}</span>
                    <button class="link" on:click=logout>"Log out"</button>
                })}
            </header>
            <main id="main">
                {move || console.error.get().map(|e| view! { <p role="alert">{e}</p> })}
                {move || match (checked.get(), logged_in.get()) {
                    (false, _) => view! { <p role="status">"Loading…"</p> }.into_any(),
                    (true, false) => view! { <pages::login::Login on_login=on_login /> }.into_any(),
                    (true, true) => view! {
                        <Routes fallback=|| view! { <p role="alert">"Page not found."</p> }>
                            <Route path=path!("/") view=pages::overview::Overview />
                            <Route path=path!("/settings") view=|| view! { <Gate page=Page::Settings><pages::settings::SettingsIndex /></Gate> } />
                            <Route path=path!("/cluster/settings") view=|| view! { <Gate page=Page::Settings><pages::settings::Settings /></Gate> } />
                            <Route path=path!("/cluster/settings/:feature") view=|| view! { <Gate page=Page::Settings><pages::settings::Settings /></Gate> } />
                            <Route path=path!("/group/:group/settings") view=|| view! { <Gate page=Page::Settings><pages::settings::Settings /></Gate> } />
                            <Route path=path!("/group/:group/settings/:feature") view=|| view! { <Gate page=Page::Settings><pages::settings::Settings /></Gate> } />
                            <Route path=path!("/machine/:host/settings") view=|| view! { <Gate page=Page::Settings><pages::settings::Settings /></Gate> } />
                            <Route path=path!("/machine/:host/settings/:feature") view=|| view! { <Gate page=Page::Settings><pages::settings::Settings /></Gate> } />
                            <Route path=path!("/pending") view=|| view! { <Gate page=Page::Pending><pages::pending::Pending /></Gate> } />
                            <Route path=path!("/cluster-ops") view=pages::cluster_ops::ClusterOps />
                            <Route path=path!("/upgrade") view=pages::upgrade::Upgrade />
                            <Route path=path!("/terminal") view=pages::terminal::Terminal />
                            <Route path=path!("/users") view=|| view! { <Gate page=Page::Users><pages::users::Users /></Gate> } />
                            <Route path=path!("/audit") view=|| view! { <Gate page=Page::Audit><pages::audit::Audit /></Gate> } />
                            <Route path=path!("/simulator") view=|| view! { <Gate page=Page::Simulator><pages::simulator::Simulator /></Gate> } />
                        </Routes>
                    }.into_any(),
                }}
            </main>
            <dialog::PromptDialog />
        </Router>
    }
}

/// Entry point called by the JS glue once the module is instantiated.
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
