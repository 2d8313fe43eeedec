//! Audit log: every command, accepted or refused, newest first (administrators).

use leptos::prelude::*;

#[component]
pub fn Audit() -> impl IntoView {
    let entries = LocalResource::new(crate::api::audit);
    view! {
        <h1>"Audit log"</h1>
        <button on:click=move |_| entries.refetch()>"Refresh"</button>
        <Suspense fallback=|| view! { <p role="status">"Loading…"</p> }>
            {move || entries.get().map(|r| match r {
                Err(f) => view! { <p role="alert">{f.message}</p> }.into_any(),
                Ok(list) => view! {
                    <table class="audit" aria-label="Audit log">
                        <thead><tr><th>"Time"</th><th>"User"</th><th>"Login host"</th><th>"Mode"</th><th>"Command"</th><th>"Outcome"</th><th>"Revision"</th></tr></thead>
                        <tbody>{list.into_iter().map(|e| view! {
                            <tr><td>{e.at}</td><td>{e.user}</td><td>{e.login_host}</td><td>{e.mode}</td>
                                <td><code>{e.line}</code></td><td>{e.outcome}</td><td>{e.revision}</td></tr>
                        }).collect_view()}</tbody>
                    </table>
                }.into_any(),
            })}
        </Suspense>
    }
}
