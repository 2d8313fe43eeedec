//! Helpers shared by the API test binaries: the real server process on port 0 with a temporary data
//! directory, and a logged-in client that keeps its cookie by hand, as a browser would.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    pub fn start(data_dir: &Path) -> Server {
        Server::start_with(data_dir, &[])
    }

    /// With more `serve` flags.
    pub fn start_with(data_dir: &Path, flags: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_clusterdeck"))
            .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
            .args(if flags.contains(&"--site-dir") {
                &[][..]
            } else {
                &["--site-dir", "/nonexistent"][..]
            })
            .arg("--data-dir")
            .arg(data_dir)
            .args(flags)
            .env("CLUSTERDECK_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the clusterdeck binary starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line: {line:?}"))
            .to_string();
        Server { child, url }
    }

    /// SIGKILL: no shutdown, no final snapshot.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A logged-in client (cookie kept by hand, as a browser would).
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub url: String,
    pub cookie: String,
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Logs into the default fleet.
pub async fn login(url: &str, user: &str, password: &str, host: &str) -> reqwest::Response {
    login_to(url, None, user, password, host).await
}

/// Logs into `fleet` (`None`: the default fleet).
pub async fn login_to(
    url: &str,
    fleet: Option<&str>,
    user: &str,
    password: &str,
    host: &str,
) -> reqwest::Response {
    let mut body = json!({"user": user, "password": password, "login_host": host});
    if let Some(f) = fleet {
        body["fleet"] = json!(f);
    }
    http()
        .post(format!("{url}/api/v1/login"))
        .header("origin", url)
        .json(&body)
        .send()
        .await
        .unwrap()
}

impl Client {
    pub async fn new(url: &str, user: &str, password: &str, host: &str) -> Client {
        Client::new_in(url, None, user, password, host).await
    }

    /// A session in `fleet` (`None`: the default fleet).
    pub async fn new_in(url: &str, fleet: Option<&str>, user: &str, password: &str, host: &str) -> Client {
        let r = login_to(url, fleet, user, password, host).await;
        assert_eq!(r.status(), 200, "login {user}@{host}");
        let set = r
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
        Client {
            http: http(),
            url: url.to_string(),
            cookie: set.split(';').next().unwrap().to_string(),
        }
    }

    pub async fn cli(&self, line: &str) -> Value {
        let r = self
            .http
            .post(format!("{}/api/v1/cli", self.url))
            .header("cookie", &self.cookie)
            .header("origin", &self.url)
            .json(&json!({ "line": line }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{line}");
        r.json().await.unwrap()
    }

    /// A JSON POST to `path` with the session's cookie and Origin; the status and the body (`Null` when
    /// it is not JSON).
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .header("cookie", &self.cookie)
            .header("origin", &self.url)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    pub async fn command(&self, body: Value) -> (u16, Value) {
        self.post("/api/v1/commands", body).await
    }

    /// `POST /api/v1/simulator` with `body`.
    pub async fn simulate(&self, body: Value) -> (u16, Value) {
        self.post("/api/v1/simulator", body).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    pub async fn revision(&self) -> u64 {
        self.get("/api/v1/fleet").await.1["revision"].as_u64().unwrap()
    }
}

pub fn lines(v: &Value) -> String {
    v["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `clusterdeck <args>` to completion; returns (success, stdout, stderr).
pub fn clusterdeck(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clusterdeck"))
        .args(args)
        .env("CLUSTERDECK_LOG", "warn")
        .output()
        .expect("the clusterdeck binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Reads the event stream of `client` for `for_ms` milliseconds, from revision `since`; returns the text.
pub async fn read_events(client: &Client, since: u64, for_ms: u64) -> String {
    use futures_util::StreamExt;
    let r = client
        .http
        .get(format!("{}/api/v1/events?since={since}", client.url))
        .header("cookie", &client.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut body = r.bytes_stream();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(for_ms);
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout_at(deadline, body.next()).await {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text
}
