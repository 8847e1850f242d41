//! A demo world to explore: jurisdictions, agencies, central authorities,
//! providers with retention periods, one account per role, and a worked case
//! (story.rs). Loading it twice changes nothing.

pub mod story;

use std::collections::BTreeMap;

use base64::Engine;

use crate::auth::totp::FactorSecret;
use crate::db::{DbConn, write_tx};
use crate::domain::reference::{DataCategory, OrganisationKind, Role};
use crate::error::Error;
use crate::repo;
use crate::service::{accounts, second_factor};
use crate::state::AppState;
use crate::world::{self, Person, Plan};

/// Key, name, kind, jurisdiction, contact address, and for a provider its
/// retention in days: subscriber, identification, traffic, content.
type DemoOrganisation = (
    &'static str,
    &'static str,
    OrganisationKind,
    &'static str,
    Option<&'static str>,
    Option<[u32; 4]>,
);

const ORGANISATIONS: [DemoOrganisation; 12] = [
    (
        "gb-agency",
        "Online Child Protection Unit (demo)",
        OrganisationKind::Agency,
        "GB",
        None,
        None,
    ),
    (
        "de-agency",
        "Landeskriminalamt Cybercrime Unit (demo)",
        OrganisationKind::Agency,
        "DE",
        None,
        None,
    ),
    (
        "ie-agency",
        "Child Protection Bureau (demo)",
        OrganisationKind::Agency,
        "IE",
        None,
        None,
    ),
    (
        "gb-ca",
        "UK Central Authority (demo)",
        OrganisationKind::CentralAuthority,
        "GB",
        Some("mla@ca.gb.demo.test"),
        None,
    ),
    (
        "ie-ca",
        "Irish Central Authority (demo)",
        OrganisationKind::CentralAuthority,
        "IE",
        Some("mla@ca.ie.demo.test"),
        None,
    ),
    (
        "nl-ca",
        "Dutch Central Authority (demo)",
        OrganisationKind::CentralAuthority,
        "NL",
        Some("mla@ca.nl.demo.test"),
        None,
    ),
    (
        "de-ca",
        "German Federal Office of Justice (demo)",
        OrganisationKind::CentralAuthority,
        "DE",
        Some("mla@ca.de.demo.test"),
        None,
    ),
    (
        "us-ca",
        "US Office of International Affairs (demo)",
        OrganisationKind::CentralAuthority,
        "US",
        Some("oia@ca.us.demo.test"),
        None,
    ),
    (
        "ie-provider",
        "Chatterbox Messaging Ltd (demo)",
        OrganisationKind::Provider,
        "IE",
        Some("lawenforcement@chatterbox.demo.test"),
        Some([365, 25, 90, 30]),
    ),
    (
        "us-provider",
        "Pixelshare Inc. (demo)",
        OrganisationKind::Provider,
        "US",
        Some("legal-process@pixelshare.demo.test"),
        Some([730, 45, 180, 30]),
    ),
    (
        "nl-provider",
        "Polder Hosting B.V. (demo)",
        OrganisationKind::Provider,
        "NL",
        Some("abuse-legal@polderhosting.demo.test"),
        Some([1825, 90, 180, 14]),
    ),
    (
        "de-provider",
        "Rheinnetz GmbH (demo)",
        OrganisationKind::Provider,
        "DE",
        Some("behoerden@rheinnetz.demo.test"),
        Some([730, 7, 7, 7]),
    ),
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
    /// The second factor's key (base32), set with the password.
    pub factor_key: Option<String>,
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

/// The demo's world, with a fresh password hash for each account.
fn plan(hashes: &[String]) -> Plan {
    let categories = [
        DataCategory::Subscriber,
        DataCategory::Identification,
        DataCategory::Traffic,
        DataCategory::Content,
    ];
    Plan {
        places: world::PLACES.to_vec(),
        organisations: ORGANISATIONS
            .iter()
            .map(
                |&(key, name, kind, jurisdiction, contact, retention)| world::Organisation {
                    key: key.into(),
                    name: name.into(),
                    kind,
                    jurisdiction,
                    contact_email: contact.map(Into::into),
                    retention_days: retention
                        .map(|days| categories.into_iter().zip(days).collect())
                        .unwrap_or_default(),
                },
            )
            .collect(),
        people: USERS
            .iter()
            .zip(hashes)
            .map(|(&(email, name, role, organisation), hash)| Person {
                email: email.into(),
                name: name.into(),
                role,
                organisation: organisation.map(Into::into),
                password_hash: hash.clone(),
            })
            .collect(),
    }
}

/// Loads the demo world and its worked case in one transaction; what already
/// exists is kept as it is.
pub fn load(state: &AppState) -> Result<Loaded, Error> {
    let mut conn = state.pool.get()?;
    // Hash outside the transaction: it is the slow part.
    let mut passwords = Vec::new();
    let mut hashes = Vec::new();
    for _ in USERS {
        let password = random_password()?;
        hashes.push(accounts::hash_password(&password)?);
        passwords.push(password);
    }
    let plan = plan(&hashes);
    write_tx(&mut conn, |conn| {
        let built = world::build(conn, &plan)?;
        // Each new account comes enrolled, its key printed beside its password.
        let now = crate::time::UtcTime::now();
        let mut keys = BTreeMap::new();
        for (email, (id, created)) in &built.people {
            if !created {
                continue;
            }
            let user = repo::users::get(conn, id)?
                .ok_or_else(|| Error::internal("a demo account vanished"))?;
            let secret = FactorSecret::generate().map_err(Error::internal)?;
            second_factor::enrol_directly(
                conn,
                &state.factor_key,
                &user,
                &secret,
                &crate::domain::audit::Actor::system(),
                now,
            )?;
            keys.insert(email.clone(), secret.to_base32());
        }
        let names: BTreeMap<&str, &str> = ORGANISATIONS
            .iter()
            .map(|&(key, name, ..)| (key, name))
            .collect();
        let accounts = USERS
            .iter()
            .zip(passwords)
            .map(|(&(email, _, role, organisation), password)| DemoAccount {
                email: email.into(),
                role,
                organisation: organisation.map(|key| names[key].to_owned()),
                password: built.people[email].1.then_some(password),
                factor_key: keys.remove(email),
            })
            .collect();
        let told = story::tell(conn, &state.rules(), &state.store)?;
        Ok(Loaded {
            accounts,
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
    let mut text = String::from(
        "Demo accounts: role, e-mail, password, second-factor key (shown once; store them now).\n\
         Sign-in asks for a code from the key: add the key to an authenticator app, or run\n\
         `oathtool --totp -b KEY`. Each code signs in once; the next comes within 30 seconds.\n",
    );
    for account in accounts {
        let password = account
            .password
            .as_deref()
            .unwrap_or("(existed already: password unchanged)");
        text.push_str(&format!(
            "  {:<18} {:<32} {} {}\n      {}\n",
            account.role.as_str(),
            account.email,
            password,
            account.factor_key.as_deref().unwrap_or(""),
            account.organisation.as_deref().unwrap_or("no organisation"),
        ));
    }
    text
}
