//! What a request must say, and what its legal basis allows. Pure rules over a
//! parsed request; the use cases supply the facts they need from the database.

use serde::{Deserialize, Serialize};

use super::identifiers::Identifier;
use super::legal_bases::{LegalBasis, Route};
use super::reference::{DataCategory, OrganisationKind, RequestKind};
use super::validation::FieldError;
use crate::time::UtcTime;

vocabulary!(
    /// What a case is about. `information_system_attack` stands for the
    /// offences of Directive 2013/40/EU Arts. 3 to 8 (illegal access, system or
    /// data interference, interception, tools), which some instruments require.
    OffenceCategory {
        Grooming = "grooming",
        CsamProduction = "csam_production",
        CsamDistribution = "csam_distribution",
        CsamPossession = "csam_possession",
        SexualExtortion = "sexual_extortion",
        Trafficking = "trafficking",
        Harassment = "harassment",
        Cyberbullying = "cyberbullying",
        InformationSystemAttack = "information_system_attack",
        Other = "other",
    }
);

vocabulary!(
    Priority {
        Low = "low",
        Normal = "normal",
        High = "high",
        Urgent = "urgent",
    }
);

vocabulary!(
    /// Grounds a responder may cite when refusing (LEGAL.md).
    RefusalGround {
        PoliticalOffence = "political_offence",
        EssentialInterests = "essential_interests",
        ImmunityPrivilege = "immunity_privilege",
        FundamentalRights = "fundamental_rights",
        NeBisInIdem = "ne_bis_in_idem",
        DualCriminality = "dual_criminality",
        NoData = "no_data",
        DataDeleted = "data_deleted",
        AccountNotFound = "account_not_found",
        WrongProvider = "wrong_provider",
        InsufficientInformation = "insufficient_information",
        InvalidLegalProcess = "invalid_legal_process",
        ConflictOfLaws = "conflict_of_laws",
    }
);

/// The content of a request: everything its creator writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    pub kind: RequestKind,
    pub legal_basis: String,
    pub responder_id: String,
    pub executing_jurisdiction: String,
    pub data_categories: Vec<DataCategory>,
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
    /// When the provider submitted its CyberTipline report: the start of an
    /// 18 U.S.C. 2258A preservation, which the request must carry.
    pub cybertipline_submitted_at: Option<UtcTime>,
}

/// A change to a draft: `None` leaves a field as it is; for a field that may be
/// empty, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct Patch {
    pub kind: Option<RequestKind>,
    pub legal_basis: Option<String>,
    pub responder_id: Option<String>,
    pub executing_jurisdiction: Option<String>,
    pub data_categories: Option<Vec<DataCategory>>,
    pub identifiers: Option<Vec<Identifier>>,
    pub date_from: Option<Option<UtcTime>>,
    pub date_to: Option<Option<UtcTime>>,
    pub facts: Option<Option<String>>,
    pub necessity: Option<Option<String>>,
    pub relevance: Option<Option<String>>,
    pub custodian: Option<Option<String>>,
    pub follow_up_intent: Option<bool>,
    pub emergency: Option<bool>,
    pub emergency_justification: Option<Option<String>>,
    pub non_disclosure: Option<bool>,
    pub cybertipline_submitted_at: Option<Option<UtcTime>>,
}

impl Patch {
    /// Applies the change and names the fields it set.
    pub fn apply(self, content: &mut Content) -> Vec<&'static str> {
        let mut changed = Vec::new();
        macro_rules! set {
            ($($field:ident),+) => {
                $(if let Some(value) = self.$field {
                    content.$field = value;
                    changed.push(stringify!($field));
                })+
            };
        }
        set!(
            kind,
            legal_basis,
            responder_id,
            executing_jurisdiction,
            data_categories,
            identifiers,
            date_from,
            date_to,
            facts,
            necessity,
            relevance,
            custodian,
            follow_up_intent,
            emergency,
            emergency_justification,
            non_disclosure,
            cybertipline_submitted_at
        );
        changed
    }
}

