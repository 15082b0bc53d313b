//! The GraphQL API: thin resolvers over the service layer, one file per area, as
//! `src/service` is split: plan, department, task, indicator, report (progress reports and
//! indicator values), evidence, review, period, dashboard, audit, user, notification and
//! webhook.

pub mod audit;
pub mod connection;
pub mod context;
pub mod dashboard;
pub mod department;
pub mod evidence;
pub mod indicator;
pub mod limits;
pub mod loaders;
pub mod notification;
pub mod null_propagation;
pub mod period;
pub mod plan;
pub mod plan_document;
pub mod report;
pub mod review;
pub mod schema;
pub mod subscription;
pub mod task;
pub mod types;
pub mod user;
pub mod webhook;
