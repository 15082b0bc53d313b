//! Evidence (佐證材料): files that back reports, checked by their bytes, stored under
//! opaque keys, and served under the same access rules as everything else.

use std::collections::HashMap;
use std::io::{Read, Seek};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use sha2::{Digest, Sha256};

use crate::entity::{evidence, indicator};
use crate::error::{AppError, AppResult};
use crate::metrics::Metrics;
use crate::service::audit::{self, Caller, ItemType};
use crate::service::auth::random_secret;
use crate::service::policy::{self, ReadScope};
use crate::service::submission::{self, ReviewStatus, SubmissionKind, SubmissionRow};
use crate::service::{draft, period};
use crate::storage::FileStore;

/// What uploads may be.
#[derive(Clone, Debug)]
pub struct UploadPolicy {
    pub max_bytes: u64,
    /// Content types accepted, as detected from the bytes.
    pub allowed_types: Vec<String>,
    /// What the entries of an archive (zip, Office, OpenDocument) may unpack to in all.
    pub max_unpacked_bytes: u64,
    /// How many times its own size an archive may unpack to.
    pub max_compression_ratio: u64,
}

pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 50 * 1024 * 1024;
pub const DEFAULT_MAX_UNPACKED_BYTES: u64 = 256 * 1024 * 1024;
/// Office files and zips of documents unpack to a few times their size; a zip bomb to
/// hundreds or thousands of times.
pub const DEFAULT_MAX_COMPRESSION_RATIO: u64 = 100;
/// Below this, an archive's ratio is not held against it (small XML parts compress well).
const RATIO_FLOOR_BYTES: u64 = 1024 * 1024;
const MAX_ARCHIVE_ENTRIES: usize = 10_000;

/// Extensions of content a browser runs or renders actively (pages, scripts, vector
/// images, style sheets, server pages, applets): refused whatever the bytes are, since a
/// file can be two things at once (a PDF that is also an HTML page).
const ACTIVE_CONTENT_EXTENSIONS: &[&str] = &[
    "htm",
    "html",
    "xhtml",
    "xht",
    "shtml",
    "shtm",
    "mht",
    "mhtml",
    "svg",
    "svgz",
    "js",
    "mjs",
    "cjs",
    "jsx",
    "ts",
    "xml",
    "xsl",
    "xslt",
    "xbl",
    "php",
    "php3",
    "php4",
    "php5",
    "phtml",
    "phar",
    "asp",
    "aspx",
    "jsp",
    "jspx",
    "cgi",
    "pl",
    "py",
    "hta",
    "htc",
    "swf",
    "vbs",
    "vbe",
    "wsf",
    "wsh",
    "ps1",
    "bat",
    "cmd",
    "com",
    "exe",
    "scr",
    "msi",
    "jar",
    "url",
    "webmanifest",
    "appcache",
    "css",
    "rss",
    "atom",
];

/// The part an Office Open XML file of each extension must have besides
/// `[Content_Types].xml`.
fn office_main_part(extension: &str) -> Option<&'static str> {
    match extension {
        "docx" => Some("word/document.xml"),
        "xlsx" => Some("xl/workbook.xml"),
        "pptx" => Some("ppt/presentation.xml"),
        _ => None,
    }
}

fn is_archive_type(content_type: &str) -> bool {
    content_type == "application/zip"
        || content_type.starts_with("application/vnd.openxmlformats-officedocument.")
        || content_type.starts_with("application/vnd.oasis.opendocument.")
}

