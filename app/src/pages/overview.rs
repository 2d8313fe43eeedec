//! Overview, the console's home: the topology — clusters, groups, machines and standalone machines — each
//! machine with version, state, listeners, message rate and queue, the settings each level overrides,
//! and a progress bar while it upgrades; the cluster, every group and every machine link to their pages.
//! Live: it renders the replica the event stream keeps. The layout renders again only when the
//! topology's shape changes; each row follows its own machine, and each row's time-dependent part
//! (traffic, progress) the clock. A long list renders only the rows on screen (rules §9.2).

use cluster::cmd::upgrade_progress;
use cluster::mail::{history, listener_states, traffic, ListenerState};
use cluster::topology::override_counts;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use cluster::{Fleet, Hostname, Machine, Mode};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::{Progress, Sparkline, StateBadge};
use crate::state::{use_console, Console};

#[component]
pub fn Overview() -> impl IntoView {
    let console = use_console();
    view! {
        <h1>"Overview"</h1>
        {move || console.fleet.with(Option::is_none).then(|| view! { <p role="status">"Loading the fleet…"</p> })}
        {topology(console)}
    }
}

/// What the topology's layout depends on. The layout renders again only when this changes (a machine
/// joins, a group is renamed, an override is staged); each row follows its own machine (issue 16, P6).
#[derive(Clone, PartialEq)]
struct Shape {
    clusters: Vec<ClusterShape>,
    standalone: Vec<Hostname>,
    defs: Overrides,
    cluster_mode: Option<Mode>,
}

#[derive(Clone, PartialEq)]
struct ClusterShape {
    name: cluster::ClusterName,
    summary: String,
    groups: Vec<(cluster::GroupName, Vec<Hostname>)>,
}

impl Shape {
    fn of(console: Console, fleet: &Fleet) -> Shape {
        let login = console
            .session
            .with_untracked(|s| s.as_ref().map(|s| s.login_host.clone()));
        let hosts = |it: &mut dyn Iterator<Item = &Machine>| it.map(|m| m.hostname.clone()).collect();
        Shape {
            clusters: fleet
                .clusters
                .values()
                .map(|c| ClusterShape {
                    name: c.name.clone(),
                    summary: format!(
                        "({} machines, {} addressing)",
                        fleet.members(&c.name).count(),
                        c.addressing
                    ),
                    groups: c
                        .groups
                        .iter()
                        .map(|g| (g.clone(), hosts(&mut fleet.group_members(&c.name, g))))
                        .collect(),
                })
                .collect(),
            standalone: hosts(&mut fleet.standalone_machines()),
            defs: defs_of(console, fleet),
            cluster_mode: login.and_then(|l| cluster::view::cluster_page_mode(fleet, &l)),
        }
    }
}

/// The topology of `console`'s fleet as its session sees it (a replay passes a console without one);
/// nothing while there is no fleet.
pub fn topology(console: Console) -> impl IntoView {
    let shape = Memo::new(move |_| {
        console.session.track();
        console.fleet.with(|f| f.as_ref().map(|f| Shape::of(console, f)))
    });
    move || shape.with(|s| s.as_ref().map(|s| shape_view(console, s)))
}

fn shape_view(console: Console, shape: &Shape) -> impl IntoView {
    let defs = Arc::new(shape.defs.clone());
    let clusters = shape
        .clusters
        .iter()
        .map(|cluster| {
            let groups = cluster
                .groups
                .iter()
                .map(|(group, hosts)| group_view(console, group, hosts.clone(), &defs))
                .collect_view();
            let label = format!("Cluster {}", cluster.name);
            let heading = label.clone();
            let here = shape
                .cluster_mode
                .as_ref()
                .and_then(|m| overrides(&defs, m, "defined at the cluster"));
            view! {
                <section class="cluster" role="region" aria-label=label.clone()>
                    <h2 class="level-head">{page_link(console, "/cluster".into(), heading, "")}" "<small>{cluster.summary.clone()}</small>{here}</h2>
                    {groups}
                </section>
            }
        })
        .collect_view();
    let standalone = if shape.standalone.is_empty() {
        view! { <p class="empty">"Every machine belongs to a cluster."</p> }.into_any()
    } else {
        machine_list(console, shape.standalone.clone(), defs, "standalone machines").into_any()
    };
    view! {
        <div class="topology">
            {clusters}
            <section class="standalone" role="region" aria-label="Standalone machines">
                <h2>"Standalone machines"</h2>
                {standalone}
            </section>
        </div>
    }
}

