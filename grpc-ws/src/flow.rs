//! Flow control (PROTOCOL.md), as both ends count it: each end grants the
//! other [`GRANT`] more messages every time it has read as many, and each
//! sender may send [`INITIAL_WINDOW`] messages plus what it has been granted.
//! Pure counting, without I/O or a runtime, so that the page, the server, the
//! test client and the benchmark keep one copy of the rules.

use crate::INITIAL_WINDOW;

/// Messages granted back at a time, each time as many have been read: half the initial window, so
/// a reader that keeps reading never leaves its sender waiting.
pub const GRANT: u32 = INITIAL_WINDOW / 2;

/// What a reader grants: every [`GRANT`] messages read, as many more may come. Counting reads, not
/// arrivals, keeps what a reader that stops reading holds to the window.
#[derive(Debug, Default, Clone)]
pub struct Window {
    read: u32,
}

impl Window {
    /// One message was read; `Some(n)` when `n` more are to be granted.
    pub fn read_one(&mut self) -> Option<u32> {
        self.read(1)
    }

    /// `count` messages were read at once; `Some(n)` when `n` more are to be
    /// granted: [`GRANT`] for every time the count of messages read reached it.
    pub fn read(&mut self, count: u32) -> Option<u32> {
        let total = self.read + count;
        self.read = total % GRANT;
        let grants = total / GRANT;
        (grants > 0).then(|| grants.saturating_mul(GRANT))
    }
}

/// The messages a sender may still send: [`INITIAL_WINDOW`] to start with, then as many more as
/// the other end grants. Taking one per message, and waiting while there is none, a sender never
/// sends more than it has been granted in total, however slowly the other end reads.
#[derive(Debug, Clone)]
pub struct Credit {
    left: u64,
}

impl Default for Credit {
    fn default() -> Self {
        Credit { left: INITIAL_WINDOW.into() }
    }
}

impl Credit {
    /// The other end granted `more` messages (grants add up, whatever their size).
    pub fn grant(&mut self, more: u32) {
        self.left = self.left.saturating_add(more.into());
    }

    /// Takes the credit for one message: `false`, and nothing taken, when there is none.
    pub fn take(&mut self) -> bool {
        let some = self.left > 0;
        self.left -= u64::from(some);
        some
    }

    /// Messages that may still be sent.
    pub fn left(&self) -> u64 {
        self.left
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_grants_32_for_every_32_messages_read() {
        let mut window = Window::default();
        let grants: Vec<u32> = (0..100).filter_map(|_| window.read_one()).collect();
        assert_eq!(grants, [32, 32, 32]);
    }

    #[test]
    fn messages_read_together_are_granted_as_if_read_one_by_one() {
        let (mut together, mut one_by_one) = (Window::default(), Window::default());
        for count in [1, 31, 1, 0, 64, 100, 7, 3] {
            let granted: u32 = (0..count).filter_map(|_| one_by_one.read_one()).sum();
            assert_eq!(together.read(count).unwrap_or(0), granted, "after {count} more");
        }
    }

    #[test]
    fn a_sender_sending_all_it_may_never_gets_ahead_of_the_readers_window() {
        // The sender sends whenever it has credit; the reader reads now and then, then stops.
        let (mut credit, mut unread, mut most_unread) = (INITIAL_WINDOW, 0, 0);
        let mut window = Window::default();
        for round in 0..10_000 {
            unread += std::mem::take(&mut credit);
            most_unread = most_unread.max(unread);
            if round < 5_000 && round % 3 == 0 && unread > 0 {
                unread -= 1;
                credit += window.read_one().unwrap_or(0);
            }
            assert!(unread + credit <= INITIAL_WINDOW, "round {round}: {unread} unread, {credit} granted");
        }
        assert_eq!(most_unread, INITIAL_WINDOW);
        assert_eq!(credit, 0, "a reader that stops reading stops the sender");
    }

    #[test]
    fn the_sender_starts_with_the_initial_window_and_adds_each_grant() {
        let mut credit = Credit::default();
        assert_eq!((0..100).filter(|_| credit.take()).count(), 64);
        assert!(!credit.take(), "none left: nothing taken");
        credit.grant(32);
        credit.grant(0);
        assert_eq!((0..100).filter(|_| credit.take()).count(), 32);
        credit.grant(u32::MAX);
        credit.grant(u32::MAX);
        assert_eq!(credit.left(), 2 * u64::from(u32::MAX), "grants add up, whatever their size");
    }

    #[test]
    fn a_sender_taking_credit_never_sends_more_than_it_was_granted() {
        // The reader takes messages now and then, granting as a Window does, and stops for a while;
        // the sender sends whenever it has credit.
        let (mut credit, mut window) = (Credit::default(), Window::default());
        let (mut sent, mut taken, mut granted, mut most_ahead) = (0u64, 0u64, u64::from(INITIAL_WINDOW), 0);
        for round in 0..10_000 {
            while credit.take() {
                sent += 1;
            }
            assert!(sent <= granted, "round {round}: {sent} sent, {granted} granted");
            most_ahead = most_ahead.max(sent - taken);
            if !(3_000..6_000).contains(&round) && round % 3 == 0 && taken < sent {
                taken += 1;
                if let Some(more) = window.read_one() {
                    credit.grant(more);
                    granted += u64::from(more);
                }
            }
        }
        assert_eq!(most_ahead, u64::from(INITIAL_WINDOW), "the sender is never more than its window ahead");
        assert!(taken > 2_000 && sent - taken <= u64::from(INITIAL_WINDOW), "{sent} sent, {taken} taken");
    }
}