/// What the rules need to know of the responder, the two jurisdictions and the
/// case.
#[derive(Debug, Clone)]
pub struct Parties<'a> {
    pub responder_kind: OrganisationKind,
    pub responder_jurisdiction: &'a str,
    pub issuing_jurisdiction: &'a str,
    pub issuing_memberships: &'a [String],
    pub executing_memberships: &'a [String],
    /// The offences the case is about.
    pub case_offences: &'a [OffenceCategory],
}

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

fn membership_name(id: &str) -> &str {
    super::reference::membership(id).map_or(id, |m| m.name.as_str())
}

/// Whether the legal basis allows this request between these parties; refused
/// at creation, since a lawyer would never send it and a provider would bounce it.
///
/// Long on purpose: one check after another, each a requirement of the
/// instrument (LEGAL.md) with its own message.
pub fn check_basis(
    content: &Content,
    basis: &LegalBasis,
    parties: &Parties<'_>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if basis.execution_only {
        errors.push(err(
            "legal_basis",
            format!(
                "`{}` is the order a central authority gives a provider of its own jurisdiction \
                 when it executes an incoming request (POST /requests/{{id}}/domestic-orders); \
                 it is not drafted",
                basis.id
            ),
        ));
    }
    if !basis.enabled {
        errors.push(err(
            "legal_basis",
            format!(
                "`{}` is disabled in this deployment ({:?}): it cannot be used yet",
                basis.id, basis.verification
            ),
        ));
    }
    if !basis.kinds.contains(&content.kind) {
        let kinds: Vec<&str> = basis.kinds.iter().map(|k| k.as_str()).collect();
        errors.push(err(
            "kind",
            format!("`{}` allows only: {}", basis.id, kinds.join(", ")),
        ));
    }
    if content.data_categories.is_empty() {
        errors.push(err("data_categories", "name at least one data category"));
    }
    for category in &content.data_categories {
        if !basis.data_categories.contains(category) {
            errors.push(err(
                "data_categories",
                format!("`{}` does not cover {category} data", basis.id),
            ));
        }
    }
    match basis.route {
        Route::Direct if parties.responder_kind != OrganisationKind::Provider => errors.push(err(
            "responder_id",
            format!("`{}` is sent directly to a service provider", basis.id),
        )),
        Route::CentralAuthority if parties.responder_kind != OrganisationKind::CentralAuthority => {
            errors.push(err(
                "responder_id",
                format!(
                    "`{}` goes to the central authority of the executing jurisdiction",
                    basis.id
                ),
            ))
        }
        _ => {}
    }
    if parties.responder_jurisdiction != content.executing_jurisdiction {
        errors.push(err(
            "executing_jurisdiction",
            format!(
                "the responder is in {}, not {}",
                parties.responder_jurisdiction, content.executing_jurisdiction
            ),
        ));
    }
    if let Some(needed) = &basis.issuing_party
        && !parties.issuing_memberships.contains(needed)
    {
        errors.push(err(
            "legal_basis",
            format!(
                "`{}` can only be issued from {}; {} is not",
                basis.id,
                membership_name(needed),
                parties.issuing_jurisdiction
            ),
        ));
    }
    if let Some(needed) = &basis.executing_party
        && !parties.executing_memberships.contains(needed)
    {
        errors.push(err(
            "executing_jurisdiction",
            format!(
                "`{}` can only be executed in {}; {} is not",
                basis.id,
                membership_name(needed),
                content.executing_jurisdiction
            ),
        ));
    }
    if let Some(provision) = &basis.cross_border
        && parties.issuing_jurisdiction == content.executing_jurisdiction
    {
        errors.push(err(
            "executing_jurisdiction",
            format!(
                "`{}` governs cooperation between States: it cannot be executed in the issuing \
                 jurisdiction {} ({provision}); use domestic process",
                basis.id, parties.issuing_jurisdiction
            ),
        ));
    }
    if let Some(offences) = &basis.offences
        && !parties.case_offences.iter().any(|o| offences.contains(o))
    {
        let names: Vec<&str> = offences.iter().map(|o| o.as_str()).collect();
        errors.push(err(
            "legal_basis",
            format!(
                "`{}` may only be used for a case about {} ({}); this case is not",
                basis.id,
                names.join(", "),
                basis.citation
            ),
        ));
    }
    match (
        basis.needs_cybertipline_submission(),
        content.cybertipline_submitted_at,
    ) {
        (true, None) => errors.push(err(
            "cybertipline_submitted_at",
            format!(
                "`{}` preserves for a year from the provider's CyberTipline submission \
                 (18 U.S.C. 2258A(h)(1)): give its instant",
                basis.id
            ),
        )),
        (false, Some(_)) => errors.push(err(
            "cybertipline_submitted_at",
            format!(
                "only a request whose clock runs from a CyberTipline submission carries it, not `{}`",
                basis.id
            ),
        )),
        _ => {}
    }
    if content.emergency && !basis.emergency {
        errors.push(err(
            "emergency",
            format!("`{}` has no emergency path", basis.id),
        ));
    }
    if let (Some(from), Some(to)) = (content.date_from, content.date_to)
        && from > to
    {
        errors.push(err("date_to", "must not be before date_from"));
    }
    errors
}

