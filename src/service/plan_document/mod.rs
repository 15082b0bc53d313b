//! Reads a work plan's document (年度工作方案) into a plan file, with the list of what a
//! person must check before the plan is used. Pure functions: nothing here touches the
//! database. The documents are regular (see `headings`, `leads`, `targets`); whatever
//! does not fit their forms goes into the review list, never silently into the plan.

pub mod canon;
pub mod headings;
pub mod leads;
pub mod targets;

use std::fmt;

use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};
use crate::service::seed::{
    DepartmentData, GoalData, IndicatorData, MilestoneData, PlanData, PlanFile, SectionData,
    TaskData,
};
use crate::text::fold;
use canon::Passage;
use headings::Heading;
pub use leads::KnownDepartment;

/// A top-level task's title is its first sentence when that is at most this long.
const LONGEST_TITLE: usize = 30;

/// What to call the plan, which the document does not say.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub key: String,
    pub year: i32,
    /// The document's own file name (never a path), recorded in the plan file.
    pub source_file: Option<String>,
}

/// The plan read from a document, and what a person must check in it.
#[derive(Clone, Debug)]
pub struct ImportedPlan {
    pub file: PlanFile,
    pub review: Vec<ReviewItem>,
    /// The codes of the departments the import creates (ecoplan did not know them).
    pub new_departments: Vec<String>,
}

/// What a review item is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReviewSubject {
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

impl ReviewSubject {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewSubject::Plan => "plan",
            ReviewSubject::Task => "task",
            ReviewSubject::Title => "title",
            ReviewSubject::Leads => "leads",
            ReviewSubject::Target => "target",
            ReviewSubject::Department => "department",
        }
    }
}

/// One thing a person must check, about a task (by its code) or the plan as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewItem {
    pub task: Option<String>,
    pub subject: ReviewSubject,
    pub message: String,
}

impl fmt::Display for ReviewItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.task {
            Some(task) => write!(
                f,
                "task {task}, {}: {}",
                self.subject.as_str(),
                self.message
            ),
            None => write!(f, "{}: {}", self.subject.as_str(), self.message),
        }
    }
}

/// The plan file as TOML, in the layout `ecoplan seed --plan-file` loads, opened by a
/// comment that names the source document by its file name and title.
pub fn plan_file_toml(file: &PlanFile) -> AppResult<String> {
    let body = toml::to_string(file)
        .map_err(|error| anyhow::anyhow!("the plan cannot be written as TOML: {error}"))?;
    let source = match &file.plan.source_file {
        Some(name) => format!("# Source: {name}, 《{}》\n", file.plan.title),
        None => format!("# Source: 《{}》\n", file.plan.title),
    };
    Ok(format!("# {}\n{source}\n{body}", file.plan.title))
}

/// Reads `document` (UTF-8 text, either script) into a plan. Departments are resolved
/// against `known`; the others become new departments, each with a generated code and a
/// review item.
pub fn import_plan_document(
    document: &str,
    options: &ImportOptions,
    known: &[KnownDepartment],
) -> AppResult<ImportedPlan> {
    let mut reader = Reader {
        options,
        known,
        review: Vec::new(),
        departments: Vec::new(),
        new_departments: Vec::new(),
    };
    let file = reader.read(document)?;
    Ok(ImportedPlan {
        file,
        review: reader.review,
        new_departments: reader.new_departments,
    })
}

struct Reader<'a> {
    options: &'a ImportOptions,
    known: &'a [KnownDepartment],
    review: Vec<ReviewItem>,
    departments: Vec<DepartmentData>,
    new_departments: Vec<String>,
}

/// A numbered task as the document has it: its number, section and paragraphs.
struct RawTask<'a> {
    number: u32,
    section: i32,
    paragraphs: Vec<Passage<'a>>,
}

/// The document's non-empty lines, trimmed, without a byte-order mark.
fn passages_of(document: &str) -> Vec<Passage<'_>> {
    let document = document.strip_prefix('\u{feff}').unwrap_or(document);
    document
        .lines()
        .map(|line| Passage::new(line).trimmed())
        .filter(|line| !line.is_empty())
        .collect()
}

