//! # server — the authoritative Clusterdeck server
//!
//! Module map:
//!
//! - [`registry`] — the fleets a server holds (one store file each), loaded on first use, unloaded idle.
//! - [`engine`] — one thread per fleet owns the fleet and its sessions: checks commands with
//!   `cluster::check`, appends their events durably (group commit), then applies, publishes and answers.
//! - [`store`] — durable storage behind the [`store::Store`] trait (SQLite; in-memory for tests).
//! - [`fleetctl`] — `clusterdeck fleet list | create | export | import | delete` on a data directory.
//! - [`auth`] — argon2id hashes, session tokens, login throttling.
//! - [`passwords`] — the fixed pool of argon2 workers every hash and verification runs on.
//! - [`api`] — thin JSON handlers under `/api/v1`, SSE, the OpenAPI document.
//! - [`http`] — the whole HTTP stack: routes, static site, security headers, limits.
//! - [`clock`] — simulated time (real time × speed).
//! - [`serve`] — starting and stopping the server.
//! - [`testapi`] — `/api/v1/test` (`--test-api`): test fleets, their clocks, faults, exports.
//! - [`sandbox`] — sandbox mode: a fleet per visitor from a scenario, time to live, cap, shares.
//! - [`site`] — the public URL: Host and Origin checks, the session cookie.
//! - [`listen`] — the accept loop: header-read timeout, connections per address, graceful stop.
//! - [`client`] — `clusterdeck cli`, the terminal client of a running server.
//!
//! Rules never live here: every decision is made by the `cluster` crate.

pub mod api;
pub mod auth;
pub mod client;
pub mod clock;
pub mod engine;
pub mod fleetctl;
pub mod http;
pub mod listen;
pub mod passwords;
pub mod registry;
pub mod sandbox;
pub mod serve;
pub mod site;
pub mod store;
pub mod testapi;
