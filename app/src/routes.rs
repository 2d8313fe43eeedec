//! The code loaded when first needed. Each page is a split point (`#[wasm_split]`) in one of five
//! modules, which `cargo xtask build` splits out of the main module and the browser fetches when one
//! of its pages is first visited:
//!
//! - `console`: what follows the fleet once logged in (loading it, the event stream, applying events:
//!   [`console_sync`]) and the overview — fetched by the login form while it waits for the user;
//! - `ops`: a machine's, a group's and the cluster's pages, opening a session, cluster operations,
//!   the rolling upgrade;
//! - `settings`: settings, pending changes, the terminal;
//! - `admin`: users, the audit log, the simulator;
//! - `replay`: a share's replay.
//!
//! Code two modules share is a chunk of its own, fetched with either; five modules keep their number
//! small (a module per page made 192, 79 of them for the overview alone). The main module holds the
//! shell, the login form and the demo's start page: what a first visit shows.
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
use std::sync::Arc;

use cluster::view::Page;
use cluster::wire::SessionInfo;
use leptos::prelude::*;
use leptos::reactive::computed::ScopedFuture;
use leptos::wasm_split::{wasm_split, SplitLoaderError};

use crate::state::{use_console, Console};
use crate::{pages, Gate};

/// A page's view, or why its chunk could not be fetched.
type Loaded = Result<AnyView, SplitLoaderError>;

/// Fetches a page's chunk (once per session) and builds the page.
type Load = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Loaded>>> + Send + Sync>;

/// Where a [`LazyPage`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Its chunk is being fetched.
    Fetching,
    /// Built: the view waits in the page's slot until shown.
    Built,
    /// The chunk could not be fetched.
    Failed,
}

/// Shows the page `load` builds once its chunk is there; while it is fetched, a short status; when it
/// cannot be, an alert that says so and a way to try again (also tried by itself when the console's
/// event stream is live again).
///
/// The page is built in a task of its own, untracked and owned by this component: it is built once,
/// whatever it reads, and its signals go when the page is left.
#[component]
fn LazyPage(load: Load) -> impl IntoView {
    let console = use_console();
    let stage = RwSignal::new(Stage::Fetching);
    let page = StoredValue::new_local(None::<AnyView>);
    let owner = Owner::current().unwrap_or_default();
    let fetch = StoredValue::new(move || {
        stage.set(Stage::Fetching);
        let load = load.clone();
        let task = owner.with(|| {
            ScopedFuture::new_untracked(async move {
                match load().await {
                    Ok(built) => {
                        page.set_value(Some(built));
                        stage.set(Stage::Built);
                    }
                    Err(_) => stage.set(Stage::Failed),
                }
            })
        });
        leptos::task::spawn_local(task);
    });
    fetch.with_value(|f| f());
    Effect::new(move |_| {
        if console.live.get() && stage.get_untracked() == Stage::Failed {
            fetch.with_value(|f| f());
        }
    });
    move || match stage.get() {
        Stage::Fetching => view! { <p class="page-loading" role="status">"Loading the page…"</p> }.into_any(),
        Stage::Built => page
            .try_update_value(Option::take)
            .flatten()
            .unwrap_or_else(|| ().into_any()),
        Stage::Failed => view! {
            <div class="page-load-failed" role="alert">
                <h1>"This page could not be loaded"</h1>
                <p>
                    "Its code did not arrive from the server. "
                    "It loads by itself when the server can be reached again."
                </p>
                <button type="button" on:click=move |_| fetch.with_value(|f| f())>
                    "Try again"
                </button>
            </div>
        }
        .into_any(),
    }
}

