use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::error::Problem;
use super::paging::Items;
use crate::auth::Caller;
use crate::domain::evidence::{client_sha256, hex, repr_digest, safe_filename};
use crate::error::Error;
use crate::repo;
use crate::repo::evidence::EvidenceRow;
use crate::repo::names::{Names, Wanted};
use crate::service::evidence::{self as service, Delivered};
use crate::state::{AppState, Principal};
use crate::store::{Plain, ReceiveError};
use crate::time::UtcTime;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EvidenceOut {
    pub id: String,
    pub request_id: String,
    pub filename: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_by_name: Option<String>,
    pub uploaded_at: UtcTime,
    pub content: String,
}

impl EvidenceOut {
    pub fn build(r: EvidenceRow, names: &Names) -> Self {
        EvidenceOut {
            uploaded_by_name: names.person(&r.uploaded_by),
            content: format!("/api/v1/evidence/{}/content", r.id),
            id: r.id,
            request_id: r.request_id,
            filename: r.filename,
            media_type: r.media_type,
            size: r.size,
            sha256: r.sha256,
            uploaded_by: r.uploaded_by,
            uploaded_at: r.uploaded_at,
        }
    }
}

fn header_text(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The `filename` parameter of `Content-Disposition`, if any.
fn filename_of(disposition: Option<&str>) -> Option<String> {
    let value = disposition?;
    value.split(';').find_map(|part| {
        let (key, v) = part.trim().split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("filename")
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// What an upload says of the file besides its bytes.
pub struct Described {
    pub media_type: String,
    pub filename: String,
    /// The SHA-256 the client says it sent, if it says.
    pub claimed: Option<String>,
    /// Where the client said it, for the error if the bytes disagree.
    pub claimed_in: &'static str,
}

fn described(req: &HttpRequest) -> Result<Described, Error> {
    let media_type = header_text(req, header::CONTENT_TYPE)
        .unwrap_or("application/octet-stream")
        .to_owned();
    if media_type.len() > 200 || media_type.parse::<actix_web::mime::Mime>().is_err() {
        return Err(Error::field("Content-Type", "is not a media type"));
    }
    let filename = safe_filename(
        &filename_of(header_text(req, header::CONTENT_DISPOSITION)).unwrap_or_default(),
    );
    let claimed = client_sha256(
        header_text(req, header::HeaderName::from_static("repr-digest")),
        header_text(req, header::HeaderName::from_static("digest")),
    )
    .map_err(|m| Error::field("Repr-Digest", m))?;
    Ok(Described {
        media_type,
        filename,
        claimed,
        claimed_in: "Repr-Digest",
    })
}

fn receive_error(e: ReceiveError, max: u64, already: i64) -> Error {
    match e {
        ReceiveError::TooLarge(_) => Error::too_large(format!(
            "evidence is limited to {max} bytes per file and per request ({already} already delivered)"
        )),
        ReceiveError::Interrupted(m) if m.contains(super::body_deadline::TIMED_OUT) => {
            Error::stalled(format!("the upload was interrupted: {m}"))
        }
        ReceiveError::Interrupted(m) => {
            Error::malformed(format!("the upload was interrupted: {m}"))
        }
        ReceiveError::Io(e) => Error::from_write(e),
    }
}

/// After a failed record, the stored file goes unless another delivery has
/// it: nothing is kept that the database does not know of.
async fn forget_unrecorded(state: &web::Data<AppState>, sha: String) {
    let (app, file) = (state.clone(), sha.clone());
    let forgotten = web::block(move || -> Result<(), String> {
        let mut conn = app.pool.get().map_err(|e| e.to_string())?;
        if repo::evidence::count_with_hash(&mut conn, &file).map_err(|e| e.to_string())? == 0 {
            let _ = std::fs::remove_file(app.store.path_for(&file));
        }
        Ok(())
    })
    .await;
    if let Ok(Err(reason)) = forgotten {
        // `mlat evidence verify` does not see an unrecorded file; the next
        // delivery of the same bytes reuses it.
        tracing::warn!(sha256 = %sha, %reason, "an evidence file no delivery records may remain");
    }
}

/// `POST /requests/{id}/evidence`: the body is the file, streamed to the store
/// while hashed. `Content-Type` is its media type, `Content-Disposition:
/// attachment; filename="..."` its name, and `Repr-Digest: sha-256=:<base64>:`
/// (or `Digest: sha-256=<base64>`) the hash the client computed, checked.
#[utoipa::path(post, path = "/api/v1/requests/{id}/evidence", tag = "evidence", security(("bearer" = [])),
    params(
        ("id" = String, Path, format = Uuid, description = "The request answered"),
        ("Content-Disposition" = Option<String>, Header, description = "attachment; filename=\"export.zip\""),
        ("Repr-Digest" = Option<String>, Header, description = "sha-256=:<base64 of the SHA-256>: computed by the client; checked"),
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file itself; its media type in Content-Type"),
    responses((status = 201, description = "Stored and recorded in the custody trail", body = EvidenceOut)))]
pub async fn upload(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, Error> {
    let described = described(&req)?;
    let declared = header_text(&req, header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    let row = deliver(
        &state,
        &Principal::Token(caller.clone()),
        &caller.viewer(),
        &caller.actor(),
        id.into_inner(),
        described,
        declared,
        body,
    )
    .await?;
    let mut wanted = Wanted::default();
    wanted.person(&row.uploaded_by);
    let names = state
        .db_as(&caller, move |conn| Ok(wanted.load(conn)?))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Repr-Digest", repr_digest(&row.sha256)))
        .json(EvidenceOut::build(row, &names)))
}

/// Receives one delivery of evidence, from the API or the portal: who may
/// deliver is checked before a byte is read, the bytes are sealed and hashed
/// as they stream, checked against the hash the sender computed, kept under
/// their hash, and recorded with their custody event; what is refused is not
/// kept. `who` is confirmed in each database hop.
#[expect(
    clippy::too_many_arguments,
    reason = "one delivery: by whom, to which request, what, and its bytes"
)]
pub async fn deliver<S, B, E>(
    state: &web::Data<AppState>,
    who: &Principal,
    viewer: &crate::domain::access::Viewer,
    actor: &crate::domain::audit::Actor,
    id: String,
    described: Described,
    declared: Option<u64>,
    body: S,
) -> Result<EvidenceRow, Error>
where
    S: futures_util::Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]> + Send + 'static,
    E: std::fmt::Display,
{
    let Described {
        media_type,
        filename,
        claimed,
        claimed_in,
    } = described;
    let max = state.settings.evidence_max_bytes;
    if declared.is_some_and(|n| n > max) {
        return Err(Error::too_large(format!(
            "evidence files are limited to {max} bytes"
        )));
    }
    // Who may deliver, before a byte is read.
    let (check_viewer, check_id) = (viewer.clone(), id.clone());
    let check =
        move |conn: &mut crate::db::DbConn| service::may_deliver(conn, &check_viewer, &check_id);
    let already = state.db_for(who, check).await?;
    let room = max.saturating_sub(already.max(0) as u64);
    let incoming = state
        .store
        .receive(body, room)
        .await
        .map_err(|e| receive_error(e, max, already))?;
    if let Some(claimed) = claimed
        && claimed != incoming.sha256
    {
        return Err(Error::field(
            claimed_in,
            format!(
                "the file received hashes to sha-256 {}, not {claimed}: nothing was kept",
                incoming.sha256
            ),
        ));
    }
    // Dropping `incoming` removes what was received.
    if incoming.size == 0 {
        return Err(Error::field(
            "body",
            "the file is empty: deliver its bytes, or fulfil with `no_data: true`",
        ));
    }
    let (sha256, size) = (incoming.sha256.clone(), incoming.size as i64);
    let store = state.store.clone();
    web::block(move || store.keep(incoming))
        .await?
        .map_err(Error::from_write)?;
    let (viewer, actor) = (viewer.clone(), actor.clone());
    let kept = sha256.clone();
    let record = move |conn: &mut crate::db::DbConn| {
        service::record(
            conn,
            &viewer,
            &actor,
            &id,
            Delivered {
                filename,
                media_type,
                size,
                sha256,
            },
            max,
        )
    };
    let saved = state.write_for(who, record).await;
    match saved {
        Ok(row) => Ok(row),
        Err(error) => {
            forget_unrecorded(state, kept).await;
            Err(error)
        }
    }
}

#[utoipa::path(get, path = "/api/v1/requests/{id}/evidence", tag = "evidence", security(("bearer" = [])), params(("id" = String, Path, format = Uuid, description = "A request")),
    responses((status = 200, description = "The evidence delivered for the request", body = Items<EvidenceOut>)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let (viewer, id) = (caller.viewer(), id.into_inner());
    let rows = state
        .db_as(&caller, move |conn| {
            let request = crate::service::requests::visible(conn, &viewer, &id)?;
            let rows = repo::evidence::for_request(conn, &request.id)?;
            let mut wanted = Wanted::default();
            rows.iter().for_each(|r| {
                wanted.person(&r.uploaded_by);
            });
            let names = wanted.load(conn)?;
            Ok(rows
                .into_iter()
                .map(|r| EvidenceOut::build(r, &names))
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(Items { items: rows }))
}

/// Streams a file, re-hashing it on the way: if the bytes on disk no longer
/// match, the download is cut off before its end and the failure is recorded.
#[utoipa::path(get, path = "/api/v1/evidence/{id}/content", tag = "evidence", security(("bearer" = [])), params(("id" = String, Path, format = Uuid, description = "An evidence file")),
    responses(
        (status = 200, description = "The file, re-hashed while it streams", content_type = "*/*", body = Vec<u8>),
        (status = 503, description = "The stored file is missing; the failure is recorded", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn download(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let (viewer, actor) = (caller.viewer(), caller.actor());
    send(
        &state,
        &Principal::Token(caller.clone()),
        &viewer,
        &actor,
        id.into_inner(),
    )
    .await
}

/// Sends an evidence file the viewer may see, from the API or the portal,
/// recording the download on the request's trail first. `who` as in
/// `deliver`.
pub async fn send(
    state: &web::Data<AppState>,
    who: &Principal,
    viewer: &crate::domain::access::Viewer,
    actor: &crate::domain::audit::Actor,
    id: String,
) -> Result<HttpResponse, Error> {
    let (viewer, actor) = (viewer.clone(), actor.clone());
    let fetch = move |conn: &mut crate::db::DbConn| {
        let row = repo::evidence::get_visible(conn, &viewer, &id)?
            .ok_or_else(|| Error::not_found(format!("no evidence `{id}`")))?;
        repo::audit::append_for_request(
            conn,
            &actor,
            &row.request_id,
            "evidence_downloaded",
            ("evidence", &row.id),
            json!({ "sha256": row.sha256 }),
        )?;
        Ok(row)
    };
    let row = state.write_for(who, fetch).await?;
    let (store, sha) = (state.store.clone(), row.sha256.clone());
    let opened = web::block(move || store.open(&sha)).await?;
    let file = match opened {
        Ok(file) => file,
        Err(e) => {
            integrity_failure(state, &row, &format!("the stored file cannot be read: {e}")).await;
            return Err(Error::unavailable(
                "the evidence file is missing from the store; the failure has been recorded",
            ));
        }
    };
    let held = Held {
        hashing: None,
        held: None,
        sent: 0,
        size: row.size.max(0) as u64,
        expected: row.sha256.clone(),
        alarm: (state.clone(), row.clone()),
    };
    let batches = futures_util::stream::unfold(Some((read_ahead(file), held)), |next| async move {
        let (pending, mut held) = next?;
        match held.next(pending).await {
            Ok(Some((batch, Some(ahead)))) => Some((Ok(batch), Some((ahead, held)))),
            Ok(Some((last, None))) => Some((Ok(last), None)),
            Ok(None) => None,
            Err(e) => Some((Err(e), None)),
        }
    });
    // Sent segment by segment: pieces of one size that the allocator and the
    // connection's write buffer reuse, where a large chunk is a fresh mapping
    // to fault in and copy every time.
    let stream = futures_util::StreamExt::flat_map(batches, |batch| {
        futures_util::stream::iter(match batch {
            Ok(pieces) => pieces.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(e) => vec![Err(e)],
        })
    });
    Ok(HttpResponse::Ok()
        .content_type(row.media_type.clone())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", safe_filename(&row.filename)),
        ))
        .insert_header(("Repr-Digest", repr_digest(&row.sha256)))
        // Abuse material must not linger in a browser's or a proxy's cache.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .no_chunking(row.size as u64)
        .streaming(stream))
}

/// How many sealed segments a download reads in one trip to the blocking
/// pool, so that a 2 GiB file is not thirty thousand trips.
const SEGMENTS_PER_READ: usize = 16;

/// A batch of plaintext segments as read, in order.
type Batch = Vec<web::Bytes>;

type Ahead = tokio::task::JoinHandle<(Plain, std::io::Result<Batch>)>;

/// Starts reading the next batch of plaintext (empty at the end) on the
/// blocking pool, never on an async worker. One read is in flight at a time,
/// started when the previous batch has been handed over, so no thread ever
/// waits on a slow client.
fn read_ahead(mut file: Plain) -> Ahead {
    tokio::task::spawn_blocking(move || {
        let mut batch = Batch::with_capacity(SEGMENTS_PER_READ);
        let read = loop {
            match file.next_piece() {
                Ok(Some(piece)) => {
                    batch.push(web::Bytes::from(piece));
                    if batch.len() == SEGMENTS_PER_READ {
                        break Ok(batch);
                    }
                }
                Ok(None) => break Ok(batch),
                Err(e) => break Err(e),
            }
        };
        (file, read)
    })
}

/// A download that holds back its last batch: a batch is sent only once the
/// next has been read, and the last only once the whole file hashes to what
/// was recorded, so no complete altered file ever leaves the server (the
/// client gets fewer bytes than `Content-Length`, an error). While a batch is
/// written to the connection, the next is read and decrypted on one blocking
/// thread and hashed on another.
struct Held {
    /// The hash so far, still running over the latest batch (none before the
    /// first).
    hashing: Option<tokio::task::JoinHandle<Sha256>>,
    held: Option<Batch>,
    sent: u64,
    size: u64,
    expected: String,
    alarm: (web::Data<AppState>, EvidenceRow),
}

impl Held {
    /// The next batch to send and the read already started after it (none
    /// after the last); `None` for an empty file; an error, alarmed and
    /// audited, for an altered file.
    async fn next(
        &mut self,
        mut pending: Ahead,
    ) -> std::io::Result<Option<(Batch, Option<Ahead>)>> {
        loop {
            let (file, read) = pending.await.map_err(std::io::Error::other)?;
            let batch = match read {
                Ok(batch) => batch,
                // A sealed segment that does not authenticate: altered.
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    return Err(self.altered(e.to_string()).await);
                }
                Err(e) => return Err(e),
            };
            if batch.is_empty() {
                let actual = hex(&self.hasher().await?.finalize());
                if actual != self.expected {
                    return Err(self
                        .altered(format!(
                            "the stored bytes hash to {actual}, not {}",
                            self.expected
                        ))
                        .await);
                }
                return Ok(self.held.take().map(|last| (last, None)));
            }
            self.sent += batch.iter().map(|piece| piece.len() as u64).sum::<u64>();
            if self.sent > self.size {
                return Err(self
                    .altered(format!(
                        "the stored file is longer than the {} bytes recorded",
                        self.size
                    ))
                    .await);
            }
            pending = read_ahead(file);
            let (mut hasher, hashed) = (self.hasher().await?, batch.clone());
            self.hashing = Some(tokio::task::spawn_blocking(move || {
                for piece in &hashed {
                    hasher.update(piece);
                }
                hasher
            }));
            if let Some(previous) = self.held.replace(batch) {
                return Ok(Some((previous, Some(pending))));
            }
        }
    }

    /// The hash over every chunk read so far, once its last part is done.
    async fn hasher(&mut self) -> std::io::Result<Sha256> {
        match self.hashing.take() {
            Some(job) => job.await.map_err(std::io::Error::other),
            None => Ok(Sha256::new()),
        }
    }

    async fn altered(&mut self, reason: String) -> std::io::Error {
        integrity_failure(&self.alarm.0, &self.alarm.1, &reason).await;
        std::io::Error::other(reason)
    }
}

/// Logs and audits a file that no longer matches its hash.
async fn integrity_failure(state: &web::Data<AppState>, row: &EvidenceRow, reason: &str) {
    tracing::error!(evidence = %row.id, sha256 = %row.sha256, %reason, "EVIDENCE INTEGRITY FAILURE");
    let (row, reason) = (row.clone(), reason.to_owned());
    let result = state
        .write(move |conn| {
            repo::audit::append_for_request(
                conn,
                &crate::domain::audit::Actor::system(),
                &row.request_id,
                "evidence_integrity_failure",
                ("evidence", &row.id),
                json!({ "sha256": row.sha256, "reason": reason }),
            )?;
            Ok(())
        })
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "could not audit an evidence integrity failure");
    }
}
