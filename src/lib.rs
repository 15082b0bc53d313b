//! ecoplan runs a municipal work plan: who must do what, by when, how far they have got,
//! and the proof.
//!
//! Layers, each with one job: `http` (routes, bearer token) → `graphql` (thin resolvers)
//! → `service` (rules, access policy, transactions) → `entity` (tables).

pub mod cli;
pub mod db;
pub mod entity;
pub mod error;
pub mod graphql;
pub mod http;
pub mod id;
pub mod messages;
pub mod metrics;
pub mod service;
pub mod settings;
pub mod startup;
pub mod storage;
pub mod text;
