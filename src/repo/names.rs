//! Display names for the ids a document carries, loaded once for a page:
//! organisations by name, people by name, so that nobody reading an answer
//! needs a second call (or the administrator's rights) to know who is meant.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{organisations, users};

#[derive(Debug, Clone, Default)]
pub struct Names {
    organisations: BTreeMap<String, String>,
    people: BTreeMap<String, String>,
}

/// The ids a page of documents names, gathered before their names are read.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    organisations: BTreeSet<String>,
    people: BTreeSet<String>,
}

impl Wanted {
    pub fn organisation(&mut self, id: impl AsRef<str>) -> &mut Self {
        self.organisations.insert(id.as_ref().to_owned());
        self
    }

    pub fn person(&mut self, id: impl AsRef<str>) -> &mut Self {
        self.people.insert(id.as_ref().to_owned());
        self
    }

    /// Their names, in two queries whatever the page's size.
    pub fn load(&self, conn: &mut DbConn) -> QueryResult<Names> {
        let mut names = Names::default();
        if !self.organisations.is_empty() {
            let ids: Vec<&String> = self.organisations.iter().collect();
            names.organisations = organisations::table
                .filter(organisations::id.eq_any(ids))
                .select((organisations::id, organisations::name))
                .load::<(String, String)>(conn)?
                .into_iter()
                .collect();
        }
        if !self.people.is_empty() {
            let ids: Vec<&String> = self.people.iter().collect();
            names.people = users::table
                .filter(users::id.eq_any(ids))
                .select((users::id, users::name))
                .load::<(String, String)>(conn)?
                .into_iter()
                .collect();
        }
        Ok(names)
    }
}

impl Names {
    /// An organisation's name; empty for an id that names none.
    pub fn organisation(&self, id: &str) -> String {
        self.organisations.get(id).cloned().unwrap_or_default()
    }

    pub fn person(&self, id: &str) -> Option<String> {
        self.people.get(id).cloned()
    }

    pub fn organisation_of(&self, id: Option<&str>) -> Option<String> {
        id.and_then(|id| self.organisations.get(id).cloned())
    }

    pub fn person_of(&self, id: Option<&str>) -> Option<String> {
        id.and_then(|id| self.people.get(id).cloned())
    }
}
