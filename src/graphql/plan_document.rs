//! Plans from their documents over GraphQL: preview a document's plan, import it as a
//! draft, correct the draft, publish it. Thin wrappers over `service::plan_import`.

use std::io::Read;

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject, Upload};

use crate::error::{AppError, AppResult};
use crate::graphql::context::ContextExt;
use crate::graphql::indicator::Indicator;
use crate::graphql::plan::Plan;
use crate::graphql::task::Task;
use crate::graphql::types::Date;
use crate::id::{NodeId, NodeKind};
use crate::service::indicator::{Direction, TargetKind};
use crate::service::plan_document::{ImportedPlan, ReviewItem, ReviewSubject, plan_file_toml};
use crate::service::plan_import::{
    self, DraftIndicatorCorrection, DraftTaskCorrection, MAX_DOCUMENT_BYTES, PlanDocument,
};

/// What a review item is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum PlanReviewSubject {
    /// The plan's title, issuer, date or parts.
    Plan,
    /// A numbered task missing, malformed or out of order.
    Task,
    /// A title that could not be separated from the text.
    Title,
    /// A lead list missing or not understood.
    Leads,
    /// A target whose number, unit or direction was not recognised.
    Target,
    /// A department ecoplan did not know, created by the import.
    Department,
}

impl From<ReviewSubject> for PlanReviewSubject {
    fn from(subject: ReviewSubject) -> Self {
        match subject {
            ReviewSubject::Plan => Self::Plan,
            ReviewSubject::Task => Self::Task,
            ReviewSubject::Title => Self::Title,
            ReviewSubject::Leads => Self::Leads,
            ReviewSubject::Target => Self::Target,
            ReviewSubject::Department => Self::Department,
        }
    }
}

/// One thing a person must check in a plan read from its document.
#[derive(SimpleObject)]
pub struct PlanReviewItem {
    /// The task it is about, by code (`34`, `2.1`); none for the plan as a whole.
    pub task_code: Option<String>,
    pub subject: PlanReviewSubject,
    pub message: String,
    /// The item as one line, as `ecoplan plan import-text` prints it.
    pub line: String,
}

impl From<&ReviewItem> for PlanReviewItem {
    fn from(item: &ReviewItem) -> Self {
        Self {
            task_code: item.task.clone(),
            subject: item.subject.into(),
            message: item.message.clone(),
            line: item.to_string(),
        }
    }
}

/// A section of a previewed plan.
#[derive(SimpleObject)]
pub struct PlanPreviewSection {
    pub number: i32,
    pub title: String,
}

/// A department a previewed plan names.
#[derive(SimpleObject)]
pub struct PlanPreviewDepartment {
    pub code: String,
    pub name: String,
    pub aliases: Vec<String>,
    /// Not known to ecoplan: the import creates it.
    pub is_new: bool,
}

/// A target of a later year (`到2025年,…力争达到100%`).
#[derive(SimpleObject)]
pub struct PlanPreviewMilestone {
    pub year: i32,
    pub kind: TargetKind,
    pub value: Option<f64>,
    pub target_text: String,
}

/// An indicator of a previewed task, with its target.
#[derive(SimpleObject)]
pub struct PlanPreviewIndicator {
    pub name: String,
    pub kind: TargetKind,
    pub value: Option<f64>,
    pub unit: Option<String>,
    pub better: Direction,
    /// The target in the document's own words.
    pub target_text: String,
    pub milestones: Vec<PlanPreviewMilestone>,
}

/// A task (or a part of one) of a previewed plan.
#[derive(SimpleObject)]
pub struct PlanPreviewTask {
    pub code: String,
    pub section_number: i32,
    pub parent_code: Option<String>,
    pub title: String,
    pub text: String,
    /// The lead list as the document writes it.
    pub leads_as_written: Option<String>,
    /// The lead departments, by code, in order.
    pub lead_codes: Vec<String>,
    pub indicators: Vec<PlanPreviewIndicator>,
}

