//! The GraphQL API: thin resolvers over the service layer.

pub mod connection;
pub mod context;
pub mod limits;
pub mod loaders;
pub mod query;
pub mod report;
pub mod schema;
pub mod types;
pub mod user;
