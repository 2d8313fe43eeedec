//! # app — the Clusterdeck console in the browser
//!
//! Module map:
//!
//! - [`state`] — the console's state: session, the fleet replica kept by the event stream, the simulated
//!   clock, and [`state::Console::perform`], the one way an action is taken (checked here first).
//! - [`api`] — the one HTTP client of the app.
//! - [`pages`] — one file per page: login, overview, settings, pending changes, cluster operations,
//!   upgrade, terminal, users, audit.
//! - [`components`] — shared widgets (mode bar, action button, state badge, charts, progress).
//! - [`dialog`] — the question dialog (keyboard-first: focus trapped and returned, Esc cancels).
//! - [`routes`] — the code loaded when first needed (split points of the WASM): every page, and what
//!   follows the fleet once logged in.
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
pub mod routes;
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
    // A demo server (sandbox mode) lists its scenarios; any other answers 404 and shows the login form.
    let demo = RwSignal::new(None::<Vec<cluster::wire::ScenarioInfo>>);
    spawn_local(async move {
        match api::fetch_session().await {
            Ok(info) => {
                console.session.set(Some(info));
                console.start();
            }
            // A sandbox discarded while its visitor was away: say why on the start page.
            Err(f) if f.code == "sandbox_gone" => console.error.set(Some(f.message)),
            Err(_) => {}
        }
        demo.set(api::scenarios().await.ok().flatten());
        checked.set(true);
        // The login form (or the demo's start page) is up: fetch what comes after it meanwhile.
        if console.session.with_untracked(Option::is_none) {
            routes::preload_after_login();
        }
    });
    let on_login = Callback::new(move |info: SessionInfo| {
        console.session.set(Some(info));
        console.start();
        // Focus goes to the page, not back to <body>: the next Tab reaches its first control.
        request_animation_frame(|| {
            if let Some(main) = document().get_element_by_id("main") {
                use wasm_bindgen::JsCast;
                if let Ok(main) = main.dyn_into::<web_sys::HtmlElement>() {
                    let _ = main.focus();
                }
            }
        });
    });
    // Pages re-render only when logging in or out, not on every change of the session's mode.
    let logged_in = Memo::new(move |_| console.session.with(|s| s.is_some()));
    let whoami = Memo::new(move |_| {
        console.session.with(|s| {
            s.as_ref().map(|s| {
                // A demo sandbox's name is its visitor's secret: never shown.
                let fleet = if s.fleet == "default" || demo.with_untracked(Option::is_some) {
                    String::new()
                } else {
                    format!(", fleet {}", s.fleet)
                };
                format!("{} ({}) on {}{fleet}", s.user, s.role.word(), s.login_host)
            })
        })
    });
    let menu_open = RwSignal::new(false);
    view! {
        <a class="skip-link" href="#main" on:click=|ev: leptos::ev::MouseEvent| {
            // Focus moves to the page's content (the router would only change the address).
            ev.prevent_default();
            if let Some(main) = document().get_element_by_id("main") {
                use wasm_bindgen::JsCast;
                if let Ok(main) = main.dyn_into::<web_sys::HtmlElement>() {
                    let _ = main.focus();
                }
            }
        }>"Skip to content"</a>
        <Router>
            <PageTitle />
            <header class="topbar" class:open=move || menu_open.get()
                on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { menu_open.set(false) }>
                <a class="brand" href="/">"Clusterdeck"</a>
                {move || whoami.get().map(|who| view! {
                    <button class="link menu-toggle" aria-controls="mainnav" aria-expanded=move || menu_open.get().to_string()
                        on:click=move |_| menu_open.update(|o| *o = !*o)>"Menu"</button>
                    <nav aria-label="Main" class="mainnav" id="mainnav" on:click=move |_| menu_open.set(false)>
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
                    <div class="topbar-end">
                        <LiveIndicator />
                        <pages::pending::PendingBadge />
                        <Account who=who />
                    </div>
                })}
            </header>
            <main id="main" tabindex="-1">
                {move || (logged_in.get() || demo.with(Option::is_none)).then(|| console.error.get().map(|e| view! { <p role="alert">{e}</p> }))}
                {move || (logged_in.get() && demo.with(Option::is_some)).then(|| view! { <pages::demo::SandboxBanner /> })}
                {move || (!console.live.get() && logged_in.get()).then(|| view! {
                    <p class="stale-banner" role="status">"The server cannot be reached: what this page shows may be out of date, and actions wait until it is back. Trying again…"</p>
                })}
                {
                // A memo, so that a navigation re-renders this only when it enters or leaves a replay: were
                // the routes built again on every navigation, the router would never commit the new
                // address (no history entry, Back leaving the console).
                let replay = Memo::new(move |_| is_replay());
                move || match (checked.get(), logged_in.get()) {
                    (false, _) => view! { <p role="status">"Loading…"</p> }.into_any(),
                    // A share's replay needs no login (rules §18.6).
                    _ if replay.get() => view! { <routes::ReplayPage on_login=on_login /> }.into_any(),
                    (true, false) => match demo.get() {
                        Some(scenarios) => view! { <pages::demo::Start scenarios=scenarios on_login=on_login /> }.into_any(),
                        None => view! { <pages::login::Login on_login=on_login /> }.into_any(),
                    },
                    (true, true) => view! {
                        <Routes fallback=|| view! { <pages::machine::NotFound what="No page has this address." /> }>
                            <Route path=path!("/") view=routes::OverviewPage />
                            <Route path=path!("/machine/:host") view=routes::MachinePage />
                            <Route path=path!("/group/:group") view=routes::GroupPage />
                            <Route path=path!("/cluster") view=routes::ClusterPage />
                            <Route path=path!("/open-session") view=routes::OpenSessionPage />
                            <Route path=path!("/settings") view=routes::SettingsIndexPage />
                            <Route path=path!("/cluster/settings") view=routes::SettingsPage />
                            <Route path=path!("/cluster/settings/:feature") view=routes::SettingsPage />
                            <Route path=path!("/group/:group/settings") view=routes::SettingsPage />
                            <Route path=path!("/group/:group/settings/:feature") view=routes::SettingsPage />
                            <Route path=path!("/machine/:host/settings") view=routes::SettingsPage />
                            <Route path=path!("/machine/:host/settings/:feature") view=routes::SettingsPage />
                            <Route path=path!("/pending") view=routes::PendingPage />
                            <Route path=path!("/cluster-ops") view=routes::ClusterOpsPage />
                            <Route path=path!("/upgrade") view=routes::UpgradePage />
                            <Route path=path!("/terminal") view=routes::TerminalPage />
                            <Route path=path!("/users") view=routes::UsersPage />
                            <Route path=path!("/audit") view=routes::AuditPage />
                            <Route path=path!("/simulator") view=routes::SimulatorPage />
                        </Routes>
                    }.into_any(),
                }
                }
            </main>
            <dialog::PromptDialog />
            <Toasts />
        </Router>
    }
}

