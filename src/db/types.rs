//! Portable column helpers shared by both backends.

/// A new primary key: UUIDv7, so ids sort by creation time and index well.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vocabulary (`domain::vocabulary!`) is a TEXT column: it goes in and
    /// comes back by its name, and a name this build does not know fails the
    /// read instead of becoming some other value.
    #[test]
    fn vocabularies_read_and_write_themselves_as_text() {
        use crate::domain::workflow::Status;
        use diesel::IntoSql;
        use diesel::prelude::*;
        use diesel::sql_types::Text;
        let dir = tempfile::tempdir().unwrap();
        let url = crate::db::DatabaseUrl::Sqlite(dir.path().join("t.db"));
        let mut conn = crate::db::conn::establish(&url).unwrap();
        let back: Status = diesel::select(Status::Preserved.into_sql::<Text>())
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(back, Status::Preserved);
        let stored: String = diesel::select(Status::Preserved.into_sql::<Text>())
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(stored, "preserved");
        let unknown = diesel::select("frozen".into_sql::<Text>()).get_result::<Status>(&mut conn);
        assert!(unknown.is_err());
    }

    #[test]
    fn new_ids_are_version_7_and_increase() {
        let a = new_id();
        let b = new_id();
        assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 7);
        assert!(a < b);
    }
}
