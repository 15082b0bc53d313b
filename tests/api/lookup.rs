//! Finding departments, tasks and indicators: by name in either script, by code, by
//! filter, and a page at a time.

use ecoplan::id::NodeKind;
use ecoplan::service::policy::Role;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, all_task_codes, both, data, edge_codes, global_id, strings,
};

async fn a_department_is_found_by_any_of_its_names_in_either_script(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;

    let response = app
        .graphql_as(
            &token,
            r#"{ alias: department(name: "市住建局") { code name }
                 simplifiedFull: department(name: "市住房和城乡建设局") { code }
                 traditionalFull: department(name: "市住房和城鄉建設局") { code }
                 simplifiedAlias: department(name: "市城管执法局") { code name }
                 finance: department(name: "市财政局") { code name }
                 byCode: department(code: "finance") { name }
                 unknown: department(name: "市宇宙局") { code } }"#,
            json!({}),
        )
        .await;

    let data = data(&response);
    assert_eq!(
        data["alias"],
        json!({ "code": "housing-construction", "name": "市住房和城鄉建設局" })
    );
    assert_eq!(data["simplifiedFull"]["code"], "housing-construction");
    assert_eq!(data["traditionalFull"]["code"], "housing-construction");
    assert_eq!(
        data["simplifiedAlias"],
        json!({ "code": "urban-management", "name": "市城市管理綜合行政執法局" })
    );
    assert_eq!(data["finance"]["code"], "finance");
    assert_eq!(data["byCode"]["name"], "市財政局");
    assert_eq!(data["unknown"], Value::Null);
}
both!(a_department_is_found_by_any_of_its_names_in_either_script);

async fn a_search_in_simplified_characters_finds_the_traditional_text(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;

    let response = app
        .graphql_as(
            &token,
            r#"{ forest: tasks(filter: { search: "林草覆盖率" }) { totalCount edges { node { code } } }
                 words: tasks(filter: { search: "河湖长制 流域长" }) { edges { node { code } } }
                 nothing: tasks(filter: { search: "月球基地" }) { totalCount }
                 ei: indicators(filter: { search: "生态环境状况指数" }) { totalCount edges { node { name } } }
                 percent: indicators(filter: { search: "100%" }) { edges { node { name } } }
                 wildcard: indicators(filter: { search: "1%0" }) { totalCount } }"#,
            json!({}),
        )
        .await;

    let data = data(&response);
    assert_eq!(data["forest"]["totalCount"], 1);
    assert_eq!(edge_codes(&data["forest"]), strings(&["12"]));
    // Every word must appear: task 2 quotes its part 2.3.
    assert_eq!(edge_codes(&data["words"]), strings(&["2", "2.3"]));
    assert_eq!(data["nothing"]["totalCount"], 0);
    assert_eq!(data["ei"]["totalCount"], 1);
    assert_eq!(
        data["ei"]["edges"][0]["node"]["name"],
        "生態環境狀況指數(EI)"
    );
    let names: Vec<&str> = data["percent"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| edge["node"]["name"].as_str().expect("a name"))
        .collect();
    assert!(names.contains(&"危險廢物利用處置率"), "{names:?}");
    assert!(!names.contains(&"林草覆蓋率"), "{names:?}");
    // `%` is a character to find, not a wildcard that would match `100`.
    assert_eq!(data["wildcard"]["totalCount"], 0);
}
both!(a_search_in_simplified_characters_finds_the_traditional_text);

async fn a_task_is_found_by_its_code_or_its_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;
    let id = app.task_id("2.3").await;

    let response = app
        .graphql_as(
            &token,
            r#"query($id: ID!) {
                 byCode: task(code: "2.3") { id code title parent { code } }
                 byId: task(id: $id) { code }
                 asNode: node(id: $id) { __typename ... on Task { code } } }"#,
            json!({ "id": id }),
        )
        .await;

    let data = data(&response);
    assert_eq!(data["byCode"]["id"], id.as_str());
    assert_eq!(data["byCode"]["title"], "創先建立流域長制度");
    assert_eq!(data["byCode"]["parent"]["code"], "2");
    assert_eq!(data["byId"]["code"], "2.3");
    assert_eq!(
        data["asNode"],
        json!({ "__typename": "Task", "code": "2.3" })
    );
}
both!(a_task_is_found_by_its_code_or_its_id);

