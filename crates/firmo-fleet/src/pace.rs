//! One portal's CRM rate limit shared by every worker touching it: a token bucket per
//! portal in PostgreSQL, drawn from before each CRM request.
//!
//! The bucket is a row (`tokens`, `updated_at`) refilled at `rate` per millisecond up to
//! `burst` and debited by one statement under its row lock, with the server's clock. A
//! debit may take the balance below zero: that books the caller's place, and it waits
//! until the refill has paid its debt. So grants are spaced at `1 / rate` across every
//! worker, wherever they run, and no window of length `w` sees more than
//! `burst + rate × w` requests: [`PortalLimit::bucket`] picks `burst` and `rate` to keep
//! that under the portal's limit with headroom for the time a request takes to arrive.
//!
//! [`PacedCrm`] puts the bucket in front of a [`Crm`]: each call takes as many tokens as
//! the HTTP requests it sends (a batch of 250 updates is three). The HubSpot client's own
//! pacer (`requests_per_10s`) still spaces each process's requests on top.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use firmo_connect::crm::{
    BatchRead, CompanyUpdate, Crm, EnsureOutcome, EnsuredProperties, PropertyCapacity, PropertyDef,
    PropertyGroup, PullCursor, PullPage, PullRequest, SearchPage, SearchQuery, WriteOutcome,
};
use firmo_connect::{ConnectorError, Service};

use crate::schema::NOW_MS;
use crate::{Fleet, FleetError};

/// A portal's limit: at most `requests` in any rolling `interval`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PortalLimit {
    pub requests: u32,
    pub interval: Duration,
}

impl PortalLimit {
    /// HubSpot's burst limit as the portal's config states it (`requests_per_10s`).
    pub fn per_10s(requests: u32) -> PortalLimit {
        PortalLimit {
            requests,
            interval: Duration::from_secs(10),
        }
    }

    /// `(burst, tokens per millisecond)`: a burst of one and the rest spread over the
    /// interval plus a tenth, so that a request delayed on its way by up to that tenth
    /// still lands inside the limit.
    fn bucket(self) -> (f64, f64) {
        let interval_ms = self.interval.as_secs_f64() * 1000.0 * 1.1;
        let rate = f64::from(self.requests.saturating_sub(1).max(1)) / interval_ms;
        (1.0, rate)
    }
}

impl Fleet {
    /// Takes `n` tokens from bucket `key` (refilled per `limit`) and returns how long the
    /// caller must wait before sending.
    pub async fn take_tokens(
        &self,
        key: &str,
        n: u32,
        limit: PortalLimit,
    ) -> Result<Duration, FleetError> {
        let (burst, rate) = limit.bucket();
        let n = f64::from(n);
        let row = self
            .client()
            .query_one(
                &format!(
                    "INSERT INTO fleet_buckets AS b (bucket, tokens, updated_at) \
                     VALUES ($1, $2::float8 - $4::float8, {NOW_MS}) \
                     ON CONFLICT (bucket) DO UPDATE SET \
                         tokens = LEAST($2::float8, b.tokens + GREATEST(0, {NOW_MS} - b.updated_at) * $3::float8) - $4::float8, \
                         updated_at = GREATEST(b.updated_at, {NOW_MS}) \
                     RETURNING tokens"
                ),
                &[&key, &burst, &rate, &n],
            )
            .await
            .map_err(self.db("taking from a portal's rate bucket"))?;
        let tokens: f64 = row.get(0);
        if tokens >= 0.0 {
            return Ok(Duration::ZERO);
        }
        Ok(Duration::from_secs_f64(-tokens / rate / 1000.0))
    }
}

/// A [`Crm`] whose every request waits its turn in the portal's shared bucket.
pub struct PacedCrm {
    inner: Arc<dyn Crm>,
    fleet: Fleet,
    bucket: String,
    limit: PortalLimit,
}

impl PacedCrm {
    /// `bucket` names the portal (its account key), so every worker on it shares one.
    pub fn new(inner: Arc<dyn Crm>, fleet: Fleet, bucket: String, limit: PortalLimit) -> PacedCrm {
        PacedCrm {
            inner,
            fleet,
            bucket,
            limit,
        }
    }

    async fn take(&self, requests: usize) -> Result<(), ConnectorError> {
        let requests = u32::try_from(requests.max(1)).unwrap_or(u32::MAX);
        let wait = self
            .fleet
            .take_tokens(&self.bucket, requests, self.limit)
            .await
            .map_err(|e| ConnectorError::Transport {
                service: Service::Hubspot,
                message: format!("the fleet's shared rate limit could not be read: {e}"),
            })?;
        // Pacing, not synchronisation: the bucket said when this request's turn comes.
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }
}

/// HTTP requests a call on `n` records sends in batches of 100.
fn batches(n: usize) -> usize {
    n.div_ceil(100)
}

