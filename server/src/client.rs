//! `clusterdeck cli`: the CLI of rules §10 against a running server, with the same prompts as the web
//! terminal. Interactive, or one line with `-c`.

use std::io::{BufRead, Write};

use anyhow::{bail, Context};
use cluster::wire::{ApiError, CliRequest, CliResponse, CliStatus, LoginRequest, SessionInfo};

/// Options of `clusterdeck cli`.
#[derive(Debug, Clone, clap::Args)]
pub struct CliOptions {
    /// The server, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "CLUSTERDECK_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    #[arg(long)]
    pub user: String,
    /// The machine to log into (its user database decides).
    #[arg(long)]
    pub login_host: String,
    /// The fleet to log into (default: the server's `default` fleet).
    #[arg(long)]
    pub fleet: Option<String>,
    /// Run this one line (answering questions from standard input) and exit.
    #[arg(short = 'c', long = "command")]
    pub command: Option<String>,
}

async fn error_of(response: reqwest::Response) -> anyhow::Error {
    let status = response.status();
    match response.json::<ApiError>().await {
        Ok(e) => anyhow::anyhow!("{} ({status})", e.message),
        Err(_) => anyhow::anyhow!("the server answered {status}"),
    }
}

/// Runs the client; returns the process exit code (0, or 1 when the last line was refused).
pub async fn run(opts: CliOptions) -> anyhow::Result<i32> {
    let password = match std::env::var("CLUSTERDECK_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            eprint!("Password for {}@{}: ", opts.user, opts.login_host);
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    let base = opts.server.trim_end_matches('/').to_string();
    // Changes must carry the server's Origin (a browser sends it; so does this client).
    let origin = reqwest::Url::parse(&base)
        .with_context(|| format!("--server {base} is not a URL"))?
        .origin()
        .ascii_serialization();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ORIGIN,
        reqwest::header::HeaderValue::from_str(&origin).context("the server URL cannot be an Origin")?,
    );
    let http = reqwest::Client::builder().default_headers(headers).build()?;
    let body = LoginRequest {
        user: opts.user.clone(),
        password,
        login_host: opts.login_host.clone(),
        fleet: opts.fleet.clone(),
        keep_current: false,
    };
    // "Other logins of this account are being checked right now": the server asks for a second.
    let mut tries = 0;
    let response = loop {
        let r = http
            .post(format!("{base}/api/v1/login"))
            .json(&body)
            .send()
            .await
            .with_context(|| format!("cannot reach {base}"))?;
        let busy = r.status() == 429
            && r.headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                == Some("1");
        tries += 1;
        if busy && tries < 4 {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            continue;
        }
        break r;
    };
    if !response.status().is_success() {
        return Err(error_of(response).await);
    }
    let cookie = response
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("the server set no session cookie")?
        .to_string();
    let info: SessionInfo = response.json().await?;
    let send = |line: String| {
        let http = http.clone();
        let cookie = cookie.clone();
        let url = format!("{base}/api/v1/cli");
        async move {
            let r = http
                .post(url)
                .header(reqwest::header::COOKIE, cookie)
                .json(&CliRequest { line })
                .send()
                .await?;
            if !r.status().is_success() {
                return Err(error_of(r).await);
            }
            Ok::<CliResponse, anyhow::Error>(r.json().await?)
        }
    };
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut prompt = info.prompt;
    let mut last = CliStatus::Ok;
    let mut pending_question = false;
    if let Some(line) = opts.command {
        let mut r = send(line).await?;
        loop {
            print_response(&r);
            last = r.status;
            if r.status != CliStatus::Prompt {
                break;
            }
            let Some(answer) = lines.next() else {
                bail!("the command asked a question and standard input ended")
            };
            r = send(answer?).await?;
        }
        return Ok(if last == CliStatus::Rejected { 1 } else { 0 });
    }
    loop {
        if !pending_question {
            print!("{prompt} ");
        }
        std::io::stdout().flush()?;
        let Some(line) = lines.next() else { break };
        let line = line?;
        if !pending_question && matches!(line.trim(), "exit" | "quit") {
            break;
        }
        let r = send(line).await?;
        print_response(&r);
        prompt = r.prompt.clone();
        last = r.status;
        pending_question = r.status == CliStatus::Prompt;
    }
    Ok(if last == CliStatus::Rejected { 1 } else { 0 })
}

fn print_response(r: &CliResponse) {
    let n = r.output.len();
    for (i, line) in r.output.iter().enumerate() {
        if r.status == CliStatus::Prompt && i + 1 == n {
            print!("{line} ");
        } else {
            println!("{line}");
        }
    }
    let _ = std::io::stdout().flush();
}
