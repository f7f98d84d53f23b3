//! An order in the update draft: the order as it was loaded, and what the
//! person changed of it. Its items are a list, edited one by one (renamed,
//! removed, added), so an item may hold any text, commas included. What was
//! not changed goes back exactly as it was loaded: an item, a description, a
//! destination or a price such as 19.999 that the person left alone is sent
//! byte for byte, not as its text would parse.

use ordermgt_proto::Order;

use crate::parse::OrderField;

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Draft {
    /// The order the draft was made from.
    pub(crate) loaded: Order,
    /// The items as edited, one entry an input; blank ones are dropped when sent.
    pub(crate) items: Vec<String>,
    pub(crate) description: String,
    /// As shown (two decimals) until the person types another.
    pub(crate) price: String,
    pub(crate) destination: String,
}

/// One change the person made to a draft.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DraftChange {
    /// A field typed into (`Description`, `Price` or `Destination`).
    Field(OrderField, String),
    /// Item `index` renamed.
    Item(usize, String),
    /// Item `index` removed.
    RemoveItem(usize),
    /// A new, empty item at the end.
    AddItem,
}

impl Draft {
    pub(crate) fn from_order(order: &Order) -> Self {
        Draft {
            loaded: order.clone(),
            items: order.items.clone(),
            description: order.description.clone(),
            price: crate::format::price(order.price),
            destination: order.destination.clone(),
        }
    }

    pub(crate) fn id(&self) -> &str {
        &self.loaded.id
    }

    pub(crate) fn apply(&mut self, change: DraftChange) {
        match change {
            DraftChange::Field(OrderField::Description, value) => self.description = value,
            DraftChange::Field(OrderField::Price, value) => self.price = value,
            DraftChange::Field(OrderField::Destination, value) => self.destination = value,
            // The id names the order to update, and the items are edited one by one.
            DraftChange::Field(OrderField::Id | OrderField::Items, _) => {}
            DraftChange::Item(index, value) => {
                if let Some(item) = self.items.get_mut(index) {
                    *item = value;
                }
            }
            DraftChange::RemoveItem(index) => {
                if index < self.items.len() {
                    self.items.remove(index);
                }
            }
            DraftChange::AddItem => self.items.push(String::new()),
        }
    }

    /// The order to send, or what is wrong with it in words: each field as
    /// loaded where the person left it alone, else as typed (trimmed).
    pub(crate) fn order(&self) -> Result<Order, String> {
        let loaded = &self.loaded;
        let typed = |now: &str, was: &str| if now == was { was.to_string() } else { now.trim().to_string() };
        let items = self
            .items
            .iter()
            .filter(|item| !item.trim().is_empty())
            .map(|item| if loaded.items.contains(item) { item.clone() } else { item.trim().to_string() })
            .collect();
        let price = if self.price == crate::format::price(loaded.price) {
            loaded.price
        } else {
            crate::parse::price(&self.price)?
        };
        Ok(Order {
            id: loaded.id.clone(),
            items,
            description: typed(&self.description, &loaded.description),
            price,
            destination: typed(&self.destination, &loaded.destination),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(price: f32) -> Order {
        Order {
            id: "107".into(),
            items: vec!["Cable, USB-C".into(), "Ünïcødé \"quoted\"".into(), " padded ".into()],
            description: " as stored ".into(),
            price,
            destination: "Zürich, CH".into(),
        }
    }

    #[test]
    fn a_draft_left_alone_sends_the_very_order_that_was_loaded() {
        for price in [0.1, 19.999, 1e7, 1800.0] {
            let loaded = stored(price);
            let sent = Draft::from_order(&loaded).order().expect("valid");
            assert_eq!(sent, loaded);
            assert_eq!(sent.price.to_bits(), price.to_bits(), "the price {price}, bit for bit");
        }
    }

    #[test]
    fn editing_the_description_leaves_items_and_price_exactly_as_loaded() {
        for price in [0.1, 19.999, 1e7] {
            let loaded = stored(price);
            let mut draft = Draft::from_order(&loaded);
            draft.apply(DraftChange::Field(OrderField::Description, "  a new description ".into()));
            let sent = draft.order().expect("valid");
            assert_eq!(sent.items, loaded.items, "items with a comma, quotes, non-ASCII and padding");
            assert_eq!(sent.price.to_bits(), price.to_bits(), "the price {price}");
            assert_eq!(sent.destination, loaded.destination);
            assert_eq!(sent.description, "a new description", "what was typed is trimmed");
        }
    }

    #[test]
    fn items_are_renamed_removed_and_added_one_by_one() {
        let mut draft = Draft::from_order(&stored(19.999));
        draft.apply(DraftChange::Item(1, "Ünïcødé, renamed ".into()));
        draft.apply(DraftChange::RemoveItem(0));
        draft.apply(DraftChange::AddItem);
        draft.apply(DraftChange::Item(2, "Adapter, \"USB-A\"".into()));
        draft.apply(DraftChange::AddItem);
        let sent = draft.order().expect("valid");
        assert_eq!(sent.items, ["Ünïcødé, renamed", " padded ", "Adapter, \"USB-A\""], "the blank one is dropped");
        assert_eq!(sent.price.to_bits(), 19.999f32.to_bits());
    }

    #[test]
    fn changes_past_the_end_of_the_items_change_nothing() {
        let loaded = stored(1.0);
        let mut draft = Draft::from_order(&loaded);
        draft.apply(DraftChange::Item(9, "ghost".into()));
        draft.apply(DraftChange::RemoveItem(9));
        draft.apply(DraftChange::Field(OrderField::Id, "other".into()));
        assert_eq!(draft.order(), Ok(loaded));
    }

    #[test]
    fn a_typed_price_is_parsed_and_a_bad_one_refused_in_words() {
        let mut draft = Draft::from_order(&stored(19.999));
        draft.apply(DraftChange::Field(OrderField::Price, "20".into()));
        assert_eq!(draft.order().map(|order| order.price), Ok(20.0));
        draft.apply(DraftChange::Field(OrderField::Price, "ten".into()));
        assert!(draft.order().is_err_and(|message| message.contains("price")));
    }
}
