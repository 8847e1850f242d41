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
/// A change of calendar (holidays, time zone) marks the jurisdiction's open
/// requests for recomputation; `recompute_after_change` then does it.
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
    // Deadlines count in the jurisdiction's calendar: stored ones are
    // recomputed, and the mark is kept with the change so that a stop
    // before that is done loses nothing (`upgrade::recompute_pending`).
    if changed.contains_key("holidays") || changed.contains_key("timezone") {
        crate::service::upgrade::mark_pending(
            conn,
            &crate::service::upgrade::Scope::Jurisdiction(code.to_owned()),
            UtcTime::now(),
        )?;
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

/// A change to an organisation; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct OrganisationChange {
    pub name: Option<String>,
    /// `Some(None)` removes it.
    pub contact_email: Option<Option<Email>>,
    pub retention_days: Option<BTreeMap<DataCategory, u32>>,
}

/// Changes an organisation's name, contact or retention profile, audited; a
/// new retention profile marks the provider's open requests for
/// recomputation (their retention risks move with it).
pub fn update_organisation(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    change: OrganisationChange,
) -> Result<OrganisationRow, Error> {
    crate::db::lock_row(conn, "organisations", "id", id)?;
    let mut row = repo::organisations::get(conn, id)?
        .ok_or_else(|| Error::not_found(format!("no organisation `{id}`")))?;
    let mut changed = serde_json::Map::new();
    if let Some(name) = change.name
        && name != row.name
    {
        changed.insert(
            "name".into(),
            serde_json::json!({"from": row.name, "to": name}),
        );
        row.name = name;
    }
    if let Some(email) = change.contact_email {
        let email = email.map(Email::into_string);
        if email != row.contact_email {
            changed.insert(
                "contact_email".into(),
                serde_json::json!({"from": row.contact_email, "to": email}),
            );
            row.contact_email = email;
        }
    }
    if let Some(retention) = change.retention_days {
        let retention: BTreeMap<&str, u32> = retention
            .iter()
            .map(|(category, days)| (category.as_str(), *days))
            .collect();
        let text = serde_json::to_string(&retention).map_err(Error::internal)?;
        if text != row.retention_days {
            changed.insert(
                "retention_days".into(),
                serde_json::json!({
                    "from": serde_json::from_str::<serde_json::Value>(&row.retention_days)
                        .map_err(Error::internal)?,
                    "to": retention,
                }),
            );
            row.retention_days = text;
            crate::service::upgrade::mark_pending(
                conn,
                &crate::service::upgrade::Scope::Responder(row.id.clone()),
                UtcTime::now(),
            )?;
        }
    }
    if changed.is_empty() {
        return Ok(row);
    }
    repo::organisations::update(conn, &row).map_err(|e| {
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
            action: "organisation_changed",
            object_type: "organisation",
            object_id: Some(&row.id),
            request_id: None,
            details: serde_json::Value::Object(changed),
        },
    )?;
    Ok(row)
}

/// What recomputing after a calendar change did, when it finished within
/// the time a page waits for it.
pub enum Recomputation {
    Done(
        Vec<(
            crate::service::upgrade::Scope,
            crate::service::upgrade::Recomputed,
        )>,
    ),
    /// Still running: it finishes in the background, or at the watcher's
    /// next pass if this process stops first.
    Continuing,
}

/// Recomputes the deadlines a calendar change moved, off the request's
/// thread, waiting at most `wait` for it.
pub async fn recompute_after_change(
    state: std::sync::Arc<crate::state::AppState>,
    wait: std::time::Duration,
) -> Recomputation {
    let task = tokio::task::spawn_blocking(move || {
        let mut conn = state.pool.get().map_err(Error::from)?;
        crate::service::upgrade::recompute_pending(&mut conn, &state.writers, &state.rules())
    });
    match tokio::time::timeout(wait, task).await {
        Ok(Ok(Ok(done))) => Recomputation::Done(done),
        Ok(Ok(Err(e))) => {
            tracing::error!(error = %e, "recomputing after a calendar change failed; the watcher retries");
            Recomputation::Continuing
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "recomputing after a calendar change stopped; the watcher retries");
            Recomputation::Continuing
        }
        Err(_) => Recomputation::Continuing,
    }
}
