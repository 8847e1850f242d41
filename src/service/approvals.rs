//! A central authority's approval queue: what waits for its decision, the
//! most urgent first.

use std::cmp::{Ordering, Reverse};
use std::collections::BTreeMap;

use crate::db::DbConn;
use crate::domain::access::Viewer;
use crate::domain::deadlines::{DeadlineKind, DeadlineStatus};
use crate::domain::legal_bases::Catalogue;
use crate::domain::workflow::Action;
use crate::error::Error;
use crate::repo;
use crate::repo::deadlines::DeadlineRow;
use crate::repo::requests::RequestRow;
use crate::time::UtcTime;

/// How many requests the queue reads at most: a central authority's queue
/// is a working list, not an archive.
pub const QUEUE_MAX: i64 = 500;

pub struct Waiting {
    pub request: RequestRow,
    /// The soonest open clock of the request, retention risk included.
    pub next: Option<DeadlineRow>,
    /// Transmitted as an emergency before approval, to be validated
    /// afterwards: the clock of that validation.
    pub validation: Option<DeadlineRow>,
    pub agency_name: String,
}

/// Where a waiting request stands in the queue: emergencies first, then
/// the soonest clock (a request with none after those with one), then the
/// longest waiting.
pub fn urgency(
    emergency: bool,
    due: Option<UtcTime>,
    submitted_at: Option<UtcTime>,
    id: &str,
) -> impl Ord + '_ {
    (Reverse(emergency), due.is_none(), due, submitted_at, id)
}

fn by_urgency(a: &Waiting, b: &Waiting) -> Ordering {
    let (x, y) = (&a.request, &b.request);
    urgency(
        x.emergency,
        a.next.as_ref().map(|d| d.due_at),
        x.submitted_at,
        &x.id,
    )
    .cmp(&urgency(
        y.emergency,
        b.next.as_ref().map(|d| d.due_at),
        y.submitted_at,
        &y.id,
    ))
}

/// The requests waiting for `viewer`'s decision, the most urgent first:
/// those it may approve now, as the workflow says
/// (`service::requests::open_steps`).
pub fn queue(
    conn: &mut DbConn,
    catalogue: &Catalogue,
    viewer: &Viewer,
) -> Result<Vec<Waiting>, Error> {
    let candidates = repo::requests::approval_candidates(conn, viewer, QUEUE_MAX)?;
    let mut waiting = Vec::new();
    for row in candidates {
        if crate::service::requests::open_steps(viewer, catalogue, &row)?.contains(&Action::Approve)
        {
            waiting.push(row);
        }
    }
    let ids: Vec<String> = waiting.iter().map(|r| r.id.clone()).collect();
    let mut next: BTreeMap<String, DeadlineRow> = BTreeMap::new();
    let mut validation: BTreeMap<String, DeadlineRow> = BTreeMap::new();
    for d in repo::deadlines::for_requests(conn, &ids)? {
        if d.status != DeadlineStatus::Open {
            continue;
        }
        if d.kind == DeadlineKind::ExPostValidation {
            validation.insert(d.request_id.clone(), d.clone());
        }
        if next.get(&d.request_id).is_none_or(|n| d.due_at < n.due_at) {
            next.insert(d.request_id.clone(), d);
        }
    }
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::with_capacity(waiting.len());
    for request in waiting {
        if !names.contains_key(&request.agency_id) {
            let name = repo::organisations::get(conn, &request.agency_id)?
                .map_or_else(|| request.agency_id.clone(), |o| o.name);
            names.insert(request.agency_id.clone(), name);
        }
        out.push(Waiting {
            next: next.remove(&request.id),
            validation: validation.remove(&request.id),
            agency_name: names[&request.agency_id].clone(),
            request,
        });
    }
    out.sort_by(by_urgency);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::identifiers::parse_instant;

    #[test]
    fn emergencies_come_first_then_the_soonest_clock_then_the_longest_waiting() {
        let t = |s: &str| Some(parse_instant(s).unwrap());
        let mut queue = [
            ("no clock", false, None, t("2026-11-01T00:00:00Z")),
            (
                "later clock",
                false,
                t("2026-12-20T00:00:00Z"),
                t("2026-11-01T00:00:00Z"),
            ),
            (
                "soon clock",
                false,
                t("2026-12-05T00:00:00Z"),
                t("2026-11-30T00:00:00Z"),
            ),
            ("emergency", true, t("2026-12-30T00:00:00Z"), None),
            (
                "same clock, waiting longer",
                false,
                t("2026-12-05T00:00:00Z"),
                t("2026-11-02T00:00:00Z"),
            ),
        ];
        queue.sort_by(|a, b| urgency(a.1, a.2, a.3, a.0).cmp(&urgency(b.1, b.2, b.3, b.0)));
        let order: Vec<&str> = queue.iter().map(|w| w.0).collect();
        assert_eq!(
            order,
            [
                "emergency",
                "same clock, waiting longer",
                "soon clock",
                "later clock",
                "no clock"
            ]
        );
    }
}
