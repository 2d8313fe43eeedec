//! The README's run command, exactly as a new user types it (`cargo xtask run`, on a free port): it must
//! build, start the demo it advertises, and accept the login it prints. `cargo xtask test` runs this.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::tools::repo_root;

/// The process group of the run, killed on drop (also when a check fails).
pub(crate) struct Group(pub(crate) std::process::Child);

impl Drop for Group {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.0.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.0.id())])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request over loopback; returns the status code and the body.
fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> anyhow::Result<(u16, String)> {
    let (status, _, body) = http_with_head(port, method, path, body)?;
    Ok((status, body))
}

/// [`http`], with the response's header lines too.
pub(crate) fn http_with_head(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> anyhow::Result<(u16, String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("not an HTTP response")?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    Ok((status, head.to_string(), body.to_string()))
}

/// Runs `cargo xtask run -- --listen 127.0.0.1:<port>`, waits for the server, and logs in with the
/// credentials it printed.
/// `cargo xtask run -- <flags> --listen <a free port> --data-dir <a fresh one>`, as a user types it: the
/// running group, its port, its data directory and its stdout's lines.
fn start_run(
    flags: &[&str],
    name: &str,
) -> anyhow::Result<(Group, u16, std::path::PathBuf, mpsc::Receiver<String>)> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let listen = format!("127.0.0.1:{port}");
    // A data directory of its own: a developer's ./data (and the server that may be running on it) are
    // left alone.
    let data = std::env::temp_dir().join(format!("clusterdeck-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let data_arg = data.display().to_string();
    let mut args = vec!["xtask", "run", "--"];
    args.extend_from_slice(flags);
    args.extend(["--listen", &listen, "--data-dir", &data_arg]);
    println!("running: cargo {}", args.join(" "));
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(repo_root())
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .process_group(0);
    let mut child = cmd.spawn().context("cannot start cargo xtask run")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let group = Group(child);
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("  | {line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Ok((group, port, data, rx))
}

pub fn check() -> anyhow::Result<()> {
    let (group, port, data, rx) = start_run(&[], "readme")?;
    let listen = format!("127.0.0.1:{port}");
    // The build may take minutes on a cold cache; the server then starts in seconds.
    let deadline = Instant::now() + Duration::from_secs(900);
    let mut login = None;
    let mut listening = false;
    while !(listening && login.is_some()) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!("cargo xtask run did not print the demo login and start listening within 15 minutes");
        }
        let line = match rx.recv_timeout(left) {
            Ok(l) => l,
            Err(_) => bail!("cargo xtask run ended (or went silent) before the server was listening"),
        };
        if let Some(rest) = line.strip_prefix("Demo login: ") {
            // "user admin, password ironport, login host newyork.example.com"
            let field = |name: &str| {
                rest.split(", ")
                    .find_map(|p| p.strip_prefix(name))
                    .map(str::to_string)
            };
            login = Some((
                field("user ").context("no user in the demo login line")?,
                field("password ").context("no password in the demo login line")?,
                field("login host ").context("no login host in the demo login line")?,
            ));
        }
        if line.starts_with(&format!("listening on http://{listen}")) {
            listening = true;
        }
    }
    let (status, body) = http(port, "GET", "/api/v1/health", None)?;
    if status != 200 {
        bail!("GET /api/v1/health answered {status}: {body}");
    }
    let (user, password, host) = login.context("no demo login")?;
    let request = format!(r#"{{"user":"{user}","password":"{password}","login_host":"{host}"}}"#);
    let (status, body) = http(port, "POST", "/api/v1/login", Some(&request))?;
    if status != 200 {
        bail!("the printed demo login was refused: {status} {body}");
    }
    let (status, _) = http(port, "GET", "/", None)?;
    if status != 200 {
        bail!("the console page answered {status}");
    }
    println!("the README's run command serves the console and its printed login works");
    drop(group);
    let _ = std::fs::remove_dir_all(&data);
    sandbox()
}

/// The README's demo command, `cargo xtask run -- --sandbox`: the start page's scenarios are listed and a
/// visitor's sandbox starts.
fn sandbox() -> anyhow::Result<()> {
    let (group, port, data, rx) = start_run(&["--sandbox"], "readme-sandbox")?;
    let listen = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.starts_with(&format!("listening on http://{listen}")) => break,
            Ok(_) => {}
            Err(_) => {
                bail!("cargo xtask run -- --sandbox ended (or went silent) before the server was listening")
            }
        }
    }
    let (status, body) = http(port, "GET", "/api/v1/sandboxes/scenarios", None)?;
    if status != 200 || !body.contains("\"americas\"") {
        bail!("GET /api/v1/sandboxes/scenarios answered {status}: {body}");
    }
    let (status, body) = http(
        port,
        "POST",
        "/api/v1/sandboxes",
        Some(r#"{"scenario":"americas"}"#),
    )?;
    if status != 200 || !body.contains("\"fleet\":\"sb-") {
        bail!("a visitor's sandbox did not start: {status} {body}");
    }
    println!("the README's sandbox command lists the scenarios and starts a visitor's sandbox");
    drop(group);
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}

/// Starts the debug build's `clusterdeck serve --demo <flags>` on a free loopback port with the data
/// directory `data`; its process group and URL.
pub(crate) fn serve_debug(flags: &[&str], data: &std::path::Path) -> anyhow::Result<(Group, String)> {
    let root = repo_root();
    let bin = crate::tools::target_dir().join("debug/clusterdeck");
    anyhow::ensure!(bin.exists(), "{} is not built", bin.display());
    anyhow::ensure!(
        root.join("site/index.html").exists(),
        "site/ is not built: run `cargo xtask build` (or `cargo xtask build --dev`)"
    );
    let mut cmd = Command::new(&bin);
    cmd.args(["serve", "--demo"])
        .args(flags)
        .args(["--listen", "127.0.0.1:0"])
        .arg("--site-dir")
        .arg(root.join("site"))
        .arg("--data-dir")
        .arg(data)
        .env("CLUSTERDECK_LOG", "warn")
        .stdout(Stdio::piped())
        .process_group(0);
    let mut server = Group(cmd.spawn().context("cannot start the server")?);
    let stdout = server.0.stdout.take().context("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .with_context(|| format!("unexpected first line from the server: {line:?}"))?
        .to_string();
    Ok((server, url))
}
