use actix_web::{HttpResponse, web};
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use super::paging::{Items, PageOut};
use crate::auth::Caller;
use crate::domain::deadlines::DeadlineStatus;
use crate::domain::validation::Errors;
use crate::error::Error;
use crate::repo::deadlines::{BoardQuery, DeadlineRow};
use crate::state::AppState;
use crate::time::UtcTime;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeadlineOut {
    pub request_id: String,
    pub kind: crate::domain::deadlines::DeadlineKind,
    pub due_at: UtcTime,
    pub due_local: String,
    pub timezone: String,
    pub status: DeadlineStatus,
    pub explanation: String,
    pub citation: String,
    pub verification: crate::domain::legal_bases::Verification,
}

impl From<DeadlineRow> for DeadlineOut {
    fn from(row: DeadlineRow) -> Self {
        DeadlineOut {
            request_id: row.request_id,
            kind: row.kind,
            due_at: row.due_at,
            due_local: row.due_local,
            timezone: row.timezone,
            status: row.status,
            explanation: row.explanation,
            citation: row.citation,
            verification: row.verification,
        }
    }
}

/// A request's deadlines, soonest first.
#[utoipa::path(get, path = "/api/v1/requests/{id}/deadlines", tag = "deadlines", security(("bearer" = [])), params(("id" = String, Path, format = Uuid, description = "A request")),
    responses((status = 200, description = "The request's deadlines, soonest first", body = Items<DeadlineOut>)))]
pub async fn for_request(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let (viewer, id) = (caller.viewer(), id.into_inner());
    let rows = state
        .db_as(&caller, move |conn| {
            let row = crate::service::requests::visible(conn, &viewer, &id)?;
            crate::service::deadlines::seen_by(conn, &viewer, &row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Items::<DeadlineOut>::of(rows)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BoardIn {
    /// How far ahead: `72h`, `14d` (default), at most 3650d.
    #[param(example = "14d")]
    pub within: Option<String>,
    /// `open` (default), `met`, `missed`, ... or `any`.
    pub status: Option<String>,
    /// The requests' statuses, one or several separated by commas.
    pub request_status: Option<String>,
    /// The requests' kinds, one or several separated by commas.
    pub kind: Option<String>,
    /// The requests' legal bases, one or several separated by commas.
    pub legal_basis: Option<String>,
    pub emergency: Option<bool>,
    #[param(format = Uuid)]
    pub responder_id: Option<String>,
    #[param(format = Uuid)]
    pub agency_id: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// `72h`, `14d`: how far ahead the board looks.
pub(crate) fn parse_within(text: &str) -> Result<TimeDelta, String> {
    let bad = || format!("`{text}` is not a span such as 72h or 14d (at most 3650d)");
    // Split before the last character, not the last byte: a multi-byte last
    // character would otherwise panic (found by schemathesis).
    let cut = text.char_indices().last().map_or(0, |(i, _)| i);
    let (number, unit) = text.split_at(cut);
    let n: i64 = number.parse().map_err(|_| bad())?;
    // Bounded before a TimeDelta is built: out of range it would panic.
    match unit {
        "h" if (1..=3650 * 24).contains(&n) => Ok(TimeDelta::hours(n)),
        "d" if (1..=3650).contains(&n) => Ok(TimeDelta::days(n)),
        _ => Err(bad()),
    }
}

/// The board's place after `d`, as `parse_cursor` reads it.
pub(crate) fn cursor_after(d: &DeadlineRow) -> String {
    format!("{}-{}", d.due_at.to_datetime().timestamp_micros(), d.id)
}

pub(crate) fn parse_cursor(text: &str) -> Result<(UtcTime, String), String> {
    let bad = || "is not a cursor this service returned".to_owned();
    let (micros, id) = text.split_once('-').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let at = chrono::DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
    uuid::Uuid::parse_str(id).map_err(|_| bad())?;
    Ok((UtcTime::from(at), id.to_owned()))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BoardItem {
    #[serde(flatten)]
    pub deadline: DeadlineOut,
    pub reference: String,
    pub request_status: crate::domain::workflow::Status,
    pub responder_id: String,
    pub responder_name: String,
}

/// The at-risk board: deadlines of the requests the caller may see, due within
/// the span (overdue ones included), soonest first.
#[utoipa::path(get, path = "/api/v1/deadlines", tag = "deadlines", security(("bearer" = [])), params(BoardIn),
    responses((status = 200, description = "Deadlines due within the span, overdue ones included", body = PageOut<BoardItem>)))]
pub async fn board(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<BoardIn>,
) -> Result<HttpResponse, Error> {
    let query = query.into_inner();
    let mut e = Errors::new();
    let within = e
        .check(
            "within",
            parse_within(query.within.as_deref().unwrap_or("14d")),
        )
        .unwrap_or_default();
    let status = match query.status.as_deref().unwrap_or("open") {
        "any" => None,
        other => e.check(
            "status",
            DeadlineStatus::parse(other).map_err(|m| format!("{m}, or any")),
        ),
    };
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        e.add("limit", "must be from 1 to 200");
    }
    let after = query
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .and_then(|c| e.check("cursor", parse_cursor(c)));
    let requests = super::requests::Narrowing {
        status: ("request_status", query.request_status.as_deref()),
        kind: query.kind.as_deref(),
        legal_basis: query.legal_basis.as_deref(),
        emergency: query.emergency,
        responder_id: query.responder_id.as_deref(),
        agency_id: query.agency_id.as_deref(),
    }
    .parse(&mut e, &state.catalogue);
    e.into_result()?;
    let q = BoardQuery {
        status,
        due_before: UtcTime::now() + within,
        requests,
        after,
        limit,
    };
    let viewer = caller.viewer();
    let mut rows = state
        .db_as(&caller, move |conn| {
            crate::service::deadlines::board(conn, &viewer, &q)
        })
        .await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| cursor_after(&r.deadline))
    } else {
        None
    };
    let items: Vec<BoardItem> = rows
        .into_iter()
        .map(|r| BoardItem {
            deadline: DeadlineOut::from(r.deadline),
            reference: r.reference,
            request_status: r.request_status,
            responder_id: r.responder_id,
            responder_name: r.responder_name,
        })
        .collect();
    Ok(HttpResponse::Ok().json(PageOut { items, next_cursor }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_cursors() {
        assert_eq!(parse_within("72h"), Ok(TimeDelta::hours(72)));
        assert_eq!(parse_within("14d"), Ok(TimeDelta::days(14)));
        for bad in [
            "",
            "h",
            "0d",
            "-3d",
            "3w",
            "4000d",
            "x1d",
            "99999999999999999h",
            "9223372036854775807d",
            "\u{80}",
            "3€",
            "€",
        ] {
            assert!(parse_within(bad).is_err(), "{bad}");
        }
        let (at, id) =
            parse_cursor("1795879077000000-01a222bb-f7fd-76e8-bfeb-f328e1a9fd5b").unwrap();
        assert_eq!(id, "01a222bb-f7fd-76e8-bfeb-f328e1a9fd5b");
        assert_eq!(at.to_datetime().timestamp_micros(), 1795879077000000);
        assert!(parse_cursor("abc").is_err());
        assert!(parse_cursor("12-nope").is_err());
    }
}
