//! Both migration sets build the same schema, and every down.sql undoes its up.sql.

use std::collections::BTreeSet;

use diesel::RunQueryDsl;
use diesel::sql_types::{Bool, Text};
use mlat::db::conn::establish;
use mlat::db::{DatabaseUrl, DbConn, migrations};

use crate::helpers::PgDatabase;

#[derive(diesel::QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Bool)]
    not_null: bool,
}

#[derive(diesel::QueryableByName)]
struct Index {
    #[diesel(sql_type = Text)]
    index_name: String,
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    definition: String,
}

/// Tables, columns (with a portable type name and nullability), named indexes,
/// and each index's definition in the backend's own words (compared only within
/// a backend: a migration may change an index without renaming it).
#[derive(Debug, PartialEq, Eq)]
struct Schema {
    columns: BTreeSet<(String, String, String, bool)>,
    indexes: BTreeSet<(String, String)>,
    definitions: BTreeSet<(String, String)>,
}

fn portable_type(raw: &str) -> String {
    match raw.to_ascii_lowercase().as_str() {
        "text" | "character varying" => "text",
        "timestamp" | "timestamp with time zone" | "timestamp without time zone" => "timestamp",
        "boolean" => "bool",
        "integer" => "integer",
        "bigint" => "bigint",
        other => return other.to_owned(),
    }
    .to_owned()
}

fn schema(conn: &mut DbConn) -> Schema {
    let (columns, indexes): (Vec<Column>, Vec<Index>) = match conn {
        DbConn::Sqlite(c) => (
            diesel::sql_query(
                "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
                 p.\"notnull\" = 1 AS not_null \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
                 AND m.name <> '__diesel_schema_migrations'",
            )
            .load(c)
            .unwrap(),
            diesel::sql_query(
                "SELECT name AS index_name, tbl_name AS table_name, sql AS definition FROM sqlite_master \
                 WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'",
            )
            .load(c)
            .unwrap(),
        ),
        DbConn::Pg(c) => (
            diesel::sql_query(
                "SELECT table_name::text AS table_name, column_name::text AS column_name, \
                 data_type::text AS data_type, is_nullable = 'NO' AS not_null \
                 FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
            )
            .load(c)
            .unwrap(),
            // Indexes PostgreSQL makes for PRIMARY KEY and UNIQUE constraints are
            // the counterpart of SQLite's autoindexes: leave both out.
            diesel::sql_query(
                "SELECT i.indexname::text AS index_name, i.tablename::text AS table_name, \
                 i.indexdef::text AS definition \
                 FROM pg_indexes i WHERE i.schemaname = 'public' \
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            )
            .load(c)
            .unwrap(),
        ),
    };
    Schema {
        columns: columns
            .into_iter()
            .map(|c| {
                (
                    c.table_name,
                    c.column_name,
                    portable_type(&c.data_type),
                    c.not_null,
                )
            })
            .collect(),
        definitions: indexes
            .iter()
            .map(|i| (i.index_name.clone(), i.definition.clone()))
            .collect(),
        indexes: indexes
            .into_iter()
            .map(|i| (i.table_name, i.index_name))
            .collect(),
    }
}

/// Applies migrations one at a time; after each, reverts it and checks the
/// schema is as before, then applies it again.
fn walk_up_and_down(conn: &mut DbConn) -> Schema {
    let mut steps = 0;
    loop {
        let before = schema(conn);
        let Some(version) = migrations::run_next(conn).unwrap() else {
            break;
        };
        let after = schema(conn);
        assert_ne!(before, after, "{version} changed nothing");
        assert_eq!(migrations::revert_last(conn).unwrap(), version);
        assert_eq!(
            schema(conn),
            before,
            "down.sql of {version} does not undo its up.sql"
        );
        assert_eq!(migrations::run_next(conn).unwrap(), Some(version));
        steps += 1;
    }
    assert!(steps >= 1);
    assert_eq!(
        migrations::applied(conn).unwrap().len(),
        steps,
        "every migration is applied at the end"
    );
    schema(conn)
}

#[test]
fn every_sqlite_down_reverses_its_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = establish(&DatabaseUrl::Sqlite(dir.path().join("m.db"))).unwrap();
    let schema = walk_up_and_down(&mut conn);
    assert!(
        schema
            .columns
            .iter()
            .any(|c| c.0 == "users" && c.1 == "email")
    );
}

#[test]
#[cfg_attr(
    not(mlat_postgres_tests),
    ignore = "PostgreSQL: set MLAT_TEST_POSTGRES_URL (README)"
)]
fn both_backends_build_the_same_schema_and_every_postgres_down_reverses_its_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = establish(&DatabaseUrl::Sqlite(dir.path().join("m.db"))).unwrap();
    let pg_db = PgDatabase::create();
    let mut pg = establish(&DatabaseUrl::Postgres(pg_db.url())).unwrap();
    let pg_schema = walk_up_and_down(&mut pg);
    migrations::run_pending(&mut sqlite).unwrap();
    let sqlite_schema = schema(&mut sqlite);
    assert_eq!(sqlite_schema.columns, pg_schema.columns);
    assert_eq!(sqlite_schema.indexes, pg_schema.indexes);
    assert_eq!(
        migrations::applied(&mut sqlite).unwrap(),
        migrations::applied(&mut pg).unwrap(),
        "the same version ids on both backends"
    );
    drop(pg);
}

