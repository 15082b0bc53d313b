//! Synthetic plans, written in the plan-file format (`data/plans/tangshan-2022.toml`) so
//! that they load through the same `seed_plan` as the real one.

use anyhow::Context;
use ecoplan::service::seed::DepartmentData;
use rand::Rng;
use rand::rngs::StdRng;
use toml::{Table, Value};

/// The department that leads most tasks of every synthetic plan, as the ecology bureau
/// does in the 2022 plan; the benchmark signs in as one of its users.
pub const BUSY_DEPARTMENT: &str = "ecology-environment";

/// How a synthetic plan is shaped.
pub struct PlanShape {
    pub key: String,
    pub year: i32,
    /// Tasks, parts included.
    pub tasks: usize,
}

/// The kinds of target the synthetic indicators cycle through, with a target value for the
/// kinds that need one.
const KINDS: [(&str, Option<f64>, &str); 6] = [
    ("AT_LEAST", Some(80.0), "HIGHER"),
    ("AT_MOST", Some(35.0), "LOWER"),
    ("QUALITATIVE", None, "HIGHER"),
    ("EXTERNAL", None, "HIGHER"),
    ("IMPROVE", None, "LOWER"),
    ("NO_DECREASE", None, "HIGHER"),
];

const SECTION_TITLES: [&str; 6] = [
    "建立健全監管制度,構建生態制度體系",
    "持續改善環境質量,構建生態安全體系",
    "最佳化空間發展格局,構建生態空間體系",
    "加強資源節約利用,構建生態經濟體系",
    "建設良好人居環境,構建生態生活體系",
    "普及生態文明知識,構建生態文化體系",
];

fn string(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().cloned().map(Value::String).collect())
}

/// One task as the plan file writes it.
struct TaskRow {
    code: String,
    section: i64,
    parent: Option<String>,
    leads: Vec<String>,
    has_parts: bool,
}

/// Leads of a leaf task: the busy department leads three tasks in five, alone or with
/// another department; the others get one or two departments drawn at random.
fn leaf_leads(index: usize, others: &[String], rng: &mut StdRng) -> Vec<String> {
    let mut leads = Vec::new();
    if index % 5 < 3 {
        leads.push(BUSY_DEPARTMENT.to_owned());
    }
    let extra = if leads.is_empty() {
        rng.random_range(1..=2)
    } else {
        rng.random_range(0..=1)
    };
    while leads.len() < extra + usize::from(index % 5 < 3) {
        let pick = &others[rng.random_range(0..others.len())];
        if !leads.contains(pick) {
            leads.push(pick.clone());
        }
    }
    leads
}

/// The task layout: one task in forty has four parts (like `2.1`–`2.3` in the real plan),
/// the parents come first and each part follows its parent.
fn task_rows(total: usize, others: &[String], rng: &mut StdRng) -> Vec<TaskRow> {
    let parents = (total / 40).max(1);
    let top_level = total - 4 * parents;
    let mut rows = Vec::with_capacity(total);
    let mut leaf_index = 0;
    for number in 1..=top_level {
        let section = ((number - 1) * 6 / top_level + 1) as i64;
        let code = number.to_string();
        if number <= parents {
            let parts: Vec<TaskRow> = (1..=4)
                .map(|part| {
                    leaf_index += 1;
                    TaskRow {
                        code: format!("{number}.{part}"),
                        section,
                        parent: Some(code.clone()),
                        leads: leaf_leads(leaf_index, others, rng),
                        has_parts: false,
                    }
                })
                .collect();
            let mut leads: Vec<String> = Vec::new();
            for lead in parts.iter().flat_map(|part| part.leads.iter()) {
                if !leads.contains(lead) {
                    leads.push(lead.clone());
                }
            }
            rows.push(TaskRow {
                code,
                section,
                parent: None,
                leads,
                has_parts: true,
            });
            rows.extend(parts);
        } else {
            leaf_index += 1;
            rows.push(TaskRow {
                code,
                section,
                parent: None,
                leads: leaf_leads(leaf_index, others, rng),
                has_parts: false,
            });
        }
    }
    rows
}

fn indicator(task_code: &str, number: usize) -> Value {
    let (kind, value, better) = KINDS[number % KINDS.len()];
    let mut table = Table::new();
    table.insert(
        "name".into(),
        string(format!("任務{task_code}指標{number}:城市生態環境狀況指數")),
    );
    table.insert("unit".into(), string("%"));
    table.insert("kind".into(), string(kind));
    if let Some(value) = value {
        table.insert("value".into(), Value::Float(value));
    }
    table.insert("better".into(), string(better));
    table.insert(
        "target_text".into(),
        string(match value {
            Some(value) => format!("達到{value}%"),
            None => "完成國家及省定考核目標任務並保持穩定或持續改善".to_owned(),
        }),
    );
    Value::Table(table)
}

