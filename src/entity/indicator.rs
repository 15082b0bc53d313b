//! The `indicator` table: the measures of a task, their kind of target, value,
//! unit, direction, valid range, and the latest and previous approved values kept on write.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "indicator")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub plan_id: i64,
    pub task_id: i64,
    pub position: i32,
    pub name: String,
    pub unit: Option<String>,
    pub target_kind: String,
    pub target_value: Option<f64>,
    pub target_text: String,
    pub better: String,
    pub search_text: String,
    /// The newest approved value, kept by the review workflow.
    pub latest_approved_value_id: Option<i64>,
    /// The approved value before it, which direction-only targets compare with.
    pub previous_approved_value_id: Option<i64>,
    /// The smallest value the indicator can take, if it has a bound below.
    pub valid_min: Option<f64>,
    /// The largest value the indicator can take, if it has a bound above.
    pub valid_max: Option<f64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
