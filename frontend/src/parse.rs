//! What the user typed, turned into an `Order`: items, prices, the add form (update drafts are `draft.rs`).
//! Only the format is checked here; the server's rules (a price of at least 0, sizes) stay the server's.

use ordermgt_proto::Order;

/// The fields of an order as typed, before parsing.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct OrderText {
    pub(crate) id: String,
    pub(crate) items: String,
    pub(crate) description: String,
    pub(crate) price: String,
    pub(crate) destination: String,
}

/// One field of an `OrderText`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OrderField {
    Id,
    Items,
    Description,
    Price,
    Destination,
}

impl OrderText {
    pub(crate) fn set(&mut self, field: OrderField, value: String) {
        let slot = match field {
            OrderField::Id => &mut self.id,
            OrderField::Items => &mut self.items,
            OrderField::Description => &mut self.description,
            OrderField::Price => &mut self.price,
            OrderField::Destination => &mut self.destination,
        };
        *slot = value;
    }
}

/// The non-blank items of `text`, one a line (the add form's textarea), trimmed, in order.
pub(crate) fn items(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|item| !item.is_empty()).map(str::to_string).collect()
}

/// A price as typed: a finite decimal number (a comma is taken as the decimal point).
pub(crate) fn price(text: &str) -> Result<f32, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("price is missing: enter a number such as 30 or 1800.50".to_string());
    }
    let normalized = trimmed.replace(',', ".");
    let looks_numeric = normalized.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    match normalized.parse::<f32>() {
        Ok(value) if looks_numeric && value.is_finite() => Ok(value),
        _ => Err(format!("price must be a number, got \"{trimmed}\"")),
    }
}

/// The order the user typed, or what is wrong with it in words.
pub(crate) fn order(text: &OrderText) -> Result<Order, String> {
    let trimmed = |typed: &str| typed.trim().to_string();
    Ok(Order {
        id: trimmed(&text.id),
        items: items(&text.items),
        description: trimmed(&text.description),
        price: price(&text.price)?,
        destination: trimmed(&text.destination),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_one_per_line_skip_blank_lines() {
        assert_eq!(items("iPhone XS\n\n  Mac Book Pro  \r\n"), ["iPhone XS", "Mac Book Pro"]);
        assert!(items("  \n ").is_empty());
        assert_eq!(items("Cable, USB-C\nAdapter"), ["Cable, USB-C", "Adapter"], "a comma is part of an item");
    }

    #[test]
    fn prices_parse_as_numbers() {
        assert_eq!(price("1800"), Ok(1800.0));
        assert_eq!(price(" 12.5 "), Ok(12.5));
        assert_eq!(price("12,5"), Ok(12.5));
        // Negative prices are the server's to refuse, with its own words.
        assert_eq!(price("-5"), Ok(-5.0));
    }

    #[test]
    fn prices_that_are_not_numbers_are_refused_in_words() {
        assert_eq!(price("abc"), Err("price must be a number, got \"abc\"".to_string()));
        assert!(price("").is_err_and(|e| e.contains("missing")));
        assert!(price("inf").is_err());
        assert!(price("NaN").is_err());
        assert!(price("1e40").is_err(), "overflows f32");
    }

    #[test]
    fn an_order_is_trimmed_and_parsed() {
        let text = OrderText {
            id: " 101 ".into(),
            items: "iPhone XS\nMac Book Pro".into(),
            description: " gift ".into(),
            price: "2300".into(),
            destination: "San Jose, CA ".into(),
        };
        let order = order(&text).expect("valid");
        assert_eq!(order.id, "101");
        assert_eq!(order.items, ["iPhone XS", "Mac Book Pro"]);
        assert_eq!(order.description, "gift");
        assert_eq!(order.price, 2300.0);
        assert_eq!(order.destination, "San Jose, CA");
    }

    #[test]
    fn an_order_with_a_bad_price_says_so() {
        let text = OrderText { price: "ten".into(), ..OrderText::default() };
        assert!(order(&text).is_err_and(|e| e.contains("price")));
    }
}
