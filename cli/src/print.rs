//! How results are printed: a line of text each, or a line of JSON each.

use ordermgt_proto::{CombinedShipment, Order};
use serde::Serialize;

/// Text or JSON lines, chosen once by `--json`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer {
    pub(crate) json: bool,
}

impl Printer {
    pub(crate) fn order(self, order: &Order) {
        self.line(order, || describe_order(order));
    }

    pub(crate) fn shipment(self, shipment: &CombinedShipment) {
        self.line(shipment, || describe_shipment(shipment));
    }

    /// A reply that is just a string: an id, or the update's summary.
    pub(crate) fn reply(self, key: &'static str, value: &str) {
        let mut object = serde_json::Map::new();
        object.insert(key.into(), value.into());
        self.line(&object, || value.to_string());
    }

    fn line<T: Serialize>(self, value: &T, text: impl FnOnce() -> String) {
        if self.json {
            match serde_json::to_string(value) {
                Ok(json) => println!("{json}"),
                Err(error) => eprintln!("ordermgt: cannot print as JSON: {error}"),
            }
        } else {
            println!("{}", text());
        }
    }
}

pub(crate) fn describe_order(order: &Order) -> String {
    let mut text =
        format!("order {}: {} -> {}, {:.2}", order.id, order.items.join(", "), order.destination, order.price);
    if !order.description.is_empty() {
        text.push_str(&format!(" ({})", order.description));
    }
    text
}

pub(crate) fn describe_shipment(shipment: &CombinedShipment) -> String {
    if shipment.is_rejection() {
        return format!("rejected {:?}: {}", shipment.rejected_id, shipment.reason);
    }
    let ids: Vec<&str> = shipment.orders_list.iter().map(|order| order.id.as_str()).collect();
    format!("shipment {} to {} ({}): {}", shipment.id, shipment.destination, shipment.status, ids.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_reads_as_one_line() {
        let order = Order {
            id: "101".into(),
            items: vec!["iPhone XS".into(), "Mac Book Pro".into()],
            description: String::new(),
            price: 2300.0,
            destination: "San Jose, CA".into(),
        };
        assert_eq!(describe_order(&order), "order 101: iPhone XS, Mac Book Pro -> San Jose, CA, 2300.00");
    }

    #[test]
    fn shipments_and_rejections_read_differently() {
        let shipment = CombinedShipment {
            id: "cmb-1".into(),
            status: "Processed".into(),
            orders_list: vec![
                Order { id: "102".into(), ..Order::default() },
                Order { id: "104".into(), ..Order::default() },
            ],
            destination: "Mountain View, CA".into(),
            ..CombinedShipment::default()
        };
        assert_eq!(describe_shipment(&shipment), "shipment cmb-1 to Mountain View, CA (Processed): 102, 104");
        let rejection = CombinedShipment {
            status: "Rejected".into(),
            rejected_id: "999".into(),
            reason: "order 999 not found".into(),
            ..CombinedShipment::default()
        };
        assert_eq!(describe_shipment(&rejection), "rejected \"999\": order 999 not found");
    }
}