/// The plan a document would become, with what must be checked; nothing is written.
#[derive(SimpleObject)]
pub struct PlanDocumentPreview {
    pub key: String,
    pub title: String,
    pub issuer: String,
    pub issued_on: Option<Date>,
    pub year: i32,
    /// The document's own file name.
    pub source_file: Option<String>,
    pub sections: Vec<PlanPreviewSection>,
    pub tasks: Vec<PlanPreviewTask>,
    pub departments: Vec<PlanPreviewDepartment>,
    pub review: Vec<PlanReviewItem>,
    /// The plan as a plan file (TOML), as `ecoplan plan import-text` writes it.
    pub plan_file: String,
}

fn kind_of(raw: &str) -> Result<TargetKind> {
    TargetKind::parse(raw)
        .ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("unknown target kind {raw}")).into())
}

fn preview_of(imported: &ImportedPlan) -> Result<PlanDocumentPreview> {
    let file = &imported.file;
    let issued_on = file.plan.issued_on.date.and_then(|date| {
        chrono::NaiveDate::from_ymd_opt(
            i32::from(date.year),
            u32::from(date.month),
            u32::from(date.day),
        )
        .map(Date)
    });
    let mut tasks = Vec::with_capacity(file.tasks.len());
    for task in &file.tasks {
        let mut indicators = Vec::with_capacity(task.indicators.len());
        for indicator in &task.indicators {
            let mut milestones = Vec::new();
            for milestone in &indicator.milestones {
                milestones.push(PlanPreviewMilestone {
                    year: milestone.year,
                    kind: kind_of(&milestone.kind)?,
                    value: milestone.value,
                    target_text: milestone.target_text.clone(),
                });
            }
            indicators.push(PlanPreviewIndicator {
                name: indicator.name.clone(),
                kind: kind_of(&indicator.kind)?,
                value: indicator.value,
                unit: indicator.unit.clone(),
                better: Direction::parse(&indicator.better).unwrap_or(Direction::Higher),
                target_text: indicator.target_text.clone(),
                milestones,
            });
        }
        tasks.push(PlanPreviewTask {
            code: task.code.clone(),
            section_number: task.section,
            parent_code: task.parent.clone(),
            title: task.title.clone(),
            text: task.text.clone(),
            leads_as_written: task.leads_as_written.clone(),
            lead_codes: task.leads.clone(),
            indicators,
        });
    }
    Ok(PlanDocumentPreview {
        key: file.plan.key.clone(),
        title: file.plan.title.clone(),
        issuer: file.plan.issuer.clone(),
        issued_on,
        year: file.plan.year,
        source_file: file.plan.source_file.clone(),
        sections: file
            .sections
            .iter()
            .map(|section| PlanPreviewSection {
                number: section.number,
                title: section.title.clone(),
            })
            .collect(),
        tasks,
        departments: file
            .departments
            .iter()
            .map(|department| PlanPreviewDepartment {
                code: department.code.clone(),
                name: department.name.clone(),
                aliases: department.aliases.clone(),
                is_new: imported.new_departments.contains(&department.code),
            })
            .collect(),
        review: imported.review.iter().map(PlanReviewItem::from).collect(),
        plan_file: plan_file_toml(file)?,
    })
}

/// What an import created: the draft plan, and what must be checked before publishing it.
#[derive(SimpleObject)]
pub struct ImportPlanDocumentPayload {
    pub plan: Plan,
    pub review: Vec<PlanReviewItem>,
}

/// A correction of a draft task; fields left out stay as they are.
#[derive(InputObject)]
pub struct DraftTaskInput {
    pub title: Option<String>,
    /// The lead departments by code, in order; they replace the imported ones.
    pub lead_department_codes: Option<Vec<String>>,
}

/// A correction of a draft indicator; fields left out stay as they are. Giving `kind`
/// replaces `value` and `unit` with it (a target without a number has no value).
#[derive(InputObject)]
pub struct DraftIndicatorInput {
    pub name: Option<String>,
    pub kind: Option<TargetKind>,
    pub value: Option<f64>,
    pub unit: Option<String>,
    pub better: Option<Direction>,
    pub target_text: Option<String>,
}

fn read_upload(ctx: &Context<'_>, file: Upload) -> AppResult<PlanDocument> {
    let upload = file
        .value(ctx)
        .map_err(|_| AppError::bad_input("the file could not be read from the request"))?;
    let mut bytes = Vec::new();
    upload
        .content
        .take(MAX_DOCUMENT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|_| AppError::bad_input("the file could not be read from the request"))?;
    Ok(PlanDocument {
        file_name: upload.filename,
        bytes,
    })
}

