//! Deterministic demo companies: made-up but real-looking names and domains, a mix of
//! industries, countries and lifecycle stages, about 5 % without a domain, a few
//! duplicates (the same domain under another spelling), some fields left empty for
//! enrichment to fill, and an import batch sharing one `hs_lastmodifieddate`
//! millisecond. The same count and seed give the same companies.

use std::collections::{BTreeMap, BTreeSet};

use crate::state::Company;

/// The first company id; later ones increase.
pub(crate) const FIRST_ID: u64 = 1_000_001;

/// 2023-01-01T00:00:00Z: demo records are created from here on.
const EPOCH_2023: i64 = 1_672_531_200_000;
/// 2025-06-01T00:00:00Z: and last modified by here.
const LATEST_CHANGE: i64 = 1_748_736_000_000;

const PREFIXES: &[&str] = &[
    "Northwind",
    "Bluepeak",
    "Silverline",
    "Ironwood",
    "Brightpath",
    "Cobalt",
    "Redfern",
    "Lumen",
    "Harborview",
    "Stonebridge",
    "Quillon",
    "Maplecrest",
    "Vantara",
    "Kestrel",
    "Orbitra",
    "Pinegrove",
    "Solstice",
    "Tidewater",
    "Granite",
    "Amberly",
    "Crescent",
    "Driftwood",
    "Everfield",
    "Foxglove",
    "Glacier",
    "Highmark",
    "Indigo",
    "Juniper",
    "Keystone",
    "Larkspur",
    "Meridian",
    "Nimbus",
    "Oakhaven",
    "Palisade",
    "Quarry",
    "Riverton",
    "Sablewood",
    "Thornbury",
    "Upland",
    "Verdant",
    "Westbrook",
    "Yarrow",
    "Zephyrine",
    "Ashgrove",
    "Birchfield",
    "Cedarline",
    "Duskfall",
    "Emberly",
    "Fernhill",
    "Goldcrest",
    "Hollowell",
    "Ivorygate",
    "Jasperine",
    "Kingsmere",
    "Lowmoor",
    "Mistral",
    "Nettlefield",
    "Oxbow",
    "Pemberly",
    "Quenby",
];

/// Name suffix and the industry it suggests.
const SUFFIXES: &[(&str, &str)] = &[
    ("Analytics", "COMPUTER_SOFTWARE"),
    ("Labs", "INFORMATION_TECHNOLOGY_AND_SERVICES"),
    ("Systems", "COMPUTER_SOFTWARE"),
    ("Logistics", "LOGISTICS_AND_SUPPLY_CHAIN"),
    ("Health", "HOSPITAL_HEALTH_CARE"),
    ("Capital", "FINANCIAL_SERVICES"),
    ("Robotics", "MECHANICAL_OR_INDUSTRIAL_ENGINEERING"),
    ("Foods", "FOOD_BEVERAGES"),
    ("Media", "MARKETING_AND_ADVERTISING"),
    ("Networks", "TELECOMMUNICATIONS"),
    ("Bio", "BIOTECHNOLOGY"),
    ("Energy", "RENEWABLES_ENVIRONMENT"),
    ("Security", "COMPUTER_NETWORK_SECURITY"),
    ("Cloud", "INTERNET"),
    ("Learning", "E_LEARNING"),
    ("Retail", "RETAIL"),
    ("Partners", "MANAGEMENT_CONSULTING"),
    ("Insurance", "INSURANCE"),
    ("Pharma", "PHARMACEUTICALS"),
    ("Motors", "AUTOMOTIVE"),
    ("Studios", "COMPUTER_GAMES"),
    ("Payments", "FINANCIAL_SERVICES"),
    ("Devices", "MEDICAL_DEVICES"),
    ("Staffing", "STAFFING_AND_RECRUITING"),
    ("Properties", "REAL_ESTATE"),
    ("Data", "INFORMATION_TECHNOLOGY_AND_SERVICES"),
    ("Semiconductor", "SEMICONDUCTORS"),
    ("Apparel", "APPAREL_FASHION"),
    ("Legal", "LEGAL_SERVICES"),
    ("Freight", "TRANSPORTATIONTRUCKINGRAILROAD"),
    ("Software", "COMPUTER_SOFTWARE"),
    ("AI", "COMPUTER_SOFTWARE"),
    ("Ventures", "VENTURE_CAPITAL_PRIVATE_EQUITY"),
    ("Hospitality", "HOSPITALITY"),
    ("Construction", "CONSTRUCTION"),
    ("Chemicals", "CHEMICALS"),
    ("Wellness", "HEALTH_WELLNESS_AND_FITNESS"),
    ("Telecom", "TELECOMMUNICATIONS"),
    ("Games", "COMPUTER_GAMES"),
    ("Banking", "BANKING"),
];

