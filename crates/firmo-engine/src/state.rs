//! The state store, off the async threads: one dedicated thread owns the [`Store`] and runs
//! the closures sent to it, one at a time, in the order they arrive.
//!
//! SQLite calls block (a commit waits on `fsync`), so calling them from tokio's workers
//! stalls every task on that worker; a `Mutex<Store>` locked from tasks does exactly that
//! and makes writers queue on the lock. A single owner thread also makes each closure
//! atomic with respect to every other user in this process (the sync stages and the
//! callback receiver alike), which the pending-entry rule in `fetch.rs` relies on.
//!
//! Closures that queue up while one runs are run together in one transaction
//! ([`Store::grouped`]), and their callers hear back only once it commits: a sync makes
//! one small write per provider answer, and one commit each would cost more than the
//! rows.

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

/// A closure for the store thread. It runs, and what it returns delivers its result to
/// its caller once the group it ran in has committed (given the commit's error if not).
type Job = Box<dyn FnOnce(&mut Store) -> Reply + Send>;
type Reply = Box<dyn FnOnce(Option<&StoreError>) + Send>;

/// The most closures committed together: bounds how long the first of them waits.
const MOST_IN_ONE_COMMIT: usize = 256;

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
                while let Ok(first) = queue.recv() {
                    let mut jobs = vec![first];
                    jobs.extend(queue.try_iter().take(MOST_IN_ONE_COMMIT - 1));
                    let (replies, committed) = store.grouped(|store| {
                        jobs.into_iter().map(|job| job(store)).collect::<Vec<_>>()
                    });
                    for reply in replies {
                        reply(committed.as_ref().err());
                    }
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
            .send(job(f, move |result| {
                let _ = reply.send(result);
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
            .send(job(f, move |result| {
                let _ = reply.send(result);
            }))
            .map_err(|_| StateError::Gone)?;
        answer
            .recv()
            .map_err(|_| StateError::Gone)?
            .map_err(Into::into)
    }
}

/// `f` as a [`Job`] whose result reaches `deliver` after the commit: `f`'s own error if it
/// failed, the commit's if `f` succeeded and the commit did not.
fn job<T, F>(f: F, deliver: impl FnOnce(Result<T, StoreError>) + Send + 'static) -> Job
where
    T: Send + 'static,
    F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
{
    Box::new(move |store| {
        let result = f(store);
        Box::new(move |commit_failed: Option<&StoreError>| {
            deliver(match commit_failed {
                Some(e) if result.is_ok() => Err(e.relayed()),
                _ => result,
            });
        })
    })
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_caller_hears_back_only_once_its_write_is_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let handle = StoreHandle::spawn(Store::open(&path).unwrap());
        let reader =
            std::sync::Arc::new(std::sync::Mutex::new(Store::open_read_only(&path).unwrap()));
        // Enough callers at once that their closures queue up and are grouped.
        let calls = (0..400).map(|i| {
            let (handle, reader) = (handle.clone(), std::sync::Arc::clone(&reader));
            tokio::spawn(async move {
                let key = format!("d{i}.example");
                let entry = LookupEntry::new("p", &key, UnixMillis(5), LookupStatus::Miss);
                let written = if i % 7 == 3 {
                    // A failing closure in the same group leaves the others' writes be.
                    handle
                        .call(move |s| {
                            s.write(|w| {
                                w.put_lookup(&entry)?;
                                Err::<(), _>(StoreError::Invalid {
                                    op: "testing",
                                    path: "t".into(),
                                    what: "refused".into(),
                                })
                            })
                        })
                        .await
                        .is_ok()
                } else {
                    handle.call(move |s| s.put_lookup(&entry)).await.unwrap();
                    true
                };
                // Another connection sees the row by the time the call returns.
                let visible = reader
                    .lock()
                    .unwrap()
                    .get_lookup("p", &key)
                    .unwrap()
                    .is_some();
                (written, visible)
            })
        });
        for call in calls.collect::<Vec<_>>() {
            let (written, visible) = call.await.unwrap();
            assert_eq!(written, visible);
        }
    }
}
