//! Settings pages, generated from the feature schemas (rules §9): at `/cluster/settings/<feature>`,
//! `/group/<g>/settings/<feature>` and `/machine/<host>/settings/<feature>`, the URL names the mode and
//! the session follows it. Each page shows one of the guide's states — defined here, inherited (with the
//! real source and *Override Settings*), or configured at another level — plus Manage Settings and
//! where each machine's effective value comes from. A URL naming a group, machine or feature that does
//! not exist shows a not-found page (rules §15.34); the menu marks the features the mode defines.

use cluster::cmd::{ClusterSetCmd, FeatureAction, FeatureCmd, FeatureSel};
use cluster::features::{ColumnKind, FeatureId, FeatureValue, Shape, CATALOGUE};
use cluster::view::{banner, feature_settings_actions, page_state, sources, Banner, PageState};
use cluster::{Command, Hostname, Mode};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::components::{ActionButton, MailFlow, ModeBar, OutcomeView};
use crate::state::{use_console, Outcome};

/// `(mode, feature)` named by a settings URL; a feature word the catalogue does not know is `Err` with
/// the word (at most 64 characters of it).
pub fn parse_path(path: &str) -> Option<(Mode, Option<Result<FeatureId, String>>)> {
    let (mode, rest) = Mode::parse_path(path)?;
    match rest.as_slice() {
        ["settings"] | ["settings", ""] => Some((mode, None)),
        ["settings", f] => Some((
            mode,
            Some(FeatureId::from_command(f).ok_or_else(|| f.chars().take(64).collect())),
        )),
        _ => None,
    }
}

/// A not-found page: what was not found, and the way back.
fn not_found(what: String) -> AnyView {
    view! {
        <h1>"Not found"</h1>
        <p role="alert" class="refused">{what}</p>
        <p><A href="/settings">"Back to the settings of your current mode"</A></p>
    }
    .into_any()
}

#[component]
pub fn Settings() -> impl IntoView {
    let location = use_location();
    // The page names its mode; nothing here changes the session's (terminal's) mode (rules §14.7.3).
    let target = Memo::new(move |_| parse_path(&location.pathname.get()));
    let console = use_console();
    // The group or machine of the URL, when it is not one the login host has (rules §15.34).
    let missing = Memo::new(move |_| {
        let (mode, _) = target.get()?;
        let login = console
            .session
            .with(|s| s.as_ref().map(|s| s.login_host.clone()))?;
        console.fleet.with(|f| {
            f.as_ref()
                .and_then(|f| cluster::view::missing_mode(f, &login, &mode))
        })
    });
    // Which features the mode defines, for the menu: the same page state the feature page shows.
    let defined = Memo::new(move |_| {
        let (mode, _) = target.get()?;
        let s = console.session.with(|s| s.as_ref().map(|s| s.session()))?;
        console.fleet.with(|f| {
            let fleet = f.as_ref()?;
            let store = s.view(&fleet.machine(&s.host)?.config);
            Some(
                CATALOGUE
                    .iter()
                    .map(|schema| {
                        matches!(
                            page_state(fleet, &s.host, &store, &mode, schema.id),
                            PageState::Defined { .. }
                        )
                    })
                    .collect::<Vec<bool>>(),
            )
        })
    });
    move || match target.get() {
        None => not_found("This address names no settings page.".into()),
        Some((_, Some(Err(word)))) => not_found(format!("There is no feature \"{word}\".")),
        Some(_) if missing.get().is_some() => not_found(missing.get().unwrap_or_default()),
        Some((mode, feature)) => {
            let feature = feature.and_then(Result::ok);
            let page = feature
                .map(|f| format!("/settings/{}", f.command()))
                .unwrap_or_else(|| "/settings".into());
            let base = mode.path();
            let links = CATALOGUE
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let href = format!("{base}/settings/{}", s.command);
                    let current = Some(s.id) == feature;
                    let here = move || defined.with(|d| d.as_ref().is_some_and(|d| d.get(i) == Some(&true)));
                    view! { <li class:defined-here=here><A href=href attr:aria-current=if current { Some("page") } else { None }>{s.title}
                        {move || here().then(|| view! { <span class="defined-mark">" · defined here"</span> })}</A></li> }
                })
                .collect_view();
            view! {
                <h1>"Settings"</h1>
                <ModeBar mode=mode.clone() page=page />
                // A machine's pages show its mail flow (rules §16.4).
                {match &mode {
                    Mode::Machine(h) => Some(view! { <MailFlow host=h.clone() /> }),
                    _ => None,
                }}
                <div class="settings-layout">
                    <nav aria-label="Features">
                        <ul class="feature-nav">{links}</ul>
                        <p class="hint">"Marked: defined at this mode; the others are inherited or set elsewhere."</p>
                    </nav>
                    <div class="feature-panel">
                        {match feature {
                            Some(f) => view! { <FeaturePanel mode=mode.clone() feature=f /> }.into_any(),
                            None => view! { <p>"Choose a feature."</p> }.into_any(),
                        }}
                    </div>
                </div>
            }
            .into_any()
        }
    }
}

