//! Jurisdictions and organisations.

use std::collections::BTreeMap;

use chrono_tz::Tz;

use crate::db::{DbConn, new_id};
use crate::domain::audit::{Actor, REFERENCE_CHAIN};
use crate::domain::reference::{DataCategory, JurisdictionCode, OrganisationKind};
use crate::domain::validation::Email;
use crate::error::Error;
use crate::repo;
use crate::repo::audit::NewEvent;
use crate::repo::jurisdictions::JurisdictionRow;
use crate::repo::organisations::OrganisationRow;
use crate::time::UtcTime;

#[derive(Debug, Clone)]
pub struct NewJurisdiction {
    pub code: JurisdictionCode,
    pub name: String,
    pub timezone: Tz,
    pub memberships: Vec<String>,
    pub holidays: Vec<chrono::NaiveDate>,
}

/// A change to a jurisdiction; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct JurisdictionChange {
    pub name: Option<String>,
    pub timezone: Option<Tz>,
    pub memberships: Option<Vec<String>>,
    pub holidays: Option<Vec<chrono::NaiveDate>>,
}

/// Changes a jurisdiction: admins keep memberships and public holidays current.
/// Deadlines already stored are recomputed at the requests' next change or
/// watcher pass.
pub fn update_jurisdiction(
    conn: &mut DbConn,
    actor: &Actor,
    code: &str,
    change: JurisdictionChange,
) -> Result<JurisdictionRow, Error> {
    crate::db::lock_row(conn, "jurisdictions", "code", code)?;
    let mut row = repo::jurisdictions::get(conn, code)?
        .ok_or_else(|| Error::not_found(format!("no jurisdiction `{code}`")))?;
    let mut changed = serde_json::Map::new();
    if let Some(name) = change.name {
        changed.insert("name".into(), serde_json::json!(name));
        row.name = name;
    }
    if let Some(tz) = change.timezone {
        changed.insert("timezone".into(), serde_json::json!(tz.name()));
        row.timezone = tz.name().to_owned();
    }
    if let Some(memberships) = change.memberships {
        changed.insert("memberships".into(), serde_json::json!(memberships));
        row.memberships = serde_json::to_string(&memberships).map_err(Error::internal)?;
    }
    if let Some(mut holidays) = change.holidays {
        holidays.sort();
        holidays.dedup();
        changed.insert("holidays".into(), serde_json::json!(holidays));
        row.holidays = serde_json::to_string(&holidays).map_err(Error::internal)?;
    }
    repo::jurisdictions::update(conn, &row)?;
    repo::audit::append(
        conn,
        NewEvent {
            chain: REFERENCE_CHAIN.into(),
            actor,
            action: "jurisdiction_changed",
            object_type: "jurisdiction",
            object_id: Some(&row.code),
            request_id: None,
            details: serde_json::Value::Object(changed),
        },
    )?;
    Ok(row)
}

pub fn create_jurisdiction(
    conn: &mut DbConn,
    actor: &Actor,
    new: NewJurisdiction,
) -> Result<JurisdictionRow, Error> {
    let row = JurisdictionRow {
        code: new.code.as_str().to_owned(),
        name: new.name,
        timezone: new.timezone.name().to_owned(),
        memberships: serde_json::to_string(&new.memberships).map_err(Error::internal)?,
        created_at: UtcTime::now(),
        holidays: serde_json::to_string(&new.holidays).map_err(Error::internal)?,
    };
    repo::jurisdictions::insert(conn, &row).map_err(|e| {
        Error::from(e).when_taken(|| format!("jurisdiction `{}` already exists", row.code))
    })?;
    repo::audit::append(
        conn,
        NewEvent {
            chain: REFERENCE_CHAIN.into(),
            actor,
            action: "jurisdiction_created",
            object_type: "jurisdiction",
            object_id: Some(&row.code),
            request_id: None,
            details: serde_json::json!({
                "name": row.name, "timezone": row.timezone, "memberships": new.memberships,
            }),
        },
    )?;
    Ok(row)
}

#[derive(Debug, Clone)]
pub struct NewOrganisation {
    pub name: String,
    pub kind: OrganisationKind,
    pub jurisdiction: JurisdictionCode,
    pub contact_email: Option<Email>,
    pub retention_days: BTreeMap<DataCategory, u32>,
}

pub fn create_organisation(
    conn: &mut DbConn,
    actor: &Actor,
    new: NewOrganisation,
) -> Result<OrganisationRow, Error> {
    if repo::jurisdictions::get(conn, new.jurisdiction.as_str())?.is_none() {
        return Err(Error::field(
            "jurisdiction",
            format!(
                "no jurisdiction `{}` exists; create it first",
                new.jurisdiction.as_str()
            ),
        ));
    }
    let retention: BTreeMap<&str, u32> = new
        .retention_days
        .iter()
        .map(|(category, days)| (category.as_str(), *days))
        .collect();
    let row = OrganisationRow {
        id: new_id(),
        name: new.name,
        kind: new.kind,
        jurisdiction: new.jurisdiction.as_str().to_owned(),
        contact_email: new.contact_email.map(Email::into_string),
        retention_days: serde_json::to_string(&retention).map_err(Error::internal)?,
        created_at: UtcTime::now(),
    };
    repo::organisations::insert(conn, &row).map_err(|e| {
        Error::from(e).when_taken(|| {
            format!(
                "an organisation named `{}` already exists in {}",
                row.name, row.jurisdiction
            )
        })
    })?;
    repo::audit::append(
        conn,
        NewEvent {
            chain: REFERENCE_CHAIN.into(),
            actor,
            action: "organisation_created",
            object_type: "organisation",
            object_id: Some(&row.id),
            request_id: None,
            details: serde_json::json!({
                "name": row.name, "kind": row.kind, "jurisdiction": row.jurisdiction,
                "contact_email": row.contact_email, "retention_days": retention,
            }),
        },
    )?;
    Ok(row)
}