/// How many settings each mode defines, as the session sees the configuration (its staged changes over
/// its login host's replica); empty for a role without configuration reads.
pub fn defs_of(console: Console, fleet: &Fleet) -> Overrides {
    console
        .session
        .with_untracked(|s| {
            let s = s.as_ref()?.session();
            let m = fleet.machine(&s.host)?;
            Some(override_counts(fleet, &s.host, &s.view(&m.config)))
        })
        .unwrap_or_default()
}

/// Modes and the number of settings they define.
pub type Overrides = Vec<(Mode, usize)>;

/// A group of a cluster with its members.
pub fn group_section(
    console: Console,
    fleet: &Fleet,
    cluster: &cluster::ClusterName,
    group: &cluster::GroupName,
    defs: &Overrides,
) -> impl IntoView {
    let hosts = fleet
        .group_members(cluster, group)
        .map(|m| m.hostname.clone())
        .collect();
    group_view(console, group, hosts, &Arc::new(defs.clone()))
}

fn group_view(
    console: Console,
    group: &cluster::GroupName,
    hosts: Vec<Hostname>,
    defs: &Arc<Overrides>,
) -> impl IntoView {
    let label = format!("Group {group}");
    let heading = label.clone();
    let href = format!("/group/{group}");
    let here = overrides(defs, &Mode::Group(group.clone()), "overridden at this group");
    let what = format!("machines of group {group}");
    view! {
        <section class="group" role="group" aria-label=label.clone()>
            <h3 class="level-head">{page_link(console, href, heading, "")}{here}</h3>
            {machine_list(console, hosts, defs.clone(), &what)}
        </section>
    }
}

/// A list of machine rows; a long one is windowed (rules §9.2).
fn machine_list(console: Console, hosts: Vec<Hostname>, defs: Arc<Overrides>, what: &str) -> AnyView {
    if !cluster::view::windowed(hosts.len()) {
        let rows = hosts
            .into_iter()
            .map(|h| machine_row(console, h, defs.clone(), None))
            .collect_view();
        view! { <ul class="machines">{rows}</ul> }.into_any()
    } else {
        windowed_list(console, hosts, defs, what).into_any()
    }
}

/// The last row stride a windowed list measured (f64 bits; 0: none yet), so that a list built again
/// (its layout changed) starts as tall as it was and the page keeps its scroll position.
static LAST_STRIDE: AtomicU64 = AtomicU64::new(0);
/// The row height windowed lists grew to (f64 bits; 0: the stylesheet's), kept for the same reason;
/// forgotten when the window is resized (rows may need less at another width).
static ROW_HEIGHT: AtomicU64 = AtomicU64::new(0);
/// The most a row grows to; past it, a row scrolls within itself.
const MAX_ROW_PX: f64 = 640.0;

