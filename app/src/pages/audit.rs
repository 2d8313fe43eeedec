//! Audit log (administrators): every command, accepted or refused, newest first — filtered by user,
//! machine, outcome and simulated time, paged back with *Load older*, live (rules §15.33). Each entry's
//! simulated time is labelled as such, with the real time it was recorded beside it.
//!
//! [`MachineAudit`] is the same live log for one machine's page: its most recent entries.

use cluster::roles::Permission;
use cluster::wire::{AuditEntry, AuditFilter, AuditFilterText, AuditOutcome};
use cluster::Hostname;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::state::{use_console, Console};

/// Entries fetched per page.
const PAGE: usize = 100;
/// Rows the page keeps at most (rules §15.33); past it, narrower filters are asked for.
const MAX_ROWS: usize = 2000;
/// A fleet change refetches the newest page at most this often, and nothing refetches it less often.
const LIVE_MIN_MS: f64 = 1000.0;
const LIVE_MAX_MS: f64 = 10_000.0;

/// One live, filtered audit log as a page shows it.
#[derive(Clone, Copy)]
struct Log {
    filter: RwSignal<AuditFilter>,
    entries: RwSignal<Vec<AuditEntry>>,
    /// Whether older entries may exist beyond the last one shown.
    more: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    loading: RwSignal<bool>,
    /// Bumped on every filter change, so an answer to an older filter is dropped.
    generation: StoredValue<u64>,
    /// When (ms) the newest page was last asked for, and the revision it was asked at.
    fetched: StoredValue<(f64, Option<u64>)>,
    page: usize,
    console: Console,
}

impl Log {
    fn new(console: Console, filter: AuditFilter, page: usize) -> Self {
        Log {
            filter: RwSignal::new(filter),
            entries: RwSignal::new(Vec::new()),
            more: RwSignal::new(false),
            error: RwSignal::new(None),
            loading: RwSignal::new(false),
            generation: StoredValue::new(0),
            fetched: StoredValue::new((0.0, None)),
            page,
            console,
        }
    }

    /// Fetches `before` (`None`: the newest page) with the current filter; `done` gets the page unless
    /// the filter changed meanwhile.
    fn fetch(self, before: Option<u64>, done: impl FnOnce(Vec<AuditEntry>) + 'static) {
        let generation = self.generation.get_value();
        let filter = self.filter.get_untracked();
        self.loading.set(true);
        spawn_local(async move {
            let result = crate::api::audit(&filter, before, self.page).await;
            // The page may have been left meanwhile (its state is gone), or the filter changed.
            if self.generation.try_get_value() != Some(generation) {
                return;
            }
            self.loading.set(false);
            match result {
                Ok(page) => {
                    self.error.set(None);
                    done(page);
                }
                Err(f) => self.error.set(Some(f.message)),
            }
        });
    }

    /// Starts over with `filter`.
    fn apply(self, filter: AuditFilter) {
        self.generation.update_value(|g| *g += 1);
        self.filter.set(filter);
        self.entries.set(Vec::new());
        self.more.set(false);
        self.newest();
    }

    /// Fetches the newest page and puts what is new on top, keeping the older pages loaded; when the
    /// page holds only new entries there may be a gap below it, so the list starts again from it.
    fn newest(self) {
        let revision = self.revision();
        self.fetched.set_value((js_sys::Date::now(), revision));
        let page = self.page;
        self.fetch(None, move |fresh| {
            self.entries.update(|list| {
                let top = list.first().map(|e| e.id);
                let new: Vec<AuditEntry> = fresh
                    .iter()
                    .filter(|e| top.is_none_or(|t| e.id > t))
                    .cloned()
                    .collect();
                if new.len() == fresh.len() {
                    *list = fresh;
                    self.more.set(list.len() == page);
                } else if !new.is_empty() {
                    list.splice(0..0, new);
                    if list.len() > MAX_ROWS {
                        list.truncate(MAX_ROWS);
                        self.more.set(true);
                    }
                }
            });
        });
    }

