//! Deterministic synthetic company data, keyed by the normalized domain.
//!
//! Every domain gets one "true" [`Profile`] (industry, headcount, revenue, technologies,
//! funding history, LinkedIn signals) and each provider emulator answers from its own
//! view of that profile. The same domain and reference date always give the same data:
//! every choice comes from an FNV-1a hash of the domain (with a per-purpose salt) fed to
//! a SplitMix64 generator, never from `std`'s randomly seeded hasher.
//!
//! Dates (funding rounds, technology detection, executive changes) are placed relative
//! to a reference date `today` (the emulator settings carry it), so tests pass a fixed
//! date and the demo sandbox uses the real one.
//!
//! # Distribution over ordinary domains
//!
//! Each quirk is drawn from its own hash, so they are independent of each other:
//!
//! | quirk | share | what the emulators do |
//! |---|---|---|
//! | missing at one source | 10 % (2.5 % each) | that source answers "not found": Clearbit 404, BuiltWith an `Errors[]` entry in a 200, Crunchbase an empty search, Clay a callback row with empty enrichment columns |
//! | pending at Clearbit | 5 % (never when Clearbit is the missing source) | Clearbit answers 202 `queued` until `clearbit_pending_after` has passed since the first call |
//! | sources disagree | 10 % | half: Clearbit's headcount is 1.4–2.0× LinkedIn's (> 25 % apart); half: Clay's industry is a different label than Clearbit's |
//! | junk values | 5 % | revenue as `10M–50M` (no `$`, en dash), odd-cased and duplicated technology names, Clay numbers as strings (`"1,250"`, `"$12.5M"`, `"12.5%"`) |
//! | no funding rounds | 8 % | Crunchbase finds the organization but it has no rounds; Clay's funding columns are empty |
//! | Clay without firmographics | 25 % | Clay's row has `industry` and `employee_count` empty (its LinkedIn columns are kept): where a waterfall asks Clearbit |
//! | Clay without funding | 40 % | Clay's row has `funding_stage`, `last_funding_date` and `last_funding_amount_usd` empty although Crunchbase may know the rounds: where a waterfall asks Crunchbase |
//!
//! So of ordinary domains Clay's row carries industry and headcount for about 73 %
//! (97.5 % found × 75 %) and funding for about 54 % (97.5 % × 92 % funded × 60 %); both
//! shares are fixed by the domain's hash, so the same seed's demo companies always split
//! the same way (`Profile::clay_lacks` says which columns a row leaves empty).
//!
//! Independently: 45 % host on AWS, 20 % on Google Cloud, 15 % on Azure, 20 % on none of
//! them; 15 % also carry a former cloud provider that BuiltWith reports as no longer live
//! (`LastDetected` ≥ 180 days before `today`), and about a fifth of the other
//! technologies BuiltWith reports are no longer live either.
//!
//! # Engineering leadership (the people behind `exec_change`)
//!
//! Each domain's profile also names its engineering leader, if LinkedIn lists one
//! ([`engineering_lead`], drawn from its own hash), and everything about people follows
//! from it: Clay's company table lists them among the `recent_executive_changes` when they
//! started within [`LINKEDIN_CHANGES_DAYS`], and the sandbox's CRM contacts and Clay people
//! table ([`super::people::people_at`]) have them as a person with that title and start
//! date. So the company table and the people agree on `exec_change`.
//!
//! | leader | share | started before `today` | `exec_change` |
//! |---|---|---|---|
//! | a CTO or VP of Engineering, recently | 25 % | 5–80 days | yes |
//! | a CTO or VP of Engineering, long ago | 25 % | 150–1,400 days | no |
//! | a Head of Engineering, recently | 12.5 % | 10–80 days | no (not a CTO or VP) |
//! | none listed | 37.5 % | | no |
//!
//! No start date falls in 81–149 days, so any `exec_change` window in that range (the
//! default is 90) gives every company the same answer. The other executive changes
//! (sales, finance, marketing, operations) are drawn independently and never count.
//!
//! # Reserved domains
//!
//! Fixed scenarios for tests (see [`RESERVED_DOMAINS`]); each is otherwise an ordinary
//! profile with no other quirk:
//!
//! | domain | scenario |
//! |---|---|
//! | `complete.example` | found everywhere, no quirk, every field present; recent funding, AWS, fast growth and a new CTO (Dana Whitfield, 30 days) so every derived signal is on |
//! | `notfound.example` | missing at every source |
//! | `pending.example` | Clearbit 202 on the first call |
//! | `disagree.example` | Clearbit headcount 1.6× LinkedIn's |
//! | `industry-disagree.example` | Clay's industry wording differs from Clearbit's |
//! | `junk.example` | junk values |
//! | `nocredits.example` | Clearbit 402 and BuiltWith "out of credits" for this lookup |
//! | `missing-clearbit.example`, `missing-builtwith.example`, `missing-crunchbase.example`, `missing-clay.example` | missing at that one source |
//! | `unfunded.example` | no funding rounds |

use std::fmt;
use std::ops::RangeInclusive;

use firmo_core::Date;
use firmo_core::field::REVENUE_BUCKETS;

use super::people::Persona;

/// The four providers the emulators speak for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    Clearbit,
    BuiltWith,
    Crunchbase,
    Clay,
}

impl Provider {
    pub const ALL: [Provider; 4] = [
        Provider::Clearbit,
        Provider::BuiltWith,
        Provider::Crunchbase,
        Provider::Clay,
    ];
}

/// Domains with a fixed scenario (see the module docs).
pub const RESERVED_DOMAINS: &[&str] = &[
    "complete.example",
    "notfound.example",
    "pending.example",
    "disagree.example",
    "industry-disagree.example",
    "junk.example",
    "nocredits.example",
    "missing-clearbit.example",
    "missing-builtwith.example",
    "missing-crunchbase.example",
    "missing-clay.example",
    "unfunded.example",
];

/// How the sources disagree about a company.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disagreement {
    /// Clearbit's headcount is more than 25 % away from LinkedIn's.
    Headcount,
    /// Clay names the industry differently from Clearbit.
    IndustryWording,
}

/// The per-source oddities of one profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Quirks {
    /// Sources that do not know the company.
    pub missing_at: Vec<Provider>,
    /// Clearbit answers 202 (queued) before it answers 200.
    pub clearbit_pending: bool,
    pub disagreement: Option<Disagreement>,
    /// Values arrive in messy forms a normalizer must clean.
    pub junk: bool,
    /// Clearbit and BuiltWith report the account out of credits for this lookup.
    pub out_of_credits: bool,
    /// Columns Clay's row leaves empty.
    pub clay_gaps: ClayGaps,
}

/// Which of its own columns Clay's row leaves empty (its enrichments found nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClayGaps {
    /// `industry` and `employee_count`.
    pub firmographics: bool,
    /// `funding_stage`, `last_funding_date`, `last_funding_amount_usd`.
    pub funding: bool,
}

/// A taxonomy entry: Clearbit's GICS-style category plus the LinkedIn-style labels Clay
/// uses.
#[derive(Debug, PartialEq, Eq)]
pub struct Industry {
    pub sector: &'static str,
    pub industry_group: &'static str,
    pub industry: &'static str,
    pub sub_industry: &'static str,
    pub sic_code: &'static str,
    pub naics_code: &'static str,
    /// Clay's (LinkedIn's) name for the industry.
    pub clay_label: &'static str,
    /// Another wording, used when Clay and Clearbit disagree.
    pub clay_alt_label: &'static str,
    /// BuiltWith's `Meta.Vertical`.
    pub vertical: &'static str,
    pub tags: &'static [&'static str],
}

