//! The batching engine of `processOrders`: plain Rust, no transport.
//!
//! A [`Session`] takes order ids one at a time. Each known id joins the
//! current batch; when the batch is full it becomes one [`Shipment`] per
//! destination, in the order the destinations first appeared. Unknown, empty
//! or repeated ids are [`Rejection`]s and do not count toward the batch.

use std::fmt;
use std::num::NonZeroUsize;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::budget::{Budget, Held};
use crate::domain::error::OrderError;
use crate::domain::order::Order;
use crate::domain::store::OrderStore;
use crate::metrics::{GaugeGuard, Metrics};

/// Largest batch size: a stream holds up to one batch of orders in memory.
pub const MAX_BATCH_SIZE: usize = 1_000;

/// Most ids read together: those a client has sent already, read in one go...
const MAX_IDS_PER_READ: usize = 256;
/// ... and at most this many bytes of them.
const MAX_ID_BYTES_PER_READ: usize = 64 * 1024;
/// ... then found in queries of this many ids rather than one query each, and
/// each query's events streamed before the next: what a stream holds at once
/// is a query's orders and its batch, however large orders are (a megabyte at
/// most each), and all of it is held in the server's [`Budget`].
const MAX_IDS_PER_LOOKUP: usize = 16;
/// What an id read costs beyond its bytes (its `String`).
const ID_OVERHEAD: usize = std::mem::size_of::<String>();
/// What a stream's ids read at once may take outside the server's budget:
/// a stream whose client sends a few ids at a time never touches it.
const READ_ALLOWANCE: usize = 4 * 1024;

/// How many accepted orders make a batch: between 1 and [`MAX_BATCH_SIZE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSize(NonZeroUsize);

impl BatchSize {
    /// `size`, or why it cannot be one.
    pub fn new(size: usize) -> Result<Self, String> {
        match NonZeroUsize::new(size) {
            None => Err("the batch size must be at least 1: a batch of 0 orders would never ship".into()),
            Some(_) if size > MAX_BATCH_SIZE => Err(format!("the batch size must be at most {MAX_BATCH_SIZE}")),
            Some(size) => Ok(Self(size)),
        }
    }

    /// How many orders.
    pub fn get(self) -> usize {
        self.0.get()
    }
}

impl Default for BatchSize {
    fn default() -> Self {
        Self(NonZeroUsize::new(3).unwrap_or(NonZeroUsize::MIN))
    }
}

impl FromStr for BatchSize {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let size = text.trim().parse::<usize>().map_err(|_| format!("{text:?} is not a whole number"))?;
        Self::new(size)
    }
}

impl fmt::Display for BatchSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The orders of one batch that go to one destination.
#[derive(Debug, Clone, PartialEq)]
pub struct Shipment {
    /// Unique for the life of the server: `cmb-1`, `cmb-2`, ...
    pub id: String,
    /// Where every one of its orders goes.
    pub destination: String,
    /// Its orders, in the order their ids arrived.
    pub orders: Vec<Order>,
}

impl Shipment {
    /// The bytes its orders take (see [`Order::weight`]).
    pub fn weight(&self) -> usize {
        self.orders.iter().map(Order::weight).sum()
    }
}

/// An id that was refused, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The id as it was sent.
    pub id: String,
    /// Why it was refused, for the client to read.
    pub reason: String,
}

/// What submitting one id led to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The order joined the batch, which is not full yet.
    Pending,
    /// The id was refused; the batch is unchanged.
    Rejected(Rejection),
    /// The order filled the batch: its shipments, one per destination.
    Shipped(Vec<Shipment>),
}

/// What a processing stream tells its client.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A shipment, sent the moment its batch fills (or at the end, for the last batch).
    Shipment(Shipment),
    /// An id refused; the stream carries on.
    Rejected(Rejection),
}