/// Whether the address is a share's replay (`/s/<code>`).
fn is_replay() -> bool {
    leptos_router::hooks::use_location()
        .pathname
        .get()
        .starts_with("/s/")
}

/// Names the browser tab after the page: "losangeles.example.com — Clusterdeck".
#[component]
fn PageTitle() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    Effect::new(move |_| {
        let path = location.pathname.get();
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let name = match parts.as_slice() {
            [""] => "Overview".to_string(),
            [_, .., "settings"] | [_, .., "settings", _] | ["settings"] => "Settings".to_string(),
            ["machine", host] => host.to_string(),
            ["group", g] => format!("Group {g}"),
            ["cluster"] => "Cluster".to_string(),
            ["open-session"] => "Open a session".to_string(),
            ["s", _] => "Replay".to_string(),
            _ => Page::ALL
                .into_iter()
                .map(Page::link)
                .find(|(href, _)| *href == path)
                .map_or_else(|| "Not found".to_string(), |(_, name)| name.to_string()),
        };
        document().set_title(&format!("{name} — Clusterdeck"));
    });
}

/// The outcomes of recent actions, for a few seconds each (announced politely to screen readers).
#[component]
fn Toasts() -> impl IntoView {
    let console = expect_context::<Console>();
    view! {
        <div class="toasts" aria-live="polite">
            <For each=move || console.toasts.get() key=|t| t.0 let:t>
                <p class="toast" class:bad=t.2>{t.1}</p>
            </For>
        </div>
    }
}

/// Whether the console is following the server live, or its state may be stale (rules §15.37).
#[component]
fn LiveIndicator() -> impl IntoView {
    let console = expect_context::<Console>();
    view! {
        <span class="live-indicator" class:stale=move || !console.live.get() role="status">
            {move || if console.live.get() { "Live" } else { "Offline: reconnecting" }}
        </span>
    }
}

/// The account menu: who is signed in where, the other sessions this browser keeps (switch to one),
/// a session on another machine, and Log out (which ends them all) (rules §15.36).
#[component]
fn Account(who: String) -> impl IntoView {
    let console = expect_context::<Console>();
    let open = RwSignal::new(false);
    let kept = LocalResource::new(move || {
        console.sessions_changed.track();
        open.track();
        api::kept_sessions()
    });
    let short = console.session.with_untracked(|s| {
        s.as_ref()
            .map(|s| {
                format!(
                    "{} on {}",
                    s.user,
                    s.login_host.to_string().split('.').next().unwrap_or_default()
                )
            })
            .unwrap_or_default()
    });
    let logout = move |_| {
        spawn_local(async move {
            let _ = api::logout().await;
            console.logged_out();
        });
    };
    let switch = move |host: cluster::Hostname| {
        spawn_local(async move {
            if let Ok(info) = api::switch_session(&host).await {
                console.switched(info).await;
            }
        });
    };
    view! {
        <details class="account" prop:open=move || open.get() on:toggle=move |ev| {
            use wasm_bindgen::JsCast;
            let el = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlDetailsElement>().ok());
            open.set(el.is_some_and(|e| e.open()));
        }>
            <summary>{short}</summary>
            <div class="account-panel">
                <p>"Signed in as "<strong>{who.clone()}</strong></p>
                {move || kept.get().and_then(|r| r.ok()).filter(|l| !l.is_empty()).map(|list| view! {
                    <div>
                        <p class="note">"Your other sessions:"</p>
                        <ul>{list.into_iter().map(|s| {
                            let host = s.login_host.clone();
                            let label = format!("Switch to {} on {}", s.user, s.login_host);
                            view! { <li><button class="link" on:click=move |_| switch(host.clone())>{label}</button></li> }
                        }).collect_view()}</ul>
                    </div>
                })}
                <A href="/open-session">"Open a session on another machine"</A>
                <button class="danger" on:click=logout>"Log out"</button>
            </div>
        </details>
    }
}

/// Entry point called by the JS glue once the module is instantiated.
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
