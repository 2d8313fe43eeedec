//! One file per page.

pub mod login;
pub mod overview;
