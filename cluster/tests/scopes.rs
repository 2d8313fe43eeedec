//! The browser's replica for roles that read status only (rules §14.7.2): the user database is withheld,
//! yet commands are checked with the role the server gave the session, exactly as the server checks them.

use cluster::features::FeatureId;
use cluster::roles::Role;
use cluster::view::Page;
use cluster::wire::{scope_fleet, SessionInfo};
use cluster::{cli, fixture, Hostname, UserName, Verdict};

fn verdict_in_browser(user: &str, role: Role, line: &str) -> (Verdict, Verdict) {
    let fleet = fixture::by_name("americas").unwrap();
    let host = Hostname::parse("newyork.example.com").unwrap();
    let server_session =
        cluster::login::open_session(&fleet, 1, UserName::parse(user).unwrap(), host.clone());
    let info = SessionInfo {
        fleet: "default".into(),
        session: 1,
        user: server_session.user.clone(),
        role,
        login_host: host,
        mode: server_session.mode.clone(),
        prompt: String::new(),
        pending: Vec::new(),
    };
    let replica = scope_fleet(&fleet, role);
    let command = cli::parse(line).unwrap();
    let now = fleet.now;
    let browser = cluster::check(&replica, &info.session(), &command, None, &["Y".into()], now);
    let server = cluster::check(&fleet, &server_session, &command, None, &["Y".into()], now);
    (browser, server)
}

fn kind(v: &Verdict) -> String {
    match v {
        Verdict::Plan { .. } => "plan".into(),
        Verdict::Prompt { prompt } => format!("prompt: {}", prompt.question),
        Verdict::Rejected { message, .. } => format!("rejected: {message}"),
    }
}

#[test]
fn a_status_only_role_gets_the_servers_verdict_in_the_browser() {
    for (user, role, line) in [
        ("helpdesk", Role::HelpDesk, "suspendlistener"),
        ("helpdesk", Role::HelpDesk, "smtproutes print"),
        ("guest1", Role::Guest, "status"),
        ("guest1", Role::Guest, "clusterconfig disconnect sf.example.com"),
        ("guest1", Role::Guest, "userconfig list"),
    ] {
        let (browser, server) = verdict_in_browser(user, role, line);
        assert_eq!(kind(&browser), kind(&server), "{user} {line}");
        assert!(
            !kind(&browser).contains("no longer exists"),
            "{user} {line}: {}",
            kind(&browser)
        );
    }
}

#[test]
fn withheld_values_say_so_and_pages_name_who_reads_them() {
    let fleet = fixture::by_name("americas").unwrap();
    let replica = scope_fleet(&fleet, Role::Guest);
    let host = Hostname::parse("newyork.example.com").unwrap();
    let routes = replica.effective(&host, FeatureId::SmtpRoutes);
    assert!(routes.hidden && routes.rows.is_empty());
    assert!(routes.empty_label().contains("withheld"));
    assert!(
        !replica.effective(&host, FeatureId::Listeners).hidden,
        "listeners are status"
    );
    let users = replica.machine(&host).unwrap();
    assert_eq!(users.user_key.as_str(), "withheld");
    for page in Page::ALL {
        let guest = page.refusal(Role::Guest);
        match page {
            Page::Settings | Page::Pending | Page::Users | Page::Audit | Page::Simulator => {
                assert!(
                    guest.as_deref().is_some_and(|r| r.contains("guest")),
                    "{page:?}: {guest:?}"
                )
            }
            _ => assert_eq!(guest, None, "{page:?}"),
        }
        assert_eq!(page.refusal(Role::Administrator), None);
    }
    assert!(Page::Audit.refusal(Role::Operator).is_some());
    // The simulator's controls are for administrators (rules §16.2.1).
    assert!(Page::Simulator.refusal(Role::Operator).is_some());
    assert!(Page::Settings.refusal(Role::ReadOnly).is_none());
}
