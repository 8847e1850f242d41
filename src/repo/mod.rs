//! Diesel queries per aggregate. Each function takes `&mut DbConn` and does one
//! thing, so that a use case can compose several in one transaction.

pub mod account_links;
pub mod account_proposals;
pub mod anchor;
pub mod audit;
pub mod cases;
pub mod deadlines;
pub mod evidence;
pub mod factors;
pub mod jurisdictions;
pub mod names;
pub mod organisations;
pub mod outbox;
pub mod portal_sessions;
pub mod reads;
pub mod requests;
pub mod sessions;
pub mod settings;
pub mod users;
pub mod webhooks;

/// Keyset paging: rows after `cursor` in key order, at most `limit`.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub cursor: Option<String>,
    pub limit: i64,
}

/// One page and the cursor for the next, if there is one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only says that
    /// there is more.
    pub fn from_overfetch(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(&key) } else { None };
        Page {
            items: rows,
            next_cursor,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}