/// Why the previous release could not run on the schema one migration
/// makes: a table or column it reads gone or retyped, a column it writes
/// made NOT NULL, or a new NOT NULL column without a default, which its
/// inserts do not fill. `defaulted`: the columns that have a default after.
fn breaks_the_previous_release(
    before: &Schema,
    after: &Schema,
    defaulted: &BTreeSet<(String, String)>,
) -> Vec<String> {
    let mut found = Vec::new();
    let tables =
        |s: &Schema| -> BTreeSet<String> { s.columns.iter().map(|c| c.0.clone()).collect() };
    let (old_tables, new_tables) = (tables(before), tables(after));
    for (table, column, kind, not_null) in &before.columns {
        match after
            .columns
            .iter()
            .find(|c| &c.0 == table && &c.1 == column)
        {
            None if new_tables.contains(table) => found.push(format!("{table}.{column} dropped")),
            None => found.push(format!("{table} dropped")),
            Some(now) if &now.2 != kind => found.push(format!("{table}.{column} retyped")),
            Some(now) if now.3 && !not_null => {
                found.push(format!("{table}.{column} made NOT NULL"))
            }
            Some(_) => {}
        }
    }
    for (table, column, _, not_null) in &after.columns {
        let new = !before
            .columns
            .iter()
            .any(|c| &c.0 == table && &c.1 == column);
        let filled = defaulted.contains(&(table.clone(), column.clone()));
        if new && *not_null && !filled && old_tables.contains(table) {
            found.push(format!("{table}.{column} added NOT NULL without a default"));
        }
    }
    found.sort();
    found.dedup();
    found
}

#[derive(diesel::QueryableByName)]
struct Defaulted {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

fn defaulted(conn: &mut DbConn) -> BTreeSet<(String, String)> {
    let DbConn::Sqlite(c) = conn else {
        unreachable!("checked on SQLite")
    };
    diesel::sql_query(
        "SELECT m.name AS table_name, p.name AS column_name \
         FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND p.dflt_value IS NOT NULL",
    )
    .load::<Defaulted>(c)
    .unwrap()
    .into_iter()
    .map(|d| (d.table_name, d.column_name))
    .collect()
}

/// Migrations from before the expand-then-contract discipline
/// (docs/operations.md) that the previous release could not have run on.
/// The list only shrinks: a new migration expands only, and a contraction
/// ships in a release after the one whose code stopped using what it
/// removes, added here with that release named.
const BEFORE_THE_DISCIPLINE: [(&str, &str); 0] = [];

#[test]
fn every_migration_leaves_the_previous_release_working_on_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = establish(&DatabaseUrl::Sqlite(dir.path().join("m.db"))).unwrap();
    let mut found = Vec::new();
    loop {
        let before = schema(&mut conn);
        let Some(version) = migrations::run_next(&mut conn).unwrap() else {
            break;
        };
        let after = schema(&mut conn);
        for problem in breaks_the_previous_release(&before, &after, &defaulted(&mut conn)) {
            found.push((version.clone(), problem));
        }
    }
    let known: Vec<(String, String)> = BEFORE_THE_DISCIPLINE
        .iter()
        .map(|(v, p)| (v.to_string(), p.to_string()))
        .collect();
    assert_eq!(found, known, "a migration breaks the release before it");
}

#[test]
fn the_check_catches_what_breaks_the_previous_release() {
    // (table, column, type, NOT NULL)
    let schema_of = |columns: &[(&str, &str, &str, bool)]| Schema {
        columns: columns
            .iter()
            .map(|(t, c, k, n)| (t.to_string(), c.to_string(), k.to_string(), *n))
            .collect(),
        indexes: BTreeSet::new(),
        definitions: BTreeSet::new(),
    };
    let none = BTreeSet::new();
    let before = schema_of(&[
        ("a", "x", "text", false),
        ("a", "y", "text", true),
        ("b", "z", "text", false),
    ]);
    // Expanding: a nullable column, a NOT NULL one with a default, a new
    // table with what it likes.
    let expanded = schema_of(&[
        ("a", "x", "text", false),
        ("a", "y", "text", true),
        ("a", "w", "bigint", false),
        ("b", "z", "text", false),
        ("b", "v", "text", true),
        ("c", "u", "text", true),
    ]);
    let v_has_a_default = BTreeSet::from([("b".to_owned(), "v".to_owned())]);
    assert!(breaks_the_previous_release(&before, &expanded, &v_has_a_default).is_empty());
    assert_eq!(
        breaks_the_previous_release(&before, &expanded, &none),
        ["b.v added NOT NULL without a default"]
    );
    let contracted = schema_of(&[("a", "x", "text", true), ("a", "y", "bigint", true)]);
    assert_eq!(
        breaks_the_previous_release(&before, &contracted, &none),
        ["a.x made NOT NULL", "a.y retyped", "b dropped"]
    );
    let dropped = schema_of(&[("a", "x", "text", false), ("b", "z", "text", false)]);
    assert_eq!(
        breaks_the_previous_release(&before, &dropped, &none),
        ["a.y dropped"]
    );
}
