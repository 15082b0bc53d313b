//! Relay global object ids: opaque strings that name a type and a row.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::error::{AppError, AppResult};

/// The kinds of object that have a global id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Plan,
    Section,
    Department,
    Task,
    Indicator,
    User,
    ProgressReport,
    IndicatorValue,
    Evidence,
    AuditEntry,
    Notification,
    WebhookDelivery,
}

impl NodeKind {
    const ALL: [NodeKind; 12] = [
        NodeKind::Plan,
        NodeKind::Section,
        NodeKind::Department,
        NodeKind::Task,
        NodeKind::Indicator,
        NodeKind::User,
        NodeKind::ProgressReport,
        NodeKind::IndicatorValue,
        NodeKind::Evidence,
        NodeKind::AuditEntry,
        NodeKind::Notification,
        NodeKind::WebhookDelivery,
    ];

    pub fn name(self) -> &'static str {
        match self {
            NodeKind::Plan => "Plan",
            NodeKind::Section => "Section",
            NodeKind::Department => "Department",
            NodeKind::Task => "Task",
            NodeKind::Indicator => "Indicator",
            NodeKind::User => "User",
            NodeKind::ProgressReport => "ProgressReport",
            NodeKind::IndicatorValue => "IndicatorValue",
            NodeKind::Evidence => "Evidence",
            NodeKind::AuditEntry => "AuditEntry",
            NodeKind::Notification => "Notification",
            NodeKind::WebhookDelivery => "WebhookDelivery",
        }
    }
}

/// A decoded global id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeId {
    pub kind: NodeKind,
    pub id: i64,
}

impl NodeId {
    pub fn new(kind: NodeKind, id: i64) -> Self {
        Self { kind, id }
    }

    pub fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.kind.name(), self.id))
    }

    /// Decodes any global id; a malformed one is the caller's mistake.
    pub fn decode(raw: &str) -> AppResult<Self> {
        let invalid = || AppError::bad_input(format!("`{}` is not a valid id", truncate(raw)));
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (kind, id) = text.split_once(':').ok_or_else(invalid)?;
        let kind = NodeKind::ALL
            .into_iter()
            .find(|k| k.name() == kind)
            .ok_or_else(invalid)?;
        let id = id.parse::<i64>().map_err(|_| invalid())?;
        Ok(Self { kind, id })
    }

    /// Decodes an id that must name an object of `kind`.
    pub fn decode_as(raw: &str, kind: NodeKind) -> AppResult<i64> {
        let node = Self::decode(raw)?;
        if node.kind != kind {
            return Err(AppError::bad_input(format!(
                "`{}` is the id of a {}, not of a {}",
                truncate(raw),
                node.kind.name(),
                kind.name()
            )));
        }
        Ok(node.id)
    }
}

/// Keeps error messages short when a caller sends something huge.
pub fn truncate(raw: &str) -> String {
    const LIMIT: usize = 64;
    if raw.chars().count() <= LIMIT {
        raw.to_owned()
    } else {
        format!("{}…", raw.chars().take(LIMIT).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let id = NodeId::new(NodeKind::Task, 42);
        assert_eq!(NodeId::decode(&id.encode()).ok(), Some(id));
    }

    #[test]
    fn ids_of_another_kind_are_refused() {
        let id = NodeId::new(NodeKind::Plan, 1).encode();
        assert!(NodeId::decode_as(&id, NodeKind::Task).is_err());
        assert!(NodeId::decode("not an id").is_err());
        assert!(NodeId::decode(&URL_SAFE_NO_PAD.encode("Task:x")).is_err());
    }
}