#[derive(Default)]
pub struct PlanDocumentMutation;

#[Object]
impl PlanDocumentMutation {
    /// The plan a work plan's document (UTF-8 text, either script) would become, and the
    /// list of what a person must check; writes nothing (administrators).
    async fn preview_plan_document(
        &self,
        ctx: &Context<'_>,
        file: Upload,
        key: String,
        year: i32,
    ) -> Result<PlanDocumentPreview> {
        let request = ctx.request();
        let imported = plan_import::preview_plan_document(
            request.db(),
            &request.viewer,
            || read_upload(ctx, file),
            &key,
            year,
        )
        .await?;
        preview_of(&imported)
    }

    /// Creates a document's plan as a draft, with the departments it names that are not
    /// known yet (administrators). Only administrators and the leadership group see the
    /// draft until `publishPlan`.
    async fn import_plan_document(
        &self,
        ctx: &Context<'_>,
        file: Upload,
        key: String,
        year: i32,
    ) -> Result<ImportPlanDocumentPayload> {
        let request = ctx.request();
        let (row, imported) = plan_import::import_plan_document_as_draft(
            request.db(),
            &request.caller(),
            || read_upload(ctx, file),
            &key,
            year,
        )
        .await?;
        let view = request.fresh_plan_view().await?;
        let index = view.snapshot.plan_index(row.id).ok_or_else(|| {
            AppError::Unexpected(anyhow::anyhow!("the imported plan is not in the snapshot"))
        })?;
        Ok(ImportPlanDocumentPayload {
            plan: Plan::new(&view, index),
            review: imported.review.iter().map(PlanReviewItem::from).collect(),
        })
    }

    /// Makes a draft plan visible to the departments and the portal (administrators and
    /// the leadership group).
    async fn publish_plan(&self, ctx: &Context<'_>, id: ID) -> Result<Plan> {
        let request = ctx.request();
        let id = NodeId::decode_as(&id, NodeKind::Plan)?;
        let row = plan_import::publish_plan(request.db(), &request.caller(), id).await?;
        let view = request.fresh_plan_view().await?;
        let index = view.snapshot.plan_index(row.id).ok_or_else(|| {
            AppError::Unexpected(anyhow::anyhow!("the published plan is not in the snapshot"))
        })?;
        Ok(Plan::new(&view, index))
    }

    /// Corrects a task of a draft plan: its title or lead departments (administrators and
    /// the leadership group). With `version` (the task's, as read), a change made
    /// meanwhile is not overwritten: `STALE_VERSION` with `currentVersion`.
    async fn update_draft_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: DraftTaskInput,
        version: Option<i32>,
    ) -> Result<Task> {
        let request = ctx.request();
        let id = NodeId::decode_as(&id, NodeKind::Task)?;
        let correction = DraftTaskCorrection {
            title: input.title,
            lead_codes: input.lead_department_codes,
        };
        let row = plan_import::update_draft_task(
            request.db(),
            &request.caller(),
            id,
            version,
            correction,
        )
        .await?;
        let view = request.fresh_plan_view().await?;
        let index = view.snapshot.task_index(row.id).ok_or_else(|| {
            AppError::Unexpected(anyhow::anyhow!("the corrected task is not in the snapshot"))
        })?;
        Ok(Task::new(&view, index))
    }

    /// Corrects an indicator of a draft plan: its name or target (administrators and the
    /// leadership group).
    async fn update_draft_indicator(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: DraftIndicatorInput,
    ) -> Result<Indicator> {
        let request = ctx.request();
        let id = NodeId::decode_as(&id, NodeKind::Indicator)?;
        let correction = DraftIndicatorCorrection {
            name: input.name,
            kind: input.kind,
            value: input.value,
            unit: input.unit,
            better: input.better,
            target_text: input.target_text,
        };
        let row =
            plan_import::update_draft_indicator(request.db(), &request.caller(), id, correction)
                .await?;
        let view = request.fresh_plan_view().await?;
        let index = view.snapshot.indicator_index(row.id).ok_or_else(|| {
            AppError::Unexpected(anyhow::anyhow!(
                "the corrected indicator is not in the snapshot"
            ))
        })?;
        Ok(Indicator::new(&view, index))
    }
}
