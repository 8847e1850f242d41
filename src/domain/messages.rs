//! What an outbox message is about and where it stands.

use serde::{Deserialize, Serialize, Serializer};

use super::workflow::Action;

vocabulary!(
    /// Where a message stands: `sending` is claimed by a sender that has not yet
    /// recorded the outcome (a crash leaves it for the next pass to retry).
    MessageStatus {
        Pending = "pending",
        Sending = "sending",
        Sent = "sent",
        Dead = "dead",
    }
);

/// What a message tells its recipient: that a workflow step was taken, that a
/// clock is running out, or that one ran out.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum MessageKind {
    Step(Action),
    Reminder,
    DeadlineMissed,
    /// About the recipient's own account: an invitation, a reset link, a
    /// new colleague, a security change.
    Account,
    /// A delivery to an organisation's webhook (`domain::webhooks`).
    Webhook,
    /// A signed checkpoint of the audit trail, for an auditor to keep
    /// (`domain::anchor`).
    AuditCheckpoint,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Step(action) => action.as_str(),
            MessageKind::Reminder => "reminder",
            MessageKind::DeadlineMissed => "deadline_missed",
            MessageKind::Account => "account",
            MessageKind::Webhook => "webhook",
            MessageKind::AuditCheckpoint => "audit_checkpoint",
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "reminder" => Ok(MessageKind::Reminder),
            "deadline_missed" => Ok(MessageKind::DeadlineMissed),
            "account" => Ok(MessageKind::Account),
            "webhook" => Ok(MessageKind::Webhook),
            "audit_checkpoint" => Ok(MessageKind::AuditCheckpoint),
            step => Action::parse(step).map(MessageKind::Step).map_err(|_| {
                format!(
                    "`{text}` is not a message kind: reminder, deadline_missed, account, webhook, audit_checkpoint or a workflow step"
                )
            }),
        }
    }

    /// Clock messages to one address in one pass travel together as a digest;
    /// a step's message goes out on its own.
    pub fn is_digestible(self) -> bool {
        matches!(self, MessageKind::Reminder | MessageKind::DeadlineMissed)
    }
}

impl Serialize for MessageKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl utoipa::PartialSchema for MessageKind {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let mut names = vec!["reminder", "deadline_missed", "account", "webhook"];
        names.extend(Action::ALL.iter().map(|a| a.as_str()));
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(names))
            .into()
    }
}

impl utoipa::ToSchema for MessageKind {}

text_column!(MessageKind);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_as_itself() {
        let mut all = vec![
            MessageKind::Reminder,
            MessageKind::DeadlineMissed,
            MessageKind::Account,
            MessageKind::Webhook,
            MessageKind::AuditCheckpoint,
        ];
        all.extend(Action::ALL.iter().map(|a| MessageKind::Step(*a)));
        for kind in all {
            assert_eq!(MessageKind::parse(kind.as_str()), Ok(kind));
        }
        assert!(MessageKind::parse("newsletter").is_err());
    }

    #[test]
    fn only_clock_messages_are_digested() {
        assert!(MessageKind::Reminder.is_digestible());
        assert!(MessageKind::DeadlineMissed.is_digestible());
        assert!(!MessageKind::Step(Action::Transmit).is_digestible());
        assert!(!MessageKind::Account.is_digestible());
        assert!(!MessageKind::Webhook.is_digestible());
    }
}
