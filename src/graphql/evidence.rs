//! Evidence over GraphQL: the files that back a report, uploaded with the GraphQL
//! multipart request specification and downloaded from `/files/{id}`.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject, Upload};

use crate::entity::evidence;
use crate::error::AppError;
use crate::graphql::audit::AuditEntry;
use crate::graphql::connection::AuditEntryConnection;
use crate::graphql::context::ContextExt;
use crate::graphql::department::Department;
use crate::graphql::loaders::{HistoryOfEvidence, ReportById, ValueById};
use crate::graphql::report::{
    IndicatorValue, ProgressReport, abilities, decode, load_department, load_task, load_user,
    submission_object,
};
use crate::graphql::task::Task;
use crate::graphql::types::DateTime;
use crate::graphql::types::global_id;
use crate::graphql::user::User;
use crate::id::NodeKind;
use crate::service::evidence::{
    self as evidences, EvidenceInput as ServiceEvidenceInput, UploadedFile,
};
use crate::service::page::page_args;
use crate::service::policy::Viewer;
use crate::service::submission::{ReviewStatus, SubmissionRow};

/// A file that backs a report (佐證材料).
pub struct Evidence(pub evidence::Model);

submission_object!(Evidence, NodeKind::Evidence, HistoryOfEvidence, {
    pub async fn task(&self, ctx: &Context<'_>) -> Result<Task> {
        load_task(ctx, self.0.task_id).await
    }
    pub async fn title(&self) -> &str {
        &self.0.title
    }
    pub async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The name the file was uploaded with.
    pub async fn file_name(&self) -> &str {
        &self.0.file_name
    }
    /// The type found in the file's bytes.
    pub async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    /// Bytes.
    pub async fn size(&self) -> i64 {
        self.0.size
    }
    pub async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    /// Download with the same bearer token (a path on this server).
    pub async fn download_url(&self) -> String {
        download_path(self.0.id)
    }
    /// An absolute link that downloads the file without a token, for a plain link or an
    /// image: it works for the viewer alone, until `expiresAt` (`ECOPLAN_DOWNLOAD_LINK_MINUTES`)
    /// or until the viewer's tokens are revoked, and the file's access rules still apply.
    pub async fn download_link(&self, ctx: &Context<'_>) -> Result<DownloadLink> {
        let request = ctx.request();
        let Viewer::User(user) = &request.viewer else {
            return Err(AppError::Unauthenticated.into());
        };
        let (query, expires_at) = request.token_keys.download_links().sign(
            self.0.id,
            user.user_id,
            user.token_version,
            chrono::Utc::now(),
        );
        Ok(DownloadLink {
            url: format!(
                "{}{}?{query}",
                request.public_origin,
                download_path(self.0.id)
            ),
            expires_at: DateTime(expires_at),
        })
    }
    /// The report it backs, if any (and if the viewer may see it).
    pub async fn progress_report(&self, ctx: &Context<'_>) -> Result<Option<ProgressReport>> {
        let Some(id) = self.0.progress_report_id else {
            return Ok(None);
        };
        Ok(ctx
            .request()
            .loaders
            .load_one(ReportById(id))
            .await?
            .map(ProgressReport))
    }
    /// The indicator value it backs, if any (and if the viewer may see it).
    pub async fn indicator_value(&self, ctx: &Context<'_>) -> Result<Option<IndicatorValue>> {
        let Some(id) = self.0.indicator_value_id else {
            return Ok(None);
        };
        Ok(ctx
            .request()
            .loaders
            .load_one(ValueById(id))
            .await?
            .map(IndicatorValue))
    }
    /// The id of `progressReport`.
    #[graphql(deprecation = "use `progressReport { id }`")]
    pub async fn progress_report_id(&self) -> Option<ID> {
        self.0
            .progress_report_id
            .map(|id| global_id(NodeKind::ProgressReport, id))
    }
    /// The id of `indicatorValue`.
    #[graphql(deprecation = "use `indicatorValue { id }`")]
    pub async fn indicator_value_id(&self) -> Option<ID> {
        self.0
            .indicator_value_id
            .map(|id| global_id(NodeKind::IndicatorValue, id))
    }
});

fn download_path(evidence_id: i64) -> String {
    format!("/files/{}", global_id(NodeKind::Evidence, evidence_id).0)
}

/// A signed link to a file.
#[derive(SimpleObject)]
pub struct DownloadLink {
    /// The absolute address, signed for the viewer.
    pub url: String,
    /// When it stops working.
    pub expires_at: DateTime,
}

#[derive(InputObject)]
pub struct EvidenceInput {
    pub task_id: ID,
    pub title: String,
    pub description: Option<String>,
    pub progress_report_id: Option<ID>,
    pub indicator_value_id: Option<ID>,
}

#[derive(Default)]
pub struct EvidenceMutation;

#[Object]
impl EvidenceMutation {
    /// Uploads a file as draft evidence (GraphQL multipart request).
    async fn upload_evidence(
        &self,
        ctx: &Context<'_>,
        input: EvidenceInput,
        file: Upload,
    ) -> Result<Evidence> {
        let request = ctx.request();
        let input = ServiceEvidenceInput {
            task_id: decode(&input.task_id, NodeKind::Task)?,
            title: input.title,
            description: input.description,
            progress_report_id: input
                .progress_report_id
                .as_ref()
                .map(|id| decode(id, NodeKind::ProgressReport))
                .transpose()?,
            indicator_value_id: input
                .indicator_value_id
                .as_ref()
                .map(|id| decode(id, NodeKind::IndicatorValue))
                .transpose()?,
        };
        let saved = evidences::upload_evidence(
            request.db(),
            &request.files,
            &request.metrics,
            &request.caller(),
            &request.upload_policy,
            input,
            || {
                let upload = file.value(ctx).map_err(|_| {
                    AppError::bad_input("the file could not be read from the request")
                })?;
                Ok(UploadedFile {
                    file_name: upload.filename,
                    content: upload.content,
                })
            },
        )
        .await?;
        Ok(Evidence(saved))
    }

    /// Deletes draft evidence of your department.
    async fn delete_evidence(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
    ) -> Result<DeleteEvidencePayload> {
        let request = ctx.request();
        let raw = decode(&id, NodeKind::Evidence)?;
        let deleted = evidences::delete_evidence(
            request.db(),
            &request.files,
            &request.caller(),
            raw,
            version,
        )
        .await?;
        Ok(DeleteEvidencePayload {
            deleted_evidence_id: id,
            task_id: deleted.task_id,
        })
    }
}

/// What `deleteEvidence` answers: the id that is gone, and the task it was evidence of,
/// to refresh.
pub struct DeleteEvidencePayload {
    deleted_evidence_id: ID,
    task_id: i64,
}

#[Object]
impl DeleteEvidencePayload {
    async fn deleted_evidence_id(&self) -> &ID {
        &self.deleted_evidence_id
    }
    async fn task(&self, ctx: &Context<'_>) -> Result<Task> {
        load_task(ctx, self.task_id).await
    }
}