/// The lines before the first part (title, issuer, purpose), and the parts of the
/// document: `一、指导思想`, `二、总体目标`, `三、主要任务`…, each from its heading on.
fn split_into_parts<'l, 'a>(
    lines: &'l [Passage<'a>],
) -> (&'l [Passage<'a>], Vec<&'l [Passage<'a>]>) {
    let part_starts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| matches!(headings::classify(&line.canon), Heading::Part { .. }))
        .map(|(index, _)| index)
        .collect();
    let front = &lines[..part_starts.first().copied().unwrap_or(lines.len())];
    let parts = part_starts
        .iter()
        .enumerate()
        .map(|(i, start)| &lines[*start..part_starts.get(i + 1).copied().unwrap_or(lines.len())])
        .collect();
    (front, parts)
}

/// What the parts hold, recognised by their headings.
struct PartContents<'l, 'a> {
    guiding_idea: String,
    goals: Vec<GoalData>,
    /// The first part titled as the tasks.
    task_part: Option<&'l [Passage<'a>]>,
}

impl<'l, 'a> PartContents<'l, 'a> {
    fn of(parts: &[&'l [Passage<'a>]]) -> Self {
        let mut contents = PartContents {
            guiding_idea: String::new(),
            goals: Vec::new(),
            task_part: None,
        };
        for part in parts {
            let heading = &part[0].canon;
            let body = &part[1..];
            if heading.contains("指导思想") {
                contents.guiding_idea = join(body);
            } else if heading.contains("任务") && contents.task_part.is_none() {
                contents.task_part = Some(*part);
            } else if heading.contains("目标") {
                contents.goals = goals_of(body);
            }
        }
        contents
    }
}

/// When no part is titled as the tasks, the first that has a numbered task holds them.
fn first_part_with_tasks<'l, 'a>(parts: &[&'l [Passage<'a>]]) -> AppResult<&'l [Passage<'a>]> {
    parts
        .iter()
        .find(|part| {
            part.iter()
                .any(|line| matches!(headings::classify(&line.canon), Heading::Task { .. }))
        })
        .copied()
        .ok_or_else(|| AppError::bad_input("the document has no numbered tasks"))
}

/// A paragraph's body, and its lead list when it ends with one.
type LeadParagraph<'a> = (Passage<'a>, Option<Passage<'a>>);

/// Splits each paragraph's lead clause (`(牵头单位:…)`) off its body.
fn split_lead_clauses<'a>(paragraphs: &[Passage<'a>]) -> Vec<LeadParagraph<'a>> {
    paragraphs
        .iter()
        .map(
            |paragraph| match leads::find_lead_clause(&paragraph.canon) {
                Some(clause) => (
                    paragraph.sub(clause.body).trimmed(),
                    Some(paragraph.sub(clause.list).trimmed()),
                ),
                None => (paragraph.clone(), None),
            },
        )
        .collect()
}

/// A part of a task: its paragraphs, and the lead list that closes it.
type PartParagraphs<'a> = (Vec<Passage<'a>>, Option<Passage<'a>>);

/// A numbered task as far as it is read before its leads: the same for a task alone and
/// for a task with parts.
struct TaskHead {
    code: String,
    section: i32,
    title: String,
    /// The bodies of all its paragraphs, lead lists left out.
    text: String,
}

impl<'a> Reader<'a> {
    fn note(&mut self, task: Option<&str>, subject: ReviewSubject, message: String) {
        self.review.push(ReviewItem {
            task: task.map(str::to_owned),
            subject,
            message,
        });
    }

