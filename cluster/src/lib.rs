//! # cluster — the Clusterdeck domain
//!
//! The rules of AsyncOS Centralized Management (`../shared/DOMAIN.md`), executable and shared: the same
//! code runs in the browser (compiled to WebAssembly) and in the server, which is authoritative.
//!
//! Module map:
//!
//! - [`names`] — validated names and values (hostnames, groups, versions, timestamps): parse once, trust inside.
//! - [`features`] — the feature catalogue (DOMAIN 2.5): typed schemas, levels, CLI row syntax, defaults.
//! - [`model`] — the fleet: machines, clusters, groups, each member's configuration replica, runtime state,
//!   and derived queries (effective values, connection state, reachability).
//! - [`session`] — login sessions and their staged changes.
//! - [`roles`] — roles, the permission table (14.4) and the mode tables (4.1), as data.
//! - [`command`] — every CLI line as a typed [`Command`]; `Display` renders it back.
//! - [`cli`] — the parser (errors with column and expectation), `help`, completion.
//! - [`cmd`] — [`check`]: per command family, a rejection, a prompt or a plan.
//! - [`event`] / [`apply()`] — events and the deterministic state machine (LWW sync on reconnect).
//! - [`verdict`] — rejections, prompts, plans.
//! - [`view`] — what a configuration page shows: defined, inherited (from where), wrong level; value sources.
//! - [`script`] — the script runner (DOMAIN 11) behind `clusterdeck script` and the scenario tests.
//! - [`fixture`] — the `americas` and `standalone` fixtures (DOMAIN 11).
//! - [`wire`] — JSON bodies of the HTTP API, shared by server and browser.
//!
//! The one invariant to know: this crate does no IO, no async and knows no framework. Time is a
//! parameter (`now`); state changes only by applying events.
//!
//! Decisions where DOMAIN.md leaves room (recorded here, and in the issue notes):
//!
//! - Rejections come before questions (14.1.2), and the role check is one of them: a command the role may
//!   not run is refused without asking the mode question (14.1.5 then orders nothing that is asked).
//! - The row key of `new`/`edit`/`delete` is checked after the 1/2 question on an undefined mode, because
//!   whether the key exists depends on the start chosen; every other check comes first.
//! - A machine is *connected* when it is not detached, not upgrading, its name resolves (hostname
//!   addressing), and it reaches another eligible member over up links (or is the only eligible one).
//! - Deleted definitions leave a tombstone so the reconnect merge does not resurrect them.
//! - Joining over SSH authenticates the session's user name on the target: it must be an administrator of
//!   the cluster (the one-line grammar carries no remote credentials).

#![forbid(unsafe_code)]

pub mod apply;
pub mod cli;
pub mod cmd;
pub mod command;
pub mod event;
pub mod features;
pub mod fixture;
pub mod model;
pub mod names;
pub mod roles;
pub mod script;
pub mod session;
pub mod verdict;
pub mod view;
pub mod wire;

pub use apply::apply;
pub use cmd::check;
pub use command::Command;
pub use event::{Event, EventKind};
pub use features::{FeatureId, FeatureSchema, CATALOGUE};
pub use model::{Connection, Fleet, Level, Machine, Mode};
pub use names::{ClusterName, GroupName, Hostname, Timestamp, UserName, Version};
pub use verdict::{Plan, Prompt, Rejection, Verdict};
