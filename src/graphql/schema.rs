//! Builds the schema that the HTTP layer serves and `ecoplan schema` prints.

use async_graphql::{MergedObject, Schema};

use crate::graphql::audit::AuditQuery;
use crate::graphql::dashboard::DashboardQuery;
use crate::graphql::department::DepartmentQuery;
use crate::graphql::evidence::EvidenceMutation;
use crate::graphql::indicator::IndicatorMutation;
use crate::graphql::indicator::IndicatorQuery;
use crate::graphql::limits::ShapeLimits;
use crate::graphql::notification::{NotificationMutation, NotificationQuery};
use crate::graphql::period::{PeriodMutation, PeriodQuery};
use crate::graphql::plan::PlanQuery;
use crate::graphql::plan_document::PlanDocumentMutation;
use crate::graphql::report::ReportMutation;
use crate::graphql::review::ReviewMutation;
use crate::graphql::subscription::SubscriptionRoot;
use crate::graphql::task::TaskMutation;
use crate::graphql::task::TaskQuery;
use crate::graphql::types::NodeQuery;
use crate::graphql::user::{UserMutation, UserQuery};
use crate::graphql::webhook::{WebhookMutation, WebhookQuery};

#[derive(MergedObject, Default)]
pub struct Query(
    NodeQuery,
    PlanQuery,
    DepartmentQuery,
    TaskQuery,
    IndicatorQuery,
    UserQuery,
    DashboardQuery,
    AuditQuery,
    PeriodQuery,
    NotificationQuery,
    WebhookQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    UserMutation,
    ReportMutation,
    EvidenceMutation,
    ReviewMutation,
    TaskMutation,
    IndicatorMutation,
    PeriodMutation,
    PlanDocumentMutation,
    NotificationMutation,
    WebhookMutation,
);

pub type AppSchema = Schema<Query, Mutation, SubscriptionRoot>;

/// Limits every operation must keep; checked before any resolver runs.
#[derive(Clone, Debug)]
pub struct QueryLimits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_aliases: usize,
    pub max_root_fields: usize,
    pub introspection: bool,
}

impl Default for QueryLimits {
    /// The frontend's deepest query (the plan tree down to responsible departments and
    /// latest values, 9 levels) fits with room to spare.
    fn default() -> Self {
        Self {
            max_depth: 15,
            max_complexity: 5000,
            max_aliases: 30,
            max_root_fields: 20,
            introspection: true,
        }
    }
}

pub fn build_schema_with(limits: &QueryLimits) -> AppSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), SubscriptionRoot)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(64)
        .limit_directives(crate::graphql::limits::MAX_DIRECTIVES_PER_FIELD)
        // No field returns it: it is printed for clients to type `extensions.code` with.
        .register_output_type::<crate::error::ErrorCode>();
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

impl From<&QueryLimits> for ShapeLimits {
    fn from(limits: &QueryLimits) -> Self {
        Self {
            max_aliases: limits.max_aliases,
            max_root_fields: limits.max_root_fields,
            max_fields: limits.max_complexity,
            introspection: limits.introspection,
        }
    }
}

pub fn build_schema() -> AppSchema {
    build_schema_with(&QueryLimits::default())
}

/// The schema in SDL, as `schema.graphql` holds it, with each scalar's `@specifiedBy`.
pub fn schema_sdl() -> String {
    sdl_of(&build_schema())
}

/// The SDL of a built schema.
pub fn sdl_of(schema: &AppSchema) -> String {
    schema.sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}