/// Runs a session over a stream of ids and streams what it leads to, in
/// order; when the ids end, or the processor's shutdown begins, the partial
/// batch ships and the stream ends.
///
/// This is the one processing loop: the book's bidirectional `processOrders`
/// and the browser's processing sessions both run it. It is pull-driven: it
/// reads ids only once the consumer has taken the events of the last ones, so
/// a consumer that stops reading stops the reading of ids too. The ids that
/// have already arrived when it reads are taken together (up to
/// `MAX_IDS_PER_READ`) and looked up `MAX_IDS_PER_LOOKUP` to a query;
/// their events are the same, in the same order, as if each had been
/// submitted alone. The orders a session holds (looked up and not yet shipped)
/// are held in the server's budget; past it the stream ends with `ServerFull`.
pub fn run<E>(
    mut session: Session,
    ids: impl Stream<Item = Result<String, E>> + Send + 'static,
) -> impl Stream<Item = Result<Event, E>> + Send + 'static
where
    E: From<OrderError> + Send + 'static,
{
    let ids = ids.take_until(session.processor.shutdown.clone().cancelled_owned());
    async_stream::try_stream! {
        let mut ids = std::pin::pin!(ids);
        let mut failed = None;
        while let Some(ready) = next_ready(ids.as_mut(), &mut failed).await {
            // Read and not yet looked up: held in the budget, as the orders
            // are (beyond a few KiB, which every stream may hold).
            let reading: usize = ready.iter().map(|id| id.len() + ID_OVERHEAD).sum();
            let _reading = session.budget.take(reading.saturating_sub(READ_ALLOWANCE)).map_err(OrderError::from)?;
            let mut ready = ready.into_iter();
            loop {
                let lookup: Vec<String> = ready.by_ref().take(MAX_IDS_PER_LOOKUP).collect();
                if lookup.is_empty() {
                    break;
                }
                // The lookup's shipments stay in the budget until the last is taken.
                let (outcomes, _shipping) = session.submit_held(lookup).await?;
                for outcome in outcomes {
                    match outcome {
                        Outcome::Pending => {}
                        Outcome::Rejected(rejection) => yield Event::Rejected(rejection),
                        Outcome::Shipped(shipments) => {
                            for shipment in shipments {
                                yield Event::Shipment(shipment);
                            }
                        }
                    }
                }
            }
        }
        if let Some(error) = failed {
            Err(error)?;
        }
        for shipment in session.finish() {
            yield Event::Shipment(shipment);
        }
    }
}

/// Waits for the next id, then takes those that have arrived after it too,
/// up to the lookup limits; `None` at the end of the ids. An error ends the
/// ids: what came before it is returned first, the error kept in `failed`.
async fn next_ready<S, E>(mut ids: std::pin::Pin<&mut S>, failed: &mut Option<E>) -> Option<Vec<String>>
where
    S: Stream<Item = Result<String, E>>,
{
    if failed.is_some() {
        return None;
    }
    let mut ready = Vec::new();
    let mut bytes = 0;
    let mut next = ids.next().await;
    loop {
        match next {
            None => break,
            Some(Err(error)) => {
                *failed = Some(error);
                break;
            }
            Some(Ok(id)) => {
                bytes += id.len();
                ready.push(id);
            }
        }
        if ready.len() == MAX_IDS_PER_READ || bytes >= MAX_ID_BYTES_PER_READ {
            break;
        }
        match futures::FutureExt::now_or_never(ids.next()) {
            Some(arrived) => next = arrived,
            None => break,
        }
    }
    (!ready.is_empty()).then_some(ready)
}

/// The batch being filled: pure state, no I/O.
#[derive(Debug, Clone)]
pub struct Batch {
    size: BatchSize,
    orders: Vec<Order>,
}

impl Batch {
    pub(crate) fn new(size: BatchSize) -> Self {
        Self { size, orders: Vec::with_capacity(size.get()) }
    }

    /// Adds an order. Returns the batch's orders when this one fills it, and
    /// refuses an order already in the batch.
    pub fn add(&mut self, order: Order) -> Result<Option<Vec<Order>>, Rejection> {
        if self.orders.iter().any(|pending| pending.id == order.id) {
            let reason = format!("order {} is already in the pending batch", order.id);
            return Err(Rejection { id: order.id, reason });
        }
        self.orders.push(order);
        if self.orders.len() < self.size.get() {
            return Ok(None);
        }
        Ok(Some(std::mem::replace(&mut self.orders, Vec::with_capacity(self.size.get()))))
    }