/// What each item of a request is for, in the words of the instrument: the
/// help a form gives next to the field, and what a refusal to submit says is
/// missing.
pub mod items {
    pub const AUTHORITY: &str =
        "the authority seeking the measure: your agency, on record (Budapest Art. 29(2)(a))";
    pub const FACTS: &str = "a brief summary of the facts of the offence (Budapest Art. 29(2)(b))";
    pub const DATA: &str = "the data to be preserved or produced (Art. 29(2)(c))";
    pub const IDENTIFIERS: &str = "at least one identifier of the data sought (Art. 29(2)(c))";
    pub const RELEVANCE: &str = "the relation of the data to the offence (Art. 29(2)(c))";
    pub const CUSTODIAN: &str = "what is known of the custodian of the data or the location of \
                                 the system (Art. 29(2)(d))";
    pub const NECESSITY: &str = "why the measure is necessary (Art. 29(2)(e))";
    pub const FOLLOW_UP_INTENT: &str = "a preservation request states that a request for the \
                                        data will follow (Art. 29(2)(f))";
    pub const EMERGENCY: &str =
        "why this is an emergency (an imminent threat to life or physical integrity)";
    pub const PERIOD: &str = "traffic and content data need a period: open-ended requests are \
                              refused as overbroad";
    pub const CYBERTIPLINE: &str = "when the provider submitted its CyberTipline report: the \
                                    year of preservation runs from it (18 U.S.C. 2258A(h)(1))";
    pub const NON_DISCLOSURE: &str = "asks the responder not to tell the account holder (Budapest Art. 29(3), Regulation \
         2023/1543 Art. 11)";
}

/// An item a form asks for under a legal basis: `required` when a request
/// cannot be submitted without it (`missing_for_submission`), `needed_if`
/// when only some choices make it so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    pub field: &'static str,
    pub required: bool,
    pub needed_if: Option<&'static str>,
    pub help: &'static str,
}

