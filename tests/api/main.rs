//! Black-box tests: each starts the real server on a fresh database and talks GraphQL
//! over HTTP, as a client would. Every test that touches a database runs on SQLite and
//! on PostgreSQL (see `helpers::both`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod steps;

mod access;
mod audit;
mod auth;
mod browser;
mod cli;
mod crash;
mod cycle;
mod dashboard;
mod error_codes;
mod errors;
mod evidence;
mod file_names;
mod freshness;
mod http;
mod instances;
mod languages;
mod ledger;
mod lights;
mod limits;
mod lookup;
mod matrix;
mod not_found;
mod notifications;
mod nullability;
mod observability;
mod paging;
mod period;
mod permissions;
mod persisted_queries;
mod plan;
mod plan_import;
mod portal;
mod ranges;
mod readme;
mod reporting;
mod request_errors;
mod review;
mod schema;
mod seed;
mod shutdown;
mod sign_in;
mod statements;
mod status;
mod subscriptions;
mod versions;
mod visibility;
mod webhooks;
