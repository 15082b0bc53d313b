//! The importer against documents: the 2022 plan of Tangshan (compared field by field with
//! the hand-written plan file), the same in Simplified characters, and a plan of another
//! city in the same form.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use super::*;
use crate::service::seed::{TANGSHAN_2022, parse_plan_file};

const TANGSHAN_2022_TEXT: &str = include_str!("../../../tests/fixtures/plans/tangshan-2022.txt");
const QIANAN_2023_TEXT: &str = include_str!("../../../tests/fixtures/plans/qianan-2023.txt");

fn tangshan_departments() -> Vec<KnownDepartment> {
    parse_plan_file(TANGSHAN_2022)
        .unwrap()
        .departments
        .into_iter()
        .map(|d| KnownDepartment {
            code: d.code,
            name: d.name,
            aliases: d.aliases,
        })
        .collect()
}

fn options(key: &str, year: i32) -> ImportOptions {
    ImportOptions {
        key: key.into(),
        year,
        source_file: Some("000_72ac9cf26d93c402.txt".into()),
    }
}

fn import(text: &str, key: &str, year: i32) -> ImportedPlan {
    import_plan_document(text, &options(key, year), &tangshan_departments()).unwrap()
}

/// A difference between two plan files, by what a review item would name.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Difference {
    task: Option<String>,
    subject: ReviewSubject,
    detail: String,
}

/// Every difference between `expected` and `actual` in what the importer must get right:
/// the plan's header, sections, departments, tasks (code, section, parent, title, text,
/// leads) and indicator targets (kind, value, unit, direction, wording, milestones).
/// Indicator names are not compared: the hand-written file paraphrases them.
fn differences(expected: &PlanFile, actual: &PlanFile, fold_text: bool) -> Vec<Difference> {
    let mut comparison = Comparison {
        fold_text,
        out: Vec::new(),
    };
    comparison.plan_header(&expected.plan, &actual.plan);
    comparison.sections(&expected.sections, &actual.sections);
    comparison.departments(&expected.departments, &actual.departments);
    for task in &expected.tasks {
        match actual.tasks.iter().find(|t| t.code == task.code) {
            Some(got) => comparison.task(task, got),
            None => comparison.differ(Some(&task.code), ReviewSubject::Task, "missing".into()),
        }
    }
    for task in &actual.tasks {
        if !expected.tasks.iter().any(|t| t.code == task.code) {
            comparison.differ(
                Some(&task.code),
                ReviewSubject::Task,
                "not in the plan file".into(),
            );
        }
    }
    comparison.out
}

/// The differences found so far, and whether text is compared folded (either script).
struct Comparison {
    fold_text: bool,
    out: Vec<Difference>,
}

impl Comparison {
    fn same(&self, a: &str, b: &str) -> bool {
        if self.fold_text {
            fold(a) == fold(b)
        } else {
            a == b
        }
    }

    fn differ(&mut self, task: Option<&str>, subject: ReviewSubject, detail: String) {
        self.out.push(Difference {
            task: task.map(str::to_owned),
            subject,
            detail,
        })
    }

    fn plan_header(&mut self, e: &PlanData, a: &PlanData) {
        for (field, x, y) in [
            ("title", &e.title, &a.title),
            ("issuer", &e.issuer, &a.issuer),
            ("purpose", &e.purpose, &a.purpose),
            ("guiding_idea", &e.guiding_idea, &a.guiding_idea),
        ] {
            if !self.same(x, y) {
                self.differ(None, ReviewSubject::Plan, format!("{field}: {x} / {y}"));
            }
        }
        if e.issued_on != a.issued_on || e.year != a.year {
            self.differ(None, ReviewSubject::Plan, "date or year".into());
        }
        let goals = |g: &[GoalData]| {
            g.iter()
                .map(|g| (g.year, fold(&g.text)))
                .collect::<Vec<_>>()
        };
        if goals(&e.goals) != goals(&a.goals) {
            self.differ(None, ReviewSubject::Plan, format!("goals: {:?}", a.goals));
        }
    }

