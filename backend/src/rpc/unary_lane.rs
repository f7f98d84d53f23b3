//! The book's unary calls, answered without tonic's general machinery when
//! they come plain: a request that arrived whole, one uncompressed message,
//! from a client that needs no compressed answer.
//!
//! tonic serves a unary call as it serves a stream: a decoder over the body
//! with a buffer of its own, the method's future boxed twice, an encoder with
//! another buffer behind a stream of one message. Answered here, a
//! `getOrder` costs the server 6% fewer instructions (43,300 against 46,200;
//! README, "Benchmarks"). Here such a call is decoded
//! straight from the bytes it came in, handed to the same [`OrderService`]
//! method tonic would call, and its answer framed in one buffer of the right
//! size. Its headers, message and trailers are the ones tonic would send,
//! byte for byte (the tests compare the two).
//!
//! Anything else goes to tonic as it came: a compressed or partly arrived
//! request, more or less than one message, a message that does not decode
//! (tonic's own error then says why), or a client that may be answered
//! compressed.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use futures::future::{BoxFuture, Either};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use ordermgt_proto as pb;
use ordermgt_proto::order_management_server::OrderManagement;
use tonic::Status;
use tonic::server::NamedService;
use tower::Service;

use crate::rpc::service::OrderService;

/// The unary methods of the book's service, which this lane answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unary {
    GetOrder,
    AddOrder,
}

impl Unary {
    fn at(path: &str) -> Option<Self> {
        match path.strip_prefix("/ecommerce.OrderManagement/")? {
            "getOrder" => Some(Unary::GetOrder),
            "addOrder" => Some(Unary::AddOrder),
            _ => None,
        }
    }
}

/// The content type tonic answers with.
static GRPC: HeaderValue = HeaderValue::from_static("application/grpc");
/// How a request's messages are compressed, and how its answer may be:
/// named once, not parsed from a string at each look.
static GRPC_ENCODING: HeaderName = HeaderName::from_static("grpc-encoding");
static GRPC_ACCEPT_ENCODING: HeaderName = HeaderName::from_static("grpc-accept-encoding");

/// `S` (tonic's server for the book's service), with its plain unary calls
/// answered directly by the same service.
#[derive(Debug, Clone)]
pub struct UnaryLane<S> {
    tonic: S,
    // Behind one reference count: the lane is cloned for every call it takes.
    service: Arc<OrderService>,
    /// `--max-message-bytes`, as tonic is told it, both ways.
    max_message: usize,
    /// `--compress-responses`: a client that accepts gzip goes to tonic.
    compress_responses: bool,
}

impl<S> UnaryLane<S> {
    pub(crate) fn new(tonic: S, service: OrderService, max_message: usize, compress_responses: bool) -> Self {
        Self { tonic, service: Arc::new(service), max_message, compress_responses }
    }

    /// Whether the request's headers let the lane answer it.
    fn plain(&self, headers: &HeaderMap) -> bool {
        let identity = headers.get(&GRPC_ENCODING).is_none_or(|encoding| encoding == "identity");
        identity && !(self.compress_responses && headers.contains_key(&GRPC_ACCEPT_ENCODING))
    }
}

impl<S: NamedService> NamedService for UnaryLane<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> Service<Request<B>> for UnaryLane<S>
where
    S: Service<Request<Prefixed<B>>, Response = Response<tonic::body::Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Send,
{
    type Response = Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Either<S::Future, BoxFuture<'static, Result<Self::Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.tonic.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let method = Unary::at(request.uri().path());
        let Some(method) = method.filter(|_| self.plain(request.headers())) else {
            return Either::Left(self.tonic.call(request.map(Prefixed::untouched)));
        };
        // tonic's services are always ready, so is the clone that may take the call.
        let mut lane = self.clone();
        Either::Right(Box::pin(async move {
            let (parts, mut body) = request.into_parts();
            let first = body.frame().await;
            // A body that cannot tell its end ahead is read once more: a
            // whole request ends there (tonic too reads on, for trailers).
            let second = match first {
                Some(Ok(_)) if !body.is_end_stream() => body.frame().await,
                _ => None,
            };
            let message = match (&first, &second) {
                (Some(Ok(frame)), None) => frame.data_ref().and_then(|data| lane.lone_message(data)),
                _ => None,
            };
            let (service, max_message) = (lane.service.as_ref(), lane.max_message);
            let answer = match (method, message) {
                (Unary::GetOrder, Some(message)) => match prost::Message::decode(message) {
                    Ok(id) => Ok(response(service.get_order(as_tonic(parts, id)).await, max_message)),
                    Err(_) => Err(parts),
                },
                (Unary::AddOrder, Some(message)) => match <pb::Order as prost::Message>::decode(message) {
                    Ok(order) => Ok(response(service.add_order(as_tonic(parts, order)).await, max_message)),
                    Err(_) => Err(parts),
                },
                (_, None) => Err(parts),
            };
            match answer {
                Ok(answer) => Ok(answer),
                Err(parts) => {
                    let body = Prefixed { read: [first, second], rest: body };
                    lane.tonic.call(Request::from_parts(parts, body)).await
                }
            }
        }))
    }
}