    fn read(&mut self, document: &'a str) -> AppResult<PlanFile> {
        let lines = passages_of(document);
        let title = lines
            .first()
            .map(|line| line.written.to_owned())
            .ok_or_else(|| AppError::bad_input("the document is empty"))?;
        let (front, parts) = split_into_parts(&lines);
        let (issuer, issued_on) = self.issuer_and_date(front);
        let purpose = self.purpose_of(front);
        self.check_title_year(&title);
        let contents = PartContents::of(&parts);
        if contents.guiding_idea.is_empty() {
            self.note(
                None,
                ReviewSubject::Plan,
                "no part titled 指导思想 (guiding idea)".into(),
            );
        }
        let task_part = match contents.task_part {
            Some(part) => part,
            None => first_part_with_tasks(&parts)?,
        };
        let (sections, raw_tasks) = self.sections_and_tasks(task_part);
        let mut tasks = Vec::new();
        for raw in raw_tasks {
            self.build_task(raw, &mut tasks);
        }
        if tasks.is_empty() {
            return Err(AppError::bad_input("the document has no numbered tasks"));
        }

        Ok(PlanFile {
            plan: PlanData {
                key: self.options.key.clone(),
                title,
                issuer,
                issued_on,
                year: self.options.year,
                reporting_cadence: "QUARTERLY".into(),
                submission_deadline_days: 10,
                purpose,
                guiding_idea: contents.guiding_idea,
                source_file: self.options.source_file.clone(),
                goals: contents.goals,
            },
            departments: std::mem::take(&mut self.departments),
            sections,
            tasks,
        })
    }

    /// The purpose is the last paragraph before the first part, a whole sentence, and not
    /// the title.
    fn purpose_of(&mut self, front: &[Passage]) -> String {
        match front
            .last()
            .filter(|line| front.len() > 1 && line.canon.ends_with('。'))
        {
            Some(line) => line.written.to_owned(),
            None => {
                self.note(
                    None,
                    ReviewSubject::Plan,
                    "no purpose paragraph before the first part".into(),
                );
                String::new()
            }
        }
    }

    /// A title that names another year than the one asked for is likely the wrong
    /// document, or the wrong year.
    fn check_title_year(&mut self, title: &str) {
        if let Some(year) = four_digit_years(&fold(title)).first()
            && *year != self.options.year
        {
            self.note(
                None,
                ReviewSubject::Plan,
                format!(
                    "the title names the year {year}, the import was asked for {}",
                    self.options.year
                ),
            );
        }
    }

    /// The issuer and date from the document's header: `发布单位:…`, `颁布时间:…`, or
    /// `…办公室2022年4月15日印发`.
    fn issuer_and_date(&mut self, front: &[Passage]) -> (String, toml::value::Datetime) {
        let mut issuer = None;
        let mut date = None;
        for line in front {
            let canon = line.canon.trim_start_matches(['•', '·', '-', '*', ' ']);
            let offset = line.canon.len() - canon.len();
            for label in ["发布单位:", "印发单位:", "发文机关:"] {
                if canon.starts_with(label) {
                    let at = offset + label.len();
                    issuer = Some(line.written_at(at..line.canon.len()).trim().to_owned());
                }
            }
            if ["颁布时间:", "发布时间:", "印发日期:", "成文日期:"]
                .iter()
                .any(|label| canon.starts_with(label))
            {
                date = date.or_else(|| calendar_date(canon));
            }
            if let Some(at) = canon.find("印发") {
                let before = &canon[..at];
                date = date.or_else(|| calendar_date(before));
                // `…同意,唐山市人民政府办公室2022年4月15日印发`
                let name_start = before.rfind([',', '。', ' ']).map_or(0, |comma| comma + 1);
                let name_end = before[name_start..]
                    .find(|c: char| c.is_ascii_digit())
                    .map_or(before.len(), |digit| name_start + digit);
                let name = line
                    .written_at(offset + name_start..offset + name_end)
                    .trim();
                if issuer.is_none() && leads::looks_like_department(&canon::canonical(name)) {
                    issuer = Some(name.to_owned());
                }
            }
        }
        let issuer = issuer.unwrap_or_else(|| {
            self.note(
                None,
                ReviewSubject::Plan,
                "the document does not name its issuer".into(),
            );
            String::new()
        });
        let (year, month, day) = date.unwrap_or_else(|| {
            self.note(
                None,
                ReviewSubject::Plan,
                format!(
                    "the document gives no date; 1 January {} assumed",
                    self.options.year
                ),
            );
            (self.options.year, 1, 1)
        });
        let datetime = toml::value::Datetime {
            date: Some(toml::value::Date {
                year: u16::try_from(year).unwrap_or(1970),
                month,
                day,
            }),
            time: None,
            offset: None,
        };
        (issuer, datetime)
    }

