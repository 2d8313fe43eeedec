//! Terminal: the CLI of rules §10 through `POST /api/v1/cli`, with the same prompts, the mode in the
//! prompt, history (up/down), tab completion from the `cluster` crate (only what the command accepts,
//! rules §15.34), and `help`. The output follows new lines; a question stays open after a wrong answer
//! (the server asks it again, rules §15.34), so the next line still answers it.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::state::use_console;

/// Lines of output the terminal keeps (the oldest go first).
const SCROLLBACK: usize = 2000;
/// Lines of history Up and Down walk.
const HISTORY: usize = 200;

/// Appends `lines` to `log`, keeping the newest [`SCROLLBACK`].
fn push_lines(log: &mut Vec<String>, lines: impl IntoIterator<Item = String>) {
    log.extend(lines);
    let extra = log.len().saturating_sub(SCROLLBACK);
    log.drain(..extra);
}

#[component]
pub fn Terminal() -> impl IntoView {
    let console = use_console();
    let log = RwSignal::new(Vec::<String>::new());
    let input = RwSignal::new(String::new());
    let history = RwSignal::new(Vec::<String>::new());
    let cursor = RwSignal::new(None::<usize>);
    let asking = RwSignal::new(false);
    let prompt = RwSignal::new(
        console
            .session
            .with_untracked(|s| s.as_ref().map(|s| s.prompt.clone()).unwrap_or_default()),
    );
    let busy = RwSignal::new(false);
    let send = move || {
        let line = input.get_untracked();
        if busy.get_untracked() {
            return;
        }
        input.set(String::new());
        cursor.set(None);
        let shown = if asking.get_untracked() {
            format!("> {line}")
        } else {
            format!("{} {line}", prompt.get_untracked())
        };
        log.update(|l| push_lines(l, [shown]));
        if !line.trim().is_empty() && !asking.get_untracked() {
            history.update(|h| {
                h.push(line.clone());
                let extra = h.len().saturating_sub(HISTORY);
                h.drain(..extra);
            });
        }
        busy.set(true);
        spawn_local(async move {
            match crate::api::cli(&line).await {
                Ok(r) => {
                    log.update(|l| push_lines(l, r.output.iter().cloned()));
                    asking.set(r.status == cluster::wire::CliStatus::Prompt);
                    prompt.set(r.prompt.clone());
                }
                Err(f) => log.update(|l| push_lines(l, [format!("Error: {}", f.message)])),
            }
            busy.set(false);
        });
    };
    let complete = move || {
        let line = input.get_untracked();
        let login = console
            .session
            .with_untracked(|s| s.as_ref().map(|s| s.login_host.clone()));
        let candidates = console.fleet.with_untracked(|f| match (f.as_ref(), login) {
            (Some(f), Some(login)) => cluster::cli::complete(f, &login, &line),
            _ => Vec::new(),
        });
        match candidates.as_slice() {
            [] => {}
            [one] => input.set(format!("{one} ")),
            many => {
                let common = many.iter().skip(1).fold(many[0].clone(), |acc, c| {
                    acc.chars()
                        .zip(c.chars())
                        .take_while(|(a, b)| a == b)
                        .map(|(a, _)| a)
                        .collect()
                });
                let offered = many
                    .iter()
                    .map(|c| c.rsplit(' ').next().unwrap_or(c).to_string())
                    .collect::<Vec<_>>()
                    .join("  ");
                log.update(|l| push_lines(l, [offered]));
                if common.len() > line.len() {
                    input.set(common);
                }
            }
        }
    };
    let keydown = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Enter" => {
            ev.prevent_default();
            send();
        }
        "Tab" => {
            ev.prevent_default();
            complete();
        }
        "ArrowUp" | "ArrowDown" => {
            ev.prevent_default();
            let h = history.get_untracked();
            if h.is_empty() {
                return;
            }
            let next = match (ev.key().as_str(), cursor.get_untracked()) {
                ("ArrowUp", None) => Some(h.len() - 1),
                ("ArrowUp", Some(i)) => Some(i.saturating_sub(1)),
                ("ArrowDown", Some(i)) if i + 1 < h.len() => Some(i + 1),
                _ => None,
            };
            cursor.set(next);
            input.set(next.map(|i| h[i].clone()).unwrap_or_default());
        }
        _ => {}
    };
    // Follow the output: after each change of the log, show its end.
    let output = NodeRef::<html::Pre>::new();
    Effect::new(move |_| {
        log.track();
        if let Some(pre) = output.get() {
            pre.set_scroll_top(pre.scroll_height());
        }
    });
    view! {
        <h1>"Terminal"</h1>
        <div class="terminal">
            <pre class="terminal-log" role="log" aria-label="Terminal output" aria-live="polite" node_ref=output>{move || log.get().join("\n")}</pre>
            <div class="terminal-line">
                <label for="terminal-input" class="terminal-prompt">{move || if asking.get() { "answer>".to_string() } else { prompt.get() }}</label>
                <input id="terminal-input" type="text" aria-label="Command" autocomplete="off" spellcheck="false"
                    maxlength=cluster::cli::MAX_LINE.to_string()
                    prop:value=move || input.get() on:input=move |ev| input.set(event_target_value(&ev)) on:keydown=keydown />
            </div>
            <p class="hint">"Enter runs the line; Tab completes; Up and Down walk the history; try help."</p>
        </div>
    }
}