/// A long machine list (rules §9.2): a find box, the count, and only the rows on screen (and a few
/// either side) in the page, keyed by machine; padding above and below stands in for the rest, so the
/// scroll bar is the whole list's. Rows have one height (the stylesheet's `.windowed`), measured once
/// they render.
fn windowed_list(console: Console, hosts: Vec<Hostname>, defs: Arc<Overrides>, what: &str) -> impl IntoView {
    use cluster::view::{matching, window, WINDOW_FIRST};
    let total = hosts.len();
    let hosts = StoredValue::new(hosts);
    let query = RwSignal::new(String::new());
    let shown = Memo::new(move |_| {
        query.with(|q| hosts.with_value(|h| matching(h, q).into_iter().cloned().collect::<Vec<_>>()))
    });
    let list = NodeRef::<leptos::html::Ul>::new();
    let stride = RwSignal::new(f64::from_bits(LAST_STRIDE.load(Ordering::Relaxed)));
    let range = RwSignal::new(0..WINDOW_FIRST);
    let measure = move || {
        let Some(ul) = list.get_untracked() else { return };
        grow_rows(&ul);
        if let Some(s) = row_stride(&ul) {
            if s != stride.get_untracked() {
                stride.set(s);
                LAST_STRIDE.store(s.to_bits(), Ordering::Relaxed);
            }
        }
        let height = web_sys::window()
            .and_then(|w| w.inner_height().ok())
            .and_then(|h| h.as_f64())
            .unwrap_or(0.0);
        let n = shown.with_untracked(Vec::len);
        let next = window(
            n,
            ul.get_bounding_client_rect().top(),
            height,
            stride.get_untracked(),
        );
        if range.get_untracked() != next {
            range.set(next);
        }
    };
    // Measured once the rows are in the page, again when the find box changes what is shown, and on
    // every scroll and resize.
    Effect::new(move |_| {
        shown.track();
        if let Some(ul) = list.get() {
            set_row_height(&ul, f64::from_bits(ROW_HEIGHT.load(Ordering::Relaxed)));
            request_animation_frame(measure);
        }
    });
    let on_scroll = window_event_listener(leptos::ev::scroll, move |_| measure());
    let on_resize = window_event_listener(leptos::ev::resize, move |_| {
        ROW_HEIGHT.store(0, Ordering::Relaxed);
        if let Some(ul) = list.get_untracked() {
            set_row_height(&ul, 0.0);
        }
        measure();
    });
    on_cleanup(move || {
        on_scroll.remove();
        on_resize.remove();
    });
    let rows = move || {
        let r = range.get();
        shown.with(|s| {
            let n = s.len();
            let r = r.start.min(n)..r.end.min(n);
            s[r.clone()]
                .iter()
                .cloned()
                .zip(r)
                .map(|(h, i)| (h, i + 1, n))
                .collect::<Vec<_>>()
        })
    };
    let pad = move |rows: usize| format!("{}px", (rows as f64 * stride.get()).round());
    let count = move || {
        let n = shown.with(Vec::len);
        if query.with(|q| q.trim().is_empty()) {
            format!("{total} machines; rows appear as they scroll into view.")
        } else {
            format!("{n} of {total} machines match.")
        }
    };
    let find = format!("Find a machine among the {what} by part of its name");
    view! {
        <div class="window-bar">
            <label class="window-find">"Find a machine "
                <input type="search" title=find autocomplete="off"
                    prop:value=move || query.get()
                    on:input=move |ev| query.set(event_target_value(&ev)) />
            </label>
            <span class="window-count" role="status">{count}</span>
        </div>
        <ul class="machines windowed" node_ref=list
            style:padding-top=move || pad(range.with(|r| r.start).min(shown.with(Vec::len)))
            style:padding-bottom=move || pad(shown.with(Vec::len).saturating_sub(range.with(|r| r.end)))>
            <For each=rows key=|row| row.clone() let((host, at, n))>
                {machine_row(console, host, defs.clone(), Some((at, n)))}
            </For>
        </ul>
    }
}

/// Grows every row of `list` to what its tallest rendered row needs (rows are one height, rules §9.2;
/// none may hide what it shows), up to [`MAX_ROW_PX`]; never shrinks them.
fn grow_rows(list: &web_sys::HtmlUListElement) {
    let mut need: f64 = 0.0;
    let mut row = list.first_element_child();
    while let Some(r) = row {
        // Content height plus the border (and any scroll bar) the box adds to it.
        let outer = r.get_bounding_client_rect().height();
        need = need.max(f64::from(r.scroll_height()) + (outer - f64::from(r.client_height())).max(0.0));
        row = r.next_element_sibling();
    }
    let need = need.min(MAX_ROW_PX);
    let now = list
        .first_element_child()
        .map_or(0.0, |r| r.get_bounding_client_rect().height());
    if need > now + 0.5 {
        ROW_HEIGHT.store(need.to_bits(), Ordering::Relaxed);
        set_row_height(list, need);
    }
}

/// Sets the rows' height of `list` (`0`: the stylesheet's), through the style object (the CSP forbids
/// style attributes, not this).
fn set_row_height(list: &web_sys::HtmlUListElement, px: f64) {
    let style = web_sys::HtmlElement::style(list);
    let _ = if px > 0.0 {
        style.set_property("--row-h", &format!("{}px", px.ceil()))
    } else {
        style.remove_property("--row-h").map(|_| ())
    };
}

/// The distance from one row of `list` to the next (row and gap), once two rows are in the page.
fn row_stride(list: &web_sys::HtmlUListElement) -> Option<f64> {
    let first = list.first_element_child()?;
    let second = first.next_element_sibling()?;
    let s = second.get_bounding_client_rect().top() - first.get_bounding_client_rect().top();
    (s > 0.0).then_some(s)
}

