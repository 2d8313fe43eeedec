//! The accept loop. `axum::serve` sets no header-read timeout and no bound on connections, so 200
//! sockets sending half a header stayed open for ever (issue 11 item 7); here every connection is
//! HTTP/1.1 with hyper's header-read timeout (which also closes idle keep-alive connections), each
//! address holds at most `per_address` connections and the server at most `total` (past either, a
//! connection gets a 503 and is closed at once), and stopping asks every connection to finish what it
//! is answering and waits for them only so long.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// Bounds of the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A client must send a request's whole header within this (and an idle connection closes after it).
    pub header_read_timeout: Duration,
    /// Open connections per client address.
    pub per_address: usize,
    /// Open connections in all.
    pub total: usize,
    /// How long stopping waits for connections to finish.
    pub drain: Duration,
}

const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\n\
retry-after: 1\r\ncontent-length: 75\r\n\r\n{\"code\":\"busy\",\"message\":\"Too many connections from this address; retry.\"}";

/// Open connections by address.
#[derive(Default)]
struct Open {
    by_address: HashMap<IpAddr, usize>,
    total: usize,
}

/// One admitted connection; leaving frees its place.
struct Admitted {
    open: Arc<Mutex<Open>>,
    ip: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_address.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.by_address.remove(&self.ip);
            }
        }
    }
}

fn admit(open: &Arc<Mutex<Open>>, ip: IpAddr, limits: &Limits) -> Option<Admitted> {
    let mut o = open.lock().unwrap_or_else(|p| p.into_inner());
    let mine = o.by_address.get(&ip).copied().unwrap_or(0);
    if mine >= limits.per_address || o.total >= limits.total {
        return None;
    }
    o.by_address.insert(ip, mine + 1);
    o.total += 1;
    Some(Admitted {
        open: open.clone(),
        ip,
    })
}

/// Resolves once `stop` is true (or its sender is gone).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Serves `app` on `listener` until `stop` becomes true; then lets open connections finish (at most
/// `limits.drain`) and returns.
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, mut stop: watch::Receiver<bool>) {
    let open = Arc::new(Mutex::new(Open::default()));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(64 * 1024);
    let builder = Arc::new(builder);
    let mut tasks = tokio::task::JoinSet::new();
    let mut last_accept_error = None::<tokio::time::Instant>;
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stopped(&mut stop) => break,
        };
        // Reap finished connections so the set does not grow.
        while tasks.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors, say: log once a second, back off briefly, carry on.
                if last_accept_error.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    last_accept_error = Some(tokio::time::Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let ip = peer.ip().to_canonical();
        let Some(admitted) = admit(&open, ip, &limits) else {
            let _ = stream.try_write(BUSY);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                req.map(axum::body::Body::new)
            });
        let (builder, mut stop) = (builder.clone(), stop.clone());
        tasks.spawn(async move {
            let _admitted = admitted;
            let conn = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stopped(&mut stop) => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    drop(listener);
    let drained =
        tokio::time::timeout(limits.drain, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            left = tasks.len(),
            "connections still open after the drain; closing them"
        );
        tasks.abort_all();
    }
}
