//! The state store, off the async threads: one dedicated thread owns the [`Store`] and runs
//! the closures sent to it, one at a time, in the order they arrive.
//!
//! SQLite calls block (a commit waits on `fsync`), so calling them from tokio's workers
//! stalls every task on that worker; a `Mutex<Store>` locked from tasks does exactly that
//! and makes writers queue on the lock. A single owner thread also makes each closure
//! atomic with respect to every other user in this process (the sync stages and the
//! callback receiver alike), which the pending-entry rule in `fetch.rs` relies on.

use std::sync::mpsc;

use firmo_store::{Store, StoreError};

/// Why a store call did not complete.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store thread is gone (it panicked, or the store was closed).
    #[error("the state store stopped before the run finished")]
    Gone,
}

type Job = Box<dyn FnOnce(&mut Store) + Send>;

/// A cheap handle to the store thread; clone it freely. The thread ends, and the file is
/// closed, when the last handle is dropped.
#[derive(Clone)]
pub struct StoreHandle {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for StoreHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreHandle")
    }
}

impl StoreHandle {
    /// Moves `store` onto its own thread.
    pub fn spawn(mut store: Store) -> StoreHandle {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("firmo-store".into())
            .spawn(move || {
                for job in queue {
                    job(&mut store);
                }
            })
            .expect("the OS can start a thread");
        StoreHandle { jobs }
    }

    /// Runs `f` on the store thread and waits for its result without blocking the runtime.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StateError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |store| {
                let _ = reply.send(f(store));
            }))
            .map_err(|_| StateError::Gone)?;
        answer
            .await
            .map_err(|_| StateError::Gone)?
            .map_err(Into::into)
    }

    /// [`StoreHandle::call`] for code outside the runtime (CLI commands that run no sync).
    pub fn call_blocking<T, F>(&self, f: F) -> Result<T, StateError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = mpsc::channel();
        self.jobs
            .send(Box::new(move |store| {
                let _ = reply.send(f(store));
            }))
            .map_err(|_| StateError::Gone)?;
        answer
            .recv()
            .map_err(|_| StateError::Gone)?
            .map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use firmo_core::UnixMillis;
    use firmo_store::{LookupEntry, LookupStatus};

    #[tokio::test]
    async fn calls_run_in_order_on_the_store_thread() {
        let handle = StoreHandle::spawn(Store::open_in_memory().unwrap());
        let writer = handle.clone();
        writer
            .call(|s| {
                s.put_lookup(&LookupEntry::new(
                    "p",
                    "a.example",
                    UnixMillis(5),
                    LookupStatus::Miss,
                ))
            })
            .await
            .unwrap();
        let thread = handle
            .call(|_| Ok(std::thread::current().name().map(str::to_owned)))
            .await
            .unwrap();
        assert_eq!(thread.as_deref(), Some("firmo-store"));
        let got = handle
            .call(|s| s.get_lookup("p", "a.example"))
            .await
            .unwrap()
            .expect("the write before is visible");
        assert_eq!(got.status, LookupStatus::Miss);
    }

    #[tokio::test]
    async fn a_dead_store_thread_is_an_error_not_a_hang() {
        let handle = StoreHandle::spawn(Store::open_in_memory().unwrap());
        let crashed = handle
            .call(|_| -> Result<(), StoreError> { panic!("a bug in a store closure") })
            .await;
        assert!(matches!(crashed, Err(StateError::Gone)), "{crashed:?}");
        let after = handle.call(|s| s.schema_version()).await;
        assert!(matches!(after, Err(StateError::Gone)), "{after:?}");
    }
}
