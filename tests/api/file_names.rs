//! A file's name must agree with its content: no active content whatever the bytes, an
//! Office name only on an Office package, and no archive that unpacks beyond the limits.

use std::io::Write;

use ecoplan::service::policy::Role;
use serde_json::{Value, json};
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

use crate::helpers::{Backend, TestApp, assert_error_code, both, data};
use crate::steps::{pdf, text_file, upload};

/// A zip of `(name, bytes)` entries, deflated.
fn zip_of(entries: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        writer
            .start_file(
                *name,
                SimpleFileOptions::default().compression_method(method),
            )
            .unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

const CONTENT_TYPES: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;
const DOCUMENT: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Progress</w:t></w:r></w:p></w:body></w:document>"#;

/// The smallest Word document: its content types and its main part.
fn docx() -> Vec<u8> {
    zip_of(
        &[
            ("[Content_Types].xml", CONTENT_TYPES),
            ("word/document.xml", DOCUMENT),
        ],
        CompressionMethod::Deflated,
    )
}

/// A PDF that is an HTML page too: a PDF reader and a browser each see their own file.
fn pdf_and_html() -> Vec<u8> {
    let mut bytes =
        b"%PDF-1.4\n%<html><body><script>fetch('/graphql')</script></body></html>\n".to_vec();
    bytes.extend_from_slice(&pdf()[9..]);
    bytes
}

struct Uploads {
    app: TestApp,
    token: String,
    task: String,
}

impl Uploads {
    async fn new(app: TestApp) -> Self {
        let token = app.token_for(Role::Department, Some("finance")).await;
        let task = app.task_id("36").await;
        Self { app, token, task }
    }

    async fn send(&self, name: &str, bytes: Vec<u8>) -> Value {
        upload(
            &self.app,
            Some(&self.token),
            json!({ "taskId": self.task, "title": "佐證材料" }),
            name,
            bytes,
        )
        .await
    }

    #[track_caller]
    fn assert_refused(&self, response: &Value, words: &str) {
        assert_error_code(response, "BAD_USER_INPUT");
        let message = response["errors"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(words), "{message}");
    }
}

async fn names_of_active_content_are_refused_whatever_the_bytes(backend: Backend) {
    let uploads = Uploads::new(TestApp::spawn(backend).await).await;

    let response = uploads.send("x.html", pdf_and_html()).await;
    uploads.assert_refused(&response, ".html");
    for (name, bytes) in [
        ("x.HTM", pdf()),
        ("drawing.svg", text_file()),
        ("app.js", text_file()),
        ("module.mjs", text_file()),
        ("data.xml", text_file()),
        ("style.xsl", pdf()),
        ("page.xhtml", pdf()),
        ("page.shtml", text_file()),
        ("index.php", text_file()),
        ("run.hta", text_file()),
        ("movie.swf", pdf()),
    ] {
        let response = uploads.send(name, bytes).await;
        assert_error_code(&response, "BAD_USER_INPUT");
    }
    assert!(uploads.app.stored_files().is_empty());
    assert_eq!(uploads.app.count_rows("evidence").await, 0);

    // The same bytes under a PDF's name are a PDF, served as one.
    let response = uploads.send("x.pdf", pdf_and_html()).await;
    assert_eq!(
        data(&response)["uploadEvidence"]["contentType"],
        "application/pdf"
    );
}
both!(names_of_active_content_are_refused_whatever_the_bytes);

async fn an_office_name_needs_an_office_package(backend: Backend) {
    let uploads = Uploads::new(TestApp::spawn(backend).await).await;

    let response = uploads.send("情況說明.docx", docx()).await;
    data(&response);

    let plain_zip = zip_of(
        &[("notes.txt", "工作進展".as_bytes())],
        CompressionMethod::Deflated,
    );
    let response = uploads.send("報告.docx", plain_zip.clone()).await;
    uploads.assert_refused(&response, "[Content_Types].xml");
    // A Word package is not a workbook or a presentation.
    let response = uploads.send("台賬.xlsx", docx()).await;
    uploads.assert_refused(&response, "xl/workbook.xml");
    let response = uploads.send("匯報.pptx", docx()).await;
    uploads.assert_refused(&response, "ppt/presentation.xml");
    // A zip may hold anything within the limits.
    let response = uploads.send("材料.zip", plain_zip).await;
    data(&response);
    assert_eq!(uploads.app.count_rows("evidence").await, 2);
}
both!(an_office_name_needs_an_office_package);

async fn an_archive_that_unpacks_beyond_the_limits_is_refused(backend: Backend) {
    let uploads = Uploads::new(
        TestApp::spawn_with(backend, |settings| {
            settings.upload.max_unpacked_bytes = 4 * 1024 * 1024;
        })
        .await,
    )
    .await;

    // 8 MiB of zeros deflate to a few KiB: a bomb by its ratio and by its size.
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let bomb = zip_of(
        &[
            ("[Content_Types].xml", CONTENT_TYPES),
            ("word/document.xml", &zeros),
        ],
        CompressionMethod::Deflated,
    );
    assert!(bomb.len() < 64 * 1024);
    let response = uploads.send("報告.docx", bomb.clone()).await;
    uploads.assert_refused(&response, "unpacks to more than");
    let response = uploads.send("材料.zip", bomb).await;
    uploads.assert_refused(&response, "unpacks to more than");

    // Under the total but far above the ratio: 2 MiB of zeros.
    let ratio_bomb = zip_of(
        &[("zeros.bin", &zeros[..2 * 1024 * 1024])],
        CompressionMethod::Deflated,
    );
    let response = uploads.send("材料.zip", ratio_bomb).await;
    uploads.assert_refused(&response, "times its size");

    // Stored, not compressed (no ratio at all), but beyond the total.
    let noise: Vec<u8> = (0..5 * 1024 * 1024u32)
        .map(|n| (n.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let large = zip_of(&[("scan.bin", &noise)], CompressionMethod::Stored);
    let response = uploads.send("掃描.zip", large).await;
    uploads.assert_refused(&response, "4194304 bytes");

    assert!(uploads.app.stored_files().is_empty());
    assert_eq!(uploads.app.count_rows("evidence").await, 0);
}
both!(an_archive_that_unpacks_beyond_the_limits_is_refused);
