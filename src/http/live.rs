//! `GET /graphql` with `Upgrade: websocket`: subscriptions over the `graphql-transport-ws`
//! protocol (and the older `graphql-ws` one). The caller signs in with the token in
//! `connection_init` (`{"authorization": "Bearer …"}`); a connection whose token is
//! refused is closed with 4403, and a subscription ends when the token stops holding.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::Data;
use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage};
use futures_util::StreamExt;

use crate::error::AppError;
use crate::graphql::context::{DatabaseUse, RequestContext, RequestParts};
use crate::graphql::limits::ShapeLimits;
use crate::graphql::schema::AppSchema;
use crate::graphql::subscription::LiveCaller;
use crate::http::{AppState, language_of, new_request_id, operation_type, public_origin};
use crate::messages::{self, Language};
use crate::service::auth;

/// What runs the operations of a connection: subscriptions only (queries and mutations go
/// over HTTP, with its limits, timeouts and request ids), within the same shape limits.
#[derive(Clone)]
struct LiveExecutor {
    schema: AppSchema,
    shape_limits: ShapeLimits,
    /// The language of the messages, from the upgrade request's `Accept-Language`.
    language: Language,
}

impl async_graphql::Executor for LiveExecutor {
    async fn execute(&self, _request: async_graphql::Request) -> async_graphql::Response {
        self.coded(refusal(AppError::bad_input(
            "send queries and mutations over HTTP: the WebSocket carries subscriptions",
        )))
    }

    fn execute_stream(
        &self,
        mut request: async_graphql::Request,
        session_data: Option<Arc<Data>>,
    ) -> futures_util::stream::BoxStream<'static, async_graphql::Response> {
        let single = |response| futures_util::stream::once(std::future::ready(response)).boxed();
        if !is_subscription(&mut request) {
            return single(self.coded(refusal(AppError::bad_input(
                "send queries and mutations over HTTP: the WebSocket carries subscriptions",
            ))));
        }
        if let Err(error) = self.shape_limits.check_request(&mut request) {
            return single(self.coded(async_graphql::Response::from_errors(vec![error])));
        }
        let this = self.clone();
        self.schema
            .execute_stream_with_session_data(request, session_data.unwrap_or_default())
            .map(move |response| this.coded(response))
            .boxed()
    }
}

/// Whether a request may run over the WebSocket: a subscription, or a document the schema
/// refuses with its own reason (one that does not parse or names no operation).
fn is_subscription(request: &mut async_graphql::Request) -> bool {
    use async_graphql::parser::types::OperationType;
    operation_type(request).is_none_or(|kind| kind == OperationType::Subscription)
}

fn refusal(error: AppError) -> async_graphql::Response {
    async_graphql::Response::from_errors(vec![error.into_server_error()])
}

impl LiveExecutor {
    /// Every error with a code and in the reader's language, as over HTTP: those of
    /// parsing and validation are the caller's to fix.
    fn coded(&self, mut response: async_graphql::Response) -> async_graphql::Response {
        for error in &mut response.errors {
            if let std::borrow::Cow::Owned(translated) =
                messages::translate(&error.message, self.language)
            {
                error.message = translated;
            }
            let extensions = error.extensions.get_or_insert_with(Default::default);
            if extensions.get("code").is_none() {
                extensions.set("code", AppError::code_of_uncoded_errors());
            }
        }
        response
    }
}

/// The close code of a connection whose `connection_init` was refused (graphql-ws's
/// `Forbidden`).
const REFUSED_CLOSE_CODE: u16 = 4403;
/// The close code of a connection whose user has as many open as allowed.
const TOO_MANY_CLOSE_CODE: u16 = 4429;
/// The close code of a connection that sent no `connection_init` in time (graphql-ws's
/// `ConnectionInitialisationTimeout`).
const INIT_TIMEOUT_CLOSE_CODE: u16 = 4408;

/// The WebSocket connections open: a bounded number in all, taken before the upgrade, and
/// a bounded number per user, taken at `connection_init`, so that neither many clients
/// nor one user's leaked tabs hold the server's memory and feed without end.
pub struct LiveConnections {
    open: Arc<tokio::sync::Semaphore>,
    per_user: std::sync::Mutex<std::collections::HashMap<i64, usize>>,
    max_per_user: usize,
}

/// One user's place among the open connections, given back when the connection ends
/// (its session data is dropped).
struct UserPlace {
    connections: Arc<LiveConnections>,
    user_id: i64,
}

