//! The LVS part of the daemon: the [`Engine`] plus the kernel. It applies
//! the engine's operations with one batched netlink apply and hands notify
//! effects back to the caller, which runs them in order.
//!
//! A pass over the changes (after a verdict, a reload) reads and diffs
//! only the virtual servers changed since the last applied pass: dumping
//! 10,000 real servers costs far more than the change itself, and a reload
//! must reach the kernel in milliseconds. A pass over everything (the
//! periodic one) reads the whole table and so repairs what others changed
//! (keepalived #1877); so does any pass after an operation failed. No copy
//! of the kernel's table is kept between passes.
//!
//! Netlink calls are blocking and short. They run on the daemon's thread,
//! which hands its other tasks to another worker meanwhile (tokio's
//! `block_in_place`), so the pass can read the engine while it reads the
//! kernel, a service at a time, and its allocations stay in one arena.

use std::collections::BTreeSet;
use std::sync::Mutex;

use ipvs_sys::{BatchError, Client, Op};

use super::diff::Table;
use super::engine::{Effect, Engine, VirtualServer};
use super::kernel::{read_table, KernelView};
use super::syncd::sync_daemon_ops;

/// What one pass did.
#[derive(Debug, Default)]
pub struct PassReport {
    /// The operations applied (or attempted).
    pub ops: Vec<Op>,
    /// The operations that failed, with why (the rest went through).
    pub failures: Vec<(Op, String)>,
}

/// Errors of a pass that could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// Reading the kernel table failed.
    #[error("reading the IPVS table: {0}")]
    Read(#[from] ipvs_sys::Error),
    /// A thread panicked while it held the IPVS client.
    #[error("the IPVS client is unusable: a thread panicked while using it")]
    Poisoned,
}

/// What a reconcile pass reads and diffs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// The virtual servers changed since the last applied pass (after a
    /// verdict or a reload).
    Changes,
    /// Every virtual server, with the whole kernel table read (the
    /// periodic pass).
    Everything,
}

/// The engine and its kernel connection.
#[derive(Debug)]
pub struct LvsRuntime {
    engine: Engine,
    /// `None` when IPVS is not used (`lvsd run --vrrp-only`): every pass
    /// is then empty.
    client: Option<Mutex<Client>>,
    /// An operation of the last pass failed: the next one reads everything.
    failed: bool,
}

impl LvsRuntime {
    /// A runtime for `servers` over `client` (none: no IPVS); returns the
    /// initial effects.
    pub fn new<V: Into<std::sync::Arc<VirtualServer>>>(
        servers: Vec<V>,
        client: Option<Client>,
    ) -> (LvsRuntime, Vec<Effect>) {
        let (engine, effects) = Engine::new(servers);
        let rt = LvsRuntime {
            engine,
            client: client.map(Mutex::new),
            failed: false,
        };
        (rt, effects)
    }

    /// The engine, to read state for status.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine, to feed verdicts and reloads.
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// Runs `f` with the client; `None` without IPVS.
    fn with_client<T>(&self, f: impl FnOnce(&mut Client) -> T) -> Result<Option<T>, RuntimeError> {
        let Some(client) = self.client.as_ref() else {
            return Ok(None);
        };
        let mut guard = client.lock().map_err(|_| RuntimeError::Poisoned)?;
        Ok(Some(blocking(|| f(&mut guard))))
    }

    /// The kernel's current table, with its counters.
    /// Empty without IPVS.
    pub fn kernel_table(&self) -> Result<Table, RuntimeError> {
        Ok(self
            .with_client(read_table)?
            .transpose()?
            .unwrap_or_default())
    }

    /// One reconcile pass: apply the difference between the desired table
    /// and the kernel's, for what `pass` covers (see the module docs).
    pub fn reconcile(&mut self, pass: Pass) -> Result<PassReport, RuntimeError> {
        let everything = pass == Pass::Everything || self.failed;
        if !everything && !self.engine.has_changes() {
            return Ok(PassReport::default());
        }
        let engine = &self.engine;
        let Some(ops) = self
            .with_client(|c| engine.pass(c, everything))?
            .transpose()?
        else {
            return Ok(PassReport::default());
        };
        let report = self.apply(ops)?;
        self.failed = !report.failures.is_empty();
        if !self.failed {
            self.engine.applied();
        }
        Ok(report)
    }

    /// Makes the kernel's sync daemons match `wanted` (None: stop them).
    pub fn set_sync_daemon(
        &self,
        wanted: Option<ipvs_sys::Daemon>,
    ) -> Result<PassReport, RuntimeError> {
        let Some(running) = self.with_client(|c| c.daemons())?.transpose()? else {
            return Ok(PassReport::default());
        };
        self.apply(sync_daemon_ops(wanted.as_ref(), &running))
    }

    /// Shutdown: remove this daemon's services unless `release_ipvs` is
    /// false; returns the `omega` effects.
    pub fn shutdown(&self, release_ipvs: bool) -> Result<(PassReport, Vec<Effect>), RuntimeError> {
        let present: BTreeSet<_> = self
            .with_client(KernelView::services)?
            .transpose()?
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.key)
            .collect();
        let (ops, effects) = self.engine.shutdown(&present, release_ipvs);
        Ok((self.apply(ops)?, effects))
    }

    /// Applies `ops` in one batch; each failure is logged and reported.
    pub fn apply(&self, ops: Vec<Op>) -> Result<PassReport, RuntimeError> {
        if ops.is_empty() {
            return Ok(PassReport::default());
        }
        let Some(result) = self.with_client(|c| c.apply(&ops))? else {
            return Ok(PassReport::default());
        };
        let failures = match result {
            Ok(()) => Vec::new(),
            Err(BatchError { failures, .. }) => failures
                .into_iter()
                .filter_map(|(i, e)| ops.get(i).map(|op| (op.clone(), e.to_string())))
                .collect(),
        };
        for (op, why) in &failures {
            tracing::warn!(?op, error = %why, "IPVS operation failed");
        }
        Ok(PassReport { ops, failures })
    }
}

/// Runs `f`, a blocking netlink exchange, on this thread. On tokio's
/// multi-thread runtime the worker first hands its other tasks to another
/// thread, so they do not wait for the kernel.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}
