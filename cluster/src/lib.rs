//! # cluster — the Clusterdeck domain
//!
//! The rules of AsyncOS Centralized Management, executable and shared: the same code runs in the
//! browser (compiled to WebAssembly) and in the server, which is authoritative. The rules are written in
//! `docs/rules.md`; comments cite them as `rules §x.y`.
//!
//! Modules, in layers — a module uses only modules above it (a test checks it):
//!
//! 1. [`names`] — validated names and values (hostnames, groups, versions, timestamps, the password
//!    policy): parse once, trust inside.
//! 2. [`mode`] — levels and modes. [`roles`] — roles, the permission table, the mode tables, as data.
//! 3. [`features`] — the feature catalogue: schemas, levels, row syntax, defaults; rows and typed rows.
//! 4. [`lexer`] — the words of a CLI line. [`structure`] — addressing, prepjoin entries, staged
//!    structural changes.
//! 5. [`store`] — a configuration replica and the one resolution of inheritance.
//! 6. [`session`] — login sessions and their staged changes (the staging helpers' home).
//! 7. [`fleet`] — machines, clusters, groups, connection state.
//! 8. [`config_file`] — the `saveconfig` file format. [`mail`] — listeners and the mail-flow model.
//! 9. [`event`] — events. [`fixture`] — the fleets scripts and demos start from. [`verdict`] — refusals, questions, plans, and the [`verdict::Asker`].
//! 10. [`apply()`] — the deterministic state machine (last-writer-wins sync on reconnect).
//! 11. [`cmd`] — [`check`]: one command family per file under `cmd/`, each owning everything about it.
//!     [`sim`] — the simulator's controls (faults), checked once for the API, scripts and the console.
//! 12. [`login`], [`view`] (what pages show), [`topology`] (the home, machine, group and cluster
//!     pages), [`cli`] (parse, help, completion), [`wire`]
//!     (the HTTP API's bodies and the secrets visitor), `openapi` (schemas for the API document, with the
//!     `openapi` feature), [`review`] (staged items as a diff, before commit), [`share`] (a fleet's
//!     history as JSON Lines: export, share, replay), then [`script`] (the script runner).
//!
//! The one invariant to know: this crate does no IO, no async and knows no framework. Time is a
//! parameter (`now`); state changes only by applying events.

#![forbid(unsafe_code)]

pub mod apply;
pub mod cli;
pub mod cmd;
pub mod config_file;
pub mod event;
pub mod features;
pub mod fixture;
pub mod fleet;
pub mod lexer;
pub mod login;
pub mod mail;
pub mod mode;
pub mod names;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod review;
pub mod roles;
pub mod script;
pub mod session;
pub mod share;
pub mod sim;
pub mod store;
pub mod structure;
pub mod topology;
pub mod verdict;
pub mod view;
pub mod wire;

pub use apply::apply;
pub use cmd::{check, Command};
pub use event::{Event, EventKind};
pub use features::{FeatureId, FeatureSchema, CATALOGUE};
pub use fleet::{Connection, Fleet, Machine};
pub use mode::{Level, Mode};
pub use names::{ClusterName, GroupName, Hostname, Timestamp, UserName, Version};
pub use verdict::{Plan, Prompt, Rejection, Verdict};
