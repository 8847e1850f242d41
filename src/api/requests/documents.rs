//! The documents of `/api/v1/requests`: what a request is written as, and read
//! back as, with the parsing of its fields into domain values.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use crate::domain::access::Viewer;
use crate::domain::identifiers::{self, Identifier, IdentifierIn, parse_instant};
use crate::domain::reference::{DataCategory, JurisdictionCode, RequestKind};
use crate::domain::requests::{Content, Patch};
use crate::domain::validation::{Errors, text_field};
use crate::domain::workflow::Status;
use crate::error::Error;
use crate::repo::names::{Names, Wanted};
use crate::repo::requests::RequestRow;
use crate::service::requests::Drafted;
use crate::time::UtcTime;

pub(super) const FACTS_MAX: usize = 20_000;
pub(super) const TEXT_MAX: usize = 5_000;

/// Distinguishes a field sent as `null` (clear it) from one not sent at all.
pub(crate) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "case_id": "01a2235d-d228-713b-9418-62307f7c3d99",
    "kind": "preservation",
    "legal_basis": "provider-voluntary",
    "responder_id": "01a2235d-d229-717a-9bdc-44d025c7b563",
    "data_categories": ["subscriber", "identification"],
    "identifiers": [
        {"type": "account", "value": "sunny_day_2011"},
        {"type": "ip", "value": "198.51.100.23", "port": 40112, "observed_at": "2026-11-20T21:15:03+00:00"}
    ],
    "date_from": "2026-11-01T00:00:00Z",
    "date_to": "2026-11-25T00:00:00+01:00",
    "facts": "An adult groomed a 12-year-old over chat and obtained images.",
    "necessity": "The provider deletes connection logs after 25 days.",
    "relevance": "The account sent the messages; the IP logged in when it did.",
    "follow_up_intent": true,
    "non_disclosure": true
}))]
pub struct RequestIn {
    /// The case the request belongs to; left out for a follow-up.
    #[schema(format = Uuid)]
    pub case_id: Option<String>,
    #[schema(value_type = RequestKind)]
    pub kind: String,
    /// An id from `GET /legal-bases`.
    #[schema(example = "budapest-29")]
    pub legal_basis: String,
    /// The organisation asked: a provider, or a central authority.
    #[schema(format = Uuid)]
    pub responder_id: Option<String>,
    #[schema(example = "IE")]
    pub executing_jurisdiction: Option<String>,
    #[schema(value_type = Vec<DataCategory>)]
    #[serde(default)]
    pub data_categories: Vec<String>,
    #[serde(default)]
    pub identifiers: Vec<IdentifierIn>,
    #[schema(value_type = Option<UtcTime>)]
    pub date_from: Option<String>,
    #[schema(value_type = Option<UtcTime>)]
    pub date_to: Option<String>,
    #[schema(max_length = 20000)]
    pub facts: Option<String>,
    #[schema(max_length = 5000)]
    pub necessity: Option<String>,
    #[schema(max_length = 5000)]
    pub relevance: Option<String>,
    #[schema(max_length = 5000)]
    pub custodian: Option<String>,
    #[serde(default)]
    pub follow_up_intent: bool,
    #[serde(default)]
    pub emergency: bool,
    #[schema(max_length = 5000)]
    pub emergency_justification: Option<String>,
    #[serde(default)]
    pub non_disclosure: bool,
    /// For `ncmec-2258a` only, and required there: when the provider submitted
    /// its CyberTipline report, from which the year of preservation runs.
    #[schema(value_type = Option<UtcTime>)]
    pub cybertipline_submitted_at: Option<String>,
}

/// An optional free text: blank means absent.
pub(super) fn optional_text(
    errors: &mut Errors,
    field: &str,
    text: Option<&str>,
    max: usize,
) -> Option<String> {
    match text.map(str::trim) {
        None | Some("") => None,
        Some(t) => errors.check(field, text_field(t, max)),
    }
}

pub(super) fn instant(errors: &mut Errors, field: &str, text: Option<&str>) -> Option<UtcTime> {
    text.and_then(|t| errors.check(field, parse_instant(t)))
}

pub(super) fn categories(errors: &mut Errors, list: &[String]) -> Vec<DataCategory> {
    let mut out = Vec::new();
    for (i, text) in list.iter().enumerate() {
        if let Some(c) = errors.check(&format!("data_categories[{i}]"), DataCategory::parse(text))
            && !out.contains(&c)
        {
            out.push(c);
        }
    }
    out
}

