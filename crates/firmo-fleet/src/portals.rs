//! The portal registry: what a worker needs to sync a portal, by the name the operator
//! gave it. Secrets stay out: a portal names the environment variable holding its token.

use crate::{Fleet, FleetError, schema::NOW_MS};

/// A portal to register.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPortal {
    pub name: String,
    /// The CRM's registry name (`hubspot`).
    pub crm: String,
    /// The environment variable that holds the portal's token on every worker.
    pub token_env: String,
    /// The portal's `firmo.toml`, as the workers see the path; `None`: the defaults.
    pub config_path: Option<String>,
    /// A sandbox serving this portal (its CRM and providers), instead of HubSpot.
    pub sandbox_url: Option<String>,
    /// How often a sync is due, in milliseconds.
    pub every_ms: i64,
    /// Credits this portal may spend in a calendar month (UTC); `None`: no limit.
    pub monthly_credits: Option<f64>,
}

/// A registered portal.
#[derive(Debug, Clone, PartialEq)]
pub struct Portal {
    pub name: String,
    pub crm: String,
    pub token_env: String,
    pub config_path: Option<String>,
    pub sandbox_url: Option<String>,
    pub every_ms: i64,
    pub monthly_credits: Option<f64>,
    /// The CRM's key for the portal, once a run has learnt it.
    pub account_key: Option<String>,
    pub added_at: i64,
}

const COLUMNS: &str = "name, crm, token_env, config_path, sandbox_url, every_ms, \
                       monthly_credits, account_key, added_at";

fn portal(row: &tokio_postgres::Row) -> Portal {
    Portal {
        name: row.get(0),
        crm: row.get(1),
        token_env: row.get(2),
        config_path: row.get(3),
        sandbox_url: row.get(4),
        every_ms: row.get(5),
        monthly_credits: row.get(6),
        account_key: row.get(7),
        added_at: row.get(8),
    }
}

/// Checks a portal name: it appears in commands, logs and lock holders, so it is kept to
/// letters, digits, `.`, `_` and `-`.
fn check_name(name: &str) -> Result<(), FleetError> {
    let bad = |why| {
        Err(FleetError::BadName {
            name: name.to_owned(),
            why,
        })
    };
    if name.is_empty() || name.len() > 64 {
        return bad("must be 1 to 64 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return bad("only letters, digits, `.`, `_` and `-`");
    }
    Ok(())
}

/// `7d`, `12h`, `30m`, `90s` (a whole number and a unit) as milliseconds.
pub fn parse_every(value: &str) -> Result<i64, FleetError> {
    let bad = |why| FleetError::BadInterval {
        value: value.to_owned(),
        why,
    };
    let value_trim = value.trim();
    let split = value_trim
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| bad("needs a unit: d, h, m or s (e.g. 7d)"))?;
    let (number, unit) = value_trim.split_at(split);
    let number: i64 = number
        .parse()
        .map_err(|_| bad("starts with a whole number (e.g. 7d)"))?;
    let unit_ms: i64 = match unit {
        "d" => 86_400_000,
        "h" => 3_600_000,
        "m" => 60_000,
        "s" => 1_000,
        _ => return Err(bad("the unit is d, h, m or s")),
    };
    match number.checked_mul(unit_ms) {
        Some(ms) if ms > 0 => Ok(ms),
        Some(_) => Err(bad("must be longer than zero")),
        None => Err(bad("is too long")),
    }
}

impl Fleet {
    pub async fn add_portal(&self, new: &NewPortal) -> Result<(), FleetError> {
        check_name(&new.name)?;
        let added = self
            .client()
            .execute(
                &format!(
                    "INSERT INTO fleet_portals (name, crm, token_env, config_path, sandbox_url, \
                     every_ms, monthly_credits, added_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, {NOW_MS}) ON CONFLICT (name) DO NOTHING"
                ),
                &[
                    &new.name,
                    &new.crm,
                    &new.token_env,
                    &new.config_path,
                    &new.sandbox_url,
                    &new.every_ms,
                    &new.monthly_credits,
                ],
            )
            .await
            .map_err(self.db("adding a portal"))?;
        if added == 0 {
            return Err(FleetError::PortalExists(new.name.clone()));
        }
        Ok(())
    }

    /// Every portal, by name.
    pub async fn portals(&self) -> Result<Vec<Portal>, FleetError> {
        let rows = self
            .client()
            .query(
                &format!("SELECT {COLUMNS} FROM fleet_portals ORDER BY name COLLATE \"C\""),
                &[],
            )
            .await
            .map_err(self.db("listing portals"))?;
        Ok(rows.iter().map(portal).collect())
    }

    pub async fn portal(&self, name: &str) -> Result<Portal, FleetError> {
        let row = self
            .client()
            .query_opt(
                &format!("SELECT {COLUMNS} FROM fleet_portals WHERE name = $1"),
                &[&name],
            )
            .await
            .map_err(self.db("reading a portal"))?;
        row.as_ref()
            .map(portal)
            .ok_or_else(|| FleetError::UnknownPortal(name.to_owned()))
    }

