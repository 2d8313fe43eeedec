//! Pending changes: what this session has staged, reviewed as a diff (`cluster::review`, rules §15.32) —
//! per feature and mode, the rows added, changed and removed, which machines each change reaches and
//! which an override shields — with links to each feature's page in its mode. *Commit* (with a comment)
//! and *Clear* each ask in the page, saying what they affect, before anything is sent; a commit that
//! meets someone else's change then asks the guide's question in the dialog.

use cluster::cmd::CommitCmd;
use cluster::review::{join, ItemReview, Review, StructureReview};
use cluster::{Command, Verdict};
use leptos::html;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::OutcomeView;
use crate::state::{use_console, Outcome};

/// Which action waits for its confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Confirm {
    Commit,
    Clear,
}

#[component]
pub fn Pending() -> impl IntoView {
    let console = use_console();
    let comment = RwSignal::new(String::new());
    let outcome = RwSignal::new(None::<Outcome>);
    let confirm = RwSignal::new(None::<Confirm>);
    let review = Memo::new(move |_| {
        let session = console.session.with(|s| s.as_ref().map(|s| s.session()))?;
        console
            .fleet
            .with(|f| f.as_ref().map(|fleet| cluster::review::review(fleet, &session)))
    });
    // A confirmation covers what it named: when the review changes, it must be asked again.
    Effect::new(move |_| {
        review.track();
        confirm.set(None);
    });
    let commit_cmd = move || -> Command {
        let c = comment.get();
        CommitCmd::Commit {
            comment: (!c.trim().is_empty()).then(|| c.trim().to_string()),
        }
        .into()
    };
    let refusal = move |command: Command| match console.preview_with(&command, None, &[]) {
        Some(Verdict::Rejected { rejection, .. }) => Some(rejection.gui_message()),
        _ => None,
    };
    let commit_refusal = Memo::new(move |_| refusal(commit_cmd()));
    let clear_refusal = Memo::new(move |_| refusal(CommitCmd::Clear.into()));
    let confirm_button = NodeRef::<html::Button>::new();
    Effect::new(move |_| {
        if let Some(b) = confirm_button.get() {
            let _ = b.focus();
        }
    });
    let send = move |command: Command| {
        confirm.set(None);
        console.act(command, None, outcome);
    };
    let ask = move |which: Confirm| {
        outcome.set(None);
        confirm.set(Some(which));
    };

    let confirmation = move || {
        let which = confirm.get()?;
        let r = review.get()?;
        Some(match which {
            Confirm::Commit => {
                let c = comment.get();
                let note = (!c.trim().is_empty()).then(|| format!("Comment: {}", c.trim()));
                view! {
                    <div class="card confirm" role="group" aria-label="Confirm commit">
                        <p>{r.commit_summary()}</p>
                        {note.map(|n| view! { <p class="note">{n}</p> })}
                        <div class="buttons">
                            <button class="primary" node_ref=confirm_button on:click=move |_| send(commit_cmd())>"Confirm commit"</button>
                            <button on:click=move |_| confirm.set(None)>"Cancel"</button>
                        </div>
                    </div>
                }
                .into_any()
            }
            Confirm::Clear => view! {
                <div class="card confirm" role="group" aria-label="Confirm discard">
                    <p>{r.clear_summary()}</p>
                    <div class="buttons">
                        <button class="danger" node_ref=confirm_button on:click=move |_| send(CommitCmd::Clear.into())>"Confirm discard"</button>
                        <button on:click=move |_| confirm.set(None)>"Cancel"</button>
                    </div>
                </div>
            }
            .into_any(),
        })
    };

    view! {
        <section class="pending" aria-label="Pending changes">
            <h1>"Pending changes"</h1>
            {move || match review.get() {
                Some(r) if !r.is_empty() => view! {
                    <ReviewView review=r />
                    <label>"Comment " <input type="text" prop:value=move || comment.get() on:input=move |ev| comment.set(event_target_value(&ev)) /></label>
                    <div class="buttons">
                        <span class="action">
                            <button class="primary" on:click=move |_| ask(Confirm::Commit)
                                disabled=move || commit_refusal.get().is_some() || confirm.get().is_some()>"Commit"</button>
                            {move || commit_refusal.get().map(|r| view! { <span class="refusal" role="note">{r}</span> })}
                        </span>
                        <span class="action">
                            <button class="danger" on:click=move |_| ask(Confirm::Clear)
                                disabled=move || clear_refusal.get().is_some() || confirm.get().is_some()>"Clear"</button>
                            {move || clear_refusal.get().map(|r| view! { <span class="refusal" role="note">{r}</span> })}
                        </span>
                    </div>
                }.into_any(),
                _ => view! { <p class="empty">"Nothing is staged."</p> }.into_any(),
            }}
            {confirmation}
            <OutcomeView outcome=outcome />
        </section>
    }
}