pub(super) fn jurisdiction(errors: &mut Errors, field: &str, text: &str) -> Option<String> {
    errors
        .check(field, JurisdictionCode::parse(text))
        .map(|c| c.as_str().to_owned())
}

pub(super) fn id_field(errors: &mut Errors, field: &str, text: &str) -> Option<String> {
    match uuid::Uuid::parse_str(text.trim()) {
        Ok(id) => Some(id.to_string()),
        Err(_) => {
            errors.add(field, format!("`{text}` is not an id"));
            None
        }
    }
}

impl RequestIn {
    /// Parses the body; `case_id` is returned when given.
    pub fn parse(self) -> Result<(Option<String>, Drafted), Error> {
        let mut e = Errors::new();
        let case_id = self
            .case_id
            .as_deref()
            .and_then(|c| id_field(&mut e, "case_id", c));
        let kind = e.check("kind", RequestKind::parse(&self.kind));
        let legal_basis = e.check("legal_basis", text_field(&self.legal_basis, 64));
        let responder_id = self
            .responder_id
            .as_deref()
            .filter(|r| !r.trim().is_empty())
            .and_then(|r| id_field(&mut e, "responder_id", r));
        let executing = self
            .executing_jurisdiction
            .as_deref()
            .and_then(|j| jurisdiction(&mut e, "executing_jurisdiction", j));
        let data_categories = categories(&mut e, &self.data_categories);
        let identifiers = identifiers::parse_all(&self.identifiers, &mut e);
        let date_from = instant(&mut e, "date_from", self.date_from.as_deref());
        let date_to = instant(&mut e, "date_to", self.date_to.as_deref());
        let facts = optional_text(&mut e, "facts", self.facts.as_deref(), FACTS_MAX);
        let necessity = optional_text(&mut e, "necessity", self.necessity.as_deref(), TEXT_MAX);
        let relevance = optional_text(&mut e, "relevance", self.relevance.as_deref(), TEXT_MAX);
        let custodian = optional_text(&mut e, "custodian", self.custodian.as_deref(), TEXT_MAX);
        let justification = optional_text(
            &mut e,
            "emergency_justification",
            self.emergency_justification.as_deref(),
            TEXT_MAX,
        );
        let cybertipline_submitted_at = instant(
            &mut e,
            "cybertipline_submitted_at",
            self.cybertipline_submitted_at.as_deref(),
        );
        let (kind, legal_basis) = e.finish((|| Some((kind?, legal_basis?)))())?;
        Ok((
            case_id,
            Drafted {
                responder_named: responder_id.is_some(),
                jurisdiction_named: executing.is_some(),
                content: Content {
                    kind,
                    legal_basis,
                    responder_id: responder_id.unwrap_or_default(),
                    executing_jurisdiction: executing.unwrap_or_default(),
                    data_categories,
                    identifiers,
                    date_from,
                    date_to,
                    facts,
                    necessity,
                    relevance,
                    custodian,
                    follow_up_intent: self.follow_up_intent,
                    emergency: self.emergency,
                    emergency_justification: justification,
                    non_disclosure: self.non_disclosure,
                    cybertipline_submitted_at,
                },
            },
        ))
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchIn {
    /// The `version` of the request you read: a stale one is refused with 409.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    #[schema(value_type = Option<RequestKind>)]
    pub kind: Option<String>,
    /// An id from `GET /legal-bases`.
    #[schema(example = "budapest-29")]
    pub legal_basis: Option<String>,
    /// The organisation asked: a provider, or a central authority.
    #[schema(format = Uuid)]
    pub responder_id: Option<String>,
    #[schema(example = "IE")]
    pub executing_jurisdiction: Option<String>,
    #[schema(value_type = Option<Vec<DataCategory>>)]
    pub data_categories: Option<Vec<String>>,
    pub identifiers: Option<Vec<IdentifierIn>>,
    #[schema(value_type = Option<UtcTime>)]
    #[serde(default, deserialize_with = "present")]
    pub date_from: Option<Option<String>>,
    #[schema(value_type = Option<UtcTime>)]
    #[serde(default, deserialize_with = "present")]
    pub date_to: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub facts: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub necessity: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub relevance: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub custodian: Option<Option<String>>,
    pub follow_up_intent: Option<bool>,
    pub emergency: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub emergency_justification: Option<Option<String>>,
    pub non_disclosure: Option<bool>,
    #[schema(value_type = Option<UtcTime>)]
    #[serde(default, deserialize_with = "present")]
    pub cybertipline_submitted_at: Option<Option<String>>,
}

impl PatchIn {
    pub fn parse(self) -> Result<(i64, Patch), Error> {
        let mut e = Errors::new();
        let text = |e: &mut Errors, field: &str, v: Option<Option<String>>, max: usize| {
            v.map(|inner| optional_text(e, field, inner.as_deref(), max))
        };
        let when = |e: &mut Errors, field: &str, v: Option<Option<String>>| {
            v.map(|inner| instant(e, field, inner.as_deref()))
        };
        let patch = Patch {
            kind: self
                .kind
                .and_then(|k| e.check("kind", RequestKind::parse(&k))),
            legal_basis: self
                .legal_basis
                .and_then(|b| e.check("legal_basis", text_field(&b, 64))),
            responder_id: self
                .responder_id
                .and_then(|r| id_field(&mut e, "responder_id", &r)),
            executing_jurisdiction: self
                .executing_jurisdiction
                .and_then(|j| jurisdiction(&mut e, "executing_jurisdiction", &j)),
            data_categories: self.data_categories.map(|list| categories(&mut e, &list)),
            identifiers: self
                .identifiers
                .map(|list| identifiers::parse_all(&list, &mut e)),
            date_from: when(&mut e, "date_from", self.date_from),
            date_to: when(&mut e, "date_to", self.date_to),
            facts: text(&mut e, "facts", self.facts, FACTS_MAX),
            necessity: text(&mut e, "necessity", self.necessity, TEXT_MAX),
            relevance: text(&mut e, "relevance", self.relevance, TEXT_MAX),
            custodian: text(&mut e, "custodian", self.custodian, TEXT_MAX),
            follow_up_intent: self.follow_up_intent,
            emergency: self.emergency,
            emergency_justification: text(
                &mut e,
                "emergency_justification",
                self.emergency_justification,
                TEXT_MAX,
            ),
            non_disclosure: self.non_disclosure,
            cybertipline_submitted_at: when(
                &mut e,
                "cybertipline_submitted_at",
                self.cybertipline_submitted_at,
            ),
        };
        e.into_result()?;
        Ok((self.version, patch))
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RequestLink {
    pub id: String,
    pub reference: String,
}

/// A request as its viewer may see it: responders never see the case, the
/// issuing side's notes, or the other requests of the case.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RequestOut {
    pub id: String,
    pub reference: String,
    pub status: Status,
    pub version: i64,
    pub kind: RequestKind,
    pub legal_basis: String,
    pub route: crate::domain::legal_bases::Route,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
    pub agency_id: String,
    pub agency_name: String,
    pub issuing_jurisdiction: String,
    pub responder_id: String,
    pub responder_name: String,
    pub executing_jurisdiction: String,
    /// The request this one follows up, as far as the viewer may know it.
    #[schema(value_type = Option<RequestLink>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Option<RequestLink>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub children: Option<Vec<RequestLink>>,
    /// For a domestic order, to the central authority that issued it: the
    /// incoming request it executes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executes: Option<RequestLink>,
    /// The orders through which the executing central authority had this
    /// request executed by providers of its jurisdiction, with their answers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub domestic_orders: Vec<super::execution::DomesticOrderOut>,
    #[schema(value_type = Vec<DataCategory>)]
    pub data_categories: Value,
    pub identifiers: Vec<Identifier>,
    pub date_from: Option<UtcTime>,
    pub date_to: Option<UtcTime>,
    pub facts: Option<String>,
    pub necessity: Option<String>,
    pub relevance: Option<String>,
    pub custodian: Option<String>,
    pub follow_up_intent: bool,
    pub emergency: bool,
    pub emergency_justification: Option<String>,
    pub non_disclosure: bool,
    pub cybertipline_submitted_at: Option<UtcTime>,
    pub submitted_at: Option<UtcTime>,
    pub approved_at: Option<UtcTime>,
    pub transmitted_at: Option<UtcTime>,
    pub answered_at: Option<UtcTime>,
    pub preserved_until: Option<UtcTime>,
    pub extension_requested: bool,
    pub extensions_granted: i32,
    /// What the responder answered: reference, refusal ground, move...
    #[schema(value_type = Object)]
    pub response: Value,
    /// The issuing side's own remarks (returns, rejections); never shown to responders.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_notes: Option<Value>,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
    #[schema(value_type = Object)]
    pub links: Value,
}

/// The parent and children as the viewer may know them: `None` for viewers
/// who see no case content.
pub struct Family {
    pub parent: Option<RequestLink>,
    pub children: Vec<RequestLink>,
}

impl RequestOut {
    /// The ids whose names the document of `row` gives.
    pub fn names_of(row: &RequestRow, wanted: &mut Wanted) {
        wanted
            .organisation(&row.agency_id)
            .organisation(&row.responder_id);
    }

    pub fn build(
        row: RequestRow,
        viewer: &Viewer,
        family: Option<Family>,
        names: &Names,
    ) -> Result<Self, Error> {
        let insider = viewer.sees_case_content(&row.access());
        let json = |text: &str| serde_json::from_str::<Value>(text).map_err(Error::internal);
        let (parent, children) = match family {
            Some(f) if insider => (Some(f.parent), Some(f.children)),
            _ => (None, None),
        };
        Ok(RequestOut {
            links: json!({
                "self": format!("/api/v1/requests/{}", row.id),
                "audit": format!("/api/v1/requests/{}/audit", row.id),
                "deadlines": format!("/api/v1/requests/{}/deadlines", row.id),
            }),
            data_categories: json(&row.data_categories)?,
            identifiers: serde_json::from_str(&row.identifiers).map_err(Error::internal)?,
            response: json(&row.response)?,
            internal_notes: if insider {
                Some(json(&row.internal_notes)?)
            } else {
                None
            },
            case_id: insider.then(|| row.case_id.clone()),
            agency_name: names.organisation(&row.agency_id),
            responder_name: names.organisation(&row.responder_id),
            parent,
            children,
            executes: None,
            domestic_orders: Vec::new(),
            id: row.id,
            reference: row.reference,
            status: row.status,
            version: row.version,
            kind: row.kind,
            legal_basis: row.legal_basis,
            route: row.route,
            agency_id: row.agency_id,
            issuing_jurisdiction: row.issuing_jurisdiction,
            responder_id: row.responder_id,
            executing_jurisdiction: row.executing_jurisdiction,
            date_from: row.date_from,
            date_to: row.date_to,
            facts: row.facts,
            necessity: row.necessity,
            relevance: row.relevance,
            custodian: row.custodian,
            follow_up_intent: row.follow_up_intent,
            emergency: row.emergency,
            emergency_justification: row.emergency_justification,
            non_disclosure: row.non_disclosure,
            cybertipline_submitted_at: row.cybertipline_submitted_at,
            submitted_at: row.submitted_at,
            approved_at: row.approved_at,
            transmitted_at: row.transmitted_at,
            answered_at: row.answered_at,
            preserved_until: row.preserved_until,
            extension_requested: row.extension_requested,
            extensions_granted: row.extensions_granted,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A request in a list of a case.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RequestSummary {
    pub id: String,
    pub reference: String,
    pub kind: RequestKind,
    pub legal_basis: String,
    pub status: Status,
    pub responder_id: String,
    pub responder_name: String,
    pub parent_id: Option<String>,
    pub created_at: UtcTime,
}

impl RequestSummary {
    pub fn build(row: RequestRow, names: &Names) -> Self {
        RequestSummary {
            responder_name: names.organisation(&row.responder_id),
            id: row.id,
            reference: row.reference,
            kind: row.kind,
            legal_basis: row.legal_basis,
            status: row.status,
            responder_id: row.responder_id,
            parent_id: row.parent_id,
            created_at: row.created_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEventOut {
    pub id: String,
    /// The event's place in the request's chain; for a responder, its place
    /// among the events it may read (1, 2, 3...), so that gaps do not betray
    /// what it may not.
    pub seq: i64,
    pub occurred_at: UtcTime,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub organisation_id: Option<String>,
    pub organisation_name: Option<String>,
    pub action: String,
    #[schema(value_type = Object)]
    pub details: Value,
    /// The chain's hashes, for the issuing side, which can verify them; not
    /// shown to a responder, whose view leaves events out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}
