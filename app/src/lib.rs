//! # app — the Clusterdeck console in the browser
//!
//! Module map:
//!
//! - [`api`] — the one HTTP client of the app (fetches the fleet).
//! - [`pages`] — one file per page (`overview`, ...).
//! - [`components`] — shared widgets.
//!
//! No rule lives here: the app renders state from the `cluster` crate and asks it for every verdict.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

pub mod api;
pub mod components;
pub mod pages;

/// The root component: header and routes.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <header class="topbar">
                <a class="brand" href="/">"Clusterdeck"</a>
            </header>
            <main id="main">
                <Routes fallback=|| view! { <p role="alert">"Page not found."</p> }>
                    <Route path=path!("/") view=pages::overview::Overview />
                </Routes>
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