/// Checks an archive without unpacking it anywhere: what its entries really inflate to
/// (not what their headers claim), in all and against its size, and for an Office name,
/// that it is an Office Open XML package.
fn check_archive(
    content: &mut std::fs::File,
    size: u64,
    extension: Option<&str>,
    policy: &UploadPolicy,
) -> AppResult<()> {
    let unreadable = || AppError::bad_input("the file is an archive that cannot be read");
    let mut archive = zip::ZipArchive::new(&mut *content).map_err(|_| unreadable())?;
    if archive.len() > MAX_ARCHIVE_ENTRIES {
        return Err(AppError::bad_input(format!(
            "the archive has more than {MAX_ARCHIVE_ENTRIES} entries"
        )));
    }
    if let Some(main_part) = extension.and_then(office_main_part) {
        let names: std::collections::HashSet<String> = archive
            .file_names()
            .filter_map(|name| name.ok().map(|name| name.into_owned()))
            .collect();
        if !names.contains("[Content_Types].xml") || !names.contains(main_part) {
            return Err(AppError::bad_input(format!(
                "the file is named .{} but is not an Office document: it lacks [Content_Types].xml or {main_part}",
                extension.unwrap_or_default()
            )));
        }
    }
    let ratio_limit = size.saturating_mul(policy.max_compression_ratio);
    let too_big = |unpacked: u64| {
        if unpacked > policy.max_unpacked_bytes {
            Some(format!(
                "the archive unpacks to more than {} bytes, the limit",
                policy.max_unpacked_bytes
            ))
        } else if unpacked > RATIO_FLOOR_BYTES && unpacked > ratio_limit {
            Some(format!(
                "the archive unpacks to more than {} times its size, the limit",
                policy.max_compression_ratio
            ))
        } else {
            None
        }
    };
    // What the headers claim first (cheap), then what the entries really inflate to.
    let claimed = (0..archive.len())
        .filter_map(|index| archive.by_index_raw(index).ok().map(|entry| entry.size()))
        .fold(0u64, u64::saturating_add);
    if let Some(message) = too_big(claimed) {
        return Err(AppError::bad_input(message));
    }
    let budget = policy
        .max_unpacked_bytes
        .min(ratio_limit.max(RATIO_FLOOR_BYTES));
    let mut unpacked: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(|_| unreadable())?;
        let remaining = budget.saturating_sub(unpacked).saturating_add(1);
        let inflated = std::io::copy(&mut entry.take(remaining), &mut std::io::sink())
            .map_err(|_| unreadable())?;
        unpacked = unpacked.saturating_add(inflated);
        if let Some(message) = too_big(unpacked) {
            return Err(AppError::bad_input(message));
        }
    }
    Ok(())
}

/// PDF, images, Office and OpenDocument files, plain text and zip archives.
pub fn default_allowed_types() -> Vec<String> {
    [
        "application/pdf",
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/tiff",
        "image/bmp",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "text/plain",
        "text/csv",
        "application/zip",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

impl Default for UploadPolicy {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            allowed_types: default_allowed_types(),
            max_unpacked_bytes: DEFAULT_MAX_UNPACKED_BYTES,
            max_compression_ratio: DEFAULT_MAX_COMPRESSION_RATIO,
        }
    }
}

/// What a file name's extension promises about its bytes.
fn types_for_extension(extension: &str) -> Option<&'static [&'static str]> {
    Some(match extension {
        "pdf" => &["application/pdf"],
        "jpg" | "jpeg" => &["image/jpeg"],
        "png" => &["image/png"],
        "gif" => &["image/gif"],
        "webp" => &["image/webp"],
        "tif" | "tiff" => &["image/tiff"],
        "bmp" => &["image/bmp"],
        "doc" | "xls" | "ppt" => &[
            "application/msword",
            "application/vnd.ms-excel",
            "application/vnd.ms-powerpoint",
        ],
        "docx" => &[
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/zip",
        ],
        "xlsx" => &[
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/zip",
        ],
        "pptx" => &[
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/zip",
        ],
        "odt" => &["application/vnd.oasis.opendocument.text", "application/zip"],
        "ods" => &[
            "application/vnd.oasis.opendocument.spreadsheet",
            "application/zip",
        ],
        "odp" => &[
            "application/vnd.oasis.opendocument.presentation",
            "application/zip",
        ],
        "txt" => &["text/plain"],
        "csv" => &["text/csv", "text/plain"],
        "zip" => &["application/zip"],
        _ => return None,
    })
}

