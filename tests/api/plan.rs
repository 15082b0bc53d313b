//! The 2022 work plan as data: sections, tasks, lead departments and indicators, as the
//! document gives them.

use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, all_task_codes, both, codes, data, edge_codes, strings};

async fn the_plan_has_six_sections_in_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;

    let response = app
        .graphql_as(
            &token,
            "{ plan { key year title sections { number title } } }",
            json!({}),
        )
        .await;

    let plan = &data(&response)["plan"];
    assert_eq!(plan["key"], "tangshan-2022");
    assert_eq!(plan["year"], 2022);
    assert_eq!(
        plan["title"],
        "唐山市創建國家生態文明建設示範市2022年度工作方案"
    );
    let sections: Vec<(i64, String)> = plan["sections"]
        .as_array()
        .expect("a list of sections")
        .iter()
        .map(|s| {
            (
                s["number"].as_i64().expect("a number"),
                s["title"].as_str().expect("a title").to_owned(),
            )
        })
        .collect();
    let expected = [
        "建立健全監管制度,構建生態制度體系",
        "持續改善環境質量,構建生態安全體系",
        "最佳化空間發展格局,構建生態空間體系",
        "加強資源節約利用,構建生態經濟體系",
        "建設良好人居環境,構建生態生活體系",
        "普及生態文明知識,構建生態文化體系",
    ];
    let expected: Vec<(i64, String)> = expected
        .iter()
        .enumerate()
        .map(|(i, title)| (i as i64 + 1, (*title).to_owned()))
        .collect();
    assert_eq!(sections, expected);
}
both!(the_plan_has_six_sections_in_order);

async fn the_plan_has_38_numbered_tasks_and_43_with_their_parts_in_document_order(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;

    let response = app
        .graphql_as(
            &token,
            "{ all: tasks(first: 100) { totalCount edges { node { code } } }
               top: tasks(filter: { topLevelOnly: true }, first: 100) { totalCount edges { node { code } } } }",
            json!({}),
        )
        .await;

    let data = data(&response);
    assert_eq!(data["all"]["totalCount"], 43);
    assert_eq!(edge_codes(&data["all"]), all_task_codes());
    assert_eq!(data["top"]["totalCount"], 38);
    let numbered: Vec<String> = (1..=38).map(|n| n.to_string()).collect();
    assert_eq!(edge_codes(&data["top"]), numbered);
}
both!(the_plan_has_38_numbered_tasks_and_43_with_their_parts_in_document_order);

async fn tasks_2_and_5_are_made_of_parts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;

    let response = app
        .graphql_as(
            &token,
            r#"{ t2: task(code: "2") { parent { code } subtasks { code parent { code } } }
                 t5: task(code: "5") { subtasks { code parent { code } } }
                 t22: task(code: "2.2") { title parent { code } section { number } }
                 t1: task(code: "1") { subtasks { code } }
                 plan { sections { number tasks { code } } } }"#,
            json!({}),
        )
        .await;

    let data = data(&response);
    assert_eq!(data["t2"]["parent"], Value::Null);
    assert_eq!(
        codes(&data["t2"]["subtasks"]),
        strings(&["2.1", "2.2", "2.3"])
    );
    assert_eq!(codes(&data["t5"]["subtasks"]), strings(&["5.1", "5.2"]));
    for part in data["t2"]["subtasks"].as_array().expect("parts") {
        assert_eq!(part["parent"]["code"], "2");
    }
    for part in data["t5"]["subtasks"].as_array().expect("parts") {
        assert_eq!(part["parent"]["code"], "5");
    }
    assert_eq!(data["t22"]["parent"]["code"], "2");
    assert_eq!(data["t22"]["section"]["number"], 1);
    assert_eq!(
        data["t22"]["title"],
        "實行生態環境保護“黨政同責”和“一崗雙責”,建立生態環境損害責任終身追究制"
    );
    assert_eq!(codes(&data["t1"]["subtasks"]), Vec::<String>::new());

    // A section lists its numbered tasks only; the parts hang under their task.
    let by_section: Vec<Vec<String>> = data["plan"]["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .map(|section| codes(&section["tasks"]))
        .collect();
    let range = |from: u32, to: u32| (from..=to).map(|n| n.to_string()).collect::<Vec<_>>();
    assert_eq!(
        by_section,
        vec![
            range(1, 7),
            range(8, 16),
            range(17, 19),
            range(20, 25),
            range(26, 36),
            range(37, 38)
        ]
    );
}
both!(tasks_2_and_5_are_made_of_parts);

