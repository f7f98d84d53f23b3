//! Properties of gRPC-Web request decoding that hold for any bytes a page
//! (or anyone) may post: the server answers every one with a status and
//! changes nothing it should not.
mod common;

use axum::Router;
use axum::body::Body;
use backend::store::sample_orders;
use backend::{App, Config};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use common::grpc_web::{Encoding, frame};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use ordermgt_proto as pb;
use ordermgt_proto::processing_event::Event as PbEvent;
use proptest::collection::vec;
use proptest::prelude::*;
use prost::Message;
use tower::ServiceExt;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
}

// ---- gRPC-Web request decoding -------------------------------------------

const METHODS: [&str; 9] = [
    "/ecommerce.OrderManagement/addOrder",
    "/ecommerce.OrderManagement/getOrder",
    "/ecommerce.OrderManagement/searchOrders",
    "/ecommerce.OrderManagement/updateOrders",
    "/ecommerce.OrderManagement/processOrders",
    "/ecommerce.OrderManagementWeb/updateOrdersUnary",
    "/ecommerce.OrderManagementWeb/processOrdersOpen",
    "/ecommerce.OrderManagementWeb/processOrdersSubmit",
    "/ecommerce.OrderManagementWeb/processOrdersFinish",
];
const ADD_ORDER: &str = METHODS[0];
const UPDATES: [&str; 2] = [METHODS[3], METHODS[5]];
const PROCESS_ORDERS_OPEN: &str = METHODS[6];

/// Protobuf fields with arbitrary numbers, wire types and contents: every method's
/// message type decodes some of them (and refuses others, on a wire type or bad UTF-8).
fn protobuf_shaped() -> impl Strategy<Value = Vec<u8>> {
    let content = prop_oneof![
        any::<u64>().prop_map(|value| (0, encode_varint(value))),
        prop_oneof!["[ -~]{0,12}".prop_map(String::into_bytes), vec(any::<u8>(), 0..12)].prop_map(|bytes| {
            let len = u64::try_from(bytes.len()).expect("short");
            (2, [encode_varint(len), bytes].concat())
        }),
        any::<[u8; 4]>().prop_map(|bytes| (5, bytes.to_vec())),
    ];
    let field = (1..=6u64, content)
        .prop_map(|(number, (wire_type, value))| [encode_varint(number << 3 | wire_type), value].concat());
    vec(field, 0..5).prop_map(|fields| fields.concat())
}

fn encode_varint(value: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    prost::encoding::encode_varint(value, &mut bytes);
    bytes
}

/// Anything at all; well-prefixed frames of garbage, now and then with a stray tail; or a real request cut short.
fn hostile_body() -> impl Strategy<Value = Vec<u8>> {
    let flag = prop_oneof![12 => Just(0u8), 1 => Just(1), 1 => Just(0x80), 1 => any::<u8>()];
    let payload = prop_oneof![1 => Just(Vec::new()), 2 => vec(any::<u8>(), 1..48), 4 => protobuf_shaped()];
    let garbage_frame = (flag, payload).prop_map(|(flag, payload)| frame(flag, &payload));
    let tail = prop_oneof![3 => Just(Vec::new()), 1 => vec(any::<u8>(), 1..8)];
    let real = frame(0, &pb::Order { id: "102".into(), price: 1.0, ..pb::Order::default() }.encode_to_vec());
    prop_oneof![
        1 => vec(any::<u8>(), 0..96),
        4 => (vec(garbage_frame, 1..4), tail).prop_map(|(frames, tail)| [frames.concat(), tail].concat()),
        1 => (0..real.len()).prop_map(move |cut| real[..cut].to_vec()),
    ]
}

/// A gRPC-Web answer, read frame by frame as it streams.
#[derive(Debug)]
struct WebAnswer {
    http_status: StatusCode,
    grpc_status: Option<String>,
    messages: Vec<Bytes>,
}

/// Posts `body` as it is, with this content type, to the app in-process.
async fn post(router: &Router, path: &str, content_type: &str, body: Vec<u8>) -> Result<WebAnswer, String> {
    let request = Request::post(path)
        .header("content-type", content_type)
        .header("x-grpc-web", "1")
        .body(Body::from(body))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("a router never fails");
    // A session's stream stays open: its first event, the token, is answer enough.
    read(response, path == PROCESS_ORDERS_OPEN).await
}