macro_rules! lazy_page {
    ($(#[$doc:meta])* $name:ident, $chunk:ident in $module:ident => $view:expr) => {
        #[wasm_split($module, wasm_split_path = ::leptos::wasm_split, fallible)]
        fn $chunk() -> Loaded {
            Ok($view.into_any())
        }

        $(#[$doc])*
        #[component]
        pub fn $name() -> impl IntoView {
            view! { <LazyPage load=Arc::new(|| Box::pin($chunk())) /> }
        }
    };
}

#[wasm_split(console, wasm_split_path = ::leptos::wasm_split, fallible)]
fn overview_page() -> Loaded {
    Ok(view! { <pages::overview::Overview /> }.into_any())
}

/// The overview (in the `console` module, which the login form fetches meanwhile:
/// [`preload_after_login`]).
#[component]
pub fn OverviewPage() -> impl IntoView {
    view! { <LazyPage load=Arc::new(|| Box::pin(overview_page())) /> }
}

lazy_page!(
    /// A machine's page.
    MachinePage, machine_page in ops => view! { <pages::machine::MachinePage /> }
);
lazy_page!(
    /// A group's page.
    GroupPage, group_page in ops => view! { <pages::machine::GroupPage /> }
);
lazy_page!(
    /// The cluster's page.
    ClusterPage, cluster_page in ops => view! { <pages::machine::ClusterPage /> }
);
lazy_page!(
    /// Opening a session on another machine.
    OpenSessionPage, open_session_page in ops => view! { <pages::machine::OpenSession /> }
);
lazy_page!(
    /// The settings index.
    SettingsIndexPage, settings_index_page in settings => view! { <Gate page=Page::Settings><pages::settings::SettingsIndex /></Gate> }
);
lazy_page!(
    /// One mode's settings (cluster, group or machine; all features or one).
    SettingsPage, settings_page in settings => view! { <Gate page=Page::Settings><pages::settings::Settings /></Gate> }
);
lazy_page!(
    /// The pending changes.
    PendingPage, pending_page in settings => view! { <Gate page=Page::Pending><pages::pending::Pending /></Gate> }
);
lazy_page!(
    /// Cluster operations.
    ClusterOpsPage, cluster_ops_page in ops => view! { <pages::cluster_ops::ClusterOps /> }
);
lazy_page!(
    /// The rolling upgrade.
    UpgradePage, upgrade_page in ops => view! { <pages::upgrade::Upgrade /> }
);
lazy_page!(
    /// The terminal.
    TerminalPage, terminal_page in settings => view! { <pages::terminal::Terminal /> }
);
lazy_page!(
    /// Users.
    UsersPage, users_page in admin => view! { <Gate page=Page::Users><pages::users::Users /></Gate> }
);
lazy_page!(
    /// The audit log.
    AuditPage, audit_page in admin => view! { <Gate page=Page::Audit><pages::audit::Audit /></Gate> }
);
lazy_page!(
    /// The simulator.
    SimulatorPage, simulator_page in admin => view! { <Gate page=Page::Simulator><pages::simulator::Simulator /></Gate> }
);

#[wasm_split(replay, wasm_split_path = ::leptos::wasm_split, fallible)]
fn replay_page(on_login: Callback<SessionInfo>) -> Loaded {
    Ok(view! { <pages::demo::Replay on_login=on_login /> }.into_any())
}

/// A share's replay (rules §18.6).
#[component]
pub fn ReplayPage(on_login: Callback<SessionInfo>) -> impl IntoView {
    view! { <LazyPage load=Arc::new(move || Box::pin(replay_page(on_login))) /> }
}

/// What follows the fleet once logged in ([`Console::load_and_follow`]): fetched by the login form
/// meanwhile ([`preload_console_sync`]), else on the first load.
#[wasm_split(
    console,
    wasm_split_path = ::leptos::wasm_split,
    fallible,
    preload(preload_console_sync)
)]
pub(crate) fn console_sync(console: Console) -> Result<Pin<Box<dyn Future<Output = ()>>>, SplitLoaderError> {
    Ok(Box::pin(console.load_and_follow()))
}

/// Fetches, in the background, the `console` module (following the fleet and the overview: one module,
/// so one fetch), so that logging in does not wait for it. A failure is left to the first real use,
/// which says so and tries again.
pub fn preload_after_login() {
    leptos::task::spawn_local(async {
        let _ = preload_console_sync().await;
    });
}
