//! # tests — harness for the end-to-end tests
//!
//! [`Harness::start`] starts the real `clusterdeck` binary on a free port with a temporary data directory,
//! starts ChromeDriver in its own process group, and opens a headless Chromium session. Dropping the
//! harness (also while a test panics) kills every process it started.
//!
//! The tests need the built site (`cargo xtask build`) and Chromium; `cargo xtask test` provides both and
//! runs them with `--ignored`.
//!
//! [`drill`] is the crash drill (R1) and [`bench`] the load generator and browser measurements of
//! `cargo xtask bench`.

pub mod bench;
pub mod drill;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use fantoccini::{Client, ClientBuilder, Locator};

/// How often an element replaced by a live re-render between finding and using it is found again.
const STALE_RETRIES: usize = 5;

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests lives in the workspace")
        .to_path_buf()
}

/// The `clusterdeck` binary: `CLUSTERDECK_BIN`, else `debug/clusterdeck` in Cargo's target directory
/// (`CARGO_TARGET_DIR`, else `target/`).
pub fn server_binary() -> PathBuf {
    std::env::var_os("CLUSTERDECK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .filter(|d| !d.is_empty())
                .map_or_else(
                    || repo_root().join("target"),
                    |d| repo_root().join(PathBuf::from(d)),
                );
            target.join("debug/clusterdeck")
        })
}

/// The built site: `CLUSTERDECK_SITE_DIR`, else `site/`.
pub fn site_dir() -> PathBuf {
    std::env::var_os("CLUSTERDECK_SITE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("site"))
}

/// A child process killed, with its whole process group, on drop.
pub struct ProcessGuard {
    child: Child,
}

impl ProcessGuard {
    /// Starts `cmd` in a new process group.
    pub fn spawn(name: &str, cmd: &mut Command) -> anyhow::Result<Self> {
        cmd.process_group(0);
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {name} ({:?})", cmd.get_program()))?;
        Ok(Self { child })
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        // The group id is the child's pid (process_group(0)): this also reaches chromedriver's Chromiums.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Simulated seconds per real second.
    pub speed: f64,
    /// The fixture a new data directory is seeded with.
    pub fixture: String,
    /// Reuse this data directory (kept after the server stops); a fresh temporary one when `None`.
    pub data_dir: Option<PathBuf>,
    /// More `serve` flags.
    pub flags: Vec<String>,
    /// The address to listen on (`127.0.0.1:0`: a free port).
    pub listen: String,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            speed: 7.0,
            fixture: "americas".into(),
            data_dir: None,
            flags: Vec::new(),
            listen: "127.0.0.1:0".into(),
        }
    }
}

/// A running `clusterdeck serve` on 127.0.0.1 with its own data directory.
pub struct Server {
    pub url: String,
    pub data_dir: PathBuf,
    opts: ServerOptions,
    _temp: Option<tempfile::TempDir>,
    process: ProcessGuard,
}

impl Server {
    pub fn start() -> anyhow::Result<Server> {
        Server::start_with(ServerOptions::default())
    }

    /// A server whose simulated clock runs `speed` times real time (an upgrade takes 420 / speed s).
    pub fn start_with_speed(speed: f64) -> anyhow::Result<Server> {
        Server::start_with(ServerOptions {
            speed,
            ..ServerOptions::default()
        })
    }

