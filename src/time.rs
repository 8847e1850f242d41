//! Instants: the one time type domain rules, rows and documents share.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Timestamp;
use serde::{Deserialize, Serialize};

/// An instant in UTC. Stored as a `TIMESTAMP` (SQLite) or `TIMESTAMPTZ` (PostgreSQL,
/// whose session diesel pins to UTC), read and written as a naive UTC value so that
/// the same code runs through the connection enum on both backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Timestamp)]
pub struct UtcTime(NaiveDateTime);

impl UtcTime {
    pub fn now() -> Self {
        Self::from(Utc::now())
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        self.0.and_utc()
    }
}

impl From<DateTime<Utc>> for UtcTime {
    fn from(value: DateTime<Utc>) -> Self {
        // Microseconds are what both backends keep; truncating here makes a value
        // read back equal to the value written.
        let micros = value.timestamp_micros();
        let exact = DateTime::from_timestamp_micros(micros).unwrap_or(value);
        Self(exact.naive_utc())
    }
}

impl From<UtcTime> for DateTime<Utc> {
    fn from(value: UtcTime) -> Self {
        value.to_datetime()
    }
}

impl std::ops::Add<chrono::TimeDelta> for UtcTime {
    type Output = UtcTime;
    fn add(self, rhs: chrono::TimeDelta) -> UtcTime {
        UtcTime(self.0 + rhs)
    }
}

impl std::ops::Sub<chrono::TimeDelta> for UtcTime {
    type Output = UtcTime;
    fn sub(self, rhs: chrono::TimeDelta) -> UtcTime {
        UtcTime(self.0 - rhs)
    }
}

impl std::ops::Sub<UtcTime> for UtcTime {
    type Output = chrono::TimeDelta;
    fn sub(self, rhs: UtcTime) -> chrono::TimeDelta {
        self.0 - rhs.0
    }
}

/// Documented as an RFC 3339 instant: it is written in UTC with a `Z`, and
/// read with any offset.
impl utoipa::PartialSchema for UtcTime {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .description(Some("An instant in RFC 3339, such as 2027-03-01T09:30:00Z"))
            .examples([serde_json::json!("2027-03-01T09:30:00Z")])
            .into()
    }
}

impl utoipa::ToSchema for UtcTime {
    fn name() -> std::borrow::Cow<'static, str> {
        "Instant".into()
    }
}

impl Serialize for UtcTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_datetime()
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for UtcTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|dt| UtcTime::from(dt.with_timezone(&Utc)))
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "`{text}` is not an RFC 3339 instant with an offset, e.g. 2026-12-01T09:00:00+01:00"
                ))
            })
    }
}

impl std::fmt::Display for UtcTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            &self
                .to_datetime()
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        )
    }
}

impl<DB> ToSql<Timestamp, DB> for UtcTime
where
    DB: Backend,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        self.0.to_sql(out)
    }
}

impl<DB> FromSql<Timestamp, DB> for UtcTime
where
    DB: Backend,
    NaiveDateTime: FromSql<Timestamp, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        NaiveDateTime::from_sql(bytes).map(UtcTime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_rfc3339_utc_and_parses_offsets() {
        let t: UtcTime = serde_json::from_str("\"2026-03-29T02:30:00+02:00\"").unwrap();
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2026-03-29T00:30:00Z\""
        );
    }

    #[test]
    fn refuses_an_instant_without_offset() {
        let err = serde_json::from_str::<UtcTime>("\"2026-03-29T02:30:00\"").unwrap_err();
        assert!(err.to_string().contains("offset"), "{err}");
    }

    #[test]
    fn truncates_to_microseconds() {
        let dt = DateTime::parse_from_rfc3339("2026-01-01T00:00:00.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(UtcTime::from(dt).to_string(), "2026-01-01T00:00:00.123456Z");
    }
}
