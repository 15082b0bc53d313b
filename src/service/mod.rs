//! The rules: access policy, validation, workflow and transactions. Every function takes
//! the caller (`Viewer`) and asks `policy` what it may see or do.

pub mod auth;
pub mod department;
pub mod indicator;
pub mod page;
pub mod plan;
pub mod policy;
pub mod seed;
pub mod task;
pub mod user;
