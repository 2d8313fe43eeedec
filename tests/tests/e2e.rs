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
    h.click("Log in").await?;
    let alert = h.wait_for_xpath("//*[@role='alert']").await?.text().await?;
    assert!(alert.contains("wrong user name or password"), "{alert}");
    h.finish().await
}

fn member_row(host: &str) -> String {
    format!("//tr[@aria-label={}]", xpath_literal(&format!("Member {host}")))
}

fn listeners_of(host: &str) -> String {
    by_role("group", &format!("Listeners of {host}"))
}

const STATUS: &str = "//*[@role='status']";

/// Upgrades the login host through the Upgrade page: disconnect first (Cluster page), suspend its
/// listeners, upgrade accepting the warning, wait for the reboot, resume.
async fn rolling_upgrade_of_login_host(h: &Harness, host: &str) -> anyhow::Result<()> {
    h.open("/cluster-ops").await?;
    h.click_in(&member_row(host), "Disconnect").await?;
    h.wait_text(STATUS, "is now disconnected").await?;
    h.open("/upgrade").await?;
    h.click_in(&listeners_of(host), "Suspend listeners").await?;
    h.wait_text(&listeners_of(host), "InboundMail: suspended").await?;
    h.click("Upgrade").await?;
    // The dialog speaks the console's words: the machine was disconnected first, so it upgrades alone.
    let question = h.answer(&format!("Upgrade {host}")).await?;
    assert!(
        question.contains(&format!(
            "{host} is not connected to cluster Americas: it upgrades alone"
        )),
        "{question}"
    );
    assert!(
        !question.contains("[N]>"),
        "no CLI notation in the dialog: {question}"
    );
    h.wait_text(STATUS, &format!("Upgrading {host} to AsyncOS 9.5.0"))
        .await?;
    // The reboot comes through the event stream: no reload.
    h.wait_text("//p", &format!("{host} runs AsyncOS 9.5.0")).await?;
    h.wait_text(&listeners_of(host), "InboundMail: suspended").await?;
    h.click_in(&listeners_of(host), "Resume").await?;
    h.wait_text(&listeners_of(host), "InboundMail: accepting").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn rolling_upgrade_entirely_through_the_gui() -> anyhow::Result<()> {
    // 420 simulated seconds of install and reboot take about 3 s.
    let h = Harness::start_with_speed(140.0).await?;
    h.login("admin", "ironport", "losangeles.example.com").await?;
    rolling_upgrade_of_login_host(&h, "losangeles.example.com").await?;
    // Reconnect is refused while newyork and sf run 9.1.2: shown before anything is sent.
    h.open("/cluster-ops").await?;
    let refusal = h
        .wait_text(
            &format!("{}//*[@role='note']", member_row("losangeles.example.com")),
            "Cannot reconnect",
        )
        .await?;
    assert!(
        refusal.contains("it runs AsyncOS 9.5.0 but the cluster runs 9.1.2"),
        "{refusal}"
    );
    for host in ["newyork.example.com", "sf.example.com"] {
        h.logout().await?;
        h.login("admin", "ironport", host).await?;
        rolling_upgrade_of_login_host(&h, host).await?;
    }
    // Logged into sf: reconnect itself first (no member is connected), then the others. The Cluster page
    // names the cluster mode, so nothing asks to switch modes (suspending listeners in a machine's box did
    // not change the session's mode either).
    h.open("/cluster-ops").await?;
    h.click_in(&member_row("sf.example.com"), "Reconnect").await?;
    h.wait_text(STATUS, "now runs AsyncOS 9.5.0").await?;
    for host in ["losangeles.example.com", "newyork.example.com"] {
        h.click_in(&member_row(host), "Reconnect").await?;
        h.wait_text(STATUS, &format!("{host} is reconnected")).await?;
    }
    h.open("/").await?;
    for host in ["losangeles.example.com", "newyork.example.com", "sf.example.com"] {
        let row = h
            .wait_text(&format!("//li[@aria-label='Machine {host}']"), "AsyncOS 9.5.0")
            .await?;
        assert!(
            row.contains("connected") && !row.contains("disconnected"),
            "{row}"
        );
    }
    h.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn override_smtp_routes_at_west_from_a_copy() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.login("admin", "ironport", "newyork.example.com").await?;
    // The fixture's West has routes of its own: delete them (Manage settings) and commit first.
    h.open("/group/West/settings/smtproutes").await?;
    h.wait_text("//*[@role='note']", "Settings are defined for Group: West.")
        .await?;
    h.click("Delete Settings").await?;
    h.wait_text(STATUS, "Staged").await?;
    h.open("/pending").await?;
    h.click("Commit").await?;
    h.click("Confirm commit").await?;
    h.wait_text(STATUS, "Committed").await?;
    // Now West inherits from the cluster; override starting from a copy.
    h.open("/group/West/settings/smtproutes").await?;
    h.wait_text(
        "//*[@role='note']",
        "Settings for this feature are inherited from Cluster: Americas.",
    )
    .await?;
    h.click("Override Settings").await?;
    h.wait_text(
        "//fieldset",
        "Start with a copy of the settings currently inherited from cluster",
    )
    .await?;
    h.click("Override").await?;
    h.wait_text("//*[@role='note']", "Settings are defined for Group: West.")
        .await?;
    h.fill("Receiving domain", "example.com").await?;
    h.fill("Destination hosts", "west-y.example.com").await?;
    h.click("Save changes").await?;
    h.wait_text(STATUS, "changed example.com -> west-y.example.com")
        .await?;
    h.open("/pending").await?;
    h.fill("Comment", "West uses its own relay").await?;
    h.click("Commit").await?;
    h.click("Confirm commit").await?;
    h.wait_text(STATUS, "Committed").await?;
    // West has the copy with the edit; newyork is unchanged; the source view says why.
    h.open("/group/West/settings/smtproutes").await?;
    h.wait_text("//tr[@aria-label='Entry example.com']", "west-y.example.com")
        .await?;
    h.wait_text(
        "//tr[@aria-label='Entry partner.example.org']",
        "relay.partner.example.org:25",
    )
    .await?;
    h.open("/machine/newyork.example.com/settings/smtproutes").await?;
    h.wait_text("//*[@role='note']", "inherited from Cluster: Americas")
        .await?;
    h.wait_text("//tr[@aria-label='Entry example.com']", "mail.example.com")
        .await?;
    let sources = "//table[@aria-label=\"Where each machine's value comes from\"]";
    h.wait_text(&format!("{sources}//tr"), "sf.example.com").await?;
    let sf = h
        .wait_text(&format!("{sources}//tr[td[1]='sf.example.com']"), "Group: West")
        .await?;
    assert!(sf.contains("west-y.example.com"), "{sf}");
    let ny = h
        .wait_text(
            &format!("{sources}//tr[td[1]='newyork.example.com']"),
            "Cluster: Americas",
        )
        .await?;
    assert!(ny.contains("mail.example.com"), "{ny}");
    h.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn a_refusal_shown_before_sending_matches_the_server() -> anyhow::Result<()> {
    let h = Harness::start_with_speed(500.0).await?;
    // losangeles upgrades alone, through the API.
    let la = tests::ApiSession::login(&h.server, "admin", "ironport", "losangeles.example.com").await?;
    la.cli("clusterconfig disconnect losangeles.example.com").await?;
    la.cli("upgrade 9.5.0").await?;
    let answer = la.cli("Y").await?;
    assert_eq!(answer["status"], "ok", "{answer}");
    h.login("admin", "ironport", "newyork.example.com").await?;
    h.open("/cluster-ops").await?;
    let row = member_row("losangeles.example.com");
    h.wait_text(&row, "9.5.0").await?;
    let shown = h
        .wait_text(&format!("{row}//*[@role='note']"), "Cannot reconnect")
        .await?;
    let button = h
        .wait_for_xpath(&format!("{row}//button[normalize-space(.)='Reconnect']"))
        .await?;
    assert!(!button.is_enabled().await?, "a refused action cannot be sent");
    // The server, asked the same thing, says the same.
    let ny = tests::ApiSession::login(&h.server, "admin", "ironport", "newyork.example.com").await?;
    let (status, body) = ny
        .command(serde_json::json!({"command": "cluster_config", "op": "reconnect", "hosts": ["losangeles.example.com"]}))
        .await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["message"].as_str(), Some(shown.as_str()));
    assert_eq!(body["rule"], "reconnect_version_mismatch");
    h.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn a_change_committed_through_the_api_appears_without_reload() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.login("admin", "ironport", "newyork.example.com").await?;
    h.open("/cluster/settings/smtproutes").await?;
    h.wait_text("//*[@role='note']", "Settings are defined for Cluster: Americas.")
        .await?;
    let other = tests::ApiSession::login(&h.server, "ops", "ops-pass", "sf.example.com").await?;
    other
        .cli("smtproutes new live.example.com mx.live.example.com")
        .await?;
    let r = other.cli("commit").await?;
    assert_eq!(r["status"], "ok", "{r}");
    h.wait_text(
        "//tr[@aria-label='Entry live.example.com']",
        "mx.live.example.com",
    )
    .await?;
    other
        .cli("clusterconfig disconnect losangeles.example.com")
        .await?;
    h.open("/").await?;
    h.wait_text(
        "//li[@aria-label='Machine losangeles.example.com']",
        "disconnected",
    )
    .await?;
    h.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn the_terminal_offers_the_mode_switch() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.login("admin", "ironport", "newyork.example.com").await?;
    h.open("/terminal").await?;
    h.wait_for_xpath("//label[normalize-space(.)='(Cluster Americas)>']")
        .await?;
    let input = h.wait_for_xpath("//input[@aria-label='Command']").await?;
    input.send_keys("interfaceconfig\u{E007}").await?;
    let log = "//*[@role='log']";
    h.wait_text(log, "This command is restricted to \"machine\" mode.  Would you like to switch to \"machine:newyork.example.com\" mode? [Y]>").await?;
    h.wait_for_xpath("//label[normalize-space(.)='answer>']").await?;
    input.send_keys("Y\u{E007}").await?;
    h.wait_text(log, "Defined at machine:newyork.example.com").await?;
    h.wait_for_xpath("//label[normalize-space(.)='(Machine newyork.example.com)>']")
        .await?;
    // Tab completes from the crate, Up recalls history.
    input.send_keys("clusterm\u{E004}").await?;
    assert_eq!(input.prop("value").await?.as_deref(), Some("clustermode "));
    input.clear().await?;
    input.send_keys("\u{E013}").await?;
    assert_eq!(input.prop("value").await?.as_deref(), Some("interfaceconfig"));
    h.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn a_read_only_operator_cannot_commit_and_is_told_why() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.login("viewer", "viewer-pass", "newyork.example.com").await?;
    h.open("/cluster/settings/unsubscribe").await?;
    h.fill("Address or domain", "viewer.example.net").await?;
    h.click("Add").await?;
    h.wait_text(STATUS, "Staged").await?;
    h.open("/pending").await?;
    h.wait_text(
        "//ul[@class='pending-list']",
        "Global Unsubscribe at Cluster: Americas",
    )
    .await?;
    // Next to the button, in the console's words (the terminal says `may not run commit`).
    let note = h.wait_text("//*[@role='note']", "may not do this").await?;
    assert!(
        note.contains("read-only operator viewer may not do this: it is for administrators and operators"),
        "{note}"
    );
    assert!(!h.button("Commit").await?.is_enabled().await?);
    h.finish().await
}

/// The link `text` of the main navigation.
async fn nav(h: &Harness, text: &str) -> anyhow::Result<()> {
    let link = h
        .wait_for_xpath(&format!(
            "//nav[@aria-label='Main']//a[normalize-space(.)={}]",
            xpath_literal(text)
        ))
        .await?;
    link.click().await?;
    Ok(())
}

/// Chooses `label` in the mode drop-down of the page.
async fn choose_mode(h: &Harness, label: &str) -> anyhow::Result<()> {
    h.field("Mode").await?.select_by_label(label).await?;
    Ok(())
}

async fn audit_count(admin: &tests::ApiSession) -> anyhow::Result<usize> {
    Ok(admin
        .get_json("/api/v1/audit?limit=1000")
        .await?
        .as_array()
        .map(Vec::len)
        .unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn settings_edits_land_on_the_mode_the_page_names_after_navigating_by_clicking() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    let api = tests::ApiSession::login(&h.server, "admin", "ironport", "losangeles.example.com").await?;
    h.login("admin", "ironport", "newyork.example.com").await?;
    let revision = api.get_json("/api/v1/fleet").await?["revision"].as_u64();
    let audit = audit_count(&api).await?;
    // Settings → Group: West → SMTP Routes → Group: Main_Group, all by clicking in the app.
    nav(&h, "Settings").await?;
    h.wait_text("//*[@role='note']", "Settings are defined for Cluster: Americas.")
        .await?;
    choose_mode(&h, "Group: West").await?;
    h.wait_text("//*[@role='note']", "Settings are defined for Group: West.")
        .await?;
    choose_mode(&h, "Group: Main_Group").await?;
    h.wait_text(
        "//*[@role='note']",
        "Settings for this feature are inherited from Cluster: Americas.",
    )
    .await?;
    // Viewing pages changed nothing: no revision, no audit line.
    assert_eq!(
        api.get_json("/api/v1/fleet").await?["revision"].as_u64(),
        revision
    );
    assert_eq!(audit_count(&api).await?, audit, "viewing writes no audit line");
    // Override (from a copy), then add a row: both land on Main_Group, where the page is.
    h.click("Override Settings").await?;
    h.click("Override").await?;
    h.wait_text(STATUS, "Staged: SMTP Routes at Group: Main_Group")
        .await?;
    h.fill("Receiving domain", "main-only.example.com").await?;
    h.fill("Destination hosts", "mx.main-only.example.com").await?;
    h.click("Add").await?;
    let staged = h.wait_text(STATUS, "main-only.example.com").await?;
    assert!(staged.contains("SMTP Routes at Group: Main_Group"), "{staged}");
    h.wait_text(
        "//tr[@aria-label='Entry main-only.example.com']",
        "mx.main-only.example.com",
    )
    .await?;
    let sources = "//table[@aria-label=\"Where each machine's value comes from\"]";
    let sf = h
        .wait_text(&format!("{sources}//tr[td='sf.example.com']"), "Group: West")
        .await?;
    assert!(
        !sf.contains("main-only"),
        "sf's value does not gain Main_Group's row: {sf}"
    );
    h.wait_text(
        &format!("{sources}//tr[td='newyork.example.com']"),
        "main-only.example.com",
    )
    .await?;
    // Staging is the session's own: still no revision; the terminal's mode is still the cluster.
    assert_eq!(
        api.get_json("/api/v1/fleet").await?["revision"].as_u64(),
        revision
    );
    nav(&h, "Pending changes").await?;
    h.wait_text("//ul[@class='pending-list']", "SMTP Routes at Group: Main_Group")
        .await?;
    nav(&h, "Terminal").await?;
    h.wait_for_xpath("//label[normalize-space(.)='(Cluster Americas)>']")
        .await?;
    // The other administrator's session sees none of it.
    let theirs = api.get_json("/api/v1/session").await?;
    assert_eq!(theirs["pending"].as_array().map(Vec::len), Some(0), "{theirs}");
    h.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn two_fleets_in_one_server_are_isolated_in_the_browser() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    let status = std::process::Command::new(tests::server_binary())
        .args([
            "fleet",
            "create",
            "lab",
            "--fixture",
            "americas",
            "--demo",
            "--data-dir",
        ])
        .arg(&h.server.data_dir)
        .status()?;
    anyhow::ensure!(status.success(), "clusterdeck fleet create failed");
    h.login("admin", "ironport", "newyork.example.com").await?;
    h.open("/cluster/settings/smtproutes").await?;
    h.wait_text("//*[@role='note']", "Settings are defined for Cluster: Americas.")
        .await?;
    // A change in the lab fleet never reaches the default fleet's page.
    let lab = tests::ApiSession::login_fleet(
        &h.server.url,
        Some("lab"),
        "admin",
        "ironport",
        "newyork.example.com",
    )
    .await?;
    lab.cli("smtproutes new lab-only.example.com mx.lab.example.com")
        .await?;
    let r = lab.cli("commit").await?;
    anyhow::ensure!(r["status"] == "ok", "{r}");
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let page = h.page_text().await;
    assert!(!page.contains("lab-only"), "{page}");
    // Logging into the lab fleet from the login page shows it, and names the fleet.
    h.logout().await?;
    h.fill("User", "admin").await?;
    h.fill("Password", "ironport").await?;
    h.fill("Login host", "newyork.example.com").await?;
    h.wait_for_xpath("//summary[normalize-space(.)='Another fleet']")
        .await?
        .click()
        .await?;
    h.fill("Fleet", "lab").await?;
    h.click("Log in").await?;
    h.open_account_menu().await?;
    h.wait_text("//div[@class='account-panel']", "fleet lab").await?;
    h.open("/cluster/settings/smtproutes").await?;
    h.wait_text(
        "//tr[@aria-label='Entry lab-only.example.com']",
        "mx.lab.example.com",
    )
    .await?;
    h.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn status_only_roles_get_a_working_console_and_an_ended_session_returns_to_login() -> anyhow::Result<()>
{
    let h = Harness::start().await?;
    // Help desk: status pages only, and the runtime actions the server allows work from the page.
    h.login("helpdesk", "helpdesk-pass", "newyork.example.com")
        .await?;
    let links = h
        .wait_for_xpath("//nav[@aria-label='Main']")
        .await?
        .text()
        .await?;
    for shown in ["Overview", "Cluster", "Upgrade", "Terminal"] {
        assert!(links.contains(shown), "{links}");
    }
    for hidden in ["Settings", "Pending changes", "Users", "Audit log"] {
        assert!(!links.contains(hidden), "help desk sees {hidden}: {links}");
    }
    nav(&h, "Upgrade").await?;
    h.click_in(&listeners_of("sf.example.com"), "Suspend listeners")
        .await?;
    h.wait_text(&listeners_of("sf.example.com"), "InboundMail: suspended")
        .await?;
    let page = h.page_text().await;
    assert!(!page.contains("no longer exists"), "{page}");
    // A settings address typed by hand explains who reads it.
    h.open("/cluster/settings/smtproutes").await?;
    h.wait_text(
        "//*[@role='alert']",
        "The Settings page is for administrators, operators and read-only operators",
    )
    .await?;
    h.logout().await?;
    // A guest's session ends when an administrator deletes the user: the page goes back to login, saying so.
    h.login("guest1", "guest1-pass", "newyork.example.com").await?;
    nav(&h, "Cluster").await?;
    let page = h.page_text().await;
    assert!(!page.contains("no longer exists"), "{page}");
    let admin = tests::ApiSession::login(&h.server, "admin", "ironport", "newyork.example.com").await?;
    anyhow::ensure!(admin.cli("userconfig delete guest1").await?["status"] == "ok");
    anyhow::ensure!(admin.cli("commit").await?["status"] == "ok");
    h.wait_text("//*[@role='alert']", "Your session has ended")
        .await?;
    h.wait_for_xpath("//button[normalize-space(.)='Log in']").await?;
    h.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn faults_raised_on_the_simulator_page_show_live_on_the_overview_and_in_the_audit_log(
) -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.login("admin", "ironport", "newyork.example.com").await?;
    let sf_row = "//li[@aria-label='Machine sf.example.com']";
    // The badge reads exactly "connected" ("disconnected" contains the word too).
    let badge =
        |row: &str| format!("{row}//span[contains(@class, 'badge') and normalize-space(.)='connected']");
    h.wait_for_xpath(&badge(sf_row)).await?;
    // Each machine's row carries its mail charts.
    h.wait_for_xpath(&format!(
        "{sf_row}//*[name()='svg' and starts-with(@aria-label, 'Messages a minute on sf.example.com')]"
    ))
    .await?;

    nav(&h, "Simulator").await?;
    let sim_row = "//tr[@aria-label='Simulator sf.example.com']";
    h.click_in(sim_row, "Power off").await?;
    h.wait_text("//*[@role='status']", "Simulator: sf.example.com powered off.")
        .await?;
    h.wait_text(sim_row, "disconnected (powered off)").await?;
    // A bad value is refused, naming the field.
    let percent = h
        .wait_for_xpath("//input[@aria-label='Delivery percent for losangeles.example.com']")
        .await?;
    percent.clear().await?;
    percent.send_keys("250").await?;
    h.click_in(
        "//tr[@aria-label='Simulator losangeles.example.com']",
        "Set delivery %",
    )
    .await?;
    h.wait_text("//*[@role='alert']", "rate_percent").await?;
    h.click_in(
        "//tr[@aria-label='Link losangeles.example.com – newyork.example.com']",
        "Cut link",
    )
    .await?;
    h.wait_text(
        "//tr[@aria-label='Link losangeles.example.com – newyork.example.com']",
        "down",
    )
    .await?;

    // The overview shows it without a reload.
    nav(&h, "Overview").await?;
    h.wait_text(sf_row, "disconnected (powered off)").await?;

    // Powered back on, the cluster re-forms at once.
    nav(&h, "Simulator").await?;
    h.click_in(sim_row, "Power on").await?;
    h.wait_for_xpath(&badge(sim_row)).await?;

    nav(&h, "Audit log").await?;
    let audit = h
        .wait_text(
            "//table[@aria-label='Audit log']",
            "simulator: @power sf.example.com on",
        )
        .await?;
    for expect in [
        "simulator: @power sf.example.com off",
        "simulator: @link losangeles.example.com newyork.example.com down",
        "rate_percent is 250",
    ] {
        assert!(audit.contains(expect), "{expect} in the audit log:\n{audit}");
    }

    // A machine's own page shows its mail flow with its charts.
    nav(&h, "Settings").await?;
    choose_mode(&h, "Machine: sf.example.com").await?;
    let flow = h
        .wait_text(
            "//section[@aria-label='Mail flow of sf.example.com']",
            "messages a minute",
        )
        .await?;
    assert!(
        flow.contains("work queue") && flow.contains("delivered in all"),
        "{flow}"
    );
    h.wait_for_xpath(
        "//section[@aria-label='Mail flow of sf.example.com']//*[name()='svg' and starts-with(@aria-label, 'Queued messages on sf.example.com')]",
    )
    .await?;
    h.finish().await
}

/// Every page of the console, as a logged-in administrator reaches it.
const PAGES: &[&str] = &[
    "/",
    "/machine/losangeles.example.com",
    "/machine/boston.example.com",
    "/group/West",
    "/cluster",
    "/settings",
    "/cluster/settings/smtproutes",
    "/group/West/settings/smtproutes",
    "/machine/sf.example.com/settings/smtproutes",
    "/pending",
    "/cluster-ops",
    "/upgrade",
    "/terminal",
    "/users",
    "/audit",
    "/simulator",
    "/open-session?host=losangeles.example.com",
    "/group/NoSuch",
    "/no/such/page",
];

/// What is wrong with the page as it is now: serious or critical axe-core violations, sideways scroll.
async fn page_problems(h: &Harness, what: &str) -> anyhow::Result<Vec<String>> {
    let mut out: Vec<String> = h
        .axe()
        .await?
        .into_iter()
        .map(|v| format!("{what}: {v}"))
        .collect();
    if let Some(side) = h.sideways_scroll().await? {
        out.push(format!("{what}: scrolls sideways: {side}"));
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn every_page_passes_axe_core_at_1440_and_390_px_without_sideways_scroll() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    let mut problems = Vec::new();
    for (w, ht) in [(1440, 900), (390, 844)] {
        h.viewport(w, ht).await?;
        h.open("/").await?;
        h.field("User").await?;
        problems.extend(page_problems(&h, &format!("login page at {w} px")).await?);
    }
    h.viewport(1440, 900).await?;
    h.login("admin", "ironport", "newyork.example.com").await?;
    // Something staged, so Pending changes shows its review.
    h.open("/group/West/settings/smtproutes").await?;
    h.click("Delete Settings").await?;
    h.wait_text(STATUS, "Staged").await?;
    for (scheme, sizes) in [
        ("light", &[(1440, 900), (390, 844)][..]),
        ("dark", &[(1440, 900)][..]),
    ] {
        h.color_scheme(scheme).await?;
        for &(w, ht) in sizes {
            h.viewport(w, ht).await?;
            for page in PAGES {
                h.open(page).await?;
                h.wait_for_xpath("//main//h1").await?;
                // The fleet arrives after the shell: wait until nothing says it is loading.
                for _ in 0..50 {
                    if !h.page_text().await.contains("Loading") {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                problems.extend(page_problems(&h, &format!("{page} at {w} px, {scheme}")).await?);
            }
        }
    }
    // At phone width the navigation is a menu that opens by click.
    h.viewport(390, 844).await?;
    h.color_scheme("light").await?;
    h.open("/").await?;
    let nav = h.wait_for_xpath("//nav[@aria-label='Main']").await?;
    assert!(
        !nav.is_displayed().await?,
        "the navigation is collapsed at 390 px"
    );
    h.click("Menu").await?;
    assert!(nav.is_displayed().await?, "Menu opens the navigation");
    problems.extend(page_problems(&h, "/ with the menu open at 390 px").await?);
    h.wait_for_xpath("//nav[@aria-label='Main']//a[.='Audit log']")
        .await?
        .click()
        .await?;
    h.wait_for_xpath("//main//h1[contains(., 'Audit log')]").await?;
    assert!(!nav.is_displayed().await?, "choosing a page closes the menu");
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    h.finish().await
}

/// The console's progress bar for `host`'s upgrade: its position (0 to 1) and rendered width in pixels.
async fn progress_of(h: &Harness) -> anyhow::Result<Option<(f64, f64)>> {
    let v = h
        .browser
        .execute(
            "const p = document.querySelector('main progress');
             return p ? [p.position, p.getBoundingClientRect().width] : null;",
            vec![],
        )
        .await?;
    Ok(v.as_array()
        .map(|a| (a[0].as_f64().unwrap_or(0.0), a[1].as_f64().unwrap_or(0.0))))
}

/// On `host`'s machine page, reached by clicking it on the overview: disconnect, suspend, open (or
/// switch to) a session on it, upgrade, watch the bar fill, resume.
async fn upgrade_from_its_page(h: &Harness, host: &str) -> anyhow::Result<()> {
    let actions = by_role_label("section", &format!("Actions on {host}"));
    h.wait_for_xpath("//nav[@aria-label='Main']//a[.='Overview']")
        .await?
        .click()
        .await?;
    h.wait_for_xpath(&format!(
        "//li[@aria-label='Machine {host}']//a[.={}]",
        xpath_literal(host)
    ))
    .await?
    .click()
    .await?;
    h.wait_for_xpath(&format!("//main//h1[contains(., {})]", xpath_literal(host)))
        .await?;
    // Upgrading acts on the login host: open a session on this machine (or switch to the one kept from
    // before), keeping the current one.
    let open = format!("Open a session on {host}");
    let switch = format!("Switch to your session on {host}");
    let way = h
        .wait_for_xpath(&format!(
            "{actions}//a[.={}] | {actions}//button[.={}]",
            xpath_literal(&open),
            xpath_literal(&switch)
        ))
        .await?;
    let opens = way.text().await? == open;
    way.click().await?;
    if opens {
        h.fill("Password", "ironport").await?;
        h.click("Open session").await?;
    }
    let short = host.split('.').next().unwrap_or(host);
    h.wait_for_xpath(&format!(
        "//details[@class='account']/summary[contains(., {})]",
        xpath_literal(&format!("on {short}"))
    ))
    .await?;
    h.wait_for_xpath(&format!("{actions}//button[.='Upgrade']"))
        .await?;
    h.click_in(&actions, "Disconnect").await?;
    h.wait_text(STATUS, "is now disconnected").await?;
    h.click_in(&actions, "Suspend listeners").await?;
    h.wait_text(
        &by_role_label("section", &format!("Listeners of {host}")),
        "InboundMail: suspended",
    )
    .await?;
    h.click_in(&actions, "Upgrade").await?;
    h.answer(&format!("Upgrade {host}")).await?;
    // The bar appears and fills as the simulated install runs (a <progress>: no inline style).
    let mut seen = Vec::new();
    for _ in 0..100 {
        if let Some(p) = progress_of(h).await? {
            seen.push(p);
        }
        if seen.len() >= 2 && seen.last().map(|p| p.0) > seen.first().map(|p| p.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (first, last) = (seen.first().copied(), seen.last().copied());
    assert!(
        matches!((first, last), (Some(a), Some(b)) if b.0 > a.0 && b.1 > 50.0),
        "the progress bar of {host} grows and is drawn: {seen:?}"
    );
    // Installed and rebooted: the machine runs the new version and is back, detached.
    h.wait_text("//main//dl", "AsyncOS 9.5.0").await?;
    h.wait_text("//main//h1", "disconnected (detached)").await?;
    h.click_in(&actions, "Resume").await?;
    h.wait_text(
        &by_role_label("section", &format!("Listeners of {host}")),
        "InboundMail: accepting",
    )
    .await?;
    Ok(())
}

/// An element with tag `tag` and `aria-label` `label`, as XPath.
fn by_role_label(tag: &str, label: &str) -> String {
    format!("//{tag}[@aria-label={}]", xpath_literal(label))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn rolling_upgrade_from_the_topology_and_machine_pages_without_logging_out() -> anyhow::Result<()> {
    // 420 simulated seconds of install and reboot take 12 s: the bar is seen filling.
    let h = Harness::start_with_speed(35.0).await?;
    h.login("admin", "ironport", "newyork.example.com").await?;
    for host in ["losangeles.example.com", "newyork.example.com", "sf.example.com"] {
        upgrade_from_its_page(&h, host).await?;
    }
    // Logged into sf: reconnect it first, then the others, from their pages.
    for (host, says) in [
        ("sf.example.com", "now runs AsyncOS 9.5.0"),
        ("losangeles.example.com", "losangeles.example.com is reconnected"),
        ("newyork.example.com", "newyork.example.com is reconnected"),
    ] {
        h.open(&format!("/machine/{host}")).await?;
        h.click_in(
            &by_role_label("section", &format!("Actions on {host}")),
            "Reconnect",
        )
        .await?;
        h.wait_text(STATUS, says).await?;
    }
    h.open("/").await?;
    for host in ["losangeles.example.com", "newyork.example.com", "sf.example.com"] {
        let row = h
            .wait_text(&format!("//li[@aria-label='Machine {host}']"), "AsyncOS 9.5.0")
            .await?;
        assert!(
            row.contains("connected") && !row.contains("disconnected"),
            "{row}"
        );
    }
    // The sessions kept along the way are one click away; Log out ends them all.
    h.open_account_menu().await?;
    h.wait_for_xpath("//button[contains(., 'Switch to admin on newyork.example.com')]")
        .await?;
    h.logout().await?;
    h.finish().await
}

/// The element that has the keyboard focus: its text and whether it is inside the dialog.
async fn focus(h: &Harness) -> anyhow::Result<(String, bool)> {
    let v = h
        .browser
        .execute(
            "const a = document.activeElement;
             return [a ? a.textContent : '', !!(a && a.closest('[role=dialog]'))];",
            vec![],
        )
        .await?;
    Ok((
        v[0].as_str().unwrap_or_default().to_string(),
        v[1].as_bool().unwrap_or(false),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn a_question_is_answered_by_keyboard_only() -> anyhow::Result<()> {
    const TAB: &str = "\u{E004}";
    const ENTER: &str = "\u{E007}";
    const ESCAPE: &str = "\u{E00C}";
    let h = Harness::start().await?;
    h.login("admin", "ironport", "newyork.example.com").await?;
    h.open("/upgrade").await?;
    let upgrade = h.button("Upgrade").await?;
    // Reach the button from the keyboard: focus it as Tab would, then Enter.
    h.browser
        .execute("arguments[0].focus();", vec![serde_json::to_value(&upgrade)?])
        .await?;
    h.browser.active_element().await?.send_keys(ENTER).await?;
    h.wait_for_xpath("//*[@role='dialog']").await?;
    let (_, inside) = focus(&h).await?;
    assert!(inside, "opening the dialog moves focus into it");
    // Tab cycles inside the dialog, never to the page behind.
    for _ in 0..6 {
        h.browser.active_element().await?.send_keys(TAB).await?;
        let (text, inside) = focus(&h).await?;
        assert!(inside, "Tab stays in the dialog (focus on {text:?})");
    }
    assert!(
        page_problems(&h, "the upgrade question").await?.is_empty(),
        "{:?}",
        page_problems(&h, "the upgrade question").await?
    );
    // Esc cancels: nothing is sent, focus returns to the button that opened it.
    h.browser.active_element().await?.send_keys(ESCAPE).await?;
    h.wait_text(STATUS, "Cancelled; nothing was sent.").await?;
    let (text, _) = focus(&h).await?;
    assert_eq!(text.trim(), "Upgrade", "focus returns to the Upgrade button");
    // Again, and this time go ahead with the keyboard: Tab to the button that upgrades, Enter.
    h.browser.active_element().await?.send_keys(ENTER).await?;
    h.wait_for_xpath("//*[@role='dialog']").await?;
    for _ in 0..6 {
        let (text, _) = focus(&h).await?;
        if text.starts_with("Upgrade and disconnect") {
            break;
        }
        h.browser.active_element().await?.send_keys(TAB).await?;
    }
    let (text, _) = focus(&h).await?;
    assert!(text.starts_with("Upgrade and disconnect"), "{text}");
    h.browser.active_element().await?.send_keys(ENTER).await?;
    h.wait_text(STATUS, "Upgrading newyork.example.com to AsyncOS 9.5.0")
        .await?;
    h.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn a_server_restart_mid_session_is_survived_without_reload() -> anyhow::Result<()> {
    let mut h = Harness::start().await?;
    h.login("admin", "ironport", "newyork.example.com").await?;
    let host = "sf.example.com";
    h.open(&format!("/machine/{host}")).await?;
    let actions = by_role_label("section", &format!("Actions on {host}"));
    h.wait_for_xpath(&format!("{actions}//button[.='Suspend listeners']"))
        .await?;
    // A mark in the page: it survives only if the page is never reloaded.
    h.browser
        .execute("window.__clusterdeckMark = 42;", vec![])
        .await?;
    h.server.stop()?;
    // The page says it is offline, and actions say why they wait.
    h.wait_text("//*[contains(@class, 'live-indicator')]", "Offline")
        .await?;
    h.wait_text("//main", "The server cannot be reached").await?;
    // Actions wait while the server is away.
    h.wait_for_xpath(&format!("{actions}//button[.='Suspend listeners' and @disabled]"))
        .await?;
    h.wait_text(&actions, "Waiting for the server").await?;
    h.server.start_again()?;
    // Back by itself (back-off of at most a few seconds at first), then live again.
    h.wait_text("//*[contains(@class, 'live-indicator')]", "Live")
        .await?;
    // While the server was away the browser logged the failed requests (and only those).
    assert_only_the_outage_logged(&h).await?;
    h.click_in(&actions, "Suspend listeners").await?;
    h.wait_text(
        &by_role_label("section", &format!("Listeners of {host}")),
        "InboundMail: suspended",
    )
    .await?;
    let mark = h
        .browser
        .execute("return window.__clusterdeckMark;", vec![])
        .await?;
    assert_eq!(mark, serde_json::json!(42), "the page was not reloaded");
    // The change came back through the new event stream: the overview shows it too.
    h.wait_for_xpath("//nav[@aria-label='Main']//a[.='Overview']")
        .await?
        .click()
        .await?;
    h.wait_text(
        &format!("//li[@aria-label='Machine {host}']"),
        "InboundMail: suspended",
    )
    .await?;
    h.finish().await
}

/// Fails unless every error the browser console holds is a request the server's outage failed (and, for
/// a module it could not fetch, the chunk loader's own line): no panic, no other script error.
async fn assert_only_the_outage_logged(h: &Harness) -> anyhow::Result<()> {
    for e in h.console().await?.into_iter().filter(|e| e.is_error()) {
        let refused = e.source == "network"
            && (e.message.contains("ERR_CONNECTION_REFUSED")
                || e.message.contains("ERR_INCOMPLETE_CHUNKED_ENCODING")
                || e.message.contains("ERR_EMPTY_RESPONSE"));
        let chunk_loader = e.source == "console-api"
            && e.message.contains("split.js")
            && e.message.contains("Failed to fetch");
        anyhow::ensure!(
            refused || chunk_loader,
            "only the outage's failed requests are logged: {e:?}"
        );
    }
    Ok(())
}

/// A demo server (sandbox mode) with the shipped scenarios and more `serve` flags.
async fn demo_server(flags: &[&str]) -> anyhow::Result<Harness> {
    let mut all: Vec<String> = vec![
        "--sandbox".into(),
        "--sandbox-scenarios".into(),
        format!("{}/../scenarios/demo", env!("CARGO_MANIFEST_DIR")),
    ];
    all.extend(flags.iter().map(|f| f.to_string()));
    Harness::start_with(tests::ServerOptions {
        flags: all,
        ..tests::ServerOptions::default()
    })
    .await
}

/// Starts a sandbox from the start page's card `title`, as a visitor clicks it.
async fn start_scenario(h: &Harness, title: &str) -> anyhow::Result<()> {
    h.open("/").await?;
    h.wait_for_xpath("//h1[.='Try Clusterdeck']").await?;
    h.click_in(&format!("//li[@aria-label={}]", xpath_literal(title)), "Start")
        .await?;
    h.wait_text(&by_role("region", "Your sandbox"), title).await?;
    h.wait_for_xpath("//details[@class='account']/summary[starts-with(normalize-space(.), 'admin on ')]")
        .await?;
    Ok(())
}

/// The overview row of `host` once it reads `state` (`connected`, `disconnected`).
async fn row_reads(h: &Harness, scope: &str, host: &str, state: &str) -> anyhow::Result<String> {
    h.wait_for_xpath(&format!(
        "{scope}//li[@aria-label={}][.//*[contains(@class, 'badge')][starts-with(normalize-space(.), {})]]",
        xpath_literal(&format!("Machine {host}")),
        xpath_literal(state)
    ))
    .await?;
    h.wait_text(
        &format!(
            "{scope}//li[@aria-label={}]",
            xpath_literal(&format!("Machine {host}"))
        ),
        host,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn demo_visitors_get_their_own_sandboxes_reset_and_a_share_replays_and_forks() -> anyhow::Result<()> {
    let alice = demo_server(&[]).await?;
    alice.open("/").await?;
    alice.wait_for_xpath("//h1[.='Try Clusterdeck']").await?;
    let mut problems = page_problems(&alice, "the start page").await?;
    start_scenario(&alice, "The Americas cluster").await?;
    problems.extend(page_problems(&alice, "the overview with the sandbox banner").await?);
    // Alice disconnects losangeles from its page.
    let host = "losangeles.example.com";
    alice
        .wait_for_xpath(&format!(
            "//li[@aria-label='Machine {host}']//a[.={}]",
            xpath_literal(host)
        ))
        .await?
        .click()
        .await?;
    alice
        .click_in(
            &by_role_label("section", &format!("Actions on {host}")),
            "Disconnect",
        )
        .await?;
    alice.wait_text(STATUS, "disconnected").await?;
    alice
        .wait_for_xpath("//nav[@aria-label='Main']//a[.='Overview']")
        .await?
        .click()
        .await?;
    row_reads(&alice, "", host, "disconnected").await?;

    // Bob, in another browser, has a sandbox of his own: losangeles is connected there.
    let bob = alice.another_browser().await?;
    start_scenario(&bob, "The Americas cluster").await?;
    row_reads(&bob, "", host, "connected").await?;

    // Alice shares her sandbox: a link to give.
    alice
        .click_in(&by_role("region", "Your sandbox"), "Share")
        .await?;
    let link = alice
        .wait_for_xpath("//label[contains(., 'Share link')]//input")
        .await?
        .prop("value")
        .await?
        .unwrap_or_default();
    assert!(link.contains("/s/"), "{link}");

    // Reset takes a confirmation, then the scenario's start is back.
    alice
        .click_in(&by_role("region", "Your sandbox"), "Reset")
        .await?;
    alice.click("Reset the sandbox").await?;
    alice
        .wait_text(&by_role("region", "Your sandbox"), "Reset: the sandbox is back")
        .await?;
    row_reads(&alice, "", host, "connected").await?;

    // Carol, logged out in a third browser, opens the link: a read-only replay, step by step.
    let carol = alice.another_browser().await?;
    let path = link
        .split_once("/s/")
        .map(|(_, code)| format!("/s/{code}"))
        .unwrap_or_default();
    carol.open(&path).await?;
    carol
        .wait_for_xpath("//h1[.='Replay: The Americas cluster']")
        .await?;
    let state = by_role("region", "The fleet at this revision");
    carol
        .wait_text(
            &by_role("region", "This step"),
            "Where the shared sandbox started",
        )
        .await?;
    row_reads(&carol, &state, host, "connected").await?;
    problems.extend(page_problems(&carol, "the replay").await?);
    carol.viewport(390, 844).await?;
    problems.extend(page_problems(&carol, "the replay at 390 px").await?);
    carol.viewport(1440, 900).await?;
    assert!(problems.is_empty(), "{problems:#?}");
    carol.click("Next step").await?;
    let step = carol
        .wait_text(
            &by_role("region", "This step"),
            "losangeles.example.com disconnected",
        )
        .await?;
    assert!(
        step.contains("clusterconfig disconnect losangeles.example.com"),
        "who ran what: {step}"
    );
    assert!(step.contains("admin on newyork.example.com"), "{step}");
    row_reads(&carol, &state, host, "disconnected").await?;
    carol.click("Previous step").await?;
    row_reads(&carol, &state, host, "connected").await?;
    carol.click("Last").await?;
    row_reads(&carol, &state, host, "disconnected").await?;
    // Fork: a sandbox of Carol's own from that state, logged in.
    carol.click("Fork from this revision").await?;
    carol
        .wait_text(&by_role("region", "Your sandbox"), "The Americas cluster")
        .await?;
    carol.wait_for_xpath("//h1[.='Overview']").await?;
    row_reads(&carol, "", host, "disconnected").await?;
    // Bob's sandbox never saw any of it.
    row_reads(&bob, "", host, "connected").await?;
    // Bob logs out: his sandbox stays his, and the start page logs him back into it.
    bob.logout().await?;
    bob.wait_text(&by_role("region", "Your sandbox"), "is still here")
        .await?;
    bob.fill("User", "ops").await?;
    bob.fill("Password", "ops-pass").await?;
    bob.click("Log in").await?;
    bob.wait_for_xpath("//details[@class='account']/summary[starts-with(normalize-space(.), 'ops on ')]")
        .await?;
    row_reads(&bob, "", host, "connected").await?;
    carol.finish().await?;
    bob.finish().await?;
    alice.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn a_full_demo_says_so_and_an_idle_sandbox_expires() -> anyhow::Result<()> {
    // The time to live must outlast Bob's refusal below: a second browser starting and loading the
    // app takes several seconds on a loaded 2-core CI machine, and at 4 s Alice's sandbox sometimes
    // expired first, so Bob got room (CI run of 4fdb8ef).
    let alice = demo_server(&["--sandbox-ttl", "15", "--sandbox-max", "1"]).await?;
    start_scenario(&alice, "Halfway through a rolling upgrade").await?;
    let bob = alice.another_browser().await?;
    bob.open("/").await?;
    bob.click_in("//li[@aria-label='The Americas cluster']", "Start")
        .await?;
    bob.wait_text("//*[@role='alert']", "The demo is full").await?;
    // The refusal is the one error the browser logged (a 503: retry later).
    for e in bob.console().await?.into_iter().filter(|e| e.is_error()) {
        assert!(
            e.message.contains("/api/v1/sandboxes") && e.message.contains("503"),
            "{e:?}"
        );
    }
    // Alice does nothing: her sandbox is discarded, and her open page says why. The sweep runs every
    // 5 s, so that is 15 to 20 s after she started.
    alice
        .wait_for_xpath_within(
            "//*[@role='alert'][contains(., 'Your sandbox was discarded: it was not used for its time to live')]",
            std::time::Duration::from_secs(40),
        )
        .await?;
    alice.wait_for_xpath("//h1[.='Try Clusterdeck']").await?;
    // The event stream of the discarded sandbox ended; nothing else went wrong.
    for e in alice.console().await?.into_iter().filter(|e| e.is_error()) {
        assert!(
            e.source == "network" && e.message.contains("/api/v1/events"),
            "{e:?}"
        );
    }
    // Room again: Bob gets his.
    bob.click_in("//li[@aria-label='The Americas cluster']", "Start")
        .await?;
    bob.wait_text(&by_role("region", "Your sandbox"), "The Americas cluster")
        .await?;
    bob.finish().await?;
    alice.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn a_long_machine_list_shows_the_rows_on_screen_scrolls_to_its_end_and_finds_a_machine(
) -> anyhow::Result<()> {
    let h = Harness::start_with(tests::ServerOptions {
        fixture: "scale-300".into(),
        ..tests::ServerOptions::default()
    })
    .await?;
    h.viewport(1440, 900).await?;
    h.login("admin", "ironport", "newyork.example.com").await?;
    let standalone = by_role("region", "Standalone machines");
    h.wait_text(&standalone, "297 machines; rows appear as they scroll into view.")
        .await?;
    let rows = format!("{standalone}//li[starts-with(@aria-label, 'Machine ')]");
    let count = |h: &Harness| {
        let rows = rows.clone();
        let browser = h.browser.clone();
        async move { anyhow::Ok(browser.find_all(fantoccini::Locator::XPath(&rows)).await?.len()) }
    };
    let first = h
        .wait_for_xpath(&format!(
            "{standalone}//li[@aria-posinset='1' and @aria-setsize='297']"
        ))
        .await?
        .text()
        .await?;
    assert!(
        first.contains("AsyncOS"),
        "the first row shows its machine: {first}"
    );
    let shown = count(&h).await?;
    assert!(
        (1..100).contains(&shown),
        "{shown} of 297 rows in the page: the list is windowed"
    );
    let problems = page_problems(&h, "the overview with a windowed list").await?;
    assert!(problems.is_empty(), "{problems:#?}");
    // Scrolled to its end, the list's last machine is there, numbered the last of 297, and the first
    // rows have left the page.
    h.browser
        .execute(
            "window.scrollTo(0, document.documentElement.scrollHeight)",
            vec![],
        )
        .await?;
    let last = h
        .wait_for_xpath(&format!(
            "{standalone}//li[@aria-label='Machine toronto.example.com' and @aria-posinset='297' and @aria-setsize='297']"
        ))
        .await?
        .text()
        .await?;
    assert!(last.contains("AsyncOS 9.5.0"), "toronto runs 9.5.0: {last}");
    let gone = h
        .browser
        .find_all(fantoccini::Locator::XPath(&format!(
            "{standalone}//li[@aria-posinset='1']"
        )))
        .await?;
    assert!(
        gone.is_empty(),
        "the first row is no longer rendered once scrolled past"
    );
    assert!(count(&h).await? < 100, "still a window at the end");
    // On a narrow screen every row still shows all it holds (rows grow to the tallest one's needs).
    h.viewport(320, 800).await?;
    h.browser.execute("window.scrollTo(0, 0)", vec![]).await?;
    let clipped = h
        .browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             setTimeout(() => requestAnimationFrame(() => done([...document.querySelectorAll('ul.machines.windowed > li')]
                 .filter(li => li.scrollHeight > li.clientHeight + 1)
                 .map(li => li.getAttribute('aria-label') + ': ' + li.scrollHeight + ' > ' + li.clientHeight))), 300);",
            vec![],
        )
        .await?;
    assert_eq!(
        clipped,
        serde_json::json!([]),
        "rows whose content is cut off at 320 px"
    );
    h.viewport(1440, 900).await?;
    // The find box narrows the list; a found machine's name opens its page.
    h.browser.execute("window.scrollTo(0, 0)", vec![]).await?;
    h.fill("Find a machine", "M0015").await?;
    h.wait_text(&standalone, "10 of 297 machines match.").await?;
    h.wait_for_xpath(&format!(
        "{standalone}//li[@aria-posinset='10' and @aria-setsize='10']"
    ))
    .await?;
    assert_eq!(count(&h).await?, 10, "the ten matches, all on screen");
    h.wait_for_xpath(&format!(
        "{standalone}//a[normalize-space(.)='m00153.scale.example.com']"
    ))
    .await?
    .click()
    .await?;
    h.wait_for_xpath("//h1[starts-with(normalize-space(.), 'm00153.scale.example.com')]")
        .await?;
    // The click made a history entry with the page's own address: Back returns to the overview.
    let path = |h: &Harness| {
        let browser = h.browser.clone();
        async move {
            let v = browser.execute("return location.pathname", vec![]).await?;
            anyhow::Ok(v.as_str().unwrap_or_default().to_string())
        }
    };
    for _ in 0..50 {
        if path(&h).await? != "/" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(path(&h).await?, "/machine/m00153.scale.example.com");
    h.browser.back().await?;
    h.wait_text(&standalone, "297 machines; rows appear as they scroll into view.")
        .await?;
    assert_eq!(path(&h).await?, "/");
    h.finish().await
}

/// The WASM modules the page has fetched, by file name (`app_bg.wasm` is the main module; the others
/// are pages' chunks, `cargo xtask build` splits them out).
async fn wasm_fetched(h: &Harness) -> anyhow::Result<Vec<String>> {
    let names = h
        .browser
        .execute(
            "return performance.getEntriesByType('resource')
                .map(e => new URL(e.name).pathname)
                .filter(p => p.startsWith('/pkg/') && p.endsWith('.wasm'))
                .map(p => p.slice('/pkg/'.length));",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(names)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn a_page_fetches_its_code_on_the_first_visit_and_only_then() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.login("admin", "ironport", "newyork.example.com").await?;
    h.wait_for_xpath(&by_role("region", "Cluster Americas")).await?;
    // Room for every request of the walk (the browser keeps 250 timings by default).
    h.browser
        .execute("performance.setResourceTimingBufferSize(100000);", vec![])
        .await?;
    // The login form needs the main module; logged in, the console's module (following the fleet,
    // the overview) and the chunks it shares with others; no other page's module is fetched.
    let module = |n: &str| format!("split_{n}.wasm");
    let overview = wasm_fetched(&h).await?;
    assert_eq!(
        overview.first().map(String::as_str),
        Some("app_bg.wasm"),
        "{overview:?}"
    );
    assert!(overview.contains(&module("console")), "{overview:?}");
    assert!(
        overview
            .iter()
            .all(|n| n == "app_bg.wasm" || n.starts_with("chunk_") || *n == module("console")),
        "the overview fetches no other page's module: {overview:?}"
    );
    // Settings by clicking: its module (and the chunks it shares) arrive now, nobody else's.
    nav(&h, "Settings").await?;
    h.wait_text("//*[@role='note']", "Settings are defined for Cluster: Americas.")
        .await?;
    let settings = wasm_fetched(&h).await?;
    assert!(settings.contains(&module("settings")), "{settings:?}");
    assert!(
        !settings.contains(&module("admin")) && !settings.contains(&module("ops")),
        "pages not visited are not fetched: {settings:?}"
    );
    // Away and back: the page works again and nothing is fetched twice.
    nav(&h, "Overview").await?;
    h.wait_for_xpath(&by_role("region", "Cluster Americas")).await?;
    nav(&h, "Settings").await?;
    h.wait_text("//*[@role='note']", "Settings are defined for Cluster: Americas.")
        .await?;
    choose_mode(&h, "Group: West").await?;
    h.wait_text("//*[@role='note']", "Settings are defined for Group: West.")
        .await?;
    assert_eq!(wasm_fetched(&h).await?, settings, "a page's code is fetched once");
    h.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn a_page_opened_while_the_server_is_away_says_so_and_loads_when_it_is_back() -> anyhow::Result<()> {
    let mut h = Harness::start().await?;
    h.login("admin", "ironport", "newyork.example.com").await?;
    h.wait_for_xpath(&by_role("region", "Cluster Americas")).await?;
    h.browser.execute("window.__clusterdeckMark = 7;", vec![]).await?;
    h.server.stop()?;
    h.wait_text("//*[contains(@class, 'live-indicator')]", "Offline")
        .await?;
    // The audit log was never visited: its code cannot arrive. The app says so and keeps running.
    nav(&h, "Audit log").await?;
    let alert = h
        .wait_text("//*[@role='alert']", "This page could not be loaded")
        .await?;
    assert!(alert.contains("when the server can be reached again"), "{alert}");
    h.wait_for_xpath("//*[@role='alert']//button[normalize-space(.)='Try again']")
        .await?;
    // The overview still answers while the server is away.
    nav(&h, "Overview").await?;
    h.wait_for_xpath(&by_role("region", "Cluster Americas")).await?;
    nav(&h, "Audit log").await?;
    h.wait_text("//*[@role='alert']", "This page could not be loaded")
        .await?;
    // Back: the page loads by itself, without a reload.
    h.server.start_again()?;
    h.wait_text("//*[contains(@class, 'live-indicator')]", "Live")
        .await?;
    h.wait_for_xpath("//h1[normalize-space(.)='Audit log']").await?;
    h.wait_text("//main//table", "Simulated time").await?;
    let mark = h
        .browser
        .execute("return window.__clusterdeckMark;", vec![])
        .await?;
    assert_eq!(mark, serde_json::json!(7), "the page was not reloaded");
    // The outage's failed requests are all the console holds: no panic, no other script error.
    assert_only_the_outage_logged(&h).await?;
    h.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn a_user_added_by_enter_is_staged_and_the_form_cleared_without_a_refusal() -> anyhow::Result<()> {
    const ENTER: &str = "\u{E007}";
    let h = Harness::start().await?;
    h.login("admin", "ironport", "newyork.example.com").await?;
    nav(&h, "Users").await?;
    h.fill("User name", "walker2").await?;
    h.fill("Password", "walker2-pass").await?;
    // Enter in the password field adds the user, as a form does.
    h.field("Password").await?.send_keys(ENTER).await?;
    h.wait_text(STATUS, "added walker2").await?;
    // The table shows the staged user: the page has caught up with the change (the refusal the form
    // used to show came with that).
    h.wait_text(
        "//table[@aria-label='Users']//tr[@aria-label='User walker2']",
        "operator",
    )
    .await?;
    // The form is ready for the next user: empty, and not refusing the name just added.
    let fieldset = "//fieldset[legend='Add a user']";
    for label in ["User name", "Password"] {
        let value = h.field(label).await?.prop("value").await?.unwrap_or_default();
        assert_eq!(value, "", "{label} is cleared");
    }
    let refusals = h
        .browser
        .find_all(fantoccini::Locator::XPath(&format!(
            "{fieldset}//*[@class='refusal']"
        )))
        .await?;
    assert!(refusals.is_empty(), "no refusal right after the user was added");
    h.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn eight_reloads_in_a_row_each_open_the_console_promptly() -> anyhow::Result<()> {
    // A reloaded page must let go of its event stream: were it kept (the back/forward cache keeps a
    // page whose document may be stored), six reloads would hold every connection the browser allows
    // the server, and the next page would wait about a minute for one.
    let h = Harness::start().await?;
    h.login("admin", "ironport", "newyork.example.com").await?;
    for (n, page) in [
        "/",
        "/users",
        "/audit",
        "/",
        "/terminal",
        "/cluster",
        "/",
        "/settings",
    ]
    .into_iter()
    .enumerate()
    {
        let started = std::time::Instant::now();
        h.open(page).await?;
        h.wait_for_xpath("//main//h1").await?;
        let took = started.elapsed();
        assert!(
            took < std::time::Duration::from_secs(10),
            "reload {n} ({page}) took {took:?}"
        );
    }
    h.finish().await
}
