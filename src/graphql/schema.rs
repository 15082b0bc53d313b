//! Builds the schema that the HTTP layer serves and `ecoplan schema` prints.

use async_graphql::{EmptySubscription, MergedObject, Schema};

use crate::graphql::query::PlanQuery;
use crate::graphql::report::{ReportMutation, ReportQuery};
use crate::graphql::user::{UserMutation, UserQuery};

#[derive(MergedObject, Default)]
pub struct Query(PlanQuery, UserQuery, ReportQuery);

#[derive(MergedObject, Default)]
pub struct Mutation(UserMutation, ReportMutation);

pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

pub fn build_schema() -> AppSchema {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription).finish()
}

/// The schema in SDL, as `schema.graphql` holds it.
pub fn schema_sdl() -> String {
    build_schema().sdl()
}
