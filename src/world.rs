//! A world to start from: jurisdictions, organisations and accounts, created
//! through the same use cases an administrator's calls go through (so each has
//! its audit event). The demo, the tests and the benchmark each describe the
//! world they need and build it here; building it again keeps what exists.

use std::collections::BTreeMap;

use crate::db::DbConn;
use crate::domain::audit::Actor;
use crate::domain::reference::{
    DataCategory, JurisdictionCode, OrganisationKind, Role, default_memberships, parse_timezone,
};
use crate::domain::validation::Email;
use crate::error::Error;
use crate::repo;
use crate::service::accounts::{self, NewUser};
use crate::service::reference::{self, NewJurisdiction, NewOrganisation};

/// A jurisdiction: ISO code, name, IANA time zone.
#[derive(Debug, Clone)]
pub struct Place {
    pub code: &'static str,
    pub name: &'static str,
    pub timezone: &'static str,
}

/// The jurisdictions the demo, the tests and the benchmark draw on.
pub const PLACES: [Place; 6] = [
    Place {
        code: "GB",
        name: "United Kingdom",
        timezone: "Europe/London",
    },
    Place {
        code: "IE",
        name: "Ireland",
        timezone: "Europe/Dublin",
    },
    Place {
        code: "US",
        name: "United States",
        timezone: "America/New_York",
    },
    Place {
        code: "NL",
        name: "Netherlands",
        timezone: "Europe/Amsterdam",
    },
    Place {
        code: "DE",
        name: "Germany",
        timezone: "Europe/Berlin",
    },
    Place {
        code: "BR",
        name: "Brazil",
        timezone: "America/Sao_Paulo",
    },
];

/// Those of `PLACES` with these codes, in `PLACES`' order.
pub fn places(codes: &[&str]) -> Vec<Place> {
    PLACES
        .iter()
        .filter(|p| codes.contains(&p.code))
        .cloned()
        .collect()
}

/// An organisation, named by `key` in the people's descriptions.
#[derive(Debug, Clone)]
pub struct Organisation {
    pub key: String,
    pub name: String,
    pub kind: OrganisationKind,
    pub jurisdiction: &'static str,
    pub contact_email: Option<String>,
    /// A provider's retention period per category, in days.
    pub retention_days: Vec<(DataCategory, u32)>,
}

/// An account; `organisation` is an organisation's key (none for an administrator).
#[derive(Debug, Clone)]
pub struct Person {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub organisation: Option<String>,
    /// Already hashed: hashing is slow and stays outside the transaction.
    pub password_hash: String,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub places: Vec<Place>,
    pub organisations: Vec<Organisation>,
    pub people: Vec<Person>,
}

/// What the world holds after a build.
#[derive(Debug, Clone, Default)]
pub struct Built {
    /// Organisation ids by key.
    pub organisations: BTreeMap<String, String>,
    /// Account ids by e-mail address, and whether this build created them.
    pub people: BTreeMap<String, (String, bool)>,
}

impl Built {
    pub fn organisation(&self, key: &str) -> &str {
        &self.organisations[key]
    }

    pub fn person(&self, email: &str) -> &str {
        &self.people[email].0
    }
}

