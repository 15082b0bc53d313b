//! The synthetic data set: plans through `seed_plan`, users through `create_user` (one
//! argon2 hash, reused), and the reporting history in large multi-row `INSERT`s.

use std::collections::HashMap;
use std::fmt::Write;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, NaiveDate, SecondsFormat, TimeZone, Utc};
use clap::ValueEnum;
use ecoplan::entity::{department, indicator, indicator_responsible, plan, task, task_lead, user};
use ecoplan::error::AppError;
use ecoplan::service::policy::Role;
use ecoplan::service::seed::{TANGSHAN_2022, parse_plan_file, seed_plan};
use ecoplan::service::user::{NewUser, create_user};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryOrder, Set};

use crate::plans::{BUSY_DEPARTMENT, PlanShape, synthetic_plan};

/// The password of every bench user.
pub const PASSWORD: &str = "bench-password-2022";
/// The key of the real plan.
pub const REAL_PLAN_KEY: &str = "tangshan-2022";
/// The key of the synthetic plan with thousands of tasks.
pub const LARGE_PLAN_KEY: &str = "synthetic-2021-large";
/// A leaf task of the 2022 plan that the busy department leads: the task page operation.
pub const TASK_PAGE_CODE: &str = "7";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Scale {
    /// The real 2022 plan and the users.
    Small,
    /// 50 plans, one with 2,000 tasks, 100,000 indicator values and 1,000,000 audit rows.
    Large,
}

/// How much to generate.
#[derive(Clone, Debug)]
pub struct Sizes {
    pub synthetic_plans: usize,
    pub tasks_per_plan: usize,
    pub large_plan_tasks: usize,
    pub users: usize,
    pub indicator_values: u64,
    pub audit_rows: u64,
    /// Progress reports (with evidence) on the 2022 plan's tasks.
    pub reports: bool,
}

impl Sizes {
    pub fn of(scale: Scale) -> Self {
        match scale {
            Scale::Small => Self {
                synthetic_plans: 0,
                tasks_per_plan: 0,
                large_plan_tasks: 0,
                users: 200,
                indicator_values: 0,
                audit_rows: 0,
                reports: false,
            },
            Scale::Large => Self {
                synthetic_plans: 49,
                tasks_per_plan: 48,
                large_plan_tasks: 2_000,
                users: 200,
                indicator_values: 100_000,
                audit_rows: 1_000_000,
                reports: true,
            },
        }
    }
}

/// What was generated, and who the load generator signs in as.
#[derive(Debug, Default)]
pub struct DataSet {
    pub department_user: String,
    pub leadership_user: String,
    /// The plan with thousands of tasks, when the scale has one.
    pub large_plan_key: Option<String>,
    pub counts: Vec<(&'static str, u64)>,
    pub phases: Vec<(&'static str, Duration)>,
}

/// Quarters of a plan year as the API writes them.
fn quarter(year: i32, index: usize) -> String {
    format!("{}-Q{}", year + (index / 4) as i32, index % 4 + 1)
}

/// The last moment of a quarter, plus `days`.
fn after_quarter(year: i32, index: usize, days: i64) -> DateTime<Utc> {
    let year = year + (index / 4) as i32;
    let month = (index % 4) as u32 * 3 + 3;
    let last = NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|first| first.checked_add_months(chrono::Months::new(1)))
        .and_then(|next| next.pred_opt())
        .unwrap_or_default();
    Utc.from_utc_datetime(&last.and_hms_opt(18, 0, 0).unwrap_or_default())
        + chrono::Duration::days(days)
}

/// SQL literals, in the forms both SQLite and PostgreSQL read.
fn text(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn time(value: DateTime<Utc>) -> String {
    // The same form sqlx writes, so that SQLite compares generated and written rows alike.
    text(&value.to_rfc3339_opts(SecondsFormat::AutoSi, false))
}

fn optional<T>(value: Option<T>, literal: impl Fn(T) -> String) -> String {
    value.map(literal).unwrap_or_else(|| "NULL".to_owned())
}

/// Collects rows and writes them as `INSERT … VALUES (…),(…)` of `rows_per_statement`.
struct BatchInsert<'a> {
    db: &'a DatabaseConnection,
    head: String,
    rows: Vec<String>,
    rows_per_statement: usize,
    written: u64,
}

impl<'a> BatchInsert<'a> {
    fn new(db: &'a DatabaseConnection, table: &str, columns: &[&str]) -> Self {
        Self {
            db,
            head: format!("INSERT INTO {table} ({}) VALUES ", columns.join(", ")),
            rows: Vec::new(),
            rows_per_statement: 1_000,
            written: 0,
        }
    }

