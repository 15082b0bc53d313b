//! The work ledger spreadsheets: export as the leadership group and as a department, and
//! the import of indicator values from the exported sheet, filled in.

use std::io::{Cursor, Read};

use calamine::{Data, DataType, Reader, Xlsx};
use ecoplan::entity::task;
use ecoplan::id::NodeKind;
use ecoplan::service::policy::Role;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, both, global_id};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn export(app: &TestApp, token: &str) -> Vec<u8> {
    let response = app.get(Some(token), "/export/plan.xlsx").await;
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().to_vec()
}

async fn import(
    app: &TestApp,
    token: Option<&str>,
    query: &str,
    body: Vec<u8>,
) -> (reqwest::StatusCode, Value) {
    let mut request = app
        .client
        .post(app.url(&format!("/import/indicator-values{query}")))
        .header("content-type", XLSX)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn value_count(app: &TestApp) -> i64 {
    app.count_rows("indicator_value").await
}

fn sheet(bytes: &[u8], name: &str) -> Vec<Vec<Data>> {
    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let range = workbook.worksheet_range(name).unwrap();
    assert_eq!(range.start(), Some((0, 0)), "the sheet starts at A1");
    range.rows().map(<[Data]>::to_vec).collect()
}

fn text(cell: &Data) -> String {
    match cell {
        Data::String(text) => text.clone(),
        Data::Empty => String::new(),
        other => panic!("expected text, found {other:?}"),
    }
}

fn column(header: &[Data], name: &str) -> usize {
    header
        .iter()
        .position(|cell| text(cell) == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

/// A value to type into a cell.
enum Fill {
    Text(String),
    Number(f64),
}

fn typed(text: &str) -> Fill {
    Fill::Text(text.to_owned())
}

/// The exported indicator sheet with cells filled in (by row index and column name) and
/// extra rows appended, written back as a workbook: what a department sends.
fn fill_in(
    exported: &[u8],
    fills: Vec<(usize, Vec<(&str, Fill)>)>,
    extra_rows: Vec<Vec<(&str, Fill)>>,
) -> Vec<u8> {
    let mut rows = sheet(exported, "指標");
    let header = rows[0].clone();
    let first_extra = rows.len();
    rows.resize(
        first_extra + extra_rows.len(),
        vec![Data::Empty; header.len()],
    );
    let fills = fills
        .into_iter()
        .chain((first_extra..).zip(extra_rows))
        .collect::<Vec<_>>();
    for (row, cells) in fills {
        for (name, fill) in cells {
            rows[row][column(&header, name)] = match fill {
                Fill::Text(value) => Data::String(value),
                Fill::Number(value) => Data::Float(value),
            };
        }
    }
    let mut workbook = rust_xlsxwriter::Workbook::new();
    workbook.add_worksheet().set_name("工作台賬").unwrap();
    let worksheet = workbook.add_worksheet();
    worksheet.set_name("指標").unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            match cell {
                Data::String(value) => {
                    worksheet.write_string(r, c, value).unwrap();
                }
                Data::Float(value) => {
                    worksheet.write_number(r, c, *value).unwrap();
                }
                Data::Int(value) => {
                    worksheet.write_number(r, c, *value as f64).unwrap();
                }
                _ => {}
            }
        }
    }
    workbook.save_to_buffer().unwrap()
}

const LEDGER_HEADERS: [&str; 13] = [
    "章節序號",
    "章節",
    "任務編號",
    "任務名稱",
    "牽頭單位",
    "完成時限",
    "最新進展狀態",
    "審核狀態",
    "最新填報期間",
    "最新填報日期",
    "最新工作進展",
    "佐證材料數",
    "待審核數",
];

async fn leadership_exports_every_task_lead_and_indicator(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let statistics = app.token_for(Role::Department, Some("statistics")).await;
    let task_3 = task::Entity::find()
        .filter(task::Column::Code.eq("3"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let saved = app
        .graphql_as(
            &statistics,
            "mutation($input: ProgressReportInput!) { saveProgressReport(input: $input) { id } }",
            json!({ "input": {
                "taskId": global_id(NodeKind::Task, task_3.id),
                "period": "2022-Q2",
                "status": "IN_PROGRESS",
                "workDone": "完成統計調查方案",
            }}),
        )
        .await;
    assert!(saved["errors"].is_null(), "{saved}");

    let before = app.statements();
    let response = app.get(Some(&leadership), "/export/plan.xlsx").await;
    let statements = app.statements() - before;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], XLSX);
    let disposition = response.headers()["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''%E5%B7%A5%E4%BD%9C%E5%8F%B0%E8%B3%AC"),
        "{disposition}"
    );
    let bytes = response.bytes().await.unwrap().to_vec();
    // Reads are batched by plan: no statement per row.
    assert!(statements <= 20, "{statements} statements for one export");

    let workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(&bytes)).unwrap();
    assert_eq!(workbook.sheet_names(), vec!["工作台賬", "指標"]);

    let ledger = sheet(&bytes, "工作台賬");
    let header: Vec<String> = ledger[0].iter().map(text).collect();
    assert_eq!(header, LEDGER_HEADERS);
    // One row per task and lead department: the sum of the leads over the tasks.
    let leads = ecoplan::entity::task_lead::Entity::find()
        .count(&app.db)
        .await
        .unwrap();

    assert_eq!(ledger.len() as u64 - 1, leads);
    assert!(leads > 43);

    let first = &ledger[1];
    assert_eq!(first[0], Data::Float(1.0));
    assert_eq!(text(&first[2]), "1");
    assert_eq!(text(&first[4]), "市委組織部");
    // The due date is a date cell: the end of the plan's year, 2022-12-31 (serial 44926).
    match &first[5] {
        Data::DateTime(date) => assert_eq!(date.as_f64(), 44926.0),
        other => panic!("the due date is not a date cell: {other:?}"),
    }
    assert_eq!(first[11], Data::Float(0.0));
    assert_eq!(first[12], Data::Float(0.0));

    let reported = ledger
        .iter()
        .find(|row| text(&row[2]) == "3")
        .expect("task 3 has a row");
    assert_eq!(text(&reported[4]), "市統計局");
    assert_eq!(text(&reported[6]), "進行中");
    assert_eq!(text(&reported[7]), "草稿");
    assert_eq!(text(&reported[8]), "2022-Q2");
    assert!(reported[9].is_datetime(), "{:?}", reported[9]);
    assert_eq!(text(&reported[10]), "完成統計調查方案");

    let indicators = sheet(&bytes, "指標");
    assert_eq!(indicators.len() - 1, 46);
    let header = &indicators[0];
    let first = &indicators[1];
    assert_eq!(text(&first[column(header, "任務編號")]), "1");
    assert_eq!(first[column(header, "目標值")], Data::Float(20.0));
    assert_eq!(text(&first[column(header, "狀態")]), "NO_DATA");
    assert_eq!(text(&first[column(header, "狀態說明")]), "無數據");
    let id = text(&first[column(header, "指標ID")]);
    assert_eq!(id, app.indicator_id("1", 0).await);
    for input in [
        "填報期間",
        "填報值",
        "是否達成",
        "情況說明",
        "數據來源",
        "備註",
    ] {
        assert_eq!(first[column(header, input)], Data::Empty, "{input}");
    }

    // calamine does not read panes, so the frozen header is checked in the sheet's XML.
    let mut archive = zip::ZipArchive::new(Cursor::new(&bytes)).unwrap();
    for part in ["xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"] {
        let mut xml = String::new();
        archive
            .by_name(part)
            .unwrap()
            .read_to_string(&mut xml)
            .unwrap();
        assert!(
            xml.contains(r#"ySplit="1""#) && xml.contains(r#"state="frozen""#),
            "{part} has no frozen header"
        );
    }
}
both!(leadership_exports_every_task_lead_and_indicator);

