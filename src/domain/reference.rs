//! Reference vocabularies: jurisdictions, organisation kinds, roles, data categories,
//! and the memberships that decide which instrument a jurisdiction may use.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::OnceLock;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::legal_bases::Verification;

use super::countries::ISO_3166_ALPHA2;

/// A jurisdiction code: ISO 3166-1 alpha-2, or `EU` for the Union's own bodies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct JurisdictionCode(String);

impl JurisdictionCode {
    pub fn parse(text: &str) -> Result<Self, String> {
        let code = text.trim();
        if code == "EU" || ISO_3166_ALPHA2.binary_search(&code).is_ok() {
            Ok(Self(code.to_owned()))
        } else if ISO_3166_ALPHA2
            .binary_search(&code.to_ascii_uppercase().as_str())
            .is_ok()
        {
            Err(format!(
                "`{code}` must be written in capitals: `{}`",
                code.to_ascii_uppercase()
            ))
        } else {
            Err(format!(
                "`{code}` is not an ISO 3166-1 alpha-2 country code (or `EU`)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone name, e.g. `Europe/Dublin`.
pub fn parse_timezone(text: &str) -> Result<chrono_tz::Tz, String> {
    chrono_tz::Tz::from_str(text.trim())
        .map_err(|_| format!("`{text}` is not an IANA time zone name such as `Europe/Dublin`"))
}

vocabulary!(
    /// What kind of body an organisation is.
    OrganisationKind {
        Agency = "agency",
        CentralAuthority = "central_authority",
        Provider = "provider",
    }
);

vocabulary!(
    /// What a user may do; it must fit the kind of the user's organisation.
    Role {
        Admin = "admin",
        LiaisonOfficer = "liaison_officer",
        CentralAuthority = "central_authority",
        Provider = "provider",
    }
);

vocabulary!(
    /// Categories of data (LEGAL.md): they drive who may issue and which clocks run.
    DataCategory {
        Subscriber = "subscriber",
        Identification = "identification",
        Traffic = "traffic",
        Content = "content",
    }
);

vocabulary!(
    RequestKind {
        Preservation = "preservation",
        Production = "production",
        EmergencyDisclosure = "emergency_disclosure",
    }
);

impl Role {
    /// The organisation kind a role belongs to; an admin may sit in any
    /// organisation, or none.
    pub fn fits(self, organisation: Option<OrganisationKind>) -> Result<(), String> {
        let needed = match self {
            Role::Admin => return Ok(()),
            Role::LiaisonOfficer => OrganisationKind::Agency,
            Role::CentralAuthority => OrganisationKind::CentralAuthority,
            Role::Provider => OrganisationKind::Provider,
        };
        match organisation {
            Some(kind) if kind == needed => Ok(()),
            Some(kind) => Err(format!(
                "role `{self}` needs an organisation of kind `{needed}`, not `{kind}`"
            )),
            None => Err(format!(
                "role `{self}` needs an organisation of kind `{needed}`"
            )),
        }
    }
}

/// The memberships that decide which instrument a jurisdiction may use, as
/// dated reference data with their sources (`memberships.json`). They are the
/// defaults of a new jurisdiction; each jurisdiction's own list, which admins
/// edit, is what the rules read.
pub const MEMBERSHIPS_JSON: &str = include_str!("memberships.json");

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    /// The id legal bases name in `issuing_party` and `executing_party`.
    pub id: String,
    /// How a refusal names it: "a Party to the Budapest Convention".
    pub name: String,
    pub instrument: String,
    /// The date the list was true on, as far as its source says.
    #[schema(value_type = String, format = Date)]
    pub as_of: NaiveDate,
    pub verification: Verification,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// ISO 3166-1 alpha-2 codes.
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Memberships {
    /// When the lists were last checked against their sources.
    #[schema(value_type = String, format = Date)]
    pub checked: NaiveDate,
    pub note: String,
    pub memberships: Vec<Membership>,
}

/// The shipped membership lists.
pub fn memberships() -> &'static Memberships {
    static DATA: OnceLock<Memberships> = OnceLock::new();
    DATA.get_or_init(|| {
        serde_json::from_str(MEMBERSHIPS_JSON).expect("the embedded membership lists are valid")
    })
}

pub fn membership(id: &str) -> Option<&'static Membership> {
    memberships().memberships.iter().find(|m| m.id == id)
}

/// The memberships a new jurisdiction starts with, so that creating `DE` already
/// knows it is an EU Member State and a Budapest Party.
pub fn default_memberships(code: &JurisdictionCode) -> Vec<String> {
    memberships()
        .memberships
        .iter()
        .filter(|m| m.members.iter().any(|c| c == code.as_str()))
        .map(|m| m.id.clone())
        .collect()
}

pub fn parse_membership(text: &str) -> Result<String, String> {
    if membership(text).is_some() {
        Ok(text.to_owned())
    } else {
        let known: Vec<&str> = memberships()
            .memberships
            .iter()
            .map(|m| m.id.as_str())
            .collect();
        Err(format!("`{text}` is not one of: {}", known.join(", ")))
    }
}

/// Public holidays shipped for the jurisdictions the product knows
/// (`holidays.json`, generated by `tools/generate_holidays.py`).
pub const HOLIDAYS_JSON: &str = include_str!("holidays.json");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippedHolidays {
    pub source: String,
    pub years: Vec<i32>,
    pub missing: Vec<String>,
    /// Years the source has no data for yet, per jurisdiction: admins enter
    /// those holidays when they are published.
    pub uncovered: BTreeMap<String, Vec<i32>>,
    pub jurisdictions: BTreeMap<String, Vec<(NaiveDate, String)>>,
}

pub fn shipped_holidays() -> &'static ShippedHolidays {
    static DATA: OnceLock<ShippedHolidays> = OnceLock::new();
    DATA.get_or_init(|| {
        serde_json::from_str(HOLIDAYS_JSON).expect("the embedded holiday calendars are valid")
    })
}

/// The public holidays of a jurisdiction: those shipped with the product, and
/// the dates its admins added (named as such).
pub fn holidays_of(code: &str, added: &[NaiveDate]) -> BTreeMap<NaiveDate, String> {
    let mut out: BTreeMap<NaiveDate, String> = shipped_holidays()
        .jurisdictions
        .get(code)
        .map(|days| days.iter().cloned().collect())
        .unwrap_or_default();
    for date in added {
        out.entry(*date)
            .or_insert_with(|| "public holiday entered by an administrator".to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    #[test]
    fn country_list_is_sorted_for_binary_search() {
        assert!(ISO_3166_ALPHA2.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn jurisdiction_codes() {
        assert_eq!(JurisdictionCode::parse("GB").unwrap().as_str(), "GB");
        assert_eq!(JurisdictionCode::parse("EU").unwrap().as_str(), "EU");
        assert!(
            JurisdictionCode::parse("gb")
                .unwrap_err()
                .contains("capitals")
        );
        assert!(
            JurisdictionCode::parse("XX")
                .unwrap_err()
                .contains("ISO 3166-1")
        );
        assert!(JurisdictionCode::parse("GBR").is_err());
        assert!(JurisdictionCode::parse("").is_err());
    }

    #[test]
    fn time_zones() {
        assert_eq!(
            parse_timezone("Europe/Dublin").unwrap(),
            chrono_tz::Europe::Dublin
        );
        assert!(parse_timezone("Europe/Atlantis").is_err());
        assert!(parse_timezone("").is_err());
    }

    #[test]
    fn roles_fit_their_organisation_kind() {
        use OrganisationKind as K;
        assert!(Role::LiaisonOfficer.fits(Some(K::Agency)).is_ok());
        assert!(Role::LiaisonOfficer.fits(Some(K::Provider)).is_err());
        assert!(Role::LiaisonOfficer.fits(None).is_err());
        assert!(
            Role::CentralAuthority
                .fits(Some(K::CentralAuthority))
                .is_ok()
        );
        assert!(Role::CentralAuthority.fits(Some(K::Agency)).is_err());
        assert!(Role::Provider.fits(Some(K::Provider)).is_ok());
        assert!(Role::Provider.fits(Some(K::CentralAuthority)).is_err());
        assert!(Role::Admin.fits(None).is_ok());
        assert!(Role::Admin.fits(Some(K::Agency)).is_ok());
    }

    #[test]
    fn vocabularies_round_trip() {
        for kind in OrganisationKind::ALL {
            assert_eq!(OrganisationKind::parse(kind.as_str()).unwrap(), *kind);
        }
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()).unwrap(), *role);
        }
        assert!(
            Role::parse("superuser")
                .unwrap_err()
                .contains("liaison_officer")
        );
    }

    #[test]
    fn default_memberships_follow_legal_md() {
        let of = |c: &str| default_memberships(&JurisdictionCode::parse(c).unwrap());
        assert_eq!(
            of("DE"),
            [
                "budapest",
                "eu",
                "eu_2023_1543",
                "eu_eio",
                "eu_2013_40",
                "ets_030"
            ]
        );
        // Ireland signed the Budapest Convention but has not ratified it, and
        // takes no part in the European Investigation Order.
        assert_eq!(of("IE"), ["eu", "eu_2023_1543", "eu_2013_40", "ets_030"]);
        // Denmark is bound by none of the three EU instruments.
        assert_eq!(of("DK"), ["budapest", "eu", "ets_030"]);
        assert_eq!(of("US"), ["budapest", "us_government"]);
        assert_eq!(of("GB"), ["budapest", "ets_030"]);
        assert_eq!(of("BR"), ["budapest"]);
        for party in ["UA", "TO", "BJ", "FJ", "KI", "CM", "SL", "GD", "CI"] {
            assert!(of(party).contains(&"budapest".to_owned()), "{party}");
        }
        assert!(of("CN").is_empty());
    }

    #[test]
    fn the_membership_lists_are_dated_sourced_and_well_formed() {
        let data = memberships();
        for m in &data.memberships {
            assert!(!m.source.trim().is_empty(), "{}", m.id);
            assert!(m.as_of <= data.checked, "{}", m.id);
            assert!(
                m.members.windows(2).all(|w| w[0] < w[1]),
                "{} not sorted",
                m.id
            );
            for code in &m.members {
                assert!(JurisdictionCode::parse(code).is_ok(), "{}: {code}", m.id);
            }
        }
        assert_eq!(membership("eu").unwrap().members.len(), 27);
        assert_eq!(membership("budapest").unwrap().members.len(), 75);
        assert!(parse_membership("narnia").unwrap_err().contains("budapest"));
    }

    #[test]
    fn holidays_ship_for_every_known_jurisdiction_for_three_years() {
        let shipped = shipped_holidays();
        assert!(shipped.missing.is_empty(), "{:?}", shipped.missing);
        // Sri Lanka publishes its calendar a year at a time; Ukraine keeps no
        // public holidays off work under martial law (since 2022).
        assert_eq!(shipped.uncovered.keys().collect::<Vec<_>>(), ["LK", "UA"]);
        assert_eq!(shipped.years, [2026, 2027, 2028]);
        for m in &memberships().memberships {
            for code in &m.members {
                let days = &shipped.jurisdictions[code];
                let uncovered = shipped.uncovered.get(code).cloned().unwrap_or_default();
                for year in &shipped.years {
                    assert_eq!(
                        days.iter().any(|(d, _)| d.year() == *year),
                        !uncovered.contains(year),
                        "{code} {year}"
                    );
                }
            }
        }
        // Easter Monday 2027 in the Netherlands, named; an admin's date added.
        let easter = NaiveDate::from_ymd_opt(2027, 3, 29).unwrap();
        let extra = NaiveDate::from_ymd_opt(2027, 7, 1).unwrap();
        let nl = holidays_of("NL", &[extra]);
        assert_eq!(nl[&easter], "Easter Monday");
        assert_eq!(nl[&extra], "public holiday entered by an administrator");
    }
}
