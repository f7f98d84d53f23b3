//! Flow control (PROTOCOL.md), as both ends count it: each sender may send
//! [`INITIAL_WINDOW`] messages plus what it has been granted, and each reader
//! grants more as it reads, once half its window has been read. The wire counts
//! messages; how many a reader offers is its own choice, and ours size it to
//! the bytes they hold ([`Window::sized`]). Pure counting, without I/O or a
//! runtime, so that the page, the server, the test client and the benchmark
//! keep one copy of the rules.

use crate::{INITIAL_WINDOW, PREFIX};

/// Messages granted back at a time by a window of [`INITIAL_WINDOW`] messages: half of it, each
/// time as many have been read, so a reader that keeps reading never leaves its sender waiting.
pub const GRANT: u32 = INITIAL_WINDOW / 2;

/// What our readers that size their window by bytes let a sender have in
/// flight: 1 MiB of messages, prefixes included, as the server's HTTP/2
/// stream window gives a native call.
pub const WINDOW_BYTES: u32 = 1024 * 1024;

/// What a reader grants. It offers its sender a window of messages: the
/// sender may have that many sent and not yet read. Once half of it has been
/// read, the reader grants what was read back, so a reader that keeps reading
/// never leaves its sender waiting, and one that stops holds at most the
/// window. Counting reads, not arrivals, is what keeps that bound.
///
/// The window is [`INITIAL_WINDOW`] messages ([`Window::default`]), or sized
/// to a number of bytes ([`Window::sized`]): as many messages as the bytes
/// hold at the mean size of those read so far, and never more than
/// [`PEAK_FACTOR`] times the bytes at the largest size read, so small messages
/// get a window of thousands and large ones of a few. It is resized at each
/// grant: it grows by granting more than was read, and shrinks by granting
/// less, never by taking back what was granted.
#[derive(Debug, Clone)]
pub struct Window {
    /// The messages the sender may have in flight once `owed` is granted back.
    size: u32,
    /// Messages read and not granted back yet.
    owed: u32,
    /// The bytes the window is sized to; `None`: [`INITIAL_WINDOW`] messages, whatever their size.
    bytes: Option<u32>,
    /// Messages read so far, and their bytes, prefixes included: their mean size.
    read: u64,
    read_bytes: u64,
    /// The largest message read so far (for messages read together, their mean).
    largest: u64,
}

/// How far past its bytes a window sized by them may go at the largest
/// message read: a sender that keeps to its window, with messages no larger
/// than those already read, has at most 8 times the bytes in flight (8 MiB for
/// [`WINDOW_BYTES`], what the server holds of a call's unread requests).
pub const PEAK_FACTOR: u32 = 8;

/// The bytes of an empty message: its prefix.
const EMPTY: u32 = 5;
const _: () = assert!(EMPTY as usize == PREFIX);

impl Default for Window {
    fn default() -> Self {
        Window { size: INITIAL_WINDOW, owed: 0, bytes: None, read: 0, read_bytes: 0, largest: 0 }
    }
}

impl Window {
    /// A window of as many messages as `bytes` hold at the mean size of
    /// those read so far (within [`PEAK_FACTOR`] times `bytes` at the
    /// largest); [`INITIAL_WINDOW`] until the first grant.
    pub fn sized(bytes: u32) -> Self {
        Window { bytes: Some(bytes), ..Window::default() }
    }

    /// The most messages this window ever lets its sender have in flight:
    /// as many empty messages as its bytes hold, or the initial window.
    pub fn most(&self) -> u32 {
        // An empty message is its prefix alone.
        self.bytes.map_or(INITIAL_WINDOW, |bytes| (bytes / EMPTY).max(INITIAL_WINDOW))
    }

