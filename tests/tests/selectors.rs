//! The selector contract of `docs/testing.md` (version 1): every row of its table — a page, an accessible
//! role and name, an XPath — holds in the real console. The table is read from the document, so the
//! document is the one source: a change of the console that breaks a row fails here, and changing the
//! table changes the contract. Run by `cargo xtask test` with the end-to-end tests (`--ignored` here
//! because they need the built site and Chromium).
//!
//! Each row is checked on its page, in a fleet made for it (`clusterdeck fleet create`, the `americas`
//! fixture with the demo users), logged in through the login form with `/?fleet=<name>` as an external
//! suite would. A row whose page clicks something ("then `X`") gets a fresh fleet, so what a click changes
//! never reaches the rows after it. For each row: the XPath matches exactly one element, and Chromium's
//! computed role and accessible name (WebDriver's "computed role" and "computed label", what Playwright's
//! `getByRole` matches) are the row's.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use fantoccini::elements::Element;
use fantoccini::Locator;
use tests::{xpath_literal, Harness};

/// Where the table starts and ends in `docs/testing.md`.
const BEGIN: &str = "<!-- selector-contract v1: begin";
const END: &str = "<!-- selector-contract v1: end";

/// How long a row's element may take to appear (the page loads, the fleet arrives).
const APPEAR: Duration = Duration::from_secs(10);

/// One row of the table.
#[derive(Debug, Clone)]
struct Row {
    /// Line of the row in the document (for messages).
    line: usize,
    state: State,
    role: String,
    name: Name,
    xpath: String,
}

/// What the Page column says: where to go, logged in or not, and what to click there first.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    path: String,
    logged_out: bool,
    click: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Name {
    /// `—`: the element has no name of its own.
    None,
    Exact(String),
    /// A name written with a trailing `…`.
    Prefix(String),
}

impl Name {
    fn parse(cell: &str) -> Name {
        let cell = cell.trim();
        if cell == "—" || cell.is_empty() {
            Name::None
        } else if let Some(start) = cell.strip_suffix('…') {
            Name::Prefix(start.trim_end().to_string())
        } else {
            Name::Exact(cell.to_string())
        }
    }

    fn says(&self) -> String {
        match self {
            Name::None => "any name".to_string(),
            Name::Exact(n) => format!("named {n:?}"),
            Name::Prefix(p) => format!("named {p:?}…"),
        }
    }

    fn matches(&self, computed: &str) -> bool {
        match self {
            Name::None => true,
            Name::Exact(n) => computed == n,
            Name::Prefix(p) => computed.starts_with(p.as_str()),
        }
    }
}

/// The cells of a Markdown table row (`\|` is a literal bar).
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    let mut out = vec![String::new()];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                chars.next();
                out.last_mut().expect("one cell at least").push('|');
            }
            '|' => out.push(String::new()),
            c => out.last_mut().expect("one cell at least").push(c),
        }
    }
    out.into_iter().map(|c| c.trim().to_string()).collect()
}

/// The code spans of a cell, in order.
fn code_spans(cell: &str) -> Vec<String> {
    cell.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string())
        .collect()
}

