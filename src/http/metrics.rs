//! `GET /metrics`: the server's counters in the Prometheus text format, and the middleware
//! that counts HTTP requests.

use std::fmt::Write;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

use crate::http::AppState;
use crate::metrics::Metrics;

/// The content type Prometheus scrapes.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Counts every request the server answers, whatever its route.
pub async fn count_request(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(state) = request.app_data::<web::Data<AppState>>() {
        state.metrics.http_requests.inc();
    }
    next.call(request).await
}

/// `GET /metrics`. It reads counters only: no SQL, so scraping does not move
/// `ecoplan_sql_statements_total`.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(render(state.statements.get(), &state.metrics))
}

/// The exposition text: `# HELP`, `# TYPE` and one sample per counter.
pub fn render(sql_statements: u64, metrics: &Metrics) -> String {
    let counters = [
        (
            "ecoplan_http_requests_total",
            "HTTP requests received.",
            metrics.http_requests.get(),
        ),
        (
            "ecoplan_sql_statements_total",
            "SQL statements run on the database pool.",
            sql_statements,
        ),
        (
            "ecoplan_failed_logins_total",
            "Sign-ins refused for a wrong password or a locked username.",
            metrics.failed_logins.get(),
        ),
        (
            "ecoplan_evidence_uploads_total",
            "Evidence files stored.",
            metrics.uploads.get(),
        ),
        (
            "ecoplan_evidence_upload_bytes_total",
            "Bytes of evidence files stored.",
            metrics.upload_bytes.get(),
        ),
    ];
    let mut text = String::new();
    for (name, help, value) in counters {
        // Writing to a String cannot fail.
        let _ = write!(
            text,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_rendered_as_prometheus_samples() {
        let metrics = Metrics::default();
        metrics.http_requests.add(7);
        let text = render(42, &metrics);
        assert!(text.contains("# TYPE ecoplan_sql_statements_total counter\n"));
        assert!(text.contains("\necoplan_sql_statements_total 42\n"));
        assert!(text.contains("\necoplan_http_requests_total 7\n"));
        assert!(text.ends_with('\n'));
    }
}