    async fn push(&mut self, row: String) -> anyhow::Result<()> {
        self.rows.push(row);
        if self.rows.len() >= self.rows_per_statement {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let mut sql = String::with_capacity(self.head.len() + self.rows.len() * 256);
        sql.push_str(&self.head);
        for (index, row) in self.rows.iter().enumerate() {
            if index > 0 {
                sql.push(',');
            }
            sql.push('(');
            sql.push_str(row);
            sql.push(')');
        }
        self.db
            .execute_unprepared(&sql)
            .await
            .with_context(|| format!("cannot run `{}…`", &self.head))?;
        self.written += self.rows.len() as u64;
        self.rows.clear();
        Ok(())
    }

    async fn finish(mut self) -> anyhow::Result<u64> {
        self.flush().await?;
        Ok(self.written)
    }
}

/// The review state of a generated submission.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Review {
    Draft,
    Submitted,
    Approved,
    Rejected,
}

impl Review {
    fn draw(rng: &mut StdRng) -> Self {
        match rng.random_range(0..100) {
            0..70 => Review::Approved,
            70..80 => Review::Submitted,
            80..90 => Review::Draft,
            _ => Review::Rejected,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Review::Draft => "DRAFT",
            Review::Submitted => "SUBMITTED",
            Review::Approved => "APPROVED",
            Review::Rejected => "REJECTED",
        }
    }

    fn version(self) -> i32 {
        match self {
            Review::Draft => 1,
            Review::Submitted => 2,
            Review::Approved | Review::Rejected => 3,
        }
    }

    /// The workflow steps that led here, as audit actions.
    fn steps(self) -> &'static [&'static str] {
        match self {
            Review::Draft => &["create"],
            Review::Submitted => &["create", "submit"],
            Review::Approved => &["create", "submit", "approve"],
            Review::Rejected => &["create", "submit", "reject"],
        }
    }
}

/// The review columns every submission table has, after its own columns.
const REVIEW_COLUMNS: [&str; 11] = [
    "review_status",
    "version",
    "late",
    "submitted_at",
    "submitted_by",
    "reviewed_at",
    "reviewed_by",
    "rejection_reason",
    "created_by",
    "created_at",
    "updated_at",
];

fn review_values(
    review: Review,
    late: bool,
    author: i64,
    reviewer: i64,
    created: DateTime<Utc>,
) -> String {
    let submitted = (review != Review::Draft).then(|| created + chrono::Duration::days(2));
    let reviewed = matches!(review, Review::Approved | Review::Rejected)
        .then(|| created + chrono::Duration::days(6));
    let updated = reviewed.or(submitted).unwrap_or(created);
    format!(
        "{}, {}, {}, {}, {}, {}, {}, {}, {author}, {}, {}",
        text(review.as_str()),
        review.version(),
        if late { "TRUE" } else { "FALSE" },
        optional(submitted, time),
        optional(submitted.map(|_| author), |id| id.to_string()),
        optional(reviewed, time),
        optional(reviewed.map(|_| reviewer), |id| id.to_string()),
        optional(
            (review == Review::Rejected).then_some("數據來源不清,請補充統計部門出具的證明"),
            text
        ),
        time(created),
        time(updated),
    )
}

/// The users, by role and department.
struct Users {
    by_department: HashMap<i64, Vec<i64>>,
    leadership: Vec<i64>,
}

impl Users {
    fn author(&self, department_id: i64, salt: usize) -> anyhow::Result<i64> {
        let users = self
            .by_department
            .get(&department_id)
            .filter(|users| !users.is_empty())
            .with_context(|| format!("department {department_id} has no user"))?;
        Ok(users[salt % users.len()])
    }