/// A plan file with `shape.tasks` tasks led by the given departments; every leaf task has
/// one indicator and every fourth a second.
pub fn synthetic_plan(
    shape: &PlanShape,
    departments: &[DepartmentData],
    rng: &mut StdRng,
) -> anyhow::Result<String> {
    let others: Vec<String> = departments
        .iter()
        .map(|department| department.code.clone())
        .filter(|code| code != BUSY_DEPARTMENT)
        .collect();
    anyhow::ensure!(
        !others.is_empty() && departments.iter().any(|d| d.code == BUSY_DEPARTMENT),
        "the department list must hold {BUSY_DEPARTMENT} and at least one other"
    );
    let year = shape.year;

    let mut plan = Table::new();
    plan.insert("key".into(), string(&shape.key));
    plan.insert(
        "title".into(),
        string(format!("唐山市生態文明建設{year}年度工作方案(合成)")),
    );
    plan.insert("issuer".into(), string("唐山市人民政府辦公室"));
    plan.insert(
        "issued_on".into(),
        Value::Datetime(
            format!("{year:04}-04-15")
                .parse()
                .context("a plan date is not a TOML date")?,
        ),
    );
    plan.insert("year".into(), Value::Integer(i64::from(year)));
    plan.insert("reporting_cadence".into(), string("QUARTERLY"));
    plan.insert(
        "purpose".into(),
        string("為測量系統在多年度方案下的表現而生成的合成方案。"),
    );
    plan.insert(
        "guiding_idea".into(),
        string("以生態安全、生態空間、生態經濟、生態生活、生態文化、生態制度六大體系為著力點。"),
    );

    let department_rows: Vec<Value> = departments
        .iter()
        .map(|department| {
            let mut table = Table::new();
            table.insert("code".into(), string(&department.code));
            table.insert("name".into(), string(&department.name));
            table.insert("aliases".into(), strings(&department.aliases));
            Value::Table(table)
        })
        .collect();
    let sections: Vec<Value> = SECTION_TITLES
        .iter()
        .enumerate()
        .map(|(index, title)| {
            let mut table = Table::new();
            table.insert("number".into(), Value::Integer(index as i64 + 1));
            table.insert("title".into(), string(*title));
            Value::Table(table)
        })
        .collect();

    let mut indicator_number = 0;
    let tasks: Vec<Value> = task_rows(shape.tasks, &others, rng)
        .into_iter()
        .enumerate()
        .map(|(index, row)| {
            let mut table = Table::new();
            table.insert("code".into(), string(&row.code));
            table.insert("section".into(), Value::Integer(row.section));
            if let Some(parent) = &row.parent {
                table.insert("parent".into(), string(parent));
            }
            table.insert(
                "title".into(),
                string(format!("推進第{}項生態環境治理任務", row.code)),
            );
            table.insert(
                "text".into(),
                string(format!(
                    "推進第{}項生態環境治理任務。加快城鎮污水收集處理設施建設與提標改造,強化工業水污染防治,推進農業面源污染綜合整治,確保完成國家及省定考核目標。",
                    row.code
                )),
            );
            table.insert("leads".into(), strings(&row.leads));
            if !row.has_parts {
                let count = if index % 4 == 0 { 2 } else { 1 };
                let indicators: Vec<Value> = (0..count)
                    .map(|_| {
                        indicator_number += 1;
                        indicator(&row.code, indicator_number)
                    })
                    .collect();
                table.insert("indicators".into(), Value::Array(indicators));
            }
            Value::Table(table)
        })
        .collect();

    let mut file = Table::new();
    file.insert("plan".into(), Value::Table(plan));
    file.insert("departments".into(), Value::Array(department_rows));
    file.insert("sections".into(), Value::Array(sections));
    file.insert("tasks".into(), Value::Array(tasks));
    toml::to_string(&file).context("cannot write a synthetic plan file")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecoplan::service::seed::{TANGSHAN_2022, parse_plan_file};
    use rand::SeedableRng;

    #[test]
    fn a_synthetic_plan_is_a_valid_plan_file() {
        let real = parse_plan_file(TANGSHAN_2022).map_err(|error| error.into_anyhow());
        let real = real.unwrap_or_else(|error| panic!("{error:#}"));
        let shape = PlanShape {
            key: "synthetic-2001".into(),
            year: 2001,
            tasks: 48,
        };
        let text = synthetic_plan(&shape, &real.departments, &mut StdRng::seed_from_u64(1));
        let text = text.unwrap_or_else(|error| panic!("{error:#}"));
        let parsed = parse_plan_file(&text).map_err(|error| error.into_anyhow());
        let parsed = parsed.unwrap_or_else(|error| panic!("{error:#}"));
        assert_eq!(parsed.tasks.len(), 48);
        assert_eq!(parsed.plan.year, 2001);
        let busy = parsed
            .tasks
            .iter()
            .filter(|task| task.leads.iter().any(|lead| lead == BUSY_DEPARTMENT))
            .count();
        assert!(busy > 24, "the busy department leads {busy} of 48 tasks");
    }
}