    pub fn start_with(opts: ServerOptions) -> anyhow::Result<Server> {
        let bin = server_binary();
        if !bin.exists() {
            bail!(
                "{} does not exist: build it with `cargo build --workspace --exclude app --exclude xtask`",
                bin.display()
            );
        }
        let kept = opts.clone();
        let (data_dir, temp) = match opts.data_dir {
            Some(d) => (d, None),
            None => {
                let t = tempfile::tempdir()?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        // Many SSE subscribers need more descriptors than the usual soft limit of 1024.
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("ulimit -n 8192 2>/dev/null; exec \"$0\" \"$@\"")
            .arg(&bin)
            .arg("serve")
            .arg("--demo")
            .arg("--listen")
            .arg(&opts.listen)
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--site-dir")
            .arg(site_dir())
            .arg("--speed")
            .arg(opts.speed.to_string())
            .arg("--fixture")
            .arg(&opts.fixture)
            .args(&opts.flags)
            .env("CLUSTERDECK_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut process = ProcessGuard::spawn("clusterdeck", &mut cmd)?;
        let stdout = process.child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .with_context(|| format!("unexpected first line from the server: {line:?}"))?
            .to_string();
        Ok(Server {
            url,
            data_dir,
            opts: kept,
            _temp: temp,
            process,
        })
    }

    /// SIGKILL: no shutdown, no final snapshot.
    pub fn kill(self) {
        drop(self.process);
    }

    /// The same server, not owned: dropping it leaves the server running (for a second browser).
    fn alias(&self) -> anyhow::Result<Server> {
        Ok(Server {
            url: self.url.clone(),
            data_dir: self.data_dir.clone(),
            opts: self.opts.clone(),
            _temp: None,
            process: ProcessGuard::spawn("true", &mut Command::new("true"))?,
        })
    }

    /// SIGKILL, keeping the data directory: the server is gone until [`Server::start_again`].
    pub fn stop(&mut self) -> anyhow::Result<()> {
        let old = std::mem::replace(
            &mut self.process,
            ProcessGuard::spawn("true", &mut Command::new("true"))?,
        );
        drop(old);
        Ok(())
    }

    /// The same server again, on the same address and data directory, after [`Server::stop`].
    pub fn start_again(&mut self) -> anyhow::Result<()> {
        let port = self
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse::<u16>().ok())
            .context("the server URL has no port")?;
        let mut opts = self.opts.clone();
        opts.data_dir = Some(self.data_dir.clone());
        opts.listen = format!("127.0.0.1:{port}");
        // The port is free once the old process is gone; a few tries cover the kernel's delay.
        let mut last = None;
        for _ in 0..20 {
            match Server::start_with(opts.clone()) {
                Ok(mut fresh) => {
                    std::mem::swap(&mut self.process, &mut fresh.process);
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("the server did not start again")))
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// ChromeDriver, ready to take sessions.
pub struct Driver {
    pub url: String,
    _process: ProcessGuard,
}

impl Driver {
    pub async fn start() -> anyhow::Result<Driver> {
        let port = free_port()?;
        let bin = std::env::var_os("CHROMEDRIVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| "/usr/bin/chromedriver".into());
        let mut cmd = Command::new(&bin);
        cmd.arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let process = ProcessGuard::spawn("chromedriver", &mut cmd)?;
        let url = format!("http://127.0.0.1:{port}");
        // Poll /status until the driver says it is ready.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if status_ready(port) {
                break;
            }
            if Instant::now() > deadline {
                bail!("chromedriver did not become ready on port {port} within 20 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Driver {
            url,
            _process: process,
        })
    }
}

/// A minimal blocking `GET /status` over loopback.
fn status_ready(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut body = String::new();
    let _ = stream.read_to_string(&mut body);
    body.contains("\"ready\":true") || body.contains("\"ready\": true")
}

/// A server, a driver and a browser session.
pub struct Harness {
    pub browser: Client,
    pub server: Server,
    _profile: tempfile::TempDir,
    driver: Driver,
}

/// One entry of the browser's console log, as ChromeDriver reports it.
#[derive(Debug, Clone)]
pub struct ConsoleEntry {
    pub level: String,
    pub source: String,
    pub message: String,
}

impl ConsoleEntry {
    /// Whether the entry is an error of the page: a script error or `console.error`, a CSP violation, or
    /// a failed load of the site's own files or a server error (5xx). API answers the console handles
    /// (401 before logging in, 409 on a stale revision, 4xx refusals) are not errors.
    pub fn is_error(&self) -> bool {
        let csp = self.message.contains("Content Security Policy") || self.message.contains("Refused to");
        if csp {
            return true;
        }
        if self.level != "SEVERE" {
            return false;
        }
        if self.source == "network" {
            let status = self
                .message
                .split("status of ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .and_then(|c| c.parse::<u16>().ok());
            let api = self.message.contains("/api/v1/");
            return match status {
                Some(s) if s >= 500 => true,
                Some(_) if api => false,
                _ => true,
            };
        }
        true
    }
}

impl Harness {
    pub async fn start() -> anyhow::Result<Harness> {
        Harness::start_with(ServerOptions::default()).await
    }

    pub async fn start_with_speed(speed: f64) -> anyhow::Result<Harness> {
        Harness::start_with(ServerOptions {
            speed,
            ..ServerOptions::default()
        })
        .await
    }

    pub async fn start_with(opts: ServerOptions) -> anyhow::Result<Harness> {
        Harness::attach(Server::start_with(opts)?).await
    }

    /// Another browser (its own profile, so its own cookies) on the same server: a second visitor. The
    /// server stays this harness's.
    pub async fn another_browser(&self) -> anyhow::Result<Harness> {
        Harness::attach(self.server.alias()?).await
    }

    async fn attach(server: Server) -> anyhow::Result<Harness> {
        let driver = Driver::start().await?;
        let profile = tempfile::tempdir()?;
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let args = serde_json::json!([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
            format!("--user-data-dir={}", profile.path().display()),
        ]);
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": chromium, "args": args }),
        );
        // The console log is read back at the end of every test (`finish`).
        caps.insert(
            "goog:loggingPrefs".into(),
            serde_json::json!({ "browser": "ALL" }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let browser = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .context("cannot open a Chromium session through chromedriver")?;
        Ok(Harness {
            browser,
            server,
            _profile: profile,
            driver,
        })
    }

    /// The browser console's entries since the last call (ChromeDriver's log endpoint).
    pub async fn console(&self) -> anyhow::Result<Vec<ConsoleEntry>> {
        let id = self
            .browser
            .session_id()
            .await?
            .context("the browser session has no id")?;
        let r = reqwest::Client::new()
            .post(format!("{}/session/{id}/se/log", self.driver.url))
            .json(&serde_json::json!({ "type": "browser" }))
            .send()
            .await?;
        let body: serde_json::Value = r.json().await?;
        let entries = body["value"].as_array().cloned().unwrap_or_default();
        Ok(entries
            .into_iter()
            .map(|e| ConsoleEntry {
                level: e["level"].as_str().unwrap_or_default().to_string(),
                source: e["source"].as_str().unwrap_or_default().to_string(),
                message: e["message"].as_str().unwrap_or_default().to_string(),
            })
            .collect())
    }

    /// Fails when the browser console holds an error or a CSP violation (see [`ConsoleEntry::is_error`]).
    pub async fn assert_clean_console(&self) -> anyhow::Result<()> {
        let errors: Vec<String> = self
            .console()
            .await?
            .into_iter()
            .filter(ConsoleEntry::is_error)
            .map(|e| format!("[{} {}] {}", e.level, e.source, e.message))
            .collect();
        if !errors.is_empty() {
            bail!(
                "the browser console has {} error(s):\n{}",
                errors.len(),
                errors.join("\n")
            );
        }
        Ok(())
    }

    /// Opens `path` on the server.
    pub async fn open(&self, path: &str) -> anyhow::Result<()> {
        self.browser
            .goto(&format!("{}{path}", self.server.url))
            .await
            .with_context(|| format!("cannot open {path}"))
    }

    /// Waits (up to 15 s) for an element matching an XPath expression.
    pub async fn wait_for_xpath(&self, xpath: &str) -> anyhow::Result<fantoccini::elements::Element> {
        self.wait_for_xpath_within(xpath, Duration::from_secs(15)).await
    }

    /// Waits up to `limit` for an element matching an XPath expression: for what a server timer
    /// (a sandbox's time to live) brings about, later than a click's answer.
    pub async fn wait_for_xpath_within(
        &self,
        xpath: &str,
        limit: Duration,
    ) -> anyhow::Result<fantoccini::elements::Element> {
        match self
            .browser
            .wait()
            .at_most(limit)
            .for_element(Locator::XPath(xpath))
            .await
        {
            Ok(el) => Ok(el),
            Err(e) => {
                let page = self.page_text().await;
                let shot = std::env::temp_dir().join(format!("clusterdeck-e2e-{}.png", std::process::id()));
                if let Ok(png) = self.browser.screenshot().await {
                    let _ = std::fs::write(&shot, png);
                }
                Err(anyhow::anyhow!(e)).context(format!(
                    "no element matches {xpath} within {} s; screenshot {}; the page shows:\n{page}",
                    limit.as_secs(),
                    shot.display()
                ))
            }
        }
    }

    /// The visible text of the page (for failure messages).
    pub async fn page_text(&self) -> String {
        match self
            .browser
            .execute("return document.body.innerText.slice(0, 3000);", vec![])
            .await
        {
            Ok(v) => v.as_str().unwrap_or_default().to_string(),
            Err(e) => format!("(cannot read the page: {e})"),
        }
    }

    /// The input inside the `<label>` whose text starts with `label`.
    pub async fn field(&self, label: &str) -> anyhow::Result<fantoccini::elements::Element> {
        self.wait_for_xpath(&format!(
            "//label[starts-with(normalize-space(.), {})]//*[self::input or self::select or self::textarea]",
            xpath_literal(label)
        ))
        .await
    }

    /// Replaces the value of the field labelled `label`.
    pub async fn fill(&self, label: &str, value: &str) -> anyhow::Result<()> {
        let field = self.field(label).await?;
        field.clear().await?;
        field
            .send_keys(value)
            .await
            .with_context(|| format!("cannot type into {label}"))
    }

    /// The button whose accessible text is `text`.
    pub async fn button(&self, text: &str) -> anyhow::Result<fantoccini::elements::Element> {
        self.wait_for_xpath(&format!("//button[normalize-space(.)={}]", xpath_literal(text)))
            .await
    }

    /// Clicks the button whose accessible text is `text`, finding it again if a re-render replaced it.
    pub async fn click(&self, text: &str) -> anyhow::Result<()> {
        self.click_in("", text).await
    }

    /// Opens the console and logs in through the login form.
    pub async fn login(&self, user: &str, password: &str, host: &str) -> anyhow::Result<()> {
        self.open("/").await?;
        self.fill("User", user).await?;
        self.fill("Password", password).await?;
        self.fill("Login host", host).await?;
        self.click("Log in").await?;
        self.wait_for_xpath(&format!(
            "//details[@class='account']/summary[starts-with(normalize-space(.), {})]",
            xpath_literal(&format!("{user} on "))
        ))
        .await?;
        Ok(())
    }

    /// Clicks the button `text` inside the element matched by `scope` (XPath).
    /// The page re-renders live, so a button found a moment ago may have been replaced: it is found again.
    pub async fn click_in(&self, scope: &str, text: &str) -> anyhow::Result<()> {
        let xpath = format!("{scope}//button[normalize-space(.)={}]", xpath_literal(text));
        for _ in 0..STALE_RETRIES {
            match self.wait_for_xpath(&xpath).await?.click().await {
                Err(e) if e.is_stale_element_reference() => continue,
                done => return done.with_context(|| format!("cannot click {text} in {scope}")),
            }
        }
        bail!("{text} in {scope} was replaced {STALE_RETRIES} times before it could be clicked")
    }

    /// Waits until some element matched by `scope` contains `text`; returns its text.
    /// Like [`Harness::click_in`], an element replaced by a re-render is found again.
    pub async fn wait_text(&self, scope: &str, text: &str) -> anyhow::Result<String> {
        let xpath = format!("{scope}[contains(., {})]", xpath_literal(text));
        for _ in 0..STALE_RETRIES {
            match self.wait_for_xpath(&xpath).await?.text().await {
                Err(e) if e.is_stale_element_reference() => continue,
                read => return Ok(read?),
            }
        }
        bail!("the element of {scope} holding {text:?} was replaced {STALE_RETRIES} times before it could be read")
    }

    /// Answers the question dialog with the button `text` ("Yes", "No", "Choice 2", ...); returns the question.
    pub async fn answer(&self, text: &str) -> anyhow::Result<String> {
        let question = self.wait_text("//*[@role='dialog']", "").await?;
        self.click_in("//*[@role='dialog']", text).await?;
        Ok(question)
    }

    /// Logs out through the header button.
    pub async fn logout(&self) -> anyhow::Result<()> {
        self.open_account_menu().await?;
        self.click("Log out").await?;
        self.field("User").await?;
        Ok(())
    }

    /// Opens the account menu in the header (sessions, Log out), if it is not open.
    pub async fn open_account_menu(&self) -> anyhow::Result<()> {
        let menu = self.wait_for_xpath("//details[@class='account']").await?;
        if menu.attr("open").await?.is_none() {
            self.wait_for_xpath("//details[@class='account']/summary")
                .await?
                .click()
                .await?;
        }
        Ok(())
    }

    /// Runs a Chrome DevTools command in the page (ChromeDriver's CDP endpoint).
    async fn cdp(&self, cmd: &str, params: serde_json::Value) -> anyhow::Result<()> {
        let id = self
            .browser
            .session_id()
            .await?
            .context("the browser session has no id")?;
        let r = reqwest::Client::new()
            .post(format!("{}/session/{id}/goog/cdp/execute", self.driver.url))
            .json(&serde_json::json!({ "cmd": cmd, "params": params }))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("{cmd} failed: {}", r.text().await.unwrap_or_default());
        }
        Ok(())
    }

    /// Lays the page out at `width` × `height` CSS pixels, as a phone (below 700 px) or a desktop would
    /// (a headless window cannot be narrower than 500 px, a device-metrics override can).
    pub async fn viewport(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            serde_json::json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 700 }),
        )
        .await
    }

    /// Emulates the user's colour-scheme preference (`"light"` or `"dark"`).
    pub async fn color_scheme(&self, scheme: &str) -> anyhow::Result<()> {
        self.cdp(
            "Emulation.setEmulatedMedia",
            serde_json::json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        )
        .await
    }

    /// The serious and critical axe-core violations of the page as it is now (WCAG 2.0–2.2, A and AA),
    /// each with up to three of the elements concerned. axe-core comes from `AXE_CORE_JS` (set by
    /// `cargo xtask test`, which installs the pinned release), else `.tools/`.
    pub async fn axe(&self) -> anyhow::Result<Vec<String>> {
        let path = std::env::var_os("AXE_CORE_JS")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join(".tools/node_modules/axe-core/axe.min.js"));
        let source = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read axe-core at {} (run `cargo xtask test`)",
                path.display()
            )
        })?;
        self.browser
            .execute(&format!("{source}\nreturn true;"), vec![])
            .await
            .context("cannot inject axe-core")?;
        let found = self
            .browser
            .execute(
                "return axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
                   .then(r => r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at '
                        + v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 160)).join(' | ')));",
                vec![],
            )
            .await
            .context("axe.run failed")?;
        Ok(found
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default())
    }

    /// What scrolls sideways, if the page does: the document's width beyond the viewport and the widest
    /// elements that stick out.
    pub async fn sideways_scroll(&self) -> anyhow::Result<Option<String>> {
        let v = self
            .browser
            .execute(
                "const w = document.documentElement.clientWidth;
                 if (document.documentElement.scrollWidth <= w) return null;
                 const out = [...document.querySelectorAll('body *')]
                   .filter(e => e.getBoundingClientRect().right > w + 1)
                   .slice(0, 5)
                   .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + ' right=' + Math.round(e.getBoundingClientRect().right));
                 return 'scrollWidth ' + document.documentElement.scrollWidth + ' > ' + w + ': ' + out.join(', ');",
                vec![],
            )
            .await?;
        Ok(v.as_str().map(str::to_string))
    }

    /// Checks the browser console (no error, no CSP violation), then ends the browser session; the
    /// processes stop when the harness drops.
    pub async fn finish(self) -> anyhow::Result<()> {
        let clean = self.assert_clean_console().await;
        self.browser
            .close()
            .await
            .context("cannot close the browser session")?;
        clean
    }
}