/// The data a feature page needs, derived from the replica.
#[derive(Clone, PartialEq)]
struct PageData {
    state: PageState,
    banner: Banner,
    cluster: Option<String>,
    staged: bool,
    sources: Vec<(Hostname, Mode, FeatureValue)>,
    modes: Vec<(Mode, String)>,
}

fn label(cluster: &Option<String>, mode: &Mode) -> String {
    match cluster.as_ref().and_then(|c| cluster::ClusterName::parse(c).ok()) {
        Some(c) => mode.gui_label(&c),
        None => mode.to_string(),
    }
}

#[component]
fn FeaturePanel(mode: Mode, feature: FeatureId) -> impl IntoView {
    let console = use_console();
    let schema = feature.schema();
    let mode_for_data = mode.clone();
    let data = Memo::new(move |_| {
        let s = console.session.with(|s| s.as_ref().map(|s| s.session()))?;
        console.fleet.with(|f| {
            let fleet = f.as_ref()?;
            let login = s.host.clone();
            let store = s.view(&fleet.machine(&login)?.config);
            let state = page_state(fleet, &login, &store, &mode_for_data, feature);
            Some(PageData {
                banner: banner(fleet, &login, &state, &mode_for_data),
                state,
                cluster: fleet.cluster_of(&login).map(|c| c.name.to_string()),
                staged: s.pending_edit(&mode_for_data, feature).is_some(),
                sources: sources(fleet, &login, &store, feature),
                modes: cluster::view::mode_options(fleet, &login),
            })
        })
    });
    let outcome = RwSignal::new(None::<Outcome>);
    let mode = StoredValue::new(mode);
    view! {
        <section class="feature" aria-label=schema.title>
            <h2>{schema.title}<small>{format!(" — {}", schema.gui_page)}</small></h2>
            {move || data.get().map(|d| {
                let mode = mode.get_value();
                let text = d.banner.text.clone();
                match d.state.clone() {
                    PageState::WrongLevel { .. } => {
                        let href = d
                            .banner
                            .change_to
                            .as_ref()
                            .map(|m| format!("{}/settings/{}", m.path(), feature.command()))
                            .unwrap_or_default();
                        view! {
                            <div class="banner banner-wrong" role="note">{text}" "<A href=href>"Change mode"</A></div>
                            <div class="greyed" aria-disabled="true"><p>"Not configurable in this mode."</p></div>
                        }.into_any()
                    }
                    PageState::Inherited { from, value } => view! {
                        <div class="banner banner-inherited" role="note">{text}</div>
                        <div class="greyed" aria-disabled="true">{rows_table(feature, &value, None)}</div>
                        <Override mode=mode.clone() feature=feature from=from outcome=outcome />
                    }.into_any(),
                    PageState::Defined { value } | PageState::Standalone { value } => {
                        let editable = Some((mode.clone(), outcome));
                        view! {
                            <div class="banner banner-defined" role="note">{text}
                                {d.staged.then(|| view! { <strong>" Staged changes are not committed yet."</strong> })}
                            </div>
                            {rows_table(feature, &value, editable)}
                            <RowForm mode=mode.clone() feature=feature outcome=outcome preset=Vec::new() />
                            {(!matches!(d.state, PageState::Standalone { .. })).then(|| view! {
                                <ManageSettings mode=mode.clone() feature=feature modes=d.modes.clone() outcome=outcome />
                            })}
                        }.into_any()
                    }
                }
            })}
            <OutcomeView outcome=outcome />
            {move || data.get().filter(|d| !d.sources.is_empty()).map(|d| {
                let rows = d.sources.iter().map(|(h, m, v)| {
                    let summary = if v.rows.is_empty() { v.empty_label().to_string() } else {
                        v.rows.iter().map(|r| feature.schema().render_row(r)).collect::<Vec<_>>().join("; ")
                    };
                    view! { <tr><td>{h.to_string()}</td><td>{label(&d.cluster, m)}</td><td>{summary}</td></tr> }
                }).collect_view();
                view! {
                    <div class="table-wrap" tabindex="0">
                    <table class="sources" aria-label="Where each machine's value comes from">
                        <caption>"Where each machine's value comes from"</caption>
                        <thead><tr><th>"Machine"</th><th>"Uses the settings of"</th><th>"Effective value"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                    </div>
                }
            })}
        </section>
    }
}

