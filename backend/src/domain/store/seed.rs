//! The book's sample orders, which a new store starts with.

use crate::domain::order::Order;

/// Orders 102 to 106 of "gRPC: Up and Running", chapter 3.
pub fn sample_orders() -> Vec<Order> {
    let order = |id: &str, items: &[&str], destination: &str, price: f32| Order {
        id: id.into(),
        items: items.iter().map(|item| (*item).into()).collect(),
        description: String::new(),
        price,
        destination: destination.into(),
    };
    vec![
        order("102", &["Google Pixel 3A", "Mac Book Pro"], "Mountain View, CA", 1800.00),
        order("103", &["Apple Watch S4"], "San Jose, CA", 400.00),
        order("104", &["Google Home Mini", "Google Nest Hub"], "Mountain View, CA", 400.00),
        order("105", &["Amazon Echo"], "San Jose, CA", 30.00),
        order("106", &["Amazon Echo", "Apple iPhone XS"], "Mountain View, CA", 300.00),
    ]
}