    fn reviewer(&self, salt: usize) -> anyhow::Result<i64> {
        anyhow::ensure!(!self.leadership.is_empty(), "there is no leadership user");
        Ok(self.leadership[salt % self.leadership.len()])
    }
}

async fn timed<T>(
    phases: &mut Vec<(&'static str, Duration)>,
    name: &'static str,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let started = Instant::now();
    let result = work.await?;
    let took = started.elapsed();
    println!("  {name}: {:.1} s", took.as_secs_f64());
    phases.push((name, took));
    Ok(result)
}

/// Migrates the empty database at `url` and fills it.
pub async fn generate(url: &str, sizes: &Sizes) -> anyhow::Result<DataSet> {
    let (db, _) = ecoplan::db::connect(url, 2).await?;
    ecoplan::db::migrate(&db).await?;
    let mut data = DataSet {
        department_user: format!("bench-{BUSY_DEPARTMENT}-1"),
        leadership_user: "bench-leadership-1".to_owned(),
        ..Default::default()
    };
    let mut phases = Vec::new();
    let mut rng = StdRng::seed_from_u64(2022);

    timed(&mut phases, "plans", async {
        seed_plan(&db, TANGSHAN_2022)
            .await
            .map_err(AppError::into_anyhow)?;
        if sizes.synthetic_plans > 0 {
            let departments = parse_plan_file(TANGSHAN_2022)
                .map_err(AppError::into_anyhow)?
                .departments;
            for index in 0..sizes.synthetic_plans {
                // Earlier years than 2022, so the real plan stays the newest (the default
                // plan of every query); the last one is the plan with thousands of tasks.
                let year = 2022 - sizes.synthetic_plans as i32 + index as i32;
                let large = index + 1 == sizes.synthetic_plans;
                let shape = PlanShape {
                    key: if large {
                        LARGE_PLAN_KEY.to_owned()
                    } else {
                        format!("synthetic-{year}")
                    },
                    year,
                    tasks: if large {
                        sizes.large_plan_tasks
                    } else {
                        sizes.tasks_per_plan
                    },
                };
                let file = synthetic_plan(&shape, &departments, &mut rng)?;
                seed_plan(&db, &file)
                    .await
                    .map_err(AppError::into_anyhow)
                    .with_context(|| format!("cannot load the synthetic plan {}", shape.key))?;
            }
            data.large_plan_key = Some(LARGE_PLAN_KEY.to_owned());
        }
        Ok(())
    })
    .await?;

    let users = timed(&mut phases, "users", create_users(&db, sizes.users)).await?;
    let values = timed(
        &mut phases,
        "indicator values",
        insert_indicator_values(&db, &users, sizes.indicator_values, &mut rng),
    )
    .await?;
    let reports = if sizes.reports {
        timed(
            &mut phases,
            "progress reports and evidence",
            insert_reports(&db, &users, &mut rng),
        )
        .await?
    } else {
        Vec::new()
    };
    let audit_rows = timed(
        &mut phases,
        "audit log",
        insert_audit_log(&db, &users, &values, &reports, sizes.audit_rows),
    )
    .await?;
    if db.get_database_backend() == DatabaseBackend::Postgres {
        // What autovacuum would have done on a database that grew to this size: without
        // it, autovacuum vacuums the freshly written rows during the measurements.
        timed(&mut phases, "vacuum and analyze", async {
            db.execute_unprepared("VACUUM (ANALYZE)").await?;
            Ok(())
        })
        .await?;
    }

    let plans = plan::Entity::find().all(&db).await?.len() as u64;
    let tasks = task::Entity::find().all(&db).await?.len() as u64;
    let indicators = indicator::Entity::find().all(&db).await?.len() as u64;
    data.counts = vec![
        ("plans", plans),
        ("tasks", tasks),
        ("indicators", indicators),
        ("users", sizes.users as u64),
        ("indicator values", values.len() as u64),
        ("progress reports", reports.len() as u64),
        ("audit rows", audit_rows),
    ];
    data.phases = phases;
    db.close().await.ok();
    Ok(data)
}

/// One administrator through `create_user` (one argon2 hash), then the others with the
/// same hash: five leadership users, four portal users, and the rest spread over the
/// departments.
async fn create_users(db: &DatabaseConnection, count: usize) -> anyhow::Result<Users> {
    let admin = create_user(
        db,
        &ecoplan::service::audit::Caller::system(),
        NewUser {
            username: "bench-admin".into(),
            display_name: Some("Bench administrator".into()),
            password: PASSWORD.into(),
            role: Role::Admin,
            department_id: None,
        },
    )
    .await
    .map_err(AppError::into_anyhow)?;
    let departments = department::Entity::find()
        .order_by_asc(department::Column::Id)
        .all(db)
        .await?;
    anyhow::ensure!(!departments.is_empty(), "no departments were loaded");
    let busy = departments
        .iter()
        .position(|department| department.code == BUSY_DEPARTMENT)
        .context("the busy department was not loaded")?;
    let now = Utc::now();
    let row = |username: String, role: Role, department_id: Option<i64>| user::ActiveModel {
        display_name: Set(username.clone()),
        username: Set(username),
        password_hash: Set(admin.password_hash.clone()),
        role: Set(role.as_str().to_owned()),
        department_id: Set(department_id),
        active: Set(true),
        token_version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let mut rows = Vec::new();
    for n in 1..=5 {
        rows.push(row(format!("bench-leadership-{n}"), Role::Leadership, None));
    }
    for n in 1..=4 {
        rows.push(row(format!("bench-portal-{n}"), Role::Portal, None));
    }
    let mut per_department = vec![0usize; departments.len()];
    // The busy department's first user exists whatever the count.
    let mut next = busy;
    while rows.len() + 1 < count.max(11) {
        let department = &departments[next];
        per_department[next] += 1;
        rows.push(row(
            format!("bench-{}-{}", department.code, per_department[next]),
            Role::Department,
            Some(department.id),
        ));
        next = (next + 1) % departments.len();
    }
    user::Entity::insert_many(rows).exec(db).await?;

    let mut users = Users {
        by_department: HashMap::new(),
        leadership: Vec::new(),
    };
    for user in user::Entity::find().all(db).await? {
        match (user.role.as_str(), user.department_id) {
            ("DEPARTMENT", Some(department_id)) => users
                .by_department
                .entry(department_id)
                .or_default()
                .push(user.id),
            ("LEADERSHIP", _) => users.leadership.push(user.id),
            _ => {}
        }
    }
    Ok(users)
}

/// A generated indicator value, as the audit log needs it.
struct ValueRow {
    id: i64,
    department_id: i64,
    author: i64,
    review: Review,
    created: DateTime<Utc>,
}

/// `count` values spread evenly over every indicator of every plan, oldest quarters
/// first: up to 24 quarters per indicator (the plan's reporting years), and for the 2022
/// plan only up to 2026, so that the bench can create drafts for 2027 without conflicts.
async fn insert_indicator_values(
    db: &DatabaseConnection,
    users: &Users,
    count: u64,
    rng: &mut StdRng,
) -> anyhow::Result<Vec<ValueRow>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let plans: HashMap<i64, plan::Model> = plan::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|plan| (plan.id, plan))
        .collect();
    let indicators = indicator::Entity::find()
        .order_by_asc(indicator::Column::Id)
        .all(db)
        .await?;
    let mut responsible: HashMap<i64, i64> = HashMap::new();
    for row in indicator_responsible::Entity::find()
        .order_by_desc(indicator_responsible::Column::Position)
        .all(db)
        .await?
    {
        // Descending, so the first responsible department is inserted last and kept.
        responsible.insert(row.indicator_id, row.department_id);
    }
    let quarters_of = |plan: &plan::Model| if plan.key == REAL_PLAN_KEY { 20 } else { 24 };
    let capacity: u64 = indicators
        .iter()
        .filter_map(|indicator| plans.get(&indicator.plan_id))
        .map(|plan| quarters_of(plan) as u64)
        .sum();
    anyhow::ensure!(
        capacity >= count,
        "only {capacity} (indicator, quarter) pairs exist for {count} values"
    );

    let mut insert = BatchInsert::new(
        db,
        "indicator_value",
        &[
            &[
                "plan_id",
                "indicator_id",
                "department_id",
                "period",
                "value",
                "achieved",
                "text",
                "source",
                "note",
            ][..],
            &REVIEW_COLUMNS[..],
        ]
        .concat(),
    );
    let mut pending: Vec<(i64, String, ValueRow)> = Vec::new();
    let total = indicators.len() as u64;
    for (index, indicator) in indicators.iter().enumerate() {
        let plan = plans
            .get(&indicator.plan_id)
            .context("an indicator's plan is missing")?;
        let department_id = *responsible
            .get(&indicator.id)
            .context("an indicator has no responsible department")?;
        let index = index as u64;
        let share = (count * (index + 1) / total - count * index / total) as usize;
        let share = share.min(quarters_of(plan));
        for q in 0..share {
            let review = Review::draw(rng);
            let author = users.author(department_id, q)?;
            let created = after_quarter(plan.year, q, 3);
            let qualitative = indicator.target_kind == "QUALITATIVE";
            let value =
                (!qualitative).then(|| (rng.random_range(0.0..100.0f64) * 100.0).round() / 100.0);
            let achieved = qualitative.then(|| rng.random_bool(0.7));
            let period = quarter(plan.year, q);
            insert
                .push(format!(
                    "{}, {}, {department_id}, {}, {}, {}, NULL, {}, NULL, {}",
                    plan.id,
                    indicator.id,
                    text(&period),
                    optional(value, |value| value.to_string()),
                    optional(achieved, |achieved| achieved.to_string().to_uppercase()),
                    text("市統計局季度數據"),
                    review_values(
                        review,
                        rng.random_bool(0.1),
                        author,
                        users.reviewer(q)?,
                        created
                    ),
                ))
                .await?;
            pending.push((
                indicator.id,
                period.clone(),
                ValueRow {
                    id: 0,
                    department_id,
                    author,
                    review,
                    created,
                },
            ));
        }
    }
    insert.finish().await?;

    // The ids the database gave, by (indicator, period).
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT id, indicator_id, period FROM indicator_value",
        ))
        .await?;
    let mut ids: HashMap<(i64, String), i64> = HashMap::with_capacity(rows.len());
    for row in rows {
        let id: i64 = row.try_get("", "id")?;
        let indicator_id: i64 = row.try_get("", "indicator_id")?;
        let period: String = row.try_get("", "period")?;
        ids.insert((indicator_id, period), id);
    }
    pending
        .into_iter()
        .map(|(indicator_id, period, mut row)| {
            row.id = *ids
                .get(&(indicator_id, period))
                .context("a generated value is missing")?;
            Ok(row)
        })
        .collect()
}