/// The content type of a file, from its first bytes: a known signature, or plain text when
/// the bytes are UTF-8 without control characters.
pub fn sniff(head: &[u8], whole_file_is_head: bool) -> Option<String> {
    if let Some(kind) = infer::get(head) {
        return Some(kind.mime_type().to_owned());
    }
    // A cut in the middle of a multi-byte character at the end of the sample is fine.
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(error) if !whole_file_is_head && error.error_len().is_none() => {
            std::str::from_utf8(&head[..error.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return None,
    };
    let printable = text
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t' | '\u{feff}'));
    printable.then(|| "text/plain".to_owned())
}

/// The last part of a client's file name, without folders or control characters.
pub fn clean_file_name(raw: &str) -> AppResult<String> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        return Err(AppError::bad_input("the file needs a name"));
    }
    Ok(cleaned.chars().take(255).collect())
}

/// An uploaded file as the HTTP layer received it.
pub struct UploadedFile {
    pub file_name: String,
    pub content: std::fs::File,
}

pub struct EvidenceInput {
    pub task_id: i64,
    pub title: String,
    pub description: Option<String>,
    pub progress_report_id: Option<i64>,
    pub indicator_value_id: Option<i64>,
}

struct CheckedFile {
    content_type: String,
    size: u64,
    sha256: String,
    content: std::fs::File,
}

/// Reads the file once: its size, its type from its bytes, and its SHA-256.
fn check_file(
    mut content: std::fs::File,
    file_name: &str,
    policy: &UploadPolicy,
) -> AppResult<CheckedFile> {
    let io = |error: std::io::Error| {
        AppError::Unexpected(anyhow::Error::new(error).context("cannot read an upload"))
    };
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, ext)| ext.trim().to_ascii_lowercase());
    if let Some(extension) = extension.as_deref()
        && ACTIVE_CONTENT_EXTENSIONS.contains(&extension)
    {
        return Err(AppError::bad_input(format!(
            "files named .{extension} are not accepted as evidence: a browser would run them"
        )));
    }
    let size = content.metadata().map_err(io)?.len();
    if size == 0 {
        return Err(AppError::bad_input("the file is empty"));
    }
    if size > policy.max_bytes {
        return Err(AppError::bad_input(format!(
            "the file is {size} bytes; the limit is {} bytes",
            policy.max_bytes
        )));
    }
    let mut head = vec![0u8; 8192];
    let read = content.read(&mut head).map_err(io)?;
    head.truncate(read);
    let content_type = sniff(&head, read as u64 == size).ok_or_else(|| {
        AppError::bad_input("the file's type cannot be recognised from its contents")
    })?;
    if !policy.allowed_types.contains(&content_type) {
        return Err(AppError::bad_input(format!(
            "files of type {content_type} are not accepted as evidence"
        )));
    }
    if let Some(expected) = extension.as_deref().and_then(types_for_extension)
        && !expected.contains(&content_type.as_str())
    {
        return Err(AppError::bad_input(format!(
            "the file is named .{} but its contents are {content_type}",
            extension.as_deref().unwrap_or_default()
        )));
    }
    let office_name = extension.as_deref().and_then(office_main_part).is_some();
    if is_archive_type(&content_type) || office_name {
        content.rewind().map_err(io)?;
        check_archive(&mut content, size, extension.as_deref(), policy)?;
    }
    content.rewind().map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = content.read(&mut buffer).map_err(io)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    content.rewind().map_err(io)?;
    let sha256 = hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Ok(CheckedFile {
        content_type,
        size,
        sha256,
        content,
    })
}

/// What only departments do, said to callers of another role.
const EVIDENCE_IS_DEPARTMENTS: &str = "evidence is uploaded by the departments that lead the task";

