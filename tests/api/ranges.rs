//! Each indicator takes values in a range stated in the plan file: a share between 0 and
//! 100 %, a count never negative, a change rate possibly negative; and every number is
//! finite and of bounded magnitude.

use ecoplan::entity::{department, indicator, indicator_responsible};
use ecoplan::id::{NodeId, NodeKind};
use ecoplan::service::policy::Role;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use crate::helpers::{Backend, TestApp, assert_error_code, both, data};
use crate::steps::{save_value, value_input};

/// The global id of a task's indicator and a token of a department responsible for it.
async fn reporter(app: &TestApp, task: &str, place: usize) -> (String, String) {
    let id = app.indicator_id(task, place).await;
    let row = NodeId::decode_as(&id, NodeKind::Indicator).unwrap();
    let responsible = indicator_responsible::Entity::find()
        .filter(indicator_responsible::Column::IndicatorId.eq(row))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the indicator has a responsible department");
    let code = department::Entity::find_by_id(responsible.department_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .code;
    let token = app.token_for(Role::Department, Some(&code)).await;
    (id, token)
}

async fn save(app: &TestApp, token: &str, indicator: &str, period: &str, value: f64) -> Value {
    save_value(app, token, None, value_input(indicator, period, value)).await
}

#[track_caller]
fn assert_out_of_range(response: &Value, range: &str) {
    assert_error_code(response, "BAD_USER_INPUT");
    assert_eq!(
        response["errors"][0]["extensions"]["field"], "input.value",
        "{response:#}"
    );
    let message = response["errors"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains(range), "{message}");
}

async fn a_value_outside_its_indicators_range_is_refused_naming_the_range(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    // 規劃環評執行率: a rate with a 100 % target.
    let (rate, token) = reporter(&app, "5.2", 0).await;
    for value in [1e308, -1.0, 100.01] {
        let response = save(&app, &token, &rate, "2022-Q1", value).await;
        assert_out_of_range(&response, "from 0 to 100 %");
    }
    data(&save(&app, &token, &rate, "2022-Q1", 100.0).await);
    data(&save(&app, &token, &rate, "2022-Q2", 0.0).await);

    // 生態文明專題培訓次數: a count, never negative, bounded only by the default.
    let (count, token) = reporter(&app, "37", 0).await;
    let response = save(&app, &token, &count, "2022-Q1", -1.0).await;
    assert_out_of_range(&response, "from 0 to 1000000000000");
    let response = save(&app, &token, &count, "2022-Q1", 1e13).await;
    assert_out_of_range(&response, "from 0 to 1000000000000");
    data(&save(&app, &token, &count, "2022-Q1", 3.0).await);

    // 單位國內生產總值建設用地使用面積下降率: a change rate, negative when it rose.
    let (change, token) = reporter(&app, "22", 0).await;
    data(&save(&app, &token, &change, "2022-Q1", -5.0).await);
    let response = save(&app, &token, &change, "2022-Q2", 101.0).await;
    assert_out_of_range(&response, "from -1000000000000 to 100 %");
}
both!(a_value_outside_its_indicators_range_is_refused_naming_the_range);

async fn a_plan_loaded_before_its_ranges_gets_them_at_the_next_start(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.db
        .execute_unprepared("UPDATE indicator SET valid_min = NULL, valid_max = NULL")
        .await
        .unwrap();

    let restarted = app.spawn_second_server().await;

    let ranges: Vec<(Option<f64>, Option<f64>)> = indicator::Entity::find()
        .all(&restarted.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|row| row.name == "規劃環評執行率" || row.name == "生態文明專題培訓次數")
        .map(|row| (row.valid_min, row.valid_max))
        .collect();
    assert_eq!(ranges, [(Some(0.0), Some(100.0)), (Some(0.0), None)]);
}
both!(a_plan_loaded_before_its_ranges_gets_them_at_the_next_start);