async fn a_department_exports_only_its_own_rows(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let bytes = export(&app, &finance).await;

    let ledger = sheet(&bytes, "工作台賬");
    assert_eq!(ledger.len(), 2, "the header and task 36");
    assert_eq!(text(&ledger[1][2]), "36");
    assert_eq!(text(&ledger[1][4]), "市財政局");

    let indicators = sheet(&bytes, "指標");
    assert_eq!(indicators.len(), 2, "the header and its one indicator");
    assert_eq!(text(&indicators[1][1]), "綠色產品政府採購比例");

    let csv = app.get(Some(&finance), "/export/plan.csv").await;
    let body = csv.text().await.unwrap();
    assert_eq!(body.lines().count(), 2);
}
both!(a_department_exports_only_its_own_rows);

async fn the_portal_cannot_export_and_anonymous_callers_must_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let portal = app.token_for(Role::Portal, None).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    for path in ["/export/plan.xlsx", "/export/plan.csv"] {
        let response = app.get(Some(&portal), path).await;
        assert_eq!(response.status(), 403, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "FORBIDDEN");

        let response = app.get(None, path).await;
        assert_eq!(response.status(), 401, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "UNAUTHENTICATED");

        let response = app.get(Some("not a token"), path).await;
        assert_eq!(response.status(), 401, "{path}");
    }
    let workbook = export(&app, &leadership).await;
    let (status, _) = import(&app, None, "", workbook.clone()).await;
    assert_eq!(status, 401);
    for token in [&portal, &leadership] {
        let (status, body) = import(&app, Some(token), "", workbook.clone()).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["code"], "FORBIDDEN");
    }
}
both!(the_portal_cannot_export_and_anonymous_callers_must_sign_in);

