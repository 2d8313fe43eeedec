//! The pages loaded when first visited. Each page is a split point (`#[wasm_split]`): its code is a
//! chunk of its own that `cargo xtask build` splits out of the main module and the browser fetches on
//! the first visit. The overview, the login form and the demo's start page stay in the main module:
//! they are what a first visit shows.
//!
//! The split points are `fallible`: a chunk that cannot be fetched (the server restarting while an
//! administrator opens a page not visited before) shows a message and is fetched again when the
//! server is back, or on "Try again", instead of aborting the whole app (leptos' `#[lazy_route]`
//! panics there). A chunk fetched once is kept for the session.
//!
//! The split-point macro links each chunk's loader through an `extern "C"` import, which the crate's
//! `deny(unsafe_code)` allows here alone.
#![allow(unsafe_code)]

use std::future::Future;
use std::pin::Pin;

use cluster::view::Page;
use leptos::prelude::*;
use leptos::wasm_split::{wasm_split, SplitLoaderError};
use send_wrapper::SendWrapper;

use crate::state::use_console;
use crate::{pages, Gate};

/// A page's view, or why its chunk could not be fetched.
type Loaded = Result<AnyView, SplitLoaderError>;

/// Fetches a page's chunk (once per session) and builds the page.
type Load = fn() -> Pin<Box<dyn Future<Output = Loaded>>>;

/// Shows the page `load` builds once its chunk is there; while it is fetched, a short status; when it
/// cannot be, an alert that says so and a way to try again (also tried by itself when the console's
/// event stream is live again).
#[component]
fn LazyPage(load: Load) -> impl IntoView {
    let console = use_console();
    let attempt = RwSignal::new(0_u32);
    let failed = RwSignal::new(false);
    Effect::new(move |_| {
        if console.live.get() && failed.get_untracked() {
            failed.set(false);
            attempt.update(|n| *n += 1);
        }
    });
    view! {
        <Suspense fallback=|| view! { <p class="page-loading" role="status">"Loading the page…"</p> }>
            {move || {
                attempt.track();
                Suspend::new(SendWrapper::new(async move {
                    match load().await {
                        Ok(page) => page,
                        Err(_) => {
                            failed.set(true);
                            view! {
                                <div class="page-load-failed" role="alert">
                                    <p>
                                        "This page could not be loaded: its code did not arrive from the server. "
                                        "It loads by itself when the server can be reached again."
                                    </p>
                                    <button type="button" on:click=move |_| attempt.update(|n| *n += 1)>
                                        "Try again"
                                    </button>
                                </div>
                            }
                            .into_any()
                        }
                    }
                }))
            }}
        </Suspense>
    }
}

macro_rules! lazy_page {
    ($(#[$doc:meta])* $name:ident, $chunk:ident => $view:expr) => {
        #[wasm_split($chunk, wasm_split_path = ::leptos::wasm_split, fallible)]
        fn $chunk() -> Loaded {
            Ok($view.into_any())
        }

        $(#[$doc])*
        #[component]
        pub fn $name() -> impl IntoView {
            view! { <LazyPage load=|| Box::pin($chunk()) /> }
        }
    };
}

lazy_page!(
    /// A machine's page.
    MachinePage, machine_page => view! { <pages::machine::MachinePage /> }
);
lazy_page!(
    /// A group's page.
    GroupPage, group_page => view! { <pages::machine::GroupPage /> }
);
lazy_page!(
    /// The cluster's page.
    ClusterPage, cluster_page => view! { <pages::machine::ClusterPage /> }
);
lazy_page!(
    /// Opening a session on another machine.
    OpenSessionPage, open_session_page => view! { <pages::machine::OpenSession /> }
);
lazy_page!(
    /// The settings index.
    SettingsIndexPage, settings_index_page => view! { <Gate page=Page::Settings><pages::settings::SettingsIndex /></Gate> }
);
lazy_page!(
    /// One mode's settings (cluster, group or machine; all features or one).
    SettingsPage, settings_page => view! { <Gate page=Page::Settings><pages::settings::Settings /></Gate> }
);
lazy_page!(
    /// The pending changes.
    PendingPage, pending_page => view! { <Gate page=Page::Pending><pages::pending::Pending /></Gate> }
);
lazy_page!(
    /// Cluster operations.
    ClusterOpsPage, cluster_ops_page => view! { <pages::cluster_ops::ClusterOps /> }
);
lazy_page!(
    /// The rolling upgrade.
    UpgradePage, upgrade_page => view! { <pages::upgrade::Upgrade /> }
);
lazy_page!(
    /// The terminal.
    TerminalPage, terminal_page => view! { <pages::terminal::Terminal /> }
);
lazy_page!(
    /// Users.
    UsersPage, users_page => view! { <Gate page=Page::Users><pages::users::Users /></Gate> }
);
lazy_page!(
    /// The audit log.
    AuditPage, audit_page => view! { <Gate page=Page::Audit><pages::audit::Audit /></Gate> }
);
lazy_page!(
    /// The simulator.
    SimulatorPage, simulator_page => view! { <Gate page=Page::Simulator><pages::simulator::Simulator /></Gate> }
);
