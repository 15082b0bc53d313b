//! sea-orm models of the tables; rows never leave the service layer as API types.

pub mod audit_log;
pub mod data_revision;
pub mod department;
pub mod department_alias;
pub mod evidence;
pub mod external_target;
pub mod indicator;
pub mod indicator_milestone;
pub mod indicator_responsible;
pub mod indicator_value;
pub mod login_throttle;
pub mod notification;
pub mod outbox_event;
pub mod plan;
pub mod plan_goal;
pub mod progress_report;
pub mod reporting_period;
pub mod section;
pub mod task;
pub mod task_lead;
pub mod user;
pub mod webhook_delivery;
