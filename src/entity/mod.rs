//! sea-orm models of the tables; rows never leave the service layer as API types.

pub mod department;
pub mod department_alias;
pub mod indicator;
pub mod indicator_milestone;
pub mod indicator_responsible;
pub mod login_throttle;
pub mod plan;
pub mod plan_goal;
pub mod section;
pub mod task;
pub mod task_lead;
pub mod user;
