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
//!   and derived queries (effective values, connection state).
//! - [`fixture`] — the `americas` and `standalone` fixtures (DOMAIN 11).
//! - [`wire`] — JSON bodies of the HTTP API, shared by server and browser.
//!
//! The one invariant to know: this crate does no IO, no async and knows no framework. Time is a
//! parameter (`now`); state changes only by applying events.

#![forbid(unsafe_code)]

pub mod features;
pub mod fixture;
pub mod model;
pub mod names;
pub mod wire;

pub use features::{FeatureId, FeatureSchema, CATALOGUE};
pub use model::{Connection, Fleet, Level, Machine, Mode};
pub use names::{ClusterName, GroupName, Hostname, Timestamp, UserName, Version};
