//! Terminal: the CLI of rules §10 through `POST /api/v1/cli`, with the same prompts, the mode in the
//! prompt, history (up/down), tab completion from the `cluster` crate, and `help`.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::state::use_console;

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
        log.update(|l| l.push(shown));
        if !line.trim().is_empty() && !asking.get_untracked() {
            history.update(|h| h.push(line.clone()));
        }
        busy.set(true);
        spawn_local(async move {
            match crate::api::cli(&line).await {
                Ok(r) => {
                    log.update(|l| l.extend(r.output.iter().cloned()));
                    asking.set(r.status == cluster::wire::CliStatus::Prompt);
                    prompt.set(r.prompt.clone());
                }
                Err(f) => log.update(|l| l.push(format!("Error: {}", f.message))),
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
                log.update(|l| {
                    l.push(
                        many.iter()
                            .map(|c| c.rsplit(' ').next().unwrap_or(c).to_string())
                            .collect::<Vec<_>>()
                            .join("  "),
                    )
                });
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
    view! {
        <h1>"Terminal"</h1>
        <div class="terminal">
            <pre class="terminal-log" role="log" aria-label="Terminal output" aria-live="polite">{move || log.get().join("\n")}</pre>
            <div class="terminal-line">
                <label for="terminal-input" class="terminal-prompt">{move || if asking.get() { "answer>".to_string() } else { prompt.get() }}</label>
                <input id="terminal-input" type="text" aria-label="Command" autocomplete="off" spellcheck="false"
                    prop:value=move || input.get() on:input=move |ev| input.set(event_target_value(&ev)) on:keydown=keydown />
            </div>
            <p class="hint">"Enter runs the line; Tab completes; Up and Down walk the history; try help."</p>
        </div>
    }
}
