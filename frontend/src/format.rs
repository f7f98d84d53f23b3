//! How values read on the page: prices, item and id lists, counts.

/// A price with two decimals: `1800.00`.
pub(crate) fn price(price: f32) -> String {
    format!("{price:.2}")
}

/// Items or ids joined the way the page shows them: `102, 104`.
pub(crate) fn joined(values: &[String]) -> String {
    values.join(", ")
}

/// How many orders a search found: `No orders`, `1 order`, `5 orders`.
pub(crate) fn order_count(count: usize) -> String {
    match count {
        0 => "No orders".to_string(),
        1 => "1 order".to_string(),
        n => format!("{n} orders"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_have_two_decimals() {
        assert_eq!(price(1800.0), "1800.00");
        assert_eq!(price(0.5), "0.50");
        assert_eq!(price(29.999), "30.00");
    }

    #[test]
    fn lists_are_joined_with_commas() {
        assert_eq!(joined(&["102".to_string(), "104".to_string()]), "102, 104");
        assert_eq!(joined(&[]), "");
    }

    #[test]
    fn counts_read_as_words() {
        assert_eq!(order_count(0), "No orders");
        assert_eq!(order_count(1), "1 order");
        assert_eq!(order_count(5), "5 orders");
    }
}