async fn tasks_are_filtered_by_section_department_and_level_together(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;
    let finance = global_id(NodeKind::Department, app.department_id("finance").await);

    let response = app
        .graphql_as(
            &token,
            r#"query($finance: ID!) {
                 section3: tasks(filter: { section: 3 }) { totalCount edges { node { code } } }
                 section1Top: tasks(filter: { section: 1, topLevelOnly: true }) { edges { node { code } } }
                 financeByCode: tasks(filter: { departmentCode: "finance" }) { edges { node { code } } }
                 financeById: tasks(filter: { departmentId: $finance }) { edges { node { code } } }
                 audit: tasks(filter: { departmentCode: "audit" }) { edges { node { code } } }
                 water1: tasks(filter: { section: 1, departmentCode: "water-resources" }) { edges { node { code } } }
                 water1Top: tasks(filter: { section: 1, departmentCode: "water-resources", topLevelOnly: true }) { totalCount edges { node { code } } }
                 waterSearch: tasks(filter: { departmentCode: "water-resources", search: "节约用水" }) { edges { node { code } } }
                 section9: tasks(filter: { section: 9 }) { totalCount }
                 financeIndicators: indicators(filter: { departmentCode: "finance" }) { edges { node { name } } }
                 qualitative: indicators(filter: { targetKind: QUALITATIVE, departmentCode: "urban-management" }) { edges { node { name } } } }"#,
            json!({ "finance": finance }),
        )
        .await;

    let data = data(&response);
    assert_eq!(data["section3"]["totalCount"], 3);
    assert_eq!(edge_codes(&data["section3"]), strings(&["17", "18", "19"]));
    assert_eq!(
        edge_codes(&data["section1Top"]),
        strings(&["1", "2", "3", "4", "5", "6", "7"])
    );
    assert_eq!(edge_codes(&data["financeByCode"]), strings(&["36"]));
    assert_eq!(edge_codes(&data["financeById"]), strings(&["36"]));
    assert_eq!(edge_codes(&data["audit"]), strings(&["2", "2.1"]));
    assert_eq!(
        edge_codes(&data["water1"]),
        strings(&["2", "2.3", "5", "5.2"])
    );
    assert_eq!(data["water1Top"]["totalCount"], 2);
    assert_eq!(edge_codes(&data["water1Top"]), strings(&["2", "5"]));
    assert_eq!(edge_codes(&data["waterSearch"]), strings(&["21"]));
    assert_eq!(data["section9"]["totalCount"], 0);
    assert_eq!(
        data["financeIndicators"]["edges"],
        json!([{ "node": { "name": "綠色產品政府採購比例" } }])
    );
    let qualitative: Vec<&str> = data["qualitative"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| edge["node"]["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(qualitative, ["劣Ⅴ類和黑臭水體", "城市綠地服務範圍"]);
}
both!(tasks_are_filtered_by_section_department_and_level_together);

const PAGE: &str = r#"query($first: Int, $after: String, $last: Int, $before: String) {
    tasks(first: $first, after: $after, last: $last, before: $before) {
        totalCount
        pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
        edges { cursor node { code } } } }"#;

async fn pages_of_tasks_walk_the_whole_plan_with_stable_cursors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;

    let mut walked: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let response = app
            .graphql_as(&token, PAGE, json!({ "first": 10, "after": after }))
            .await;
        let tasks = &data(&response)["tasks"];
        assert_eq!(tasks["totalCount"], 43);
        let page_info = &tasks["pageInfo"];
        assert_eq!(page_info["hasPreviousPage"], after.is_some());
        let edges = tasks["edges"].as_array().expect("edges");
        assert_eq!(page_info["startCursor"], edges[0]["cursor"]);
        assert_eq!(page_info["endCursor"], edges[edges.len() - 1]["cursor"]);

        // Asking for the same page again gives the same tasks and cursors.
        let again = app
            .graphql_as(&token, PAGE, json!({ "first": 10, "after": after }))
            .await;
        assert_eq!(data(&again)["tasks"]["edges"], tasks["edges"]);

        walked.extend(edge_codes(tasks));
        pages += 1;
        if page_info["hasNextPage"] == false {
            break;
        }
        assert!(pages < 10, "the pages never end");
        after = page_info["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(pages, 5);
    assert_eq!(walked, all_task_codes());
}
both!(pages_of_tasks_walk_the_whole_plan_with_stable_cursors);

