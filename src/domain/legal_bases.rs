//! The catalogue of legal bases and their clocks (LEGAL.md), shipped as data.
//!
//! The file is embedded in the binary; it is parsed and checked with
//! `Catalogue::parse`, whose errors name the entry and the field at fault.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::reference::{DataCategory, RequestKind};
use super::requests::OffenceCategory;

pub const EMBEDDED: &str = include_str!("legal_bases.json");

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub version: u32,
    pub legal_bases: Vec<LegalBasis>,
}

vocabulary!(
    /// How sure we are of an entry: checked against the instrument's text, a
    /// secondary source only, or not at all (shipped disabled).
    Verification {
        Verified = "verified",
        Secondary = "secondary",
        Unverified = "unverified",
    }
);

vocabulary!(
    /// Where a request goes: straight to the service provider (`direct`), or
    /// to the central authority of the executing jurisdiction.
    Route {
        Direct = "direct",
        CentralAuthority = "central_authority",
    }
);

/// How a period in days is counted (LEGAL.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Counting {
    #[serde(rename = "elapsed")]
    Elapsed,
    #[serde(rename = "eu-1182-71")]
    Eu118271,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpRule {
    PreservedPendingDecision,
    PreservedUntilProduction,
    ProviderPolicy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    ExPostValidation,
    AcknowledgementDue,
    DecisionDue,
    ResponseDue,
    EnforcingReview,
    PreservationExpires,
}

/// The workflow event a clock runs from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClockStart {
    /// Transmission to the responder: its receipt, for every clock the law
    /// counts from receipt.
    Transmitted,
    Acknowledged,
    /// The executing authority's decision on recognition (EIO Art. 12(4)).
    Decided,
    /// The provider's submission to the CyberTipline (18 U.S.C. 2258A(h)(1)),
    /// a date the request carries.
    CybertiplineSubmitted,
}

/// Who a follow-up must be addressed to for it to stop a preservation clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SameParty {
    /// The same requested State (Budapest Art. 29(7)).
    ExecutingJurisdiction,
    /// The same addressee (Regulation 2023/1543 Art. 11(1)).
    Responder,
}

/// The event that stops a preservation clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StopEvent {
    /// The follow-up production request is transmitted (received).
    FollowUpTransmitted,
    /// The issuing authority confirms to the addressee that a production
    /// request was issued (EPOC-PR, Annex V).
    ProductionConfirmed,
}

/// Which follow-up stops a preservation clock, and how: anything else leaves it
/// running.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoppedBy {
    /// Legal bases of production requests that count.
    pub bases: Vec<String>,
    pub same: SameParty,
    pub event: StopEvent,
    pub citation: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Period {
    Days(u32),
    Hours(u32),
}

