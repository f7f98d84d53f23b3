//! The response of a call over WebSocket as tonic reads it: its headers once the server's first
//! frame arrives, then a body of gRPC length-prefixed messages that ends with the trailers, so that
//! tonic decodes messages and status as from any transport. Reading a message is what grants the
//! server more (the window); dropping the body closes the WebSocket, cancelling the call.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures::StreamExt;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender};
use http::HeaderMap;
use tonic::Status;

use grpc_ws::Window;

use super::frames::{self, Incoming};

/// What the call's task passes on: the server's frames, or why the call failed.
pub(super) type FromServer = Result<Incoming, Status>;

/// The body of a response over WebSocket. It holds only channels to the socket's task, so it is
/// `Send`, as tonic wants, while the WebSocket itself stays in its task.
#[derive(Debug)]
pub(crate) struct ResponseBody {
    frames: UnboundedReceiver<FromServer>,
    /// Window updates for the task to send; dropped with the body, which tells the task to close.
    grants: UnboundedSender<u32>,
    /// The page's window is [`grpc_ws::INITIAL_WINDOW`] shipments, not sized by bytes as the
    /// server's and the benchmark's are: a page that stops reading (a tab in the background)
    /// holds at most that many, and people read shipments far slower than the window lets them come.
    window: Window,
    ended: bool,
}

impl ResponseBody {
    pub(super) fn new(frames: UnboundedReceiver<FromServer>, grants: UnboundedSender<u32>) -> Self {
        ResponseBody { frames, grants, window: Window::default(), ended: false }
    }

    /// The response, once the server's first frame has come: its headers, or a trailers-only
    /// response, which tonic reads the status from.
    pub(super) async fn into_response(mut self) -> Result<http::Response<Self>, Status> {
        match self.frames.next().await {
            Some(Ok(Incoming::Head(headers))) => {
                self.ended = is_trailers_only(&headers);
                let mut response = http::Response::new(self);
                *response.headers_mut() = headers;
                Ok(response)
            }
            Some(Err(status)) => Err(status),
            Some(Ok(_)) | None => Err(frames::unanswered("the call ended before the server answered".to_string())),
        }
    }
}

fn is_trailers_only(headers: &HeaderMap) -> bool {
    headers.contains_key("grpc-status")
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
        let this = &mut *self;
        if this.ended {
            return Poll::Ready(None);
        }
        let frame = match ready!(this.frames.poll_next_unpin(cx)) {
            Some(Ok(Incoming::Message(message))) => {
                if let Some(more) = this.window.read(1, message.len()) {
                    let _ = this.grants.unbounded_send(more);
                }
                return Poll::Ready(Some(Ok(http_body::Frame::data(message))));
            }
            Some(Ok(Incoming::Trailers(trailers))) => Ok(http_body::Frame::trailers(trailers)),
            Some(Ok(Incoming::Head(_))) => Err(Status::internal("grpc-ws: the response headers came twice")),
            Some(Err(status)) => Err(status),
            None => Err(Status::unavailable("the connection to the server was lost before the call ended")),
        };
        this.ended = true;
        Poll::Ready(Some(frame))
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }
}