impl Drop for UserPlace {
    fn drop(&mut self) {
        if let Ok(mut per_user) = self.connections.per_user.lock()
            && let Some(open) = per_user.get_mut(&self.user_id)
        {
            *open = open.saturating_sub(1);
            if *open == 0 {
                per_user.remove(&self.user_id);
            }
        }
    }
}

impl LiveConnections {
    pub fn new(max_open: usize, max_per_user: usize) -> Self {
        Self {
            open: Arc::new(tokio::sync::Semaphore::new(max_open.max(1))),
            per_user: Default::default(),
            max_per_user: max_per_user.max(1),
        }
    }

    /// A place for one more connection, if there is one.
    fn open(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.open.clone().try_acquire_owned().ok()
    }

    /// A place for one more connection of the user, if they have fewer than allowed.
    fn sign_in(self: &Arc<Self>, user_id: i64) -> Option<UserPlace> {
        let mut per_user = self.per_user.lock().ok()?;
        let open = per_user.entry(user_id).or_default();
        if *open >= self.max_per_user {
            return None;
        }
        *open += 1;
        Some(UserPlace {
            connections: self.clone(),
            user_id,
        })
    }
}

/// Why a connection's `connection_init` was refused, for its close code.
#[derive(Default)]
struct Refusal(std::sync::atomic::AtomicU16);

impl Refusal {
    fn set(&self, code: u16) {
        self.0.store(code, std::sync::atomic::Ordering::Release);
    }

    fn code(&self) -> Option<u16> {
        match self.0.load(std::sync::atomic::Ordering::Acquire) {
            0 => None,
            code => Some(code),
        }
    }
}

/// The protocol the client asks for, the newer first.
fn protocol_of(http: &HttpRequest) -> Option<WebSocketProtocols> {
    let offered = http
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let offered: Vec<&str> = offered.split(',').map(str::trim).collect();
    [
        WebSocketProtocols::GraphQLWS,
        WebSocketProtocols::SubscriptionsTransportWS,
    ]
    .into_iter()
    .find(|protocol| offered.contains(&protocol.sec_websocket_protocol()))
}

/// The bearer token of a `connection_init` payload: `authorization` (or `Authorization`)
/// as in an HTTP header, or a bare `token`.
fn token_of(payload: &serde_json::Value) -> Option<String> {
    let field = |name: &str| payload.get(name).and_then(|value| value.as_str());
    if let Some(header) = field("authorization").or_else(|| field("Authorization")) {
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .unwrap_or(header);
        return Some(token.trim().to_owned());
    }
    field("token").map(|token| token.trim().to_owned())
}

