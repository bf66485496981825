//! Bounded busy polling of the I/O driver after requests.
//!
//! A server thread that sleeps between two requests of a busy client pays a wake-up for each
//! of them: a few microseconds on bare metal, 30-40 µs on a virtual machine whose idle vCPUs
//! halt (measured here: 80 µs vs 42 µs per `eth_getBalance` round trip at one client).
//! [`BusyPoll`] keeps the runtime's worker awake for a short window from each request's
//! arrival: a task yields in a loop, and since tokio polls the I/O driver with a zero timeout
//! before it runs a yielded task again, the worker keeps reading sockets and the next request
//! is served as soon as it lands. When no request came for a whole window the task sleeps
//! until the next one, so an idle node spins for nothing, and a busy one spins at most one
//! window per pause.
//!
//! It only pays when the worker that spins is the one polling the driver, i.e. with one I/O
//! worker (`--rpc.io-threads 1`, the default on machines with fewer than four cores). With
//! more workers another one may hold the driver while this one spins, which burns a core for
//! nothing; the node turns it off then.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::sync::Notify;
use tracing::debug;

/// The activity clock and the spinning task's wake-up.
#[derive(Debug)]
pub struct BusyPoll {
    /// Time origin of `last`.
    base: Instant,
    /// Nanoseconds after `base` of the newest request.
    last: AtomicU64,
    /// Set while the task sleeps; the next request wakes it.
    sleeping: AtomicBool,
    wake: Notify,
    window: Duration,
    /// Polls made so far (one per yield).
    polls: AtomicU64,
}

impl BusyPoll {
    /// Starts the spinning task on the current runtime (it lives as long as the runtime); it
    /// keeps the worker polling for `window` after each [`BusyPoll::touch`].
    pub fn spawn(window: Duration) -> Arc<Self> {
        let this = Arc::new(Self {
            base: Instant::now(),
            last: AtomicU64::new(0),
            sleeping: AtomicBool::new(false),
            wake: Notify::new(),
            window,
            polls: AtomicU64::new(0),
        });
        debug!(target: "bttc::rpc", window_us = window.as_micros() as u64, "busy polling after requests");
        tokio::spawn(Arc::clone(&this).run());
        this
    }

    fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// Records a request: the task polls for another window (and is woken if it slept).
    pub fn touch(&self) {
        self.last.store(self.now_ns(), Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) && self.sleeping.swap(false, Ordering::SeqCst) {
            self.wake.notify_one();
        }
    }

    /// Whether the task is asleep (no request for a whole window).
    pub fn is_sleeping(&self) -> bool {
        self.sleeping.load(Ordering::SeqCst)
    }

    /// How many times the task has yielded to the driver so far.
    pub fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }

    fn idle(&self) -> bool {
        self.now_ns().saturating_sub(self.last.load(Ordering::SeqCst))
            >= self.window.as_nanos() as u64
    }

    async fn run(self: Arc<Self>) {
        loop {
            while !self.idle() {
                self.polls.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
            self.sleeping.store(true, Ordering::SeqCst);
            if !self.idle() {
                // A request came between the check and the flag: poll on.
                self.sleeping.store(false, Ordering::SeqCst);
                continue;
            }
            self.wake.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::{TcpListener, TcpStream},
    };

    fn one_worker() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap()
    }

    async fn wait_until(what: &str, f: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !f() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    #[test]
    fn polls_for_a_window_after_each_touch_then_sleeps() {
        one_worker().block_on(async {
            let bp = BusyPoll::spawn(Duration::from_millis(20));
            wait_until("asleep at start", || bp.is_sleeping()).await;
            let idle_polls = bp.polls();
            tokio::time::sleep(Duration::from_millis(30)).await;
            assert_eq!(bp.polls(), idle_polls, "an idle server must not spin");

            bp.touch();
            assert!(!bp.is_sleeping(), "a request wakes the poller");
            wait_until("asleep after the window", || bp.is_sleeping()).await;
            let after = bp.polls();
            assert!(
                after > idle_polls + 10,
                "it polled during the window: {idle_polls} -> {after}"
            );
            tokio::time::sleep(Duration::from_millis(30)).await;
            assert_eq!(bp.polls(), after, "no polling once the window is over");
        });
    }

    #[test]
    fn other_tasks_and_sockets_progress_while_it_polls() {
        one_worker().block_on(async {
            // A window far longer than the test, renewed by every echo: the single worker is
            // spinning the whole time, yet timers fire and a TCP echo round-trips.
            let bp = BusyPoll::spawn(Duration::from_secs(30));
            bp.touch();
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = {
                let bp = Arc::clone(&bp);
                tokio::spawn(async move {
                    let (mut s, _) = listener.accept().await.unwrap();
                    let mut buf = [0u8; 4];
                    for _ in 0..100 {
                        s.read_exact(&mut buf).await.unwrap();
                        bp.touch();
                        s.write_all(&buf).await.unwrap();
                    }
                })
            };
            let mut c = TcpStream::connect(addr).await.unwrap();
            for i in 0u32..100 {
                c.write_all(&i.to_be_bytes()).await.unwrap();
                let mut buf = [0u8; 4];
                c.read_exact(&mut buf).await.unwrap();
                assert_eq!(u32::from_be_bytes(buf), i);
            }
            server.await.unwrap();
            let t = Instant::now();
            tokio::time::sleep(Duration::from_millis(10)).await;
            assert!(t.elapsed() < Duration::from_secs(1), "a timer fired late: {:?}", t.elapsed());
            assert!(!bp.is_sleeping());
            assert!(bp.polls() > 100, "it was polling throughout: {}", bp.polls());
        });
    }
}