/// A link to a console page; in a share's replay (a console without a session) those pages cannot
/// open, so the name is plain text.
fn page_link(console: Console, href: String, text: String, class: &'static str) -> impl IntoView {
    if console.session.with_untracked(Option::is_some) {
        leptos::either::Either::Left(view! { <A href=href attr:class=class>{text}</A> })
    } else {
        leptos::either::Either::Right(view! { <span class=class>{text}</span> })
    }
}

/// "3 settings overridden here": the features `mode` defines (rules §15.35).
fn overrides(defs: &Overrides, mode: &Mode, what: &'static str) -> Option<impl IntoView> {
    let n = defs.iter().find(|(m, _)| m == mode).map_or(0, |(_, n)| *n);
    (n > 0).then(|| {
        let text = if n == 1 {
            format!("1 setting {what}")
        } else {
            format!("{n} settings {what}")
        };
        view! { <span class="badge badge-override">{text}</span> }
    })
}

/// One machine's row, following its machine (`place`: its position and the list's length, for a
/// windowed list).
fn machine_row(
    console: Console,
    host: Hostname,
    defs: Arc<Overrides>,
    place: Option<(usize, usize)>,
) -> impl IntoView {
    let label = format!("Machine {host}");
    let (posinset, setsize) = place.map(|(at, n)| (at.to_string(), n.to_string())).unzip();
    view! {
        <li class="machine" aria-label=label aria-posinset=posinset aria-setsize=setsize>
            {move || console.fleet.with(|f| {
                let fleet = f.as_ref()?;
                fleet.machine(&host).map(|m| row_content(console, fleet, m, &defs))
            })}
        </li>
    }
}

/// A row's content: name (a link to its page), version, state badge, listeners, overrides, alert, and
/// the live part (traffic, charts, upgrade progress).
fn row_content(console: Console, fleet: &Fleet, machine: &Machine, defs: &Overrides) -> impl IntoView {
    // One text node for the listeners (a thousand-machine fleet renders thousands fewer elements).
    let states = listener_states(fleet, &machine.hostname);
    let attention = states.iter().any(|l| l.state != ListenerState::Accepting);
    let listeners = states
        .iter()
        .map(|l| format!("{}: {}", l.name, l.state.word()))
        .collect::<Vec<_>>()
        .join("  ");
    let host = machine.hostname.clone();
    let alert = machine.local.alerts.last().cloned();
    let href = format!("/machine/{}", machine.hostname);
    let name = machine.hostname.to_string();
    let member = machine.cluster().is_some();
    let here = overrides(defs, &machine.own_mode(), "overridden at this machine").filter(|_| member);
    view! {
        <div class="machine-id">
            {page_link(console, href, name, "hostname")}
            <span class="version">{format!("AsyncOS {}", machine.version)}</span>
        </div>
        <div class="machine-state">
            <StateBadge host=machine.hostname.clone() />
            <span class="listeners" class:listeners-attention=attention>{listeners}</span>
            {here}
            {alert.map(|a| view! { <span class="machine-alert" role="note">{a}</span> })}
        </div>
        <div class="machine-live">{move || live(console, &host)}</div>
    }
}

/// The part of a row that moves with the simulated clock.
fn live(console: Console, host: &Hostname) -> impl IntoView {
    let now = console.now();
    console.fleet.with_untracked(|f| {
        let fleet = f.as_ref()?;
        let machine = fleet.machine(host)?;
        let t = traffic(fleet, host, now);
        let samples = history(fleet, host, now, 30);
        let received: Vec<u64> = samples.iter().map(|s| s.received).collect();
        let queued: Vec<u64> = samples.iter().map(|s| s.work_queue + s.delivery_queue).collect();
        let progress = upgrade_progress(machine, now).map(|p| {
            view! { <Progress label=format!("Upgrade to AsyncOS {} ({})", p.version, p.phase.word()) percent=p.percent /> }
        });
        Some(view! {
            <span class="traffic">{format!("{} msg/min, queue {}", t.messages_per_minute, t.queue_depth)}</span>
            <Sparkline label=format!("Messages a minute on {host}, last 30 minutes") values=received class="rate" />
            <Sparkline label=format!("Queued messages on {host}, last 30 minutes") values=queued class="queue" />
            {progress}
        })
    })
}
