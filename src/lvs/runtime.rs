//! The LVS part of the daemon: the [`Engine`] plus the kernel. It applies
//! the engine's operations with one batched netlink apply, re-reads the
//! kernel table on every pass (so hand edits are repaired), and hands notify
//! effects back to the caller, which runs them in order.
//!
//! Netlink calls are blocking and short; they run on tokio's blocking pool
//! so the event loop never waits on the kernel.

use std::sync::{Arc, Mutex};

use ipvs_sys::{BatchError, Client, Op};

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
}

impl LvsRuntime {
    /// A runtime for `servers` over `client` (none: no IPVS); returns the
    /// initial effects.
    pub fn new(servers: Vec<VirtualServer>, client: Option<Client>) -> (LvsRuntime, Vec<Effect>) {
        let (engine, effects) = Engine::new(servers);
        let rt = LvsRuntime {
            engine,
            client: client.map(|c| Arc::new(Mutex::new(c))),
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
    pub async fn kernel_table(&self) -> Result<super::diff::Table, RuntimeError> {
        Ok(self
            .with_client(read_table)
            .await?
            .transpose()?
            .unwrap_or_default())
    }

    /// One reconcile pass: read the kernel table, apply the difference.
    pub async fn reconcile(&mut self) -> Result<PassReport, RuntimeError> {
        if self.client.is_none() {
            return Ok(PassReport::default());
        }
        let table = self.kernel_table().await?;
        let ops = self.engine.reconcile(&table);
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
        self.apply(sync_daemon_ops(wanted.as_ref(), &running)).await
    }

    /// Shutdown: remove this daemon's services unless `release_ipvs` is
    /// false; returns the `omega` effects.
    pub async fn shutdown(
        &self,
        release_ipvs: bool,
    ) -> Result<(PassReport, Vec<Effect>), RuntimeError> {
        let table = self.kernel_table().await?;
        let (ops, effects) = self.engine.shutdown(&table, release_ipvs);
        Ok((self.apply(ops).await?, effects))
    }

    /// Applies `ops` in one batch; each failure is logged and reported.
    pub async fn apply(&self, ops: Vec<Op>) -> Result<PassReport, RuntimeError> {
        if ops.is_empty() {
            return Ok(PassReport::default());
        }
        let batch = ops.clone();
        let Some(result) = self.with_client(move |c| c.apply(&batch)).await? else {
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