/// A generated progress report, as the audit log needs it.
struct ReportRow {
    id: i64,
    author: i64,
    review: Review,
    created: DateTime<Utc>,
}

/// Progress reports for every leaf task of the 2022 plan, every lead department and the
/// eight quarters of 2022–2023, each with two evidence files.
async fn insert_reports(
    db: &DatabaseConnection,
    users: &Users,
    rng: &mut StdRng,
) -> anyhow::Result<Vec<ReportRow>> {
    let plans = plan::Entity::find().all(db).await?;
    let real = plans
        .iter()
        .find(|plan| plan.key == REAL_PLAN_KEY)
        .context("the 2022 plan is missing")?;
    let tasks: Vec<task::Model> = task::Entity::find()
        .order_by_asc(task::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .filter(|task| task.plan_id == real.id)
        .collect();
    let parents: std::collections::HashSet<i64> =
        tasks.iter().filter_map(|task| task.parent_id).collect();
    let mut leads: HashMap<i64, Vec<i64>> = HashMap::new();
    for lead in task_lead::Entity::find()
        .order_by_asc(task_lead::Column::Position)
        .all(db)
        .await?
    {
        leads
            .entry(lead.task_id)
            .or_default()
            .push(lead.department_id);
    }

    let mut insert = BatchInsert::new(
        db,
        "progress_report",
        &[
            &[
                "plan_id",
                "task_id",
                "department_id",
                "period",
                "status",
                "work_done",
                "problems",
                "next_steps",
            ][..],
            &REVIEW_COLUMNS[..],
        ]
        .concat(),
    );
    let mut pending = Vec::new();
    for task in tasks.iter().filter(|task| !parents.contains(&task.id)) {
        for department_id in leads.get(&task.id).into_iter().flatten() {
            for q in 0..8 {
                let review = Review::draw(rng);
                let author = users.author(*department_id, q)?;
                let created = after_quarter(real.year, q, 4);
                let status = ["IN_PROGRESS", "IN_PROGRESS", "COMPLETED", "BLOCKED"][q % 4];
                insert
                    .push(format!(
                        "{}, {}, {department_id}, {}, {}, {}, {}, {}, {}",
                        real.id,
                        task.id,
                        text(&quarter(real.year, q)),
                        text(status),
                        text("按計劃推進各項工作,已完成年度目標任務的階段性部署,組織專項督導檢查三次。"),
                        text("部分區縣進度滯後"),
                        text("加強調度,確保按期完成"),
                        review_values(review, q % 7 == 0, author, users.reviewer(q)?, created),
                    ))
                    .await?;
                pending.push((
                    (task.id, *department_id, quarter(real.year, q)),
                    author,
                    review,
                    created,
                ));
            }
        }
    }
    insert.finish().await?;

    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT id, task_id, department_id, period FROM progress_report",
        ))
        .await?;
    let mut ids: HashMap<(i64, i64, String), i64> = HashMap::new();
    for row in rows {
        ids.insert(
            (
                row.try_get("", "task_id")?,
                row.try_get("", "department_id")?,
                row.try_get("", "period")?,
            ),
            row.try_get("", "id")?,
        );
    }

    let mut evidence = BatchInsert::new(
        db,
        "evidence",
        &[
            &[
                "plan_id",
                "task_id",
                "department_id",
                "progress_report_id",
                "title",
                "file_name",
                "content_type",
                "size",
                "sha256",
                "storage_key",
            ][..],
            &REVIEW_COLUMNS[..],
        ]
        .concat(),
    );
    let mut reports = Vec::with_capacity(pending.len());
    for (key, author, review, created) in pending {
        let id = *ids.get(&key).context("a generated report is missing")?;
        let (task_id, department_id, period) = key;
        for n in 1..=2 {
            evidence
                .push(format!(
                    "{}, {task_id}, {department_id}, {id}, {}, {}, {}, {}, {}, {}, {}",
                    real.id,
                    text(&format!("{period}工作進展佐證材料{n}")),
                    text(&format!("{period}-進展佐證-{n}.pdf")),
                    text("application/pdf"),
                    150_000 + n * 1_000,
                    text(&format!("{:064x}", id * 10 + n)),
                    text(&format!("bench/{id}/{n}")),
                    review_values(review, false, author, users.reviewer(n as usize)?, created),
                ))
                .await?;
        }
        reports.push(ReportRow {
            id,
            author,
            review,
            created,
        });
    }
    evidence.finish().await?;
    Ok(reports)
}