impl<S> UnaryLane<S> {
    /// The message `data` holds, if it holds exactly one, uncompressed and within the limit.
    fn lone_message(&self, data: &Bytes) -> Option<Bytes> {
        // One plain message, whole, and nothing after it (a second is counted, not read).
        let lone = grpc_ws::leading_messages(data, usize::MAX, 2) == (data.len(), 1);
        // Past its 5-byte prefix: the message itself.
        (lone && data.len() - 5 <= self.max_message).then(|| data.slice(5..))
    }
}

/// `message` as tonic hands it to a service, with the request's metadata and extensions.
fn as_tonic<M>(parts: http::request::Parts, message: M) -> tonic::Request<M> {
    tonic::Request::from_parts(tonic::metadata::MetadataMap::from_headers(parts.headers), parts.extensions, message)
}

/// What a service answered, as tonic sends it: the message framed, then the
/// trailers; an error as a trailers-only response.
fn response(
    answered: Result<tonic::Response<impl prost::Message>, Status>,
    max_message: usize,
) -> Response<tonic::body::Body> {
    let (metadata, message, extensions) = match answered {
        Ok(response) => response.into_parts(),
        Err(status) => return status.into_http(),
    };
    let mut head = Response::new(());
    *head.headers_mut() = metadata.into_headers();
    head.headers_mut().insert(http::header::CONTENT_TYPE, GRPC.clone());
    *head.extensions_mut() = extensions;
    let answer = match framed(&message, max_message) {
        Ok(data) => Answer { data: Some(data), trailers: Some(Ok(ok_trailers())) },
        Err(status) => Answer { data: None, trailers: Some(trailers(&status)) },
    };
    head.map(|()| tonic::body::Body::new(answer))
}

/// `message` as a gRPC message frame, or tonic's error for one past `limit`.
fn framed(message: &impl prost::Message, limit: usize) -> Result<Bytes, Status> {
    let len = message.encoded_len();
    let Some(prefix) = u32::try_from(len).ok().filter(|_| len <= limit) else {
        return Err(Status::out_of_range(format!(
            "Error, encoded message length too large: found {len} bytes, the limit is: {limit} bytes"
        )));
    };
    let mut frame = BytesMut::with_capacity(5 + len);
    frame.put_u8(0);
    frame.put_u32(prefix);
    message.encode_raw(&mut frame);
    Ok(frame.freeze())
}

/// The trailers that end a call well, as tonic writes them (without making a `Status` to write them from).
fn ok_trailers() -> HeaderMap {
    let mut trailers = HeaderMap::with_capacity(1);
    trailers.insert(Status::GRPC_STATUS, HeaderValue::from_static("0"));
    trailers
}

/// The trailers that end a call with `status`, as tonic writes them.
fn trailers(status: &Status) -> Result<HeaderMap, Status> {
    let mut trailers = HeaderMap::with_capacity(3);
    status.add_header(&mut trailers)?;
    Ok(trailers)
}

/// A unary answer: its message, then its trailers.
#[derive(Debug)]
struct Answer {
    data: Option<Bytes>,
    trailers: Option<Result<HeaderMap, Status>>,
}

impl Body for Answer {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if let Some(data) = self.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        Poll::Ready(self.trailers.take().map(|trailers| trailers.map(Frame::trailers)))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |data| data.len() as u64))
    }
}

