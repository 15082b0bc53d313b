//! `HEAD` answers like `GET` on every page (RFC 9110 §9.3.2): the request is routed as a
//! `GET`, and the HTTP layer, which remembers that the client asked `HEAD`, sends the
//! headers (with the `Content-Length` a `GET` would have) and no body.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;

/// Routes a `HEAD` request as the `GET` of the same path.
pub async fn route_head_as_get(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if request.method() == Method::HEAD {
        request.head_mut().method = Method::GET;
    }
    next.call(request).await
}