/// The report or value a file is attached to: one the caller's department may change
/// (another department's answers `NOT_FOUND`), about the same task, editable, in an open
/// period.
async fn check_attachments(
    db: &impl ConnectionTrait,
    caller: &Caller<'_>,
    opened: &draft::OnTask,
    input: &EvidenceInput,
) -> AppResult<()> {
    if let Some(report_id) = input.progress_report_id {
        let row = policy::require_changeable_submission(
            db,
            caller.viewer,
            SubmissionKind::ProgressReport,
            report_id,
        )
        .await?;
        let SubmissionRow::ProgressReport(report) = &row else {
            return Err(AppError::not_found("no submission has this id"));
        };
        if report.task_id != opened.task.id {
            return Err(AppError::bad_input(
                "the progress report is about another task",
            ));
        }
        // A closed period takes no more material, attached files included.
        period::ensure_open(db, report.plan_id, &report.period).await?;
        submission::ensure_editable(&row)?;
    }
    if let Some(value_id) = input.indicator_value_id {
        let row = policy::require_changeable_submission(
            db,
            caller.viewer,
            SubmissionKind::IndicatorValue,
            value_id,
        )
        .await?;
        let SubmissionRow::IndicatorValue(value) = &row else {
            return Err(AppError::not_found("no submission has this id"));
        };
        let of_task = indicator::Entity::find_by_id(value.indicator_id)
            .one(db)
            .await?
            .is_some_and(|indicator| indicator.task_id == opened.task.id);
        if !of_task {
            return Err(AppError::bad_input(
                "the indicator value is not of an indicator of this task",
            ));
        }
        period::ensure_open(db, value.plan_id, &value.period).await?;
        submission::ensure_editable(&row)?;
    }
    Ok(())
}

/// Stores an uploaded file as draft evidence of the caller's department. The row and its
/// audit entry are one transaction; a file that did not make it into the database is removed.
pub async fn upload_evidence(
    db: &DatabaseConnection,
    store: &Arc<dyn FileStore>,
    metrics: &Metrics,
    caller: &Caller<'_>,
    policy: &UploadPolicy,
    input: EvidenceInput,
    upload: impl FnOnce() -> AppResult<UploadedFile>,
) -> AppResult<evidence::Model> {
    caller.viewer.acting_department(EVIDENCE_IS_DEPARTMENTS)?;
    // The file is read only once the caller may upload: a refused caller learns nothing
    // from the request's file.
    let upload = upload()?;
    let title = input.title.trim().to_owned();
    if title.is_empty() || title.chars().count() > 500 {
        return Err(AppError::bad_input("a title is 1 to 500 characters"));
    }
    let description = input
        .description
        .as_deref()
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty());
    let file_name = clean_file_name(&upload.file_name)?;
    let opened = draft::open_on_task(db, caller, input.task_id, EVIDENCE_IS_DEPARTMENTS).await?;
    check_attachments(db, caller, &opened, &input).await?;

    let policy_copy = policy.clone();
    let checked_name = file_name.clone();
    let checked = tokio::task::spawn_blocking(move || {
        check_file(upload.content, &checked_name, &policy_copy)
    })
    .await
    .map_err(|error| AppError::Unexpected(error.into()))??;

    let storage_key = random_secret(32);
    let size = checked.size;
    // Pending until the row has committed: a crash in between leaves a pending file that
    // the sweep removes, never a stored file without its row.
    store.put_pending(&storage_key, checked.content).await?;
    let fields = EvidenceFields {
        title,
        description,
        file_name,
        content_type: checked.content_type,
        size,
        sha256: checked.sha256,
        storage_key: storage_key.clone(),
    };
    let saved = insert_row(
        db,
        caller,
        EvidenceDraft {
            opened,
            progress_report_id: input.progress_report_id,
            indicator_value_id: input.indicator_value_id,
            fields,
        },
    )
    .await;
    match saved {
        Ok(row) => {
            // The row is there: its file is served even while still pending, and the
            // sweep finishes what this could not.
            if let Err(error) = store.commit(&storage_key).await {
                tracing::error!(error = ?error, "cannot finish a stored upload; the sweep will");
            }
            metrics.uploads.inc();
            metrics.upload_bytes.add(size);
            Ok(row)
        }
        Err(error) => {
            if let Err(cleanup) = store.delete(&storage_key).await {
                tracing::error!(error = ?cleanup, "cannot remove an orphaned upload");
            }
            Err(error)
        }
    }
}

/// How often uploads that never committed are looked for, and how old their files must
/// be (an upload in flight must not lose its file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SweepSettings {
    pub interval: std::time::Duration,
    pub grace: std::time::Duration,
}

impl Default for SweepSettings {
    fn default() -> Self {
        Self {
            interval: std::time::Duration::from_secs(15 * 60),
            grace: std::time::Duration::from_secs(60 * 60),
        }
    }
}

/// What a sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepOutcome {
    /// Pending files whose row had committed, now stored.
    pub committed: usize,
    /// Files without a row, removed.
    pub removed: usize,
}

