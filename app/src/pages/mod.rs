//! One file per page.

pub mod audit;
pub mod cluster_ops;
pub mod demo;
pub mod login;
pub mod machine;
pub mod overview;
pub mod pending;
pub mod settings;
pub mod simulator;
pub mod terminal;
pub mod upgrade;
pub mod users;
