//! The rules: access policy, validation, workflow and transactions. Every function takes
//! the caller (`Viewer`) and asks `policy` what it may see or do.

pub mod audit;
pub mod auth;
pub mod clock;
pub mod dashboard;
pub mod department;
pub mod download_link;
pub(crate) mod draft;
pub mod evidence;
pub mod hashing;
pub mod import;
pub mod indicator;
pub mod ledger;
pub mod light;
pub mod notification;
pub mod outbox;
pub mod page;
pub mod period;
pub mod plan;
pub mod plan_document;
pub mod plan_import;
pub mod policy;
pub mod portal_keys;
pub mod rate_limit;
pub mod reminder;
pub mod report;
pub mod seed;
pub mod snapshot;
pub mod status;
pub mod submission;
pub mod submission_events;
pub mod task;
pub mod user;
pub mod user_reads;
pub mod webhook;
pub mod workbook;