/// The table of `doc` (the text of `docs/testing.md`).
fn contract(doc: &str) -> anyhow::Result<Vec<Row>> {
    let lines: Vec<&str> = doc.lines().collect();
    let begin = lines
        .iter()
        .position(|l| l.starts_with(BEGIN))
        .context("docs/testing.md has no selector table (its begin marker)")?;
    let end = lines
        .iter()
        .position(|l| l.starts_with(END))
        .context("docs/testing.md has no end marker after its selector table")?;
    anyhow::ensure!(begin < end, "the selector table's markers are out of order");
    let mut rows = Vec::new();
    let mut header_seen = false;
    for (i, line) in lines.iter().enumerate().take(end).skip(begin + 1) {
        let line_no = i + 1;
        if !line.trim_start().starts_with('|') {
            anyhow::ensure!(
                line.trim().is_empty(),
                "docs/testing.md:{line_no}: only table rows go between the markers"
            );
            continue;
        }
        let c = cells(line);
        if !header_seen {
            anyhow::ensure!(
                c.len() == 5 && c[0] == "Page" && c[1] == "Role" && c[2] == "Name" && c[3] == "XPath",
                "docs/testing.md:{line_no}: the table's columns are Page | Role | Name | XPath | What it is"
            );
            header_seen = true;
            continue;
        }
        if c.iter().all(|c| c.chars().all(|ch| ch == '-' || ch == ':')) {
            continue;
        }
        anyhow::ensure!(
            c.len() == 5,
            "docs/testing.md:{line_no}: a row has 5 cells, this one {}",
            c.len()
        );
        let spans = code_spans(&c[0]);
        let path = spans
            .first()
            .with_context(|| format!("docs/testing.md:{line_no}: the Page names no address in `…`"))?
            .clone();
        anyhow::ensure!(
            path.starts_with('/'),
            "docs/testing.md:{line_no}: the page {path} is not an address"
        );
        let state = State {
            path,
            logged_out: c[0].contains("logged out"),
            click: spans.get(1).cloned(),
        };
        anyhow::ensure!(
            !(state.logged_out && state.click.is_some()),
            "docs/testing.md:{line_no}: a logged-out page clicks nothing"
        );
        let xpath = code_spans(&c[3])
            .first()
            .with_context(|| format!("docs/testing.md:{line_no}: the XPath is not in `…`"))?
            .clone();
        anyhow::ensure!(
            !c[1].is_empty(),
            "docs/testing.md:{line_no}: the row names no role"
        );
        rows.push(Row {
            line: line_no,
            state,
            role: c[1].clone(),
            name: Name::parse(&c[2]),
            xpath,
        });
    }
    anyhow::ensure!(!rows.is_empty(), "the selector table has no rows");
    Ok(rows)
}

/// `GET /session/{id}/element/{id}/computedrole` or `.../computedlabel` (WebDriver §12.4.9–10).
#[derive(Debug)]
struct Computed {
    element: String,
    what: &'static str,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Computed {
    fn endpoint(
        &self,
        base_url: &reqwest::Url,
        session_id: Option<&str>,
    ) -> Result<reqwest::Url, <reqwest::Url as std::str::FromStr>::Err> {
        base_url.join(&format!(
            "session/{}/element/{}/{}",
            session_id.unwrap_or_default(),
            self.element,
            self.what
        ))
    }

    fn method_and_body(&self, _request_url: &reqwest::Url) -> (reqwest::Method, Option<String>) {
        (reqwest::Method::GET, None)
    }
}

async fn computed(h: &Harness, el: &Element, what: &'static str) -> anyhow::Result<String> {
    let v = h
        .browser
        .issue_cmd(Computed {
            element: el.element_id().to_string(),
            what,
        })
        .await
        .with_context(|| format!("ChromeDriver's {what}"))?;
    Ok(v.as_str()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" "))
}

