//! The console's state: the session (its own mode and staged changes, private to it), a local replica of
//! the fleet as the session's role may see it, kept by applying the server's event stream with
//! `cluster::apply`, the fleet's simulated clock, and the one way actions are taken
//! ([`Console::perform`]): `cluster::check` runs here first, in the mode the page names — a refusal shows
//! at once, questions are asked in a dialog — and only a plan is sent to the server, which checks again
//! and decides.

use cluster::wire::{CommandRequest, CommandResponse, EventRecord, SessionInfo};
use cluster::{Command, Fleet, Mode, Plan, Prompt, Timestamp, Verdict};
use futures_channel::oneshot;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;

use crate::api;

/// A question waiting for the user in the dialog.
pub struct Ask {
    pub prompt: Prompt,
    pub answer: StoredValue<Option<oneshot::Sender<Option<String>>>, LocalStorage>,
}

/// The result of an action, as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Accepted: the console's lines (warnings first; rules §15.31).
    Done(Vec<String>),
    /// Refused: the browser's check in the console's words, or the server's message.
    Refused(String),
    /// The user answered a question with Cancel, or declined the mode switch: nothing was sent.
    Cancelled,
}

impl Outcome {
    pub fn is_done(&self) -> bool {
        matches!(self, Outcome::Done(_))
    }
}

/// Everything the pages share.
#[derive(Clone, Copy)]
pub struct Console {
    pub session: RwSignal<Option<SessionInfo>>,
    pub fleet: RwSignal<Option<Fleet>, LocalStorage>,
    /// A load error to show instead of the pages.
    pub error: RwSignal<Option<String>>,
    /// The open question, if any.
    pub ask: RwSignal<Option<Ask>, LocalStorage>,
    /// Server simulated time at `clock_base_local` (ms), and its speed.
    clock: RwSignal<(i64, f64, f64)>,
    /// Ticks every second so progress bars and rates move.
    pub tick: RwSignal<u64>,
    /// Outcomes shown as toasts: id, text, whether it is a refusal.
    pub toasts: RwSignal<Vec<(u64, String, bool)>>,
    toast_seq: StoredValue<u64>,
    /// Bumped when the browser's set of sessions changes (the account menu lists them again).
    pub sessions_changed: RwSignal<u64>,
    /// Whether the event stream is open: while it is not, the replica may be stale and actions wait.
    pub live: RwSignal<bool>,
    /// Failed attempts to reach the server since the stream was lost (the back-off's exponent), and
    /// whether an attempt is scheduled.
    retry: StoredValue<(u32, bool)>,
    source: StoredValue<Option<web_sys::EventSource>, LocalStorage>,
}

/// Runs `f` after `ms` milliseconds.
fn after_ms(ms: i32, f: impl FnOnce() + 'static) {
    let done = Closure::once(f);
    if let Some(w) = web_sys::window() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(done.as_ref().unchecked_ref(), ms);
    }
    done.forget();
}

/// The wait before the next attempt to reach the server: 1 s, doubling, at most 30 s.
fn backoff_ms(failures: u32) -> i32 {
    1000i32.saturating_mul(1 << failures.min(5)).min(30_000)
}

fn local_ms() -> f64 {
    js_sys::Date::now()
}

impl Console {
    pub fn new() -> Self {
        Console {
            session: RwSignal::new(None),
            fleet: RwSignal::new_local(None),
            error: RwSignal::new(None),
            ask: RwSignal::new_local(None),
            clock: RwSignal::new((0, 1.0, local_ms())),
            tick: RwSignal::new(0),
            live: RwSignal::new(true),
            sessions_changed: RwSignal::new(0),
            toasts: RwSignal::new(Vec::new()),
            toast_seq: StoredValue::new(0),
            retry: StoredValue::new((0, false)),
            source: StoredValue::new_local(None),
        }
    }

    /// The simulated time now (tracks `tick`, so views using it refresh).
    pub fn now(&self) -> Timestamp {
        self.tick.track();
        self.now_untracked()
    }

    /// The simulated time now, outside any view (an action being taken).
    pub fn now_untracked(&self) -> Timestamp {
        let (base, speed, at) = self.clock.get_untracked();
        Timestamp(base + ((local_ms() - at) * speed) as i64)
    }

