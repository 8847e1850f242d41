//! JSON Schemas (draft 2020-12) of the documents people exchange, cut from the
//! OpenAPI components so that they come from the same Rust types. The files in
//! the repository's schemas/ are this module's output; a test fails when they
//! drift (`mlat schemas` writes them again).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use utoipa::OpenApi;

use super::openapi::{ApiDoc, document};
use super::requests::transition_body;
use crate::domain::workflow::Action;

const REF_PREFIX: &str = "#/components/schemas/";

/// File stem, component, and what the document is.
const DOCUMENTS: &[(&str, &str, &str)] = &[
    ("case-new", "CaseIn", "A new case: POST /api/v1/cases"),
    ("case", "CaseOut", "A case with its requests"),
    (
        "request-new",
        "RequestIn",
        "A new request or follow-up: POST /api/v1/requests, POST /api/v1/requests/{id}/follow-ups",
    ),
    (
        "request-patch",
        "PatchIn",
        "A change to a draft: PATCH /api/v1/requests/{id}",
    ),
    (
        "request",
        "RequestOut",
        "A request as its viewer may see it",
    ),
    ("evidence", "EvidenceOut", "The record of a delivered file"),
    ("deadline", "DeadlineOut", "One legal clock of a request"),
    (
        "board-item",
        "BoardItem",
        "A deadline on the at-risk board, with its request",
    ),
    (
        "audit-event",
        "AuditEventOut",
        "One event of a request's hash-chained trail",
    ),
    (
        "problem",
        "Problem",
        "Every error answer (RFC 9457 application/problem+json)",
    ),
    (
        "legal-basis",
        "LegalBasis",
        "A legal basis with its clocks and citations",
    ),
];

/// The names of the components `value` refers to.
fn refs_in(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "$ref"
                    && let Some(name) = v.as_str().and_then(|r| r.strip_prefix(REF_PREFIX))
                {
                    found.push(name.to_owned());
                }
                refs_in(v, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs_in(v, found)),
        _ => {}
    }
}

fn rewrite_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "$ref"
                    && let Some(name) = v.as_str().and_then(|r| r.strip_prefix(REF_PREFIX))
                {
                    *v = Value::String(format!("#/$defs/{name}"));
                } else {
                    rewrite_refs(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

/// One component as a standalone schema: what it refers to goes in `$defs`.
fn standalone(components: &Map<String, Value>, name: &str, stem: &str, title: &str) -> Value {
    let mut root = components
        .get(name)
        .unwrap_or_else(|| panic!("no component {name}"))
        .clone();
    let mut defs = BTreeMap::new();
    let mut queue = Vec::new();
    refs_in(&root, &mut queue);
    while let Some(next) = queue.pop() {
        if next == name || defs.contains_key(&next) {
            continue;
        }
        let schema = components
            .get(&next)
            .unwrap_or_else(|| panic!("no component {next}"))
            .clone();
        refs_in(&schema, &mut queue);
        defs.insert(next, schema);
    }
    rewrite_refs(&mut root);
    let mut out = Map::new();
    out.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    out.insert("$id".into(), json!(format!("urn:mlat:schema:{stem}")));
    out.insert("title".into(), json!(title));
    if let Value::Object(body) = root {
        for (k, v) in body {
            out.entry(k).or_insert(v);
        }
    }
    if !defs.is_empty() {
        let mut defs: Map<String, Value> = defs.into_iter().collect();
        defs.values_mut().for_each(rewrite_refs);
        out.insert("$defs".into(), Value::Object(defs));
    }
    Value::Object(out)
}

/// Every file of schemas/ but its README: name and content.
pub fn generate() -> Vec<(String, String)> {
    let spec = serde_json::to_value(ApiDoc::openapi()).expect("the document serialises");
    let components = spec["components"]["schemas"]
        .as_object()
        .expect("the document has schemas")
        .clone();
    let mut documents: Vec<(String, String, String)> = DOCUMENTS
        .iter()
        .map(|(stem, name, title)| (stem.to_string(), name.to_string(), title.to_string()))
        .collect();
    // A transition body per schema, named after the steps that take it.
    let mut steps: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for &action in Action::ALL {
        steps
            .entry(transition_body(action).0)
            .or_default()
            .push(action.as_str());
    }
    for (schema, actions) in steps {
        let stem = if actions.len() == 1 {
            format!("transition-{}", actions[0])
        } else {
            "transition-note".to_owned()
        };
        let routes: Vec<String> = actions
            .iter()
            .map(|a| format!("POST /api/v1/requests/{{id}}/{a}"))
            .collect();
        documents.push((
            stem,
            schema.to_owned(),
            format!("The body of {}", routes.join(", ")),
        ));
    }
    let mut files: Vec<(String, String)> = documents
        .into_iter()
        .map(|(stem, name, title)| {
            let schema = standalone(&components, &name, &stem, &title);
            let text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
            (format!("{stem}.schema.json"), text + "\n")
        })
        .collect();
    files.push(("openapi.json".into(), document().to_owned() + "\n"));
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_resolves_inside_its_file() {
        for (name, text) in generate() {
            if name == "openapi.json" {
                continue;
            }
            let value: Value = serde_json::from_str(&text).unwrap();
            let mut refs = Vec::new();
            collect_local_refs(&value, &mut refs);
            for r in refs {
                let def = r
                    .strip_prefix("#/$defs/")
                    .unwrap_or_else(|| panic!("{name}: {r}"));
                assert!(
                    value["$defs"][def].is_object(),
                    "{name}: {r} is not defined"
                );
            }
        }
    }

    fn collect_local_refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    if k == "$ref" {
                        out.push(v.as_str().unwrap().to_owned());
                    }
                    collect_local_refs(v, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| collect_local_refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn one_body_file_serves_every_step_without_its_own() {
        let names: Vec<String> = generate().into_iter().map(|(n, _)| n).collect();
        for expected in [
            "transition-note.schema.json",
            "transition-refuse.schema.json",
            "transition-report-moved.schema.json",
            "request.schema.json",
            "problem.schema.json",
        ] {
            assert!(names.iter().any(|n| n == expected), "{expected}");
        }
    }
}