    fn sections(&mut self, expected: &[SectionData], actual: &[SectionData]) {
        let sections = |s: &[SectionData]| {
            s.iter()
                .map(|s| (s.number, fold(&s.title)))
                .collect::<Vec<_>>()
        };
        if sections(expected) != sections(actual) {
            self.differ(None, ReviewSubject::Plan, "sections".into());
        }
    }

    fn departments(&mut self, expected: &[DepartmentData], actual: &[DepartmentData]) {
        for department in expected {
            let found = actual.iter().find(|d| d.code == department.code);
            if found.is_none_or(|d| {
                !self.same(&d.name, &department.name) || d.aliases.len() != department.aliases.len()
            }) {
                self.differ(
                    None,
                    ReviewSubject::Department,
                    format!("department {}", department.code),
                );
            }
        }
    }

    fn task(&mut self, task: &TaskData, got: &TaskData) {
        let code = Some(task.code.as_str());
        if got.section != task.section || got.parent != task.parent {
            self.differ(code, ReviewSubject::Task, "section or parent".into());
        }
        if !self.same(&got.title, &task.title) {
            self.differ(
                code,
                ReviewSubject::Title,
                format!("title `{}` / `{}`", task.title, got.title),
            );
        }
        if !self.same(&got.text, &task.text) {
            self.differ(
                code,
                ReviewSubject::Task,
                format!("text `{}` / `{}`", task.text, got.text),
            );
        }
        let written = |t: &TaskData| t.leads_as_written.as_deref().map(fold);
        if got.leads != task.leads || written(got) != written(task) {
            self.differ(
                code,
                ReviewSubject::Leads,
                format!("leads {:?} / {:?}", task.leads, got.leads),
            );
        }
        if got.indicators.len() != task.indicators.len() {
            self.differ(
                code,
                ReviewSubject::Target,
                format!("{} indicators", got.indicators.len()),
            );
            return;
        }
        for (x, y) in task.indicators.iter().zip(&got.indicators) {
            if target(x) != target(y) {
                self.differ(
                    code,
                    ReviewSubject::Target,
                    format!("{:?} / {:?}", target(x), target(y)),
                );
            }
        }
    }
}

/// What an indicator's target must agree on: kind, value, unit, direction, wording and
/// milestones (numbers by their bits, so that they compare exactly).
type Target = (
    String,
    Option<u64>,
    Option<String>,
    String,
    String,
    Vec<(i32, String, Option<u64>, String)>,
);

fn target(i: &IndicatorData) -> Target {
    let milestones: Vec<_> = i
        .milestones
        .iter()
        .map(|m| {
            (
                m.year,
                m.kind.clone(),
                m.value.map(f64::to_bits),
                fold(&m.target_text),
            )
        })
        .collect();
    (
        i.kind.clone(),
        i.value.map(f64::to_bits),
        i.unit.clone(),
        i.better.clone(),
        fold(&i.target_text),
        milestones,
    )
}

/// The differences that no review item names.
fn unreviewed(differences: Vec<Difference>, review: &[ReviewItem]) -> Vec<Difference> {
    let named: HashSet<(Option<String>, ReviewSubject)> = review
        .iter()
        .map(|item| (item.task.clone(), item.subject))
        .collect();
    differences
        .into_iter()
        .filter(|d| !named.contains(&(d.task.clone(), d.subject)))
        .collect()
}

