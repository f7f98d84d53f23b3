//! How values read on the page: prices, item and id lists, counts.

/// A price with two decimals: `1800.00`. Written as the f64 it widens to, exactly the same value
/// and so the same digits: the page then carries one float formatter (f64's), not two.
pub(crate) fn price(price: f32) -> String {
    format!("{:.2}", f64::from(price))
}

/// Items or ids joined the way the page shows them: `102, 104`.
pub(crate) fn joined(values: &[String]) -> String {
    values.join(", ")
}

/// How many orders a search found: `No orders`, `1 order`, `5 orders`, `100,005 orders`.
pub(crate) fn order_count(count: usize) -> String {
    match count {
        0 => "No orders".to_string(),
        1 => "1 order".to_string(),
        n => format!("{} orders", self::count(n)),
    }
}

/// A count with thousands separated: `100,005`.
pub(crate) fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
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
    fn large_counts_are_grouped_by_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(100_005), "100,005");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(order_count(100_005), "100,005 orders");
    }

    #[test]
    fn counts_read_as_words() {
        assert_eq!(order_count(0), "No orders");
        assert_eq!(order_count(1), "1 order");
        assert_eq!(order_count(5), "5 orders");
    }
}
