//! Pending changes: what this session has staged, *Commit* (with a comment) and *Clear*. A commit that
//! meets someone else's change asks the guide's question in the dialog.

use cluster::cmd::CommitCmd;
use leptos::prelude::*;

use crate::components::{ActionButton, OutcomeView};
use crate::state::{use_console, Outcome};

#[component]
pub fn Pending() -> impl IntoView {
    let console = use_console();
    let comment = RwSignal::new(String::new());
    let outcome = RwSignal::new(None::<Outcome>);
    let items = move || {
        console.session.with(|s| {
            s.as_ref()
                .map(|s| s.pending.iter().map(|p| p.describe()).collect::<Vec<_>>())
        })
    };
    let commit = Signal::derive(move || {
        let c = comment.get();
        Some(
            CommitCmd::Commit {
                comment: (!c.trim().is_empty()).then(|| c.trim().to_string()),
            }
            .into(),
        )
    });
    let clear = Signal::derive(|| Some(CommitCmd::Clear.into()));
    view! {
        <section class="pending" aria-label="Pending changes">
            <h1>"Pending changes"</h1>
            {move || match items() {
                Some(list) if !list.is_empty() => view! {
                    <ul class="pending-list">{list.into_iter().map(|d| view! { <li>{d}</li> }).collect_view()}</ul>
                }.into_any(),
                _ => view! { <p>"Nothing is staged."</p> }.into_any(),
            }}
            <label>"Comment " <input type="text" prop:value=move || comment.get() on:input=move |ev| comment.set(event_target_value(&ev)) /></label>
            <div class="buttons">
                <ActionButton label="Commit" command=commit outcome=outcome />
                <ActionButton label="Clear" command=clear outcome=outcome />
            </div>
            <OutcomeView outcome=outcome />
        </section>
    }
}

/// The count of staged changes, linking to the panel (in the header of every page).
#[component]
pub fn PendingBadge() -> impl IntoView {
    let console = use_console();
    let count = move || console.session.with(|s| s.as_ref().map(|s| s.pending.len()));
    view! {
        <a class="pending-badge" href="/pending" aria-label="Pending changes">
            {move || format!("Pending changes: {}", count().unwrap_or(0))}
        </a>
    }
}
