//! The order as the domain sees it, and the rules an order must satisfy to be stored.

use crate::domain::error::OrderError;

/// Longest order id, in bytes.
pub const MAX_ID_LEN: usize = 128;
/// Most items one order may hold.
pub const MAX_ITEMS: usize = 1_000;
/// Longest item name, in bytes.
pub const MAX_ITEM_LEN: usize = 1_024;
/// Longest description, in bytes.
pub const MAX_DESCRIPTION_LEN: usize = 16 * 1_024;
/// Longest destination, in bytes.
pub const MAX_DESTINATION_LEN: usize = 1_024;

/// Checks an id a client sent: at most [`MAX_ID_LEN`] bytes, no control
/// characters. No stored order has any other, so a lookup can refuse it unread.
pub fn check_id(id: &str) -> Result<(), OrderError> {
    let invalid = |problem: String| OrderError::Invalid { id: id.into(), field: "id", problem };
    if id.len() > MAX_ID_LEN {
        return Err(invalid(format!("is {} bytes long; the limit is {MAX_ID_LEN}", id.len())));
    }
    if id.chars().any(char::is_control) {
        return Err(invalid("contains control characters".into()));
    }
    Ok(())
}

/// An order: what was bought, for how much, and where it goes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Order {
    /// Its key: unique in the store, chosen by the client.
    pub id: String,
    /// What was bought, in the order given.
    pub items: Vec<String>,
    /// Free text.
    pub description: String,
    /// What it cost (the book's proto makes it a float).
    pub price: f32,
    /// Where it goes: processing groups a batch's orders by it.
    pub destination: String,
}

impl Order {
    /// Checks the fields a client controls; the error names the field at fault.
    ///
    /// The id may be empty here: `addOrder` fills it in, `updateOrders` refuses it.
    pub fn validate(&self) -> Result<(), OrderError> {
        check_id(&self.id)?;
        let invalid =
            |field: &'static str, problem: String| OrderError::Invalid { id: self.id.clone(), field, problem };
        if !self.price.is_finite() || self.price < 0.0 {
            return Err(invalid("price", format!("must be a finite number of at least 0, got {}", self.price)));
        }
        if self.items.len() > MAX_ITEMS {
            return Err(invalid("items", format!("holds {} items; the limit is {MAX_ITEMS}", self.items.len())));
        }
        if let Some((index, item)) = self.items.iter().enumerate().find(|(_, item)| item.len() > MAX_ITEM_LEN) {
            return Err(invalid(
                "items",
                format!("item {index} is {} bytes long; the limit is {MAX_ITEM_LEN}", item.len()),
            ));
        }
        if self.description.len() > MAX_DESCRIPTION_LEN {
            return Err(invalid(
                "description",
                format!("is {} bytes long; the limit is {MAX_DESCRIPTION_LEN}", self.description.len()),
            ));
        }
        if self.destination.len() > MAX_DESTINATION_LEN {
            return Err(invalid(
                "destination",
                format!("is {} bytes long; the limit is {MAX_DESTINATION_LEN}", self.destination.len()),
            ));
        }
        Ok(())
    }

    /// About how many bytes the order holds: its text, and a little for each
    /// item and the price. What byte budgets count.
    pub fn weight(&self) -> usize {
        let items: usize = self.items.iter().map(|item| item.len() + 8).sum();
        self.id.len() + self.description.len() + self.destination.len() + items + 16
    }

    /// What a database searches for this order: its items, lowercased as
    /// [`Order::matches`] lowercases them, one per line.
    pub fn search_text(&self) -> String {
        self.items.iter().map(|item| item.to_lowercase()).collect::<Vec<_>>().join("\n")
    }

    /// Whether an item contains `lowercase_query`, ignoring case; an empty query matches every order.
    pub fn matches(&self, lowercase_query: &str) -> bool {
        lowercase_query.is_empty() || self.items.iter().any(|item| item.to_lowercase().contains(lowercase_query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> Order {
        Order {
            id: "101".into(),
            items: vec!["iPhone XS".into(), "Mac Book Pro".into()],
            description: String::new(),
            price: 2300.0,
            destination: "San Jose, CA".into(),
        }
    }

    fn invalid_field(order: Order) -> &'static str {
        match order.validate() {
            Err(OrderError::Invalid { field, .. }) => field,
            other => panic!("expected an invalid order, got {other:?}"),
        }
    }

    #[test]
    fn a_plain_order_is_valid() {
        assert_eq!(order().validate(), Ok(()));
        assert_eq!(Order { price: 0.0, ..order() }.validate(), Ok(()));
    }

    #[test]
    fn a_price_that_is_negative_or_not_finite_is_refused() {
        for price in [-0.01, f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            assert_eq!(invalid_field(Order { price, ..order() }), "price", "price {price}");
        }
    }

    #[test]
    fn absurd_sizes_are_refused_naming_the_field() {
        let long = |n| "x".repeat(n);
        assert_eq!(invalid_field(Order { id: long(MAX_ID_LEN + 1), ..order() }), "id");
        assert_eq!(invalid_field(Order { id: "a\nb".into(), ..order() }), "id");
        assert_eq!(invalid_field(Order { items: vec![String::new(); MAX_ITEMS + 1], ..order() }), "items");
        assert_eq!(invalid_field(Order { items: vec![long(MAX_ITEM_LEN + 1)], ..order() }), "items");
        assert_eq!(invalid_field(Order { description: long(MAX_DESCRIPTION_LEN + 1), ..order() }), "description");
        assert_eq!(invalid_field(Order { destination: long(MAX_DESTINATION_LEN + 1), ..order() }), "destination");
    }

    #[test]
    fn search_matches_any_item_ignoring_case() {
        assert!(order().matches("mac book"));
        assert!(order().matches("iphone"));
        assert!(order().matches(""));
        assert!(!order().matches("pixel"));
        assert!(Order { items: vec![], ..order() }.matches(""));
    }
}