const REGIONS: &[&str] = &[
    "Europe",
    "Group",
    "International",
    "Global",
    "Americas",
    "Holdings",
];

/// Country code, weight, cities.
const COUNTRIES: &[(&str, u32, &[&str])] = &[
    (
        "US",
        45,
        &[
            "San Francisco",
            "New York",
            "Austin",
            "Boston",
            "Chicago",
            "Seattle",
            "Denver",
        ],
    ),
    ("GB", 12, &["London", "Manchester", "Edinburgh", "Bristol"]),
    ("DE", 10, &["Berlin", "Munich", "Hamburg", "Cologne"]),
    ("FR", 8, &["Paris", "Lyon", "Toulouse"]),
    ("CA", 7, &["Toronto", "Vancouver", "Montreal"]),
    ("NL", 5, &["Amsterdam", "Rotterdam", "Utrecht"]),
    ("AU", 4, &["Sydney", "Melbourne"]),
    ("ES", 3, &["Madrid", "Barcelona"]),
    ("SE", 3, &["Stockholm", "Gothenburg"]),
    ("IN", 3, &["Bengaluru", "Pune"]),
];

const STAGES: &[(&str, u32)] = &[
    ("subscriber", 5),
    ("lead", 30),
    ("marketingqualifiedlead", 10),
    ("salesqualifiedlead", 10),
    ("opportunity", 15),
    ("customer", 25),
    ("evangelist", 2),
    ("other", 3),
];

const TLDS: &[(&str, u32)] = &[("com", 70), ("io", 15), ("co", 5), ("net", 5), ("ai", 5)];

fn weighted<'a, T>(rng: &mut fastrand::Rng, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
    let total: u32 = items.iter().map(&weight).sum();
    let mut pick = rng.u32(0..total);
    for item in items {
        let w = weight(item);
        if pick < w {
            return item;
        }
        pick -= w;
    }
    &items[items.len() - 1]
}

/// `count` demo companies (ids left empty: the store assigns them in order).
pub(crate) fn companies(count: usize, seed: u64, _now_ms: i64) -> Vec<Company> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut names = BTreeSet::new();
    let mut out: Vec<Company> = Vec::with_capacity(count);
    // One import batch: these records share a single last-modified millisecond.
    let import_at = EPOCH_2023 + 400 * 86_400_000 + 12_345;
    let import_range = (count / 3)..(count / 3 + (count / 25).min(40));
    for i in 0..count {
        // About 2 % are duplicates of an earlier company under another spelling.
        if i >= 10 && rng.u32(0..100) < 2 {
            let original = out[rng.usize(0..out.len())].clone();
            if let Some(dup) = duplicate(&mut rng, &original) {
                out.push(dup);
                continue;
            }
        }
        let (name, domain_base) = fresh_name(&mut rng, &mut names);
        let (suffix_industry, tld) = {
            let suffix = name.split(' ').nth(1).unwrap_or("");
            let industry = SUFFIXES
                .iter()
                .find(|(s, _)| *s == suffix)
                .map_or("COMPUTER_SOFTWARE", |(_, i)| *i);
            (industry, weighted(&mut rng, TLDS, |t| t.1).0)
        };
        let mut properties = BTreeMap::new();
        properties.insert("name".to_string(), name.clone());
        if rng.u32(0..100) >= 5 {
            properties.insert("domain".to_string(), format!("{domain_base}.{tld}"));
        }
        let (country, _, cities) = weighted(&mut rng, COUNTRIES, |c| c.1);
        properties.insert("country".into(), (*country).to_string());
        properties.insert(
            "city".into(),
            cities[rng.usize(0..cities.len())].to_string(),
        );
        properties.insert(
            "lifecyclestage".into(),
            weighted(&mut rng, STAGES, |s| s.1).0.to_string(),
        );
        // Leave gaps for enrichment to fill.
        if rng.u32(0..100) < 70 {
            properties.insert("industry".into(), suffix_industry.to_string());
        }
        let employees = employees(&mut rng);
        if rng.u32(0..100) < 75 {
            properties.insert("numberofemployees".into(), employees.to_string());
        }
        if rng.u32(0..100) < 50 {
            let per_head = 80_000 + u64::from(rng.u32(0..170_000));
            properties.insert("annualrevenue".into(), (employees * per_head).to_string());
        }
        if rng.u32(0..100) < 40 {
            properties.insert("founded_year".into(), rng.u32(1975..2024).to_string());
        }
        let created_at = EPOCH_2023 + rng.i64(0..(LATEST_CHANGE - EPOCH_2023) / 2);
        let mut updated_at = created_at + rng.i64(0..LATEST_CHANGE - created_at);
        if import_range.contains(&i) {
            updated_at = import_at.max(created_at);
        }
        out.push(Company {
            id: String::new(),
            properties,
            created_at,
            updated_at,
            archived: false,
        });
    }
    out
}

