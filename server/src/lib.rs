//! # server — the authoritative Clusterdeck server
//!
//! Module map:
//!
//! - [`store`] — durable storage behind the [`store::Store`] trait (SQLite; in-memory for tests).
//! - [`api`] — thin JSON handlers under `/api/v1`.
//! - [`http`] — the whole HTTP stack: routes, static site, security headers, limits.
//! - [`serve`] — starting and stopping the server.
//!
//! Rules never live here: every decision is made by the `cluster` crate.

pub mod api;
pub mod http;
pub mod serve;
pub mod store;