/// Which hyperscaler a technology belongs to, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    Aws,
    Gcp,
    Azure,
}

/// A catalogue technology.
#[derive(Debug, PartialEq, Eq)]
pub struct TechDef {
    /// BuiltWith's display name, also firmo's canonical name.
    pub name: &'static str,
    /// Clearbit's `tech[]` slug.
    pub slug: &'static str,
    /// BuiltWith's `Tag` (technology group).
    pub tag: &'static str,
    pub categories: &'static [&'static str],
    /// Clearbit's `techCategories[]` entry.
    pub clearbit_category: &'static str,
    pub link: &'static str,
    pub description: &'static str,
    pub premium: bool,
    pub cloud: Option<Cloud>,
}

/// One technology as detected on the company's site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Technology {
    pub def: &'static TechDef,
    pub first_detected: Date,
    pub last_detected: Date,
    /// Seen in the latest index (`last_detected` within 30 days of `today`).
    pub live: bool,
}

/// An investor in a funding round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Investor {
    pub name: &'static str,
    pub permalink: String,
    pub uuid: String,
}

/// A funding round as Crunchbase records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingRound {
    pub uuid: String,
    /// Crunchbase's `investment_type` (`seed`, `series_a`, `debt_financing`, …).
    pub investment_type: &'static str,
    pub announced_on: Date,
    /// `None` when the amount was not disclosed.
    pub money_raised: Option<Money>,
    pub investors: Vec<Investor>,
}

/// An amount in a currency with its USD equivalent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    pub value: u64,
    pub currency: &'static str,
    pub value_usd: u64,
}

/// A recent change in the leadership team (LinkedIn data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecChange {
    pub name: String,
    pub title: &'static str,
    pub start_date: Date,
}

/// Days before `today` a recent engineering leader started (see the module docs).
pub const RECENT_LEAD_DAYS: RangeInclusive<i64> = 5..=80;
/// Days before `today` a long-settled engineering leader started.
pub const SETTLED_LEAD_DAYS: RangeInclusive<i64> = 150..=1_400;
/// How far back Clay's `recent_executive_changes` column reaches.
pub const LINKEDIN_CHANGES_DAYS: i64 = 400;

/// A company's engineering leader as LinkedIn lists them: one person the company table
/// and the people table both speak of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineeringLead {
    pub person: Persona,
    /// A CTO or VP of Engineering who started within [`RECENT_LEAD_DAYS`]: the change the
    /// `exec_change` signal is about.
    pub recent_exec_change: bool,
}

impl EngineeringLead {
    /// The change as Clay's company table lists it, if it is recent enough to be listed.
    pub fn change(&self, today: Date) -> Option<ExecChange> {
        let p = &self.person;
        (p.days_in_role <= LINKEDIN_CHANGES_DAYS).then(|| ExecChange {
            name: format!("{} {}", p.first, p.last),
            title: p.title,
            start_date: shift(today, -p.days_in_role),
        })
    }
}

/// LinkedIn-derived signals (delivered through Clay).
#[derive(Debug, Clone, PartialEq)]
pub struct LinkedIn {
    pub handle: String,
    pub employee_count: u32,
    /// Headcount change over six months, in percent, one decimal.
    pub growth_6mo_pct: f64,
    pub open_engineering_roles: u32,
    pub job_postings: u32,
    /// Newest first; the engineering leader's among them when recent enough.
    pub exec_changes: Vec<ExecChange>,
    pub engineering_lead: Option<EngineeringLead>,
}

/// Where the company is headquartered.
#[derive(Debug, PartialEq)]
pub struct Location {
    pub city: &'static str,
    pub state: Option<&'static str>,
    pub state_code: Option<&'static str>,
    pub country: &'static str,
    pub country_code: &'static str,
    pub postal_code: &'static str,
    pub lat: f64,
    pub lng: f64,
    pub time_zone: &'static str,
    pub utc_offset: i32,
}

/// The "true" company behind a domain, and each source's view of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The normalized domain the profile is keyed by.
    pub domain: String,
    pub name: String,
    pub industry: &'static Industry,
    pub location: &'static Location,
    pub founded_year: i32,
    /// The company's true headcount (Clay's own figure).
    pub headcount: u32,
    pub annual_revenue_usd: u64,
    /// Everything BuiltWith has seen, live or not.
    pub technologies: Vec<Technology>,
    /// Oldest first.
    pub funding_rounds: Vec<FundingRound>,
    pub linkedin: LinkedIn,
    pub quirks: Quirks,
}

impl Profile {
    /// Whether Clay's row leaves `column` empty (see the module docs' shares). Only
    /// Clay's own firmographic and funding columns can be empty this way.
    pub fn clay_lacks(&self, column: &str) -> bool {
        match column {
            "industry" | "employee_count" => self.quirks.clay_gaps.firmographics,
            "funding_stage" | "last_funding_date" | "last_funding_amount_usd" => {
                self.quirks.clay_gaps.funding
            }
            _ => false,
        }
    }

    /// Whether `provider` knows this company.
    pub fn found_at(&self, provider: Provider) -> bool {
        !self.quirks.missing_at.contains(&provider)
    }

    /// The headcount Clearbit reports (`metrics.employees`).
    pub fn clearbit_headcount(&self) -> u32 {
        match self.quirks.disagreement {
            Some(Disagreement::Headcount) => {
                let factor = 1.4 + (hash(&self.domain, "cb-headcount-factor") % 61) as f64 / 100.0;
                let factor = if self.domain == "disagree.example" {
                    1.6
                } else {
                    factor
                };
                (f64::from(self.linkedin.employee_count) * factor).round() as u32
            }
            _ => self.headcount,
        }
    }

    /// Clearbit's `metrics.employeesRange` for [`Profile::clearbit_headcount`].
    pub fn clearbit_employees_range(&self) -> &'static str {
        employees_range(self.clearbit_headcount())
    }

    /// The industry wording Clay's row carries.
    pub fn clay_industry(&self) -> &'static str {
        match self.quirks.disagreement {
            Some(Disagreement::IndustryWording) => self.industry.clay_alt_label,
            _ => self.industry.clay_label,
        }
    }

    /// The canonical revenue bucket value (`10m_50m`), as firmo-core names it.
    pub fn revenue_bucket(&self) -> &'static str {
        REVENUE_BUCKETS[revenue_bucket_index(self.annual_revenue_usd)].value
    }

    /// Clearbit's `metrics.estimatedAnnualRevenue` as the emulator sends it (`$10M-$50M`,
    /// or the junk spelling `10M–50M`).
    pub fn clearbit_revenue_label(&self) -> String {
        let label = REVENUE_BUCKETS[revenue_bucket_index(self.annual_revenue_usd)].label;
        if self.quirks.junk {
            label.replace('$', "").replace('-', "\u{2013}")
        } else {
            label.to_owned()
        }
    }

    /// Technologies seen in the latest index.
    pub fn live_technologies(&self) -> impl Iterator<Item = &Technology> {
        self.technologies.iter().filter(|t| t.live)
    }

    /// Canonical names of the live technologies, sorted.
    pub fn live_tech_names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.live_technologies().map(|t| t.def.name).collect();
        names.sort_unstable();
        names
    }

    /// The newest funding round.
    pub fn latest_round(&self) -> Option<&FundingRound> {
        self.funding_rounds.last()
    }

    /// Sum of disclosed amounts, in USD.
    pub fn funding_total_usd(&self) -> u64 {
        self.funding_rounds
            .iter()
            .filter_map(|r| r.money_raised.map(|m| m.value_usd))
            .sum()
    }

    /// Whether any live technology is an AWS, Google Cloud or Azure service.
    pub fn cloud_native(&self) -> bool {
        self.live_technologies().any(|t| t.def.cloud.is_some())
    }

    /// Crunchbase's organization UUID.
    pub fn crunchbase_uuid(&self) -> String {
        uuid_from(&self.domain, "cb-org")
    }

    /// Crunchbase's organization permalink (`acme-analytics-3f2a`).
    pub fn crunchbase_permalink(&self) -> String {
        let uuid = self.crunchbase_uuid();
        format!(
            "{}-{}",
            slug(first_label(&self.domain)),
            &uuid[uuid.len() - 4..]
        )
    }
}

