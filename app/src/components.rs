//! Shared widgets: connection badge, progress bar, mode bar, the question dialog, and the action button
//! that shows the browser's verdict before anything is sent.

use cluster::{Command, Mode, Verdict};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::state::{use_console, Outcome};

/// A machine's state as its status badge: the state's word picks the colour, the text says why
/// (rules §15.35). Reads the replica without tracking it: render it inside a view that tracks the fleet.
#[component]
pub fn StateBadge(host: cluster::Hostname) -> impl IntoView {
    let console = use_console();
    console.fleet.with_untracked(|f| {
        let fleet = f.as_ref()?;
        let state = cluster::topology::machine_state(fleet, &host);
        Some(view! { <span class=format!("badge badge-{}", state.word())>{fleet.describe_connection(&host)}</span> })
    })
}

/// A small line chart of `values` (oldest first), scaled to its largest value; an SVG with no inline
/// style (the CSP forbids it), its colour from the class.
#[component]
pub fn Sparkline(label: String, values: Vec<u64>, class: &'static str) -> impl IntoView {
    // Whole numbers only: the chart is 120 × 24 units (float formatting would add to the bundle).
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    let steps = (values.len() as u64).max(2) - 1;
    let points = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{},{}", i as u64 * 120 / steps, 23 - v * 22 / max))
        .collect::<Vec<_>>()
        .join(" ");
    let last = values.last().copied().unwrap_or(0);
    view! {
        <svg class=format!("sparkline {class}") viewBox="0 0 120 24" width="120" height="24" role="img"
            aria-label=format!("{label}: {last} now")>
            <polyline points=points fill="none" />
        </svg>
    }
}

/// A machine's mail flow, live: rate, both queues and totals, with hour-long charts (rules §16.4).
#[component]
pub fn MailFlow(host: cluster::Hostname) -> impl IntoView {
    let console = crate::state::use_console();
    move || {
        let now = console.now();
        console.fleet.with_untracked(|f| {
            let fleet = f.as_ref()?;
            let c = cluster::mail::counters(fleet, &host, now);
            let t = cluster::mail::traffic(fleet, &host, now);
            let samples = cluster::mail::history(fleet, &host, now, 60);
            let received: Vec<u64> = samples.iter().map(|s| s.received).collect();
            let delivered: Vec<u64> = samples.iter().map(|s| s.delivered).collect();
            let queued: Vec<u64> = samples.iter().map(|s| s.work_queue + s.delivery_queue).collect();
            Some(view! {
                <section class="mail-flow" aria-label=format!("Mail flow of {host}")>
                    <h2>"Mail flow"</h2>
                    <p>{format!(
                        "{} messages a minute; work queue {}, delivery queue {}; {} received and {} delivered in all.",
                        t.messages_per_minute, c.work_queue, c.delivery_queue, c.received, c.delivered
                    )}</p>
                    <p>"Received a minute " <Sparkline label=format!("Messages received a minute on {host}, last hour") values=received class="rate" /></p>
                    <p>"Delivered a minute " <Sparkline label=format!("Messages delivered a minute on {host}, last hour") values=delivered class="rate" /></p>
                    <p>"Queued " <Sparkline label=format!("Queued messages on {host}, last hour") values=queued class="queue" /></p>
                </section>
            })
        })
    }
}

/// A labelled progress bar: a native `<progress>` (no inline style, which the CSP forbids).
#[component]
pub fn Progress(label: String, percent: u8) -> impl IntoView {
    let text = format!("{label}: {percent}%");
    view! {
        <div class="progress">
            <progress max="100" value=percent.to_string() aria-label=label.clone()>{text.clone()}</progress>
            <span class="progress-text">{text}</span>
        </div>
    }
}

/// The mode drop-down: switching navigates to the same page in the other mode (`page` is the suffix,
/// e.g. `/settings/smtproutes`).
#[component]
pub fn ModeBar(mode: Mode, page: String) -> impl IntoView {
    let console = use_console();
    let navigate = use_navigate();
    let current = mode.path();
    let options = move || {
        let login = console.session.with(|s| s.as_ref().map(|s| s.login_host.clone()));
        console.fleet.with(|f| match (f.as_ref(), login) {
            (Some(f), Some(login)) => cluster::view::mode_options(f, &login),
            _ => Vec::new(),
        })
    };
    let selected = current.clone();
    view! {
        <div class="modebar">
            <label>"Mode "
                <select on:change=move |ev| {
                    let value = event_target_value(&ev);
                    navigate(&format!("{value}{page}"), Default::default());
                }>
                    {move || options().into_iter().map(|(m, label)| {
                        let path = m.path();
                        let is = path == selected;
                        view! { <option value=path selected=is>{label}</option> }
                    }).collect_view()}
                </select>
            </label>
        </div>
    }
}

