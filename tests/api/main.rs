//! Black-box tests: each starts the real server on a fresh database and talks GraphQL
//! over HTTP, as a client would. Every test that touches a database runs on SQLite and
//! on PostgreSQL (see `helpers::both`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod access;
mod auth;
mod browser;
mod cli;
mod errors;
mod http;
mod limits;
mod lookup;
mod matrix;
mod observability;
mod plan;
mod portal;
mod schema;
mod seed;
mod shutdown;
mod statements;