/// A domain in the form the emulators key data by: trimmed, lowercase, without scheme,
/// user, port, path, `www.` or trailing dot. `None` when what is left cannot be a public
/// domain name (no dot, empty labels, characters outside `[a-z0-9-]`, an all-numeric top
/// label).
pub fn normalize_domain(input: &str) -> Option<String> {
    let mut s = input.trim().to_ascii_lowercase();
    if let Some(i) = s.find("://") {
        s.drain(..i + 3);
    }
    if let Some(i) = s.find(['/', '?', '#']) {
        s.truncate(i);
    }
    if let Some(i) = s.rfind('@') {
        s.drain(..=i);
    }
    if let Some(i) = s.find(':') {
        s.truncate(i);
    }
    let s = s.trim_end_matches('.');
    let s = s
        .strip_prefix("www.")
        .filter(|r| r.contains('.'))
        .unwrap_or(s);
    let labels: Vec<&str> = s.split('.').collect();
    let valid = labels.len() >= 2
        && s.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        && !labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()));
    valid.then(|| s.to_owned())
}

/// The profile of `domain` (normalized first; an unparseable domain is hashed as given),
/// with dates placed relative to `today`.
pub fn profile(domain: &str, today: Date) -> Profile {
    let domain = normalize_domain(domain).unwrap_or_else(|| domain.trim().to_ascii_lowercase());
    let mut rng = Rng::new(&domain, "profile");
    let quirks = quirks(&domain);

    let industry = &INDUSTRIES[rng.below(INDUSTRIES.len() as u64) as usize];
    let location = &LOCATIONS[rng.below(LOCATIONS.len() as u64) as usize];
    let age_years = 2 + rng.below(24) as i32;
    let founded_year = today.year() - age_years;

    // Log-uniform-ish headcount between about 8 and 20,000.
    let exponent = 0.9 + rng.unit() * 3.4;
    let headcount = (10f64.powf(exponent)).round().max(3.0) as u32;
    let revenue_per_head = 60_000 + rng.below(240_000);
    let annual_revenue_usd = u64::from(headcount) * revenue_per_head;

    let mut technologies = technologies(&domain, today, founded_year);
    let mut funding_rounds = if quirks_say_unfunded(&domain) {
        Vec::new()
    } else {
        funding_rounds(&domain, today, age_years, headcount)
    };
    let mut linkedin = linkedin(&domain, today, headcount);

    if domain == "complete.example" {
        make_complete(
            &mut technologies,
            &mut funding_rounds,
            &mut linkedin,
            today,
            &domain,
        );
    }

    Profile {
        name: company_name(&domain),
        domain,
        industry,
        location,
        founded_year,
        headcount,
        annual_revenue_usd,
        technologies,
        funding_rounds,
        linkedin,
        quirks,
    }
}

fn quirks_say_unfunded(domain: &str) -> bool {
    match domain {
        "unfunded.example" => true,
        d if RESERVED_DOMAINS.contains(&d) => false,
        d => hash(d, "unfunded") % 100 < 8,
    }
}

fn quirks(domain: &str) -> Quirks {
    let reserved = |missing_at: Vec<Provider>| Quirks {
        missing_at,
        ..Quirks::default()
    };
    match domain {
        "complete.example" | "unfunded.example" => Quirks::default(),
        "notfound.example" => reserved(Provider::ALL.to_vec()),
        "pending.example" => Quirks {
            clearbit_pending: true,
            ..Quirks::default()
        },
        "disagree.example" => Quirks {
            disagreement: Some(Disagreement::Headcount),
            ..Quirks::default()
        },
        "industry-disagree.example" => Quirks {
            disagreement: Some(Disagreement::IndustryWording),
            ..Quirks::default()
        },
        "junk.example" => Quirks {
            junk: true,
            ..Quirks::default()
        },
        "nocredits.example" => Quirks {
            out_of_credits: true,
            ..Quirks::default()
        },
        "missing-clearbit.example" => reserved(vec![Provider::Clearbit]),
        "missing-builtwith.example" => reserved(vec![Provider::BuiltWith]),
        "missing-crunchbase.example" => reserved(vec![Provider::Crunchbase]),
        "missing-clay.example" => reserved(vec![Provider::Clay]),
        d => {
            let missing = hash(d, "missing") % 1000;
            let missing_at = if missing < 100 {
                vec![Provider::ALL[(missing % 4) as usize]]
            } else {
                Vec::new()
            };
            let clearbit_pending =
                hash(d, "pending") % 100 < 5 && !missing_at.contains(&Provider::Clearbit);
            let disagree = hash(d, "disagree") % 1000;
            let disagreement = match disagree {
                0..50 => Some(Disagreement::Headcount),
                50..100 => Some(Disagreement::IndustryWording),
                _ => None,
            };
            let junk = hash(d, "junk") % 100 < 5;
            Quirks {
                missing_at,
                clearbit_pending,
                disagreement,
                junk,
                out_of_credits: false,
                clay_gaps: ClayGaps {
                    firmographics: hash(d, "clay-firmographics") % 100 < 25,
                    funding: hash(d, "clay-funding") % 100 < 40,
                },
            }
        }
    }
}

