//! Relay cursor connections with a `totalCount`.

use async_graphql::SimpleObject;

use crate::graphql::indicator::Indicator;
use crate::graphql::report::AuditEntry;
use crate::graphql::task::Task;
use crate::graphql::user::User;
use crate::service::page::{Page, encode_cursor};

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
        #[derive(SimpleObject)]
        pub struct $connection {
            pub edges: Vec<$edge>,
            pub page_info: PageInfo,
            /// How many items match, across all pages.
            pub total_count: u64,
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
        }
    };
}

connection!(TaskConnection, TaskEdge, Task);
connection!(IndicatorConnection, IndicatorEdge, Indicator);
connection!(UserConnection, UserEdge, User);
connection!(AuditEntryConnection, AuditEntryEdge, AuditEntry);