/// The items a request on `basis` asks for, in the order a form shows them;
/// an item the basis has no use for is not asked.
pub fn asked_by(basis: &LegalBasis) -> Vec<Asked> {
    let item = |field, required, help| Asked {
        field,
        required,
        needed_if: None,
        help,
    };
    let mut out = vec![
        item("data_categories", true, items::DATA),
        item("identifiers", true, items::IDENTIFIERS),
    ];
    if basis
        .data_categories
        .iter()
        .any(|c| matches!(c, DataCategory::Traffic | DataCategory::Content))
    {
        for field in ["date_from", "date_to"] {
            out.push(Asked {
                needed_if: Some("for traffic or content data"),
                ..item(field, false, items::PERIOD)
            });
        }
    }
    out.push(item("facts", true, items::FACTS));
    out.push(item("relevance", true, items::RELEVANCE));
    out.push(item(
        "custodian",
        basis.route == Route::CentralAuthority,
        items::CUSTODIAN,
    ));
    out.push(item("necessity", true, items::NECESSITY));
    if basis.kinds.contains(&RequestKind::Preservation) {
        out.push(Asked {
            needed_if: Some("for a preservation"),
            ..item("follow_up_intent", false, items::FOLLOW_UP_INTENT)
        });
    }
    if basis.needs_cybertipline_submission() {
        out.push(item("cybertipline_submitted_at", true, items::CYBERTIPLINE));
    }
    if basis.emergency {
        out.push(item("emergency", false, items::EMERGENCY));
        out.push(Asked {
            needed_if: Some("in an emergency"),
            ..item("emergency_justification", false, items::EMERGENCY)
        });
    }
    out.push(item("non_disclosure", false, items::NON_DISCLOSURE));
    out
}

/// The legal bases a request from the issuing side to this responder may
/// use: every enabled entry whose parties' rules (`check_basis`) hold for
/// some request of a kind and a data category it allows.
pub fn usable_bases<'c>(
    catalogue: &'c super::legal_bases::Catalogue,
    parties: &Parties<'_>,
) -> Vec<&'c LegalBasis> {
    catalogue
        .legal_bases
        .iter()
        .filter(|basis| basis.enabled)
        .filter(|basis| {
            let probe = Content {
                kind: basis.kinds[0],
                legal_basis: basis.id.clone(),
                responder_id: String::new(),
                executing_jurisdiction: parties.responder_jurisdiction.to_owned(),
                data_categories: vec![basis.data_categories[0]],
                identifiers: Vec::new(),
                date_from: None,
                date_to: None,
                facts: None,
                necessity: None,
                relevance: None,
                custodian: None,
                follow_up_intent: false,
                emergency: false,
                emergency_justification: None,
                non_disclosure: false,
                cybertipline_submitted_at: basis.needs_cybertipline_submission().then(UtcTime::now),
            };
            check_basis(&probe, basis, parties).is_empty()
        })
        .collect()
}

fn blank(text: &Option<String>) -> bool {
    text.as_deref().is_none_or(|t| t.trim().is_empty())
}

