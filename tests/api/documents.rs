//! The documents each party reads, recorded whole: a field that appears, goes
//! or changes shape shows in review as a change to a snapshot
//! (`tests/api/snapshots/`; `cargo insta review`, or `INSTA_UPDATE=always`).

use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::TestApp;
use crate::workflow::{open_case, preservation, step, transmitted};

backend_tests!(a_preservation_as_its_officer_and_its_provider_read_it);

/// Ids, references and instants differ from run to run; their shape is kept.
fn stable(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, v)| {
                    let volatile = key == "id"
                        || key == "at"
                        || key.ends_with("_id")
                        || key == "reference"
                        || key.ends_with("_at")
                        || key == "due_local"
                        || key == "preserved_until";
                    let v = match v {
                        Value::String(_) if volatile => json!(format!("[{key}]")),
                        other => stable(other),
                    };
                    (key.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(stable).collect()),
        other => other.clone(),
    }
}

async fn a_preservation_as_its_officer_and_its_provider_read_it(app: &TestApp) {
    let w = app.world().await;
    let case_id = open_case(app, &w.officer).await;
    let r = transmitted(
        app,
        &w.officer,
        &w.ca,
        preservation(Some(&case_id), &w.ie_provider),
    )
    .await;
    let r = step(
        app,
        &w.provider,
        &r,
        "acknowledge",
        json!({"provider_reference": "CB-77"}),
    )
    .await;
    let r = step(app, &w.provider, &r, "preserve", json!({})).await;
    let id = r["id"].as_str().unwrap();
    let path = format!("/api/v1/requests/{id}");
    let read = async |token: &str| {
        let reply = app.get(&path, token).await;
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        // The id also sits inside the links.
        let text = reply.json.to_string().replace(id, "{id}");
        stable(&serde_json::from_str(&text).unwrap())
    };
    // The officer reads the case, the family and the internal notes; the
    // provider reads what it must answer, and none of those.
    insta::assert_json_snapshot!(
        "preservation_as_its_officer_reads_it",
        read(&w.officer).await
    );
    insta::assert_json_snapshot!(
        "preservation_as_its_provider_reads_it",
        read(&w.provider).await
    );
}
