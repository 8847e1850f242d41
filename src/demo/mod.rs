//! A demo world to explore: jurisdictions, agencies, central authorities,
//! providers with retention periods, one account per role, and a worked case
//! (story.rs). Loading it twice changes nothing.

pub mod story;

use std::collections::BTreeMap;

use base64::Engine;

use crate::db::{DbConn, write_tx};
use crate::domain::audit::Actor;
use crate::domain::reference::{
    DataCategory, JurisdictionCode, OrganisationKind, Role, default_memberships, parse_timezone,
};
use crate::domain::validation::Email;
use crate::error::Error;
use crate::repo;
use crate::service::accounts::{self, NewUser};
use crate::service::reference::{self, NewJurisdiction, NewOrganisation};
use crate::state::AppState;

const JURISDICTIONS: [(&str, &str, &str); 6] = [
    ("GB", "United Kingdom", "Europe/London"),
    ("IE", "Ireland", "Europe/Dublin"),
    ("US", "United States", "America/New_York"),
    ("NL", "Netherlands", "Europe/Amsterdam"),
    ("DE", "Germany", "Europe/Berlin"),
    ("BR", "Brazil", "America/Sao_Paulo"),
];

struct DemoOrganisation {
    key: &'static str,
    name: &'static str,
    kind: OrganisationKind,
    jurisdiction: &'static str,
    contact_email: Option<&'static str>,
    /// subscriber, identification, traffic, content
    retention: Option<[u32; 4]>,
}

const ORGANISATIONS: [DemoOrganisation; 12] = [
    DemoOrganisation {
        key: "gb-agency",
        name: "Online Child Protection Unit (demo)",
        kind: OrganisationKind::Agency,
        jurisdiction: "GB",
        contact_email: None,
        retention: None,
    },
    DemoOrganisation {
        key: "de-agency",
        name: "Landeskriminalamt Cybercrime Unit (demo)",
        kind: OrganisationKind::Agency,
        jurisdiction: "DE",
        contact_email: None,
        retention: None,
    },
    DemoOrganisation {
        key: "ie-agency",
        name: "Child Protection Bureau (demo)",
        kind: OrganisationKind::Agency,
        jurisdiction: "IE",
        contact_email: None,
        retention: None,
    },
    DemoOrganisation {
        key: "gb-ca",
        name: "UK Central Authority (demo)",
        kind: OrganisationKind::CentralAuthority,
        jurisdiction: "GB",
        contact_email: Some("mla@ca.gb.demo.test"),
        retention: None,
    },
    DemoOrganisation {
        key: "ie-ca",
        name: "Irish Central Authority (demo)",
        kind: OrganisationKind::CentralAuthority,
        jurisdiction: "IE",
        contact_email: Some("mla@ca.ie.demo.test"),
        retention: None,
    },
    DemoOrganisation {
        key: "nl-ca",
        name: "Dutch Central Authority (demo)",
        kind: OrganisationKind::CentralAuthority,
        jurisdiction: "NL",
        contact_email: Some("mla@ca.nl.demo.test"),
        retention: None,
    },
    DemoOrganisation {
        key: "de-ca",
        name: "German Federal Office of Justice (demo)",
        kind: OrganisationKind::CentralAuthority,
        jurisdiction: "DE",
        contact_email: Some("mla@ca.de.demo.test"),
        retention: None,
    },
    DemoOrganisation {
        key: "us-ca",
        name: "US Office of International Affairs (demo)",
        kind: OrganisationKind::CentralAuthority,
        jurisdiction: "US",
        contact_email: Some("oia@ca.us.demo.test"),
        retention: None,
    },
    DemoOrganisation {
        key: "ie-provider",
        name: "Chatterbox Messaging Ltd (demo)",
        kind: OrganisationKind::Provider,
        jurisdiction: "IE",
        contact_email: Some("lawenforcement@chatterbox.demo.test"),
        retention: Some([365, 25, 90, 30]),
    },
    DemoOrganisation {
        key: "us-provider",
        name: "Pixelshare Inc. (demo)",
        kind: OrganisationKind::Provider,
        jurisdiction: "US",
        contact_email: Some("legal-process@pixelshare.demo.test"),
        retention: Some([730, 45, 180, 30]),
    },
    DemoOrganisation {
        key: "nl-provider",
        name: "Polder Hosting B.V. (demo)",
        kind: OrganisationKind::Provider,
        jurisdiction: "NL",
        contact_email: Some("abuse-legal@polderhosting.demo.test"),
        retention: Some([1825, 90, 180, 14]),
    },
    DemoOrganisation {
        key: "de-provider",
        name: "Rheinnetz GmbH (demo)",
        kind: OrganisationKind::Provider,
        jurisdiction: "DE",
        contact_email: Some("behoerden@rheinnetz.demo.test"),
        retention: Some([730, 7, 7, 7]),
    },
];

const USERS: [(&str, &str, Role, Option<&str>); 8] = [
    ("admin@demo.test", "Alex Admin", Role::Admin, None),
    (
        "officer@gb-police.demo.test",
        "Olivia Officer",
        Role::LiaisonOfficer,
        Some("gb-agency"),
    ),
    (
        "officer@de-police.demo.test",
        "Dieter Ermittler",
        Role::LiaisonOfficer,
        Some("de-agency"),
    ),
    (
        "ca@gb-ca.demo.test",
        "Callum Authority",
        Role::CentralAuthority,
        Some("gb-ca"),
    ),
    (
        "ca@de-ca.demo.test",
        "Dana Behörde",
        Role::CentralAuthority,
        Some("de-ca"),
    ),
    (
        "ca@ie-ca.demo.test",
        "Aoife Authority",
        Role::CentralAuthority,
        Some("ie-ca"),
    ),
    (
        "legal@chatterbox.demo.test",
        "Pat Provider",
        Role::Provider,
        Some("ie-provider"),
    ),
    (
        "legal@polderhosting.demo.test",
        "Nina Provider",
        Role::Provider,
        Some("nl-provider"),
    ),
];

