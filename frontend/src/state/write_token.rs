//! Write access as the page sees it: whether the tab holds a write token (the token itself stays in
//! `sessionStorage`), and the token form, shown while refused writes wait for one.

use ordermgt_proto::Order;

use crate::format;
use crate::services::processing::Transport;

/// A write the page makes, kept whole so that it can go again once a token is given.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Write {
    /// `addOrder`.
    Add(Order),
    /// `updateOrders` over WebSocket, or `updateOrdersUnary` over gRPC-Web, as `transport` says;
    /// `shown` is the order in the detail panel, reloaded if it was updated.
    Update { orders: Vec<Order>, shown: Option<String>, transport: Transport },
}

impl Write {
    /// What the write does, in words: `add order 101`, `update orders 102, 103`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Write::Add(order) if order.id.is_empty() => "add the order".to_string(),
            Write::Add(order) => format!("add order {}", order.id),
            Write::Update { orders, .. } => {
                let ids: Vec<String> = orders.iter().map(|order| order.id.clone()).collect();
                let noun = if ids.len() == 1 { "order" } else { "orders" };
                format!("update {noun} {}", format::joined(&ids))
            }
        }
    }
}

/// A write the server refused for want of the right token, and what it said.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Refused {
    pub(crate) write: Write,
    pub(crate) message: String,
}

/// The token form.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TokenPrompt {
    /// The server's last refusal, or why the token typed cannot be sent.
    pub(crate) message: String,
    /// The writes that go again once a token is saved, in the order they were refused.
    pub(crate) waiting: Vec<Refused>,
}

impl TokenPrompt {
    /// What saving a token retries, in words.
    pub(crate) fn waiting_text(&self) -> String {
        let writes: Vec<String> = self.waiting.iter().map(|refused| refused.write.describe()).collect();
        writes.join(" and ")
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct TokenState {
    /// Whether the tab holds a write token.
    pub(crate) held: bool,
    /// Shown while refused writes wait for a token.
    pub(crate) prompt: Option<TokenPrompt>,
}

#[derive(Debug)]
pub(crate) enum TokenAction {
    /// Whether the tab holds a token, as read from its storage.
    Held(bool),
    /// The server refused a write (UNAUTHENTICATED); `held` says whether the tab still holds a
    /// token once the refused one is forgotten.
    Refused { write: Write, message: String, held: bool },
    /// The token typed cannot be sent: the form stays, saying why.
    Invalid(String),
    /// A token was kept: the form closes while the waiting writes go again with it.
    Saved,
    /// The user gave up: the waiting writes fail with their refusals (see `State::reduce`).
    Cancelled,
    /// The user had the tab forget its token.
    Forgotten,
}

impl TokenState {
    pub(crate) fn reduce(&mut self, action: TokenAction) {
        match action {
            TokenAction::Held(held) => self.held = held,
            TokenAction::Refused { write, message, held } => {
                self.held = held;
                let prompt =
                    self.prompt.get_or_insert_with(|| TokenPrompt { message: String::new(), waiting: Vec::new() });
                prompt.message = message.clone();
                prompt.waiting.retain(|refused| refused.write != write);
                prompt.waiting.push(Refused { write, message });
            }
            TokenAction::Invalid(message) => {
                if let Some(prompt) = &mut self.prompt {
                    prompt.message = message;
                }
            }
            TokenAction::Saved => {
                self.held = true;
                self.prompt = None;
            }
            TokenAction::Cancelled => {
                self.cancel();
            }
            TokenAction::Forgotten => self.held = false,
        }
    }

    /// Closes the form, handing back the writes that waited for it.
    pub(crate) fn cancel(&mut self) -> Vec<Refused> {
        self.prompt.take().map(|prompt| prompt.waiting).unwrap_or_default()
    }

    /// The writes a saved token retries.
    pub(crate) fn waiting(&self) -> Vec<Write> {
        self.prompt.iter().flat_map(|prompt| &prompt.waiting).map(|refused| refused.write.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEEDS: &str = "addOrder changes orders and needs the write token: send `authorization: Bearer <token>`";
    const WRONG: &str = "addOrder changes orders: the write token presented is not the right one";

    fn add(id: &str) -> Write {
        Write::Add(Order { id: id.into(), ..Order::default() })
    }

    fn update(ids: &[&str]) -> Write {
        let orders = ids.iter().map(|id| Order { id: (*id).into(), ..Order::default() }).collect();
        Write::Update { orders, shown: None, transport: Transport::WebSocket }
    }

    #[test]
    fn a_refused_write_waits_in_the_form_with_the_servers_message() {
        let mut state = TokenState::default();
        state.reduce(TokenAction::Refused { write: add("101"), message: NEEDS.into(), held: false });
        let prompt = state.prompt.as_ref().expect("the form is shown");
        assert_eq!(prompt.message, NEEDS);
        assert_eq!(prompt.waiting_text(), "add order 101");
        assert_eq!(state.waiting(), [add("101")]);
    }

    #[test]
    fn saving_closes_the_form_and_a_second_refusal_opens_it_again() {
        let mut state = TokenState::default();
        state.reduce(TokenAction::Refused { write: add("101"), message: NEEDS.into(), held: false });
        state.reduce(TokenAction::Saved);
        assert!(state.held);
        assert_eq!(state.prompt, None);
        // The retry with a wrong token: the tab forgot it, and the form asks again.
        state.reduce(TokenAction::Refused { write: add("101"), message: WRONG.into(), held: false });
        assert!(!state.held);
        let prompt = state.prompt.as_ref().expect("the form is shown again");
        assert_eq!(prompt.message, WRONG);
        assert_eq!(prompt.waiting.len(), 1);
    }

    #[test]
    fn a_token_that_cannot_be_sent_keeps_the_form_and_says_why() {
        let mut state = TokenState::default();
        state.reduce(TokenAction::Invalid("Type the write token first.".into()));
        assert_eq!(state.prompt, None, "no form, nothing to say");
        state.reduce(TokenAction::Refused { write: add("101"), message: NEEDS.into(), held: false });
        state.reduce(TokenAction::Invalid("Type the write token first.".into()));
        let prompt = state.prompt.as_ref().expect("the form stays");
        assert_eq!(prompt.message, "Type the write token first.");
        assert_eq!(state.waiting(), [add("101")]);
    }

    #[test]
    fn writes_refused_together_wait_together() {
        let mut state = TokenState::default();
        state.reduce(TokenAction::Refused { write: add(""), message: NEEDS.into(), held: false });
        state.reduce(TokenAction::Refused {
            write: update(&["102", "103"]),
            message: "updateOrdersUnary …".into(),
            held: false,
        });
        let prompt = state.prompt.as_ref().expect("the form is shown");
        assert_eq!(prompt.waiting_text(), "add the order and update orders 102, 103");
        assert_eq!(prompt.message, "updateOrdersUnary …");
        let given_up = state.cancel();
        assert_eq!(given_up.len(), 2);
        assert_eq!(given_up[0].message, NEEDS);
        assert_eq!(state.prompt, None);
    }

    #[test]
    fn the_tab_holds_a_token_until_it_is_forgotten() {
        let mut state = TokenState::default();
        state.reduce(TokenAction::Held(true));
        assert!(state.held);
        state.reduce(TokenAction::Forgotten);
        assert!(!state.held);
    }
}