/// The rows of a value; with `editable`, each row has Delete (tables) — Edit fills the form below.
fn rows_table(
    feature: FeatureId,
    value: &FeatureValue,
    editable: Option<(Mode, RwSignal<Option<Outcome>>)>,
) -> impl IntoView {
    let schema = feature.schema();
    let head = schema
        .columns
        .iter()
        .map(|c| view! { <th>{c.label}</th> })
        .collect_view();
    let body = if value.rows.is_empty() {
        view! { <tr><td colspan=schema.columns.len() + 1>{value.empty_label()}</td></tr> }.into_any()
    } else {
        value
            .rows
            .iter()
            .map(|row| {
                let cells = schema
                    .display(row)
                    .into_iter()
                    .map(|text| view! { <td>{text}</td> })
                    .collect_view();
                let action = editable
                    .clone()
                    .filter(|_| schema.shape == Shape::Table)
                    .map(|(mode, outcome)| {
                        let key = row.key().to_string();
                        let command = Signal::derive(move || {
                            Some(
                                FeatureCmd {
                                    feature,
                                    action: FeatureAction::Delete(key.clone()),
                                }
                                .into(),
                            )
                        });
                        view! { <td><ActionButton label="Delete" command=command outcome=outcome mode=Some(mode.clone()) class="danger" /></td> }
                    });
                let label = format!("Entry {}", row.key());
                view! { <tr aria-label=label>{cells}{action}</tr> }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <div class="table-wrap" tabindex="0">
        <table class="rows" aria-label=format!("{} entries", schema.title)>
            <thead><tr>{head}</tr></thead>
            <tbody>{body}</tbody>
        </table>
        </div>
    }
}

/// A form with one field per column: Add / Save changes (tables) or Save (single-value features).
#[component]
fn RowForm(
    mode: Mode,
    feature: FeatureId,
    outcome: RwSignal<Option<Outcome>>,
    preset: Vec<String>,
) -> impl IntoView {
    let schema = feature.schema();
    // Fields start empty: a column's default is its placeholder, and what an empty field means
    // (rules §15.34).
    let fields: Vec<RwSignal<String>> = schema
        .columns
        .iter()
        .map(|_| RwSignal::new(String::new()))
        .collect();
    let fields = StoredValue::new(fields);
    // Nothing is checked (and no refusal shows) until the user has typed in the form.
    let touched = RwSignal::new(false);
    let cells = move || fields.with_value(|f| f.iter().map(|s| s.get()).collect::<Vec<String>>());
    let inputs = schema
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let sig = fields.with_value(|f| f[i]);
            let set = move |v: String| {
                touched.set(true);
                sig.set(v);
            };
            let placeholder = c.default.map(|d| format!("default: {d}"));
            let input = match c.kind {
                ColumnKind::Choice { choices } => {
                    let empty = match c.default {
                        Some(d) => format!("Default ({d})"),
                        None => "Choose…".to_string(),
                    };
                    view! {
                        <select on:change=move |ev| set(event_target_value(&ev)) prop:value=move || sig.get()>
                            <option value="">{empty}</option>
                            {choices.iter().map(|ch| view! { <option value=*ch>{*ch}</option> }).collect_view()}
                        </select>
                    }
                    .into_any()
                }
                ColumnKind::Secret => view! {
                    <input type="password" autocomplete="new-password" prop:value=move || sig.get() on:input=move |ev| set(event_target_value(&ev)) />
                }
                .into_any(),
                _ => view! { <input type="text" placeholder=placeholder prop:value=move || sig.get() on:input=move |ev| set(event_target_value(&ev)) /> }
                    .into_any(),
            };
            view! { <label>{c.label}" "{input}</label> }
        })
        .collect_view();
    // The cells up to the last one filled in; an empty field before it stands for its default.
    let non_empty = move || {
        let c = cells();
        let n = c
            .iter()
            .rposition(|x| !x.trim().is_empty())
            .map(|i| i + 1)
            .unwrap_or(0);
        c.into_iter()
            .zip(schema.columns)
            .take(n)
            .map(|(x, col)| match (x.trim().is_empty(), col.default) {
                (true, Some(d)) => d.to_string(),
                _ => x,
            })
            .collect::<Vec<_>>()
    };
    let buttons = match schema.shape {
        Shape::Single => {
            let set = Signal::derive(move || {
                touched.get().then(|| {
                    FeatureCmd {
                        feature,
                        action: FeatureAction::Set(non_empty()),
                    }
                    .into()
                })
            });
            view! { <ActionButton label="Save" command=set outcome=outcome mode=Some(mode.clone()) preset=preset.clone() class="primary" /> }
                .into_any()
        }
        Shape::Table => {
            let add = Signal::derive(move || {
                let c = non_empty();
                (!c.is_empty()).then_some(
                    FeatureCmd {
                        feature,
                        action: FeatureAction::New(c),
                    }
                    .into(),
                )
            });
            let edit = Signal::derive(move || {
                let c = non_empty();
                (!c.is_empty()).then_some(
                    FeatureCmd {
                        feature,
                        action: FeatureAction::Edit(c),
                    }
                    .into(),
                )
            });
            view! {
                <ActionButton label="Add" command=add outcome=outcome mode=Some(mode.clone()) preset=preset.clone() class="primary" />
                <ActionButton label="Save changes" command=edit outcome=outcome mode=Some(mode.clone()) preset=preset.clone() />
            }
            .into_any()
        }
    };
    view! {
        <form class="row-form" aria-label=format!("{} entry", schema.title) on:submit=|ev| ev.prevent_default()>
            <fieldset>
                <legend>{if schema.shape == Shape::Table { "Add an entry, or change the entry with the same first field" } else { "Value" }}</legend>
                {inputs}
                <div class="buttons">{buttons}</div>
            </fieldset>
        </form>
    }
}