    /// The orders waiting for the batch to fill, in the order they came.
    pub fn pending(&self) -> &[Order] {
        &self.orders
    }

    /// Empties the batch, returning what it held.
    pub fn take(&mut self) -> Vec<Order> {
        std::mem::take(&mut self.orders)
    }
}

/// Groups orders by destination, keeping the order in which destinations
/// first appear and, within one, the order of the orders.
pub fn group_by_destination(orders: Vec<Order>) -> Vec<(String, Vec<Order>)> {
    let mut groups: Vec<(String, Vec<Order>)> = Vec::new();
    for order in orders {
        // Batches are small, so a scan beats hashing here.
        match groups.iter_mut().find(|(destination, _)| *destination == order.destination) {
            Some((_, group)) => group.push(order),
            None => groups.push((order.destination.clone(), vec![order])),
        }
    }
    groups
}

/// What every processing session of a server shares: the store, the batch
/// size, the sequence of shipment ids, the count of open sessions and the
/// signal that shutdown has begun.
#[derive(Debug, Clone)]
pub struct Processor {
    store: Arc<dyn OrderStore>,
    batch_size: BatchSize,
    shipments_made: Arc<AtomicU64>,
    metrics: Metrics,
    shutdown: CancellationToken,
    budget: Budget,
}

impl Processor {
    /// Batches of `batch_size` orders, read from `store`.
    pub fn new(store: Arc<dyn OrderStore>, batch_size: BatchSize) -> Self {
        Self {
            store,
            batch_size,
            shipments_made: Arc::default(),
            metrics: Metrics::default(),
            shutdown: CancellationToken::new(),
            budget: Budget::unlimited(),
        }
    }

    /// Holds the orders of every session in `budget`, shared with the
    /// server's other calls (see [`Processor::budget`]).
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// The server's budget of held client data, shared by processing,
    /// updates and searches.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// Counts open sessions, shipments and rejections in `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// A new, empty processing session; it counts as open until dropped.
    pub fn session(&self) -> Session {
        self.session_in(self.budget.clone())
    }

    /// A new session whose ids and orders are held in `budget` (its
    /// connection's share of the server's).
    pub fn session_in(&self, budget: Budget) -> Session {
        Session {
            batch: Batch::new(self.batch_size),
            held: budget.none(),
            budget,
            processor: self.clone(),
            _open: self.metrics.process_streams_open().track(),
        }
    }

    /// How many sessions (`processOrders` calls and browser sessions) are open.
    pub fn open_sessions(&self) -> usize {
        self.metrics.process_streams_open().get()
    }

    /// Cancelled when the server begins to shut down: every session's [`run`] then stops reading
    /// ids, ships its partial batch and ends.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    fn ship(&self, orders: Vec<Order>) -> Vec<Shipment> {
        let count = orders.len();
        let shipments: Vec<Shipment> = group_by_destination(orders)
            .into_iter()
            .map(|(destination, orders)| {
                let number = self.shipments_made.fetch_add(1, Ordering::Relaxed) + 1;
                Shipment { id: format!("cmb-{number}"), destination, orders }
            })
            .collect();
        self.metrics.shipped(shipments.len(), count);
        shipments
    }

    fn reject(&self, id: &str, reason: String) -> Outcome {
        self.metrics.rejected_id();
        Outcome::Rejected(Rejection { id: id.into(), reason })
    }
}

/// One client's stream of ids and the batch it is filling.
#[derive(Debug)]
pub struct Session {
    processor: Processor,
    batch: Batch,
    /// The orders this session holds: its batch, and those of shipments not yet taken by its consumer.
    held: Held,
    /// What the session's ids and orders are held in.
    budget: Budget,
    _open: GaugeGuard,
}

