//! The demo (sandbox mode, rules §18): the start page listing the scenarios, the banner of a visitor's
//! sandbox (scenario, time left, Reset, Share, the other demo roles), and a share's replay (`/s/<code>`):
//! a timeline with a slider and step buttons, the topology at the chosen revision, who ran what, and
//! Fork.

use cluster::wire::{SandboxInfo, ScenarioInfo, SessionInfo, ShareInfo};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::state::{use_console, Console};

/// The start page of a demo server: one card per scenario; choosing one starts the visitor's sandbox.
#[component]
pub fn Start(scenarios: Vec<ScenarioInfo>, on_login: Callback<SessionInfo>) -> impl IntoView {
    let console = use_console();
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let start = move |id: String| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match crate::api::start_sandbox(&id).await {
                Ok(started) => on_login.run(started.session),
                Err(f) => error.set(Some(f.message)),
            }
            busy.set(false);
        });
    };
    // A sandbox this browser still holds (its session ended: logged out, timed out, its machine powered
    // off): log in to it again, or reset it.
    let held = LocalResource::new(crate::api::current_sandbox);
    let reset = move |_| {
        spawn_local(async move {
            match crate::api::reset_sandbox().await {
                Ok(started) => on_login.run(started.session),
                Err(f) => error.set(Some(f.message)),
            }
        });
    };
    view! {
        {move || held.get().and_then(Result::ok).map(|info| view! {
            <section class="sandbox-banner" role="region" aria-label="Your sandbox">
                <p>"Your sandbox "<strong>{info.title.clone()}</strong>" is still here ("
                    {minutes_left(info.seconds_left)}" left). Log in to one of its machines, or reset it to the scenario's start."</p>
                <p><button class="secondary" on:click=reset>"Reset the sandbox"</button></p>
                <crate::pages::login::Login on_login=on_login sandbox=true />
            </section>
        })}
        <section class="demo-start" aria-labelledby="demo-title">
            <h1 id="demo-title">"Try Clusterdeck"</h1>
            <p class="lede">"Choose where to start. You get a cluster of simulated appliances of your own: nobody else sees what you do in it, and you can reset it or share it as a link that replays what you did. Starting another scenario discards the sandbox this browser holds."</p>
            {move || console.error.get().map(|e| view! { <p role="alert">{e}</p> })}
            {move || error.get().map(|e| view! { <p role="alert" class="refusal">{e}</p> })}
            <ul class="scenarios">
                {scenarios.into_iter().map(|s| {
                    let id = s.id.clone();
                    let label = format!("Start: {}", s.title);
                    view! {
                        <li class="scenario" aria-label=s.title.clone()>
                            <h2>{s.title.clone()}</h2>
                            <p>{s.description.clone()}</p>
                            <button class="primary" aria-label=label disabled=move || busy.get()
                                on:click=move |_| start(id.clone())>"Start"</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}

/// The demo users and their published passwords (a scenario's procedure may need a session on another
/// machine).
pub fn demo_passwords() -> impl IntoView {
    view! {
        <details class="demo-passwords">
            <summary>"Demo users and passwords"</summary>
            <ul>
                {cluster::fixture::DEMO_USERS.iter().map(|(u, role, p)| view! {
                    <li><code>{*u}</code>" / "<code>{*p}</code>{format!(" ({role})")}</li>
                }).collect_view()}
            </ul>
        </details>
    }
}

/// Minutes (rounded up) in words.
fn minutes_left(secs: u64) -> String {
    match secs {
        0 => "no time".to_string(),
        1..=60 => "less than a minute".to_string(),
        s => format!("{} min", s.div_ceil(60)),
    }
}

/// The banner of a visitor's sandbox: which scenario, how long it is kept unused, Reset, Share, and the
/// other demo users one click away. Shows nothing outside sandbox mode.
#[component]
pub fn SandboxBanner() -> impl IntoView {
    let console = use_console();
    let info = RwSignal::new(None::<(SandboxInfo, f64)>);
    let refresh = move || {
        spawn_local(async move {
            info.set(
                crate::api::current_sandbox()
                    .await
                    .ok()
                    .map(|i| (i, js_sys::Date::now())),
            );
        });
    };
    // Again whenever the session changes (a reset or a fork is another sandbox), and every 30 s.
    Effect::new(move |_| {
        console.session.track();
        refresh();
    });
    Effect::new(move |_| {
        if console.tick.get() % 30 == 29 {
            refresh();
        }
    });
    let confirm_reset = RwSignal::new(false);
    let link = RwSignal::new(None::<String>);
    let note = RwSignal::new(None::<(String, bool)>);
    let reset = move |_| {
        confirm_reset.set(false);
        spawn_local(async move {
            match crate::api::reset_sandbox().await {
                Ok(started) => {
                    link.set(None);
                    note.set(Some((
                        "Reset: the sandbox is back at the scenario's start.".into(),
                        false,
                    )));
                    console.switched(started.session).await;
                }
                Err(f) => note.set(Some((f.message, true))),
            }
        });
    };
    let share = move |_| {
        spawn_local(async move {
            match crate::api::share().await {
                Ok(s) => {
                    note.set(None);
                    link.set(Some(s.url));
                }
                Err(f) => note.set(Some((f.message, true))),
            }
        });
    };
    let switch_to = move |user: &'static str, password: &'static str| {
        let host = console
            .session
            .with_untracked(|s| s.as_ref().map(|s| s.login_host.to_string()))
            .unwrap_or_default();
        let body = cluster::wire::LoginRequest {
            user: user.to_string(),
            password: password.to_string(),
            login_host: host,
            fleet: None,
            keep_current: true,
        };
        spawn_local(async move {
            match crate::api::login(&body).await {
                Ok(session) => {
                    note.set(Some((format!("Signed in as {user}."), false)));
                    console.switched(session).await;
                }
                Err(f) => note.set(Some((f.message, true))),
            }
        });
    };
    move || {
        info.get().map(|(i, fetched)| {
            let left = move || {
                console.tick.track();
                let gone = ((js_sys::Date::now() - fetched) / 1000.0).max(0.0) as u64;
                i.seconds_left.saturating_sub(gone)
            };
            let me = console.session.with(|s| s.as_ref().map(|s| s.user.to_string()));
            let others = cluster::fixture::DEMO_USERS
                .iter()
                .filter(|(u, _, _)| Some(u.to_string()) != me)
                .map(|&(u, role, p)| {
                    let label = format!("{u} ({role})");
                    view! { <button class="link" on:click=move |_| switch_to(u, p)>{label}</button> }
                })
                .collect_view();
            let ttl = minutes_left(i.ttl_seconds);
            view! {
                <section class="sandbox-banner" role="region" aria-label="Your sandbox">
                    <p class="sandbox-what">
                        "Sandbox: "<strong>{i.title.clone()}</strong>
                        <span class="sandbox-left" class:warn=move || left() < 300>
                            {move || format!(" · {} left", minutes_left(left()))}
                        </span>
                        <span class="note">{format!(" (each action restarts its {ttl})")}</span>
                    </p>
                    <div class="sandbox-actions">
                        {move || if confirm_reset.get() {
                            view! {
                                <span role="group" aria-label="Confirm the reset">
                                    "Discard everything done here? "
                                    <button class="danger" on:click=reset>"Reset the sandbox"</button>
                                    <button class="secondary" on:click=move |_| confirm_reset.set(false)>"Keep it"</button>
                                </span>
                            }.into_any()
                        } else {
                            view! { <button class="secondary" on:click=move |_| confirm_reset.set(true)>"Reset"</button> }.into_any()
                        }}
                        <button class="secondary" on:click=share>"Share"</button>
                        <span class="sandbox-roles">"Sign in as: "{others}</span>
                    </div>
                    {demo_passwords()}
                    {move || link.get().map(|url| view! {
                        <p class="share-link">
                            <label>"Share link (replays this sandbox as it is now) "
                                <input type="text" readonly prop:value=url.clone() on:focus=|ev| {
                                    use wasm_bindgen::JsCast;
                                    if let Some(i) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                                        i.select();
                                    }
                                } />
                            </label>
                            " "<a href=url.clone() target="_blank" rel="noopener">"Open it"</a>
                        </p>
                    })}
                    {move || note.get().map(|(text, bad)| view! {
                        <p role="status" class:refusal=bad>{text}</p>
                    })}
                </section>
            }
        })
    }
}

/// A share's replay (`/s/<code>`): no login; read-only.
#[component]
pub fn Replay(on_login: Callback<SessionInfo>) -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let code = location
        .pathname
        .get_untracked()
        .trim_start_matches("/s/")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let loaded = LocalResource::new({
        let code = code.clone();
        move || {
            let code = code.clone();
            async move {
                let info = crate::api::share_info(&code).await?;
                let export = crate::api::share_log(&code).await?;
                Ok::<_, crate::api::Failure>((info, std::rc::Rc::new(export)))
            }
        }
    });
    move || match loaded.get() {
        None => view! { <p role="status">"Loading the share…"</p> }.into_any(),
        Some(Err(f)) => view! {
            <h1>"Replay"</h1>
            <p role="alert">{f.message}</p>
            <p><a href="/">"Start a sandbox of your own"</a></p>
        }
        .into_any(),
        Some(Ok((info, export))) => timeline(code.clone(), info, export, on_login).into_any(),
    }
}

fn timeline(
    code: String,
    info: ShareInfo,
    export: std::rc::Rc<cluster::share::Export>,
    on_login: Callback<SessionInfo>,
) -> impl IntoView {
    let (first, last) = export.revisions();
    let at = RwSignal::new(first);
    // The replay's own console: no session, no stream, the fleet at the chosen revision.
    let replay = Console::new();
    // The widgets below (state badges, charts) read the console of their context: this one.
    provide_context(replay);
    {
        let export = export.clone();
        Effect::new(move |_| replay.show_frozen(export.at(at.get())));
    }
    let step = move |delta: i64| {
        at.update(|r| *r = (*r as i64 + delta).clamp(first as i64, last as i64) as u64);
    };
    let error = RwSignal::new(None::<String>);
    // Forking replaces the sandbox this browser holds, if any: say so first.
    let held = LocalResource::new(crate::api::current_sandbox);
    let confirm = RwSignal::new(false);
    let navigate = leptos_router::hooks::use_navigate();
    let fork = {
        let code = code.clone();
        move |_| {
            let code = code.clone();
            let revision = at.get_untracked();
            let navigate = navigate.clone();
            spawn_local(async move {
                match crate::api::fork(&code, revision).await {
                    Ok(started) => {
                        on_login.run(started.session);
                        navigate("/", Default::default());
                    }
                    Err(f) => error.set(Some(f.message)),
                }
            });
        }
    };
    let events = export.events.clone();
    let commands = info.commands.clone();
    let title = format!("Replay: {}", info.title);
    let shared = format!(
        "Shared {} · revisions {first} to {last} · read-only",
        info.shared_at
    );
    view! {
        <h1>{title}</h1>
        <p class="note">{shared}</p>
        <section class="replay-controls" role="region" aria-label="Timeline controls">
            <button class="secondary" on:click=move |_| at.set(first) disabled=move || at.get() == first>"First"</button>
            <button class="secondary" on:click=move |_| step(-1) disabled=move || at.get() == first>"Previous step"</button>
            <label class="replay-slider">"Revision "
                <input type="range" min=first.to_string() max=last.to_string() step="1"
                    prop:value=move || at.get().to_string()
                    on:input=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse::<u64>() {
                            at.set(v.clamp(first, last));
                        }
                    } />
            </label>
            <button class="secondary" on:click=move |_| step(1) disabled=move || at.get() == last>"Next step"</button>
            <button class="secondary" on:click=move |_| at.set(last) disabled=move || at.get() == last>"Last"</button>
            <span role="status" class="replay-at">{move || format!("Revision {} of {last}", at.get())}</span>
            {let fork = fork.clone(); move || {
                let holds = held.get().and_then(Result::ok);
                match (holds, confirm.get()) {
                    (Some(h), false) => view! {
                        <button class="primary" on:click=move |_| confirm.set(true)>"Fork from this revision"</button>
                        <span class="note">{format!(" (replaces your sandbox “{}”)", h.title)}</span>
                    }.into_any(),
                    _ => view! { <button class="primary" on:click=fork.clone()>"Fork from this revision"</button> }.into_any(),
                }
            }}
            {move || confirm.get().then(|| view! {
                <span role="group" aria-label="Confirm the fork">
                    "Your current sandbox will be discarded. "
                    <button class="danger" on:click=fork.clone()>"Fork and discard mine"</button>
                    <button class="secondary" on:click=move |_| confirm.set(false)>"Keep mine"</button>
                </span>
            })}
        </section>
        {move || error.get().map(|e| view! { <p role="alert">{e}</p> })}
        <section class="replay-step" role="region" aria-label="This step">
            {move || {
                let r = at.get();
                let what: Vec<String> = events
                    .iter()
                    .filter(|e| e.revision == r)
                    .map(|e| cluster::share::headline(&e.event))
                    .collect();
                let who: Vec<String> = commands
                    .iter()
                    .filter(|c| c.revision == r && c.outcome.starts_with("accepted") && c.line != "login")
                    .map(|c| format!("{} on {}: {} — {}", c.user, c.login_host, c.line, c.outcome))
                    .collect();
                view! {
                    <h2>{format!("Revision {r}")}</h2>
                    {if r == first {
                        view! { <p>"Where the shared sandbox started: its scenario, or the step it was forked from."</p> }.into_any()
                    } else {
                        view! { <ul class="replay-what">{what.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul> }.into_any()
                    }}
                    {(!who.is_empty()).then(|| view! {
                        <p class="note">"Commands run while the fleet was at this revision (a staged change takes effect at the next commit):"</p>
                        <ul class="replay-who">{who.into_iter().map(|w| view! { <li><code>{w}</code></li> }).collect_view()}</ul>
                    })}
                }
            }}
        </section>
        <section class="replay-state" role="region" aria-label="The fleet at this revision">
            {crate::pages::overview::topology(replay)}
        </section>
        <details class="replay-log">
            <summary>{format!("Every step ({})", export.events.len())}</summary>
            <ol>
                {export.events.iter().map(|e| {
                    let r = e.revision;
                    let text = format!("{r}: {}", cluster::share::headline(&e.event));
                    view! { <li><button class="link" aria-current=move || (at.get() == r).then_some("step")
                        on:click=move |_| at.set(r)>{text}</button></li> }
                }).collect_view()}
            </ol>
        </details>
    }
}