/// An XPath string literal for `s` (handles both quote kinds).
pub fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        let parts: Vec<String> = s.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// The element with ARIA role `role` and accessible label `label`, as XPath.
pub fn by_role(role: &str, label: &str) -> String {
    format!(
        "//*[@role={} and @aria-label={}]",
        xpath_literal(role),
        xpath_literal(label)
    )
}

/// A second, API-only session against the same server (what "another administrator" does).
#[derive(Clone)]
pub struct ApiSession {
    http: reqwest::Client,
    url: String,
    cookie: String,
}

impl ApiSession {
    pub async fn login(
        server: &Server,
        user: &str,
        password: &str,
        host: &str,
    ) -> anyhow::Result<ApiSession> {
        ApiSession::login_url(&server.url, user, password, host).await
    }

    pub async fn login_url(url: &str, user: &str, password: &str, host: &str) -> anyhow::Result<ApiSession> {
        ApiSession::login_fleet(url, None, user, password, host).await
    }

    /// A session in `fleet` (`None`: the default fleet).
    pub async fn login_fleet(
        url: &str,
        fleet: Option<&str>,
        user: &str,
        password: &str,
        host: &str,
    ) -> anyhow::Result<ApiSession> {
        // Every request carries the server's Origin, as a browser's would (changes without it are refused).
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ORIGIN,
            reqwest::header::HeaderValue::from_str(url)?,
        );
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .default_headers(headers)
            .build()?;
        let mut body = serde_json::json!({"user": user, "password": password, "login_host": host});
        if let Some(f) = fleet {
            body["fleet"] = serde_json::json!(f);
        }
        let r = http
            .post(format!("{url}/api/v1/login"))
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(
            r.status().is_success(),
            "API login of {user}@{host} failed: {}",
            r.status()
        );
        let cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .context("no session cookie")?
            .to_string();
        Ok(ApiSession {
            http,
            url: url.to_string(),
            cookie,
        })
    }

    /// The session cookie (`cd_session=...`).
    pub fn cookie(&self) -> &str {
        &self.cookie
    }

    /// `GET` a JSON document.
    pub async fn get_json(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::from_str(&self.get_text(path).await?)?)
    }

    /// `GET` a document as text.
    pub async fn get_text(&self, path: &str) -> anyhow::Result<String> {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .header("cookie", &self.cookie)
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "GET {path}: {}", r.status());
        Ok(r.text().await?)
    }

    /// Runs a CLI line (or answers the previous question); returns the JSON answer.
    pub async fn cli(&self, line: &str) -> anyhow::Result<serde_json::Value> {
        let r = self
            .http
            .post(format!("{}/api/v1/cli", self.url))
            .header("cookie", &self.cookie)
            .json(&serde_json::json!({ "line": line }))
            .send()
            .await?;
        Ok(r.json().await?)
    }

    /// Sends a typed command; returns the status and the JSON body.
    pub async fn command(&self, command: serde_json::Value) -> anyhow::Result<(u16, serde_json::Value)> {
        self.command_body(serde_json::json!({ "command": command })).await
    }

    /// Sends a whole `POST /api/v1/commands` body (command, mode, revision, answers).
    pub async fn command_body(&self, body: serde_json::Value) -> anyhow::Result<(u16, serde_json::Value)> {
        let r = self
            .http
            .post(format!("{}/api/v1/commands", self.url))
            .header("cookie", &self.cookie)
            .json(&body)
            .send()
            .await?;
        Ok((r.status().as_u16(), r.json().await?))
    }
}
