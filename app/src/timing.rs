//! Timing marks for the benchmarks (issue 6, P6): when the fleet arrived and how long each `apply` took,
//! on the page's `performance` clock, kept on `window.__cd` for a test driver to read.

use wasm_bindgen::{JsCast, JsValue};

fn now() -> Option<f64> {
    web_sys::window()?.performance().map(|p| p.now())
}

fn record(key: &str, value: f64, append: bool) {
    let Some(window) = web_sys::window() else { return };
    let holder = match js_sys::Reflect::get(&window, &JsValue::from_str("__cd")) {
        Ok(v) if v.is_object() => v,
        _ => {
            let o = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&window, &JsValue::from_str("__cd"), &o);
            o.into()
        }
    };
    if append {
        let list = match js_sys::Reflect::get(&holder, &JsValue::from_str(key)) {
            // A cast, not `Array::from` (which is JavaScript's `Array.from`: a copy).
            Ok(v) if js_sys::Array::is_array(&v) => v.unchecked_into::<js_sys::Array>(),
            _ => {
                let a = js_sys::Array::new();
                let _ = js_sys::Reflect::set(&holder, &JsValue::from_str(key), &a);
                a
            }
        };
        list.push(&JsValue::from_f64(value));
    } else {
        let _ = js_sys::Reflect::set(&holder, &JsValue::from_str(key), &JsValue::from_f64(value));
    }
}

/// Marks the moment the whole fleet arrived (before it is rendered).
pub fn fleet_received() {
    if let Some(t) = now() {
        record("fleetAt", t, false);
    }
}

/// Runs `f` and records how long it took, in milliseconds, under `applyMs`.
pub fn time_apply<T>(f: impl FnOnce() -> T) -> T {
    let start = now();
    let out = f();
    if let (Some(a), Some(b)) = (start, now()) {
        record("applyMs", b - a, true);
    }
    out
}