/// Brings the files in line with the rows: a pending file whose row committed becomes
/// stored; a file without a row (an upload that never committed, or evidence deleted just
/// before a crash) is removed. Only files older than `grace` are looked at.
pub async fn sweep_uploads(
    db: &impl ConnectionTrait,
    store: &dyn FileStore,
    grace: std::time::Duration,
) -> AppResult<SweepOutcome> {
    use crate::storage::FileState;
    let files = store.list(grace).await?;
    let mut outcome = SweepOutcome::default();
    for chunk in files.chunks(500) {
        let keys: Vec<&str> = chunk.iter().map(|file| file.key.as_str()).collect();
        let with_rows: std::collections::HashSet<String> = evidence::Entity::find()
            .select_only()
            .column(evidence::Column::StorageKey)
            .filter(evidence::Column::StorageKey.is_in(keys))
            .into_tuple::<String>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        for file in chunk {
            let has_row = with_rows.contains(&file.key);
            match (file.state, has_row) {
                (FileState::Pending, true) => {
                    store.commit(&file.key).await?;
                    outcome.committed += 1;
                }
                (FileState::Stored, true) => {}
                (FileState::Partial, _) | (_, false) => {
                    if file.state == FileState::Partial && has_row {
                        // A half-written copy beside a whole one: only the copy goes.
                        continue;
                    }
                    store.delete(&file.key).await?;
                    outcome.removed += 1;
                }
            }
        }
    }
    if outcome != SweepOutcome::default() {
        tracing::info!(
            committed = outcome.committed,
            removed = outcome.removed,
            "swept the evidence files"
        );
    }
    Ok(outcome)
}

struct EvidenceFields {
    title: String,
    description: Option<String>,
    file_name: String,
    content_type: String,
    size: u64,
    sha256: String,
    storage_key: String,
}

/// A file of evidence, checked and put aside, about to get its row.
struct EvidenceDraft {
    opened: draft::OnTask,
    progress_report_id: Option<i64>,
    indicator_value_id: Option<i64>,
    fields: EvidenceFields,
}

impl draft::NewDraft for EvidenceDraft {
    type Row = evidence::Model;

    const KIND: SubmissionKind = SubmissionKind::Evidence;
    // A task takes any number of files: no draft holds another's place.
    const CREATED: &'static str = "evidence.upload";

