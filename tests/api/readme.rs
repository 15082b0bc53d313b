//! The README's examples, taken from the README and sent to the server as written (with
//! the placeholders a reader fills in filled in): each still parses and validates against
//! the schema, each query answers without an error, and the reporting cycle runs through,
//! step by step, without any error.

use regex::Regex;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, both};
use crate::steps::pdf;

/// The README, as committed.
fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The code blocks of a language.
fn blocks(text: &str, language: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match &mut current {
            None if line.trim() == format!("```{language}") => current = Some(String::new()),
            Some(block) if line.trim() == "```" => {
                found.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    found
}

/// Who an example of a `graphql` block is sent as: the last `# As …` comment before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reader {
    Department,
    Leadership,
}

/// The operations of the `graphql` blocks, in order, each with who sends it: each starts
/// a line with `{`, `query`, `mutation` or `subscription`; `#` lines are comments, and
/// `# As a department` or `# As the leadership group` says who sends what follows.
fn graphql_operations(text: &str) -> Vec<(Reader, String)> {
    let mut operations: Vec<(Reader, String)> = Vec::new();
    for block in blocks(text, "graphql") {
        let mut reader = Reader::Leadership;
        for line in block.lines() {
            let comment = line.trim_start();
            if comment.starts_with("# As a department")
                || comment.starts_with("# As the department")
            {
                reader = Reader::Department;
            } else if comment.starts_with("# As the leadership group") {
                reader = Reader::Leadership;
            }
            if comment.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let starts = ["{", "query", "mutation", "subscription"]
                .iter()
                .any(|start| line.starts_with(start));
            match operations.last_mut() {
                Some((_, operation)) if !starts => {
                    operation.push('\n');
                    operation.push_str(line);
                }
                _ => operations.push((reader, line.to_owned())),
            }
        }
    }
    operations
}

/// The JSON bodies of the `curl -d '…'` examples of the `sh` blocks.
fn curl_bodies(text: &str) -> Vec<Value> {
    let body = Regex::new(r"(?s)-d '(\{.*?\})'").unwrap();
    blocks(text, "sh")
        .iter()
        .flat_map(|block| {
            let joined = block.replace("\\\n", " ");
            body.captures_iter(&joined)
                .map(|found| serde_json::from_str::<Value>(&found[1]).unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The `-F operations='…'` of the upload examples.
fn upload_operations(text: &str) -> Vec<Value> {
    let operations = Regex::new(r"(?s)-F operations='(\{.*?\})'").unwrap();
    blocks(text, "sh")
        .iter()
        .flat_map(|block| {
            operations
                .captures_iter(block)
                .map(|found| serde_json::from_str::<Value>(&found[1]).unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The example with what a reader fills in: the password of `login` and the ids.
fn filled(query: &str, password: &str, task_id: &str) -> String {
    query
        .replace("password: \"…\"", &format!("password: \"{password}\""))
        .replace("TASK_ID", task_id)
        .replace("\"…\"", &format!("\"{task_id}\""))
}

/// Errors that are not a field's: the document did not parse or validate.
fn document_errors(answer: &Value) -> Vec<Value> {
    answer["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter(|error| error.get("path").is_none())
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The reporting cycle of the README, run as written, in order, each step as the reader
/// its comment names, with the ids a reader fills in: every step answers without any
/// error, so its versions and states follow one from the other.
async fn the_readmes_reporting_cycle_runs_as_written(backend: Backend) {
    use ecoplan::service::policy::Role;
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let task_id = app.task_id("36").await;
    let indicator_id = app.indicator_id("36", 0).await;
    let plan_id = app.plan_id().await;

    let steps = graphql_operations(&readme());
    assert!(steps.len() >= 8, "found only {steps:#?}");
    assert!(
        steps
            .iter()
            .any(|(reader, _)| *reader == Reader::Department),
        "no step is a department's: {steps:#?}"
    );
    let mut report_id: Option<String> = None;
    for (reader, operation) in &steps {
        let mut query = operation
            .replace("TASK_ID", &task_id)
            .replace("INDICATOR_ID", &indicator_id)
            .replace("PLAN_ID", &plan_id);
        if query.contains("REPORT_ID") {
            let id = report_id
                .as_deref()
                .expect("a report is saved before it is used");
            query = query.replace("REPORT_ID", id);
        }
        assert!(!query.contains('…'), "a placeholder is left in {query}");
        let token = match reader {
            Reader::Department => &finance,
            Reader::Leadership => &leadership,
        };
        let answer = app.graphql_as(token, &query, json!({})).await;
        assert!(
            answer.get("errors").is_none(),
            "{reader:?}: {query}: {answer:#}"
        );
        if report_id.is_none()
            && let Some(id) = answer["data"]["saveProgressReport"]["id"].as_str()
        {
            report_id = Some(id.to_owned());
        }
    }
    assert!(report_id.is_some(), "the README saves no report");
}
both!(the_readmes_reporting_cycle_runs_as_written);

async fn the_readmes_examples_run_against_the_schema(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let task_id = app.task_id("36").await;
    let text = readme();

    let mut documents: Vec<String> = graphql_operations(&text)
        .into_iter()
        .map(|(_, operation)| operation)
        .collect();
    documents.extend(
        curl_bodies(&text)
            .iter()
            .map(|body| body["query"].as_str().unwrap().to_owned()),
    );
    assert!(documents.len() >= 10, "found only {documents:#?}");
    for document in &documents {
        let query = filled(document, &app.admin_password, &task_id);
        let answer = app.graphql_as(&admin, &query, json!({})).await;
        assert_eq!(
            document_errors(&answer),
            Vec::<Value>::new(),
            "{query}: {answer}"
        );
        if query.trim_start().starts_with('{') {
            assert!(answer.get("errors").is_none(), "{query}: {answer}");
        }
    }

    // The upload example, with a file, by a department that leads the task.
    let uploads = upload_operations(&text);
    assert!(!uploads.is_empty(), "the README shows no upload");
    let finance = app
        .token_for(ecoplan::service::policy::Role::Department, Some("finance"))
        .await;
    for operations in uploads {
        let query = filled(operations["query"].as_str().unwrap(), "", &task_id);
        let (answer, _) = app
            .graphql_multipart(
                Some(&finance),
                &query,
                json!({ "file": null }),
                "通知.pdf",
                pdf(),
            )
            .await;
        assert!(answer.get("errors").is_none(), "{query}: {answer}");
        let url = answer["data"]["uploadEvidence"]["downloadUrl"]
            .as_str()
            .unwrap();
        assert_eq!(app.get(Some(&finance), url).await.status(), 200);
    }
}
both!(the_readmes_examples_run_against_the_schema);
