//! The pending batch of a processing session: ids submitted and neither shipped nor rejected yet.

/// Ids in the order they were submitted; an id sent twice is listed twice until both are resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PendingBatch {
    ids: Vec<String>,
}

impl PendingBatch {
    pub(crate) fn ids(&self) -> &[String] {
        &self.ids
    }

    /// An id was sent into the session.
    pub(crate) fn submitted(&mut self, id: &str) {
        self.ids.push(id.to_string());
    }

    /// A shipment left with these orders: each takes the earliest pending copy of its id.
    pub(crate) fn shipped(&mut self, order_ids: &[String]) {
        for id in order_ids {
            if let Some(at) = self.ids.iter().position(|pending| pending == id) {
                self.ids.remove(at);
            }
        }
    }

    /// An id was refused (or never reached the server). The server refuses an id that is already
    /// pending, so the refused copy is the latest one.
    pub(crate) fn rejected(&mut self, id: &str) {
        if let Some(at) = self.ids.iter().rposition(|pending| pending == id) {
            self.ids.remove(at);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.ids.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    fn batch(values: &[&str]) -> PendingBatch {
        let mut batch = PendingBatch::default();
        for id in values {
            batch.submitted(id);
        }
        batch
    }

    #[test]
    fn submitted_ids_wait_in_order() {
        assert_eq!(batch(&["102", "103"]).ids(), ids(&["102", "103"]));
    }

    #[test]
    fn a_shipment_takes_its_orders_out() {
        let mut pending = batch(&["102", "103", "104", "101"]);
        pending.shipped(&ids(&["102", "104"]));
        assert_eq!(pending.ids(), ids(&["103", "101"]));
        pending.shipped(&ids(&["103"]));
        assert_eq!(pending.ids(), ids(&["101"]));
    }

    #[test]
    fn a_rejection_takes_the_latest_copy_out() {
        let mut pending = batch(&["102", "999", "103", "102"]);
        pending.rejected("999");
        pending.rejected("102");
        assert_eq!(pending.ids(), ids(&["102", "103"]));
    }

    #[test]
    fn unknown_ids_change_nothing() {
        let mut pending = batch(&["102"]);
        pending.shipped(&ids(&["105"]));
        pending.rejected("106");
        assert_eq!(pending.ids(), ids(&["102"]));
        pending.clear();
        assert!(pending.ids().is_empty());
    }
}
