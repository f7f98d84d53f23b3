//! Properties of the batching engine that hold for any sequence of ids:
//! known, unknown, empty and repeated, over any batch size.
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use backend::error::OrderError;
use backend::order::Order;
use backend::processing::{self, BatchSize, Event, Outcome, Processor, Shipment, group_by_destination};
use backend::store::MemoryStore;
use futures::TryStreamExt;
use proptest::collection::vec;
use proptest::prelude::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
}

// ---- The batching engine -------------------------------------------------

const DESTINATIONS: [&str; 4] = ["San Jose, CA", "Mountain View, CA", "Austin, TX", "Berlin"];

/// A store of orders `o0`, `o1`, ... over a few destinations, a batch size, and the ids a client sends.
#[derive(Debug, Clone)]
struct Scenario {
    batch_size: usize,
    orders: Vec<Order>,
    sent: Vec<String>,
}

fn orders_to(destinations: &[usize]) -> Vec<Order> {
    let order = |(n, &to): (usize, &usize)| Order {
        id: format!("o{n}"),
        items: vec![format!("item {n}")],
        destination: DESTINATIONS[to].into(),
        ..Order::default()
    };
    destinations.iter().enumerate().map(order).collect()
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (1..=10usize, vec(0..DESTINATIONS.len(), 1..=16)).prop_flat_map(|(batch_size, destinations)| {
        let known = destinations.len();
        let id = prop_oneof![
            8 => (0..known).prop_map(|n| format!("o{n}")), // known; often repeated
            1 => (known..known + 3).prop_map(|n| format!("o{n}")), // shaped like the others, but unknown
            1 => Just(String::new()),
        ];
        let orders = orders_to(&destinations);
        vec(id, 0..60).prop_map(move |sent| Scenario { batch_size, orders: orders.clone(), sent })
    })
}

fn processor(scenario: &Scenario) -> Processor {
    let store = Arc::new(MemoryStore::with_orders(scenario.orders.clone()));
    Processor::new(store, BatchSize::new(scenario.batch_size).expect("1 to 10 is a valid batch size"))
}

fn ids(orders: &[Order]) -> Vec<String> {
    orders.iter().map(|order| order.id.clone()).collect()
}

/// One submitted id, the pending batch before and after it, and what it led to.
#[derive(Debug)]
struct Step {
    id: String,
    pending_before: Vec<String>,
    pending_after: Vec<String>,
    outcome: Outcome,
}

/// A session's whole life: each submission, then what finishing shipped.
#[derive(Debug)]
struct Trace {
    steps: Vec<Step>,
    finished: Vec<Shipment>,
}

/// The ids accepted into one batch, in submission order, and the shipments it became.
#[derive(Debug)]
struct ShippedBatch {
    accepted: Vec<String>,
    shipments: Vec<Shipment>,
}

fn submit_one_by_one(scenario: &Scenario) -> Trace {
    let mut session = processor(scenario).session();
    runtime().block_on(async {
        let mut steps = Vec::new();
        for id in &scenario.sent {
            let pending_before = ids(session.pending());
            let outcome = session.submit(id).await.expect("a memory store cannot fail");
            steps.push(Step { id: id.clone(), pending_before, pending_after: ids(session.pending()), outcome });
        }
        Trace { steps, finished: session.finish() }
    })
}

impl Trace {
    /// Every batch, the last being what was pending at finish (possibly nothing).
    fn batches(&self) -> Vec<ShippedBatch> {
        let mut batches = Vec::new();
        let mut accepted = Vec::new();
        for step in &self.steps {
            match &step.outcome {
                Outcome::Rejected(_) => {}
                Outcome::Pending => accepted.push(step.id.clone()),
                Outcome::Shipped(shipments) => {
                    accepted.push(step.id.clone());
                    let accepted = std::mem::take(&mut accepted);
                    batches.push(ShippedBatch { accepted, shipments: shipments.clone() });
                }
            }
        }
        batches.push(ShippedBatch { accepted, shipments: self.finished.clone() });
        batches
    }

    fn accepted(&self) -> Vec<String> {
        self.batches().into_iter().flat_map(|batch| batch.accepted).collect()
    }

    fn shipments(&self) -> Vec<Shipment> {
        self.batches().into_iter().flat_map(|batch| batch.shipments).collect()
    }
}