async fn the_plan_names_twenty_departments_with_their_short_names_as_aliases(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;

    let response = app
        .graphql_as(&token, "{ departments { code name aliases } }", json!({}))
        .await;

    let departments = data(&response)["departments"]
        .as_array()
        .expect("a list of departments")
        .clone();
    assert_eq!(departments.len(), 20);
    let mut codes: Vec<&str> = departments
        .iter()
        .map(|d| d["code"].as_str().expect("a code"))
        .collect();
    let mut names: Vec<&str> = departments
        .iter()
        .map(|d| d["name"].as_str().expect("a name"))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    names.sort_unstable();
    names.dedup();
    assert_eq!(codes.len(), 20, "department codes are unique");
    assert_eq!(names.len(), 20, "department names are unique");

    let aliases_of = |name: &str| -> Vec<String> {
        let department = departments
            .iter()
            .find(|d| d["name"] == name)
            .unwrap_or_else(|| panic!("no department is called {name}"));
        department["aliases"]
            .as_array()
            .expect("aliases")
            .iter()
            .map(|a| a.as_str().expect("an alias").to_owned())
            .collect()
    };
    assert_eq!(aliases_of("市住房和城鄉建設局"), strings(&["市住建局"]));
    assert_eq!(
        aliases_of("市城市管理綜合行政執法局"),
        strings(&["市城管執法局"])
    );
    assert_eq!(aliases_of("市發展改革委"), strings(&["市發改委"]));
    assert_eq!(aliases_of("市工業和信息化局"), strings(&["市工信局"]));
    assert_eq!(aliases_of("市交通運輸局"), strings(&["市交通局"]));
    assert_eq!(aliases_of("市財政局"), Vec::<String>::new());
}
both!(the_plan_names_twenty_departments_with_their_short_names_as_aliases);

/// The lead department codes of a task in a response.
fn lead_codes(task: &Value) -> Vec<String> {
    task["leadDepartments"]
        .as_array()
        .unwrap_or_else(|| panic!("no lead departments in {task:#}"))
        .iter()
        .map(|d| d["code"].as_str().expect("a code").to_owned())
        .collect()
}

async fn each_task_is_led_by_the_departments_the_document_names(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;

    let response = app
        .graphql_as(
            &token,
            r#"fragment Leads on Task { leadsAsWritten leadDepartments { code name } }
               { t9: task(code: "9") { ...Leads }
                 t36: task(code: "36") { ...Leads }
                 t38: task(code: "38") { ...Leads }
                 t2: task(code: "2") { ...Leads subtasks { ...Leads } }
                 t52: task(code: "5.2") { ...Leads }
                 t20: task(code: "20") { ...Leads } }"#,
            json!({}),
        )
        .await;
    let data = data(&response);

    assert_eq!(
        lead_codes(&data["t9"]),
        strings(&["ecology-environment", "water-resources", "urban-management"])
    );
    let names: Vec<&str> = data["t9"]["leadDepartments"]
        .as_array()
        .expect("leads")
        .iter()
        .map(|d| d["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(
        names,
        ["市生態環境局", "市水利局", "市城市管理綜合行政執法局"]
    );
    assert_eq!(
        data["t9"]["leadsAsWritten"],
        "市生態環境局、市水利局、市城管執法局按職責牽頭"
    );

    assert_eq!(lead_codes(&data["t36"]), strings(&["finance"]));
    assert_eq!(
        lead_codes(&data["t38"]),
        strings(&[
            "ecology-environment",
            "publicity",
            "development-reform",
            "natural-resources",
            "water-resources",
            "education",
            "agriculture-rural",
        ])
    );

    // Task 2 has no lead of its own: it is led by whoever leads one of its parts.
    let expected_2 = strings(&[
        "audit",
        "discipline-inspection",
        "water-resources",
        "natural-resources",
        "ecology-environment",
    ]);
    assert_eq!(lead_codes(&data["t2"]), expected_2);
    let mut union: Vec<String> = Vec::new();
    for part in data["t2"]["subtasks"].as_array().expect("parts") {
        for code in lead_codes(part) {
            if !union.contains(&code) {
                union.push(code);
            }
        }
    }
    assert_eq!(union, expected_2);
    assert_eq!(data["t2"]["leadsAsWritten"], Value::Null);

    assert_eq!(
        lead_codes(&data["t52"]),
        strings(&[
            "ecology-environment",
            "development-reform",
            "industry-it",
            "natural-resources",
            "agriculture-rural",
            "transport",
            "culture-tourism",
            "water-resources",
            "housing-construction",
            "urban-management",
            "port-shipping",
        ])
    );

    // Task 20 names 市發展改革委 and 市住房和城鄉建設局 in full, not by their short names.
    assert_eq!(
        lead_codes(&data["t20"]),
        strings(&[
            "development-reform",
            "transport",
            "urban-management",
            "housing-construction",
        ])
    );
}
both!(each_task_is_led_by_the_departments_the_document_names);

const INDICATORS: &str = r#"{ indicators(first: 100) { totalCount edges { node {
    name unit better
    target { kind value text year }
    milestones { kind value text year }
    task { code leadDepartments { code } }
    responsibleDepartments { code } } } } }"#;

