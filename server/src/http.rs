//! The HTTP stack: API routes, the static site (precompressed), security headers, limits, tracing.

use std::path::PathBuf;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tracing::Level as Verbosity;

use crate::api::{self, AppState, BODY_LIMIT};

/// Content Security Policy: everything from this origin, WebAssembly compilation allowed, nothing inline.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
form-action 'self'";

/// The built site: files as they are, the app shell (`index.html`) for every other page path so deep
/// links work and the app shows its own not-found page, and a plain 404 for a missing asset (a path
/// under `/pkg/`, or a file name with an asset's extension). No path answers 500: a segment too long for
/// the file system is just not a file.
#[derive(Clone)]
struct Site {
    files: ServeDir,
    index: ServeFile,
}

impl Site {
    fn new(dir: &std::path::Path) -> Site {
        Site {
            files: ServeDir::new(dir).precompressed_br().precompressed_gzip(),
            index: ServeFile::new(dir.join("index.html"))
                .precompressed_br()
                .precompressed_gzip(),
        }
    }

    /// A file of the site, which the browser keeps and revalidates before each use (`no-cache`: its
    /// `Last-Modified` answers 304 when it has not changed), so a second visit does not fetch the WASM
    /// again; kept per encoding (`Vary`: one path is served brotli, gzip or plain as the request
    /// accepts). The API's answers are never stored (`no-store`, set for everything else), nor is the
    /// HTML shell: a page whose document may be stored goes into the back/forward cache when left,
    /// with its event stream open, and after a few reloads those streams hold all six connections the
    /// browser allows a server (the next page then waited a minute for one).
    async fn serve(self, req: axum::extract::Request) -> axum::response::Response {
        let mut response = self.file(req).await;
        let html = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/html"));
        if !html && (response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED) {
            let headers = response.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        response
    }

    async fn file(self, req: axum::extract::Request) -> axum::response::Response {
        use axum::response::IntoResponse;
        use tower::ServiceExt;
        let path = req.uri().path().to_string();
        const ASSET: [&str; 12] = [
            ".js", ".wasm", ".css", ".svg", ".png", ".ico", ".map", ".json", ".txt", ".br", ".gz", ".html",
        ];
        let asset = path.starts_with("/pkg/") || ASSET.iter().any(|ext| path.ends_with(ext));
        let too_long = path.split('/').any(|segment| segment.len() > 255);
        let not_found = || (StatusCode::NOT_FOUND, "Not found.").into_response();
        // The shell is asked for with the request's own headers (its Accept-Encoding picks the file).
        let mut shell = axum::extract::Request::new(axum::body::Body::empty());
        *shell.headers_mut() = req.headers().clone();
        let response = if too_long {
            None
        } else {
            match self.files.oneshot(req).await {
                Ok(r) if r.status() != StatusCode::NOT_FOUND && !r.status().is_server_error() => {
                    return r.into_response()
                }
                Ok(r) => {
                    if r.status().is_server_error() {
                        tracing::debug!(path = %path.chars().take(120).collect::<String>(), status = %r.status(), "a site path is not a file");
                    }
                    None
                }
                Err(never) => match never {},
            }
        };
        match response {
            Some(r) => r,
            None if asset => not_found(),
            None => match self.index.oneshot(shell).await {
                Ok(r) => r.into_response(),
                Err(never) => match never {},
            },
        }
    }
}

/// Builds the whole application: API under `/api/v1`, the site from `site_dir` for everything else
/// (unknown page paths get `index.html`, so deep links work).
pub fn app(state: AppState, site_dir: PathBuf) -> Router {
    let files = Site::new(&site_dir);
    let static_files = axum::routing::any(move |req: axum::extract::Request| files.clone().serve(req));
    let header = |name, value| SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value));
    let site = state.site.clone();
    api::router(state)
        .fallback(static_files)
        .layer(axum::middleware::from_fn_with_state(
            site,
            api::check_host_and_origin,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // SSE streams stay open: the timeout bounds how long a request may take to start answering.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(header(header::CONTENT_SECURITY_POLICY, CSP))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        // A refused request (503 busy, 408) is expected under load and already answered clearly; the
        // handlers log what an operator must see (storage errors) themselves. Per-request lines stay at
        // debug so an attacker cannot fill the log.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(tower_http::trace::DefaultOnFailure::new().level(Verbosity::DEBUG)),
        )
        .layer(axum::middleware::from_fn(api::request_id))
}