    async fn insert(
        self,
        db: &impl ConnectionTrait,
        actor: i64,
        now: DateTime<Utc>,
    ) -> AppResult<Self::Row> {
        let fields = self.fields;
        Ok(evidence::ActiveModel {
            plan_id: Set(self.opened.plan.id),
            task_id: Set(self.opened.task.id),
            department_id: Set(self.opened.department_id),
            progress_report_id: Set(self.progress_report_id),
            indicator_value_id: Set(self.indicator_value_id),
            title: Set(fields.title),
            description: Set(fields.description),
            file_name: Set(fields.file_name),
            content_type: Set(fields.content_type),
            size: Set(i64::try_from(fields.size).unwrap_or(i64::MAX)),
            sha256: Set(fields.sha256),
            storage_key: Set(fields.storage_key),
            review_status: Set(ReviewStatus::Draft.as_str().to_owned()),
            version: Set(1),
            late: Set(false),
            created_by: Set(actor),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?)
    }
}

/// The evidence row and its audit entry, in a transaction of their own: the file is
/// already stored (pending), and is only committed once this has.
async fn insert_row(
    db: &DatabaseConnection,
    caller: &Caller<'_>,
    draft: EvidenceDraft,
) -> AppResult<evidence::Model> {
    let txn = crate::db::begin_write(db).await?;
    let row = draft::create(&txn, caller, draft).await?;
    txn.commit().await?;
    Ok(row)
}

/// Deletes draft evidence of the caller's department, then its file; answers the row as
/// it was.
pub async fn delete_evidence(
    db: &DatabaseConnection,
    store: &Arc<dyn FileStore>,
    caller: &Caller<'_>,
    id: i64,
    version: i32,
) -> AppResult<evidence::Model> {
    let txn = crate::db::begin_write(db).await?;
    let row = submission::check_update(
        &txn,
        caller.viewer,
        SubmissionKind::Evidence,
        id,
        Some(version),
    )
    .await?;
    if let Some(period_name) = submission::period_of(&txn, &row).await? {
        period::ensure_open(&txn, row.plan_id(), &period_name).await?;
    }
    let SubmissionRow::Evidence(current) = row else {
        return Err(AppError::bad_input("the id is not evidence"));
    };
    let result = evidence::Entity::delete_many()
        .filter(evidence::Column::Id.eq(id))
        .filter(evidence::Column::Version.eq(version))
        .exec(&txn)
        .await?;
    if result.rows_affected == 0 {
        return Err(submission::stale(version + 1));
    }
    // Only editable evidence is removed, which no count holds; raised all the same, so
    // that no removal can leave a kept count behind.
    crate::service::snapshot::bump_submission_revision(&txn).await?;
    audit::record(
        &txn,
        caller,
        "evidence.delete",
        ItemType::Evidence,
        id,
        Some(&current),
        None::<&()>,
    )
    .await?;
    txn.commit().await?;
    // The row is gone for good; a file left behind by a failed removal is only disk space.
    if let Err(error) = store.delete(&current.storage_key).await {
        tracing::error!(error = ?error, "cannot remove the file of deleted evidence");
    }
    Ok(current)
}

/// Evidence the viewer may download, with the key of its bytes.
pub async fn find_for_download(
    db: &impl ConnectionTrait,
    viewer: &crate::service::policy::Viewer,
    id: i64,
) -> AppResult<Option<evidence::Model>> {
    Ok(
        match submission::find_visible(db, viewer, SubmissionKind::Evidence, id).await? {
            Some(SubmissionRow::Evidence(row)) => Some(row),
            _ => None,
        },
    )
}

/// Evidence grouped by a foreign key column, within the scope.
async fn evidence_grouped(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    column: evidence::Column,
    ids: &[i64],
    key: impl Fn(&evidence::Model) -> Option<i64>,
) -> AppResult<HashMap<i64, Vec<evidence::Model>>> {
    let mut grouped: HashMap<i64, Vec<evidence::Model>> = HashMap::new();
    for row in evidence::Entity::find()
        .filter(column.is_in(ids.iter().copied()))
        .filter(scope.evidence_condition())
        .order_by_asc(evidence::Column::Id)
        .all(db)
        .await?
    {
        if let Some(owner) = key(&row) {
            grouped.entry(owner).or_default().push(row);
        }
    }
    Ok(grouped)
}

pub async fn evidence_by_tasks(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<evidence::Model>>> {
    evidence_grouped(db, scope, evidence::Column::TaskId, ids, |row| {
        Some(row.task_id)
    })
    .await
}

pub async fn evidence_by_reports(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<evidence::Model>>> {
    evidence_grouped(db, scope, evidence::Column::ProgressReportId, ids, |row| {
        row.progress_report_id
    })
    .await
}

pub async fn evidence_by_values(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<evidence::Model>>> {
    evidence_grouped(db, scope, evidence::Column::IndicatorValueId, ids, |row| {
        row.indicator_value_id
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_executable_is_not_taken_for_a_pdf() {
        let mut elf = b"\x7fELF\x02\x01\x01\x00".to_vec();
        elf.resize(64, 0);
        assert_eq!(
            sniff(&elf, true).as_deref(),
            Some("application/x-executable")
        );
        assert_eq!(
            sniff(b"%PDF-1.7\n", true).as_deref(),
            Some("application/pdf")
        );
        assert_eq!(
            sniff("工作進展\n".as_bytes(), true).as_deref(),
            Some("text/plain")
        );
        assert_eq!(sniff(b"\x00\x01\x02binary", true), None);
    }

    #[test]
    fn folders_are_cut_from_file_names() {
        assert_eq!(
            clean_file_name("../../etc/passwd").ok().as_deref(),
            Some("passwd")
        );
        assert_eq!(
            clean_file_name("C:\\報告\\一季度.pdf").ok().as_deref(),
            Some("一季度.pdf")
        );
        assert!(clean_file_name("../").is_err());
    }
}