    /// Shows `fleet` as it was, frozen (a share's replay, rules §18.6): no stream, the clock stopped at
    /// the fleet's time.
    pub fn show_frozen(self, fleet: Fleet) {
        self.clock.set((fleet.now.0, 0.0, local_ms()));
        self.fleet.set(Some(fleet));
    }

    /// The user logged out: the stream stops and the login page shows no "session ended" alert.
    pub fn logged_out(self) {
        self.source.update_value(|s| {
            if let Some(old) = s.take() {
                old.close();
            }
        });
        self.error.set(None);
        self.session.set(None);
        self.fleet.set(None);
    }

    pub fn session_id(&self) -> Option<u64> {
        self.session.with_untracked(|s| s.as_ref().map(|s| s.session))
    }

    /// Loads the fleet and subscribes to the event stream.
    pub fn start(self) {
        spawn_local(async move {
            self.reload().await;
        });
        let tick = self.tick;
        let interval = Closure::<dyn FnMut()>::new(move || tick.update(|t| *t += 1));
        if let Some(w) = web_sys::window() {
            let _ = w.set_interval_with_callback_and_timeout_and_arguments_0(
                interval.as_ref().unchecked_ref(),
                1000,
            );
        }
        interval.forget();
    }

    /// Fetches the whole fleet again and re-subscribes from its revision. The code that does it is a
    /// chunk of its own ([`crate::routes::console_sync`]): when it cannot be fetched, the server is
    /// away, and it is tried again with back-off.
    pub async fn reload(self) {
        match crate::routes::console_sync(self).await {
            Ok(sync) => sync.await,
            Err(_) => self.lost(),
        }
    }

    /// [`Console::reload`]'s work, in the chunk.
    pub(crate) async fn load_and_follow(self) {
        match api::fetch_fleet().await {
            Ok(r) => {
                crate::timing::fleet_received();
                self.clock.set((r.clock.now, r.clock.speed, local_ms()));
                self.fleet.set(Some(r.fleet));
                self.error.set(None);
                self.subscribe(r.revision);
            }
            Err(f) if f.is_unauthenticated() => self.session_ended(),
            // The server is down or restarting: say so, and try again with back-off.
            Err(f) if f.status == 0 || f.status >= 502 => self.lost(),
            Err(f) => self.error.set(Some(f.message)),
        }
    }

    /// The server cannot be reached: mark the state stale and load it again after a back-off (the
    /// stream then resumes from the fresh revision), never more than one attempt scheduled at once.
    fn lost(self) {
        self.live.set(false);
        self.source.update_value(|s| {
            if let Some(old) = s.take() {
                old.close();
            }
        });
        let (failures, scheduled) = self.retry.get_value();
        if scheduled {
            return;
        }
        self.retry.set_value((failures + 1, true));
        after_ms(backoff_ms(failures), move || {
            self.retry.update_value(|r| r.1 = false);
            if self.session.with_untracked(|s| s.is_some()) {
                spawn_local(async move { self.reload().await });
            }
        });
    }

    /// Another session of this browser became the current one (opened or switched to): its role may
    /// see another part of the fleet, so load it again.
    pub async fn switched(self, info: SessionInfo) {
        self.session.set(Some(info));
        self.sessions_changed.update(|n| *n += 1);
        self.reload().await;
    }

    /// The session is gone (timed out, logged out in another tab, its password changed, its fleet
    /// removed): back to the login page, saying so.
    fn session_ended(self) {
        let had = self.session.with_untracked(|s| s.is_some());
        // A login host powered off ends its sessions (rules §16.3): say so rather than guess.
        let host = self
            .session
            .with_untracked(|s| s.as_ref().map(|s| s.login_host.clone()));
        let powered_off = host.filter(|h| {
            self.fleet.with_untracked(|f| {
                f.as_ref()
                    .is_some_and(|f| !cluster::login::session_survives(f, h))
            })
        });
        self.source.update_value(|s| {
            if let Some(old) = s.take() {
                old.close();
            }
        });
        self.session.set(None);
        self.fleet.set(None);
        if let Some(host) = powered_off {
            self.error.set(Some(format!(
                "{host} was powered off (by shutdown or the simulator), which ended your session on it. Log in to another machine (its Simulator page powers {host} on again)."
            )));
        } else if had {
            self.error.set(Some(
                "Your session has ended (it timed out, was logged out, or its password or fleet changed). Log in again."
                    .into(),
            ));
            // A demo's sandbox discarded (time to live, cap, reset elsewhere): the server says which.
            spawn_local(async move {
                if let Err(f) = api::fetch_session().await {
                    if f.code == "sandbox_gone" {
                        self.error.set(Some(f.message));
                    }
                }
            });
        }
    }