    /// The sections and numbered tasks of the tasks part, with a review item for every
    /// paragraph that could not be placed.
    fn sections_and_tasks(&mut self, part: &[Passage<'a>]) -> (Vec<SectionData>, Vec<RawTask<'a>>) {
        let (mut sections, mut tasks) = self.read_task_part(part);
        if tasks.iter().any(|task| task.section == 0) {
            self.note(
                None,
                ReviewSubject::Plan,
                "tasks before the first section heading are in section 0".into(),
            );
            sections.insert(
                0,
                SectionData {
                    number: 0,
                    title: String::new(),
                },
            );
        }
        self.keep_first_of_each_number(&mut tasks);
        (sections, tasks)
    }

    /// Walks the tasks part heading by heading: a section heading opens a section, a task
    /// heading a task, and the paragraphs that follow belong to the open task.
    fn read_task_part(&mut self, part: &[Passage<'a>]) -> (Vec<SectionData>, Vec<RawTask<'a>>) {
        let mut sections = Vec::new();
        let mut tasks: Vec<RawTask> = Vec::new();
        let mut current: Option<RawTask> = None;
        let mut section = 0;
        // After a malformed task heading, its paragraphs go with it (not imported).
        let mut skipping = false;
        for line in &part[1..] {
            match headings::classify(&line.canon) {
                Heading::Section { number, title_at } => {
                    tasks.extend(current.take());
                    skipping = false;
                    section = number as i32;
                    sections.push(SectionData {
                        number: section,
                        title: line
                            .written_at(title_at..line.canon.len())
                            .trim()
                            .to_owned(),
                    });
                }
                Heading::Task { number, text_at } => {
                    tasks.extend(current.take());
                    skipping = false;
                    current = Some(RawTask {
                        number,
                        section,
                        paragraphs: vec![line.sub(text_at..line.canon.len()).trimmed()],
                    });
                }
                Heading::MalformedTask { number } => {
                    tasks.extend(current.take());
                    skipping = true;
                    self.note_malformed_task(number, line);
                }
                Heading::Part { .. } | Heading::Body => match current.as_mut() {
                    Some(task) => task.paragraphs.push(line.clone()),
                    None if skipping => {}
                    None => self.note_stray_paragraph(line),
                },
            }
        }
        tasks.extend(current);
        (sections, tasks)
    }

    fn note_malformed_task(&mut self, number: u32, line: &Passage) {
        self.note(
            Some(&number.to_string()),
            ReviewSubject::Task,
            format!(
                "the heading `{}` is not in the form `{number}、标题。正文`; the task was not imported",
                excerpt(line.written)
            ),
        );
    }

    fn note_stray_paragraph(&mut self, line: &Passage) {
        self.note(
            None,
            ReviewSubject::Task,
            format!(
                "the paragraph `{}` is outside any task and was not imported",
                excerpt(line.written)
            ),
        );
    }

    /// Drops a task whose number came before, and notes where the numbering jumps.
    fn keep_first_of_each_number(&mut self, tasks: &mut Vec<RawTask<'a>>) {
        let mut expected = 1;
        let mut seen = Vec::new();
        tasks.retain(|task| {
            if seen.contains(&task.number) {
                self.review.push(ReviewItem {
                    task: Some(task.number.to_string()),
                    subject: ReviewSubject::Task,
                    message: "a second task with this number was not imported".into(),
                });
                return false;
            }
            if task.number != expected {
                self.review.push(ReviewItem {
                    task: Some(task.number.to_string()),
                    subject: ReviewSubject::Task,
                    message: format!("expected task {expected} here; the numbering jumps"),
                });
            }
            seen.push(task.number);
            expected = task.number + 1;
            true
        });
    }

    /// Turns one numbered task into a task, or a task with its parts when several of its
    /// paragraphs have their own lead list.
    fn build_task(&mut self, raw: RawTask<'a>, out: &mut Vec<TaskData>) {
        let code = raw.number.to_string();
        let paragraphs = split_lead_clauses(&raw.paragraphs);
        let (title_end, title) = self.task_title(&code, &paragraphs[0].0);
        let head = TaskHead {
            code,
            section: raw.section,
            title,
            text: paragraphs
                .iter()
                .map(|(body, _)| body.written)
                .collect::<Vec<_>>()
                .join("\n"),
        };
        let with_leads = paragraphs.iter().filter(|(_, list)| list.is_some()).count();
        if with_leads <= 1 {
            let task = self.task_without_parts(head, &paragraphs);
            out.push(task);
        } else {
            let parts = self.parts_of(&head.code, &paragraphs, title_end);
            self.push_task_with_parts(head, &parts, out);
        }
    }

    /// The title is the first sentence of the first paragraph (see
    /// [`headings::split_title`]); one that cannot be told apart from the text is kept and
    /// reported. Returns where the title ends in the paragraph's canonical text, and the
    /// title.
    fn task_title(&mut self, code: &str, first: &Passage<'a>) -> (usize, String) {
        let (title_end, separated) = headings::split_title(&first.canon, LONGEST_TITLE);
        let title = first.written_at(0..title_end).to_owned();
        if !separated {
            self.note(
                Some(code),
                ReviewSubject::Title,
                format!(
                    "the title could not be separated from the text; `{}` taken",
                    excerpt(&title)
                ),
            );
        }
        (title_end, title)
    }

    /// A task with at most one lead list: the list, wherever it stands, is the task's.
    fn task_without_parts(&mut self, head: TaskHead, paragraphs: &[LeadParagraph<'a>]) -> TaskData {
        let list = paragraphs.iter().find_map(|(_, list)| list.clone());
        let leads = match &list {
            Some(list) => self.leads_of(&head.code, list),
            None => {
                self.note(
                    Some(&head.code),
                    ReviewSubject::Leads,
                    "the task has no lead list (牵头单位)".into(),
                );
                Vec::new()
            }
        };
        let full = Passage::new(&head.text);
        let indicators = self.indicators_of(&head.code, &full, &head.title);
        TaskData {
            code: head.code,
            section: head.section,
            parent: None,
            title: head.title,
            text: head.text,
            leads_as_written: list.map(|list| list.written.to_owned()),
            leads,
            indicators,
        }
    }

    /// Parts: each ends with its own lead list. The first starts after the title.
    fn parts_of(
        &mut self,
        code: &str,
        paragraphs: &[LeadParagraph<'a>],
        title_end: usize,
    ) -> Vec<PartParagraphs<'a>> {
        let mut parts: Vec<PartParagraphs<'a>> = Vec::new();
        let mut pending: Vec<Passage<'a>> = Vec::new();
        for (index, (body, list)) in paragraphs.iter().enumerate() {
            let body = if index == 0 {
                let after = (title_end + '。'.len_utf8()).min(body.canon.len());
                body.sub(after..body.canon.len()).trimmed()
            } else {
                body.clone()
            };
            pending.push(body);
            if list.is_some() {
                parts.push((std::mem::take(&mut pending), list.clone()));
            }
        }
        if !pending.is_empty() {
            self.note(
                Some(code),
                ReviewSubject::Leads,
                "the last paragraph has no lead list of its own; it is kept in the last part"
                    .into(),
            );
            if let Some(last) = parts.last_mut() {
                last.0.extend(pending);
            }
        }
        parts
    }

    /// The task, led by every department that leads one of its parts, then its parts,
    /// which carry the indicators.
    fn push_task_with_parts(
        &mut self,
        head: TaskHead,
        parts: &[PartParagraphs<'a>],
        out: &mut Vec<TaskData>,
    ) {
        let mut part_tasks = Vec::new();
        let mut all_leads: Vec<String> = Vec::new();
        for (index, (bodies, list)) in parts.iter().enumerate() {
            let part = self.part_task(&head, index, bodies, list.as_ref());
            for lead in &part.leads {
                if !all_leads.contains(lead) {
                    all_leads.push(lead.clone());
                }
            }
            part_tasks.push(part);
        }
        out.push(TaskData {
            code: head.code,
            section: head.section,
            parent: None,
            title: head.title,
            text: head.text,
            leads_as_written: None,
            leads: all_leads,
            indicators: Vec::new(),
        });
        out.extend(part_tasks);
    }

    /// The part numbered `index` (from 0) of the task `parent`: `3.1`, `3.2`…, titled by
    /// its first sentence.
    fn part_task(
        &mut self,
        parent: &TaskHead,
        index: usize,
        bodies: &[Passage<'a>],
        list: Option<&Passage<'a>>,
    ) -> TaskData {
        let part_code = format!("{}.{}", parent.code, index + 1);
        let part_text = bodies
            .iter()
            .map(|body| body.written)
            .collect::<Vec<_>>()
            .join("\n");
        let part_passage = Passage::new(&part_text);
        let (end, has_stop) = headings::split_title(&part_passage.canon, usize::MAX);
        let part_title = part_passage.written_at(0..end).to_owned();
        if !has_stop {
            self.note(
                Some(&part_code),
                ReviewSubject::Title,
                "the part has no full stop; its whole text is its title".into(),
            );
        }
        let leads = match list {
            Some(list) => self.leads_of(&part_code, list),
            None => Vec::new(),
        };
        let indicators = self.indicators_of(&part_code, &part_passage, &part_title);
        TaskData {
            code: part_code,
            section: parent.section,
            parent: Some(parent.code.clone()),
            title: part_title,
            text: part_text,
            leads_as_written: list.map(|list| list.written.to_owned()),
            leads,
            indicators,
        }
    }

    /// The department codes of a lead list, creating the departments not known yet.
    fn leads_of(&mut self, code: &str, list: &Passage) -> Vec<String> {
        let (names, understood) = leads::split_lead_list(&list.canon);
        if !understood {
            self.note(
                Some(code),
                ReviewSubject::Leads,
                format!(
                    "the lead list `{}` was not understood; check its departments",
                    list.written
                ),
            );
        }
        let mut codes = Vec::new();
        for range in names {
            let name = list.written_at(range).trim();
            if !leads::looks_like_department(&canon::canonical(name)) {
                continue;
            }
            let code = self.department_code(name);
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        codes
    }

    fn department_code(&mut self, name: &str) -> String {
        if let Some(known) = leads::resolve(name, self.known) {
            if !self.departments.iter().any(|d| d.code == known.code) {
                self.departments.push(DepartmentData {
                    code: known.code.clone(),
                    name: known.name.clone(),
                    aliases: known.aliases.clone(),
                });
            }
            return known.code.clone();
        }
        let folded = fold(name);
        if let Some(existing) = self.departments.iter().find(|d| fold(&d.name) == folded) {
            return existing.code.clone();
        }
        let code = generated_code(&folded);
        self.note(
            None,
            ReviewSubject::Department,
            format!("`{name}` is not a known department; it will be created as `{code}`"),
        );
        self.departments.push(DepartmentData {
            code: code.clone(),
            name: name.to_owned(),
            aliases: Vec::new(),
        });
        self.new_departments.push(code.clone());
        code
    }

    fn indicators_of(&mut self, code: &str, text: &Passage, title: &str) -> Vec<IndicatorData> {
        let scan = targets::scan(text, title, self.options.year);
        for clause in &scan.unrecognised {
            self.note(
                Some(code),
                ReviewSubject::Target,
                format!(
                    "`{}` reads like a target, but its number or direction was not recognised",
                    excerpt(clause)
                ),
            );
        }
        let mut indicators: Vec<IndicatorData> = Vec::new();
        for found in scan.targets {
            if let Some(year) = found.milestone_year {
                match indicators.last_mut() {
                    Some(indicator) => indicator.milestones.push(MilestoneData {
                        year,
                        kind: found.kind.to_owned(),
                        value: found.value,
                        target_text: found.target_text,
                    }),
                    None => self.note(
                        Some(code),
                        ReviewSubject::Target,
                        format!(
                            "the {year} target `{}` follows no indicator; not imported",
                            found.target_text
                        ),
                    ),
                }
                continue;
            }
            if found.name_from_title {
                self.note(
                    Some(code),
                    ReviewSubject::Target,
                    format!(
                        "the target `{}` does not say what it measures; named after the task",
                        found.target_text
                    ),
                );
            }
            if found.unit_assumed {
                self.note(
                    Some(code),
                    ReviewSubject::Target,
                    format!(
                        "`{}` ({}): the text gives no unit; `{}` assumed from the name",
                        found.name,
                        found.target_text,
                        found.unit.as_deref().unwrap_or_default()
                    ),
                );
            }
            let range = suggested_range(&found.name, found.unit.as_deref());
            indicators.push(IndicatorData {
                range,
                name: found.name,
                unit: found.unit,
                kind: found.kind.to_owned(),
                value: found.value,
                better: found.better.to_owned(),
                target_text: found.target_text,
                responsible: None,
                milestones: Vec::new(),
            });
        }
        indicators
    }
}

/// The values an indicator can take, from what it measures: a share, rate or coverage (a
/// percentage) lies between 0 and 100 unless it is a change, which may fall; a quantity
/// with a unit is not negative; anything else keeps the default bounds.
fn suggested_range(name: &str, unit: Option<&str>) -> Option<crate::service::seed::RangeData> {
    use crate::service::seed::RangeData;
    let folded = crate::text::fold(name);
    let is_change = ["增长", "下降", "降低", "变化", "减少"]
        .iter()
        .any(|word| folded.contains(word));
    match unit {
        Some("%") if is_change => Some(RangeData {
            min: None,
            max: Some(100.0),
        }),
        Some("%") => Some(RangeData {
            min: Some(0.0),
            max: Some(100.0),
        }),
        Some(_) if !is_change => Some(RangeData {
            min: Some(0.0),
            max: None,
        }),
        _ => None,
    }
}

/// The paragraphs of a part, as written, one line each.
fn join(paragraphs: &[Passage]) -> String {
    paragraphs
        .iter()
        .map(|p| p.written)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The goals of `总体目标`: each sentence run that opens with `到YYYY年`.
fn goals_of(paragraphs: &[Passage]) -> Vec<GoalData> {
    let mut goals: Vec<GoalData> = Vec::new();
    for paragraph in paragraphs {
        let starts: Vec<(usize, i32)> = paragraph
            .canon
            .match_indices('到')
            .filter_map(|(at, _)| {
                let after = &paragraph.canon[at + '到'.len_utf8()..];
                let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
                let opens_sentence = at == 0 || paragraph.canon[..at].ends_with('。');
                (digits.len() == 4 && after[4..].starts_with('年') && opens_sentence)
                    .then(|| digits.parse().ok().map(|year| (at, year)))
                    .flatten()
            })
            .collect();
        for (index, (at, year)) in starts.iter().enumerate() {
            let end = starts
                .get(index + 1)
                .map_or(paragraph.canon.len(), |(next, _)| *next);
            goals.push(GoalData {
                year: *year,
                text: paragraph.written_at(*at..end).trim().to_owned(),
            });
        }
    }
    goals
}

fn four_digit_years(text: &str) -> Vec<i32> {
    let mut years = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut index = 0;
    while index < chars.len() {
        let run: String = chars[index..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if run.len() == 4 && chars.get(index + 4) == Some(&'年') {
            years.extend(run.parse::<i32>().ok());
        }
        index += run.len().max(1);
    }
    years
}

/// `2022年4月15日` anywhere in `text`.
fn calendar_date(text: &str) -> Option<(i32, u8, u8)> {
    let year_at = text.find('年')?;
    let year: String = text[..year_at]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    let year: i32 = year.chars().rev().collect::<String>().parse().ok()?;
    let rest = &text[year_at + '年'.len_utf8()..];
    let (month, rest) = rest.split_once('月')?;
    let day: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let month: u8 = month.trim().parse().ok()?;
    let day: u8 = day.parse().ok()?;
    chrono::NaiveDate::from_ymd_opt(year, u32::from(month), u32::from(day))?;
    Some((year, month, day))
}

/// A stable code for a department the import creates: the same name always gets the same
/// code, so importing a document twice does not create it twice.
fn generated_code(folded_name: &str) -> String {
    let digest = Sha256::digest(folded_name.as_bytes());
    let hex: String = digest
        .iter()
        .take(4)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("dept-{hex}")
}

/// The start of a long text, for a one-line message.
fn excerpt(text: &str) -> String {
    let mut short: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests;
