//! Where log lines go: standard output, written by a thread of its own in
//! batches, never blocking a call and never holding more than a bound.
//!
//! A line per call at tens of thousands of calls a second must not cost a
//! write and a thread wake-up each (tracing-appender's worker did both: a
//! fifth of the server's time). Calls append their line to a shared buffer;
//! the writer thread takes the whole buffer every few milliseconds while
//! lines keep coming, and sleeps when they stop, so a quiet server costs
//! nothing and a busy one one write per batch.
//!
//! If standard output is not being read (a full pipe), the buffer stops at
//! [`MAX_BUFFERED`]: further lines are dropped rather than queued, counted in
//! `ordermgt_log_lines_dropped_total`, and reported in a line of their own
//! once output flows again. Calls never wait on the log.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle, Thread};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

mod format;

pub use format::{LineFormat, Shape};

/// Lines held for the writer at most, in bytes.
pub const MAX_BUFFERED: usize = 4 * 1024 * 1024;
/// At this much waiting, the writer is woken at once rather than at its next round.
const WAKE_AT: usize = 64 * 1024;
/// How long the writer lets lines gather while they keep coming.
const GATHER: Duration = Duration::from_millis(5);

/// Lines dropped because output was blocked, for `/metrics`.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// How many log lines were dropped since the process started.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// The sink log lines are written to: cheap to clone, one per process.
#[derive(Debug, Clone)]
pub struct LineSink {
    shared: Arc<SinkState>,
}

#[derive(Debug)]
struct SinkState {
    buffer: Mutex<Vec<u8>>,
    /// The writer found nothing to write and waits to be woken.
    asleep: AtomicBool,
    /// Set when the process ends: the writer writes what is left and stops.
    done: AtomicBool,
    writer: Mutex<Option<Thread>>,
}

impl SinkState {
    fn buffer(&self) -> MutexGuard<'_, Vec<u8>> {
        self.buffer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wake(&self) {
        if let Some(writer) = self.writer.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            writer.unpark();
        }
    }
}

/// Writes what is left when dropped (at the end of `main`).
#[derive(Debug)]
pub struct FlushOnExit {
    shared: Arc<SinkState>,
    writer: Option<JoinHandle<()>>,
}

