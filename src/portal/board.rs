//! The at-risk board: the deadlines of every request the person may see
//! that fall due soonest, overdue ones first, by the same use case as
//! `GET /api/v1/deadlines` (`service::deadlines::board`); for an officer,
//! also the answers, questions and evidence waiting to be read
//! (`service::reads`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::inbox::{Due, due};
use super::{Chrome, Failure, Visitor, page, words};
use crate::api::deadlines::{cursor_after, parse_cursor, parse_within};
use crate::domain::deadlines::DeadlineStatus;
use crate::domain::validation::Errors;
use crate::repo::deadlines::BoardQuery;
use crate::state::AppState;
use crate::time::UtcTime;

const SPANS: [(&str, &str); 4] = [
    ("72h", "the next 72 hours"),
    ("7d", "the next 7 days"),
    ("14d", "the next 14 days"),
    ("30d", "the next 30 days"),
];

const PAGE_ROWS: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct BoardIn {
    #[serde(default)]
    within: String,
    #[serde(default)]
    after: String,
}

struct Line {
    due: Due,
    request_id: String,
    reference: String,
    request_status: String,
    responder: String,
    explanation: String,
}

/// A request the responder acted on since the officer last opened it.
struct UnreadLine {
    request_id: String,
    reference: String,
    what: String,
    responder: String,
    at: String,
}

/// How many unread requests the board lists: the rest follow as these are
/// read.
const UNREAD_ROWS: i64 = 50;

#[derive(Template)]
#[template(path = "portal/board.html")]
struct BoardPage {
    chrome: Chrome,
    spans: Vec<(&'static str, &'static str, bool)>,
    lines: Vec<Line>,
    next_page: Option<String>,
    unread: Vec<UnreadLine>,
}

pub async fn show(
    state: web::Data<AppState>,
    visitor: Visitor,
    query: web::Query<BoardIn>,
) -> Result<HttpResponse, Failure> {
    let query = query.into_inner();
    let within_text = if query.within.is_empty() {
        "14d"
    } else {
        query.within.as_str()
    };
    let mut e = Errors::new();
    if !SPANS.iter().any(|(v, _)| *v == within_text) {
        e.add("within", "is one of 72h, 7d, 14d or 30d");
    }
    let within = e.check("within", parse_within(within_text));
    let after = (!query.after.is_empty())
        .then(|| e.check("after", parse_cursor(&query.after)))
        .flatten();
    e.into_result()?;
    let q = BoardQuery {
        status: Some(DeadlineStatus::Open),
        due_before: UtcTime::now() + within.unwrap_or_default(),
        requests: Default::default(),
        after,
        limit: PAGE_ROWS,
    };
    let viewer = visitor.viewer()?;
    let (mut rows, unread) = state
        .db(move |conn| {
            let rows = crate::service::deadlines::board(conn, &viewer, &q)?;
            let unread = crate::service::reads::waiting(conn, &viewer, UNREAD_ROWS)?;
            Ok((rows, unread))
        })
        .await?;
    let next_page = if rows.len() as i64 > PAGE_ROWS {
        rows.truncate(PAGE_ROWS as usize);
        rows.last().map(|r| {
            format!(
                "/at-risk?within={within_text}&after={}",
                cursor_after(&r.deadline)
            )
        })
    } else {
        None
    };
    let now = UtcTime::now();
    let html = BoardPage {
        chrome: visitor.chrome(),
        spans: SPANS
            .iter()
            .map(|(value, label)| (*value, *label, *value == within_text))
            .collect(),
        lines: rows
            .into_iter()
            .map(|r| Line {
                due: due(&r.deadline, now),
                request_id: r.deadline.request_id.clone(),
                reference: r.reference,
                request_status: words(r.request_status.as_str()),
                responder: r.responder_name,
                explanation: r.deadline.explanation,
            })
            .collect(),
        next_page,
        unread: unread
            .into_iter()
            .map(|u| UnreadLine {
                request_id: u.request.id,
                reference: u.request.reference,
                what: words(&u.what),
                responder: u.responder_name,
                at: super::inbox::minute(u.at),
            })
            .collect(),
    };
    Ok(page(StatusCode::OK, super::pages::render(&html)?))
}
