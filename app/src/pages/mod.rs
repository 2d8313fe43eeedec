//! One file per page.

pub mod overview;
