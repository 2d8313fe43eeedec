//! # server — the authoritative Clusterdeck server
//!
//! Module map:
//!
//! - [`engine`] — one thread owns the fleet: checks commands with `cluster::check`, appends their events
//!   durably (group commit), then applies, broadcasts and answers.
//! - [`store`] — durable storage behind the [`store::Store`] trait (SQLite; in-memory for tests).
//! - [`auth`] — argon2id hashes, session tokens, login throttling.
//! - [`api`] — thin JSON handlers under `/api/v1`, SSE, the OpenAPI document.
//! - [`http`] — the whole HTTP stack: routes, static site, security headers, limits.
//! - [`clock`] — simulated time (real time × speed).
//! - [`serve`] — starting and stopping the server.
//! - [`client`] — `clusterdeck cli`, the terminal client of a running server.
//!
//! Rules never live here: every decision is made by the `cluster` crate.

pub mod api;
pub mod auth;
pub mod client;
pub mod clock;
pub mod engine;
pub mod http;
pub mod serve;
pub mod store;
