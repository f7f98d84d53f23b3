//! Where connections run: a lane per core, each a single-threaded runtime on
//! a thread of its own, every connection on the lane that holds the fewest.
//!
//! A connection is one task that drives its HTTP/2 framing and polls its
//! calls itself (see `http2`), so it never uses more than one core at a time,
//! on any runtime. What a work-stealing runtime adds to that is a cost: each
//! wake-up may hand the task to another thread, and idle workers spin looking
//! for work while the client sharing the machine could use the core.
//! Measured with h2load (`getOrder`, 4 connections × 8 streams), a lane costs
//! about 10 µs of server CPU a call against 13 µs on tokio's multi-threaded
//! runtime. Lanes balance by connection count, not load: a server with fewer
//! busy connections than cores leaves a core to others.
//!
//! The accept loop, the store and the background tasks stay on the main
//! runtime; a socket moves to its lane's reactor before it is read.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::TcpStream;
use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

/// The lanes of one server; dropping them lets each lane's thread end.
#[derive(Debug)]
pub(crate) struct Lanes {
    lanes: Vec<Lane>,
}

#[derive(Debug)]
struct Lane {
    runtime: Handle,
    /// Connections on this lane now.
    load: Arc<AtomicUsize>,
    /// Dropped with the lane: its thread stops and drops its runtime.
    _stop: oneshot::Sender<()>,
}

impl Lanes {
    /// `count` lanes (at least one), each a thread named `ordermgt-lane-N`.
    pub(crate) fn start(count: usize) -> io::Result<Self> {
        let lanes = (0..count.max(1)).map(Lane::start).collect::<io::Result<_>>()?;
        Ok(Self { lanes })
    }

    /// As many lanes as the machine has cores for this process.
    pub(crate) fn per_core() -> io::Result<Self> {
        Self::start(std::thread::available_parallelism().map_or(1, usize::from))
    }

    /// Runs `serve(tcp)` on the least loaded lane, its task joined in `set`.
    pub(crate) fn spawn<F, Fut>(&self, set: &mut JoinSet<()>, tcp: TcpStream, serve: F)
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Some(lane) = self.lanes.iter().min_by_key(|lane| lane.load.load(Ordering::Relaxed)) else {
            return;
        };
        // The socket leaves the accepting runtime's reactor for the lane's.
        let tcp = match tcp.into_std() {
            Ok(tcp) => tcp,
            Err(error) => {
                tracing::debug!("cannot hand a connection to its lane: {error}");
                return;
            }
        };
        let load = Arc::clone(&lane.load);
        load.fetch_add(1, Ordering::Relaxed);
        set.spawn_on(
            async move {
                let _on_lane = Departure(load);
                match TcpStream::from_std(tcp) {
                    Ok(tcp) => serve(tcp).await,
                    Err(error) => tracing::debug!("cannot register a connection on its lane: {error}"),
                }
            },
            &lane.runtime,
        );
    }
}

#[cfg(test)]
impl Lanes {
    fn loads(&self) -> Vec<usize> {
        self.lanes.iter().map(|lane| lane.load.load(Ordering::Relaxed)).collect()
    }
}

impl Lane {
    fn start(index: usize) -> io::Result<Self> {
        let runtime = Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new().name(format!("ordermgt-lane-{index}")).spawn(move || {
            // A current-thread runtime runs its tasks only inside block_on.
            let _ = runtime.block_on(stopped);
        })?;
        Ok(Self { runtime: handle, load: Arc::new(AtomicUsize::new(0)), _stop: stop })
    }
}

/// Takes a connection off its lane's count when its task ends or is dropped.
struct Departure(Arc<AtomicUsize>);

impl Drop for Departure {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio::sync::watch;

    use super::*;

    #[tokio::test]
    async fn each_connection_runs_on_the_least_loaded_lane_and_leaves_its_count_when_it_ends() {
        let lanes = Lanes::start(2).expect("lanes");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let mut connections = JoinSet::new();
        let (release, released) = watch::channel(false);
        let mut clients = Vec::new();
        for _ in 0..4 {
            clients.push(TcpStream::connect(address).await.expect("connect"));
            let (tcp, _) = listener.accept().await.expect("accept");
            let mut released = released.clone();
            // Each connection answers with the name of the thread it runs on, read and written
            // through the lane's own reactor, and stays open until released.
            lanes.spawn(&mut connections, tcp, move |mut tcp| async move {
                let mut hello = [0; 5];
                if tcp.read_exact(&mut hello).await.is_ok() {
                    let lane = std::thread::current().name().unwrap_or("unnamed").to_owned();
                    let _ = tcp.write_all(lane.as_bytes()).await;
                    let _ = tcp.shutdown().await;
                }
                let _ = released.wait_for(|released| *released).await;
            });
        }
        let mut lanes_seen = Vec::new();
        for client in &mut clients {
            client.write_all(b"hello").await.expect("write");
            let mut lane = String::new();
            client.read_to_string(&mut lane).await.expect("read");
            lanes_seen.push(lane);
        }
        lanes_seen.sort();
        assert_eq!(lanes_seen, ["ordermgt-lane-0", "ordermgt-lane-0", "ordermgt-lane-1", "ordermgt-lane-1"]);
        assert_eq!(lanes.loads(), [2, 2]);

        release.send(true).expect("release");
        while connections.join_next().await.is_some() {}
        assert_eq!(lanes.loads(), [0, 0]);
    }
}