async fn the_csv_export_has_a_bom_and_one_record_per_row(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let response = app.get(Some(&leadership), "/export/plan.csv").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let bytes = response.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(headers, LEDGER_HEADERS);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let leads = ecoplan::entity::task_lead::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(records.len() as u64, leads);
    assert_eq!(&records[0][5], "2022-12-31");
}
both!(the_csv_export_has_a_bom_and_one_record_per_row);

async fn a_dry_run_reports_each_bad_row_and_writes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let exported = export(&app, &finance).await;
    let other_departments = app.indicator_id("1", 0).await;
    let own = app.indicator_id("36", 0).await;
    let workbook = fill_in(
        &exported,
        vec![(
            1,
            vec![("填報期間", typed("2022-Q2")), ("填報值", typed("八十五"))],
        )],
        vec![
            vec![
                ("指標ID", Fill::Text(other_departments.clone())),
                ("填報期間", typed("2022-Q2")),
                ("填報值", Fill::Number(30.0)),
            ],
            vec![
                ("指標ID", Fill::Text(own.clone())),
                ("填報期間", typed("2022-Q9")),
                ("填報值", Fill::Number(85.0)),
            ],
            vec![
                ("指標ID", Fill::Text(own.clone())),
                ("填報期間", typed("2022-Q1")),
                ("填報值", Fill::Number(82.5)),
            ],
        ],
    );

    let (status, report) = import(&app, Some(&finance), "?dryRun=true", workbook).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["dryRun"], true);
    assert_eq!(report["applied"], false);
    assert_eq!(report["summary"]["rows"], 4);
    assert_eq!(report["summary"]["invalid"], 3);
    assert_eq!(report["summary"]["create"], 1);
    let errors: Vec<(u64, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| {
            (
                error["row"].as_u64().unwrap(),
                error["column"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            (2, "填報值".to_owned()),
            (3, "指標ID".to_owned()),
            (4, "填報期間".to_owned()),
        ]
    );
    let reasons: Vec<&str> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons[0], "not a number");
    assert!(reasons[1].contains("not responsible"), "{}", reasons[1]);
    assert!(reasons[2].contains("2022-Q9"), "{}", reasons[2]);
    assert_eq!(report["rows"][3]["row"], 5);
    assert_eq!(report["rows"][3]["action"], "CREATE");

    assert_eq!(value_count(&app).await, 0);
    assert_eq!(app.count_audit_entries("indicatorValue.create").await, 0);
    assert_eq!(app.count_audit_entries("indicatorValue.import").await, 0);
}
both!(a_dry_run_reports_each_bad_row_and_writes_nothing);

async fn a_valid_import_creates_drafts_and_is_audited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let exported = export(&app, &finance).await;
    let filled = |value: f64| {
        fill_in(
            &exported,
            vec![(
                1,
                vec![
                    ("填報期間", typed("2022-Q2")),
                    ("填報值", Fill::Number(value)),
                    ("數據來源", typed("市財政局採購統計")),
                    ("備註", typed("上半年")),
                ],
            )],
            vec![],
        )
    };

    let (status, report) = import(&app, Some(&finance), "?dryRun=false", filled(85.0)).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["applied"], true);
    assert_eq!(report["summary"]["create"], 1);
    assert_eq!(report["rows"][0]["action"], "CREATE");

    let indicator = app.indicator_id("36", 0).await;
    let query =
        "query($id: ID!) { indicator(id: $id) { values { value reviewStatus source note } } }";
    let body = app
        .graphql_as(&finance, query, json!({ "id": indicator }))
        .await;
    assert_eq!(
        body["data"]["indicator"]["values"],
        json!([{ "value": 85.0, "reviewStatus": "DRAFT", "source": "市財政局採購統計", "note": "上半年" }]),
        "{body}"
    );

    let audit = app
        .graphql_as(
            &leadership,
            r#"{ auditLog(filter: { action: "indicatorValue.import" }) { totalCount edges { node { actorRole itemType after } } } }"#,
            json!({}),
        )
        .await;
    let log = &audit["data"]["auditLog"];
    assert_eq!(log["totalCount"], 1, "{audit}");
    assert_eq!(log["edges"][0]["node"]["actorRole"], "DEPARTMENT");
    assert_eq!(log["edges"][0]["node"]["itemType"], "Plan");
    assert_eq!(
        log["edges"][0]["node"]["after"]["created"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(app.count_audit_entries("indicatorValue.create").await, 1);

    // The same sheet again changes nothing; a new figure updates the draft.
    let (status, report) = import(&app, Some(&finance), "?dryRun=false", filled(85.0)).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["rows"][0]["action"], "UNCHANGED");
    let (status, report) = import(&app, Some(&finance), "?dryRun=false", filled(90.0)).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["rows"][0]["action"], "UPDATE");
    let body = app
        .graphql_as(&finance, query, json!({ "id": indicator }))
        .await;
    assert_eq!(body["data"]["indicator"]["values"][0]["value"], 90.0);
    assert_eq!(value_count(&app).await, 1);
    assert_eq!(app.count_audit_entries("indicatorValue.update").await, 1);
}
both!(a_valid_import_creates_drafts_and_is_audited);