/// Every item a request still lacks before it may be submitted: the contents of
/// a preservation request under Budapest Art. 29(2), and what the legal basis and
/// the data asked for need.
pub fn missing_for_submission(content: &Content, basis: &LegalBasis) -> Vec<FieldError> {
    let mut missing = Vec::new();
    if blank(&content.facts) {
        missing.push(err("facts", items::FACTS));
    }
    if content.data_categories.is_empty() {
        missing.push(err("data_categories", items::DATA));
    }
    if content.identifiers.is_empty() {
        missing.push(err("identifiers", items::IDENTIFIERS));
    }
    if blank(&content.relevance) {
        missing.push(err("relevance", items::RELEVANCE));
    }
    if basis.route == Route::CentralAuthority && blank(&content.custodian) {
        missing.push(err("custodian", items::CUSTODIAN));
    }
    if blank(&content.necessity) {
        missing.push(err("necessity", items::NECESSITY));
    }
    if content.kind == RequestKind::Preservation && !content.follow_up_intent {
        missing.push(err("follow_up_intent", items::FOLLOW_UP_INTENT));
    }
    if content.emergency && blank(&content.emergency_justification) {
        missing.push(err("emergency_justification", items::EMERGENCY));
    }
    let needs_period = content
        .data_categories
        .iter()
        .any(|c| matches!(c, DataCategory::Traffic | DataCategory::Content));
    if needs_period {
        if content.date_from.is_none() {
            missing.push(err("date_from", items::PERIOD));
        }
        if content.date_to.is_none() {
            missing.push(err("date_to", items::PERIOD));
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::legal_bases::Catalogue;

    fn complete() -> Content {
        Content {
            kind: RequestKind::Preservation,
            legal_basis: "provider-voluntary".into(),
            responder_id: "p".into(),
            executing_jurisdiction: "IE".into(),
            data_categories: vec![DataCategory::Subscriber],
            identifiers: vec![Identifier {
                kind: crate::domain::identifiers::IdentifierType::Account,
                value: "kid_hunter_99".into(),
                port: None,
                observed_at: None,
            }],
            date_from: None,
            date_to: None,
            facts: Some("Grooming of a 12-year-old over chat.".into()),
            necessity: Some("The provider keeps logs 30 days.".into()),
            relevance: Some("The account sent the messages.".into()),
            custodian: None,
            follow_up_intent: true,
            emergency: false,
            emergency_justification: None,
            non_disclosure: true,
            cybertipline_submitted_at: None,
        }
    }

    fn parties<'a>(
        kind: OrganisationKind,
        issuing: &'a [String],
        executing: &'a [String],
    ) -> Parties<'a> {
        Parties {
            responder_kind: kind,
            responder_jurisdiction: "IE",
            issuing_jurisdiction: "GB",
            issuing_memberships: issuing,
            executing_memberships: executing,
            case_offences: &[OffenceCategory::Grooming],
        }
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn a_complete_request_passes() {
        let catalogue = Catalogue::embedded();
        let basis = catalogue.get("provider-voluntary").unwrap();
        let none: Vec<String> = vec![];
        assert!(
            check_basis(
                &complete(),
                basis,
                &parties(OrganisationKind::Provider, &none, &none)
            )
            .is_empty()
        );
        assert!(missing_for_submission(&complete(), basis).is_empty());
    }

    #[test]
    fn every_missing_article_29_item_is_listed() {
        let catalogue = Catalogue::embedded();
        let basis = catalogue.get("budapest-29").unwrap();
        let mut c = complete();
        c.facts = Some("  ".into());
        c.identifiers.clear();
        c.relevance = None;
        c.necessity = None;
        c.follow_up_intent = false;
        c.data_categories = vec![DataCategory::Traffic];
        c.emergency = true;
        assert_eq!(
            fields(&missing_for_submission(&c, basis)),
            [
                "facts",
                "identifiers",
                "relevance",
                "custodian",
                "necessity",
                "follow_up_intent",
                "emergency_justification",
                "date_from",
                "date_to"
            ]
        );
    }

    #[test]
    fn the_basis_decides_kind_route_categories_and_parties() {
        let catalogue = Catalogue::embedded();
        let us = catalogue.get("us-2703f").unwrap();
        let budapest: Vec<String> = vec!["budapest".into()];
        let mut c = complete();
        c.kind = RequestKind::Production;
        c.emergency = true;
        let errors = check_basis(
            &c,
            us,
            &parties(OrganisationKind::CentralAuthority, &budapest, &budapest),
        );
        assert_eq!(
            fields(&errors),
            ["kind", "responder_id", "legal_basis", "emergency"]
        );
        assert!(errors[2].message.contains("United States"));

        let b31 = catalogue.get("budapest-31").unwrap();
        let mut c = complete();
        c.kind = RequestKind::Production;
        let none: Vec<String> = vec![];
        let errors = check_basis(
            &c,
            b31,
            &parties(OrganisationKind::CentralAuthority, &budapest, &none),
        );
        assert_eq!(fields(&errors), ["executing_jurisdiction"]);

        let disabled = catalogue.get("cets224-7").unwrap();
        let mut c = complete();
        c.kind = RequestKind::Production;
        c.data_categories = vec![DataCategory::Content];
        let errors = check_basis(
            &c,
            disabled,
            &parties(OrganisationKind::Provider, &none, &none),
        );
        assert_eq!(
            fields(&errors),
            [
                "legal_basis",
                "data_categories",
                "legal_basis",
                "executing_jurisdiction"
            ]
        );
    }

    #[test]
    fn dates_must_be_in_order_and_the_responder_in_the_executing_jurisdiction() {
        let catalogue = Catalogue::embedded();
        let basis = catalogue.get("provider-voluntary").unwrap();
        let mut c = complete();
        c.date_from =
            Some(crate::domain::identifiers::parse_instant("2026-11-02T00:00:00Z").unwrap());
        c.date_to =
            Some(crate::domain::identifiers::parse_instant("2026-11-01T00:00:00Z").unwrap());
        c.executing_jurisdiction = "NL".into();
        let none: Vec<String> = vec![];
        let errors = check_basis(
            &c,
            basis,
            &parties(OrganisationKind::Provider, &none, &none),
        );
        assert_eq!(fields(&errors), ["executing_jurisdiction", "date_to"]);
    }

    #[test]
    fn a_cross_border_instrument_is_refused_within_one_state() {
        let catalogue = Catalogue::embedded();
        let member: Vec<String> = vec![
            "budapest".into(),
            "eu".into(),
            "eu_2023_1543".into(),
            "ets_030".into(),
        ];
        for (id, kind, responder, provision) in [
            (
                "eu-epoc",
                RequestKind::Production,
                OrganisationKind::Provider,
                "Regulation (EU) 2023/1543 Art. 1(1)",
            ),
            (
                "eu-epoc-pr",
                RequestKind::Preservation,
                OrganisationKind::Provider,
                "Regulation (EU) 2023/1543 Art. 1(1)",
            ),
            (
                "budapest-29",
                RequestKind::Preservation,
                OrganisationKind::CentralAuthority,
                "ETS 185 Art. 29(1)",
            ),
        ] {
            let mut c = complete();
            c.kind = kind;
            c.legal_basis = id.into();
            c.custodian = Some("x".into());
            let same = Parties {
                responder_jurisdiction: "DE",
                issuing_jurisdiction: "DE",
                ..parties(responder, &member, &member)
            };
            c.executing_jurisdiction = "DE".into();
            let errors = check_basis(&c, catalogue.get(id).unwrap(), &same);
            assert_eq!(fields(&errors), ["executing_jurisdiction"], "{id}");
            assert!(
                errors[0].message.contains(provision),
                "{}",
                errors[0].message
            );
            // Between two States it passes.
            c.executing_jurisdiction = "NL".into();
            let across = Parties {
                responder_jurisdiction: "NL",
                issuing_jurisdiction: "DE",
                ..parties(responder, &member, &member)
            };
            assert!(
                check_basis(&c, catalogue.get(id).unwrap(), &across).is_empty(),
                "{id}"
            );
        }
    }

    #[test]
    fn the_urgent_2013_40_path_is_only_for_attacks_on_information_systems() {
        let catalogue = Catalogue::embedded();
        let basis = catalogue.get("eu-2013-40-urgent").unwrap();
        let bound: Vec<String> = vec!["eu".into(), "eu_2013_40".into()];
        let mut c = complete();
        c.legal_basis = basis.id.clone();
        c.custodian = Some("x".into());
        c.emergency = true;
        let grooming = parties(OrganisationKind::CentralAuthority, &bound, &bound);
        let errors = check_basis(&c, basis, &grooming);
        assert_eq!(fields(&errors), ["legal_basis"]);
        assert!(errors[0].message.contains("information_system_attack"));
        let attack = Parties {
            case_offences: &[
                OffenceCategory::Grooming,
                OffenceCategory::InformationSystemAttack,
            ],
            ..grooming.clone()
        };
        assert!(check_basis(&c, basis, &attack).is_empty());
        // Denmark is not bound: it has no `eu_2013_40` membership.
        let denmark: Vec<String> = vec!["eu".into()];
        let errors = check_basis(
            &c,
            basis,
            &Parties {
                executing_memberships: &denmark,
                ..attack
            },
        );
        assert_eq!(fields(&errors), ["executing_jurisdiction"]);
    }

    #[test]
    fn a_cybertipline_preservation_carries_its_submission() {
        let catalogue = Catalogue::embedded();
        let basis = catalogue.get("ncmec-2258a").unwrap();
        let none: Vec<String> = vec![];
        let mut c = complete();
        c.legal_basis = basis.id.clone();
        let p = Parties {
            responder_jurisdiction: "IE",
            ..parties(OrganisationKind::Provider, &none, &none)
        };
        let errors = check_basis(&c, basis, &p);
        assert_eq!(fields(&errors), ["cybertipline_submitted_at"]);
        assert!(errors[0].message.contains("2258A(h)(1)"));
        c.cybertipline_submitted_at =
            Some(crate::domain::identifiers::parse_instant("2026-06-15T12:00:00Z").unwrap());
        assert!(check_basis(&c, basis, &p).is_empty());
        // Another basis does not carry it.
        c.legal_basis = "provider-voluntary".into();
        let errors = check_basis(&c, catalogue.get("provider-voluntary").unwrap(), &p);
        assert_eq!(fields(&errors), ["cybertipline_submitted_at"]);
    }

    /// A form that shows `asked_by` never leaves out an item that
    /// `missing_for_submission` could refuse the request for.
    #[test]
    fn every_item_a_submission_may_lack_is_asked_by_the_form() {
        let catalogue = Catalogue::embedded();
        for basis in &catalogue.legal_bases {
            let asked: Vec<&str> = asked_by(basis).iter().map(|a| a.field).collect();
            for kind in &basis.kinds {
                let blank = Content {
                    kind: *kind,
                    legal_basis: basis.id.clone(),
                    data_categories: Vec::new(),
                    identifiers: Vec::new(),
                    facts: None,
                    necessity: None,
                    relevance: None,
                    follow_up_intent: false,
                    emergency: basis.emergency,
                    ..complete()
                };
                let mut with_data = blank.clone();
                with_data.data_categories = basis.data_categories.clone();
                for content in [blank, with_data] {
                    for missing in missing_for_submission(&content, basis) {
                        assert!(
                            asked.contains(&missing.field.as_str()),
                            "{}: {} is refused but not asked",
                            basis.id,
                            missing.field
                        );
                    }
                }
            }
            if basis.needs_cybertipline_submission() {
                assert!(asked.contains(&"cybertipline_submitted_at"), "{}", basis.id);
            }
        }
    }

    #[test]
    fn only_the_bases_the_parties_may_use_are_offered() {
        let catalogue = Catalogue::embedded();
        let ids = |parties: &Parties<'_>| -> Vec<String> {
            usable_bases(&catalogue, parties)
                .iter()
                .map(|b| b.id.clone())
                .collect()
        };
        let budapest = vec!["budapest".to_owned()];
        let none: Vec<String> = Vec::new();
        // GB to a provider in IE, both Budapest parties, neither in the EU
        // regime: Art. 29 goes through the central authority, not to a provider.
        let to_provider = ids(&parties(OrganisationKind::Provider, &budapest, &budapest));
        assert!(
            to_provider.contains(&"provider-voluntary".to_owned()),
            "{to_provider:?}"
        );
        assert!(
            !to_provider.contains(&"budapest-29".to_owned()),
            "{to_provider:?}"
        );
        assert!(
            !to_provider.contains(&"eu-epoc-pr".to_owned()),
            "{to_provider:?}"
        );
        let to_authority = ids(&parties(
            OrganisationKind::CentralAuthority,
            &budapest,
            &budapest,
        ));
        assert!(
            to_authority.contains(&"budapest-29".to_owned()),
            "{to_authority:?}"
        );
        assert!(!to_authority.contains(&"provider-voluntary".to_owned()));
        // No Budapest membership on the executing side: no Art. 29.
        let outside = ids(&parties(
            OrganisationKind::CentralAuthority,
            &budapest,
            &none,
        ));
        assert!(!outside.contains(&"budapest-29".to_owned()), "{outside:?}");
        // Disabled entries are never offered.
        for id in to_provider.iter().chain(&to_authority) {
            assert!(catalogue.get(id).unwrap().enabled, "{id}");
        }
    }
}
