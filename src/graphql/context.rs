//! What every resolver can read from the request: the database, the caller and the loaders.

use std::sync::Arc;

use async_graphql::Context;
use sea_orm::DatabaseConnection;

use crate::metrics::Metrics;
use crate::service::auth::TokenKeys;
use crate::service::evidence::UploadPolicy;
use crate::storage::FileStore;

use crate::graphql::loaders::Loaders;
use crate::service::policy::Viewer;

/// Limits and settings the API layer applies.
#[derive(Clone, Debug)]
pub struct ApiSettings {
    pub max_page_size: u64,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            max_page_size: crate::service::page::MAX_PAGE_SIZE,
        }
    }
}

/// The per-request state, put into the GraphQL request by the HTTP layer.
pub struct RequestContext {
    pub db: DatabaseConnection,
    pub viewer: Viewer,
    pub loaders: Loaders,
    pub settings: ApiSettings,
    pub token_keys: Arc<TokenKeys>,
    pub metrics: Arc<Metrics>,
    pub files: Arc<dyn FileStore>,
    pub upload_policy: UploadPolicy,
    /// Identifies the request in logs, headers and error extensions.
    pub request_id: String,
    /// The client's address (see `TrustedProxies`), for the sign-in limits and the audit.
    pub client_address: Option<std::net::IpAddr>,
}

pub trait ContextExt {
    fn request(&self) -> &RequestContext;
}

impl ContextExt for Context<'_> {
    fn request(&self) -> &RequestContext {
        // The HTTP layer always attaches the request context; a schema executed without it
        // is a programming error caught by every test.
        #[allow(clippy::expect_used)]
        self.data::<RequestContext>()
            .expect("the HTTP layer attaches a RequestContext to every request")
    }
}

impl RequestContext {
    /// The caller of a change, for the services and the audit trail.
    pub fn caller(&self) -> crate::service::audit::Caller<'_> {
        crate::service::audit::Caller {
            viewer: &self.viewer,
            request_id: &self.request_id,
        }
    }
}