impl Session {
    /// Looks an id up and adds its order to the batch. Fails only when the
    /// store cannot be read; a bad id is an `Outcome::Rejected`.
    pub async fn submit(&mut self, id: &str) -> Result<Outcome, OrderError> {
        let mut outcomes = self.submit_all(vec![id.to_string()]).await?;
        Ok(outcomes.pop().unwrap_or(Outcome::Pending))
    }

    /// Submits `ids` in order, looked up in one query: one outcome per id,
    /// the same as submitting each alone would give.
    pub async fn submit_all(&mut self, ids: Vec<String>) -> Result<Vec<Outcome>, OrderError> {
        Ok(self.submit_held(ids).await?.0)
    }

    /// [`Session::submit_all`], and the budget its shipments hold, to be given
    /// back once they are taken.
    async fn submit_held(&mut self, ids: Vec<String>) -> Result<(Vec<Outcome>, Held), OrderError> {
        // Why each id cannot name an order, if it cannot: judged once, before the lookup.
        let refusals: Vec<Option<String>> = ids
            .iter()
            .map(|id| match crate::domain::order::check_id(id) {
                _ if id.is_empty() => Some("empty order id".into()),
                Err(invalid) => Some(invalid.to_string()),
                Ok(()) => None,
            })
            .collect();
        let known: Vec<String> =
            ids.iter().zip(&refusals).filter(|(_, refusal)| refusal.is_none()).map(|(id, _)| id.clone()).collect();
        let found = self.processor.store.get_many(&known).await?;
        self.held.grow(found.iter().flatten().map(|order| order.weight()).sum())?;
        let mut found = found.into_iter();
        let mut outcomes = Vec::with_capacity(ids.len());
        for (id, refusal) in ids.into_iter().zip(refusals) {
            if let Some(reason) = refusal {
                outcomes.push(self.processor.reject(&crate::echo::cut(&id), reason));
                continue;
            }
            // Copied out of the store's share only now, its weight already held.
            let Some(order) = found.next().flatten().map(Arc::unwrap_or_clone) else {
                let reason = OrderError::NotFound { id: id.clone() }.to_string();
                outcomes.push(self.processor.reject(&id, reason));
                continue;
            };
            let weight = order.weight();
            outcomes.push(match self.batch.add(order) {
                Err(Rejection { id, reason }) => {
                    self.held.shrink(weight);
                    self.processor.reject(&id, reason)
                }
                Ok(None) => Outcome::Pending,
                Ok(Some(full)) => Outcome::Shipped(self.processor.ship(full)),
            });
        }
        let shipping: usize = outcomes
            .iter()
            .map(|outcome| match outcome {
                Outcome::Shipped(shipments) => shipments.iter().map(Shipment::weight).sum(),
                Outcome::Pending | Outcome::Rejected(_) => 0,
            })
            .sum();
        Ok((outcomes, self.held.split(shipping)))
    }

    /// The orders waiting for the batch to fill.
    pub fn pending(&self) -> &[Order] {
        self.batch.pending()
    }

