//! Relay cursor connections with a `totalCount`.

use async_graphql::SimpleObject;

use crate::graphql::audit::AuditEntry;
use crate::graphql::evidence::Evidence;
use crate::graphql::indicator::Indicator;
use crate::graphql::notification::Notification;
use crate::graphql::report::{IndicatorValue, ProgressReport};
use crate::graphql::task::Task;
use crate::graphql::user::User;
use crate::graphql::webhook::WebhookDelivery;
use crate::service::page::{Page, PageArgs, encode_cursor};

/// Relay's page information.
#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_previous_page: bool,
    pub has_next_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

impl PageInfo {
    fn of<T>(page: &Page<T>) -> Self {
        Self {
            has_previous_page: page.has_previous_page,
            has_next_page: page.has_next_page,
            start_cursor: page.items.first().map(|(key, _)| encode_cursor(*key)),
            end_cursor: page.items.last().map(|(key, _)| encode_cursor(*key)),
        }
    }
}

/// Declares a connection type and its edge type for one node type.
macro_rules! connection {
    ($connection:ident, $edge:ident, $node:ty) => {
        /// One item of a connection and its cursor.
        #[derive(SimpleObject)]
        pub struct $edge {
            pub cursor: String,
            pub node: $node,
        }

        /// A page of a list, with the size of the whole list.
        pub struct $connection {
            pub edges: Vec<$edge>,
            pub page_info: PageInfo,
            pub total_count: u64,
        }

        #[async_graphql::Object]
        impl $connection {
            async fn edges(&self) -> &[$edge] {
                &self.edges
            }
            /// The items of the page without their cursors.
            async fn nodes(&self) -> Vec<&$node> {
                self.edges.iter().map(|edge| &edge.node).collect()
            }
            async fn page_info(&self) -> &PageInfo {
                &self.page_info
            }
            /// How many items match, across all pages.
            async fn total_count(&self) -> u64 {
                self.total_count
            }
        }

        impl $connection {
            pub fn from_page<R>(page: Page<R>, wrap: impl Fn(R) -> $node) -> Self {
                let page_info = PageInfo::of(&page);
                Self {
                    page_info,
                    total_count: page.total_count,
                    edges: page
                        .items
                        .into_iter()
                        .map(|(key, row)| $edge {
                            cursor: encode_cursor(key),
                            node: wrap(row),
                        })
                        .collect(),
                }
            }

            /// A page of a relation the loaders read whole for its parent (`key`).
            pub async fn load<K, R>(
                ctx: &async_graphql::Context<'_>,
                key: K,
                args: PageArgs,
                wrap: impl Fn(R) -> $node,
            ) -> async_graphql::Result<Self>
            where
                K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
                R: Send + Sync + Clone + 'static,
                crate::graphql::loaders::PlanLoader: async_graphql::dataloader::Loader<
                        K,
                        Value = Vec<R>,
                        Error = async_graphql::Error,
                    >,
            {
                use crate::graphql::context::ContextExt;
                let request = ctx.request();
                let max_page_size = request.settings.max_page_size;
                args.validate(max_page_size)?;
                let rows = request.loaders.load_one(key).await?.unwrap_or_default();
                Ok(Self::from_list(rows, &args, max_page_size, wrap)?)
            }

            /// A page of a list already read whole (bounded by what one parent holds),
            /// cut by the client's arguments; cursors are positions in the list.
            pub fn from_list<R>(
                rows: Vec<R>,
                args: &PageArgs,
                max_page_size: u64,
                wrap: impl Fn(R) -> $node,
            ) -> crate::error::AppResult<Self> {
                let numbered = (1i64..).zip(rows).collect();
                Ok(Self::from_page(
                    crate::service::page::paginate_in_memory(numbered, args, max_page_size)?,
                    wrap,
                ))
            }
        }
    };
}

connection!(TaskConnection, TaskEdge, Task);
connection!(IndicatorConnection, IndicatorEdge, Indicator);
connection!(UserConnection, UserEdge, User);
connection!(AuditEntryConnection, AuditEntryEdge, AuditEntry);
connection!(ProgressReportConnection, ProgressReportEdge, ProgressReport);
connection!(IndicatorValueConnection, IndicatorValueEdge, IndicatorValue);
connection!(EvidenceConnection, EvidenceEdge, Evidence);
connection!(NotificationConnection, NotificationEdge, Notification);
connection!(
    WebhookDeliveryConnection,
    WebhookDeliveryEdge,
    WebhookDelivery
);