pub(crate) async fn subscriptions(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let Some(protocol) = protocol_of(&http) else {
        return HttpResponse::BadRequest()
            .content_type("text/plain")
            .body("send Sec-WebSocket-Protocol: graphql-transport-ws");
    };
    let Some(place) = state.live_connections.open() else {
        let refusal = AppError::TooManyRequests {
            retry_after_seconds: LIVE_RETRY_SECONDS,
        };
        return crate::http::refuse(refusal, &crate::http::request_id_of(&http), http.headers());
    };
    let (mut response, mut session, messages) = match actix_ws::handle(&http, body) {
        Ok(parts) => parts,
        Err(error) => return error.error_response(),
    };
    response.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        header::HeaderValue::from_static(protocol.sec_websocket_protocol()),
    );

    let client_address = state.http.trusted_proxies.client_address(&http);
    let origin = public_origin(&state.http, &http);
    let init_state = state.clone();
    let refused = Arc::new(Refusal::default());
    let refused_at_init = refused.clone();
    let initialised = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let initialised_at_init = initialised.clone();
    let on_init = move |payload: serde_json::Value| async move {
        initialised_at_init.store(true, std::sync::atomic::Ordering::Release);
        sign_in(&init_state, &payload, client_address, origin)
            .await
            .map_err(|error| {
                refused_at_init.set(match error {
                    AppError::TooManyRequests { .. } => TOO_MANY_CLOSE_CODE,
                    _ => REFUSED_CLOSE_CODE,
                });
                async_graphql::ErrorExtensions::extend(&error)
            })
    };

    let pong_session = session.clone();
    let incoming = messages
        .take_while(|message| {
            std::future::ready(!matches!(message, Err(_) | Ok(actix_ws::Message::Close(_))))
        })
        .filter_map(move |message| {
            let mut pongs = pong_session.clone();
            async move {
                match message {
                    Ok(actix_ws::Message::Text(text)) => Some(text.into_bytes()),
                    Ok(actix_ws::Message::Binary(bytes)) => Some(bytes),
                    Ok(actix_ws::Message::Ping(bytes)) => {
                        let _ = pongs.pong(&bytes).await;
                        None
                    }
                    _ => None,
                }
            }
        });
    let executor = LiveExecutor {
        schema: state.schema.clone(),
        shape_limits: state.shape_limits,
        language: language_of(http.headers()),
    };
    let connection = WebSocket::new(executor, incoming, protocol).on_connection_init(on_init);
    let init_timeout = state.http.live_init_timeout;
    actix_web::rt::spawn(async move {
        // Held for as long as the connection is open.
        let _place = place;
        let mut connection = std::pin::pin!(connection);
        let init_deadline = tokio::time::sleep(init_timeout);
        let mut init_deadline = std::pin::pin!(init_deadline);
        loop {
            let message = tokio::select! {
                message = connection.next() => message,
                () = &mut init_deadline,
                    if !initialised.load(std::sync::atomic::Ordering::Acquire) =>
                {
                    let _ = session
                        .close(Some(actix_ws::CloseReason {
                            code: INIT_TIMEOUT_CLOSE_CODE.into(),
                            description: Some("Connection initialisation timeout".to_owned()),
                        }))
                        .await;
                    return;
                }
            };
            let Some(message) = message else { break };
            match message {
                WsMessage::Text(text) => {
                    if session.text(text).await.is_err() {
                        return;
                    }
                }
                WsMessage::Close(code, reason) => {
                    let code = refused.code().unwrap_or(code);
                    let _ = session
                        .close(Some(actix_ws::CloseReason {
                            code: code.into(),
                            description: Some(reason),
                        }))
                        .await;
                    return;
                }
            }
        }
        let _ = session.close(None).await;
    });
    response
}

/// How long a client refused a connection for want of places is told to wait.
const LIVE_RETRY_SECONDS: u64 = 30;

/// Signs a connection in with the token of its `connection_init`: the data its
/// subscriptions run with.
async fn sign_in(
    state: &AppState,
    payload: &serde_json::Value,
    client_address: Option<std::net::IpAddr>,
    public_origin: String,
) -> Result<Data, AppError> {
    let token = token_of(payload).ok_or(AppError::Unauthenticated)?;
    let found = auth::authenticate(&state.db, &state.user_reads, &state.token_keys, &token).await?;
    let place = match found.viewer.user() {
        Some(user) => Some(state.live_connections.sign_in(user.user_id).ok_or(
            AppError::TooManyRequests {
                retry_after_seconds: LIVE_RETRY_SECONDS,
            },
        )?),
        None => None,
    };
    let caller = Arc::new(LiveCaller {
        db: state.db.clone(),
        user_reads: state.user_reads.clone(),
        token_keys: state.token_keys.clone(),
        token,
        viewer: found.viewer.clone(),
        feed: state.submission_feed.clone(),
        recheck_every: state.http.subscription_recheck,
    });
    let context = RequestContext::new(RequestParts {
        db: state.db.clone(),
        viewer: found.viewer,
        session_started_at: found.session_started_at,
        settings: state.api.clone(),
        token_keys: state.token_keys.clone(),
        metrics: state.metrics.clone(),
        files: state.files.clone(),
        upload_policy: state.upload_policy.clone(),
        request_id: new_request_id(),
        client_address,
        public_origin,
        snapshots: state.snapshots.clone(),
        snapshot: None,
        database_use: DatabaseUse::default(),
        // A subscription runs for hours: the revisions read at its start would not do.
        kept_counts: None,
    });
    let mut data = Data::default();
    data.insert(caller);
    data.insert(context);
    if let Some(place) = place {
        data.insert(place);
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_comes_from_the_connection_params() {
        for payload in [
            serde_json::json!({ "authorization": "Bearer abc" }),
            serde_json::json!({ "Authorization": "Bearer abc" }),
            serde_json::json!({ "authorization": "abc" }),
            serde_json::json!({ "token": "abc" }),
        ] {
            assert_eq!(token_of(&payload).as_deref(), Some("abc"), "{payload}");
        }
        assert_eq!(token_of(&serde_json::json!({})), None);
        assert_eq!(token_of(&serde_json::Value::Null), None);
    }
}
