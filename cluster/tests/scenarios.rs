//! Every scenario of rules §13 as a script under `scenarios/`, run by the script runner.

use std::path::PathBuf;

fn scenario_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn scripts() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenario_dir())
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "script"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_scenario_script_passes() {
    let files = scripts();
    assert!(
        files.len() >= 40,
        "expected the section 13 scenarios, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable script");
        let outcome = cluster::script::run(&text, None);
        if let Some(f) = outcome.failure {
            failures.push(format!(
                "{}: {f}\n--- transcript ---\n{}",
                path.display(),
                outcome.transcript
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} scenario(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The runner itself must fail a script whose expectation does not hold: a check that cannot fail proves nothing.
#[test]
fn a_wrong_expectation_fails_with_its_line() {
    let outcome = cluster::script::run(
        "@as admin@newyork.example.com\nclusterconfig list\n= Group Nowhere:\n",
        None,
    );
    let f = outcome.failure.expect("must fail");
    assert_eq!(f.line, 3);
    assert!(f.why.contains("no line contains \"Group Nowhere:\""), "{}", f.why);
    let outcome = cluster::script::run(
        "@as admin@newyork.example.com\nclusterconfig addgroup West\n",
        None,
    );
    assert_eq!(outcome.failure.expect("a refused plain line fails").line, 2);
    let outcome = cluster::script::run("@as admin@newyork.example.com\n! clusterconfig list\n", None);
    assert!(outcome
        .failure
        .expect("an accepted ! line fails")
        .why
        .contains("expected to be refused"));
    let outcome = cluster::script::run(
        "@as admin@newyork.example.com\nupgrade 9.5.0\nclusterconfig list\n",
        None,
    );
    assert!(outcome
        .failure
        .expect("an unanswered question fails")
        .why
        .contains("not answered"));
}