    /// Ends the session: the shipments of the partial batch, if any.
    pub fn finish(mut self) -> Vec<Shipment> {
        self.processor.ship(self.batch.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::store::{MemoryStore, sample_orders};

    fn ids(orders: &[Order]) -> Vec<&str> {
        orders.iter().map(|order| order.id.as_str()).collect()
    }

    fn to(destination: &str, id: &str) -> Order {
        Order { id: id.into(), destination: destination.into(), ..Order::default() }
    }

    fn shipped(outcome: Outcome) -> Vec<(String, Vec<String>)> {
        let Outcome::Shipped(shipments) = outcome else { panic!("expected shipments, got {outcome:?}") };
        shipments.into_iter().map(|s| (s.destination, s.orders.into_iter().map(|order| order.id).collect())).collect()
    }

    fn book_session(size: usize) -> Session {
        let store = Arc::new(MemoryStore::with_orders(sample_orders()));
        Processor::new(store, BatchSize::new(size).expect("size")).session()
    }

    #[test]
    fn batch_size_zero_and_absurd_sizes_are_refused() {
        assert!("0".parse::<BatchSize>().unwrap_err().contains("at least 1"));
        assert!("1001".parse::<BatchSize>().unwrap_err().contains("at most 1000"));
        assert!("three".parse::<BatchSize>().is_err());
        assert_eq!("3".parse::<BatchSize>(), Ok(BatchSize::default()));
    }

    #[test]
    fn a_batch_fills_at_exactly_its_size() {
        let mut batch = Batch::new(BatchSize::new(3).expect("size"));
        assert_eq!(batch.add(to("A", "1")), Ok(None));
        assert_eq!(batch.add(to("B", "2")), Ok(None));
        let full = batch.add(to("A", "3")).expect("added").expect("full");
        assert_eq!(ids(&full), ["1", "2", "3"]);
        assert!(batch.pending().is_empty());
    }

    #[test]
    fn an_order_already_in_the_batch_is_refused_and_does_not_count() {
        let mut batch = Batch::new(BatchSize::new(2).expect("size"));
        assert_eq!(batch.add(to("A", "1")), Ok(None));
        let rejection = batch.add(to("A", "1")).expect_err("duplicate");
        assert_eq!(rejection.reason, "order 1 is already in the pending batch");
        assert_eq!(ids(batch.pending()), ["1"]);
    }

    #[test]
    fn grouping_keeps_the_order_destinations_first_appear_in() {
        let groups = group_by_destination(vec![to("Z", "1"), to("A", "2"), to("Z", "3"), to("M", "4")]);
        let summary: Vec<_> = groups.iter().map(|(d, orders)| (d.as_str(), ids(orders))).collect();
        assert_eq!(summary, [("Z", vec!["1", "3"]), ("A", vec!["2"]), ("M", vec!["4"])]);
    }

    #[tokio::test]
    async fn the_book_flow_ships_two_destinations_then_flushes_the_rest() {
        let mut session = book_session(3);
        assert_eq!(session.submit("102").await, Ok(Outcome::Pending));
        assert_eq!(session.submit("103").await, Ok(Outcome::Pending));
        let first = shipped(session.submit("104").await.expect("submit"));
        assert_eq!(
            first,
            [
                ("Mountain View, CA".to_string(), vec!["102".to_string(), "104".to_string()]),
                ("San Jose, CA".to_string(), vec!["103".to_string()]),
            ]
        );
        assert_eq!(session.submit("105").await, Ok(Outcome::Pending));
        assert_eq!(ids(session.pending()), ["105"]);
        let rest = session.finish();
        assert_eq!(rest.len(), 1);
        assert_eq!((rest[0].destination.as_str(), ids(&rest[0].orders)), ("San Jose, CA", vec!["105"]));
    }

    #[tokio::test]
    async fn unknown_and_empty_ids_are_rejected_without_counting() {
        let mut session = book_session(2);
        let Ok(Outcome::Rejected(unknown)) = session.submit("999").await else { panic!("999 accepted") };
        assert_eq!((unknown.id.as_str(), unknown.reason.as_str()), ("999", "order 999 not found"));
        let Ok(Outcome::Rejected(empty)) = session.submit("").await else { panic!("empty id accepted") };
        assert_eq!(empty.reason, "empty order id");
        assert_eq!(session.submit("102").await, Ok(Outcome::Pending));
        assert_eq!(shipped(session.submit("106").await.expect("submit")).len(), 1);
    }

    #[tokio::test]
    async fn finishing_an_empty_batch_ships_nothing() {
        assert!(book_session(3).finish().is_empty());
    }

    #[tokio::test]
    async fn run_streams_rejections_and_shipments_in_order_then_flushes() {
        use futures::TryStreamExt;
        let sent =
            futures::stream::iter(["102", "999", "103", "104", "105"].map(|id| Ok::<_, OrderError>(id.to_string())));
        let events: Vec<Event> = run(book_session(3), sent).try_collect().await.expect("run");
        let summary: Vec<String> = events
            .iter()
            .map(|event| match event {
                Event::Rejected(rejection) => format!("rejected {}", rejection.id),
                Event::Shipment(shipment) => format!("{}: {}", shipment.destination, ids(&shipment.orders).join(" ")),
            })
            .collect();
        assert_eq!(summary, ["rejected 999", "Mountain View, CA: 102 104", "San Jose, CA: 103", "San Jose, CA: 105"]);
    }

    #[tokio::test]
    async fn run_ends_with_the_error_of_its_input() {
        use futures::TryStreamExt;
        let ids = futures::stream::iter([Ok("102".to_string()), Err(OrderError::Unavailable("lost".into()))]);
        let result: Result<Vec<Event>, _> = run(book_session(3), ids).try_collect().await;
        assert_eq!(result, Err(OrderError::Unavailable("lost".into())));
    }

    /// A store that counts the lookups it is asked for.
    #[derive(Debug)]
    struct Counting {
        inner: MemoryStore,
        lookups: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl OrderStore for Counting {
        async fn insert(&self, order: Order) -> Result<(), OrderError> {
            self.inner.insert(order).await
        }
        async fn get(&self, id: &str) -> Result<Option<Order>, OrderError> {
            self.lookups.fetch_add(1, Ordering::Relaxed);
            self.inner.get(id).await
        }
        async fn get_many(&self, ids: &[String]) -> Result<Vec<Option<Arc<Order>>>, OrderError> {
            self.lookups.fetch_add(1, Ordering::Relaxed);
            self.inner.get_many(ids).await
        }
        fn search_pages(&self, query: &str) -> futures::stream::BoxStream<'static, Result<Vec<Order>, OrderError>> {
            self.inner.search_pages(query)
        }
        async fn replace_all(&self, orders: Vec<Order>) -> Result<(), OrderError> {
            self.inner.replace_all(orders).await
        }
    }

    #[tokio::test]
    async fn ids_that_have_arrived_together_are_looked_up_in_one_query_with_the_same_events() {
        use futures::TryStreamExt;
        let store =
            Arc::new(Counting { inner: MemoryStore::with_orders(sample_orders()), lookups: Default::default() });
        let processor = Processor::new(store.clone(), BatchSize::new(3).expect("size"));
        let sent = ["102", "999", "103", "", "104", "105", "102"];
        let ids = futures::stream::iter(sent.map(|id| Ok::<_, OrderError>(id.to_string())));
        let events: Vec<Event> = run(processor.session(), ids).try_collect().await.expect("run");
        assert_eq!(store.lookups.load(Ordering::Relaxed), 1, "all seven were ready: one lookup");
        let mut one_by_one = book_session(3);
        let mut expected = Vec::new();
        for id in sent {
            match one_by_one.submit(id).await.expect("submit") {
                Outcome::Pending => {}
                Outcome::Rejected(rejection) => expected.push(Event::Rejected(rejection)),
                Outcome::Shipped(shipments) => expected.extend(shipments.into_iter().map(Event::Shipment)),
            }
        }
        expected.extend(one_by_one.finish().into_iter().map(Event::Shipment));
        let without_ids = |events: &[Event]| -> Vec<Event> {
            events
                .iter()
                .cloned()
                .map(|event| match event {
                    Event::Shipment(shipment) => Event::Shipment(Shipment { id: String::new(), ..shipment }),
                    rejected => rejected,
                })
                .collect()
        };
        assert_eq!(without_ids(&events), without_ids(&expected));
    }

    #[tokio::test]
    async fn shipment_ids_are_unique_across_sessions() {
        let store = Arc::new(MemoryStore::with_orders(sample_orders()));
        let processor = Processor::new(store, BatchSize::new(1).expect("size"));
        let (mut a, mut b) = (processor.session(), processor.session());
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10 {
            for session in [&mut a, &mut b] {
                let Ok(Outcome::Shipped(shipments)) = session.submit("102").await else { panic!("not shipped") };
                assert!(shipments.into_iter().all(|s| seen.insert(s.id)));
            }
        }
        assert_eq!(seen.len(), 20);
    }
}