#[test]
fn the_2022_document_imports_to_the_hand_written_plan_with_every_difference_reviewed() {
    let expected = parse_plan_file(TANGSHAN_2022).unwrap();
    let imported = import(TANGSHAN_2022_TEXT, "tangshan-2022", 2022);
    let review: Vec<String> = imported.review.iter().map(ToString::to_string).collect();
    let differences = differences(&expected, &imported.file, false);
    let unreviewed = unreviewed(differences, &imported.review);
    assert!(
        unreviewed.is_empty(),
        "not in the review list: {unreviewed:#?}\nreview: {review:#?}"
    );
    // Same shape: 38 tasks and their parts, 46 indicators.
    let codes: Vec<&str> = imported
        .file
        .tasks
        .iter()
        .map(|t| t.code.as_str())
        .collect();
    let expected_codes: Vec<&str> = expected.tasks.iter().map(|t| t.code.as_str()).collect();
    assert_eq!(codes, expected_codes);
    let count = |file: &PlanFile| file.tasks.iter().map(|t| t.indicators.len()).sum::<usize>();
    assert_eq!(count(&imported.file), count(&expected));
    // The review list names exactly these: two targets that do not say what they
    // measure, ten units assumed from a rate's name, and task 34's run-on title.
    let named: Vec<(Option<&str>, ReviewSubject)> = imported
        .review
        .iter()
        .map(|item| (item.task.as_deref(), item.subject))
        .collect();
    let target = |code| (Some(code), ReviewSubject::Target);
    assert_eq!(
        named,
        [
            target("6"),
            target("8"),
            target("8"),
            target("9"),
            target("10"),
            target("13"),
            target("18"),
            target("19"),
            target("20"),
            target("24"),
            target("25"),
            (Some("34"), ReviewSubject::Title),
            target("35"),
        ],
        "{review:#?}"
    );
    // No department is new; the one title that runs on is reported.
    assert!(
        !imported
            .review
            .iter()
            .any(|item| item.subject == ReviewSubject::Department)
    );
    assert!(
        imported
            .review
            .iter()
            .any(|item| item.task.as_deref() == Some("34") && item.subject == ReviewSubject::Title)
    );
}

#[test]
fn the_2022_document_in_simplified_characters_imports_to_the_same_plan() {
    let traditional = import(TANGSHAN_2022_TEXT, "tangshan-2022", 2022);
    let simplified = import(&fast2s::convert(TANGSHAN_2022_TEXT), "tangshan-2022", 2022);
    assert_ne!(simplified.file.plan.title, traditional.file.plan.title);
    let differences = differences(&traditional.file, &simplified.file, true);
    assert!(differences.is_empty(), "{differences:#?}");
    let subjects = |plan: &ImportedPlan| {
        plan.review
            .iter()
            .map(|i| (i.task.clone(), i.subject))
            .collect::<Vec<_>>()
    };
    assert_eq!(subjects(&simplified), subjects(&traditional));
}

#[test]
fn the_imported_plan_file_loads_as_a_plan_file() {
    let imported = import(TANGSHAN_2022_TEXT, "tangshan-2022", 2022);
    let written = plan_file_toml(&imported.file).unwrap();
    assert!(written.starts_with(
        "# 唐山市創建國家生態文明建設示範市2022年度工作方案\n# Source: 000_72ac9cf26d93c402.txt, 《"
    ));
    assert!(!written.contains("/work/"));
    let reread = parse_plan_file(&written).unwrap();
    assert!(differences(&imported.file, &reread, false).is_empty());
}

#[test]
fn another_citys_plan_in_the_same_form() {
    let imported = import(QIANAN_2023_TEXT, "qianan-2023", 2023);
    let file = &imported.file;
    its_header_is_read(file);
    its_sections_tasks_and_parts_are_read(file);
    its_targets_are_read(file);
    its_new_departments_are_created_once_and_reviewed(&imported);
    assert!(parse_plan_file(&plan_file_toml(file).unwrap()).is_ok());
}

fn task_of<'f>(file: &'f PlanFile, code: &str) -> &'f TaskData {
    file.tasks.iter().find(|t| t.code == code).unwrap()
}

fn its_header_is_read(file: &PlanFile) {
    assert_eq!(
        file.plan.title,
        "迁安市创建省级生态文明建设示范市2023年度工作方案"
    );
    assert_eq!(file.plan.issuer, "迁安市人民政府办公室");
    assert_eq!(file.plan.issued_on.to_string(), "2023-03-06");
    assert_eq!(
        file.plan.purpose,
        "为扎实推进省级生态文明建设示范市创建工作，结合我市实际，制定本方案。"
    );
    assert_eq!(
        file.plan.goals.iter().map(|g| g.year).collect::<Vec<_>>(),
        [2023, 2025]
    );
}