/// Each destination once, where it first appears.
fn first_seen(destinations: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = Vec::new();
    for destination in destinations {
        if !seen.contains(&destination) {
            seen.push(destination);
        }
    }
    seen
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_accepted_id_is_shipped_exactly_once(scenario in scenario()) {
        let trace = submit_one_by_one(&scenario);
        let mut accepted = trace.accepted();
        let mut shipped: Vec<String> = trace.shipments().iter().flat_map(|shipment| ids(&shipment.orders)).collect();
        accepted.sort();
        shipped.sort();
        prop_assert_eq!(shipped, accepted);
    }

    #[test]
    fn no_shipment_mixes_destinations_and_each_ships_the_stored_orders(scenario in scenario()) {
        let stored: HashMap<&str, &Order> = scenario.orders.iter().map(|order| (order.id.as_str(), order)).collect();
        for shipment in submit_one_by_one(&scenario).shipments() {
            prop_assert!(!shipment.orders.is_empty(), "an empty shipment: {:?}", shipment);
            for order in &shipment.orders {
                prop_assert_eq!(&order.destination, &shipment.destination);
                prop_assert_eq!(order, stored[order.id.as_str()]);
            }
        }
    }

    #[test]
    fn a_batch_ships_by_first_seen_destination_with_orders_in_submission_order(scenario in scenario()) {
        let destination: HashMap<&str, &str> =
            scenario.orders.iter().map(|order| (order.id.as_str(), order.destination.as_str())).collect();
        for batch in submit_one_by_one(&scenario).batches() {
            let shipped_to: Vec<String> = batch.shipments.iter().map(|shipment| shipment.destination.clone()).collect();
            let seen = first_seen(batch.accepted.iter().map(|id| destination[id.as_str()].to_string()));
            prop_assert_eq!(&shipped_to, &seen);
            for shipment in &batch.shipments {
                let to_here = batch.accepted.iter().filter(|id| destination[id.as_str()] == shipment.destination);
                prop_assert_eq!(ids(&shipment.orders), to_here.cloned().collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn batches_hold_exactly_the_batch_size_but_the_last_which_ships_at_finish(scenario in scenario()) {
        let batches = submit_one_by_one(&scenario).batches();
        let (last, full) = batches.split_last().expect("there is always a last batch");
        for batch in full {
            prop_assert_eq!(batch.accepted.len(), scenario.batch_size);
        }
        prop_assert!(last.accepted.len() < scenario.batch_size);
        prop_assert_eq!(last.shipments.is_empty(), last.accepted.is_empty(), "finish ships what is pending, only");
    }

    #[test]
    fn unknown_empty_and_already_pending_ids_are_rejected_and_do_not_count(scenario in scenario()) {
        let known: HashSet<&str> = scenario.orders.iter().map(|order| order.id.as_str()).collect();
        for step in submit_one_by_one(&scenario).steps {
            let id = step.id.as_str();
            let refusal = if id.is_empty() {
                Some("empty order id".to_string())
            } else if !known.contains(id) {
                Some(format!("order {id} not found"))
            } else if step.pending_before.iter().any(|pending| pending == id) {
                Some(format!("order {id} is already in the pending batch"))
            } else {
                None
            };
            match (&step.outcome, refusal) {
                (Outcome::Rejected(rejection), Some(reason)) => {
                    prop_assert_eq!((rejection.id.as_str(), rejection.reason.as_str()), (id, reason.as_str()));
                    prop_assert_eq!(&step.pending_after, &step.pending_before, "a rejected id changed the batch");
                }
                (outcome, Some(reason)) => prop_assert!(false, "{:?} not refused ({}): {:?}", id, reason, outcome),
                (Outcome::Rejected(rejection), None) => prop_assert!(false, "{:?} refused: {:?}", id, rejection),
                (Outcome::Pending, None) => {
                    let mut grown = step.pending_before.clone();
                    grown.push(step.id.clone());
                    prop_assert_eq!(&step.pending_after, &grown, "an accepted id joins the batch");
                }
                (Outcome::Shipped(_), None) => prop_assert!(step.pending_after.is_empty(), "a shipped batch starts anew"),
            }
        }
    }

    #[test]
    fn run_streams_what_submitting_one_by_one_leads_to_with_shipment_ids_in_sequence(scenario in scenario()) {
        let trace = submit_one_by_one(&scenario);
        let sent = futures::stream::iter(scenario.sent.clone().into_iter().map(Ok::<_, OrderError>));
        let events: Vec<Event> =
            runtime().block_on(processing::run(processor(&scenario).session(), sent).try_collect()).expect("run");
        let expected: Vec<Event> = trace
            .steps
            .into_iter()
            .flat_map(|step| match step.outcome {
                Outcome::Pending => Vec::new(),
                Outcome::Rejected(rejection) => vec![Event::Rejected(rejection)],
                Outcome::Shipped(shipments) => shipments.into_iter().map(Event::Shipment).collect(),
            })
            .chain(trace.finished.into_iter().map(Event::Shipment))
            .collect();
        prop_assert_eq!(&events, &expected);
        let shipment_ids: Vec<&str> = events
            .iter()
            .filter_map(|event| match event {
                Event::Shipment(shipment) => Some(shipment.id.as_str()),
                Event::Rejected(_) => None,
            })
            .collect();
        let in_sequence: Vec<String> = (1..=shipment_ids.len()).map(|n| format!("cmb-{n}")).collect();
        prop_assert_eq!(shipment_ids, in_sequence);
    }

    #[test]
    fn grouping_by_destination_is_a_stable_partition(destinations in vec(0..DESTINATIONS.len(), 0..30)) {
        let orders = orders_to(&destinations);
        let groups = group_by_destination(orders.clone());
        let grouped_to: Vec<String> = groups.iter().map(|(destination, _)| destination.clone()).collect();
        prop_assert_eq!(grouped_to, first_seen(orders.iter().map(|order| order.destination.clone())));
        for (destination, group) in &groups {
            let to_here: Vec<Order> = orders.iter().filter(|order| order.destination == *destination).cloned().collect();
            prop_assert_eq!(group, &to_here);
        }
    }
}