/// What is wrong with `row` on the page as it is now (`None`: nothing).
async fn check(h: &Harness, row: &Row) -> anyhow::Result<Option<String>> {
    let deadline = Instant::now() + APPEAR;
    let mut last = String::new();
    // The page re-renders live: an element found a moment ago may be gone; look again until the deadline.
    loop {
        let found = h.browser.find_all(Locator::XPath(&row.xpath)).await?;
        let verdict: Result<(), String> = match found.as_slice() {
            [] => Err("no element matches".to_string()),
            [el] => match (
                computed(h, el, "computedrole").await,
                computed(h, el, "computedlabel").await,
            ) {
                (Ok(role), Ok(name)) if (row.role == "—" || role == row.role) && row.name.matches(&name) => {
                    return Ok(None)
                }
                (Ok(role), Ok(name)) => Err(format!(
                    "the element is role {role:?} named {name:?}; the table says role {:?}, {}",
                    row.role,
                    row.name.says()
                )),
                (Err(e), _) | (_, Err(e)) => Err(format!("{e:#}")),
            },
            many => Err(format!("{} elements match, not one", many.len())),
        };
        if let Err(why) = verdict {
            last = why;
        }
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(Some(format!(
        "docs/testing.md:{} ({}{}): {} — {last}",
        row.line,
        row.state.path,
        row.state
            .click
            .as_ref()
            .map(|c| format!(" then {c}"))
            .unwrap_or_default(),
        row.xpath
    )))
}

/// A new `americas` fleet with the demo users in the server's data directory.
fn new_fleet(h: &Harness, name: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new(tests::server_binary())
        .args([
            "fleet",
            "create",
            name,
            "--fixture",
            "americas",
            "--demo",
            "--data-dir",
        ])
        .arg(&h.server.data_dir)
        .stdout(std::process::Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "clusterdeck fleet create {name} failed");
    Ok(())
}

/// Logs in to `fleet` through the login form, as the contract tells a suite to.
async fn login(h: &Harness, fleet: &str) -> anyhow::Result<()> {
    h.open(&format!("/?fleet={fleet}")).await?;
    h.fill("User", "admin").await?;
    h.fill("Password", "ironport").await?;
    h.fill("Login host", "newyork.example.com").await?;
    h.click("Log in").await?;
    h.wait_for_xpath("//header//summary[normalize-space(.)='admin on newyork']")
        .await?;
    Ok(())
}

/// Clicks the first enabled button or disclosure whose text or accessible name is `what`.
async fn click(h: &Harness, what: &str) -> anyhow::Result<()> {
    let lit = xpath_literal(what);
    let xpath = format!(
        "(//*[self::button or self::summary][normalize-space(.)={lit} or @aria-label={lit}][not(@disabled)])[1]"
    );
    for _ in 0..5 {
        match h.wait_for_xpath(&xpath).await?.click().await {
            Err(e) if e.is_stale_element_reference() => continue,
            done => return done.with_context(|| format!("cannot click {what}")),
        }
    }
    bail!("{what} was replaced 5 times before it could be clicked")
}

#[test]
fn the_table_reads() -> anyhow::Result<()> {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/testing.md"))?;
    let rows = contract(&doc)?;
    assert!(rows.len() > 50, "{} rows", rows.len());
    let first = &rows[0];
    assert!(first.state.logged_out, "{first:?}");
    assert!(rows.iter().any(|r| r.state.click.as_deref() == Some("Upgrade")));
    assert!(rows.iter().any(|r| matches!(r.name, Name::Prefix(_))));
    assert!(rows.iter().any(|r| r.name == Name::None));
    assert_eq!(cells(r"| a | b \| c |"), ["a", "b | c"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the built site and Chromium: run by `cargo xtask test`"]
async fn every_documented_selector_is_on_its_page() -> anyhow::Result<()> {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/testing.md"))?;
    let rows = contract(&doc)?;
    let h = Harness::start().await?;
    // The pages in the table's order, each with its rows.
    let mut states: Vec<(State, Vec<Row>)> = Vec::new();
    for row in rows {
        match states.iter_mut().find(|(s, _)| *s == row.state) {
            Some((_, list)) => list.push(row),
            None => states.push((row.state.clone(), vec![row])),
        }
    }
    let mut problems = Vec::new();
    let mut fleets = 0;
    let mut fleet = String::new();
    let mut logged_in = false;
    let mut clicked = true;
    for (state, rows) in &states {
        // A fresh fleet for the first page and after any click; logged out or in as the page needs.
        if clicked {
            fleets += 1;
            fleet = format!("selectors-{fleets}");
            new_fleet(&h, &fleet)?;
            if logged_in {
                // Reloaded, the page has no question open over the account menu.
                h.open("/").await?;
                h.logout().await?;
                logged_in = false;
            }
        }
        if state.logged_out {
            if logged_in {
                h.logout().await?;
                logged_in = false;
            }
        } else if !logged_in {
            login(&h, &fleet).await?;
            logged_in = true;
        }
        h.open(&state.path.replace("<fleet>", &fleet)).await?;
        clicked = false;
        if let Some(what) = &state.click {
            clicked = true;
            // The page's first row is on it before the click: the page has loaded.
            h.wait_for_xpath("//main//h1").await?;
            click(&h, what).await?;
        }
        for row in rows {
            if let Some(problem) = check(&h, row).await? {
                eprintln!("{problem}");
                problems.push(problem);
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} row(s) of the selector contract do not hold:\n{}",
        problems.len(),
        problems.join("\n")
    );
    h.finish().await
}