/// What the outcome of an action says, as a status or an alert, in the domain's console words (rules
/// §15.31): `Outcome` already holds them.
#[component]
pub fn OutcomeView(outcome: RwSignal<Option<Outcome>>) -> impl IntoView {
    let here = NodeRef::<leptos::html::Div>::new();
    // The control that was clicked may be gone or disabled now: rather than leave the keyboard focus
    // on the page's body, put it on what the action said.
    Effect::new(move |_| {
        if outcome.with(|o| o.is_some()) {
            let lost = document()
                .active_element()
                .is_none_or(|a| a.tag_name().eq_ignore_ascii_case("body"));
            if let (true, Some(el)) = (lost, here.get_untracked()) {
                request_animation_frame(move || {
                    let _ = el.focus();
                });
            }
        }
    });
    view! { <div class="outcome" tabindex="-1" node_ref=here>{move || outcome_view(outcome)}</div> }
}

fn outcome_view(outcome: RwSignal<Option<Outcome>>) -> impl IntoView {
    {
        outcome.get().map(|o| match o {
            Outcome::Done(lines) if lines.is_empty() => {
                view! { <p role="status" class="ok">"Done."</p> }.into_any()
            }
            Outcome::Done(lines) => view! {
                <div role="status" class="ok"><pre>{lines.join("\n")}</pre></div>
            }
            .into_any(),
            Outcome::Refused(message) => view! { <p role="alert" class="refused">{message}</p> }.into_any(),
            Outcome::Cancelled => view! { <p role="status">{cluster::verdict::DECLINED}</p> }.into_any(),
        })
    }
}

/// A button that runs `command` in the mode the page names (`mode`; none: a page without modes). Before
/// the click it shows the browser's verdict: why it would be refused (and is disabled), or which machines
/// it reaches.
#[component]
pub fn ActionButton(
    #[prop(into)] label: String,
    command: Signal<Option<Command>>,
    outcome: RwSignal<Option<Outcome>>,
    /// The mode of the page the button is on (`None`: a page without modes, or the session's own).
    #[prop(optional_no_strip)]
    mode: Option<Mode>,
    /// Answers the form already collected (e.g. the start of a new definition).
    #[prop(optional)]
    preset: Vec<String>,
    /// The button's kind: "" (secondary), "primary" or "danger".
    #[prop(optional)]
    class: &'static str,
) -> impl IntoView {
    let console = use_console();
    let preset = StoredValue::new(preset);
    let mode = StoredValue::new(mode);
    let verdict = Memo::new(move |_| {
        command
            .get()
            .and_then(|c| console.preview_with(&c, mode.get_value().as_ref(), &preset.get_value()))
    });
    let refusal = move || match verdict.get() {
        Some(Verdict::Rejected { rejection, .. }) => Some(rejection.gui_message()),
        _ => None,
    };
    let hint = move || match verdict.get() {
        Some(Verdict::Plan { plan }) if !plan.reach.is_empty() => Some(format!(
            "Reaches: {}",
            plan.reach
                .iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Some(Verdict::Prompt { .. }) => Some("You will be asked to confirm.".to_string()),
        _ => None,
    };
    let click = move |_| {
        if let Some(c) = command.get_untracked() {
            console.act_with(c, mode.get_value(), preset.get_value(), outcome);
        }
    };
    // While the event stream is down the replica may be stale: nothing is sent until it is back.
    let waiting = move || !console.live.get();
    view! {
        <span class="action">
            <button class=class on:click=click
                disabled=move || command.get().is_none() || refusal().is_some() || waiting()>{label}</button>
            {move || refusal().map(|r| view! { <span class="refusal" role="note">{r}</span> })}
            {move || waiting().then(|| view! {
                <span class="hint" role="note">"Waiting for the server: the page may be out of date until it is reachable again."</span>
            })}
            {move || hint().map(|h| view! { <span class="hint">{h}</span> })}
        </span>
    }
}
