//! What the test API reads of a script before and after running it (issue 15): the commands its audit
//! entries record, and the simulated time its waits take.

use cluster::script::{command_lines, total_wait_secs};

const SCRIPT: &str = "# a comment\n@as admin@newyork.example.com\nclusterconfig list\n= connected\n~ ^Machine\n! clusterconfig frobnicate\n- Error\n@wait 300\n> Y\n@wait 60\n";

#[test]
fn the_audit_records_what_acts_up_to_the_failing_line() {
    assert_eq!(
        command_lines(SCRIPT, None),
        [
            "@as admin@newyork.example.com",
            "clusterconfig list",
            "! clusterconfig frobnicate",
            "@wait 300",
            "> Y",
            "@wait 60"
        ]
    );
    assert_eq!(
        command_lines(SCRIPT, Some(4)),
        ["@as admin@newyork.example.com", "clusterconfig list"],
        "lines after the failing one never ran"
    );
}

#[test]
fn waits_add_up_and_a_bad_one_counts_nothing() {
    assert_eq!(total_wait_secs(SCRIPT), 360);
    assert_eq!(total_wait_secs("@wait soon\n@wait -5\n@wait 10"), 10);
}
