//! Evidence in the browser: a delivery posted as a form (streamed to the
//! store as the API's is, through the same `api::evidence::deliver`), and a
//! download through the same `api::evidence::send`.

use std::collections::BTreeMap;

use actix_multipart::Multipart;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError, web};
use futures_util::StreamExt;

use super::requests::{Notice, render_request};
use super::{Failure, Visitor};
use crate::api::evidence::{Described, deliver, send};
use crate::domain::evidence::safe_filename;
use crate::error::{Error, Kind};
use crate::state::AppState;

/// The longest a form's text field may be before the file (the token, a hash).
const SMALL_FIELD: usize = 512;

async fn text_of(field: &mut actix_multipart::Field) -> Result<String, Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| Error::malformed(format!("the form was cut short: {e}")))?;
        if bytes.len() + chunk.len() > SMALL_FIELD {
            return Err(Error::malformed("a field of the form is too long"));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| Error::malformed("a field of the form is not text"))
}

/// `POST /requests/{id}/evidence`: `csrf_token`, then an optional `sha256`,
/// then `file`, in that order (the order of the form), so that the token is
/// checked before a byte of the file is read.
pub async fn upload(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<String>,
    mut form: Multipart,
) -> Result<HttpResponse, Failure> {
    let id = id.into_inner();
    let mut typed = BTreeMap::new();
    let delivered = loop {
        let Some(field) = form.next().await else {
            break Err(Error::field("file", "choose a file to upload"));
        };
        let mut field =
            field.map_err(|e| Error::malformed(format!("the form cannot be read: {e}")))?;
        match field.name().unwrap_or_default() {
            "file" => {
                if !visitor.sent_its_token(typed.get("csrf_token").map_or("", String::as_str)) {
                    return Err(Failure(Error::forbidden(
                        "This form did not come from your session. Go back, reload the page and try again.",
                    )));
                }
                let claimed = typed
                    .get("sha256")
                    .map(|h| h.trim().to_ascii_lowercase())
                    .filter(|h| !h.is_empty());
                if let Some(hash) = &claimed
                    && !(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
                {
                    break Err(Error::field("sha256", "is 64 hexadecimal digits, or empty"));
                }
                let filename = field
                    .content_disposition()
                    .and_then(|d| d.get_filename())
                    .unwrap_or_default()
                    .to_owned();
                if filename.is_empty() {
                    break Err(Error::field("file", "choose a file to upload"));
                }
                let described = Described {
                    // The browser's guess, within the API's own bound.
                    media_type: field
                        .content_type()
                        .map(|m| m.to_string())
                        .filter(|m| m.len() <= 200)
                        .unwrap_or_else(|| "application/octet-stream".to_owned()),
                    filename: safe_filename(&filename),
                    claimed,
                    claimed_in: "sha256",
                };
                let (viewer, actor) = (visitor.viewer()?, visitor.actor());
                break deliver(
                    &state,
                    &visitor.principal(),
                    &viewer,
                    &actor,
                    id.clone(),
                    described,
                    None,
                    field,
                )
                .await;
            }
            name @ ("csrf_token" | "sha256") => {
                let name = name.to_owned();
                let text = text_of(&mut field).await?;
                typed.insert(name, text);
            }
            _ => {
                // Read past what this form does not have.
                text_of(&mut field).await?;
            }
        }
    };
    match delivered {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("/requests/{id}?done=evidence#evidence"),
            ))
            .finish()),
        Err(e) => {
            let status = e.status_code();
            let notice = match e.kind() {
                Kind::Conflict { .. } => Notice::Stale(super::pages::said(&e)),
                // A session that ended meanwhile shows nothing more.
                Kind::NotFound(_)
                | Kind::Unauthenticated(_)
                | Kind::Internal(_)
                | Kind::Unavailable(_) => {
                    return Err(Failure(e));
                }
                _ => Notice::Refused {
                    action: "evidence",
                    message: super::pages::said(&e),
                    typed,
                },
            };
            render_request(&state, &visitor, id, notice, status).await
        }
    }
}

/// `GET /evidence/{id}`: the file, re-hashed as it streams, never cached.
pub async fn download(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    let (viewer, actor) = (visitor.viewer()?, visitor.actor());
    let mut response = send(
        &state,
        &visitor.principal(),
        &viewer,
        &actor,
        id.into_inner(),
    )
    .await?;
    if response.status() != StatusCode::OK {
        return Ok(response);
    }
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(super::CONTENT_SECURITY_POLICY),
    );
    Ok(response)
}
