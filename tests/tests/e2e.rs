//! End-to-end tests in headless Chromium against the real server. Run by `cargo xtask test`, which builds
//! the site and the server first (`--ignored` here because they need both).

use tests::{by_role, xpath_literal, Harness};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn overview_shows_members_under_their_groups() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.login("admin", "ironport", "newyork.example.com").await?;
    let cluster = by_role("region", "Cluster Americas");
    let expected = [
        ("Main_Group", "newyork.example.com"),
        ("Main_Group", "losangeles.example.com"),
        ("West", "sf.example.com"),
    ];
    for (group, host) in expected {
        let item = h
            .wait_for_xpath(&format!(
                "{cluster}{}//li[@aria-label={}]",
                by_role("group", &format!("Group {group}")),
                xpath_literal(&format!("Machine {host}"))
            ))
            .await?;
        let text = item.text().await?;
        assert!(text.contains(host), "{host}: {text}");
        assert!(text.contains("AsyncOS 9.1.2"), "{host} shows its version: {text}");
        assert!(
            text.contains("connected"),
            "{host} shows its connection state: {text}"
        );
    }
    // sf is not listed under Main_Group, and the standalone machines are not in the cluster.
    let misplaced = h
        .browser
        .find_all(fantoccini::Locator::XPath(&format!(
            "{}//li[@aria-label='Machine sf.example.com']",
            by_role("group", "Group Main_Group")
        )))
        .await?;
    assert!(misplaced.is_empty(), "sf.example.com must appear only under West");
    let standalone = h
        .wait_for_xpath(&by_role("region", "Standalone machines"))
        .await?
        .text()
        .await?;
    assert!(standalone.contains("boston.example.com") && standalone.contains("toronto.example.com"));
    assert!(
        standalone.contains("AsyncOS 9.5.0"),
        "toronto runs 9.5.0: {standalone}"
    );
    h.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn a_wrong_password_is_refused_on_the_login_page() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.open("/").await?;
    h.fill("User", "admin").await?;
    h.fill("Password", "not-the-password").await?;
    h.button("Log in").await?.click().await?;
    let alert = h.wait_for_xpath("//*[@role='alert']").await?.text().await?;
    assert!(alert.contains("wrong user name or password"), "{alert}");
    h.finish().await
}
