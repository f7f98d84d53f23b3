//! The add form and the update draft: the text as typed, and how their last call went.

use ordermgt_proto::Order;

use super::Status;
use crate::draft::{Draft, DraftChange};
use crate::parse::{OrderField, OrderText};

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct AddState {
    pub(crate) form: OrderText,
    /// Loaded with the new order's id.
    pub(crate) status: Status<String>,
}

#[derive(Debug)]
pub(crate) enum AddAction {
    Field(OrderField, String),
    Started,
    Done(Result<String, String>),
}

impl AddState {
    pub(crate) fn reduce(&mut self, action: AddAction) {
        match action {
            AddAction::Field(field, value) => self.form.set(field, value),
            AddAction::Started => self.status = Status::Loading,
            AddAction::Done(Ok(id)) => {
                self.form = OrderText::default();
                self.status = Status::Loaded(id);
            }
            AddAction::Done(Err(message)) => self.status = Status::Failed(message),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct UpdateState {
    /// One draft per order being edited, in the order they were added.
    pub(crate) drafts: Vec<Draft>,
    /// Loaded with the server's reply.
    pub(crate) status: Status<String>,
}

/// One change to the draft of one order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DraftEdit {
    pub(crate) id: String,
    pub(crate) change: DraftChange,
}

#[derive(Debug)]
pub(crate) enum UpdateAction {
    Edit(Order),
    Field(DraftEdit),
    Remove(String),
    Started,
    Done(Result<String, String>),
}

impl UpdateState {
    pub(crate) fn reduce(&mut self, action: UpdateAction) {
        match action {
            UpdateAction::Edit(order) => {
                // An order already in the draft keeps what was typed into it.
                if !self.drafts.iter().any(|draft| draft.id() == order.id) {
                    self.drafts.push(Draft::from_order(&order));
                }
                if !self.status.is_loading() {
                    self.status = Status::Idle;
                }
            }
            UpdateAction::Field(DraftEdit { id, change }) => {
                if let Some(draft) = self.drafts.iter_mut().find(|draft| draft.id() == id) {
                    draft.apply(change);
                }
            }
            UpdateAction::Remove(id) => self.drafts.retain(|draft| draft.id() != id),
            UpdateAction::Started => self.status = Status::Loading,
            UpdateAction::Done(Ok(reply)) => {
                self.drafts.clear();
                self.status = Status::Loaded(reply);
            }
            // All or nothing: the draft stays for another try.
            UpdateAction::Done(Err(message)) => self.status = Status::Failed(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: &str, price: f32) -> Order {
        Order { id: id.into(), items: vec!["Amazon Echo".into()], price, ..Order::default() }
    }

    #[test]
    fn a_successful_add_clears_the_form() {
        let mut add = AddState::default();
        add.reduce(AddAction::Field(OrderField::Id, "101".into()));
        assert_eq!(add.form.id, "101");
        add.reduce(AddAction::Started);
        add.reduce(AddAction::Done(Ok("101".into())));
        assert_eq!(add.form, OrderText::default());
        assert_eq!(add.status, Status::Loaded("101".into()));
    }

    #[test]
    fn a_failed_add_keeps_the_form() {
        let mut add = AddState::default();
        add.reduce(AddAction::Field(OrderField::Price, "-5".into()));
        add.reduce(AddAction::Done(Err("price must be at least 0".into())));
        assert_eq!(add.form.price, "-5");
        assert!(matches!(add.status, Status::Failed(_)));
    }

    #[test]
    fn edits_gather_in_the_draft_once_each() {
        let mut update = UpdateState::default();
        update.reduce(UpdateAction::Edit(order("102", 1800.0)));
        update.reduce(UpdateAction::Edit(order("103", 400.0)));
        let edit = DraftEdit { id: "102".into(), change: DraftChange::Field(OrderField::Price, "1700".into()) };
        update.reduce(UpdateAction::Field(edit));
        update.reduce(UpdateAction::Edit(order("102", 1800.0)));
        let prices: Vec<_> = update.drafts.iter().map(|draft| (draft.id(), draft.price.as_str())).collect();
        assert_eq!(prices, [("102", "1700"), ("103", "400.00")]);
        update.reduce(UpdateAction::Field(DraftEdit { id: "103".into(), change: DraftChange::AddItem }));
        assert_eq!(update.drafts[1].items, ["Amazon Echo", ""], "an item added to 103's draft only");
        update.reduce(UpdateAction::Remove("103".into()));
        assert_eq!(update.drafts.len(), 1);
    }

    #[test]
    fn the_draft_is_kept_on_failure_and_cleared_on_success() {
        let mut update = UpdateState::default();
        update.reduce(UpdateAction::Edit(order("105", 30.0)));
        update.reduce(UpdateAction::Started);
        update.reduce(UpdateAction::Done(Err("order 105: price must be at least 0".into())));
        assert_eq!(update.drafts.len(), 1);
        update.reduce(UpdateAction::Done(Ok("Updated orders: 105".into())));
        assert!(update.drafts.is_empty());
        assert_eq!(update.status, Status::Loaded("Updated orders: 105".into()));
    }
}
