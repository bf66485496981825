//! The wall-clock limit of one request's execution, and the inspector that enforces it
//! inside the EVM.
//!
//! A method that runs on an execution lane ([`crate::lanes`]) runs inside [`scope`], which
//! records the request's deadline for the thread. Every EVM the method builds carries a
//! [`Deadline`] inspector: every [`CHECK_EVERY`] instructions it reads the clock and, once
//! the deadline has passed, halts the interpreter and leaves a context error, so `transact`
//! returns `EVMError::Custom` with [`TIMEOUT_TAG`] (mapped to [`RpcError::Timeout`]) and the
//! thread is free again right after the deadline instead of running the call to the end of
//! its gas. Loops over blocks (log scans, block traces) call [`check`] between items.
//! Outside a scope (in-process callers, tests) there is no deadline.

use crate::{RpcError, RpcResult};
use revm::{
    Inspector,
    context_interface::{ContextError, ContextTr},
    interpreter::{Interpreter, InterpreterTypes, interpreter_types::LoopControl},
};
use std::{
    cell::Cell,
    time::{Duration, Instant},
};

/// Instructions between two looks at the clock (a clock read costs ~25 ns; an instruction
/// a few ns, so this keeps the check under 1% and the overshoot in the microseconds).
pub(crate) const CHECK_EVERY: u32 = 4096;

/// The message of the context error a [`Deadline`] leaves when it stops the EVM.
pub const TIMEOUT_TAG: &str = "bttc: execution deadline passed";

/// When the request being served on this thread must stop, and the limit it came from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limit {
    /// The instant past which execution stops.
    pub(crate) at: Instant,
    /// The configured timeout (for the error message).
    pub(crate) timeout: Duration,
}

thread_local! {
    static CURRENT: Cell<Option<Limit>> = const { Cell::new(None) };
}

/// Runs `f` with `limit` as this thread's deadline (restored afterwards, also on panic).
pub(crate) fn scope<T>(limit: Limit, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Limit>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.replace(Some(limit))));
    f()
}

/// This thread's deadline, if it serves a request under one.
pub(crate) fn current() -> Option<Limit> {
    CURRENT.with(Cell::get)
}

/// [`RpcError::Timeout`] if this thread's deadline has passed.
pub(crate) fn check() -> RpcResult<()> {
    match current() {
        Some(l) if Instant::now() >= l.at => Err(RpcError::Timeout(l.timeout)),
        _ => Ok(()),
    }
}

/// The error for an EVM stopped by [`Deadline`].
pub(crate) fn timeout_error() -> RpcError {
    RpcError::Timeout(current().map(|l| l.timeout).unwrap_or_default())
}

/// An inspector that stops execution at a deadline (see the module page): `transact` then
/// fails with `EVMError::Custom` carrying [`TIMEOUT_TAG`]. Combine it with another inspector
/// as a pair: `(tracer, Deadline::current())`.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Option<Instant>,
    countdown: u32,
}

impl Deadline {
    /// A deadline inspector for the request served on this thread (inert outside a scope).
    pub(crate) fn current() -> Self {
        Self { at: current().map(|l| l.at), countdown: CHECK_EVERY }
    }

    /// An inspector that stops execution at `at`.
    pub fn at(at: Instant) -> Self {
        Self { at: Some(at), countdown: CHECK_EVERY }
    }
}

impl<CTX: ContextTr, INTR: InterpreterTypes> Inspector<CTX, INTR> for Deadline {
    #[inline]
    fn step(&mut self, interp: &mut Interpreter<INTR>, context: &mut CTX) {
        let Some(at) = self.at else { return };
        self.countdown -= 1;
        if self.countdown > 0 {
            return;
        }
        self.countdown = CHECK_EVERY;
        if Instant::now() >= at && !interp.bytecode.is_end() {
            stop(interp, context);
        }
    }
}

#[cold]
fn stop<CTX: ContextTr, INTR: InterpreterTypes>(interp: &mut Interpreter<INTR>, context: &mut CTX) {
    *context.error() = Err(ContextError::Custom(TIMEOUT_TAG.into()));
    interp.halt_fatal();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_sets_and_restores_the_thread_deadline() {
        assert!(current().is_none());
        assert!(check().is_ok(), "no deadline outside a scope");
        let past = Limit { at: Instant::now(), timeout: Duration::from_millis(7) };
        let r = scope(past, || {
            assert!(current().is_some());
            check()
        });
        assert!(matches!(r, Err(RpcError::Timeout(t)) if t == Duration::from_millis(7)));
        assert!(current().is_none(), "restored");
        let far = Limit { at: Instant::now() + Duration::from_secs(3600), timeout: past.timeout };
        assert!(scope(far, check).is_ok());
    }
}