fn fresh_name(rng: &mut fastrand::Rng, taken: &mut BTreeSet<String>) -> (String, String) {
    loop {
        let prefix = PREFIXES[rng.usize(0..PREFIXES.len())];
        let suffix = SUFFIXES[rng.usize(0..SUFFIXES.len())].0;
        let mut name = format!("{prefix} {suffix}");
        if taken.contains(&name) {
            name = format!("{name} {}", REGIONS[rng.usize(0..REGIONS.len())]);
        }
        if taken.contains(&name) {
            name = format!("{prefix} {suffix} {}", rng.u32(2..1000));
        }
        if taken.insert(name.clone()) {
            // "Northwind Analytics" → northwind-analytics or northwindanalytics.
            let words: Vec<String> = name.split(' ').map(str::to_ascii_lowercase).collect();
            let base = if rng.bool() {
                words.join("-")
            } else {
                words.concat()
            };
            return (name, base);
        }
    }
}

/// Log-uniform-ish headcount from 2 to 50,000.
fn employees(rng: &mut fastrand::Rng) -> u64 {
    let exp = rng.f64() * 4.4 + 0.3;
    10f64.powf(exp).round() as u64
}

fn duplicate(rng: &mut fastrand::Rng, original: &Company) -> Option<Company> {
    let domain = original.properties.get("domain")?;
    let name = original.properties.get("name")?;
    let mut dup = original.clone();
    let (new_name, new_domain) = match rng.u32(0..3) {
        0 => (format!("{name} Inc."), format!("www.{domain}")),
        1 => (name.to_ascii_lowercase(), domain.to_ascii_uppercase()),
        _ => (format!("{name} Ltd"), domain.clone()),
    };
    dup.properties.insert("name".into(), new_name);
    dup.properties.insert("domain".into(), new_domain);
    dup.created_at = original.created_at + rng.i64(1..86_400_000 * 90);
    dup.updated_at = dup.created_at.max(original.updated_at);
    Some(dup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_companies() {
        assert_eq!(companies(300, 7, 0), companies(300, 7, 0));
        assert_ne!(companies(50, 7, 0), companies(50, 8, 0));
    }

    #[test]
    fn demo_data_has_gaps_and_duplicates() {
        let all = companies(1000, 1, 0);
        assert_eq!(all.len(), 1000);
        let without_domain = all
            .iter()
            .filter(|c| !c.properties.contains_key("domain"))
            .count();
        assert!(
            (20..=100).contains(&without_domain),
            "{without_domain} without a domain"
        );
        let mut seen = BTreeSet::new();
        let mut dups = 0;
        for c in &all {
            if let Some(d) = c.properties.get("domain") {
                let key = d
                    .to_ascii_lowercase()
                    .trim_start_matches("www.")
                    .to_string();
                if !seen.insert(key) {
                    dups += 1;
                }
            }
        }
        assert!(dups >= 5, "{dups} duplicate domains");
        let same_ms = all
            .iter()
            .filter(|c| c.updated_at == all[1000 / 3].updated_at)
            .count();
        assert!(
            same_ms >= 20,
            "{same_ms} records share the import millisecond"
        );
        assert!(all.iter().all(|c| c.updated_at >= c.created_at));
        assert!(
            all.iter()
                .all(|c| c.updated_at <= LATEST_CHANGE + 86_400_000 * 90)
        );
    }
}