/// One audit entry to write.
struct AuditEntry<'a> {
    at: DateTime<Utc>,
    actor: i64,
    role: &'a str,
    action: String,
    item_type: &'a str,
    item_id: i64,
    version: i32,
    status: &'a str,
}

/// Writes audit entries until its budget is spent.
struct AuditWriter<'a> {
    insert: BatchInsert<'a>,
    budget: u64,
}

impl AuditWriter<'_> {
    async fn push(&mut self, entry: AuditEntry<'_>) -> anyhow::Result<()> {
        if self.budget == 0 {
            return Ok(());
        }
        self.budget -= 1;
        let number = self.insert.written + self.insert.rows.len() as u64;
        let after = format!(
            r#"{{"id":{},"review_status":"{}","version":{},"source":"市統計局季度數據","updated_at":"{}"}}"#,
            entry.item_id,
            entry.status,
            entry.version,
            entry.at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
        );
        let before = (entry.version > 1).then(|| {
            after.replace(
                &format!("\"version\":{}", entry.version),
                &format!("\"version\":{}", entry.version - 1),
            )
        });
        let mut sql = String::with_capacity(400);
        let _ = write!(
            sql,
            "{}, {}, {}, {}, {}, {}, {}, {}, {}",
            time(entry.at),
            entry.actor,
            text(entry.role),
            text(&entry.action),
            text(entry.item_type),
            entry.item_id,
            optional(before.as_deref(), text),
            text(&after),
            text(&format!("bench{number:012x}")),
        );
        self.insert.push(sql).await
    }
}