async fn indicators_carry_the_documents_targets(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;

    let response = app.graphql_as(&token, INDICATORS, json!({})).await;

    let connection = &data(&response)["indicators"];
    assert_eq!(connection["totalCount"], 46);
    let indicators: Vec<Value> = connection["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| edge["node"].clone())
        .collect();
    assert_eq!(indicators.len(), 46);
    let named = |name: &str| -> &Value {
        indicators
            .iter()
            .find(|i| i["name"] == name)
            .unwrap_or_else(|| panic!("no indicator is called {name}"))
    };
    // (name, task, kind, value, unit, wording)
    let expected: [(&str, &str, &str, Value, Value, &str); 11] = [
        (
            "林草覆蓋率",
            "12",
            "AT_LEAST",
            json!(18.0),
            json!("%"),
            "不低於平原地區18%目標值",
        ),
        (
            "生態環境狀況指數(EI)",
            "11",
            "AT_LEAST",
            json!(55.0),
            Value::Null,
            "不低於55",
        ),
        (
            "城鎮人均公園綠地面積",
            "31",
            "AT_LEAST",
            json!(15.0),
            json!("m²/人"),
            "達到15平方米/人",
        ),
        (
            "單位國內生產總值建設用地使用面積下降率",
            "22",
            "AT_LEAST",
            json!(4.5),
            json!("%"),
            "不低於4.5%",
        ),
        (
            "危險廢物利用處置率",
            "14",
            "AT_LEAST",
            json!(100.0),
            json!("%"),
            "達100%",
        ),
        (
            "優良天數比例",
            "8",
            "EXTERNAL",
            Value::Null,
            json!("%"),
            "完成國家及省定考核目標任務並保持穩定或持續改善",
        ),
        (
            "PM2.5濃度下降幅度",
            "8",
            "EXTERNAL",
            Value::Null,
            json!("%"),
            "完成國家及省定考核目標任務並保持穩定或持續改善",
        ),
        (
            "特有性或指示性水生物種保持率",
            "13",
            "NO_DECREASE",
            Value::Null,
            json!("%"),
            "不降低",
        ),
        (
            "一般工業固體廢物綜合利用率",
            "25",
            "IMPROVE",
            Value::Null,
            json!("%"),
            "保持穩定或持續改善",
        ),
        (
            "劣Ⅴ類和黑臭水體",
            "9",
            "QUALITATIVE",
            Value::Null,
            Value::Null,
            "全域無劣Ⅴ類和黑臭水體",
        ),
        (
            "城鎮新建綠色建築占城鎮新建建築的比例",
            "32",
            "AT_LEAST",
            json!(92.0),
            json!("%"),
            "達到92%以上",
        ),
    ];
    for (name, task, kind, value, unit, text) in expected {
        let indicator = named(name);
        assert_eq!(indicator["task"]["code"], task, "{name}");
        assert_eq!(indicator["target"]["kind"], kind, "{name}");
        assert_eq!(indicator["target"]["value"], value, "{name}");
        assert_eq!(indicator["target"]["text"], text, "{name}");
        assert_eq!(indicator["target"]["year"], Value::Null, "{name}");
        assert_eq!(indicator["unit"], unit, "{name}");
    }
    assert_eq!(named("一次性用品的使用率")["better"], "LOWER");
    assert_eq!(named("林草覆蓋率")["better"], "HIGHER");

    // Green building: 92 % this year, 100 % by 2025.
    assert_eq!(
        named("城鎮新建綠色建築占城鎮新建建築的比例")["milestones"],
        json!([{ "kind": "AT_LEAST", "value": 100.0, "text": "力爭達到100%", "year": 2025 }])
    );
    assert_eq!(named("林草覆蓋率")["milestones"], json!([]));

    // The document names no one else, so the task's leads answer for its indicators.
    for indicator in &indicators {
        assert_eq!(
            indicator["responsibleDepartments"], indicator["task"]["leadDepartments"],
            "{}",
            indicator["name"]
        );
    }
    assert_eq!(
        lead_codes(
            &json!({ "leadDepartments": named("劣Ⅴ類和黑臭水體")["responsibleDepartments"] })
        ),
        strings(&["ecology-environment", "water-resources", "urban-management"])
    );
}
both!(indicators_carry_the_documents_targets);