    /// Appends the next older page.
    fn older(self) {
        let Some(last) = self.entries.with_untracked(|l| l.last().map(|e| e.id)) else {
            return;
        };
        let page = self.page;
        self.fetch(Some(last), move |older| {
            self.more.set(older.len() == page);
            self.entries.update(|list| {
                // Only what is still older than the last row (a live refetch may have run meanwhile).
                let last = list.last().map_or(u64::MAX, |e| e.id);
                list.extend(older.into_iter().filter(|e| e.id < last));
            });
        });
    }

    /// Keeps the newest page live (rules §15.33): after a fleet change, at most once a second, and at
    /// least every ten seconds for entries that change nothing.
    fn follow(self) {
        Effect::new(move |_| {
            self.console.tick.track();
            if self.loading.get_untracked() {
                return;
            }
            let (at, seen) = self.fetched.get_value();
            let since = js_sys::Date::now() - at;
            if (self.revision() != seen && since >= LIVE_MIN_MS) || since >= LIVE_MAX_MS {
                self.newest();
            }
        });
    }

    /// The replica's revision, without subscribing to it.
    fn revision(self) -> Option<u64> {
        self.console
            .fleet
            .with_untracked(|f| f.as_ref().map(|f| f.revision))
    }
}

fn may_read_audit(console: Console) -> bool {
    console
        .session
        .with_untracked(|s| s.as_ref().is_some_and(|s| s.role.may(Permission::ReadAudit)))
}