async fn pages_of_tasks_can_be_read_backwards(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(Role::Leadership, None).await;

    let response = app.graphql_as(&token, PAGE, json!({ "last": 5 })).await;
    let tasks = &data(&response)["tasks"];
    assert_eq!(tasks["totalCount"], 43);
    assert_eq!(edge_codes(tasks), strings(&["34", "35", "36", "37", "38"]));
    assert_eq!(tasks["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(tasks["pageInfo"]["hasNextPage"], false);

    // The cursor of task 3 (the sixth item), then the three before it.
    let first_six = app.graphql_as(&token, PAGE, json!({ "first": 6 })).await;
    let cursor_of_3 = data(&first_six)["tasks"]["edges"][5]["cursor"].clone();
    assert_eq!(data(&first_six)["tasks"]["edges"][5]["node"]["code"], "3");

    let response = app
        .graphql_as(&token, PAGE, json!({ "last": 3, "before": cursor_of_3 }))
        .await;
    let tasks = &data(&response)["tasks"];
    assert_eq!(edge_codes(tasks), strings(&["2.1", "2.2", "2.3"]));
    assert_eq!(tasks["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(tasks["pageInfo"]["hasNextPage"], true);

    let response = app
        .graphql_as(&token, PAGE, json!({ "last": 10, "before": cursor_of_3 }))
        .await;
    let tasks = &data(&response)["tasks"];
    assert_eq!(edge_codes(tasks), strings(&["1", "2", "2.1", "2.2", "2.3"]));
    assert_eq!(tasks["pageInfo"]["hasPreviousPage"], false);
}
both!(pages_of_tasks_can_be_read_backwards);

/// The lookups whose arguments say what is required: one field for each key, its key
/// required, answering what the deprecated all-optional forms answer, within the same
/// rules of what the caller may see.
async fn each_key_has_its_own_lookup_with_its_argument_required(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leadership = app.token_for(Role::Leadership, None).await;
    let audit = app.token_for(Role::Department, Some("audit")).await;
    let task = app.task_id("2.3").await;
    let finance_task = app.task_id("36").await;
    let finance = global_id(NodeKind::Department, app.department_id("finance").await);
    let lookups = r#"query($task: ID!, $financeTask: ID!, $finance: ID!) {
        byId: taskById(id: $task) { code title }
        byCode: taskByCode(code: "2.3") { id code }
        financeTask: taskByCode(code: "36") { code }
        financeTaskById: taskById(id: $financeTask) { code }
        missing: taskByCode(code: "99") { code }
        departmentById: departmentById(id: $finance) { code }
        departmentByCode: departmentByCode(code: "finance") { name }
        departmentByName: departmentByName(name: "市财政局") { code }
        unknownDepartment: departmentByName(name: "市宇宙局") { code } }"#;
    let variables = json!({ "task": task, "financeTask": finance_task, "finance": finance });

    let answer = app
        .graphql_as(&leadership, lookups, variables.clone())
        .await;
    let found = data(&answer);
    assert_eq!(
        found["byId"],
        json!({ "code": "2.3", "title": "創先建立流域長制度" })
    );
    assert_eq!(found["byCode"], json!({ "id": task, "code": "2.3" }));
    assert_eq!(found["financeTask"]["code"], "36");
    assert_eq!(found["financeTaskById"]["code"], "36");
    assert_eq!(found["missing"], Value::Null);
    assert_eq!(found["departmentById"]["code"], "finance");
    assert_eq!(found["departmentByCode"]["name"], "市財政局");
    assert_eq!(found["departmentByName"]["code"], "finance");
    assert_eq!(found["unknownDepartment"], Value::Null);

    // Another department does not see finance's task, by either key.
    let answer = app.graphql_as(&audit, lookups, variables).await;
    let found = data(&answer);
    assert_eq!(found["financeTask"], Value::Null, "{answer}");
    assert_eq!(found["financeTaskById"], Value::Null, "{answer}");
    assert_eq!(found["departmentByCode"]["name"], "市財政局");

    // The key is required by the schema, so a client cannot leave it out.
    for missing_key in ["{ taskByCode { code } }", "{ departmentByName { code } }"] {
        let refused = app.graphql_as(&leadership, missing_key, json!({})).await;
        assert!(refused.get("data").is_none(), "{refused}");
        assert!(
            !refused["errors"].as_array().unwrap().is_empty(),
            "{refused}"
        );
    }
    // An id of another kind is bad input, not a lookup.
    let wrong_kind = app
        .graphql_as(
            &leadership,
            "query($id: ID!) { taskById(id: $id) { code } }",
            json!({ "id": finance }),
        )
        .await;
    crate::helpers::assert_error_code(&wrong_kind, "BAD_USER_INPUT");
}
both!(each_key_has_its_own_lookup_with_its_argument_required);
