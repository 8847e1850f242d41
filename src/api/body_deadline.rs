//! Request bodies that stop arriving are cut off. actix-web times out a
//! request's head (5 s) but not its body: a client that announces a length and
//! sends a few bytes would hold its connection, and its file descriptor, for
//! ever. Every body is read through an idle deadline; when no bytes arrive
//! within it, the read fails, the handler answers 408, and the connection is
//! closed (its body was not read to the end).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::web::Bytes;
use futures_util::Stream;
use tokio::time::{Instant, Sleep};

/// A body that fails when it stays silent for longer than `idle`.
pub struct IdleDeadline {
    inner: Payload,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
    done: bool,
}

impl IdleDeadline {
    pub fn new(inner: Payload, idle: Duration) -> Self {
        IdleDeadline {
            inner,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
            done: false,
        }
    }

    /// `payload` behind the deadline, as a payload again.
    pub fn wrap(payload: Payload, idle: Duration) -> Payload {
        Payload::Stream {
            payload: Box::pin(IdleDeadline::new(payload, idle)),
        }
    }
}

/// The message a timed-out body fails with; `Error` answers it with 408.
pub const TIMED_OUT: &str = "no part of the request body arrived in time";

impl Stream for IdleDeadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(item) => {
                let deadline = Instant::now() + this.idle;
                this.timer.as_mut().reset(deadline);
                this.done = item.is_none();
                Poll::Ready(item)
            }
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.done = true;
                    Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        TIMED_OUT,
                    )))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[actix_web::test]
    async fn a_silent_body_fails_and_a_flowing_one_passes() {
        let arriving =
            futures_util::stream::iter([Ok::<_, PayloadError>(Bytes::from_static(b"ab"))])
                .chain(futures_util::stream::pending());
        let inner = Payload::Stream {
            payload: Box::pin(arriving)
                as std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>,
        };
        let mut body = IdleDeadline::new(inner, Duration::from_millis(100));
        assert_eq!(
            body.next().await.unwrap().unwrap(),
            Bytes::from_static(b"ab")
        );
        // Nothing more arrives: the read fails once the deadline passes.
        let started = std::time::Instant::now();
        let err = body.next().await.unwrap().unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(90));
        assert!(err.to_string().contains(TIMED_OUT), "{err}");
        assert!(body.next().await.is_none());
    }
}