async fn a_real_run_with_one_bad_row_writes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let exported = export(&app, &finance).await;
    let other_departments = app.indicator_id("1", 0).await;
    let workbook = fill_in(
        &exported,
        vec![(
            1,
            vec![
                ("填報期間", typed("2022-Q2")),
                ("填報值", Fill::Number(85.0)),
            ],
        )],
        vec![vec![
            ("指標ID", Fill::Text(other_departments.clone())),
            ("填報期間", typed("2022-Q2")),
            ("填報值", Fill::Number(30.0)),
        ]],
    );
    let (status, report) = import(&app, Some(&finance), "?dryRun=false", workbook).await;
    assert_eq!(status, 422, "{report}");
    assert_eq!(report["applied"], false);
    assert_eq!(report["rows"][0]["action"], "CREATE");
    assert_eq!(report["errors"][0]["row"], 3);
    assert_eq!(value_count(&app).await, 0);
    assert_eq!(app.count_audit_entries("indicatorValue.create").await, 0);
    assert_eq!(app.count_audit_entries("indicatorValue.import").await, 0);
}
both!(a_real_run_with_one_bad_row_writes_nothing);

async fn requests_that_are_wrong_as_a_whole_are_bad_user_input(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let exported = export(&app, &finance).await;
    let task = global_id(NodeKind::Task, 1);
    let missing_plan = global_id(NodeKind::Plan, 999);
    let cases: Vec<(String, Vec<u8>)> = vec![
        ("?dryRun=true".into(), b"name,value\nx,1\n".to_vec()),
        ("?dryRun=true".into(), Vec::new()),
        ("?dryRun=true".into(), vec![0u8; 11 * 1024 * 1024]),
        (format!("?dryRun=true&planId={task}"), exported.clone()),
        (
            format!("?dryRun=true&planId={missing_plan}"),
            exported.clone(),
        ),
        ("?dryRun=maybe".into(), exported.clone()),
        // The export, not filled in: nothing to import.
        ("?dryRun=true".into(), exported),
    ];
    for (query, body) in cases {
        let (status, reply) = import(&app, Some(&finance), &query, body).await;
        assert_eq!(status, 400, "{query}: {reply}");
        assert_eq!(reply["code"], "BAD_USER_INPUT", "{query}");
        assert!(reply["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(value_count(&app).await, 0);
}
both!(requests_that_are_wrong_as_a_whole_are_bad_user_input);

async fn an_imported_value_outside_its_indicators_range_is_a_row_error(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let exported = export(&app, &finance).await;
    // Task 36's indicator is a share of purchases: 0 to 100 %.
    for value in [1e308, -1.0, 100.5] {
        let workbook = fill_in(
            &exported,
            vec![(
                1,
                vec![
                    ("填報期間", typed("2022-Q2")),
                    ("填報值", Fill::Number(value)),
                ],
            )],
            vec![],
        );
        let (status, report) = import(&app, Some(&finance), "?dryRun=false", workbook).await;
        assert_eq!(status, 422, "{report}");
        assert_eq!(report["applied"], false, "{report}");
        assert_eq!(report["errors"][0]["column"], "填報值", "{report}");
        let reason = report["errors"][0]["reason"].as_str().unwrap();
        assert!(reason.contains("from 0 to 100"), "{reason}");
    }
    assert_eq!(value_count(&app).await, 0);
}
both!(an_imported_value_outside_its_indicators_range_is_a_row_error);