fn technologies(domain: &str, today: Date, founded_year: i32) -> Vec<Technology> {
    let mut rng = Rng::new(domain, "tech");
    let founded = Date::new(founded_year, 1, 1).unwrap_or(today);
    let since_founding = founded.days_until(today).max(60);
    let mut picked: Vec<(&'static TechDef, bool)> = Vec::new();

    let cloud = match rng.below(100) {
        0..45 => Some(Cloud::Aws),
        45..65 => Some(Cloud::Gcp),
        65..80 => Some(Cloud::Azure),
        _ => None,
    };
    let family = |c: Cloud| TECHS.iter().filter(move |t| t.cloud == Some(c));
    if let Some(c) = cloud {
        let members: Vec<&'static TechDef> = family(c).collect();
        let n = 1 + rng.below(members.len() as u64) as usize;
        for def in members.into_iter().take(n) {
            picked.push((def, true));
        }
        // A former provider the company has since moved off.
        if rng.below(100) < 15 {
            let former = [Cloud::Aws, Cloud::Gcp, Cloud::Azure]
                .into_iter()
                .filter(|f| *f != c)
                .nth(rng.below(2) as usize);
            if let Some(def) = former.and_then(|f| family(f).next()) {
                picked.push((def, false));
            }
        }
    }
    let others: Vec<&'static TechDef> = TECHS.iter().filter(|t| t.cloud.is_none()).collect();
    let count = 6 + rng.below(9) as usize;
    let mut pool = others;
    for _ in 0..count.min(pool.len()) {
        let def = pool.swap_remove(rng.below(pool.len() as u64) as usize);
        picked.push((def, rng.below(100) >= 20));
    }

    picked
        .into_iter()
        .map(|(def, live)| {
            let last_ago = if live {
                1 + rng.below(25)
            } else {
                180 + rng.below(900)
            };
            let last_detected = shift(today, -(last_ago as i64));
            let span = (since_founding - last_ago as i64).max(30);
            let first_detected = shift(last_detected, -(30 + rng.below(span as u64) as i64));
            Technology {
                def,
                first_detected,
                last_detected,
                live,
            }
        })
        .collect()
}

fn funding_rounds(domain: &str, today: Date, age_years: i32, headcount: u32) -> Vec<FundingRound> {
    let mut rng = Rng::new(domain, "funding");
    // Bigger, older companies have gone through more rounds.
    let by_size = match headcount {
        0..30 => 1,
        30..150 => 2,
        150..600 => 3,
        600..3000 => 4,
        _ => 5,
    };
    let count = (by_size + rng.below(2) as usize)
        .min(1 + age_years as usize / 2)
        .max(1);
    let ladder: &[&'static str] = &[
        "seed", "series_a", "series_b", "series_c", "series_d", "series_e", "series_f",
    ];
    let mut types: Vec<&'static str> = Vec::with_capacity(count + 2);
    // A quarter start with a pre-seed or angel round before the seed.
    if rng.below(100) < 25 {
        types.push(if rng.below(2) == 0 {
            "pre_seed"
        } else {
            "angel"
        });
    }
    types.extend(ladder.iter().take(count));
    // Occasionally the latest round is not an equity series.
    match rng.below(100) {
        0..5 => types.push("debt_financing"),
        5..8 => types.push("series_unknown"),
        8..10 if headcount > 1000 => types.push("private_equity"),
        10..12 => types.push("convertible_note"),
        _ => {}
    }

    // The latest round lies 20..900 days back; earlier ones 200..700 days apart.
    let mut date = shift(today, -(20 + rng.below(880) as i64));
    let mut rounds: Vec<FundingRound> = Vec::with_capacity(types.len());
    for (i, kind) in types.iter().enumerate().rev() {
        let base: u64 = match *kind {
            "pre_seed" | "angel" => 300_000,
            "seed" | "convertible_note" => 1_500_000,
            "series_a" => 8_000_000,
            "series_b" => 25_000_000,
            "series_c" => 50_000_000,
            "series_d" => 90_000_000,
            "series_e" | "private_equity" => 150_000_000,
            "series_f" => 250_000_000,
            _ => 10_000_000,
        };
        let usd = base / 2 + rng.below(base);
        let usd = usd / 10_000 * 10_000;
        let money_raised = if rng.below(100) < 10 {
            None
        } else {
            let (currency, rate_milli) = match rng.below(100) {
                0..6 => ("EUR", 1_080),
                6..10 => ("GBP", 1_270),
                _ => ("USD", 1_000),
            };
            let value = usd * 1_000 / rate_milli / 10_000 * 10_000;
            Some(Money {
                value,
                currency,
                value_usd: value * rate_milli / 1_000,
            })
        };
        let investor_count = 1 + rng.below(4) as usize;
        let mut pool: Vec<&'static str> = INVESTORS.to_vec();
        let investors = (0..investor_count)
            .map(|_| {
                let name = pool.swap_remove(rng.below(pool.len() as u64) as usize);
                Investor {
                    name,
                    permalink: slug(name),
                    uuid: uuid_from(name, "cb-investor"),
                }
            })
            .collect();
        rounds.push(FundingRound {
            uuid: uuid_from(&format!("{domain}#{i}"), "cb-round"),
            investment_type: kind,
            announced_on: date,
            money_raised,
            investors,
        });
        date = shift(date, -(200 + rng.below(500) as i64));
    }
    rounds.reverse();
    rounds
}

fn linkedin(domain: &str, today: Date, headcount: u32) -> LinkedIn {
    let mut rng = Rng::new(domain, "linkedin");
    // LinkedIn counts members who list the company: close to, not equal to, the truth.
    let factor = 0.93 + rng.unit() * 0.12;
    let employee_count = ((f64::from(headcount) * factor).round() as u32).max(1);
    let growth_tenths = if rng.below(100) < 15 {
        200 + rng.below(300) as i64
    } else {
        -150 + rng.below(340) as i64
    };
    let growth_6mo_pct = growth_tenths as f64 / 10.0;
    let base = (f64::from(headcount) * 0.04 * (1.0 + growth_6mo_pct.max(0.0) / 25.0)) as u32;
    let open_engineering_roles = base + rng.below(3) as u32;
    let job_postings = open_engineering_roles * 2 + rng.below(6) as u32;
    let changes = match rng.below(100) {
        0..55 => 0,
        55..85 => 1,
        _ => 2,
    };
    // Outside engineering only: the engineering leader is the one below, whom the
    // people table knows too.
    let mut exec_changes: Vec<ExecChange> = (0..changes)
        .map(|_| ExecChange {
            name: person_name(&mut rng),
            title: EXEC_TITLES[rng.below(EXEC_TITLES.len() as u64) as usize],
            start_date: shift(today, -(5 + rng.below(400) as i64)),
        })
        .collect();
    let engineering_lead = engineering_lead(domain);
    exec_changes.extend(engineering_lead.and_then(|l| l.change(today)));
    exec_changes.sort_by_key(|c| std::cmp::Reverse(c.start_date));
    LinkedIn {
        handle: format!("company/{}", slug(first_label(domain))),
        employee_count,
        growth_6mo_pct,
        open_engineering_roles,
        job_postings,
        exec_changes,
        engineering_lead,
    }
}

/// The engineering leader LinkedIn lists at `domain` (normalized first), if any, drawn
/// from the domain's own hash with the shares of the module docs. Dates are days before
/// `today`, so who is recent does not depend on the date.
pub fn engineering_lead(domain: &str) -> Option<EngineeringLead> {
    let domain = normalize_domain(domain).unwrap_or_else(|| domain.trim().to_ascii_lowercase());
    if domain == "complete.example" {
        return Some(EngineeringLead {
            person: Persona::new("Dana", "Whitfield", "CTO", "c_suite", 30),
            recent_exec_change: true,
        });
    }
    let mut rng = Rng::new(&domain, "engineering-lead");
    let days = |rng: &mut Rng, range: RangeInclusive<i64>| {
        let span = (range.end() - range.start() + 1) as u64;
        range.start() + rng.below(span) as i64
    };
    let (title, seniority, days_in_role, recent) = match rng.below(8) {
        0 | 1 => {
            let (t, s) = LEAD_TITLES[rng.below(LEAD_TITLES.len() as u64) as usize];
            (t, s, days(&mut rng, RECENT_LEAD_DAYS), true)
        }
        2 | 3 => {
            let (t, s) = LEAD_TITLES[rng.below(LEAD_TITLES.len() as u64) as usize];
            (t, s, days(&mut rng, SETTLED_LEAD_DAYS), false)
        }
        4 => (
            "Head of Engineering",
            "head",
            days(&mut rng, 10..=80),
            false,
        ),
        _ => return None,
    };
    let first = LEAD_FIRST[rng.below(LEAD_FIRST.len() as u64) as usize];
    let last = LEAD_LAST[rng.below(LEAD_LAST.len() as u64) as usize];
    Some(EngineeringLead {
        person: Persona::new(first, last, title, seniority, days_in_role),
        recent_exec_change: recent,
    })
}

/// `complete.example` turns every derived signal on: funded 45 days ago, on AWS, growing
/// 24 % with open roles, and a CTO who started 30 days ago.
fn make_complete(
    technologies: &mut Vec<Technology>,
    rounds: &mut Vec<FundingRound>,
    linkedin: &mut LinkedIn,
    today: Date,
    domain: &str,
) {
    technologies.retain(|t| t.def.cloud.is_none());
    if let Some(ec2) = TECHS.iter().find(|t| t.slug == "aws_ec2") {
        technologies.push(Technology {
            def: ec2,
            first_detected: shift(today, -900),
            last_detected: shift(today, -2),
            live: true,
        });
    }
    let usd = 32_000_000;
    let latest = FundingRound {
        uuid: uuid_from(&format!("{domain}#latest"), "cb-round"),
        investment_type: "series_b",
        announced_on: shift(today, -45),
        money_raised: Some(Money {
            value: usd,
            currency: "USD",
            value_usd: usd,
        }),
        investors: vec![Investor {
            name: INVESTORS[0],
            permalink: slug(INVESTORS[0]),
            uuid: uuid_from(INVESTORS[0], "cb-investor"),
        }],
    };
    rounds.retain(|r| r.investment_type == "seed" || r.investment_type == "series_a");
    for (i, r) in rounds.iter_mut().enumerate() {
        r.announced_on = shift(today, -(1500 - 500 * i as i64));
    }
    rounds.push(latest);
    linkedin.growth_6mo_pct = 24.0;
    linkedin.open_engineering_roles = linkedin.open_engineering_roles.max(12);
    linkedin.job_postings = linkedin
        .job_postings
        .max(linkedin.open_engineering_roles + 8);
    // Only the new CTO: no other executive change muddies the scenario.
    linkedin.exec_changes = linkedin
        .engineering_lead
        .and_then(|l| l.change(today))
        .into_iter()
        .collect();
}

/// Clearbit's `employeesRange` bucket for a headcount.
pub fn employees_range(n: u32) -> &'static str {
    match n {
        0..=10 => "1-10",
        11..=50 => "11-50",
        51..=250 => "51-250",
        251..=1000 => "251-1K",
        1001..=5000 => "1K-5K",
        5001..=10_000 => "5K-10K",
        10_001..=50_000 => "10K-50K",
        50_001..=100_000 => "50K-100K",
        _ => "100K+",
    }
}