impl Drop for FlushOnExit {
    fn drop(&mut self) {
        self.shared.done.store(true, Ordering::SeqCst);
        self.shared.wake();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// A sink writing to `out` from a thread of its own.
pub fn spawn(out: impl Write + Send + 'static) -> std::io::Result<(LineSink, FlushOnExit)> {
    let shared = Arc::new(SinkState {
        buffer: Mutex::new(Vec::with_capacity(WAKE_AT)),
        asleep: AtomicBool::new(false),
        done: AtomicBool::new(false),
        writer: Mutex::new(None),
    });
    let writer = {
        let shared = Arc::clone(&shared);
        thread::Builder::new().name("log-writer".into()).spawn(move || write_lines(&shared, out))?
    };
    *shared.writer.lock().unwrap_or_else(PoisonError::into_inner) = Some(writer.thread().clone());
    Ok((LineSink { shared: Arc::clone(&shared) }, FlushOnExit { shared, writer: Some(writer) }))
}

/// The writer thread: takes the buffer whole and writes it, until the end.
fn write_lines(shared: &SinkState, mut out: impl Write) {
    let mut batch = Vec::with_capacity(WAKE_AT);
    let mut reported = 0;
    loop {
        std::mem::swap(&mut *shared.buffer(), &mut batch);
        let dropped = DROPPED.load(Ordering::Relaxed);
        if dropped != reported {
            let note =
                format!("ordermgt-server: {} log lines dropped: standard output was not read\n", dropped - reported);
            batch.extend_from_slice(note.as_bytes());
            reported = dropped;
        }
        if batch.is_empty() {
            if shared.done.load(Ordering::SeqCst) {
                return;
            }
            // Nothing came: sleep until a line does. A line appended after
            // the swap above sees `asleep` and wakes this thread.
            shared.asleep.store(true, Ordering::SeqCst);
            if shared.buffer().is_empty() && !shared.done.load(Ordering::SeqCst) {
                thread::park();
            }
            shared.asleep.store(false, Ordering::SeqCst);
            continue;
        }
        // A failed write (stdout closed) loses these lines; there is nowhere to report it.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        batch.clear();
        if !shared.done.load(Ordering::SeqCst) {
            thread::park_timeout(GATHER);
        }
    }
}

impl LineSink {
    fn append(&self, line: &[u8]) {
        let waiting = {
            let mut buffer = self.shared.buffer();
            if buffer.len() + line.len() > MAX_BUFFERED {
                DROPPED.fetch_add(1, Ordering::Relaxed);
                return;
            }
            buffer.extend_from_slice(line);
            buffer.len()
        };
        if self.shared.asleep.swap(false, Ordering::SeqCst) || waiting >= WAKE_AT {
            self.shared.wake();
        }
    }
}

/// What one log event writes through: tracing-subscriber formats the whole
/// line first and writes it in one call.
#[derive(Debug)]
pub struct LineWriter<'a>(&'a LineSink);

impl Write for LineWriter<'_> {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        self.0.append(line);
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LineSink {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Output that collects what is written, for reading back.
    #[derive(Clone, Default)]
    struct Collected(Arc<Mutex<Vec<u8>>>);

    impl Write for Collected {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_in_order_and_all_is_out_at_exit() {
        let out = Collected::default();
        let (sink, flush) = spawn(out.clone()).expect("spawn");
        for n in 0..10_000 {
            sink.make_writer().write_all(format!("line {n}\n").as_bytes()).expect("write");
        }
        drop(flush);
        let text = String::from_utf8(out.0.lock().expect("lock").clone()).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 10_000);
        assert!(lines.iter().enumerate().all(|(n, line)| *line == format!("line {n}")));
    }

    /// Output that takes nothing until it is let go, like a pipe no one reads.
    struct Blocked(Arc<(Mutex<bool>, std::sync::Condvar)>);

    impl Write for Blocked {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let (open, opened) = &*self.0;
            let mut open = open.lock().expect("lock");
            while !*open {
                open = opened.wait(open).expect("wait");
            }
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_beyond_the_bound_are_dropped_and_counted_while_output_is_blocked() {
        let gate = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let (sink, flush) = spawn(Blocked(Arc::clone(&gate))).expect("spawn");
        let before = dropped();
        let line = [b'x'; 1023].iter().copied().chain([b'\n']).collect::<Vec<u8>>();
        // Twice the bound: the writer holds one batch, the buffer the bound; the rest is dropped.
        // (Were logging to wait on the blocked output, this loop would never end.)
        for _ in 0..(2 * MAX_BUFFERED + 2 * MAX_BUFFERED) / line.len() {
            sink.make_writer().write_all(&line).expect("write never fails");
        }
        assert!(dropped() - before >= (MAX_BUFFERED / line.len()) as u64, "dropped {}", dropped() - before);
        let (open, opened) = &*gate;
        *open.lock().expect("lock") = true;
        opened.notify_all();
        drop(flush);
    }

    #[test]
    fn a_line_after_a_quiet_spell_is_written_without_waiting_for_more() {
        let out = Collected::default();
        let (sink, _flush) = spawn(out.clone()).expect("spawn");
        for round in 0..3 {
            // Let the writer fall asleep, then log one line and wait for it.
            thread::sleep(Duration::from_millis(20));
            sink.make_writer().write_all(format!("line {round}\n").as_bytes()).expect("write");
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while !String::from_utf8_lossy(&out.0.lock().expect("lock")).contains(&format!("line {round}")) {
                assert!(std::time::Instant::now() < deadline, "line {round} never written");
                thread::sleep(Duration::from_millis(1));
            }
        }
    }
}
