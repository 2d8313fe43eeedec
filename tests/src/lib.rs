//! # tests — harness for the end-to-end tests
//!
//! [`Harness::start`] starts the real `clusterdeck` binary on a free port with a temporary data directory,
//! starts ChromeDriver in its own process group, and opens a headless Chromium session. Dropping the
//! harness (also while a test panics) kills every process it started.
//!
//! The tests need the built site (`cargo xtask build`) and Chromium; `cargo xtask test` provides both and
//! runs them with `--ignored`.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use fantoccini::{Client, ClientBuilder, Locator};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests lives in the workspace")
        .to_path_buf()
}

/// The `clusterdeck` binary: `CLUSTERDECK_BIN`, else `target/debug/clusterdeck`.
pub fn server_binary() -> PathBuf {
    std::env::var_os("CLUSTERDECK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/debug/clusterdeck"))
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

/// A running `clusterdeck serve` on 127.0.0.1 with its own data directory.
pub struct Server {
    pub url: String,
    pub data_dir: tempfile::TempDir,
    _process: ProcessGuard,
}

impl Server {
    pub fn start() -> anyhow::Result<Server> {
        let bin = server_binary();
        if !bin.exists() {
            bail!(
                "{} does not exist: build it with `cargo build --workspace --exclude app --exclude xtask`",
                bin.display()
            );
        }
        let data_dir = tempfile::tempdir()?;
        let mut cmd = Command::new(&bin);
        cmd.arg("serve")
            .arg("--demo")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir.path())
            .arg("--site-dir")
            .arg(site_dir())
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
            _process: process,
        })
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
    _driver: Driver,
}

impl Harness {
    pub async fn start() -> anyhow::Result<Harness> {
        let server = Server::start()?;
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
            _driver: driver,
        })
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
        self.browser
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::XPath(xpath))
            .await
            .with_context(|| format!("no element matches {xpath} within 15 s"))
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

    /// Opens the console and logs in through the login form.
    pub async fn login(&self, user: &str, password: &str, host: &str) -> anyhow::Result<()> {
        self.open("/").await?;
        self.fill("User", user).await?;
        self.fill("Password", password).await?;
        self.fill("Login host", host).await?;
        self.button("Log in").await?.click().await?;
        self.wait_for_xpath(&format!(
            "//*[@aria-label='Signed in as' and contains(., {})]",
            xpath_literal(user)
        ))
        .await?;
        Ok(())
    }

    /// Ends the browser session; the processes stop when the harness drops.
    pub async fn finish(self) -> anyhow::Result<()> {
        self.browser
            .close()
            .await
            .context("cannot close the browser session")
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
