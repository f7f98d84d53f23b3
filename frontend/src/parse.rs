//! What the user typed, turned into an `Order`: items, prices, the add form and update drafts.
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
    /// The order an update draft was made from: a field whose text is still
    /// what the draft showed goes back exactly as it was loaded (items that
    /// hold commas, a price such as 19.999), not as its text parses.
    pub(crate) loaded: Option<Order>,
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
    /// The order as an update draft shows it: items joined by commas, the price with two decimals.
    pub(crate) fn from_order(order: &Order) -> Self {
        OrderText {
            id: order.id.clone(),
            items: crate::format::joined(&order.items),
            description: order.description.clone(),
            price: crate::format::price(order.price),
            destination: order.destination.clone(),
            loaded: Some(order.clone()),
        }
    }

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

/// How the items of an `OrderText` are separated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ItemsSeparator {
    /// One item per line (the add form's textarea).
    Lines,
    /// Items separated by commas (an update draft's one-line input).
    Commas,
}

/// The non-blank items of `text`, trimmed, in order.
pub(crate) fn items(text: &str, separator: ItemsSeparator) -> Vec<String> {
    let pieces: Box<dyn Iterator<Item = &str>> = match separator {
        ItemsSeparator::Lines => Box::new(text.lines()),
        ItemsSeparator::Commas => Box::new(text.split(',')),
    };
    pieces.map(str::trim).filter(|item| !item.is_empty()).map(str::to_string).collect()
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

/// The order the user typed, or what is wrong with it in words. In an
/// update draft, each field left as the draft showed it is the loaded value.
pub(crate) fn order(text: &OrderText, separator: ItemsSeparator) -> Result<Order, String> {
    let loaded = text.loaded.as_ref();
    let kept = |typed: &str, shown: &dyn Fn(&Order) -> String| loaded.filter(|order| shown(order) == typed);
    let trimmed = |typed: &str| typed.trim().to_string();
    Ok(Order {
        id: trimmed(&text.id),
        items: match kept(&text.items, &|order| crate::format::joined(&order.items)) {
            Some(order) => order.items.clone(),
            None => items(&text.items, separator),
        },
        description: match kept(&text.description, &|order| order.description.clone()) {
            Some(order) => order.description.clone(),
            None => trimmed(&text.description),
        },
        price: match kept(&text.price, &|order| crate::format::price(order.price)) {
            Some(order) => order.price,
            None => price(&text.price)?,
        },
        destination: match kept(&text.destination, &|order| order.destination.clone()) {
            Some(order) => order.destination.clone(),
            None => trimmed(&text.destination),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_one_per_line_skip_blank_lines() {
        assert_eq!(items("iPhone XS\n\n  Mac Book Pro  \r\n", ItemsSeparator::Lines), ["iPhone XS", "Mac Book Pro"]);
        assert!(items("  \n ", ItemsSeparator::Lines).is_empty());
    }

    #[test]
    fn items_separated_by_commas() {
        assert_eq!(
            items("Google Pixel 3A, Mac Book Pro,", ItemsSeparator::Commas),
            ["Google Pixel 3A", "Mac Book Pro"]
        );
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
            loaded: None,
        };
        let order = order(&text, ItemsSeparator::Lines).expect("valid");
        assert_eq!(order.id, "101");
        assert_eq!(order.items, ["iPhone XS", "Mac Book Pro"]);
        assert_eq!(order.description, "gift");
        assert_eq!(order.price, 2300.0);
        assert_eq!(order.destination, "San Jose, CA");
    }

    #[test]
    fn an_order_round_trips_through_a_draft() {
        let order = Order {
            id: "102".into(),
            items: vec!["Google Pixel 3A".into(), "Mac Book Pro".into()],
            description: "Mac Book Pro".into(),
            price: 1800.0,
            destination: "Mountain View, CA".into(),
        };
        let mut text = OrderText::from_order(&order);
        assert_eq!(text.items, "Google Pixel 3A, Mac Book Pro");
        assert_eq!(text.price, "1800.00");
        assert_eq!(self::order(&text, ItemsSeparator::Commas), Ok(order));
        text.set(OrderField::Price, "1700".into());
        assert_eq!(text.price, "1700");
    }

    #[test]
    fn fields_left_as_the_draft_showed_them_go_back_exactly_as_loaded() {
        for price in [0.1, 19.999, 1e7, 1800.0] {
            let loaded = Order {
                id: "107".into(),
                items: vec!["Cable, USB-C".into(), "Ünïcødé \"quoted\"".into(), " padded ".into()],
                description: " as stored ".into(),
                price,
                destination: "Zürich, CH".into(),
            };
            let mut text = OrderText::from_order(&loaded);
            text.set(OrderField::Description, "a new description".into());
            let updated = order(&text, ItemsSeparator::Commas).expect("valid");
            assert_eq!(updated.items, loaded.items, "items, untouched, with a comma in one");
            assert_eq!(updated.price.to_bits(), price.to_bits(), "the price {price}, untouched");
            assert_eq!(updated.destination, loaded.destination);
            assert_eq!(updated.description, "a new description");
            // Nothing touched: the very order that was loaded.
            assert_eq!(order(&OrderText::from_order(&loaded), ItemsSeparator::Commas), Ok(loaded));
        }
    }

    #[test]
    fn a_field_that_was_edited_is_parsed_from_what_was_typed() {
        let loaded = Order { id: "102".into(), items: vec!["A".into()], price: 19.999, ..Order::default() };
        let mut text = OrderText::from_order(&loaded);
        text.set(OrderField::Price, "20".into());
        text.set(OrderField::Items, "A, B".into());
        let updated = order(&text, ItemsSeparator::Commas).expect("valid");
        assert_eq!(updated.price, 20.0);
        assert_eq!(updated.items, ["A", "B"]);
    }

    #[test]
    fn an_order_with_a_bad_price_says_so() {
        let text = OrderText { price: "ten".into(), ..OrderText::default() };
        assert!(order(&text, ItemsSeparator::Lines).is_err_and(|e| e.contains("price")));
    }
}
