//! `limit` and `cursor` query parameters, and the page document.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::repo::{Page, PageRequest};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// At most 200; 50 when left out.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn to_request(&self) -> Result<PageRequest, Error> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::field(
                "limit",
                format!("must be from 1 to {MAX_LIMIT}"),
            ));
        }
        let cursor = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(c)
                if c.len() <= 64 && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-') =>
            {
                Some(c.to_owned())
            }
            Some(_) => {
                return Err(Error::field(
                    "cursor",
                    "is not a cursor this service returned",
                ));
            }
        };
        Ok(PageRequest { cursor, limit })
    }
}

/// One page of a list; pass `next_cursor` as `cursor` for the next, until it is null.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PageOut<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A whole, bounded list (a request's deadlines, its trail...).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

impl<T> Items<T> {
    pub fn of(items: impl IntoIterator<Item = impl Into<T>>) -> Self {
        Items {
            items: items.into_iter().map(Into::into).collect(),
        }
    }
}

impl<T> PageOut<T> {
    /// A page of documents built from a page of rows, failing if any row does.
    pub fn try_from_page<R, E>(page: Page<R>, f: impl FnMut(R) -> Result<T, E>) -> Result<Self, E> {
        Ok(PageOut {
            items: page
                .items
                .into_iter()
                .map(f)
                .collect::<Result<Vec<_>, E>>()?,
            next_cursor: page.next_cursor,
        })
    }
}

impl<T> From<Page<T>> for PageOut<T> {
    fn from(page: Page<T>) -> Self {
        PageOut {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}
