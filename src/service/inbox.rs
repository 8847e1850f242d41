//! A responder's inbox: the requests addressed to its organisation, the
//! soonest clock it still owes first, each with the deadline that puts it
//! there.

use crate::db::DbConn;
use crate::domain::access::Viewer;
use crate::domain::deadlines::ISSUING_SIDE;
use crate::error::Error;
use crate::repo;
use crate::repo::deadlines::DeadlineRow;
use crate::repo::requests::{InboxAfter, InboxFilter, RequestRow};
use crate::time::UtcTime;

pub struct InboxLine {
    pub request: RequestRow,
    pub issuer_name: String,
    /// The clock the responder owes soonest, if it owes one.
    pub next: Option<DeadlineRow>,
}

pub struct InboxPage {
    pub lines: Vec<InboxLine>,
    pub next: Option<InboxAfter>,
}

/// One page of the inbox.
pub fn page(
    conn: &mut DbConn,
    viewer: &Viewer,
    filter: &InboxFilter,
    after: Option<&InboxAfter>,
    limit: i64,
) -> Result<InboxPage, Error> {
    let (rows, next) = repo::requests::inbox(conn, viewer, filter, after, limit)?;
    let ids: Vec<String> = rows.iter().map(|r| r.request.id.clone()).collect();
    let mut clocks = repo::deadlines::for_requests(conn, &ids)?;
    let lines = rows
        .into_iter()
        .map(|row| {
            let next = row.responder_due_at.and_then(|due| {
                let at = clocks.iter().position(|d| {
                    d.request_id == row.request.id
                        && d.due_at == due
                        && !ISSUING_SIDE.contains(&d.kind.as_str())
                })?;
                Some(clocks.swap_remove(at))
            });
            InboxLine {
                request: row.request,
                issuer_name: row.issuer_name,
                next,
            }
        })
        .collect();
    Ok(InboxPage { lines, next })
}

/// A page's place as text for a link: `d<microseconds>.<id>` among requests
/// owing a clock, `u.<id>` among those owing none.
pub fn cursor_text(after: &InboxAfter) -> String {
    match after {
        InboxAfter::Due(due, id) => format!("d{}.{id}", due.to_datetime().timestamp_micros()),
        InboxAfter::Undated(id) => format!("u.{id}"),
    }
}

pub fn parse_cursor(text: &str) -> Result<InboxAfter, String> {
    let bad = || "is not a place in the inbox; start from its first page".to_owned();
    let (head, id) = text.split_once('.').ok_or_else(bad)?;
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(bad());
    }
    match head.strip_prefix('d') {
        Some(micros) => {
            let micros: i64 = micros.parse().map_err(|_| bad())?;
            let at = chrono::DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
            Ok(InboxAfter::Due(UtcTime::from(at), id.to_owned()))
        }
        None if head == "u" => Ok(InboxAfter::Undated(id.to_owned())),
        None => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inbox_cursor_reads_back_as_written_and_nothing_else_reads() {
        let id = "01a222bb-f7fd-76e8-bfeb-f328e1a9fd5b".to_owned();
        let at = UtcTime::from(
            chrono::DateTime::parse_from_rfc3339("2027-01-19T00:00:00.123456Z")
                .unwrap()
                .to_utc(),
        );
        for after in [InboxAfter::Due(at, id.clone()), InboxAfter::Undated(id)] {
            assert_eq!(parse_cursor(&cursor_text(&after)), Ok(after));
        }
        for bad in [
            "",
            "d.",
            "u.x",
            "x.01a222bb-f7fd-76e8-bfeb-f328e1a9fd5b",
            "d1e3.01a222bb-f7fd-76e8-bfeb-f328e1a9fd5b",
        ] {
            assert!(parse_cursor(bad).is_err(), "{bad}");
        }
    }
}
