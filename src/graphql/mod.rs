//! The GraphQL API: thin resolvers over the service layer, one file per area.

pub mod connection;
pub mod context;
pub mod department;
pub mod indicator;
pub mod limits;
pub mod loaders;
pub mod plan;
pub mod plan_document;
pub mod report;
pub mod schema;
pub mod task;
pub mod types;
pub mod user;
