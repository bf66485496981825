//! The thread pools behind every method that does more than a cheap read.
//!
//! - The execution lane runs calls, gas estimates, access lists, simulations, traces, log
//!   scans and proofs.
//! - The admission lane runs `eth_sendRawTransaction` and `eth_sendTransaction` (unless the
//!   latter needs a gas estimate, which is an execution): transactions never wait behind
//!   executions, whatever those do. Both lanes have one thread per core; when both are busy
//!   the OS shares the cores between them.
//!
//! Each lane takes at most its threads plus `max_queued` jobs at once; a job past that is
//! refused at once with -32005 instead of queueing without bound. Every job runs under the
//! request's deadline ([`crate::deadline`]): the EVM stops there, a job whose deadline passed
//! while it waited is not started, and the caller stops waiting at the deadline.

use crate::{
    RpcError,
    deadline::{self, Limit},
};
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

/// The execution and admission lanes.
#[derive(Debug)]
pub(crate) struct Lanes {
    /// Executions (calls, estimates, simulations, traces, log scans, proofs).
    pub(crate) exec: Lane,
    /// Transaction admission.
    pub(crate) admission: Lane,
}

impl Lanes {
    /// Lanes of `threads` threads each (0: one per core), each taking at most `max_queued`
    /// jobs beyond its threads.
    pub(crate) fn new(threads: usize, max_queued: usize) -> Self {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            threads
        };
        Self {
            exec: Lane::new("execution", "rpc-exec", threads, max_queued),
            admission: Lane::new("transaction admission", "rpc-admit", threads, max_queued),
        }
    }
}

/// A fixed pool of threads with a bounded number of jobs in flight.
#[derive(Debug)]
pub(crate) struct Lane {
    name: &'static str,
    pool: rayon::ThreadPool,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: usize,
}

impl Lane {
    fn new(name: &'static str, thread_prefix: &'static str, threads: usize, queued: usize) -> Self {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(move |i| format!("{thread_prefix}-{i}"))
            // A panicking method answers "internal error" (its reply channel drops)
            // instead of taking the node down.
            .panic_handler(|_| {
                tracing::error!(target: "bttc::rpc", "an RPC method panicked");
            })
            .build()
            .expect("spawn the RPC lane threads");
        Self {
            name,
            pool,
            in_flight: Arc::default(),
            max_in_flight: threads.saturating_add(queued),
        }
    }

    /// Runs `job` on this lane under a deadline `timeout` from now and waits for its result:
    /// -32005 at once when the lane is full, [`RpcError::Timeout`] at the deadline.
    pub(crate) async fn run<T, E>(
        &self,
        timeout: Duration,
        job: impl FnOnce() -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<RpcError> + Send + 'static,
    {
        let limit = Limit { at: Instant::now() + timeout, timeout };
        let Some(slot) = Slot::take(&self.in_flight, self.max_in_flight) else {
            return Err(RpcError::Limit(format!(
                "{} queue is full ({} calls in flight); try again later",
                self.name, self.max_in_flight
            ))
            .into());
        };
        let (done, result) = tokio::sync::oneshot::channel();
        self.pool.spawn(move || {
            let r = if Instant::now() >= limit.at {
                Err(RpcError::Timeout(limit.timeout).into())
            } else {
                deadline::scope(limit, job)
            };
            // The place is free before the caller hears back (a panic frees it too).
            drop(slot);
            let _ = done.send(r);
        });
        match tokio::time::timeout_at(limit.at.into(), result).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(RpcError::Internal("the method failed unexpectedly".into()).into()),
            Err(_) => Err(RpcError::Timeout(timeout).into()),
        }
    }
}

/// One job's place in a lane, given back when the job ends (also by a panic).
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(in_flight: &Arc<AtomicUsize>, max: usize) -> Option<Self> {
        in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1))
            .ok()
            .map(|_| Self(Arc::clone(in_flight)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[tokio::test]
    async fn a_full_lane_refuses_and_frees_its_places_when_jobs_end() {
        let lane = Arc::new(Lane::new("test", "t", 1, 1));
        let (release, gate) = mpsc::channel::<()>();
        let gate = Arc::new(parking_lot::Mutex::new(gate));
        let long = Duration::from_secs(60);
        let blocked = |lane: Arc<Lane>| {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move {
                lane.run(long, move || -> Result<u32, RpcError> {
                    let _ = gate.lock().recv();
                    Ok(1)
                })
                .await
            })
        };
        let (first, second) = (blocked(Arc::clone(&lane)), blocked(Arc::clone(&lane)));
        // Two in flight (one running, one waiting): a third is refused.
        while lane.in_flight.load(Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        let third = lane.run(long, || Ok::<_, RpcError>(3)).await;
        assert!(matches!(third, Err(RpcError::Limit(m)) if m.contains("queue is full")));
        release.send(()).unwrap();
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), 1);
        assert_eq!(second.await.unwrap().unwrap(), 1);
        assert_eq!(lane.run(long, || Ok::<_, RpcError>(4)).await.unwrap(), 4);
        assert_eq!(lane.in_flight.load(Ordering::Acquire), 0);
    }
}