fn its_sections_tasks_and_parts_are_read(file: &PlanFile) {
    assert_eq!(file.sections.len(), 2);
    let codes: Vec<&str> = file.tasks.iter().map(|t| t.code.as_str()).collect();
    assert_eq!(codes, ["1", "2", "2.1", "2.2", "3", "4", "5", "6"]);
    assert_eq!(
        task_of(file, "2").leads,
        [
            "urban-management",
            "housing-construction",
            "water-resources"
        ]
    );
    assert_eq!(task_of(file, "2.2").parent.as_deref(), Some("2"));
    assert_eq!(task_of(file, "4").section, 2);
}

fn its_targets_are_read(file: &PlanFile) {
    let targets = |code: &str| {
        task_of(file, code)
            .indicators
            .iter()
            .map(|i| {
                (
                    i.kind.as_str(),
                    i.value,
                    i.unit.as_deref(),
                    i.better.as_str(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        targets("1"),
        [
            ("AT_MOST", Some(38.0), Some("μg/m³"), "LOWER"),
            ("AT_LEAST", Some(70.0), Some("%"), "HIGHER")
        ]
    );
    assert_eq!(
        targets("2.1"),
        [("AT_LEAST", Some(97.0), Some("%"), "HIGHER")]
    );
    assert_eq!(targets("2.2"), [("EXTERNAL", None, None, "HIGHER")]);
    assert_eq!(
        targets("4"),
        [("AT_MOST", Some(15.0), Some("工作日"), "LOWER")]
    );
    assert_eq!(
        targets("5"),
        [
            ("IMPROVE", None, None, "LOWER"),
            ("AT_LEAST", Some(85.0), Some("%"), "HIGHER")
        ]
    );
    assert_eq!(targets("6"), [("NO_INCREASE", None, None, "LOWER")]);
}

/// Two departments are new, each once, and the lead list with 各乡镇 is reported.
fn its_new_departments_are_created_once_and_reviewed(imported: &ImportedPlan) {
    let file = &imported.file;
    let new: Vec<&str> = file
        .departments
        .iter()
        .filter(|d| d.code.starts_with("dept-"))
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(new, ["市行政审批局", "市机关事务服务中心"]);
    let about = |task: Option<&str>, subject| {
        imported
            .review
            .iter()
            .filter(|i| i.task.as_deref() == task && i.subject == subject)
            .count()
    };
    assert_eq!(about(None, ReviewSubject::Department), 2);
    assert_eq!(about(Some("5"), ReviewSubject::Leads), 1);
    assert_eq!(task_of(file, "5").leads, ["agriculture-rural"]);
}

#[test]
fn a_malformed_task_is_reviewed_not_imported_into_another() {
    let broken = QIANAN_2023_TEXT.replace("4、推进审批制度改革", "4 推进审批制度改革");
    let imported = import(&broken, "qianan-2023", 2023);
    let codes: Vec<&str> = imported
        .file
        .tasks
        .iter()
        .map(|t| t.code.as_str())
        .collect();
    assert_eq!(codes, ["1", "2", "2.1", "2.2", "3", "5", "6"]);
    let three = imported.file.tasks.iter().find(|t| t.code == "3").unwrap();
    assert!(!three.text.contains("审批"));
    let lines: Vec<String> = imported.review.iter().map(ToString::to_string).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("task 4, task: the heading `4 推进审批制度改革")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("task 5, task: expected task 4")),
        "{lines:#?}"
    );
}

#[test]
fn a_task_without_a_lead_list_or_a_title_is_reviewed() {
    let broken = QIANAN_2023_TEXT
        .replace("处置率为100%。（牵头单位：市生态环境局）", "处置率为100%。")
        .replace(
            "6、倡导绿色生活。",
            "6、倡导绿色生活推进公共机构节能和公共机构能源资源节约利用工作",
        );
    let imported = import(&broken, "qianan-2023", 2023);
    let subjects: Vec<(Option<&str>, ReviewSubject)> = imported
        .review
        .iter()
        .map(|i| (i.task.as_deref(), i.subject))
        .collect();
    assert!(
        subjects.contains(&(Some("3"), ReviewSubject::Leads)),
        "{subjects:?}"
    );
    assert!(
        subjects.contains(&(Some("6"), ReviewSubject::Title)),
        "{subjects:?}"
    );
}
