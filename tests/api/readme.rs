//! The README's examples, taken from the README and sent to the server as written (with
//! the placeholders a reader fills in filled in): each still parses and validates against
//! the schema, and each query answers without an error.

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

/// The operations of the `graphql` blocks: each starts a line with `{`, `query`,
/// `mutation` or `subscription`; `#` lines are comments.
fn graphql_operations(text: &str) -> Vec<String> {
    let mut operations: Vec<String> = Vec::new();
    for block in blocks(text, "graphql") {
        for line in block.lines() {
            if line.trim_start().starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let starts = ["{", "query", "mutation", "subscription"]
                .iter()
                .any(|start| line.starts_with(start));
            match operations.last_mut() {
                Some(operation) if !starts => {
                    operation.push('\n');
                    operation.push_str(line);
                }
                _ => operations.push(line.to_owned()),
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

async fn the_readmes_examples_run_against_the_schema(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let task_id = app.task_id("36").await;
    let text = readme();

    let mut documents: Vec<String> = graphql_operations(&text);
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