pin_project_lite::pin_project! {
    /// A request body with what the lane read of it put back in front.
    #[derive(Debug)]
    pub struct Prefixed<B: Body> {
        // Its first frames, in order, each taken as it is given back.
        read: [Option<Result<Frame<Bytes>, B::Error>>; 2],
        #[pin]
        rest: B,
    }
}

impl<B: Body> Prefixed<B> {
    fn untouched(rest: B) -> Self {
        Self { read: [None, None], rest }
    }
}

impl<B: Body<Data = Bytes>> Body for Prefixed<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        match this.read.iter_mut().find_map(Option::take) {
            Some(read) => Poll::Ready(Some(read)),
            None => this.rest.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.read.iter().all(Option::is_none) && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let read = |frame: &Option<Result<Frame<Bytes>, B::Error>>| match frame {
            Some(Ok(frame)) => frame.data_ref().map_or(0, |data| data.len() as u64),
            _ => 0,
        };
        let first = self.read.iter().map(read).sum::<u64>();
        let rest = self.rest.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower() + first);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + first);
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http_body_util::{BodyExt, StreamBody};
    use ordermgt_proto::order_management_server::OrderManagementServer;

    use super::*;
    use crate::domain::processing::{BatchSize, Processor};
    use crate::domain::store::{MemoryStore, sample_orders};

    type Frames = StreamBody<futures::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>;

    /// A service over a fresh store of the book's orders: each side of a
    /// comparison gets its own, so a write made by one is not seen by the other.
    fn service() -> OrderService {
        let store: Arc<dyn crate::domain::store::OrderStore> = Arc::new(MemoryStore::with_orders(sample_orders()));
        OrderService::new(Arc::clone(&store), Processor::new(store, BatchSize::default()))
    }

    fn tonic(service: &OrderService, max_message: usize, compress: bool) -> OrderManagementServer<OrderService> {
        crate::web::app::tonic_books(service.clone(), max_message, compress)
    }

    /// What a client sees of an answer: status, headers, body bytes, trailers.
    #[derive(Debug, PartialEq)]
    struct Seen {
        status: http::StatusCode,
        headers: HeaderMap,
        body: Bytes,
        trailers: Option<HeaderMap>,
    }

    async fn seen(response: Response<tonic::body::Body>) -> Seen {
        let (parts, body) = response.into_parts();
        let collected = body.collect().await.expect("the body ends");
        let trailers = collected.trailers().cloned();
        Seen { status: parts.status, headers: parts.headers, body: collected.to_bytes(), trailers }
    }

    /// One call, its body in `frames`.
    #[derive(Debug, Clone)]
    struct Call {
        method: &'static str,
        headers: Vec<(&'static str, &'static str)>,
        frames: Vec<Bytes>,
    }

    impl Call {
        fn new(method: &'static str, message: &impl prost::Message) -> Self {
            Self { method, headers: Vec::new(), frames: vec![grpc_ws::grpc_frame(&message.encode_to_vec())] }
        }

        fn request(&self) -> Request<Frames> {
            let mut request = Request::post(format!("/ecommerce.OrderManagement/{}", self.method));
            for (name, value) in [("content-type", "application/grpc"), ("te", "trailers")].iter().chain(&self.headers)
            {
                request = request.header(*name, *value);
            }
            let frames: Vec<_> = self.frames.iter().cloned().map(|data| Ok(Frame::data(data))).collect();
            request.body(StreamBody::new(futures::stream::iter(frames))).expect("request")
        }
    }

    /// Sends `call` through the lane (counting what it hands tonic) and,
    /// separately, to tonic alone; returns both answers and whether the lane
    /// handed it on.
    async fn both_ways(call: &Call, max_message: usize, compress: bool) -> (Seen, Seen, bool) {
        let (ours, theirs) = (service(), service());
        let handed_on = Arc::new(AtomicUsize::new(0));
        let counted = {
            let (handed_on, mut tonic) = (Arc::clone(&handed_on), tonic(&ours, max_message, compress));
            tower::service_fn(move |request: Request<Prefixed<Frames>>| {
                handed_on.fetch_add(1, Ordering::Relaxed);
                tonic.call(request)
            })
        };
        let mut lane = UnaryLane::new(counted, ours, max_message, compress);
        let through_lane = seen(lane.call(call.request()).await.expect("infallible")).await;
        let tonic_alone =
            seen(tonic(&theirs, max_message, compress).call(call.request()).await.expect("infallible")).await;
        (through_lane, tonic_alone, handed_on.load(Ordering::Relaxed) == 1)
    }

    fn order(id: &str, price: f32) -> pb::Order {
        pb::Order {
            id: id.into(),
            items: vec!["Cable, USB-C".into(), "Ünïcode \"quoted\"".into()],
            description: "a test order".into(),
            price,
            destination: "San Jose, CA".into(),
        }
    }

    #[tokio::test]
    async fn plain_unary_calls_are_answered_by_the_lane_exactly_as_tonic_answers_them() {
        let calls = [
            ("an order found", Call::new("getOrder", &"102".to_string())),
            ("an id not found", Call::new("getOrder", &"no-such-order".to_string())),
            ("an empty id", Call::new("getOrder", &String::new())),
            ("an order added", Call::new("addOrder", &order("lane-1", 19.999))),
            ("an id taken", Call::new("addOrder", &order("102", 1.0))),
            ("a negative price", Call::new("addOrder", &order("lane-2", -1.0))),
        ];
        for (case, call) in calls {
            let (lane, tonic, handed_on) = both_ways(&call, 4 * 1024 * 1024, false).await;
            assert!(!handed_on, "{case}: the lane answers it");
            assert_eq!(lane, tonic, "{case}");
        }
    }

    /// tonic fails it with the same trailers, but its body, read on past
    /// them, still yields the bytes it had encoded behind a prefix that says
    /// 0 (a reader that took them would see an empty message, then garbage).
    /// The lane's body holds no message at all.
    #[tokio::test]
    async fn an_answer_past_the_message_limit_fails_with_no_message_sent() {
        // The request (5 bytes) fits in 32; order 102 (60 bytes) does not.
        let call = Call::new("getOrder", &"102".to_string());
        let (lane, tonic, handed_on) = both_ways(&call, 32, false).await;
        assert!(!handed_on);
        assert_eq!((&lane.status, &lane.headers, &lane.trailers), (&tonic.status, &tonic.headers, &tonic.trailers));
        assert_eq!(lane.body, Bytes::new());
        assert!(tonic.body.starts_with(&[0, 0, 0, 0, 0]) && tonic.body.len() == 65, "{:?}", tonic.body);
        let trailers = lane.trailers.expect("trailers");
        assert_eq!(trailers["grpc-status"], "11", "{trailers:?}");
    }

    #[tokio::test]
    async fn calls_that_are_not_plain_go_to_tonic_as_they_came() {
        let found = Call::new("getOrder", &"102".to_string());
        let whole = found.frames[0].clone();
        let two_messages = [whole.clone(), whole.clone()].concat();
        let compressed = {
            use std::io::Write;
            let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gzip.write_all(&prost::Message::encode_to_vec(&"102".to_string())).expect("gzip");
            let payload = gzip.finish().expect("gzip");
            let mut frame = vec![1];
            frame.extend_from_slice(&u32::try_from(payload.len()).expect("a small message").to_be_bytes());
            frame.extend_from_slice(&payload);
            Bytes::from(frame)
        };
        let cases = [
            (
                "split over two frames",
                Call { frames: vec![whole.slice(..3), whole.slice(3..)], ..found.clone() },
                false,
            ),
            ("two messages", Call { frames: vec![two_messages.into()], ..found.clone() }, false),
            ("no message", Call { frames: vec![], ..found.clone() }, false),
            (
                "a message that does not decode",
                Call { frames: vec![grpc_ws::grpc_frame(&[0x0a, 0x02, 0xff, 0xfe])], ..found.clone() },
                false,
            ),
            (
                "a compressed message",
                Call { headers: vec![("grpc-encoding", "gzip")], frames: vec![compressed], ..found.clone() },
                false,
            ),
            (
                "a client that accepts a compressed answer",
                Call { headers: vec![("grpc-accept-encoding", "gzip")], ..found.clone() },
                true,
            ),
            ("a method the lane does not answer", Call { method: "searchOrders", ..found.clone() }, false),
        ];
        for (case, call, compress) in cases {
            let (lane, tonic, handed_on) = both_ways(&call, 4 * 1024 * 1024, compress).await;
            assert!(handed_on, "{case}: tonic answers it");
            assert_eq!(lane, tonic, "{case}");
        }
    }
}