/// The audit log page; its filters may come in the URL (`/audit?machine=<host>&outcome=refused`).
#[component]
pub fn Audit() -> impl IntoView {
    let console = use_console();
    let query = leptos_router::hooks::use_query_map();
    let field = |name: &str| query.with_untracked(|q| q.get(name).unwrap_or_default());
    let user = RwSignal::new(field("user"));
    let machine = RwSignal::new(field("machine"));
    let outcome = RwSignal::new(field("outcome"));
    let from = RwSignal::new(field("from"));
    let to = RwSignal::new(field("to"));
    let invalid = RwSignal::new(None::<String>);
    let log = Log::new(console, AuditFilter::default(), PAGE);
    let read = move || {
        let (u, m, o, f, t) = (
            user.get_untracked(),
            machine.get_untracked(),
            outcome.get_untracked(),
            from.get_untracked(),
            to.get_untracked(),
        );
        AuditFilter::parse(AuditFilterText {
            user: u.trim(),
            machine: m.trim(),
            outcome: o.trim(),
            from: f.trim(),
            to: t.trim(),
        })
    };
    let submit = move || match read() {
        Ok(filter) => {
            invalid.set(None);
            log.apply(filter);
        }
        Err(e) => invalid.set(Some(format!("{e}."))),
    };
    submit();
    log.follow();
    let clear = move |_| {
        for s in [user, machine, outcome, from, to] {
            s.set(String::new());
        }
        submit();
    };
    // Only a change of the machines re-renders the list, not every fleet event.
    let hosts = Memo::new(move |_| {
        console.fleet.with(|f| {
            f.as_ref()
                .map(|f| f.machines.keys().map(|h| h.to_string()).collect::<Vec<_>>())
                .unwrap_or_default()
        })
    });
    let text_field = |label: &'static str, value: RwSignal<String>, hint: &'static str| {
        view! {
            <label>{label}" "
                <input type="text" placeholder=hint prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev)) />
            </label>
        }
    };
    view! {
        <h1>"Audit log"</h1>
        <p class="note">"Times are the fleet's simulated clock (UTC), not the wall clock; the real time each entry was recorded is beside it."</p>
        <form class="card audit-filters" aria-label="Filter the audit log"
            on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); submit(); }>
            {text_field("User", user, "any user")}
            <label>"Machine "
                <select on:change=move |ev| machine.set(event_target_value(&ev)) prop:value=move || machine.get()>
                    <option value="">"Any machine"</option>
                    {move || hosts.get().into_iter().map(|h| {
                        let chosen = machine.get_untracked().eq_ignore_ascii_case(&h);
                        view! { <option value=h.clone() selected=chosen>{h.clone()}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>"Outcome "
                <select on:change=move |ev| outcome.set(event_target_value(&ev)) prop:value=move || outcome.get()>
                    <option value="">"Any outcome"</option>
                    {AuditOutcome::ALL.into_iter().map(|o| {
                        let chosen = outcome.get_untracked() == o.word();
                        view! { <option value=o.word() selected=chosen>{o.word()}</option> }
                    }).collect_view()}
                </select>
            </label>
            {text_field("From (simulated time)", from, "2026-01-01T00:00:00Z")}
            {text_field("To (simulated time)", to, "2026-01-01T23:59:59Z")}
            <button type="submit" class="primary">"Apply filters"</button>
            <button type="button" on:click=clear>"Clear filters"</button>
            <button type="button" on:click=move |_| log.newest()>"Refresh"</button>
        </form>
        {move || invalid.get().map(|e| view! { <p role="alert" class="refused">{e}</p> })}
        {move || log.filter.with(|f| f.is_empty_range()).then(|| view! {
            <p class="note">"The time range ends before it starts: no entry can match."</p>
        })}
        <Entries log=log label="Audit log" wide=true />
        {move || (log.more.get() && log.entries.with(|l| l.len() < MAX_ROWS)).then(|| view! {
            <button type="button" on:click=move |_| log.older() disabled=move || log.loading.get()>"Load older"</button>
        })}
        {move || (log.entries.with(|l| l.len() >= MAX_ROWS)).then(|| view! {
            <p class="note">{format!("Showing the newest {MAX_ROWS} entries; narrow the filters to see older ones.")}</p>
        })}
    }
}

/// A machine's most recent audit entries (at most `limit`, up to 100), live: those typed on it or run
/// in its machine mode (rules §15.33). Shows nothing to a role that may not read the audit log.
#[component]
pub fn MachineAudit(host: Hostname, limit: usize) -> impl IntoView {
    let console = use_console();
    if !may_read_audit(console) {
        return ().into_any();
    }
    let href = format!("/audit?machine={host}");
    let log = Log::new(
        console,
        AuditFilter {
            machine: Some(host.clone()),
            ..AuditFilter::default()
        },
        limit.clamp(1, PAGE),
    );
    log.newest();
    log.follow();
    view! {
        <section class="machine-audit" aria-label=format!("Recent audit entries of {host}")>
            <h2>"Recent audit entries"</h2>
            <Entries log=log label="Recent audit entries" wide=false />
            <a href=href>"All audit entries of this machine"</a>
        </section>
    }
    .into_any()
}

/// The log's table (scrolling inside its box), its loading line and its error.
#[component]
fn Entries(log: Log, label: &'static str, wide: bool) -> impl IntoView {
    view! {
        {move || log.error.get().map(|e| view! { <p role="alert">{e}</p> })}
        {move || (log.loading.get() && log.entries.with(|l| l.is_empty())).then(|| view! { <p role="status">"Loading…"</p> })}
        {move || (!log.loading.get() && log.error.with(|e| e.is_none()) && log.entries.with(|l| l.is_empty())).then(|| view! {
            <p class="empty">"No audit entries match."</p>
        })}
        <Show when=move || log.entries.with(|l| !l.is_empty())>
            <div class="table-wrap" tabindex="0">
                <table class="audit" aria-label=label>
                    <thead><tr>
                        <th scope="col">"Simulated time"</th><th scope="col">"Real time"</th><th scope="col">"User"</th>
                        {wide.then(|| view! { <th scope="col">"Login host"</th><th scope="col">"Mode"</th> })}
                        <th scope="col">"Command"</th><th scope="col">"Outcome"</th>
                        {wide.then(|| view! { <th scope="col">"Revision"</th> })}
                    </tr></thead>
                    <tbody>
                        <For each=move || log.entries.get() key=|e| e.id let:e>
                            <tr>
                                <td><time datetime=e.at.clone()>{e.at.clone()}</time></td>
                                <td>{e.real_at.clone().unwrap_or_else(|| "—".into())}</td>
                                <td>{e.user.clone()}</td>
                                {wide.then(|| view! { <td>{e.login_host.clone()}</td><td>{e.mode.clone()}</td> })}
                                <td><code>{e.line.clone()}</code></td>
                                <td>{e.outcome.clone()}</td>
                                {wide.then(|| view! { <td>{e.revision}</td> })}
                            </tr>
                        </For>
                    </tbody>
                </table>
            </div>
        </Show>
    }
}