    /// `count` messages of `bytes` in all (their 5-byte prefixes included)
    /// were read; `Some(n)` when `n` more are to be granted.
    pub fn read(&mut self, count: u32, bytes: usize) -> Option<u32> {
        if count == 0 {
            return None;
        }
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX).max(PREFIX as u64 * u64::from(count));
        self.read += u64::from(count);
        self.read_bytes = self.read_bytes.saturating_add(bytes);
        self.largest = self.largest.max(bytes.div_ceil(count.into()));
        self.owed = self.owed.saturating_add(count);
        if self.owed < self.size.div_ceil(2) {
            return None;
        }
        let in_flight = self.size.saturating_sub(self.owed);
        let grant = self.wanted().saturating_sub(in_flight);
        self.size = in_flight + grant;
        self.owed = 0;
        (grant > 0).then_some(grant)
    }

    /// The window the reader wants its sender to have now.
    fn wanted(&self) -> u32 {
        let Some(bytes) = self.bytes.map(u64::from) else { return INITIAL_WINDOW };
        let mean = self.read_bytes.div_ceil(self.read.max(1)).max(1);
        let at_peak = bytes * u64::from(PEAK_FACTOR) / self.largest.max(1);
        let wanted = (bytes / mean).min(at_peak);
        u32::try_from(wanted).unwrap_or(u32::MAX).clamp(1, self.most())
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
    use proptest::prelude::*;

    /// A message of the book's ids: "102" in a StringValue, framed.
    const ID: usize = 10;

    #[test]
    fn the_reader_grants_32_for_every_32_messages_read() {
        let mut window = Window::default();
        let grants: Vec<u32> = (0..100).filter_map(|_| window.read(1, ID)).collect();
        assert_eq!(grants, [32, 32, 32]);
    }

    #[test]
    fn messages_read_together_are_granted_back_once_half_the_window_is_read() {
        let mut window = Window::default();
        assert_eq!(window.read(20, 20 * ID), None, "20 of 64 read: not half yet");
        assert_eq!(window.read(20, 20 * ID), Some(40), "past half: all that was read");
        assert_eq!(window.read(64, 64 * ID), Some(64), "the whole window read at once");
        assert_eq!(window.read(0, 0), None);
    }

    #[test]
    fn a_window_sized_by_bytes_opens_to_as_many_small_messages_as_they_hold() {
        let mut window = Window::sized(WINDOW_BYTES);
        assert_eq!(window.read(31, 31 * ID), None, "the initial window until half of it is read");
        let grant = window.read(1, ID).expect("half the initial window read");
        let in_flight = INITIAL_WINDOW - 32 + grant;
        assert_eq!(in_flight, 104_857, "a window of 1 MiB of 10-byte ids");
    }

    #[test]
    fn a_window_sized_by_bytes_follows_the_mean_size_within_eight_times_its_bytes_at_the_largest() {
        // Where the sizes vary, the mean sizes the window: 31 messages of 100 bytes and one of
        // 1,000 are 129 bytes each on average, 8,128 of them in 1 MiB.
        let mut window = Window::sized(WINDOW_BYTES);
        window.read(31, 3_100);
        let grant = window.read(1, 1_000).expect("half the initial window read");
        assert_eq!(INITIAL_WINDOW - 32 + grant, 8_128);
        // One message of 100 KiB among small ones: the mean would allow 326 of
        // 3,210 bytes, but 326 of 100 KiB are 32 MiB; 81 of them are 8 MiB.
        let mut window = Window::sized(WINDOW_BYTES);
        window.read(31, 31 * ID);
        let grant = window.read(1, 100 * 1024).expect("half the initial window read");
        assert_eq!(INITIAL_WINDOW - 32 + grant, 81);
    }

    #[test]
    fn a_window_sized_by_bytes_shrinks_for_large_messages_by_granting_less() {
        let large = 512 * 1024;
        let (mut window, mut in_flight) = (Window::sized(WINDOW_BYTES), INITIAL_WINDOW);
        let mut lowest = in_flight;
        for _ in 0..200 {
            in_flight = in_flight - 1 + window.read(1, large).unwrap_or(0);
            lowest = lowest.min(in_flight);
        }
        assert_eq!(in_flight, 2, "two messages of 512 KiB fill 1 MiB");
        assert!(lowest >= 1, "the sender always has some credit");
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
                credit += window.read(1, ID).unwrap_or(0);
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
                if let Some(more) = window.read(1, ID) {
                    credit.grant(more);
                    granted += u64::from(more);
                }
            }
        }
        assert_eq!(most_ahead, u64::from(INITIAL_WINDOW), "the sender is never more than its window ahead");
        assert!(taken > 2_000 && sent - taken <= u64::from(INITIAL_WINDOW), "{sent} sent, {taken} taken");
    }

    /// A sender with `sizes` to send, sending all its credit allows, and a
    /// reader of a window sized to `WINDOW_BYTES` reading `reads` messages at
    /// a time (cycling): what the reader held unread at most, in messages and
    /// in bytes, and whether everything was read.
    fn run(sizes: &[usize], reads: &[usize]) -> (u64, usize, bool) {
        let (mut window, mut credit) = (Window::sized(WINDOW_BYTES), Credit::default());
        let (mut sent, mut read, mut most, mut most_bytes) = (0, 0, 0, 0);
        for step in 0..100_000 {
            while sent < sizes.len() && credit.take() {
                sent += 1;
            }
            assert!((sent - read) as u64 + credit.left() <= u64::from(window.most()), "past most()");
            most = most.max((sent - read) as u64);
            most_bytes = most_bytes.max(sizes[read..sent].iter().sum::<usize>());
            if read == sizes.len() {
                return (most, most_bytes, true);
            }
            let count = reads[step % reads.len()].min(sent - read);
            let bytes = sizes[read..read + count].iter().sum();
            read += count;
            credit.grant(window.read(u32::try_from(count).unwrap_or(u32::MAX), bytes).unwrap_or(0));
        }
        (most, most_bytes, false)
    }

    proptest! {
        #[test]
        fn a_sized_window_never_stalls_a_reader_that_reads(
            sizes in prop::collection::vec(5usize..3_000_000, 1..400),
            reads in prop::collection::vec(1usize..100, 1..10),
        ) {
            let (_, _, finished) = run(&sizes, &reads);
            prop_assert!(finished, "the sender stalled with messages left");
        }

        #[test]
        fn a_sized_window_of_equal_messages_holds_about_its_bytes(
            size in 5usize..300_000,
            count in 1usize..5_000,
            reads in prop::collection::vec(1usize..200, 1..10),
        ) {
            let (most, most_bytes, finished) = run(&vec![size; count], &reads);
            prop_assert!(finished);
            // Past the initial window, no more than fits in the bytes (and one message always).
            let fits = (WINDOW_BYTES as usize / size).max(1) as u64;
            prop_assert!(most <= fits.max(u64::from(INITIAL_WINDOW)), "{most} messages in flight");
            prop_assert!(most_bytes <= (WINDOW_BYTES as usize).max(size).max(64 * size));
        }
    }
}