    /// Removes a portal and its job history; its runs, cache and journal stay in the
    /// state (they are the store's). A job running for it finishes on its worker.
    pub async fn remove_portal(&self, name: &str) -> Result<(), FleetError> {
        let removed = self
            .client()
            .execute("DELETE FROM fleet_portals WHERE name = $1", &[&name])
            .await
            .map_err(self.db("removing a portal"))?;
        if removed == 0 {
            return Err(FleetError::UnknownPortal(name.to_owned()));
        }
        Ok(())
    }

    /// Records the CRM's key for the portal (learnt by a run).
    pub async fn set_account_key(&self, name: &str, key: &str) -> Result<(), FleetError> {
        self.client()
            .execute(
                "UPDATE fleet_portals SET account_key = $2 WHERE name = $1",
                &[&name, &key],
            )
            .await
            .map_err(self.db("recording a portal's account key"))?;
        Ok(())
    }

    /// Sets (or with `None` lifts) the fleet's monthly credit budget, over every portal.
    pub async fn set_fleet_budget(&self, monthly_credits: Option<f64>) -> Result<(), FleetError> {
        self.client()
            .execute(
                "INSERT INTO fleet_budget (one, monthly_credits) VALUES (true, $1) \
                 ON CONFLICT (one) DO UPDATE SET monthly_credits = excluded.monthly_credits",
                &[&monthly_credits],
            )
            .await
            .map_err(self.db("setting the fleet budget"))?;
        Ok(())
    }

    pub async fn fleet_budget(&self) -> Result<Option<f64>, FleetError> {
        let row = self
            .client()
            .query_opt("SELECT monthly_credits FROM fleet_budget", &[])
            .await
            .map_err(self.db("reading the fleet budget"))?;
        Ok(row.and_then(|r| r.get(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_with_their_unit() {
        assert_eq!(parse_every("7d").unwrap(), 7 * 86_400_000);
        assert_eq!(parse_every("12h").unwrap(), 12 * 3_600_000);
        assert_eq!(parse_every("90s").unwrap(), 90_000);
        for bad in ["7", "d", "0d", "7w", "-1d", "99999999999999999d"] {
            let e = parse_every(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn names_are_kept_to_a_safe_alphabet() {
        check_name("acme-eu_2.prod").unwrap();
        for bad in ["", "a b", "a/b", "ä", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_read_only_listing_creates_nothing_and_shows_the_learnt_keys() {
        let Some(url) = crate::test_db::url().await else {
            return;
        };
        // No fleet tables yet: none listed, and none created by asking.
        assert!(crate::registered_portals(&url).await.unwrap().is_empty());
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        let created: bool = client
            .query_one("SELECT to_regclass('fleet_schema') IS NOT NULL", &[])
            .await
            .unwrap()
            .get(0);
        assert!(!created, "a read-only listing migrates nothing");
        let fleet = Fleet::connect(&url).await.unwrap();
        for name in ["b", "a"] {
            fleet
                .add_portal(&NewPortal {
                    name: name.into(),
                    crm: "hubspot".into(),
                    token_env: "T".into(),
                    config_path: None,
                    sandbox_url: None,
                    every_ms: 1000,
                    monthly_credits: None,
                })
                .await
                .unwrap();
        }
        fleet.set_account_key("b", "hubspot:7").await.unwrap();
        assert_eq!(
            crate::registered_portals(&url).await.unwrap(),
            [
                ("a".to_owned(), None),
                ("b".to_owned(), Some("hubspot:7".to_owned()))
            ]
        );
        let err = crate::registered_portals("state.db").await.unwrap_err();
        assert!(matches!(err, FleetError::NotPostgres { .. }), "{err}");
    }

    #[tokio::test]
    async fn portals_are_added_listed_and_removed_by_name() {
        let Some(url) = crate::test_db::url().await else {
            return;
        };
        let fleet = Fleet::connect(&url).await.unwrap();
        let new = |name: &str| NewPortal {
            name: name.into(),
            crm: "hubspot".into(),
            token_env: format!("{}_TOKEN", name.to_uppercase()),
            config_path: None,
            sandbox_url: None,
            every_ms: 86_400_000,
            monthly_credits: Some(100.0),
        };
        fleet.add_portal(&new("beta")).await.unwrap();
        fleet.add_portal(&new("alpha")).await.unwrap();
        let again = fleet.add_portal(&new("alpha")).await.unwrap_err();
        assert!(
            matches!(again, FleetError::PortalExists(ref n) if n == "alpha"),
            "{again}"
        );
        let names: Vec<String> = fleet
            .portals()
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["alpha", "beta"]);
        assert_eq!(fleet.portal("beta").await.unwrap().token_env, "BETA_TOKEN");
        fleet.remove_portal("alpha").await.unwrap();
        assert!(matches!(
            fleet.remove_portal("alpha").await.unwrap_err(),
            FleetError::UnknownPortal(_)
        ));
        // A second connection migrates nothing and sees the same portals.
        let other = Fleet::connect(&url).await.unwrap();
        assert_eq!(other.portals().await.unwrap().len(), 1);
    }
}