/// Reads until the trailers frame (or the first message, if asked), checking the framing on the way.
async fn read(response: Response<Body>, stop_at_first_message: bool) -> Result<WebAnswer, String> {
    let (head, mut body) = response.into_parts();
    let header = |name: &str| head.headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_string);
    let text = header("content-type").is_some_and(|kind| kind.starts_with("application/grpc-web-text"));
    let mut answer = WebAnswer { http_status: head.status, grpc_status: header("grpc-status"), messages: Vec::new() };
    let (mut received, mut frames, mut trailers_seen) = (Vec::new(), Vec::new(), false);
    while let Some(chunk) = body.frame().await {
        let Ok(data) = chunk.map_err(|error| format!("the body failed: {error}"))?.into_data() else { continue };
        received.extend_from_slice(&data);
        if text {
            // Each chunk is base64 on its own, padded: decode whole 4-character groups.
            let whole = received.len() / 4 * 4;
            for group in received.drain(..whole).collect::<Vec<_>>().chunks(4) {
                frames.extend(STANDARD.decode(group).map_err(|error| format!("bad base64 in the answer: {error}"))?);
            }
        } else {
            frames.append(&mut received);
        }
        while frames.len() >= 5 {
            let len = u32::from_be_bytes([frames[1], frames[2], frames[3], frames[4]]) as usize;
            if frames.len() < 5 + len {
                break;
            }
            let flags = frames[0];
            let payload: Vec<u8> = frames.drain(..5 + len).skip(5).collect();
            if trailers_seen {
                return Err("a frame after the trailers".into());
            }
            if flags & 0x80 != 0 {
                trailers_seen = true;
                let trailers = String::from_utf8_lossy(&payload).into_owned();
                let status = trailers.split("\r\n").find_map(|line| line.strip_prefix("grpc-status:"));
                answer.grpc_status = status.map(|status| status.trim().to_string());
            } else {
                answer.messages.push(payload.into());
                if stop_at_first_message {
                    return Ok(answer);
                }
            }
        }
    }
    if !frames.is_empty() || !received.is_empty() {
        return Err(format!("the answer ends inside a frame: {frames:?} {received:?}"));
    }
    Ok(answer)
}

/// Every order the app lists, and the sample orders as `getOrder` returns them.
async fn store_contents(router: &Router) -> (usize, Vec<pb::Order>) {
    let query = |message: String| frame(0, &message.encode_to_vec());
    let listed = post(router, METHODS[2], Encoding::Binary.content_type(), query(String::new())).await;
    let listed = listed.expect("searchOrders answers").messages.len();
    let mut samples = Vec::new();
    for order in sample_orders() {
        let found = post(router, METHODS[1], Encoding::Binary.content_type(), query(order.id.clone())).await;
        let found = found.expect("getOrder answers");
        let [message] = found.messages.as_slice() else { panic!("getOrder {}: {found:?}", order.id) };
        samples.push(pb::Order::decode(message.clone()).expect("an order"));
    }
    (listed, samples)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_to_any_method_get_http_200_and_a_grpc_status_and_leave_the_store_alone(body in hostile_body()) {
        let app = App::in_memory(&Config::default());
        let router = app.router();
        runtime().block_on(async {
            let (listed_before, samples_before) = store_contents(&router).await;
            let (mut added, mut updated) = (0, false);
            let ways = [
                (Encoding::Binary.content_type(), body.clone()),
                (Encoding::Text.content_type(), STANDARD.encode(&body).into_bytes()),
                (Encoding::Text.content_type(), body.clone()), // most likely not base64 at all
            ];
            for path in METHODS {
                for (content_type, sent) in &ways {
                    let case = format!("{path} as {content_type}, {} bytes", sent.len());
                    let answer = post(&router, path, content_type, sent.clone()).await.map_err(TestCaseError::fail)?;
                    prop_assert_eq!(answer.http_status, StatusCode::OK, "{}: {:?}", case, answer);
                    match answer.grpc_status.as_deref() {
                        Some(status) => {
                            let code: i32 = status.parse().map_err(|_| TestCaseError::fail(format!("{case}: {status}")))?;
                            prop_assert!((0..=16).contains(&code), "{}: grpc-status {}", case, code);
                            added += usize::from(path == ADD_ORDER && code == 0);
                            updated |= UPDATES.contains(&path) && code == 0;
                        }
                        None => {
                            // Only an opened session may still be running: its first event is its token.
                            prop_assert_eq!(path, PROCESS_ORDERS_OPEN, "{}: no grpc-status: {:?}", case, answer);
                            let first = answer.messages.first().cloned().unwrap_or_default();
                            let event = pb::ProcessingEvent::decode(first).map(|event| event.event);
                            prop_assert!(matches!(event, Ok(Some(PbEvent::SessionToken(_)))), "{}: {:?}", case, event);
                        }
                    }
                    prop_assert_eq!(app.open_process_streams(), 0, "{}: a processing stream outlived its call", case);
                }
            }
            let (listed_after, samples_after) = store_contents(&router).await;
            prop_assert_eq!(listed_after, listed_before + added, "only a successful addOrder adds an order");
            if !updated {
                prop_assert_eq!(samples_after, samples_before, "the sample orders changed");
            }
            Ok(())
        })?;
    }
}
