//! The LVS part of the daemon: the [`Engine`] plus the kernel. It applies
//! the engine's operations with one batched netlink apply and hands notify
//! effects back to the caller, which runs them in order.
//!
//! A pass that follows a change of the desired table (a verdict, a reload:
//! the engine was borrowed mutably) diffs against the table it knows: the
//! kernel's as last read, plus the operations applied since. Dumping 10,000
//! real servers costs far more than the change itself, and a reload must
//! reach the kernel in milliseconds. A pass with nothing new (the periodic
//! one) re-reads the kernel and so repairs what others changed (keepalived
//! #1877); so does the pass after an operation failed, since the known
//! table may then be wrong.
//!
//! Netlink calls are blocking and short; they run on tokio's blocking pool
//! so the event loop never waits on the kernel.

use std::sync::{Arc, Mutex};

use ipvs_sys::{BatchError, Client, Op};

use super::diff::{apply_ops, Table};
use super::engine::{Effect, Engine, VirtualServer};
use super::kernel::read_table;
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
    /// The blocking task died.
    #[error("IPVS worker failed: {0}")]
    Worker(String),
}

/// The engine and its kernel connection.
#[derive(Debug)]
pub struct LvsRuntime {
    engine: Engine,
    /// `None` when IPVS is not used (`lvsd run --vrrp-only`): every pass
    /// is then empty.
    client: Option<Arc<Mutex<Client>>>,
    /// The kernel's table as last read, with the operations applied since;
    /// `None` before the first read and after a failed operation.
    known: Option<Table>,
    /// The engine was handed out mutably since the last pass.
    changed: bool,
}

impl LvsRuntime {
    /// A runtime for `servers` over `client` (none: no IPVS); returns the
    /// initial effects.
    pub fn new(servers: Vec<VirtualServer>, client: Option<Client>) -> (LvsRuntime, Vec<Effect>) {
        let (engine, effects) = Engine::new(servers);
        let rt = LvsRuntime {
            engine,
            client: client.map(|c| Arc::new(Mutex::new(c))),
            known: None,
            changed: false,
        };
        (rt, effects)
    }

    /// The engine, to read state for status.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine, to feed verdicts and reloads; the next pass diffs
    /// against the known table instead of re-reading the kernel.
    pub fn engine_mut(&mut self) -> &mut Engine {
        self.changed = true;
        &mut self.engine
    }

    /// The table the last pass worked from, with the operations applied
    /// since: what the kernel holds unless someone else changed it, with
    /// the counters of the last full read. `None` before the first pass,
    /// after a failed operation, and without IPVS.
    pub fn known_table(&self) -> Option<&Table> {
        self.known.as_ref()
    }

    /// Runs `f` with the client on the blocking pool; `None` without IPVS.
    async fn with_client<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client) -> T + Send + 'static,
    ) -> Result<Option<T>, RuntimeError> {
        let Some(client) = self.client.as_ref().map(Arc::clone) else {
            return Ok(None);
        };
        tokio::task::spawn_blocking(move || {
            let mut guard = client
                .lock()
                .map_err(|_| RuntimeError::Worker("IPVS client lock poisoned".into()))?;
            Ok(Some(f(&mut guard)))
        })
        .await
        .map_err(|e| RuntimeError::Worker(e.to_string()))?
    }

    /// The kernel's current table.
    /// Empty without IPVS.
    pub async fn kernel_table(&self) -> Result<Table, RuntimeError> {
        Ok(self
            .with_client(read_table)
            .await?
            .transpose()?
            .unwrap_or_default())
    }

    /// One reconcile pass: apply the difference between the desired table
    /// and the kernel's, read afresh unless the desired table changed since
    /// the last pass and the known table is trusted (see the module docs).
    pub async fn reconcile(&mut self) -> Result<PassReport, RuntimeError> {
        if self.client.is_none() {
            return Ok(PassReport::default());
        }
        let changed = std::mem::take(&mut self.changed);
        // A known table that is not used is dropped before the read, not
        // after it: two tables of 10,000 real servers at once raised the
        // peak that the heap then keeps.
        let (table, ops) = match self.known.take().filter(|_| changed) {
            Some(known) => {
                let ops = self.engine.reconcile_changed(&known);
                (known, ops)
            }
            None => {
                let read = self.kernel_table().await?;
                let ops = self.engine.reconcile(&read);
                (read, ops)
            }
        };
        self.known = Some(table);
        let report = self.apply(ops).await?;
        if report.failures.is_empty() {
            self.engine.applied();
        }
        Ok(report)
    }

    /// Makes the kernel's sync daemons match `wanted` (None: stop them).
    pub async fn set_sync_daemon(
        &self,
        wanted: Option<ipvs_sys::Daemon>,
    ) -> Result<PassReport, RuntimeError> {
        let Some(running) = self.with_client(|c| c.daemons()).await?.transpose()? else {
            return Ok(PassReport::default());
        };
        self.apply_batch(sync_daemon_ops(wanted.as_ref(), &running))
            .await
    }

    /// Shutdown: remove this daemon's services unless `release_ipvs` is
    /// false; returns the `omega` effects.
    pub async fn shutdown(
        &mut self,
        release_ipvs: bool,
    ) -> Result<(PassReport, Vec<Effect>), RuntimeError> {
        let table = self.kernel_table().await?;
        let (ops, effects) = self.engine.shutdown(&table, release_ipvs);
        Ok((self.apply(ops).await?, effects))
    }

    /// Applies `ops` in one batch; each failure is logged and reported.
    /// The known table follows the operations, or is dropped when one
    /// failed (the next pass reads the kernel).
    pub async fn apply(&mut self, ops: Vec<Op>) -> Result<PassReport, RuntimeError> {
        let report = self.apply_batch(ops).await;
        match &report {
            Ok(r) if r.failures.is_empty() => {
                if let Some(known) = self.known.as_mut() {
                    apply_ops(known, &r.ops);
                }
            }
            _ => self.known = None,
        }
        report
    }

    /// [`LvsRuntime::apply`] without the known table (sync daemons only).
    async fn apply_batch(&self, ops: Vec<Op>) -> Result<PassReport, RuntimeError> {
        if ops.is_empty() {
            return Ok(PassReport::default());
        }
        // The operations go to the blocking pool and come back with the
        // result: a pass at start holds 10,000 of them, and a copy for the
        // report would be megabytes more at the start's peak.
        let applied = self
            .with_client(move |c| {
                let result = c.apply(&ops);
                (ops, result)
            })
            .await?;
        let Some((ops, result)) = applied else {
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
