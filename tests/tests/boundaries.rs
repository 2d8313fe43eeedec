//! Every rule lives once, in the `cluster` crate: the console (`app/`) and the server (`server/`) call the
//! domain and never compute a rule themselves. This test fails when their code matches an idiom by which
//! a rule the domain owns would be re-derived — each pattern names the domain function to call instead.

use std::path::{Path, PathBuf};

/// (pattern, what to use instead).
const FORBIDDEN: &[(&str, &str)] = &[
    (
        "upgrades_offered",
        "cluster::cmd::offered_versions (the versions upgrade offers)",
    ),
    (
        "Role::",
        "Role::may with a Permission (the permission table, rules §14.4)",
    ),
    (
        ".membership",
        "Fleet::group_of / cluster_of, and cluster::view for decisions",
    ),
    (
        "chars().count()",
        "cluster::names (length policies, e.g. password_policy)",
    ),
    (
        ".detached",
        "cluster::view::connection_action and Fleet::connection",
    ),
    (
        "Connection::Connected",
        "cluster::view (connection-dependent decisions)",
    ),
    (
        "Connection::Detached",
        "cluster::view (connection-dependent decisions)",
    ),
    (
        "Connection::LinkDown",
        "cluster::view (connection-dependent decisions)",
    ),
    (
        "Connection::Upgrading",
        "cluster::view (connection-dependent decisions)",
    ),
    ("is_connected()", "cluster::view (connection-dependent decisions)"),
    (
        "Level::",
        "cluster::view (what a level allows: page states, banners, settings actions)",
    ),
    (
        ".config.",
        "cluster::view / cluster::store (replicas are read through the one resolution)",
    ),
    (
        ".cell(",
        "typed rows (cluster::features) or FeatureSchema::display",
    ),
    (
        "Mode::Cluster",
        "Mode::parse_path for URLs, cluster::view for cluster-level decisions",
    ),
    ("ROLE_WORDS.contains", "Role::from_word"),
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The lines of `text` that are code (not comments), outside `#[cfg(test)]` modules.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    code.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l))
}

#[test]
fn no_rule_is_computed_outside_the_domain() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["app/src", "server/src"] {
        sources(&root.join(dir), &mut files);
    }
    assert!(files.len() > 10, "found the app and server sources");
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable source");
        for (n, line) in code_lines(&text) {
            for (pattern, instead) in FORBIDDEN {
                if line.contains(pattern) {
                    found.push(format!(
                        "{}:{n}: `{pattern}` — use {instead}\n    {}",
                        file.strip_prefix(&root).unwrap_or(file).display(),
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "rules computed outside the domain:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_guard_sees_a_rule_when_there_is_one() {
    let text = "fn f(r: Role) -> bool { r == Role::Administrator }\n// Role:: in a comment is fine\n";
    let hits: Vec<_> = code_lines(text).filter(|(_, l)| l.contains("Role::")).collect();
    assert_eq!(hits.len(), 1);
}
