//! The inbox of whoever requests are addressed to: the soonest clock owed
//! first (`service::inbox`), narrowed by status, kind, emergency and a search.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Chrome, Failure, Visitor, page, words};
use crate::domain::reference::RequestKind;
use crate::domain::validation::Errors;
use crate::domain::workflow::Status;
use crate::repo::requests::InboxFilter;
use crate::service::inbox;
use crate::state::AppState;
use crate::time::UtcTime;

/// The statuses a request can have once it is addressed to someone: the
/// inbox's status filter offers only these.
const ADDRESSED: &[Status] = &[
    Status::Transmitted,
    Status::Acknowledged,
    Status::ClarificationRequested,
    Status::Preserved,
    Status::Fulfilled,
    Status::Refused,
    Status::Moved,
    Status::Released,
    Status::Expired,
    Status::Withdrawn,
];

/// Rows on a page of the inbox.
pub const PAGE_ROWS: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct InboxQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    emergency: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    after: String,
}

pub(super) struct Choice {
    pub value: &'static str,
    pub label: String,
    pub chosen: bool,
}

struct Line {
    id: String,
    reference: String,
    emergency: bool,
    kind: String,
    status: String,
    issuer: String,
    next: Option<Due>,
}

pub(super) struct Due {
    pub what: String,
    pub utc: String,
    pub local: String,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "portal/inbox.html")]
struct InboxPage {
    chrome: Chrome,
    statuses: Vec<Choice>,
    kinds: Vec<Choice>,
    emergency: Vec<Choice>,
    search: String,
    lines: Vec<Line>,
    filtered: bool,
    next_page: Option<String>,
}

/// An instant as people read it: to the minute, in UTC.
pub(super) fn minute(at: UtcTime) -> String {
    at.to_datetime().format("%Y-%m-%d %H:%M UTC").to_string()
}

pub(super) fn due(d: &crate::repo::deadlines::DeadlineRow, now: UtcTime) -> Due {
    Due {
        what: words(d.kind.as_str()),
        utc: minute(d.due_at),
        local: format!("{} ({})", d.due_local, d.timezone),
        overdue: d.due_at < now,
    }
}

pub(super) fn choices<T: Copy + PartialEq>(
    all: &[T],
    chosen: Option<T>,
    name: impl Fn(T) -> &'static str,
) -> Vec<Choice> {
    all.iter()
        .map(|v| Choice {
            value: name(*v),
            label: words(name(*v)),
            chosen: chosen == Some(*v),
        })
        .collect()
}

pub async fn show(
    state: web::Data<AppState>,
    visitor: Visitor,
    query: web::Query<InboxQuery>,
) -> Result<HttpResponse, Failure> {
    let query = query.into_inner();
    let mut e = Errors::new();
    let status = (!query.status.is_empty())
        .then(|| e.check("status", Status::parse(&query.status)))
        .flatten();
    let kind = (!query.kind.is_empty())
        .then(|| e.check("kind", RequestKind::parse(&query.kind)))
        .flatten();
    let emergency = match query.emergency.as_str() {
        "" => None,
        "yes" => Some(true),
        "no" => Some(false),
        _ => {
            e.add("emergency", "is yes, no, or empty for both");
            None
        }
    };
    let search = query.q.trim().to_owned();
    if search.chars().count() > 200 {
        e.add("q", "is at most 200 characters");
    }
    let after = (!query.after.is_empty())
        .then(|| e.check("after", inbox::parse_cursor(&query.after)))
        .flatten();
    e.into_result()?;
    let filter = InboxFilter {
        status,
        kind,
        emergency,
        search: (!search.is_empty()).then(|| search.clone()),
    };
    let viewer = visitor.viewer()?;
    let reader = filter.clone();
    let found = state
        .db(move |conn| inbox::page(conn, &viewer, &reader, after.as_ref(), PAGE_ROWS))
        .await?;
    let now = UtcTime::now();
    let next_page = found.next.as_ref().map(|after| {
        let mut link = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("status", query.status.as_str()),
            ("kind", query.kind.as_str()),
            ("emergency", query.emergency.as_str()),
            ("q", search.as_str()),
        ] {
            if !value.is_empty() {
                link.append_pair(key, value);
            }
        }
        link.append_pair("after", &inbox::cursor_text(after));
        format!("/inbox?{}", link.finish())
    });
    let html = InboxPage {
        chrome: visitor.chrome(),
        statuses: choices(ADDRESSED, status, Status::as_str),
        kinds: choices(RequestKind::ALL, kind, RequestKind::as_str),
        emergency: vec![
            Choice {
                value: "yes",
                label: "emergencies only".into(),
                chosen: emergency == Some(true),
            },
            Choice {
                value: "no",
                label: "no emergencies".into(),
                chosen: emergency == Some(false),
            },
        ],
        filtered: status.is_some()
            || kind.is_some()
            || emergency.is_some()
            || filter.search.is_some(),
        search,
        lines: found
            .lines
            .into_iter()
            .map(|line| Line {
                next: line.next.as_ref().map(|d| due(d, now)),
                id: line.request.id,
                reference: line.request.reference,
                emergency: line.request.emergency,
                kind: words(line.request.kind.as_str()),
                status: words(line.request.status.as_str()),
                issuer: line.issuer_name,
            })
            .collect(),
        next_page,
    };
    Ok(page(StatusCode::OK, super::pages::render(&html)?))
}
