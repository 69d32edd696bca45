//! HubSpot's search limit as HubSpot counts it: at most 4 searches per second per token
//! (developer changelog, "CRM Search API rate limit increase"), counted where they
//! *arrive*. Spacing the starts evenly (the shared HTTP client's limiter) is not enough:
//! one search delayed on its way (a new connection, a proxy) arrives late, next to the
//! ones started after it, and five land in one second (issue 12, seen through a proxy).
//!
//! [`ArrivalWindow`] closes that gap whatever the delay: a search holds one of `max`
//! slots from before it is sent until a whole window after its answer came back. Its
//! arrival lies inside that span, so `max + 1` arrivals within one window would need
//! `max + 1` slots held at once. The cost is one round trip per window of throughput.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// At most `max` requests arrive in any `window`, however long each takes on its way.
#[derive(Debug, Clone)]
pub(crate) struct ArrivalWindow {
    slots: Arc<Semaphore>,
    window: Duration,
}

/// A held slot; dropping it frees the slot one window later (also when the request was
/// abandoned mid-flight: it may have arrived).
struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    window: Duration,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(permit) = self.permit.take() else {
            return;
        };
        let window = self.window;
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    tokio::time::sleep(window).await;
                    drop(permit);
                });
            }
            // No runtime left (shutting down): nothing else can send either.
            Err(_) => drop(permit),
        }
    }
}

impl ArrivalWindow {
    /// `None` when `max` is 0 (no limit).
    pub(crate) fn new(max: u32, window: Duration) -> Option<ArrivalWindow> {
        let max = usize::try_from(max).ok().filter(|m| *m > 0)?;
        Some(ArrivalWindow {
            slots: Arc::new(Semaphore::new(max)),
            window,
        })
    }

    /// Runs `request` in a slot.
    pub(crate) async fn run<T>(&self, request: impl Future<Output = T>) -> T {
        // The semaphore is never closed, so acquiring fails only if it were.
        let permit = Arc::clone(&self.slots).acquire_owned().await.ok();
        let _slot = Slot {
            permit,
            window: self.window,
        };
        request.await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_slot_frees_a_window_after_its_answer() {
        let window = ArrivalWindow::new(2, Duration::from_millis(400)).unwrap();
        let start = std::time::Instant::now();
        // Two requests that take 100 ms each, then a third: it may start only when the
        // first slot frees, 400 ms after the first answer (never before t = 500 ms).
        let slow = || async { tokio::time::sleep(Duration::from_millis(100)).await };
        window.run(slow()).await;
        window.run(slow()).await;
        let third = window.run(async { start.elapsed() }).await;
        assert!(third >= Duration::from_millis(500), "{third:?}");
        assert!(ArrivalWindow::new(0, Duration::from_secs(1)).is_none());
    }
}