/// A demo account and, when this load created it, its password.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub email: String,
    pub role: Role,
    pub organisation: Option<String>,
    pub password: Option<String>,
}

fn random_password() -> Result<String, Error> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(Error::internal)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// True when the database holds no accounts and no reference data.
pub fn database_is_empty(conn: &mut DbConn) -> Result<bool, Error> {
    Ok(repo::users::count(conn)? == 0 && repo::jurisdictions::count(conn)? == 0)
}

/// What a load made: the accounts, and the worked case if it was told now.
pub struct Loaded {
    pub accounts: Vec<DemoAccount>,
    pub story: Option<story::Told>,
}

/// Loads the demo world and its worked case in one transaction; what already
/// exists is kept as it is.
pub fn load(state: &AppState) -> Result<Loaded, Error> {
    let mut conn = state.pool.get()?;
    let conn = &mut conn;
    // Hash outside the transaction: it is the slow part.
    let mut prepared = Vec::new();
    for (email, _, _, _) in USERS {
        let password = random_password()?;
        let hash = accounts::hash_password(&password)?;
        prepared.push((email, password, hash));
    }
    let actor = Actor::system();
    write_tx(conn, |conn| {
        for (code, name, timezone) in JURISDICTIONS {
            if repo::jurisdictions::get(conn, code)?.is_none() {
                let code = JurisdictionCode::parse(code).map_err(Error::internal)?;
                reference::create_jurisdiction(
                    conn,
                    &actor,
                    NewJurisdiction {
                        memberships: default_memberships(&code),
                        holidays: Vec::new(),
                        code,
                        name: name.into(),
                        timezone: parse_timezone(timezone).map_err(Error::internal)?,
                    },
                )?;
            }
        }
        let mut organisation_ids = BTreeMap::new();
        for org in &ORGANISATIONS {
            let id = match repo::organisations::find_by_name(conn, org.jurisdiction, org.name)? {
                Some(existing) => existing.id,
                None => {
                    let retention = org
                        .retention
                        .map(|days| {
                            [
                                DataCategory::Subscriber,
                                DataCategory::Identification,
                                DataCategory::Traffic,
                                DataCategory::Content,
                            ]
                            .into_iter()
                            .zip(days)
                            .collect()
                        })
                        .unwrap_or_default();
                    reference::create_organisation(
                        conn,
                        &actor,
                        NewOrganisation {
                            name: org.name.into(),
                            kind: org.kind,
                            jurisdiction: JurisdictionCode::parse(org.jurisdiction)
                                .map_err(Error::internal)?,
                            contact_email: org
                                .contact_email
                                .map(Email::parse)
                                .transpose()
                                .map_err(Error::internal)?,
                            retention_days: retention,
                        },
                    )?
                    .id
                }
            };
            organisation_ids.insert(org.key, (id, org.name));
        }
        let mut accounts_out = Vec::new();
        for ((email, name, role, org_key), (_, password, hash)) in USERS.iter().zip(&prepared) {
            let organisation = org_key.map(|key| organisation_ids[key].clone());
            let created = if repo::users::find_by_email(conn, email)?.is_none() {
                accounts::create_user(
                    conn,
                    &actor,
                    NewUser {
                        email: Email::parse(email).map_err(Error::internal)?,
                        name: (*name).into(),
                        role: *role,
                        organisation_id: organisation.as_ref().map(|(id, _)| id.clone()),
                        password_hash: hash.clone(),
                    },
                )?;
                true
            } else {
                false
            };
            accounts_out.push(DemoAccount {
                email: (*email).into(),
                role: *role,
                organisation: organisation.map(|(_, name)| name.to_owned()),
                password: created.then(|| password.clone()),
            });
        }
        let told = story::tell(conn, &state.rules(), &state.store)?;
        Ok(Loaded {
            accounts: accounts_out,
            story: told,
        })
    })
}

/// The accounts and the worked case, for the terminal.
pub fn describe(loaded: &Loaded) -> String {
    let mut text = describe_accounts(&loaded.accounts);
    if let Some(told) = &loaded.story {
        text.push_str(&format!(
            "\nWorked case {} (sign in as officer@gb-police.demo.test to see it all):\n",
            told.case_reference
        ));
        for (reference, status, what) in &told.requests {
            text.push_str(&format!("  {reference:<20} {status:<17} {what}\n"));
        }
    }
    text
}

fn describe_accounts(accounts: &[DemoAccount]) -> String {
    let mut text = String::from("Demo accounts (passwords are shown once; store them now):\n");
    for account in accounts {
        let password = account
            .password
            .as_deref()
            .unwrap_or("(existed already: password unchanged)");
        text.push_str(&format!(
            "  {:<18} {:<32} {}\n      {}\n",
            account.role.as_str(),
            account.email,
            password,
            account.organisation.as_deref().unwrap_or("no organisation"),
        ));
    }
    text
}