/// *Override Settings* (rules §9, §5.2): start from the defaults or from a copy of what is inherited.
#[component]
fn Override(mode: Mode, feature: FeatureId, from: Mode, outcome: RwSignal<Option<Outcome>>) -> impl IntoView {
    let open = RwSignal::new(false);
    let copy = RwSignal::new(true);
    let defaults_draft = RwSignal::new(false);
    let from_label = from.to_string();
    let mode = StoredValue::new(mode);
    let copy_command = {
        let mode = mode.get_value();
        let (mode, from) = (mode.clone(), from.clone());
        Signal::derive(move || {
            Some(Command::ClusterSet(ClusterSetCmd::Copy {
                feature: FeatureSel::One(feature),
                from: from.clone(),
                to: mode.clone(),
            }))
        })
    };
    view! {
        <div class="override">
            <button on:click=move |_| open.set(true) disabled=move || open.get()>"Override Settings"</button>
            {move || open.get().then(|| view! {
                <fieldset class="override-choice">
                    <legend>"Override Settings"</legend>
                    <label><input type="radio" name="start" prop:checked=move || !copy.get() on:change=move |_| copy.set(false) />
                        "Start with default settings"</label>
                    <label><input type="radio" name="start" prop:checked=move || copy.get() on:change=move |_| copy.set(true) />
                        {format!("Start with a copy of the settings currently inherited from {from_label}")}</label>
                    {move || if copy.get() {
                        view! { <ActionButton label="Override" command=copy_command outcome=outcome mode=Some(mode.get_value()) class="primary" /> }.into_any()
                    } else {
                        view! { <button class="primary" on:click=move |_| defaults_draft.set(true)>"Override"</button> }.into_any()
                    }}
                </fieldset>
            })}
            {move || defaults_draft.get().then(|| view! {
                <p>"Starting from the defaults: the first entry you add defines the settings here."</p>
                <RowForm mode=mode.get_value() feature=feature outcome=outcome preset=vec!["1".to_string()] />
            })}
        </div>
    }
}

