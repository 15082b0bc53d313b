//! The work ledger spreadsheets: export as the leadership group and as a department, and
//! the import of indicator values from the exported sheet, filled in.

use std::io::{Cursor, Read};

use calamine::{Data, DataType, Reader, Xlsx};
use ecoplan::entity::task;
use ecoplan::id::NodeKind;
use ecoplan::service::policy::Role;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, both, data, global_id};
use crate::steps::{draft_report, submitted};

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

/// The index of a sheet's header row: the title block stands above it.
fn header_index(rows: &[Vec<Data>], first_header: &str) -> usize {
    rows.iter()
        .position(|row| {
            row.first()
                .is_some_and(|cell| *cell == Data::String(first_header.into()))
        })
        .unwrap_or_else(|| panic!("no header row beginning with {first_header}"))
}

/// A sheet's header row and the rows below it.
fn table(bytes: &[u8], name: &str, first_header: &str) -> (Vec<Data>, Vec<Vec<Data>>) {
    let mut rows = sheet(bytes, name);
    let header = header_index(&rows, first_header);
    let body = rows.split_off(header + 1);
    (rows.swap_remove(header), body)
}

/// One part of the workbook's zip archive, as text.
fn part(bytes: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut xml = String::new();
    archive
        .by_name(name)
        .unwrap_or_else(|_| panic!("the workbook has no {name}"))
        .read_to_string(&mut xml)
        .unwrap();
    xml
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

/// The exported indicator sheet with cells filled in (by the index of the row below the
/// header and by column name) and extra rows appended, written back as a workbook: what a
/// department sends.
fn fill_in(
    exported: &[u8],
    fills: Vec<(usize, Vec<(&str, Fill)>)>,
    extra_rows: Vec<Vec<(&str, Fill)>>,
) -> Vec<u8> {
    let mut rows = sheet(exported, "指標");
    let header_row = header_index(&rows, "任務編號");
    let header = rows[header_row].clone();
    let first_extra = rows.len();
    rows.resize(
        first_extra + extra_rows.len(),
        vec![Data::Empty; header.len()],
    );
    let fills = fills
        .into_iter()
        .map(|(row, cells)| (header_row + 1 + row, cells))
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

/// The Excel number of the indicator sheet's first row below the header.
fn first_data_row(exported: &[u8]) -> u64 {
    header_index(&sheet(exported, "指標"), "任務編號") as u64 + 2
}

const LEDGER_HEADERS: [&str; 15] = [
    "章節序號",
    "章節",
    "任務編號",
    "任務名稱",
    "牽頭單位",
    "完成時限",
    "任務狀態",
    "最新進展狀態",
    "審核狀態",
    "報送",
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

    // The plan snapshot is read once per data revision; count the export's own reads.
    data(
        &app.graphql_as(&leadership, "{ plans { id } }", json!({}))
            .await,
    );
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
    // Reads are batched by plan: no statement per row (the summary adds the dashboard's).
    assert!(statements <= 40, "{statements} statements for one export");

    let workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(&bytes)).unwrap();
    assert_eq!(workbook.sheet_names(), vec!["概覽", "工作台賬", "指標"]);

    let (header, ledger) = table(&bytes, "工作台賬", "章節序號");
    let header: Vec<String> = header.iter().map(text).collect();
    assert_eq!(header, LEDGER_HEADERS);
    // One row per task and lead department: the sum of the leads over the tasks.
    let leads = ecoplan::entity::task_lead::Entity::find()
        .count(&app.db)
        .await
        .unwrap();

    assert_eq!(ledger.len() as u64, leads);
    assert!(leads > 43);

    let first = &ledger[0];
    assert_eq!(first[0], Data::Float(1.0));
    assert_eq!(text(&first[2]), "1");
    assert_eq!(text(&first[4]), "市委組織部");
    // The due date is a date cell: the end of the plan's year, 2022-12-31 (serial 44926).
    match &first[5] {
        Data::DateTime(date) => assert_eq!(date.as_f64(), 44926.0),
        other => panic!("the due date is not a date cell: {other:?}"),
    }
    // The plan's year is over and nothing is approved as completed: every task is late.
    assert_eq!(text(&first[6]), "逾期");
    assert_eq!(first[13], Data::Float(0.0));
    assert_eq!(first[14], Data::Float(0.0));

    let reported = ledger
        .iter()
        .find(|row| text(&row[2]) == "3")
        .expect("task 3 has a row");
    assert_eq!(text(&reported[4]), "市統計局");
    assert_eq!(text(&reported[7]), "進行中");
    assert_eq!(text(&reported[8]), "草稿");
    // A draft has not been submitted, so it is neither on time nor late yet.
    assert_eq!(text(&reported[9]), "");
    assert_eq!(text(&reported[10]), "2022-Q2");
    assert!(reported[11].is_datetime(), "{:?}", reported[11]);
    assert_eq!(text(&reported[12]), "完成統計調查方案");

    let (header, indicators) = table(&bytes, "指標", "任務編號");
    assert_eq!(indicators.len(), 46);
    let header = &header;
    let first = &indicators[0];
    assert_eq!(text(&first[column(header, "任務編號")]), "1");
    assert_eq!(first[column(header, "目標值")], Data::Float(20.0));
    assert_eq!(text(&first[column(header, "狀態")]), "未填報");
    assert_eq!(text(&first[column(header, "目標類型")]), "不低於");
    assert_eq!(text(&first[column(header, "評價方向")]), "越高越好");
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

    // calamine does not read panes, so the frozen header (below the title block) is
    // checked in the sheets' XML.
    for name in ["xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml"] {
        let xml = part(&bytes, name);
        assert!(
            xml.contains(r#"ySplit="3""#) && xml.contains(r#"state="frozen""#),
            "{name} has no frozen header"
        );
    }
}
both!(leadership_exports_every_task_lead_and_indicator);

async fn a_department_exports_only_its_own_rows(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let bytes = export(&app, &finance).await;

    let (_, ledger) = table(&bytes, "工作台賬", "章節序號");
    assert_eq!(ledger.len(), 1, "task 36");
    assert_eq!(text(&ledger[0][2]), "36");
    assert_eq!(text(&ledger[0][4]), "市財政局");

    let (_, indicators) = table(&bytes, "指標", "任務編號");
    assert_eq!(indicators.len(), 1, "its one indicator");
    assert_eq!(text(&indicators[0][1]), "綠色產品政府採購比例");

    // Its summary counts its own items only: one department row, its own.
    let (_, summary) = table(&bytes, "概覽", "單位");
    let departments: Vec<String> = summary
        .iter()
        .take_while(|row| !matches!(row[0], Data::Empty))
        .map(|row| text(&row[0]))
        .collect();
    assert_eq!(departments, ["市財政局"]);

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
    // The same words as the workbook: the plan's year is over, so the task is late.
    assert_eq!(&records[0][6], "逾期");
}
both!(the_csv_export_has_a_bom_and_one_record_per_row);

async fn a_dry_run_reports_each_bad_row_and_writes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let exported = export(&app, &finance).await;
    let other_departments = app.indicator_id("1", 0).await;
    let own = app.indicator_id("36", 0).await;
    let first = first_data_row(&exported);
    let workbook = fill_in(
        &exported,
        vec![(
            0,
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
            (first, "填報值".to_owned()),
            (first + 1, "指標ID".to_owned()),
            (first + 2, "填報期間".to_owned()),
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
    assert_eq!(report["rows"][3]["row"], first + 3);
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
                0,
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
    let query = "query($id: ID!) { indicator(id: $id) { values { nodes { value reviewStatus source note } } } }";
    let body = app
        .graphql_as(&finance, query, json!({ "id": indicator }))
        .await;
    assert_eq!(
        body["data"]["indicator"]["values"]["nodes"],
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
    assert_eq!(
        body["data"]["indicator"]["values"]["nodes"][0]["value"],
        90.0
    );
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
            0,
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
    assert_eq!(report["errors"][0]["row"], first_data_row(&exported) + 1);
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

/// Every enum value of the API, by introspection: the codes no cell for people may hold.
async fn enum_codes(app: &TestApp, token: &str) -> std::collections::HashSet<String> {
    let body = app
        .graphql_as(
            token,
            "{ __schema { types { kind name enumValues { name } } } }",
            json!({}),
        )
        .await;
    let codes: std::collections::HashSet<String> = body["data"]["__schema"]["types"]
        .as_array()
        .unwrap_or_else(|| panic!("no introspection: {body}"))
        .iter()
        .filter(|kind| kind["kind"] == "ENUM" && !kind["name"].as_str().unwrap().starts_with("__"))
        .flat_map(|kind| kind["enumValues"].as_array().unwrap().iter())
        .map(|value| value["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        codes.contains("AT_LEAST") && codes.contains("NO_DATA"),
        "{codes:?}"
    );
    codes
}

/// Whether a text reads as a machine code: `NOT_MET`, `IMPROVE`, …
fn looks_like_a_code(text: &str, codes: &std::collections::HashSet<String>) -> bool {
    codes.contains(text)
        || text.contains('_')
            && text
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The workbook exported with the query given.
async fn export_with(app: &TestApp, token: &str, period_query: &str) -> Vec<u8> {
    let response = app
        .get(Some(token), &format!("/export/plan.xlsx{period_query}"))
        .await;
    assert_eq!(response.status(), 200, "{period_query}");
    response.bytes().await.unwrap().to_vec()
}

async fn every_sheet_prints_landscape_fitted_to_width_with_titles_and_page_numbers(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let me = app
        .graphql_as(&leadership, "{ me { displayName } }", json!({}))
        .await;
    let name = me["data"]["me"]["displayName"].as_str().unwrap().to_owned();
    let bytes = export_with(&app, &leadership, "?period=2022-Q2").await;

    let workbook = part(&bytes, "xl/workbook.xml");
    for (index, (sheet_name, repeated)) in
        [("概覽", "$1:$2"), ("工作台賬", "$3:$3"), ("指標", "$3:$3")]
            .into_iter()
            .enumerate()
    {
        let xml = part(&bytes, &format!("xl/worksheets/sheet{}.xml", index + 1));
        for setting in [
            r#"orientation="landscape""#,
            r#"paperSize="9""#,
            r#"fitToPage="1""#,
            r#"fitToHeight="0""#,
            "&amp;C第 &amp;P 頁 共 &amp;N 頁",
        ] {
            assert!(xml.contains(setting), "{sheet_name} lacks {setting}");
        }
        // Excel's default for fitToWidth is one page; another number would be written.
        assert!(!xml.contains("fitToWidth") || xml.contains(r#"fitToWidth="1""#));
        let titles = format!(
            r#"<definedName name="_xlnm.Print_Titles" localSheetId="{index}">{sheet_name}!{repeated}</definedName>"#
        );
        assert!(
            workbook.contains(&titles),
            "no print titles for {sheet_name}"
        );

        // The title block: the plan, the period, who exported it.
        let rows = sheet(&bytes, sheet_name);
        assert!(text(&rows[0][0]).contains("唐山市創建國家生態文明建設示範市2022年度工作方案"));
        let caption = text(&rows[1][0]);
        assert!(caption.contains("2022-Q2"), "{caption}");
        assert!(caption.contains(&name), "{caption}");
    }

    // A3 when asked, in either case.
    let a3 = export_with(&app, &leadership, "?paper=a3").await;
    for index in 1..=3 {
        let xml = part(&a3, &format!("xl/worksheets/sheet{index}.xml"));
        assert!(xml.contains(r#"paperSize="8""#), "sheet {index} is not A3");
    }
}
both!(every_sheet_prints_landscape_fitted_to_width_with_titles_and_page_numbers);

const SUMMARY_DASHBOARD: &str = r#"query($period: String) { dashboard(period: $period) {
    sections { section { number } notStarted inProgress completed overdue total }
    departments { department { name } led reportedThisPeriod late overdue awaitingReview }
    indicatorsByStatus { status count } } }"#;

fn count(cell: &Data) -> i64 {
    match cell {
        Data::Float(number) => *number as i64,
        other => panic!("expected a count, found {other:?}"),
    }
}

/// The rows of a summary table: from below the header named `first_header` to the first
/// empty row.
fn summary_table(bytes: &[u8], first_header: &str) -> Vec<Vec<Data>> {
    let (_, rows) = table(bytes, "概覽", first_header);
    rows.into_iter()
        .take_while(|row| !matches!(row.first(), None | Some(Data::Empty)))
        .collect()
}

async fn the_summary_sheet_counts_the_period_asked_as_the_dashboard_does(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let statistics = app.token_for(Role::Department, Some("statistics")).await;
    let task_3 = global_id(
        NodeKind::Task,
        task::Entity::find()
            .filter(task::Column::Code.eq("3"))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .id,
    );
    let report = draft_report(&app, &statistics, &task_3, "2022-Q2", "IN_PROGRESS").await;
    submitted(&app, &statistics, &report).await;

    for period in ["2022-Q2", "2022-Q3"] {
        let bytes = export_with(&app, &leadership, &format!("?period={period}")).await;
        let workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(&bytes)).unwrap();
        assert_eq!(workbook.sheet_names()[0], "概覽", "the summary comes first");
        let board = app
            .graphql_as(&leadership, SUMMARY_DASHBOARD, json!({ "period": period }))
            .await;
        let board = &board["data"]["dashboard"];

        let sections = summary_table(&bytes, "章節");
        let expected = board["sections"].as_array().unwrap();
        assert_eq!(
            sections.len(),
            expected.len() + 1,
            "the sections and a total"
        );
        for (row, section) in sections.iter().zip(expected) {
            let counts: Vec<i64> = row[1..=5].iter().map(count).collect();
            let wanted: Vec<i64> = ["notStarted", "inProgress", "completed", "overdue", "total"]
                .iter()
                .map(|field| section[field].as_i64().unwrap())
                .collect();
            assert_eq!(counts, wanted, "{period}: {}", text(&row[0]));
        }

        let departments = summary_table(&bytes, "單位");
        let expected = board["departments"].as_array().unwrap();
        assert_eq!(departments.len(), expected.len());
        for (row, department) in departments.iter().zip(expected) {
            assert_eq!(text(&row[0]), department["department"]["name"]);
            let counts: Vec<i64> = row[1..=5].iter().map(count).collect();
            let wanted: Vec<i64> = [
                "led",
                "reportedThisPeriod",
                "late",
                "overdue",
                "awaitingReview",
            ]
            .iter()
            .map(|field| department[field].as_i64().unwrap())
            .collect();
            assert_eq!(counts, wanted, "{period}: {}", text(&row[0]));
        }
        let statistics_row = departments
            .iter()
            .find(|row| text(&row[0]) == "市統計局")
            .unwrap();
        let reported = if period == "2022-Q2" { 1 } else { 0 };
        assert_eq!(count(&statistics_row[2]), reported, "{period}");

        let words = [
            ("MET", "達標"),
            ("NOT_MET", "未達標"),
            ("NO_DATA", "未填報"),
            ("TARGET_NOT_SET", "目標未定"),
        ];
        let indicators = summary_table(&bytes, "狀態");
        for status in board["indicatorsByStatus"].as_array().unwrap() {
            let word = words
                .iter()
                .find(|(code, _)| status["status"] == *code)
                .map(|(_, word)| *word)
                .unwrap();
            let row = indicators.iter().find(|row| text(&row[0]) == word).unwrap();
            assert_eq!(count(&row[1]), status["count"].as_i64().unwrap(), "{word}");
        }
    }

    // Native charts beside the tables: tasks by status per section, departments' reporting.
    let bytes = export_with(&app, &leadership, "?period=2022-Q2").await;
    let rels = part(&bytes, "xl/worksheets/_rels/sheet1.xml.rels");
    assert!(rels.contains("drawings/drawing1.xml"), "{rels}");
    let drawing = part(&bytes, "xl/drawings/_rels/drawing1.xml.rels");
    assert!(drawing.contains("charts/chart1.xml") && drawing.contains("charts/chart2.xml"));
    let sections = part(&bytes, "xl/charts/chart1.xml");
    assert!(
        sections.contains("<c:barChart>") && sections.contains(r#"<c:grouping val="stacked"/>"#)
    );
    assert!(sections.contains("各章節任務狀態") && sections.contains("<c:f>概覽!$A$"));
    let departments = part(&bytes, "xl/charts/chart2.xml");
    assert!(departments.contains("各單位報送情況（2022-Q2）"));
    assert!(departments.contains("市統計局"));
}
both!(the_summary_sheet_counts_the_period_asked_as_the_dashboard_does);

async fn no_cell_meant_for_people_holds_a_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let statistics = app.token_for(Role::Department, Some("statistics")).await;
    let task_3 = global_id(
        NodeKind::Task,
        task::Entity::find()
            .filter(task::Column::Code.eq("3"))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .id,
    );
    let report = draft_report(&app, &statistics, &task_3, "2022-Q2", "BLOCKED").await;
    submitted(&app, &statistics, &report).await;
    let codes = enum_codes(&app, &leadership).await;

    let bytes = export(&app, &leadership).await;
    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(&bytes)).unwrap();
    let mut checked = 0;
    for name in workbook.sheet_names() {
        let range = workbook.worksheet_range(&name).unwrap();
        let rows: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
        // The id column is what the import matches rows by: the one code kept on purpose.
        let id_column = rows.iter().find_map(|row| {
            row.iter()
                .position(|cell| *cell == Data::String("指標ID".into()))
        });
        for row in &rows {
            for (index, cell) in row.iter().enumerate() {
                if Some(index) == id_column {
                    continue;
                }
                if let Data::String(value) = cell {
                    checked += 1;
                    assert!(
                        !looks_like_a_code(value, &codes),
                        "{name} shows the code {value}"
                    );
                }
            }
        }
    }
    assert!(checked > 500, "only {checked} cells were read");
    // The words are there instead.
    let (_, ledger) = table(&bytes, "工作台賬", "章節序號");
    let row = ledger.iter().find(|row| text(&row[2]) == "3").unwrap();
    assert_eq!(
        (text(&row[7]), text(&row[8])),
        ("受阻".into(), "待審核".into())
    );
    assert!(
        ["按時", "遲報"].contains(&text(&row[9]).as_str()),
        "{:?}",
        row[9]
    );

    let csv = app.get(Some(&leadership), "/export/plan.csv").await;
    let body = csv.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.trim_start_matches('\u{feff}').as_bytes());
    for record in reader.records() {
        for field in record.unwrap().iter() {
            assert!(
                !looks_like_a_code(field, &codes),
                "the CSV shows the code {field}"
            );
        }
    }
}
both!(no_cell_meant_for_people_holds_a_code);

/// The fill colour of the conditional format whose rule compares with `formula`, on the
/// cells `sqref` of a sheet.
fn conditional_fill(sheet_xml: &str, styles_xml: &str, sqref: &str, formula: &str) -> String {
    let block_start = sheet_xml
        .find(&format!(r#"<conditionalFormatting sqref="{sqref}">"#))
        .unwrap_or_else(|| panic!("no conditional format on {sqref}"));
    let block = &sheet_xml[block_start..];
    let block = &block[..block.find("</conditionalFormatting>").unwrap()];
    let rule = block
        .split("<cfRule ")
        .find(|rule| rule.contains(&format!("<formula>{formula}</formula>")))
        .unwrap_or_else(|| panic!("no rule for {formula} on {sqref}"));
    let dxf: usize = rule
        .split(r#"dxfId=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .parse()
        .unwrap();
    let dxfs = styles_xml.split("<dxf>").nth(dxf + 1).unwrap();
    dxfs.split(r#"<bgColor rgb=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned()
}

async fn overdue_and_late_are_red_awaiting_review_amber_and_met_green(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let bytes = export(&app, &leadership).await;
    let styles = part(&bytes, "xl/styles.xml");
    let (header, ledger) = table(&bytes, "工作台賬", "章節序號");
    let last = ledger.len() + 3;
    let letter = |name: &str| char::from(b'A' + column(&header, name) as u8);
    let range = |name: &str| format!("{0}4:{0}{last}", letter(name));
    let sheet = part(&bytes, "xl/worksheets/sheet2.xml");
    const RED: &str = "FFFFC7CE";
    const AMBER: &str = "FFFFEB9C";
    const GREEN: &str = "FFC6EFCE";
    for (name, formula, colour) in [
        ("任務狀態", r#""逾期""#, RED),
        ("報送", r#""遲報""#, RED),
        ("審核狀態", r#""待審核""#, AMBER),
        ("待審核數", "0", AMBER),
    ] {
        assert_eq!(
            conditional_fill(&sheet, &styles, &range(name), formula),
            colour,
            "{name}"
        );
    }
    // The seeded plan's year is over: the red rule has cells to colour.
    let status = column(&header, "任務狀態");
    assert!(ledger.iter().any(|row| text(&row[status]) == "逾期"));

    let (header, indicators) = table(&bytes, "指標", "任務編號");
    let letter = char::from(b'A' + column(&header, "狀態") as u8);
    let sheet = part(&bytes, "xl/worksheets/sheet3.xml");
    let range = format!("{letter}4:{letter}{}", indicators.len() + 3);
    assert_eq!(
        conditional_fill(&sheet, &styles, &range, r#""達標""#),
        GREEN
    );
}
both!(overdue_and_late_are_red_awaiting_review_amber_and_met_green);

async fn bad_export_parameters_are_refused_with_a_message(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let portal = app.token_for(Role::Portal, None).await;
    let cases = [
        "/export/plan.xlsx?period=2022-Q9",
        "/export/plan.xlsx?period=1999-Q2",
        "/export/plan.xlsx?period=last%20quarter",
        "/export/plan.xlsx?paper=Letter",
        "/export/plan.csv?period=2022-13",
    ];
    for path in cases {
        let response = app.get(Some(&leadership), path).await;
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "BAD_USER_INPUT", "{path}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{path}"
        );
    }
    // The parameters change nothing about who may export.
    let path = "/export/plan.xlsx?period=2022-Q2&paper=A3";
    assert_eq!(app.get(Some(&portal), path).await.status(), 403);
    assert_eq!(app.get(None, path).await.status(), 401);
    assert_eq!(app.get(Some(&leadership), path).await.status(), 200);
}
both!(bad_export_parameters_are_refused_with_a_message);

async fn an_indicator_sheet_without_the_title_block_imports_too(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let exported = export(&app, &finance).await;
    let filled = fill_in(
        &exported,
        vec![(
            0,
            vec![
                ("填報期間", typed("2022-Q2")),
                ("填報值", Fill::Number(85.0)),
            ],
        )],
        vec![],
    );
    // The same sheet with the rows above the header taken out, as a department might.
    let rows = sheet(&filled, "指標");
    let header = header_index(&rows, "任務編號");
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let worksheet = workbook.add_worksheet();
    worksheet.set_name("指標").unwrap();
    for (r, row) in rows[header..].iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            match cell {
                Data::String(value) => {
                    worksheet.write_string(r as u32, c as u16, value).unwrap();
                }
                Data::Float(value) => {
                    worksheet.write_number(r as u32, c as u16, *value).unwrap();
                }
                _ => {}
            }
        }
    }
    let (status, report) = import(
        &app,
        Some(&finance),
        "?dryRun=true",
        workbook.save_to_buffer().unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["summary"]["create"], 1);
    assert_eq!(report["rows"][0]["row"], 2);
}
both!(an_indicator_sheet_without_the_title_block_imports_too);
async fn an_imported_value_outside_its_indicators_range_is_a_row_error(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let finance = app.token_for(Role::Department, Some("finance")).await;
    let exported = export(&app, &finance).await;
    // Task 36's indicator is a share of purchases: 0 to 100 %.
    for value in [1e308, -1.0, 100.5] {
        let workbook = fill_in(
            &exported,
            vec![(
                0,
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

/// An indicator answered by two departments has one value a period: the second department
/// revises, through the spreadsheet, the value the first drafted, rather than being refused
/// for a value it cannot see.
async fn a_partner_department_imports_a_revision_of_a_shared_value(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ecology = app
        .token_for(Role::Department, Some("ecology-environment"))
        .await;
    let water = app
        .token_for(Role::Department, Some("water-resources"))
        .await;
    let shared = app.indicator_id("9", 0).await;
    let drafted = crate::steps::draft_value(&app, &ecology, &shared, "2022-Q2", 80.0).await;

    let exported = export(&app, &water).await;
    let workbook = fill_in(
        &exported,
        vec![],
        vec![vec![
            ("任務編號", typed("9")),
            ("指標名稱", typed("國省控斷面水質達到或優於Ⅲ類比例")),
            ("填報期間", typed("2022-Q2")),
            ("填報值", Fill::Number(85.5)),
        ]],
    );
    let (status, report) = import(&app, Some(&water), "?dryRun=false", workbook).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["applied"], true, "{report}");
    assert_eq!(report["summary"]["update"], 1, "{report}");
    assert_eq!(value_count(&app).await, 1);

    let seen = app
        .graphql_as(
            &ecology,
            "query($id: ID!) { node(id: $id) { ... on IndicatorValue { value version department { code } } } }",
            json!({ "id": drafted.id }),
        )
        .await;
    let value = &data(&seen)["node"];
    assert_eq!(value["value"], 85.5);
    assert_eq!(value["version"], 2);
    assert_eq!(value["department"]["code"], "ecology-environment");
}
both!(a_partner_department_imports_a_revision_of_a_shared_value);
