//! A settings URL names something that exists (rules §15.34): `view::missing_mode` says which group or
//! machine was not found, and nothing for the modes the mode drop-down offers.

use cluster::fixture::americas;
use cluster::view::{missing_mode, mode_options};
use cluster::{GroupName, Hostname, Mode};

fn host(h: &str) -> Hostname {
    Hostname::parse(h).unwrap()
}

#[test]
fn every_offered_mode_exists_and_others_are_named() {
    let fleet = americas();
    for login in ["newyork.example.com", "boston.example.com"] {
        let login = host(login);
        for (mode, _) in mode_options(&fleet, &login) {
            assert_eq!(missing_mode(&fleet, &login, &mode), None, "{mode} on {login}");
        }
    }
    let ny = host("newyork.example.com");
    let missing = |login: &Hostname, mode: Mode| missing_mode(&fleet, login, &mode).unwrap_or_default();
    let nosuch = Mode::Group(GroupName::parse("NoSuch").unwrap());
    assert_eq!(
        missing(&ny, nosuch.clone()),
        "Cluster Americas has no group NoSuch."
    );
    assert_eq!(
        missing(&ny, Mode::Machine(host("nowhere.example.com"))),
        "There is no machine nowhere.example.com."
    );
    assert_eq!(
        missing(&ny, Mode::Machine(host("boston.example.com"))),
        "boston.example.com is not a member of cluster Americas."
    );
    // A standalone machine shows only its own settings.
    let boston = host("boston.example.com");
    assert!(missing(&boston, nosuch).contains("standalone"));
    assert!(missing(&boston, Mode::Machine(ny.clone())).contains("newyork.example.com"));
}
