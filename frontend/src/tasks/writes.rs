//! Writes, and the token they carry: each write goes with the tab's token, if it holds one; a write
//! refused for want of the right token waits for the token form, and goes again once one is saved.

use ordermgt_proto::Order;
use wasm_bindgen_futures::spawn_local;

use super::Tasks;
use crate::services::processing::Transport;
use crate::services::websocket::is_unanswered;
use crate::services::{CallError, Reach, WriteToken};
use crate::state::{AddAction, ProcessAction, TokenAction, UpdateAction, Write};

impl Tasks {
    /// Sends `write` with the tab's token; what comes back goes to its panel, or to the token form.
    pub(super) fn write(&self, write: Write) {
        match &write {
            Write::Add(_) => self.dispatch(AddAction::Started),
            Write::Update { .. } => self.dispatch(UpdateAction::Started),
        }
        let this = self.clone();
        spawn_local(async move {
            let token = this.credentials.token();
            let result = match &write {
                Write::Add(order) => this.api.add(order.clone(), token.as_ref()).await,
                Write::Update { orders, transport, .. } => this.update_over(*transport, orders, token.as_ref()).await,
            };
            this.reached(result.as_ref().map_or_else(|error| error.reach, |_| Reach::Server));
            match result {
                Err(error) if error.needs_write_token() => this.refused(write, token, error),
                result => this.written(write, result.map_err(|error| error.message)),
            }
        });
    }

    /// The update as one client stream (`updateOrders`) over WebSocket, or as `updateOrdersUnary`.
    /// A WebSocket that gets no answer sends the update again over gRPC-Web: replacing orders with
    /// the same values twice changes nothing more than once, should the first have gone through.
    async fn update_over(
        &self,
        transport: Transport,
        orders: &[Order],
        token: Option<&WriteToken>,
    ) -> Result<String, CallError> {
        let mut fell_back = None;
        if transport == Transport::WebSocket {
            match self.api.update_streaming(orders.to_vec(), token).await {
                Ok(reply) => return Ok(reply),
                Err(status) if is_unanswered(&status) => fell_back = Some(status.message().to_string()),
                Err(status) => return Err(status.into()),
            }
        }
        let result = self.api.update(orders.to_vec(), token).await;
        // The server answered over gRPC-Web: the WebSocket is what does not work here.
        if let Some(reason) = fell_back
            && result.as_ref().map_or_else(|error| error.reach == Reach::Server, |_| true)
        {
            self.dispatch(ProcessAction::WebSocketFailed(reason));
        }
        result
    }

    /// A refused token is forgotten; the write waits in the token form.
    fn refused(&self, write: Write, sent: Option<WriteToken>, error: CallError) {
        let held = match sent {
            Some(sent) => self.credentials.forget_refused(&sent),
            None => self.credentials.token().is_some(),
        };
        self.dispatch(TokenAction::Refused { write, message: error.message, held });
    }

    fn written(&self, write: Write, result: Result<String, String>) {
        let succeeded = result.is_ok();
        match write {
            Write::Add(_) => {
                self.dispatch(AddAction::Done(result));
                if succeeded {
                    self.refresh();
                }
            }
            Write::Update { orders, shown, .. } => {
                self.dispatch(UpdateAction::Done(result));
                if succeeded {
                    self.refresh();
                    if let Some(id) = shown.filter(|id| orders.iter().any(|order| &order.id == id)) {
                        self.show(id);
                    }
                }
            }
        }
    }

    /// Tells the page whether the tab already holds a token (kept across reloads of the tab).
    pub(crate) fn check_token(&self) {
        self.dispatch(TokenAction::Held(self.credentials.token().is_some()));
    }

    /// Keeps the token typed into the form, and sends the waiting writes again with it.
    pub(crate) fn save_token(&self, typed: &str, waiting: Vec<Write>) {
        match WriteToken::parse(typed) {
            Ok(token) => {
                self.credentials.keep(&token);
                self.dispatch(TokenAction::Saved);
                for write in waiting {
                    self.write(write);
                }
            }
            Err(message) => self.dispatch(TokenAction::Invalid(message)),
        }
    }

    /// Forgets the tab's token: the next write asks for one again.
    pub(crate) fn forget_token(&self) {
        self.credentials.forget();
        self.dispatch(TokenAction::Forgotten);
    }
}