/// The audit trail: every generated submission's workflow steps, a history of due-date
/// changes on the 2022 plan's tasks, and then edits of draft and rejected values until
/// `count` rows exist.
async fn insert_audit_log(
    db: &DatabaseConnection,
    users: &Users,
    values: &[ValueRow],
    reports: &[ReportRow],
    count: u64,
) -> anyhow::Result<u64> {
    if count == 0 {
        return Ok(0);
    }
    let mut log = AuditWriter {
        insert: BatchInsert::new(
            db,
            "audit_log",
            &[
                "at",
                "actor_id",
                "actor_role",
                "action",
                "item_type",
                "item_id",
                "before",
                "after",
                "request_id",
            ],
        ),
        budget: count,
    };
    let steps = [
        ("indicatorValue", "IndicatorValue"),
        ("progressReport", "ProgressReport"),
    ];
    let submissions = values
        .iter()
        .map(|value| {
            (
                steps[0],
                value.id,
                value.author,
                value.review,
                value.created,
            )
        })
        .chain(reports.iter().map(|report| {
            (
                steps[1],
                report.id,
                report.author,
                report.review,
                report.created,
            )
        }));
    for (index, ((prefix, item_type), id, author, review, created)) in submissions.enumerate() {
        for (step, action) in review.steps().iter().enumerate() {
            let (actor, role) = if matches!(*action, "approve" | "reject") {
                (users.reviewer(index)?, "LEADERSHIP")
            } else {
                (author, "DEPARTMENT")
            };
            log.push(AuditEntry {
                at: created + chrono::Duration::days(2 * step as i64),
                actor,
                role,
                action: format!("{prefix}.{action}"),
                item_type,
                item_id: id,
                version: step as i32 + 1,
                status: review.as_str(),
            })
            .await?;
        }
    }

    // Due-date changes: twelve per task of the 2022 plan.
    let real = plan::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .find(|plan| plan.key == REAL_PLAN_KEY)
        .context("the 2022 plan is missing")?;
    let tasks: Vec<i64> = task::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .filter(|task| task.plan_id == real.id)
        .map(|task| task.id)
        .collect();
    for (index, task_id) in tasks.iter().enumerate() {
        for change in 0..12 {
            log.push(AuditEntry {
                at: after_quarter(real.year, change % 8, index as i64),
                actor: users.reviewer(change)?,
                role: "LEADERSHIP",
                action: "task.setDueDate".into(),
                item_type: "Task",
                item_id: *task_id,
                version: change as i32 + 1,
                status: "DRAFT",
            })
            .await?;
        }
    }

    // Edits of draft and rejected values, round-robin, until the log is full.
    let editable: Vec<&ValueRow> = values
        .iter()
        .filter(|value| matches!(value.review, Review::Draft | Review::Rejected))
        .collect();
    let mut round = 0;
    while log.budget > 0 && !editable.is_empty() {
        for value in &editable {
            log.push(AuditEntry {
                at: value.created + chrono::Duration::hours(round + 1),
                actor: users.author(value.department_id, round as usize)?,
                role: "DEPARTMENT",
                action: "indicatorValue.update".into(),
                item_type: "IndicatorValue",
                item_id: value.id,
                version: round as i32 + 2,
                status: value.review.as_str(),
            })
            .await?;
        }
        round += 1;
    }
    log.insert.finish().await
}
