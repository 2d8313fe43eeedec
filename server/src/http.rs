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

/// Builds the whole application: API under `/api/v1`, the site from `site_dir` for everything else
/// (unknown paths get `index.html`, so deep links work).
pub fn app(state: AppState, site_dir: PathBuf) -> Router {
    let index = site_dir.join("index.html");
    let static_files = ServeDir::new(&site_dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(ServeFile::new(index).precompressed_br().precompressed_gzip());
    let header = |name, value| SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value));
    let site = state.site.clone();
    api::router(state)
        .fallback_service(static_files)
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
        .layer(header(header::CACHE_CONTROL, "no-store"))
        // A refused request (503 busy, 408) is expected under load and already answered clearly; the
        // handlers log what an operator must see (storage errors) themselves. Per-request lines stay at
        // debug so an attacker cannot fill the log.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(tower_http::trace::DefaultOnFailure::new().level(Verbosity::DEBUG)),
        )
        .layer(axum::middleware::from_fn(api::request_id))
}
