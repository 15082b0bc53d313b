//! Spreadsheets for the leadership group's office: the work ledger as `.xlsx` or `.csv`,
//! and indicator values imported from the ledger's indicator sheet. Same bearer token,
//! same access rules as the API; the rules themselves live in `service::ledger` and
//! `service::import`.
//!
//! - `GET /export/plan.xlsx?planId=<plan id>&period=2022-Q2&paper=A4|A3` and
//!   `GET /export/plan.csv?planId=…&period=…` (all optional: the newest plan, the current
//!   period, A4). 200 with the file as an attachment; the CSV holds the ledger sheet
//!   only. Anonymous 401, the portal 403, no such plan 404, a malformed `planId`, a
//!   period the plan does not have or a paper other than A4 and A3 400.
//! - `POST /import/indicator-values?planId=…&dryRun=true|false`, the `.xlsx` bytes as the
//!   body (at most 10 MiB; `dryRun` defaults to `true`). Departments only (anonymous 401,
//!   other roles 403). 200 with the report for a dry run and for an applied run, 422 with
//!   the report when a real run is refused for row errors (nothing is written), 400 when
//!   the request is wrong as a whole (not a workbook, too large, no such plan, nothing
//!   filled in).
//!
//! Errors are JSON: `{"code": "BAD_USER_INPUT", "message": "…", "requestId": "…"}`, with
//! the codes of the GraphQL API.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use futures_util::StreamExt;
use serde::Deserialize;

use crate::error::AppError;
use crate::http::{AppState, content_disposition, new_request_id, viewer_of};
use crate::id::{NodeId, NodeKind};
use crate::service::audit::Caller;
use crate::service::import::{MAX_IMPORT_BYTES, import_indicator_values, importing_department};
use crate::service::ledger::{Ledger, Paper, build_ledger};
use crate::service::policy::Viewer;
use crate::service::snapshot::PlanView;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/export/plan.xlsx", web::get().to(export_xlsx))
        .route("/export/plan.csv", web::get().to(export_csv))
        .route("/import/indicator-values", web::post().to(import_values));
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlanQuery {
    plan_id: Option<String>,
    dry_run: Option<String>,
    /// The period the workbook's summary counts.
    period: Option<String>,
    paper: Option<String>,
}

impl PlanQuery {
    fn plan_id(&self) -> Result<Option<i64>, AppError> {
        self.plan_id
            .as_deref()
            .filter(|raw| !raw.trim().is_empty())
            .map(|raw| NodeId::decode_as(raw, NodeKind::Plan))
            .transpose()
    }

    /// A dry run unless the caller says otherwise: a forgotten parameter writes nothing.
    fn dry_run(&self) -> Result<bool, AppError> {
        match self.dry_run.as_deref().map(str::trim) {
            None | Some("") | Some("true") | Some("1") => Ok(true),
            Some("false") | Some("0") => Ok(false),
            Some(_) => Err(AppError::bad_input("dryRun is true or false")),
        }
    }
}

/// An error as the JSON the GraphQL API would carry in `extensions`:
/// `{"code": "...", "message": "..."}`, with the matching HTTP status.
fn error_response(error: &AppError, request_id: &str, http: &HttpRequest) -> HttpResponse {
    if let AppError::Unexpected(cause) = error {
        tracing::error!(error = ?cause, request_id, "a spreadsheet request failed");
    }
    let status = error.http_status();
    let mut reply = HttpResponseBuilder::new(status);
    if status == StatusCode::UNAUTHORIZED {
        reply.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    reply
        .insert_header(("x-request-id", request_id))
        .json(serde_json::json!({
            "code": error.code(),
            "message": crate::messages::translate(
                &error.message(),
                crate::http::language_of(http.headers()),
            ),
            "requestId": request_id,
        }))
}

/// The caller; an anonymous one is refused here, before any work.
async fn signed_in(state: &AppState, http: &HttpRequest) -> Result<Viewer, AppError> {
    match viewer_of(state, http).await? {
        Viewer::Anonymous => Err(AppError::Unauthenticated),
        viewer => Ok(viewer),
    }
}

/// The ledger the signed-in caller asked for; a wrong paper size is refused before any work.
async fn ledger_of(
    state: &AppState,
    http: &HttpRequest,
    query: &PlanQuery,
) -> Result<(Ledger, Paper), AppError> {
    let viewer = signed_in(state, http).await?;
    let paper = Paper::parse(query.paper.as_deref())?;
    let period = query.period.as_deref().filter(|raw| !raw.trim().is_empty());
    let plan_id = query.plan_id()?;
    let view = PlanView {
        snapshot: state.snapshots.current(&state.db).await?,
        scope: viewer.scope(),
        today: state.api.clock.today(),
    };
    let ledger = build_ledger(&state.db, &view, &viewer, plan_id, period).await?;
    Ok((ledger, paper))
}

fn attachment(
    request_id: &str,
    content_type: &str,
    file_name: &str,
    body: Vec<u8>,
) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_DISPOSITION, content_disposition(file_name)))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header(("x-content-type-options", "nosniff"))
        .insert_header(("x-request-id", request_id))
        .body(body)
}