impl Period {
    fn amount(self) -> u32 {
        match self {
            Period::Days(n) | Period::Hours(n) => n,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Extension {
    pub period: Period,
    pub max: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Clock {
    pub kind: ClockKind,
    pub starts: ClockStart,
    pub period: Period,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency_period: Option<Period>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<Extension>,
    /// The period is a floor set by the instrument ("at least 60 days").
    #[serde(default)]
    pub minimum: bool,
    /// The instrument sets no period: this is a deployment's own target.
    #[serde(default)]
    pub target: bool,
    /// Runs only for requests transmitted as emergencies.
    #[serde(default)]
    pub emergency_only: bool,
    /// The period bounds another authority's window (the enforcing State's):
    /// hours are counted by the letter of Regulation 1182/71 Art. 3(1), from
    /// the beginning of the hour after the event, so the window is never shown
    /// closed while it is still open.
    #[serde(default)]
    pub other_authority: bool,
    /// Runs only when the request asks for one of these data categories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<DataCategory>>,
    pub citation: String,
    /// Where this clock is less sure than its entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalBasis {
    pub id: String,
    pub title: String,
    pub instrument: String,
    pub citation: String,
    pub verification: Verification,
    pub enabled: bool,
    pub kinds: Vec<RequestKind>,
    pub route: Route,
    pub data_categories: Vec<DataCategory>,
    pub counting: Counting,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counting_verification: Option<Verification>,
    /// Whether the instrument has an emergency path.
    pub emergency: bool,
    /// The membership the issuing jurisdiction needs (see `reference::memberships`).
    pub issuing_party: Option<String>,
    /// The membership the executing jurisdiction needs.
    pub executing_party: Option<String>,
    pub follow_up: Option<FollowUpRule>,
    /// The follow-up that stops the preservation clock, if any does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<StoppedBy>,
    /// The instrument governs cooperation between States: the issuing and the
    /// executing jurisdiction must differ. The provision that says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_border: Option<String>,
    /// The only offences the instrument may be used for (the case must name one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offences: Option<Vec<OffenceCategory>>,
    /// In an emergency, the data categories that may be ordered without prior
    /// validation (transmitted before approval); absent: any the entry allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency_without_validation: Option<Vec<DataCategory>>,
    /// Only for the order a central authority gives a provider of its own
    /// jurisdiction to execute an incoming request (`domain::execution`),
    /// never for a request drafted by an officer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub execution_only: bool,
    pub clocks: Vec<Clock>,
}

impl LegalBasis {
    /// The clock of `kind`, if the entry has one.
    pub fn clock(&self, kind: ClockKind) -> Option<&Clock> {
        self.clocks.iter().find(|c| c.kind == kind)
    }

    /// Whether an emergency asking for `categories` may be transmitted before a
    /// central authority has approved it.
    pub fn allows_unvalidated_emergency(&self, categories: &[DataCategory]) -> bool {
        self.emergency
            && self
                .emergency_without_validation
                .as_ref()
                .is_none_or(|allowed| categories.iter().all(|c| allowed.contains(c)))
    }

    /// Whether requests on this basis must carry the CyberTipline submission.
    pub fn needs_cybertipline_submission(&self) -> bool {
        self.clocks
            .iter()
            .any(|c| c.starts == ClockStart::CybertiplineSubmitted)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogueError {
    #[error("the legal-bases file is not valid: {0}")]
    Syntax(String),
    #[error("legal basis `{entry}`: {field}: {message}")]
    Entry {
        entry: String,
        field: String,
        message: String,
    },
}

impl Catalogue {
    pub fn embedded() -> Self {
        Self::parse(EMBEDDED).expect("the embedded legal-bases catalogue is valid")
    }

    pub fn parse(text: &str) -> Result<Self, CatalogueError> {
        let catalogue: Catalogue =
            serde_json::from_str(text).map_err(|e| CatalogueError::Syntax(e.to_string()))?;
        catalogue.check()?;
        Ok(catalogue)
    }

    pub fn get(&self, id: &str) -> Option<&LegalBasis> {
        self.legal_bases.iter().find(|b| b.id == id)
    }

    /// Long on purpose: one check per field of an entry, each with its message.
    fn check(&self) -> Result<(), CatalogueError> {
        let mut seen = HashSet::new();
        for basis in &self.legal_bases {
            let fail = |field: &str, message: &str| CatalogueError::Entry {
                entry: basis.id.clone(),
                field: field.to_owned(),
                message: message.to_owned(),
            };
            let id_ok = !basis.id.is_empty()
                && basis.id.len() <= 64
                && basis
                    .id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !id_ok {
                return Err(fail(
                    "id",
                    "use 1 to 64 lower-case letters, digits and hyphens",
                ));
            }
            if !seen.insert(basis.id.as_str()) {
                return Err(fail("id", "appears more than once"));
            }
            for (field, value) in [
                ("title", &basis.title),
                ("instrument", &basis.instrument),
                ("citation", &basis.citation),
            ] {
                if value.trim().is_empty() {
                    return Err(fail(field, "must not be empty"));
                }
            }
            if basis.verification == Verification::Unverified && basis.enabled {
                return Err(fail(
                    "enabled",
                    "an unverified entry must ship disabled until its text is checked",
                ));
            }
            if basis.kinds.is_empty() {
                return Err(fail("kinds", "name at least one request kind"));
            }
            if basis.data_categories.is_empty() {
                return Err(fail("data_categories", "name at least one data category"));
            }
            for (field, party) in [
                ("issuing_party", &basis.issuing_party),
                ("executing_party", &basis.executing_party),
            ] {
                if let Some(party) = party
                    && let Err(message) = super::reference::parse_membership(party)
                {
                    return Err(fail(field, &format!("unknown membership: {message}")));
                }
            }
            if let Some(stop) = &basis.stopped_by {
                if !basis.kinds.contains(&RequestKind::Preservation) {
                    return Err(fail(
                        "stopped_by",
                        "only a preservation clock is stopped by a follow-up",
                    ));
                }
                for id in &stop.bases {
                    match self.get(id) {
                        Some(other) if other.kinds.contains(&RequestKind::Production) => {}
                        Some(_) => {
                            return Err(fail(
                                "stopped_by.bases",
                                &format!("`{id}` is not a basis for production"),
                            ));
                        }
                        None => {
                            return Err(fail(
                                "stopped_by.bases",
                                &format!("`{id}` is not in the catalogue"),
                            ));
                        }
                    }
                }
            }
            if let Some(allowed) = &basis.emergency_without_validation
                && (!basis.emergency || allowed.iter().any(|c| !basis.data_categories.contains(c)))
            {
                return Err(fail(
                    "emergency_without_validation",
                    "needs an emergency path and data categories the entry allows",
                ));
            }
            for (i, clock) in basis.clocks.iter().enumerate() {
                let at = |name: &str| format!("clocks[{i}].{name}");
                if clock.period.amount() == 0 {
                    return Err(fail(&at("period"), "must be greater than zero"));
                }
                if clock.emergency_period.is_some_and(|p| p.amount() == 0) {
                    return Err(fail(&at("emergency_period"), "must be greater than zero"));
                }
                if (clock.emergency_period.is_some() || clock.emergency_only) && !basis.emergency {
                    return Err(fail(
                        &at("emergency_period"),
                        "the entry has no emergency path (`emergency` is false)",
                    ));
                }
                if let Some(ext) = clock.extension
                    && (ext.max == 0 || ext.period.amount() == 0)
                {
                    return Err(fail(
                        &at("extension"),
                        "an extension needs a period and a `max` greater than zero",
                    ));
                }
                if clock.citation.trim().is_empty() {
                    return Err(fail(&at("citation"), "must not be empty"));
                }
                if let Some(categories) = &clock.categories
                    && categories
                        .iter()
                        .any(|c| !basis.data_categories.contains(c))
                {
                    return Err(fail(
                        &at("categories"),
                        "names a data category the entry does not allow",
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalogue_is_valid_and_complete() {
        let catalogue = Catalogue::embedded();
        for id in [
            "budapest-29",
            "us-2703f",
            "eu-epoc-pr",
            "provider-voluntary",
            "ncmec-2258a",
            "eu-epoc",
            "eio",
            "budapest-31",
            "us-2702-emergency",
            "cets224-7",
            "cets224-8",
            "eu-2013-40-urgent",
        ] {
            assert!(catalogue.get(id).is_some(), "{id} missing");
        }
    }

    #[test]
    fn unverified_entries_ship_disabled() {
        let catalogue = Catalogue::embedded();
        for basis in &catalogue.legal_bases {
            if basis.verification == Verification::Unverified {
                assert!(!basis.enabled, "{} is unverified but enabled", basis.id);
            }
        }
        assert!(!catalogue.get("cets224-7").unwrap().enabled);
    }

    #[test]
    fn clocks_carry_the_periods_of_legal_md() {
        let catalogue = Catalogue::embedded();
        let clock = |id: &str, kind: ClockKind| {
            catalogue
                .get(id)
                .unwrap()
                .clocks
                .iter()
                .find(|c| c.kind == kind)
                .cloned()
                .unwrap()
        };
        let us = clock("us-2703f", ClockKind::PreservationExpires);
        assert_eq!(us.period, Period::Days(90));
        assert_eq!(
            us.extension,
            Some(Extension {
                period: Period::Days(90),
                max: 1
            })
        );
        let epoc = clock("eu-epoc", ClockKind::ResponseDue);
        assert_eq!(epoc.period, Period::Days(10));
        assert_eq!(epoc.emergency_period, Some(Period::Hours(8)));
        let review = clock("eu-epoc", ClockKind::EnforcingReview);
        assert_eq!(review.emergency_period, Some(Period::Hours(96)));
        assert_eq!(
            clock("eu-epoc-pr", ClockKind::PreservationExpires).extension,
            Some(Extension {
                period: Period::Days(30),
                max: 1
            })
        );
        assert!(clock("budapest-29", ClockKind::PreservationExpires).minimum);
    }

    fn with_first_entry(edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut value: serde_json::Value = serde_json::from_str(EMBEDDED).unwrap();
        edit(&mut value["legal_bases"][0]);
        value.to_string()
    }

    #[test]
    fn refuses_an_enabled_unverified_entry_naming_it() {
        let text = with_first_entry(|e| e["verification"] = "unverified".into());
        let err = Catalogue::parse(&text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "legal basis `budapest-29`: enabled: an unverified entry must ship disabled until its text is checked"
        );
    }

    #[test]
    fn refuses_a_zero_period_naming_the_clock() {
        let text = with_first_entry(|e| e["clocks"][0]["period"] = serde_json::json!({"days": 0}));
        let err = Catalogue::parse(&text).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("legal basis `budapest-29`: clocks[0].period:"),
            "{err}"
        );
    }

    #[test]
    fn refuses_duplicates_unknown_fields_and_memberships() {
        let mut value: serde_json::Value = serde_json::from_str(EMBEDDED).unwrap();
        let first = value["legal_bases"][0].clone();
        value["legal_bases"].as_array_mut().unwrap().push(first);
        assert!(
            Catalogue::parse(&value.to_string())
                .unwrap_err()
                .to_string()
                .contains("appears more than once")
        );
        let text = with_first_entry(|e| e["colour"] = "blue".into());
        assert!(matches!(
            Catalogue::parse(&text),
            Err(CatalogueError::Syntax(m)) if m.contains("colour")
        ));
        let text = with_first_entry(|e| e["issuing_party"] = "narnia".into());
        assert!(
            Catalogue::parse(&text)
                .unwrap_err()
                .to_string()
                .contains("issuing_party: unknown membership: `narnia`")
        );
    }
}