/// Crunchbase's `num_employees_enum` for a headcount.
pub fn crunchbase_employees_enum(n: u32) -> &'static str {
    match n {
        0..=10 => "c_00001_00010",
        11..=50 => "c_00011_00050",
        51..=100 => "c_00051_00100",
        101..=250 => "c_00101_00250",
        251..=500 => "c_00251_00500",
        501..=1000 => "c_00501_01000",
        1001..=5000 => "c_01001_05000",
        5001..=10_000 => "c_05001_10000",
        _ => "c_10001_max",
    }
}

fn revenue_bucket_index(usd: u64) -> usize {
    const M: u64 = 1_000_000;
    let bounds = [
        M,
        10 * M,
        50 * M,
        100 * M,
        250 * M,
        500 * M,
        1000 * M,
        10_000 * M,
    ];
    bounds.iter().position(|b| usd < *b).unwrap_or(bounds.len())
}

fn company_name(domain: &str) -> String {
    first_label(domain)
        .split(['-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn first_label(domain: &str) -> &str {
    domain.split('.').next().unwrap_or(domain)
}

/// Lowercase words joined by `-`.
pub(crate) fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

fn person_name(rng: &mut Rng) -> String {
    const FIRST: &[&str] = &[
        "Alex", "Priya", "Jordan", "Mei", "Samuel", "Ines", "Tomás", "Hana", "Olu", "Grace",
        "Viktor", "Leila",
    ];
    const LAST: &[&str] = &[
        "Okafor",
        "Lindqvist",
        "Moreau",
        "Tanaka",
        "Brennan",
        "Castillo",
        "Novak",
        "Haddad",
        "Ferreira",
        "Kowalski",
        "Osei",
        "Park",
    ];
    format!(
        "{} {}",
        FIRST[rng.below(FIRST.len() as u64) as usize],
        LAST[rng.below(LAST.len() as u64) as usize]
    )
}

/// `date` moved by `days` (negative: earlier).
pub(crate) fn shift(date: Date, days: i64) -> Date {
    Date::from_days_since_epoch(date.days_since_epoch() + days).unwrap_or(date)
}

/// FNV-1a (64-bit) of `salt`, a separator and `s`: stable across runs and platforms.
pub fn hash(s: &str, salt: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in salt.bytes().chain([0u8]).chain(s.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A version-4-shaped UUID derived from `s`.
pub(crate) fn uuid_from(s: &str, salt: &str) -> String {
    let mut rng = Rng::new(s, salt);
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// SplitMix64, seeded from the FNV-1a hash of a salted key.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(key: &str, salt: &str) -> Rng {
        Rng(hash(key, salt))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0; 0 gives 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl fmt::Debug for Rng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Rng")
    }
}

/// Executive changes outside engineering (the engineering leader is drawn apart).
const EXEC_TITLES: &[&str] = &[
    "Chief Revenue Officer",
    "VP Sales",
    "CFO",
    "VP Marketing",
    "COO",
];

/// Titles of a leader who counts for `exec_change`, with their seniority.
const LEAD_TITLES: &[(&str, &str)] = &[
    ("Chief Technology Officer", "c_suite"),
    ("CTO", "c_suite"),
    ("VP Engineering", "vp"),
    ("VP, Engineering", "vp"),
    ("VP of Engineering", "vp"),
];

// Engineering leaders' names: no first name is one of the other people's
// (`people::OTHERS`), so no two people at a company share an email.
const LEAD_FIRST: &[&str] = &[
    "Maya", "Rahul", "Sofia", "Kenji", "Erik", "Priya", "Tom", "Elena", "Marcus", "Yuki", "Amara",
    "Felix",
];
const LEAD_LAST: &[&str] = &[
    "Chen",
    "Iyer",
    "Marquez",
    "Watanabe",
    "Olsen",
    "Natarajan",
    "Becker",
    "Whitfield",
    "Moreau",
    "Lindqvist",
    "Osei",
    "Park",
];

const INVESTORS: &[&str] = &[
    "Northwind Ventures",
    "Harbor Light Capital",
    "Granite Peak Partners",
    "Bluefield Capital",
    "Lattice Ventures",
    "Meridian Growth",
    "Copperline Capital",
    "Sparrow Seed Fund",
    "Tidewater Partners",
    "Oakmont Equity",
];

pub(crate) static INDUSTRIES: &[Industry] = &[
    Industry {
        sector: "Information Technology",
        industry_group: "Software & Services",
        industry: "Internet Software & Services",
        sub_industry: "Internet Software & Services",
        sic_code: "7372",
        naics_code: "511210",
        clay_label: "Software Development",
        clay_alt_label: "Computer Software",
        vertical: "Technology And Computing",
        tags: &["Technology", "SAAS", "B2B", "Enterprise"],
    },
    Industry {
        sector: "Information Technology",
        industry_group: "Software & Services",
        industry: "IT Services",
        sub_industry: "IT Consulting & Other Services",
        sic_code: "7371",
        naics_code: "541511",
        clay_label: "IT Services and IT Consulting",
        clay_alt_label: "Information Technology & Services",
        vertical: "Technology And Computing",
        tags: &["Technology", "Consulting & Professional Services", "B2B"],
    },
    Industry {
        sector: "Financials",
        industry_group: "Diversified Financials",
        industry: "Diversified Financial Services",
        sub_industry: "Consumer Finance",
        sic_code: "6199",
        naics_code: "522320",
        clay_label: "Financial Services",
        clay_alt_label: "Fintech",
        vertical: "Business And Finance",
        tags: &["Finance", "Financial Services", "B2C"],
    },
    Industry {
        sector: "Health Care",
        industry_group: "Health Care Equipment & Services",
        industry: "Health Care Providers & Services",
        sub_industry: "Health Care Services",
        sic_code: "8099",
        naics_code: "621999",
        clay_label: "Hospitals and Health Care",
        clay_alt_label: "Health, Wellness & Fitness",
        vertical: "Health",
        tags: &["Health Care", "Health & Wellness", "B2C"],
    },
    Industry {
        sector: "Consumer Discretionary",
        industry_group: "Retailing",
        industry: "Internet & Catalog Retail",
        sub_industry: "Internet & Direct Marketing Retail",
        sic_code: "5961",
        naics_code: "454110",
        clay_label: "Retail",
        clay_alt_label: "Online Retail",
        vertical: "Shopping",
        tags: &["E-commerce", "Retail", "B2C"],
    },
    Industry {
        sector: "Consumer Discretionary",
        industry_group: "Media",
        industry: "Media",
        sub_industry: "Advertising",
        sic_code: "7311",
        naics_code: "541810",
        clay_label: "Advertising Services",
        clay_alt_label: "Marketing & Advertising",
        vertical: "Business And Finance",
        tags: &["Advertising", "Marketing", "B2B"],
    },
    Industry {
        sector: "Industrials",
        industry_group: "Capital Goods",
        industry: "Machinery",
        sub_industry: "Industrial Machinery",
        sic_code: "3569",
        naics_code: "333999",
        clay_label: "Industrial Machinery Manufacturing",
        clay_alt_label: "Machinery",
        vertical: "Industrial",
        tags: &["Manufacturing", "Industrials", "B2B"],
    },
    Industry {
        sector: "Information Technology",
        industry_group: "Semiconductors & Semiconductor Equipment",
        industry: "Semiconductors & Semiconductor Equipment",
        sub_industry: "Semiconductors",
        sic_code: "3674",
        naics_code: "334413",
        clay_label: "Semiconductor Manufacturing",
        clay_alt_label: "Semiconductors",
        vertical: "Technology And Computing",
        tags: &["Hardware", "Semiconductors", "B2B"],
    },
    Industry {
        sector: "Consumer Discretionary",
        industry_group: "Consumer Services",
        industry: "Diversified Consumer Services",
        sub_industry: "Education Services",
        sic_code: "8200",
        naics_code: "611710",
        clay_label: "E-Learning Providers",
        clay_alt_label: "Education Management",
        vertical: "Education",
        tags: &["Education", "E-learning", "B2C"],
    },
    Industry {
        sector: "Industrials",
        industry_group: "Transportation",
        industry: "Air Freight & Logistics",
        sub_industry: "Air Freight & Logistics",
        sic_code: "4731",
        naics_code: "488510",
        clay_label: "Transportation, Logistics, Supply Chain and Storage",
        clay_alt_label: "Logistics & Supply Chain",
        vertical: "Business And Finance",
        tags: &["Logistics", "Transportation", "B2B"],
    },
    Industry {
        sector: "Health Care",
        industry_group: "Pharmaceuticals, Biotechnology & Life Sciences",
        industry: "Biotechnology",
        sub_industry: "Biotechnology",
        sic_code: "2836",
        naics_code: "325414",
        clay_label: "Biotechnology Research",
        clay_alt_label: "Biotechnology",
        vertical: "Science",
        tags: &["Biotechnology", "Life Sciences", "B2B"],
    },
];

pub(crate) static LOCATIONS: &[Location] = &[
    Location {
        city: "San Francisco",
        state: Some("California"),
        state_code: Some("CA"),
        country: "United States",
        country_code: "US",
        postal_code: "94107",
        lat: 37.77,
        lng: -122.39,
        time_zone: "America/Los_Angeles",
        utc_offset: -8,
    },
    Location {
        city: "New York",
        state: Some("New York"),
        state_code: Some("NY"),
        country: "United States",
        country_code: "US",
        postal_code: "10013",
        lat: 40.72,
        lng: -74.0,
        time_zone: "America/New_York",
        utc_offset: -5,
    },
    Location {
        city: "Austin",
        state: Some("Texas"),
        state_code: Some("TX"),
        country: "United States",
        country_code: "US",
        postal_code: "78701",
        lat: 30.27,
        lng: -97.74,
        time_zone: "America/Chicago",
        utc_offset: -6,
    },
    Location {
        city: "Boston",
        state: Some("Massachusetts"),
        state_code: Some("MA"),
        country: "United States",
        country_code: "US",
        postal_code: "02110",
        lat: 42.36,
        lng: -71.05,
        time_zone: "America/New_York",
        utc_offset: -5,
    },
    Location {
        city: "London",
        state: Some("England"),
        state_code: Some("ENG"),
        country: "United Kingdom",
        country_code: "GB",
        postal_code: "EC2A 4NE",
        lat: 51.52,
        lng: -0.08,
        time_zone: "Europe/London",
        utc_offset: 0,
    },
    Location {
        city: "Berlin",
        state: Some("Berlin"),
        state_code: Some("BE"),
        country: "Germany",
        country_code: "DE",
        postal_code: "10115",
        lat: 52.53,
        lng: 13.38,
        time_zone: "Europe/Berlin",
        utc_offset: 1,
    },
    Location {
        city: "Toronto",
        state: Some("Ontario"),
        state_code: Some("ON"),
        country: "Canada",
        country_code: "CA",
        postal_code: "M5V 2T6",
        lat: 43.64,
        lng: -79.39,
        time_zone: "America/Toronto",
        utc_offset: -5,
    },
    Location {
        city: "Singapore",
        state: None,
        state_code: None,
        country: "Singapore",
        country_code: "SG",
        postal_code: "018956",
        lat: 1.28,
        lng: 103.85,
        time_zone: "Asia/Singapore",
        utc_offset: 8,
    },
];

macro_rules! tech {
    ($name:expr, $slug:expr, $tag:expr, [$($cat:expr),*], $cbcat:expr, $link:expr, $desc:expr, $premium:expr, $cloud:expr) => {
        TechDef {
            name: $name,
            slug: $slug,
            tag: $tag,
            categories: &[$($cat),*],
            clearbit_category: $cbcat,
            link: $link,
            description: $desc,
            premium: $premium,
            cloud: $cloud,
        }
    };
}

// One technology a row: name, Clearbit slug, BuiltWith tag, categories, Clearbit
// category, link, description, premium, cloud.
#[rustfmt::skip]
pub(crate) static TECHS: &[TechDef] = &[
    tech!("Amazon EC2", "aws_ec2", "hosting", ["Cloud Hosting", "Cloud PaaS"], "cloud_computing", "https://aws.amazon.com/ec2", "Resizable compute capacity in the Amazon Web Services cloud.", true, Some(Cloud::Aws)),
    tech!("Amazon CloudFront", "amazon_cloudfront", "cdn", ["CDN"], "content_delivery_network", "https://aws.amazon.com/cloudfront", "Amazon's content delivery network.", true, Some(Cloud::Aws)),
    tech!("Amazon Route 53", "aws_route_53", "ns", ["DNS"], "dns", "https://aws.amazon.com/route53", "Amazon's managed DNS service.", false, Some(Cloud::Aws)),
    tech!("Google Cloud Platform", "google_cloud", "hosting", ["Cloud Hosting", "Cloud PaaS"], "cloud_computing", "https://cloud.google.com", "Google's cloud computing services.", true, Some(Cloud::Gcp)),
    tech!("Google Cloud CDN", "google_cloud_cdn", "cdn", ["CDN"], "content_delivery_network", "https://cloud.google.com/cdn", "Google Cloud's content delivery network.", true, Some(Cloud::Gcp)),
    tech!("Microsoft Azure", "microsoft_azure", "hosting", ["Cloud Hosting", "Cloud PaaS"], "cloud_computing", "https://azure.microsoft.com", "Microsoft's cloud computing platform.", true, Some(Cloud::Azure)),
    tech!("Microsoft Azure CDN", "azure_cdn", "cdn", ["CDN"], "content_delivery_network", "https://azure.microsoft.com/services/cdn", "Azure's content delivery network.", true, Some(Cloud::Azure)),
    tech!("Cloudflare", "cloudflare", "cdn", ["CDN"], "content_delivery_network", "https://www.cloudflare.com", "CDN, DNS and DDoS protection.", false, None),
    tech!("Fastly", "fastly", "cdn", ["CDN"], "content_delivery_network", "https://www.fastly.com", "Edge cloud platform and CDN.", true, None),
    tech!("Google Analytics", "google_analytics", "analytics", ["Audience Measurement"], "analytics", "https://marketingplatform.google.com/about/analytics", "Web traffic analytics from Google.", false, None),
    tech!("Google Tag Manager", "google_tag_manager", "widgets", ["Tag Management"], "tag_management", "https://tagmanager.google.com", "Tag management from Google.", false, None),
    tech!("Segment", "segment", "analytics", ["Customer Data Platform"], "analytics", "https://segment.com", "Customer data platform.", true, None),
    tech!("Mixpanel", "mixpanel", "analytics", ["Product Analytics"], "analytics", "https://mixpanel.com", "Product analytics.", true, None),
    tech!("Hotjar", "hotjar", "analytics", ["Heat Maps"], "analytics", "https://www.hotjar.com", "Heatmaps and session recordings.", true, None),
    tech!("Optimizely", "optimizely", "analytics", ["A/B Testing"], "website_optimization", "https://www.optimizely.com", "Experimentation platform.", true, None),
    tech!("HubSpot", "hubspot", "analytics", ["Marketing Automation", "CRM"], "marketing_automation", "https://www.hubspot.com", "Inbound marketing and CRM platform.", true, None),
    tech!("Marketo", "marketo", "analytics", ["Marketing Automation"], "marketing_automation", "https://business.adobe.com/products/marketo", "Marketing automation.", true, None),
    tech!("Salesforce", "salesforce", "widgets", ["CRM"], "crm", "https://www.salesforce.com", "Customer relationship management.", true, None),
    tech!("Intercom", "intercom", "widgets", ["Live Chat"], "customer_support", "https://www.intercom.com", "Customer messaging platform.", true, None),
    tech!("Zendesk", "zendesk", "widgets", ["Ticketing System"], "customer_support", "https://www.zendesk.com", "Customer service software.", true, None),
    tech!("Stripe", "stripe", "payment", ["Payment Processor"], "payment", "https://stripe.com", "Online payments.", false, None),
    tech!("React", "react_js", "javascript", ["JavaScript Library"], "javascript_framework", "https://react.dev", "JavaScript library for user interfaces.", false, None),
    tech!("Vue.js", "vue_js", "javascript", ["JavaScript Framework"], "javascript_framework", "https://vuejs.org", "Progressive JavaScript framework.", false, None),
    tech!("Next.js", "next_js", "framework", ["JavaScript Framework"], "javascript_framework", "https://nextjs.org", "React framework.", false, None),
    tech!("Ruby on Rails", "ruby_on_rails", "framework", ["Framework"], "web_framework", "https://rubyonrails.org", "Web application framework in Ruby.", false, None),
    tech!("Django", "django", "framework", ["Framework"], "web_framework", "https://www.djangoproject.com", "Python web framework.", false, None),
    tech!("WordPress", "wordpress", "cms", ["Open Source", "Blog"], "cms", "https://wordpress.org", "Open source content management system.", false, None),
    tech!("Contentful", "contentful", "cms", ["Headless CMS"], "cms", "https://www.contentful.com", "Headless content platform.", true, None),
    tech!("Webflow", "webflow", "cms", ["Hosted Solution"], "cms", "https://webflow.com", "Visual website builder and CMS.", true, None),
    tech!("Shopify", "shopify", "shop", ["Hosted Solution"], "ecommerce", "https://www.shopify.com", "Hosted e-commerce platform.", true, None),
    tech!("Nginx", "nginx", "Web Server", ["Web Server"], "web_server", "https://nginx.org", "Web server and reverse proxy.", false, None),
    tech!("Sentry", "sentry", "analytics", ["Error Tracking"], "monitoring", "https://sentry.io", "Application error monitoring.", true, None),
    tech!("LinkedIn Insight Tag", "linkedin_insight_tag", "analytics", ["Conversion Optimization"], "advertising", "https://business.linkedin.com", "LinkedIn conversion tracking.", false, None),
    tech!("Google Workspace", "google_apps", "mx", ["Business Email Hosting"], "email", "https://workspace.google.com", "Google's business email and apps.", false, None),
    tech!("Microsoft 365", "office_365", "mx", ["Business Email Hosting"], "email", "https://www.microsoft.com/microsoft-365", "Microsoft's business email and apps.", false, None),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        Date::new(2026, 6, 15).unwrap()
    }

    #[test]
    fn fnv1a_matches_reference_vectors() {
        // FNV-1a 64 of "" is the offset basis; with our salt separator the empty salt
        // hashes one NUL byte first.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in b"\0a" {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        assert_eq!(hash("a", ""), h);
        assert_ne!(hash("a", "x"), hash("a", "y"));
    }

    #[test]
    fn normalizes_domains() {
        assert_eq!(
            normalize_domain("https://WWW.Acme.com:443/x?y#z").as_deref(),
            Some("acme.com")
        );
        assert_eq!(normalize_domain(" acme.com. ").as_deref(), Some("acme.com"));
        assert_eq!(normalize_domain("jane@acme.io").as_deref(), Some("acme.io"));
        assert_eq!(normalize_domain("www.com").as_deref(), Some("www.com"));
        for bad in [
            "",
            "acme",
            "a..b",
            "1.2.3.4",
            "ac me.com",
            "-a.com",
            "acme_x.com",
        ] {
            assert_eq!(normalize_domain(bad), None, "{bad}");
        }
    }

    #[test]
    fn same_domain_same_profile() {
        let a = profile("Acme-Analytics.example", today());
        let b = profile("https://www.acme-analytics.example/", today());
        assert_eq!(a, b);
        assert_eq!(a.domain, "acme-analytics.example");
        assert_eq!(a.name, "Acme Analytics");
        assert_ne!(profile("other.example", today()), a);
    }

    #[test]
    fn clay_gaps_have_their_documented_shares() {
        let n = 4000;
        let profiles: Vec<Profile> = (0..n)
            .map(|i| profile(&format!("company-{i}.example"), today()))
            .collect();
        let share = |f: &dyn Fn(&Profile) -> bool| {
            profiles.iter().filter(|p| f(p)).count() as f64 / f64::from(n)
        };
        let firmographics = share(&|p| p.clay_lacks("employee_count"));
        let funding = share(&|p| p.clay_lacks("last_funding_date"));
        assert!((0.22..0.28).contains(&firmographics), "{firmographics}");
        assert!((0.37..0.43).contains(&funding), "{funding}");
        // Independent of each other, as the table says.
        let both = share(&|p| p.clay_lacks("industry") && p.clay_lacks("funding_stage"));
        assert!((0.08..0.12).contains(&both), "{both}");
        assert!(!profiles[0].clay_lacks("technologies"));
        // Reserved scenarios keep full rows.
        let complete = profile("complete.example", today());
        assert!(!complete.clay_lacks("industry") && !complete.clay_lacks("funding_stage"));
    }

    #[test]
    fn profiles_are_plausible() {
        for i in 0..500 {
            let p = profile(&format!("company-{i}.example"), today());
            assert!(p.headcount >= 3 && p.headcount <= 25_000, "{}", p.headcount);
            assert!(p.founded_year < today().year());
            assert!(!p.technologies.is_empty());
            for t in &p.technologies {
                assert!(t.first_detected <= t.last_detected);
                assert!(t.last_detected < today());
                assert_eq!(t.live, t.last_detected.days_until(today()) <= 30);
            }
            for w in p.funding_rounds.windows(2) {
                assert!(w[0].announced_on < w[1].announced_on, "{}", p.domain);
            }
            if let Some(r) = p.latest_round() {
                assert!(r.announced_on < today());
                assert!(!r.investors.is_empty());
            }
            let li = &p.linkedin;
            assert!((-100.0..=1000.0).contains(&li.growth_6mo_pct));
            assert!(li.job_postings >= li.open_engineering_roles);
            let ratio = f64::from(li.employee_count) / f64::from(p.headcount);
            assert!((0.85..1.2).contains(&ratio), "{ratio}");
        }
    }

    #[test]
    fn distribution_roughly_holds_over_1000_domains() {
        let n = 1000;
        let (mut missing, mut pending, mut disagree, mut junk, mut unfunded) = (0, 0, 0, 0, 0);
        let (mut cloud, mut dead_tech, mut everywhere) = (0, 0, 0);
        let mut missing_by = [0; 4];
        for i in 0..n {
            let p = profile(&format!("firm{i}.example"), today());
            let q = &p.quirks;
            if q.missing_at.is_empty() {
                everywhere += 1;
            } else {
                missing += 1;
                let at = Provider::ALL
                    .iter()
                    .position(|x| *x == q.missing_at[0])
                    .unwrap();
                missing_by[at] += 1;
            }
            pending += usize::from(q.clearbit_pending);
            disagree += usize::from(q.disagreement.is_some());
            junk += usize::from(q.junk);
            unfunded += usize::from(p.funding_rounds.is_empty());
            cloud += usize::from(p.cloud_native());
            dead_tech += usize::from(p.technologies.iter().any(|t| !t.live));
            if q.disagreement == Some(Disagreement::Headcount) {
                let (cb, li) = (p.clearbit_headcount(), p.linkedin.employee_count);
                assert!(f64::from(cb) > f64::from(li) * 1.25, "{cb} vs {li}");
            }
        }
        let near = |got: usize, pct: usize, tol: usize| {
            let want = n * pct / 100;
            got + tol >= want && got <= want + tol
        };
        assert!(near(missing, 10, 30), "missing {missing}");
        assert!(missing_by.iter().all(|m| *m >= 10), "{missing_by:?}");
        assert!(near(pending, 5, 20), "pending {pending}");
        assert!(near(disagree, 10, 30), "disagree {disagree}");
        assert!(near(junk, 5, 20), "junk {junk}");
        assert!(near(unfunded, 8, 25), "unfunded {unfunded}");
        assert!(near(cloud, 80, 50), "cloud {cloud}");
        assert!(dead_tech > n / 2, "dead tech {dead_tech}");
        assert!(everywhere > n * 85 / 100, "everywhere {everywhere}");
    }

    #[test]
    fn reserved_domains_have_their_scenarios() {
        let t = today();
        assert_eq!(profile("notfound.example", t).quirks.missing_at.len(), 4);
        assert!(profile("pending.example", t).quirks.clearbit_pending);
        let d = profile("disagree.example", t);
        assert!(f64::from(d.clearbit_headcount()) > 1.25 * f64::from(d.linkedin.employee_count));
        let i = profile("industry-disagree.example", t);
        assert_ne!(i.clay_industry(), i.industry.clay_label);
        assert!(
            profile("junk.example", t)
                .clearbit_revenue_label()
                .contains('\u{2013}')
        );
        assert!(profile("nocredits.example", t).quirks.out_of_credits);
        assert!(profile("unfunded.example", t).funding_rounds.is_empty());
        for p in Provider::ALL {
            let name = format!("{p:?}").to_lowercase();
            let prof = profile(&format!("missing-{name}.example"), t);
            assert_eq!(prof.quirks.missing_at, vec![p]);
        }
    }

    #[test]
    fn complete_example_turns_every_signal_on() {
        let p = profile("complete.example", today());
        assert_eq!(p.quirks, Quirks::default());
        assert!(p.cloud_native());
        let latest = p.latest_round().unwrap();
        assert_eq!(latest.investment_type, "series_b");
        assert_eq!(latest.announced_on.days_until(today()), 45);
        assert!(p.linkedin.growth_6mo_pct >= 20.0);
        assert_eq!(p.linkedin.exec_changes[0].title, "CTO");
        assert!(
            p.technologies
                .iter()
                .all(|t| t.def.cloud != Some(Cloud::Azure))
        );
    }

    #[test]
    fn ranges_and_buckets() {
        assert_eq!(employees_range(180), "51-250");
        assert_eq!(employees_range(251), "251-1K");
        assert_eq!(crunchbase_employees_enum(75), "c_00051_00100");
        assert_eq!(revenue_bucket_index(999_999), 0);
        assert_eq!(revenue_bucket_index(10_000_000), 2);
        assert_eq!(revenue_bucket_index(20_000_000_000), 8);
        assert_eq!(slug("Harbor Light Capital"), "harbor-light-capital");
    }
}
