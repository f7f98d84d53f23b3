//! One browser WebSocket as a call sees it: its events as a stream, sends that wait while the
//! browser's buffer is full, and a close as soon as it is dropped. `web_sys::WebSocket` is not
//! `Send`, so a `Socket` lives in one `spawn_local` task.

use futures::channel::mpsc::{self, UnboundedReceiver, UnboundedSender};
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use wasm_bindgen::closure::Closure;
use wasm_bindgen_futures::js_sys::{Array, ArrayBuffer, Uint8Array};
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

/// Sends wait while the browser holds more than this, unsent (PROTOCOL.md: 1 MiB).
const MAX_BUFFERED: u32 = 1 << 20;
/// How often a waiting send looks at the buffer again.
const DRAIN_POLL_MS: u32 = 10;
/// RFC 6455's normal closure, the one code below 3000 a page may send: the call is over, or
/// abandoned (the server cancels a call whose socket closes before its trailers, whatever the code).
const NORMAL_CLOSURE: u16 = 1000;

/// What the browser reports about the socket.
#[derive(Debug)]
pub(super) enum SocketEvent {
    Open,
    /// A binary message: one frame (v1), or one or more (v2).
    Binary(Vec<u8>),
    /// A text message, which grpc-ws never sends.
    Text,
    Closed {
        code: u16,
        reason: String,
    },
}

/// An open (or opening) WebSocket; dropping it closes it.
#[derive(Debug)]
pub(super) struct Socket {
    ws: WebSocket,
    // Kept alive while the browser may call them.
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Socket {
    /// Starts opening a WebSocket to `url`, offering `protocols`; its events arrive on the receiver,
    /// `Open` first, or `Closed` if it cannot open.
    pub(super) fn open(url: &str, protocols: &[&str]) -> Result<(Socket, UnboundedReceiver<SocketEvent>), String> {
        let offered: Array = protocols.iter().map(|protocol| JsValue::from_str(protocol)).collect();
        let ws = WebSocket::new_with_str_sequence(url, &offered).map_err(|error| format!("{error:?}"))?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let (events, receiver) = mpsc::unbounded();
        let on_open = handler(&events, |_: Event| SocketEvent::Open);
        let on_message = handler(&events, |event: MessageEvent| match event.data().dyn_into::<ArrayBuffer>() {
            Ok(buffer) => SocketEvent::Binary(Uint8Array::new(&buffer).to_vec()),
            Err(_) => SocketEvent::Text,
        });
        let on_close =
            handler(&events, |event: CloseEvent| SocketEvent::Closed { code: event.code(), reason: event.reason() });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        // An error event is always followed by a close event, which says all there is to say.
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let socket = Socket { ws, _on_open: on_open, _on_message: on_message, _on_close: on_close };
        Ok((socket, receiver))
    }

    /// Sends one frame once the browser has room for it (a closed socket drops it).
    pub(super) async fn send(&self, frame: &[u8]) {
        while self.ws.buffered_amount() > MAX_BUFFERED && self.ws.ready_state() == WebSocket::OPEN {
            TimeoutFuture::new(DRAIN_POLL_MS).await;
        }
        self.send_now(frame);
    }

    /// The subprotocol the server chose, once the socket is open.
    pub(super) fn protocol(&self) -> String {
        self.ws.protocol()
    }

    /// Sends one small frame (a window update) whatever the buffer holds.
    pub(super) fn send_now(&self, frame: &[u8]) {
        // Fails only while connecting; once closing, the browser drops the data itself.
        let _ = self.ws.send_with_u8_array(frame);
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        // Before the trailers, this is how a call is cancelled: the server ends it at once.
        if matches!(self.ws.ready_state(), WebSocket::CONNECTING | WebSocket::OPEN) {
            let _ = self.ws.close_with_code(NORMAL_CLOSURE);
        }
    }
}

/// A callback for the browser that reports each event as a `SocketEvent`.
fn handler<E>(
    events: &UnboundedSender<SocketEvent>,
    event: impl Fn(E) -> SocketEvent + 'static,
) -> Closure<dyn FnMut(E)>
where
    E: wasm_bindgen::convert::FromWasmAbi + 'static,
{
    let events = events.clone();
    Closure::new(move |raw: E| {
        let _ = events.unbounded_send(event(raw));
    })
}
