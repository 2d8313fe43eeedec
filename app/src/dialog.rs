//! The question dialog (rules §10.2, §15.31): every question a command asks in the console is asked
//! here, in the words the domain gives for the console — a title, the facts, and one button per answer
//! saying what it does (destructive ones styled `danger`). It is modal and keyboard-usable: focus moves
//! to the default button (or the safest, when the default would destroy something), Tab and Shift-Tab
//! stay inside, Esc is Cancel (nothing is sent), and focus returns to where it was when it closes.

use cluster::verdict::{Effect as Does, GuiAnswer, Prompt};
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::state::use_console;

fn focused() -> Option<web_sys::HtmlElement> {
    document().active_element()?.dyn_into().ok()
}

/// The buttons of `p`: its console rendering, or — from a server that sends none — its bare choices.
fn buttons(p: &Prompt) -> Vec<GuiAnswer> {
    if !p.gui.answers.is_empty() {
        return p.gui.answers.clone();
    }
    let yes_no = p.choices == ["Y", "N"];
    p.choices
        .iter()
        .map(|c| GuiAnswer {
            answer: c.clone(),
            label: match (yes_no, c.as_str()) {
                (true, "Y") => "Yes".into(),
                (true, _) => "No".into(),
                _ => format!("Answer {c}"),
            },
            effect: Does::Acts,
        })
        .collect()
}

/// Keeps Tab and Shift-Tab among the dialog's buttons, `items` in page order.
fn trap_tab(ev: &web_sys::KeyboardEvent, items: &[NodeRef<html::Button>]) {
    let (Some(first), Some(last)) = (
        items.first().and_then(|r| r.get_untracked()),
        items.last().and_then(|r| r.get_untracked()),
    ) else {
        return;
    };
    let current: Option<wasm_bindgen::JsValue> = focused().map(Into::into);
    let is = |b: &web_sys::HtmlButtonElement| current.as_ref() == Some(b.as_ref());
    let inside = items.iter().any(|r| r.get_untracked().is_some_and(|b| is(&b)));
    let target = match ev.shift_key() {
        true if inside && !is(&first) => return,
        false if inside && !is(&last) => return,
        true => last,
        false => first,
    };
    ev.prevent_default();
    let _ = target.focus();
}

#[component]
pub fn PromptDialog() -> impl IntoView {
    let console = use_console();
    // Where focus was when the question opened; given back when it closes.
    let before = StoredValue::new_local(None::<web_sys::HtmlElement>);
    let answer = move |a: Option<String>| {
        console.ask.with_untracked(|ask| {
            if let Some(ask) = ask {
                ask.answer.update_value(|tx| {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(a);
                    }
                });
            }
        });
    };
    move || match console.ask.with(|ask| ask.as_ref().map(|a| a.prompt.clone())) {
        None => {
            if let Some(el) = before.try_update_value(Option::take).flatten() {
                let _ = el.focus();
            }
            None
        }
        Some(p) => {
            if before.with_value(Option::is_none) {
                before.set_value(focused());
            }
            Some(dialog(p, answer))
        }
    }
}

fn dialog(p: Prompt, answer: impl Fn(Option<String>) + Copy + 'static) -> impl IntoView {
    let (title, body) = if p.gui.title.is_empty() {
        (
            "Question".to_string(),
            p.question.lines().map(str::to_string).collect(),
        )
    } else {
        (p.gui.title.clone(), p.gui.body.clone())
    };
    let answers = buttons(&p);
    let cancel = p.gui.answers.is_empty() || p.gui.needs_cancel();
    // The button focused first: the default, unless it destroys something; then the one that changes
    // nothing, or Cancel.
    let first = answers
        .iter()
        .find(|a| a.answer == p.default && a.effect != Does::Destroys)
        .or_else(|| answers.iter().find(|a| a.effect == Does::ChangesNothing))
        .map(|a| a.answer.clone());
    // One reference per button, Cancel last: for the first focus and for keeping Tab inside.
    let refs: Vec<NodeRef<html::Button>> = (0..answers.len() + usize::from(cancel))
        .map(|_| NodeRef::new())
        .collect();
    let start = first
        .as_ref()
        .and_then(|f| answers.iter().position(|a| &a.answer == f))
        .unwrap_or(refs.len().saturating_sub(1));
    let start_ref = refs.get(start).copied();
    Effect::new(move |_| {
        if let Some(b) = start_ref.and_then(|r| r.get()) {
            let _ = b.focus();
        }
    });
    let trap = refs.clone();
    let on_key = move |ev: web_sys::KeyboardEvent| match ev.key().as_str() {
        "Escape" => {
            ev.prevent_default();
            answer(None);
        }
        "Tab" => trap_tab(&ev, &trap),
        _ => {}
    };
    let default = p.default.clone();
    let cancel_ref = refs.last().copied().filter(|_| cancel);
    view! {
        <div class="dialog-backdrop">
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="dialog-title"
                aria-describedby="dialog-body" on:keydown=on_key>
                <h2 id="dialog-title">{title}</h2>
                <div id="dialog-body">{body.into_iter().map(|l| view! { <p>{l}</p> }).collect_view()}</div>
                <div class="choices">
                    {answers.into_iter().zip(refs).map(|(a, r)| {
                        let class = match a.effect {
                            Does::Destroys => "danger",
                            _ if a.answer == default => "primary",
                            _ => "",
                        };
                        let sent = a.answer.clone();
                        view! {
                            <button class=class node_ref=r on:click=move |_| answer(Some(sent.clone()))>{a.label}</button>
                        }
                    }).collect_view()}
                    {cancel_ref.map(|r| view! {
                        <button node_ref=r on:click=move |_| answer(None)>"Cancel"</button>
                    })}
                </div>
            </div>
        </div>
    }
}