/// *Centralized Management Options*: Manage Settings (copy / move to another mode) and Delete Settings.
#[component]
fn ManageSettings(
    mode: Mode,
    feature: FeatureId,
    modes: Vec<(Mode, String)>,
    outcome: RwSignal<Option<Outcome>>,
) -> impl IntoView {
    let others: Vec<(Mode, String)> = modes.into_iter().filter(|(m, _)| *m != mode).collect();
    // No destination until one is chosen: nothing is refused on an untouched form.
    let dest = RwSignal::new(String::new());
    let op = RwSignal::new("copy".to_string());
    let from = mode.clone();
    let command = Signal::derive(move || {
        let to = Mode::parse(&dest.get()).ok()?;
        let feature = FeatureSel::One(feature);
        let from = from.clone();
        Some(Command::ClusterSet(if op.get() == "move" {
            ClusterSetCmd::Move { feature, from, to }
        } else {
            ClusterSetCmd::Copy { feature, from, to }
        }))
    });
    let delete_mode = mode.clone();
    let delete = Signal::derive(move || {
        Some(Command::ClusterSet(ClusterSetCmd::Delete {
            feature: FeatureSel::One(feature),
            mode: delete_mode.clone(),
        }))
    });
    let actions = feature_settings_actions(&mode, feature);
    let page_mode = mode.clone();
    view! {
        <fieldset class="manage">
            <legend>"Centralized Management Options"</legend>
            <label>"Operation " <select on:change=move |ev| op.set(event_target_value(&ev))>
                <option value="copy">"Copy"</option><option value="move">"Move"</option>
            </select></label>
            <label>"To mode " <select on:change=move |ev| dest.set(event_target_value(&ev)) prop:value=move || dest.get()>
                <option value="">"Choose a mode"</option>
                {others.into_iter().map(|(m, l)| view! { <option value=m.to_string()>{l}</option> }).collect_view()}
            </select></label>
            <ActionButton label="Manage Settings" command=command outcome=outcome mode=Some(page_mode.clone()) />
            {actions.delete.then(|| view! { <ActionButton label="Delete Settings" command=delete outcome=outcome mode=Some(page_mode.clone()) class="danger" /> })}
        </fieldset>
    }
}

/// `/settings`: the settings of the session's current mode.
#[component]
pub fn SettingsIndex() -> impl IntoView {
    let console = use_console();
    move || {
        let target = console.session.with(|s| {
            s.as_ref().map(|s| match &s.mode {
                Some(m) => m.path(),
                None => Mode::Machine(s.login_host.clone()).path(),
            })
        });
        target.map(
            |t| view! { <leptos_router::components::Redirect path=format!("{t}/settings/smtproutes") /> },
        )
    }
}