#[async_trait]
impl Crm for PacedCrm {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    // Encoding and comparing values is local: no request.
    fn encode_value(
        &self,
        property: &PropertyDef,
        value: &firmo_core::Value,
    ) -> Result<String, firmo_connect::crm::ValueError> {
        self.inner.encode_value(property, value)
    }

    fn same_value(&self, property: &PropertyDef, a: &str, b: &str) -> bool {
        self.inner.same_value(property, a, b)
    }

    // Already known when the worker builds this (it keys the bucket): no request.
    async fn account_key(&self) -> Result<String, ConnectorError> {
        self.inner.account_key().await
    }

    async fn pull(
        &self,
        request: &PullRequest,
        cursor: Option<&PullCursor>,
    ) -> Result<PullPage, ConnectorError> {
        self.take(1).await?;
        self.inner.pull(request, cursor).await
    }

    async fn search(&self, query: &SearchQuery) -> Result<SearchPage, ConnectorError> {
        self.take(1).await?;
        self.inner.search(query).await
    }

    async fn read_companies(
        &self,
        ids: &[String],
        properties: &[String],
    ) -> Result<BatchRead, ConnectorError> {
        self.take(batches(ids.len())).await?;
        self.inner.read_companies(ids, properties).await
    }

    async fn update_companies(
        &self,
        updates: &[CompanyUpdate],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        self.take(batches(updates.len())).await?;
        self.inner.update_companies(updates).await
    }

    async fn list_properties(&self) -> Result<Vec<PropertyDef>, ConnectorError> {
        self.take(1).await?;
        self.inner.list_properties().await
    }

    async fn list_groups(&self) -> Result<Vec<PropertyGroup>, ConnectorError> {
        self.take(1).await?;
        self.inner.list_groups().await
    }

    async fn ensure_group(&self, group: &PropertyGroup) -> Result<EnsureOutcome, ConnectorError> {
        self.take(2).await?;
        self.inner.ensure_group(group).await
    }

    async fn ensure_property(
        &self,
        property: &PropertyDef,
    ) -> Result<EnsureOutcome, ConnectorError> {
        self.take(2).await?;
        self.inner.ensure_property(property).await
    }

    // HubSpot's set-up is a list, and when something is missing a capacity check, a
    // group create and one batch create: four at most.
    async fn ensure_properties(
        &self,
        group: &PropertyGroup,
        wanted: &[PropertyDef],
    ) -> Result<EnsuredProperties, ConnectorError> {
        self.take(4).await?;
        self.inner.ensure_properties(group, wanted).await
    }

    async fn access_facts(&self) -> Result<firmo_connect::crm::AccessFacts, ConnectorError> {
        self.take(2).await?;
        self.inner.access_facts().await
    }

    async fn property_capacity(&self) -> Result<Option<PropertyCapacity>, ConnectorError> {
        self.take(1).await?;
        self.inner.property_capacity().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_keeps_a_window_under_the_limit_with_headroom() {
        let (burst, rate) = PortalLimit::per_10s(100).bucket();
        // burst + rate × window ≤ limit, even for a window 10 % longer than the limit's.
        assert!(burst + rate * 11_000.0 <= 100.0 + 1e-9, "{burst} {rate}");
        assert!(rate * 10_000.0 > 80.0, "not needlessly slow: {rate}");
    }

    #[tokio::test]
    async fn workers_drawing_from_one_bucket_are_spaced_by_its_rate() {
        let Some(url) = crate::test_db::url().await else {
            return;
        };
        let a = Fleet::connect(&url).await.unwrap();
        let b = Fleet::connect(&url).await.unwrap();
        let limit = PortalLimit {
            requests: 11,
            interval: Duration::from_secs(1),
        };
        let (_, rate) = limit.bucket();
        let spacing_ms = 1.0 / rate;
        // Two connections (two workers) take 6 tokens each: the first is free, every
        // other one books a turn one spacing after the previous, whoever asks.
        let mut waits = Vec::new();
        for i in 0..12 {
            let fleet = if i % 2 == 0 { &a } else { &b };
            waits.push(fleet.take_tokens("portal x", 1, limit).await.unwrap());
        }
        assert_eq!(waits[0], Duration::ZERO);
        let last = waits[11].as_secs_f64() * 1000.0;
        // 11 turns booked after the free one; the statements themselves took some of it.
        assert!(last <= 11.0 * spacing_ms + 1.0, "{last} vs {spacing_ms}");
        assert!(last >= 11.0 * spacing_ms - 500.0, "{last} vs {spacing_ms}");
        // Another portal's bucket is its own.
        assert_eq!(
            a.take_tokens("portal y", 1, limit).await.unwrap(),
            Duration::ZERO
        );
    }
}