/// Creates what `plan` describes and is not there yet, inside the caller's
/// transaction. A mistake in the plan is a bug of its author: an internal
/// error. An organisation is recognised by its jurisdiction and name,
/// an account by its address; what exists is kept as it is.
pub fn build(conn: &mut DbConn, plan: &Plan) -> Result<Built, Error> {
    let actor = Actor::system();
    for place in &plan.places {
        if repo::jurisdictions::get(conn, place.code)?.is_none() {
            let code = JurisdictionCode::parse(place.code).map_err(Error::internal)?;
            reference::create_jurisdiction(
                conn,
                &actor,
                NewJurisdiction {
                    memberships: default_memberships(&code),
                    holidays: Vec::new(),
                    code,
                    name: place.name.into(),
                    timezone: parse_timezone(place.timezone).map_err(Error::internal)?,
                },
            )?;
        }
    }
    let mut built = Built::default();
    for org in &plan.organisations {
        let id = match repo::organisations::find_by_name(conn, org.jurisdiction, &org.name)? {
            Some(existing) => existing.id,
            None => {
                reference::create_organisation(
                    conn,
                    &actor,
                    NewOrganisation {
                        name: org.name.clone(),
                        kind: org.kind,
                        jurisdiction: JurisdictionCode::parse(org.jurisdiction)
                            .map_err(Error::internal)?,
                        contact_email: org
                            .contact_email
                            .as_deref()
                            .map(Email::parse)
                            .transpose()
                            .map_err(Error::internal)?,
                        retention_days: org.retention_days.iter().copied().collect(),
                    },
                )?
                .id
            }
        };
        built.organisations.insert(org.key.clone(), id);
    }
    for person in &plan.people {
        let organisation_id = match &person.organisation {
            Some(key) => Some(built.organisations.get(key).cloned().ok_or_else(|| {
                Error::internal(format!(
                    "{} belongs to `{key}`, which the plan does not describe",
                    person.email
                ))
            })?),
            None => None,
        };
        let entry = match repo::users::find_by_email(conn, &person.email)? {
            Some(existing) => (existing.id, false),
            None => {
                let user = accounts::create_user(
                    conn,
                    &actor,
                    NewUser {
                        email: Email::parse(&person.email).map_err(Error::internal)?,
                        name: person.name.clone(),
                        role: person.role,
                        organisation_id,
                        password_hash: person.password_hash.clone(),
                    },
                )?;
                (user.id, true)
            }
        };
        built.people.insert(person.email.clone(), entry);
    }
    Ok(built)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            places: vec![Place {
                code: "IE",
                name: "Ireland",
                timezone: "Europe/Dublin",
            }],
            organisations: vec![Organisation {
                key: "provider".into(),
                name: "Provider".into(),
                kind: OrganisationKind::Provider,
                jurisdiction: "IE",
                contact_email: Some("legal@provider.example".into()),
                retention_days: vec![(DataCategory::Traffic, 90)],
            }],
            people: vec![Person {
                email: "legal@provider.example".into(),
                name: "Pat".into(),
                role: Role::Provider,
                organisation: Some("provider".into()),
                password_hash: "$argon2id$not-a-real-hash".into(),
            }],
        }
    }

    fn database() -> (tempfile::TempDir, DbConn) {
        let dir = tempfile::tempdir().unwrap();
        let url = crate::db::DatabaseUrl::Sqlite(dir.path().join("w.db"));
        let mut conn = crate::db::conn::establish(&url).unwrap();
        crate::db::migrations::run_pending(&mut conn).unwrap();
        (dir, conn)
    }

    #[test]
    fn building_twice_keeps_what_the_first_build_made() {
        let (_dir, mut conn) = database();
        let first = build(&mut conn, &plan()).unwrap();
        assert!(first.people["legal@provider.example"].1, "created");
        let again = build(&mut conn, &plan()).unwrap();
        assert_eq!(again.organisations, first.organisations);
        assert_eq!(
            again.people["legal@provider.example"],
            (first.person("legal@provider.example").to_owned(), false)
        );
        let user = repo::users::find_by_email(&mut conn, "legal@provider.example")
            .unwrap()
            .unwrap();
        assert_eq!(
            user.organisation_id.as_deref(),
            Some(first.organisation("provider"))
        );
    }

    #[test]
    fn a_person_of_an_organisation_the_plan_lacks_is_refused() {
        let (_dir, mut conn) = database();
        let mut plan = plan();
        plan.people[0].organisation = Some("elsewhere".into());
        let err = build(&mut conn, &plan).unwrap_err();
        let said = crate::error::describe(&err);
        assert!(said.contains("elsewhere"), "{said}");
    }
}
