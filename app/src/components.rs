//! Shared widgets.

use cluster::Connection;
use leptos::prelude::*;

/// A machine's connection state as a labelled badge.
#[component]
pub fn ConnectionBadge(connection: Connection) -> impl IntoView {
    let class = format!("badge badge-{}", connection.word());
    let text = match connection {
        Connection::Standalone => "standalone",
        Connection::Connected => "connected",
        Connection::Detached => "disconnected (detached)",
        Connection::Upgrading => "disconnected (upgrading)",
        Connection::LinkDown => "disconnected (link down)",
    };
    view! { <span class=class>{text}</span> }
}
