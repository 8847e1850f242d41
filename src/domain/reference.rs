//! Reference vocabularies: jurisdictions, organisation kinds, roles, data categories,
//! and the memberships that decide which instrument a jurisdiction may use.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

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

/// Memberships a legal basis can require of a jurisdiction.
pub const MEMBERSHIPS: [&str; 6] = [
    "budapest",
    "eu",
    "eu_2023_1543",
    "eu_eio",
    "us_government",
    "cets224",
];

const EU_MEMBER_STATES: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Parties to the Budapest Convention outside the EU that this build knows of
/// (secondary source: the Council of Europe treaty office as summarised in
/// LEGAL.md and public lists). Admins correct a jurisdiction's memberships when a
/// State ratifies or leaves.
const BUDAPEST_NON_EU: [&str; 40] = [
    "AD", "AL", "AM", "AR", "AU", "AZ", "BA", "BR", "CA", "CH", "CL", "CO", "CR", "CV", "DO", "GB",
    "GE", "GH", "IL", "IS", "JP", "LI", "LK", "MA", "MC", "MD", "ME", "MK", "MU", "NG", "NO", "PA",
    "PE", "PH", "PY", "RS", "SM", "SN", "TR", "US",
];

/// The memberships a new jurisdiction starts with, so that creating `DE` already
/// knows it is an EU Member State and a Budapest Party.
pub fn default_memberships(code: &JurisdictionCode) -> Vec<String> {
    let code = code.as_str();
    let mut memberships = Vec::new();
    let eu = EU_MEMBER_STATES.contains(&code);
    if eu || BUDAPEST_NON_EU.contains(&code) {
        memberships.push("budapest");
    }
    if eu {
        memberships.push("eu");
        // Denmark is not bound by Regulation 2023/1543; Denmark and Ireland do not
        // take part in the European Investigation Order (LEGAL.md, S).
        if code != "DK" {
            memberships.push("eu_2023_1543");
        }
        if code != "DK" && code != "IE" {
            memberships.push("eu_eio");
        }
    }
    if code == "US" {
        memberships.push("us_government");
    }
    memberships.into_iter().map(str::to_owned).collect()
}

pub fn parse_membership(text: &str) -> Result<String, String> {
    if MEMBERSHIPS.contains(&text) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text}` is not one of: {}",
            MEMBERSHIPS.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(of("DE"), ["budapest", "eu", "eu_2023_1543", "eu_eio"]);
        assert_eq!(of("IE"), ["budapest", "eu", "eu_2023_1543"]);
        assert_eq!(of("DK"), ["budapest", "eu"]);
        assert_eq!(of("US"), ["budapest", "us_government"]);
        assert_eq!(of("GB"), ["budapest"]);
        assert_eq!(of("BR"), ["budapest"]);
        assert!(of("CN").is_empty());
    }
}
