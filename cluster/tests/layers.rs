//! The crate's modules form layers (the module map in `lib.rs`): a module uses only modules of lower
//! layers, so there is no import cycle. This test reads the sources and fails on any use upwards or
//! sideways, and on a module that has no layer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each top-level module and its layer, as `lib.rs` documents them.
const LAYERS: &[(&str, u8)] = &[
    ("names", 1),
    ("mode", 2),
    ("roles", 2),
    ("features", 3),
    ("lexer", 4),
    ("structure", 4),
    ("store", 5),
    ("session", 6),
    ("fleet", 7),
    ("config_file", 8),
    ("mail", 8),
    ("fixture", 9),
    ("event", 9),
    ("verdict", 10),
    ("apply", 10),
    ("cmd", 11),
    ("sim", 11),
    ("login", 12),
    ("view", 12),
    ("topology", 12),
    ("cli", 12),
    ("wire", 12),
    ("openapi", 12),
    ("review", 12),
    ("share", 12),
    ("script", 13),
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a source file belongs to (`None` for `lib.rs`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    if first == "lib.rs" {
        return None;
    }
    Some(first.trim_end_matches(".rs").to_string())
}

/// The top-level modules `text` refers to through `crate::<module>`, outside comments and tests.
fn uses(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let mut out = Vec::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                out.push(name);
            }
        }
    }
    out
}

#[test]
fn modules_use_only_lower_layers() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let layer: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    sources(&src, &mut files);
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    for line in lib.lines() {
        if let Some(m) = line.strip_prefix("pub mod ").and_then(|l| l.strip_suffix(';')) {
            assert!(
                layer.contains_key(m),
                "module {m} has no layer in LAYERS (and lib.rs's map)"
            );
        }
    }
    let mut violations = Vec::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        let own = *layer.get(module.as_str()).unwrap_or_else(|| {
            panic!(
                "{} belongs to module {module}, which has no layer",
                file.display()
            )
        });
        let text = std::fs::read_to_string(file).expect("readable source");
        for used in uses(&text) {
            if used == module {
                continue;
            }
            let Some(&theirs) = layer.get(used.as_str()) else {
                continue; // a re-export at the crate root, e.g. crate::apply() is the module's fn
            };
            if theirs >= own {
                violations.push(format!(
                    "{} (layer {own}) uses crate::{used} (layer {theirs})",
                    file.strip_prefix(&src).unwrap_or(file).display()
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "uses upwards or sideways:\n{}",
        violations.join("\n")
    );
}