    fn subscribe(self, since: u64) {
        self.source.update_value(|s| {
            if let Some(old) = s.take() {
                old.close();
            }
        });
        let Ok(source) = web_sys::EventSource::new(&format!("/api/v1/events?since={since}")) else {
            return;
        };
        let on_event = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let Some(text) = e.data().as_string() else { return };
            if let Ok(record) = serde_json::from_str::<EventRecord>(&text) {
                self.apply(&[record]);
            }
        });
        let on_resync = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| {
            spawn_local(async move { self.reload().await });
        });
        // This session's own changes (made in another tab, or by the fleet it follows).
        let on_session = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let Some(text) = e.data().as_string() else { return };
            if let Ok(info) = serde_json::from_str::<SessionInfo>(&text) {
                self.session.set(Some(info));
            }
        });
        let on_ended = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| self.session_ended());
        // The stream dropped (the server stopped or restarted) or was refused (an error status such as
        // 401): the state is stale until the fleet is loaded again, which also finds out why.
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| self.lost());
        let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            self.retry.set_value((0, false));
            self.live.set(true);
        });
        let _ = source.add_event_listener_with_callback("open", on_open.as_ref().unchecked_ref());
        on_open.forget();
        let _ = source.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
        on_error.forget();
        let _ = source.add_event_listener_with_callback("event", on_event.as_ref().unchecked_ref());
        let _ = source.add_event_listener_with_callback("resync", on_resync.as_ref().unchecked_ref());
        let _ = source.add_event_listener_with_callback("session", on_session.as_ref().unchecked_ref());
        let _ = source.add_event_listener_with_callback("ended", on_ended.as_ref().unchecked_ref());
        on_event.forget();
        on_resync.forget();
        on_session.forget();
        on_ended.forget();
        self.source.set_value(Some(source));
    }

    /// Applies events in order; a gap means the replica fell behind, so it resyncs.
    pub fn apply(self, records: &[EventRecord]) {
        let mut gap = false;
        self.fleet.update(|f| {
            let Some(fleet) = f.as_mut() else { return };
            for r in records {
                if r.revision <= fleet.revision {
                    continue;
                }
                if r.revision != fleet.revision + 1 {
                    gap = true;
                    return;
                }
                crate::timing::time_apply(|| cluster::apply(fleet, &r.event));
            }
        });
        if gap {
            spawn_local(async move { self.reload().await });
        }
    }

    /// What `cluster::check` says about `command` at the page's mode `at`, with some answers already given.
    pub fn preview_with(&self, command: &Command, at: Option<&Mode>, answers: &[String]) -> Option<Verdict> {
        let session = self.session.with(|s| s.as_ref().map(|s| s.session()))?;
        let now = self.now();
        self.fleet.with(|f| {
            f.as_ref()
                .map(|fleet| cluster::check(fleet, &session, command, at, answers, now))
        })
    }

    /// Asks the user; `None` is Cancel.
    async fn ask_user(self, prompt: Prompt) -> Option<String> {
        let (tx, rx) = oneshot::channel();
        self.ask.set(Some(Ask {
            prompt,
            answer: StoredValue::new_local(Some(tx)),
        }));
        let answer = rx.await.ok().flatten();
        self.ask.set(None);
        answer
    }

    /// Checks `command` here in the page's mode `at` (refusals show at once, questions are asked), then
    /// sends it with that mode, the answers and the revision checked against; the server's answer decides.
    pub async fn perform(self, command: Command, at: Option<Mode>) -> Outcome {
        self.perform_with(command, at, Vec::new()).await
    }

    /// As [`Console::perform`], with the first answers already given (a form that asked them itself).
    ///
    /// What it shows is the domain's console rendering (rules §15.31): a refusal's
    /// `Rejection::gui_message`, an accepted plan's `Plan::gui_lines` — the server's printed lines when
    /// they differ from the plan checked here — and a declined mode switch as [`Outcome::Cancelled`].
    pub async fn perform_with(self, command: Command, at: Option<Mode>, preset: Vec<String>) -> Outcome {
        let mut answers: Vec<String> = preset.clone();
        for _attempt in 0..4 {
            let checked: Plan;
            // 1. The browser's verdict, asking every question first.
            loop {
                let Some(session) = self.session.with_untracked(|s| s.as_ref().map(|s| s.session())) else {
                    return Outcome::Refused("Log in first.".into());
                };
                let now = self.now_untracked();
                let verdict = self.fleet.with_untracked(|f| {
                    f.as_ref()
                        .map(|fleet| cluster::check(fleet, &session, &command, at.as_ref(), &answers, now))
                });
                match verdict {
                    None => return Outcome::Refused("The fleet is still loading.".into()),
                    Some(Verdict::Rejected { rejection, .. }) => {
                        return Outcome::Refused(rejection.gui_message())
                    }
                    Some(Verdict::Prompt { prompt }) => match self.ask_user(prompt).await {
                        Some(a) => answers.push(a),
                        None => return Outcome::Cancelled,
                    },
                    Some(Verdict::Plan { plan }) if plan.declined => return Outcome::Cancelled,
                    Some(Verdict::Plan { plan }) if plan.events.is_empty() && plan.session.is_empty() => {
                        return Outcome::Done(plan.gui_lines())
                    }
                    Some(Verdict::Plan { plan }) => {
                        checked = plan;
                        break;
                    }
                }
            }
            // 2. The server's verdict.
            let revision = self.fleet.with_untracked(|f| f.as_ref().map(|f| f.revision));
            let request = CommandRequest {
                command: command.clone(),
                mode: at.clone(),
                revision,
                answers: answers.clone(),
            };
            match api::command(&request).await {
                Ok(CommandResponse::Ok {
                    events,
                    output,
                    warnings,
                    session,
                    ..
                }) => {
                    self.apply(&events);
                    self.session.set(Some(session));
                    // The server decided as checked here: its lines are the plan's, so the console's
                    // words for them hold; otherwise show what it printed.
                    let printed: Vec<String> = warnings.into_iter().chain(output).collect();
                    return Outcome::Done(if printed.iter().eq(checked.lines()) {
                        checked.gui_lines()
                    } else {
                        printed
                    });
                }
                Ok(CommandResponse::Prompt { prompt, .. }) => match self.ask_user(prompt).await {
                    Some(a) => answers.push(a),
                    None => return Outcome::Cancelled,
                },
                Err(f) if f.status == 409 => {
                    // Stale: fetch the fleet and check again against it.
                    answers = preset.clone();
                    self.reload().await;
                }
                Err(f) if f.is_unauthenticated() => {
                    self.session.set(None);
                    return Outcome::Refused(f.message);
                }
                Err(f) => return Outcome::Refused(f.message),
            }
        }
        Outcome::Refused("The fleet kept changing; try again.".into())
    }

    /// Runs `command` at the page's mode `at` in the background and stores its outcome in `result`.
    pub fn act(self, command: Command, at: Option<Mode>, result: RwSignal<Option<Outcome>>) {
        self.act_with(command, at, Vec::new(), result);
    }

    /// As [`Console::act`], with the first answers already given.
    pub fn act_with(
        self,
        command: Command,
        at: Option<Mode>,
        preset: Vec<String>,
        result: RwSignal<Option<Outcome>>,
    ) {
        spawn_local(async move {
            result.set(None);
            let outcome = self.perform_with(command, at, preset).await;
            self.toast(&outcome);
            result.set(Some(outcome));
        });
    }

    /// Shows an action's outcome as a toast for a few seconds (the page shows it too, where it was
    /// taken); at most [`TOASTS_KEPT`] at once, the oldest leaving first.
    fn toast(self, outcome: &Outcome) {
        let (text, bad) = match outcome {
            Outcome::Done(lines) => (lines.first().cloned().unwrap_or_else(|| "Done.".into()), false),
            Outcome::Refused(m) => (m.clone(), true),
            Outcome::Cancelled => return,
        };
        let id = self.toast_seq.get_value() + 1;
        self.toast_seq.set_value(id);
        self.toasts.update(|t| {
            t.push((id, text, bad));
            let excess = t.len().saturating_sub(TOASTS_KEPT);
            t.drain(..excess);
        });
        let toasts = self.toasts;
        after_ms(6000, move || {
            toasts.try_update(|t| t.retain(|(i, _, _)| *i != id));
        });
    }
}

/// The most toasts shown at once.
pub const TOASTS_KEPT: usize = 3;

impl Default for Console {
    fn default() -> Self {
        Console::new()
    }
}

pub fn use_console() -> Console {
    expect_context::<Console>()
}