/// The staged items as a diff, each linking to its page; then the structural changes.
#[component]
fn ReviewView(review: Review) -> impl IntoView {
    let items = review
        .items
        .into_iter()
        .map(|i| view! { <ItemView item=i /> })
        .collect_view();
    let structure = review
        .structure
        .into_iter()
        .map(|s| view! { <StructureView item=s /> })
        .collect_view();
    view! { <ul class="pending-list">{items}{structure}</ul> }
}

#[component]
fn ItemView(item: ItemReview) -> impl IntoView {
    let title = format!("{} at {}", item.feature.title(), item.mode_label);
    let d = item.rows;
    let omitted = d.omitted();
    let withheld = d.withheld;
    let removed = d
        .removed
        .into_iter()
        .map(|r| view! { <li class="removed">"Removed: " {r}</li> });
    let changed = d.changed.into_iter().map(|c| {
        let cells = c
            .cells
            .iter()
            .map(|x| x.describe())
            .collect::<Vec<_>>()
            .join("; ");
        view! { <li class="changed">{format!("Changed {}: {cells}", c.key)}</li> }
    });
    let added = d
        .added
        .into_iter()
        .map(|r| view! { <li class="added">"Added: " {r}</li> });
    let rows = removed
        .map(IntoAny::into_any)
        .chain(changed.map(IntoAny::into_any))
        .chain(added.map(IntoAny::into_any))
        .collect_view();
    let reaches = if item.reaches.is_empty() {
        "Reaches no machine now.".to_string()
    } else {
        format!("Reaches: {}.", join(&item.reaches))
    };
    let later = (!item.later.is_empty()).then(|| format!("When they reconnect: {}.", join(&item.later)));
    let shielded = (!item.shielded.is_empty()).then(|| {
        let list = item
            .shielded
            .into_iter()
            .map(|s| view! { <li>{s.host.to_string()} " keeps its own value from " <A href=s.href>{s.by_label}</A></li> })
            .collect_view();
        view! { <p>"Shielded by an override:"</p><ul class="shielded">{list}</ul> }
    });
    view! {
        <li class="pending-item">
            <h2><A href=item.href>{title}</A></h2>
            <p>{item.headline}</p>
            {withheld.then(|| view! { <p class="note">"The rows are withheld from your role."</p> })}
            <ul class="diff">
                {rows}
                {(omitted > 0).then(|| view! { <li>{format!("… and {omitted} more rows (open the page to see them all)")}</li> })}
            </ul>
            <p class="reach">{reaches}</p>
            {later.map(|l| view! { <p class="note">{l}</p> })}
            {shielded}
        </li>
    }
}

#[component]
fn StructureView(item: StructureReview) -> impl IntoView {
    let mut reach = String::new();
    if !item.reaches.is_empty() {
        reach = format!("Reaches: {}.", join(&item.reaches));
    }
    if !item.later.is_empty() {
        reach.push_str(&format!(" When they reconnect: {}.", join(&item.later)));
    }
    view! {
        <li class="pending-item">
            <h2><A href=item.href>"Cluster structure"</A></h2>
            <p>{item.text}</p>
            {(!reach.is_empty()).then(|| view! { <p class="reach">{reach.trim().to_string()}</p> })}
        </li>
    }
}

/// The count of staged changes, linking to the panel (in the header of every page). Its accessible name
/// is its visible text (no `aria-label` that would differ from it).
#[component]
pub fn PendingBadge() -> impl IntoView {
    let console = use_console();
    let count = move || console.session.with(|s| s.as_ref().map(|s| s.pending.len()));
    view! {
        <a class="pending-badge" href="/pending">
            {move || format!("Pending changes: {}", count().unwrap_or(0))}
        </a>
    }
}