/// `GET /export/plan.xlsx?planId=<plan id>&period=<period>&paper=A4|A3`: the ledger
/// workbook (sheets 概覽, 工作台賬 and 指標).
async fn export_xlsx(
    state: web::Data<AppState>,
    http: HttpRequest,
    query: web::Query<PlanQuery>,
) -> HttpResponse {
    let request_id = new_request_id();
    let (ledger, paper) = match ledger_of(&state, &http, &query).await {
        Ok(found) => found,
        Err(error) => return error_response(&error, &request_id, &http),
    };
    let file_name = ledger.file_name("xlsx");
    // Compressing the workbook is CPU work: keep it off the threads that serve requests.
    match web::block(move || ledger.to_xlsx(paper)).await {
        Ok(Ok(bytes)) => attachment(&request_id, XLSX, &file_name, bytes),
        Ok(Err(error)) => error_response(&error, &request_id, &http),
        Err(error) => error_response(
            &AppError::Unexpected(anyhow::anyhow!("the workbook writer stopped: {error}")),
            &request_id,
            &http,
        ),
    }
}

/// `GET /export/plan.csv?planId=<plan id>`: the ledger sheet as CSV, UTF-8 with a BOM.
async fn export_csv(
    state: web::Data<AppState>,
    http: HttpRequest,
    query: web::Query<PlanQuery>,
) -> HttpResponse {
    let request_id = new_request_id();
    let result = match ledger_of(&state, &http, &query).await {
        Ok((ledger, _)) => ledger
            .to_csv()
            .map(|bytes| (ledger.file_name("csv"), bytes)),
        Err(error) => Err(error),
    };
    match result {
        Ok((file_name, bytes)) => {
            attachment(&request_id, "text/csv; charset=utf-8", &file_name, bytes)
        }
        Err(error) => error_response(&error, &request_id, &http),
    }
}

/// Reads the body up to the import limit; a larger one is the caller's mistake.
async fn read_body(http: &HttpRequest, mut payload: web::Payload) -> Result<Vec<u8>, AppError> {
    let too_large = || {
        AppError::bad_input(format!(
            "the workbook is larger than {} MiB",
            MAX_IMPORT_BYTES / (1024 * 1024)
        ))
    };
    let declared = http
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_IMPORT_BYTES) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| AppError::bad_input("the body could not be read"))?;
        if body.len() + chunk.len() > MAX_IMPORT_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    if body.is_empty() {
        return Err(AppError::bad_input(
            "send the filled-in workbook (.xlsx) as the request body",
        ));
    }
    Ok(body)
}

/// `POST /import/indicator-values?planId=<plan id>&dryRun=true|false`, the `.xlsx` bytes
/// as the body. 200 with the report for a dry run and for an applied run; 422 with the
/// report when a real run is refused because of row errors.
async fn import_values(
    state: web::Data<AppState>,
    http: HttpRequest,
    query: web::Query<PlanQuery>,
    payload: web::Payload,
) -> HttpResponse {
    let request_id = new_request_id();
    let viewer = match signed_in(&state, &http).await {
        Ok(viewer) => viewer,
        Err(error) => return error_response(&error, &request_id, &http),
    };
    let caller = Caller {
        viewer: &viewer,
        request_id: &request_id,
        clock: state.api.clock,
    };
    let result = async {
        let plan_id = query.plan_id()?;
        let dry_run = query.dry_run()?;
        // Who may import is checked before the body is read.
        importing_department(&viewer)?;
        let body = read_body(&http, payload).await?;
        import_indicator_values(&state.db, &caller, plan_id, dry_run, body).await
    }
    .await;
    match result {
        Ok(mut report) => {
            let language = crate::http::language_of(http.headers());
            for error in report
                .errors
                .iter_mut()
                .chain(report.rows.iter_mut().flat_map(|row| row.errors.iter_mut()))
            {
                if let std::borrow::Cow::Owned(translated) =
                    crate::messages::translate(&error.reason, language)
                {
                    error.reason = translated;
                }
            }
            let status = if report.dry_run || report.applied {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            HttpResponseBuilder::new(status)
                .insert_header(("x-request-id", request_id.as_str()))
                .json(report)
        }
        Err(error) => error_response(&error, &request_id, &http),
    }
}
