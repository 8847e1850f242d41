//! The request log of the HTTP front door (`crate::logging` escapes its lines).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};

/// The request log: every request's span as tracing-actix-web builds it, but a
/// client error is recorded by its status alone. Its detail echoes what the
/// client sent (an identifier that failed to parse, a path), which the log
/// must not keep; the client has it in the problem document. Server errors
/// keep their detail and are logged as errors.
pub struct RequestLog;

impl RootSpanBuilder for RequestLog {
    fn on_request_start(request: &ServiceRequest) -> Span {
        DefaultRootSpanBuilder::on_request_start(request)
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        let status = match outcome {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        if status.is_server_error() {
            let detail = match outcome {
                Ok(response) => response.response().error().map(|e| format!("{e:?}")),
                Err(error) => Some(format!("{error:?}")),
            };
            DefaultRootSpanBuilder::on_request_end(span.clone(), outcome);
            let _entered = span.enter();
            tracing::error!(
                status = status.as_u16(),
                detail = detail.as_deref().unwrap_or(""),
                "request failed"
            );
            return;
        }
        span.record("http.status_code", i32::from(status.as_u16()));
        span.record("otel.status_code", "OK");
        if status.is_client_error() {
            let _entered = span.enter();
            tracing::info!(
                status = status.as_u16(),
                reason = status.canonical_reason().unwrap_or(""),
                "request refused"
            );
        }
    }
}
