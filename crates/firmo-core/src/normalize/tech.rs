//! Technology names.

/// Canonical display name (first version: whitespace collapsed).
pub fn tech_name(input: &str) -> Option<String> {
    let s = super::collapse_whitespace(input);
    (!s.is_empty()).then_some(s)
}

/// Canonical, deduplicated, sorted.
pub fn tech_stack<I, S>(names: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out: Vec<String> = names
        .into_iter()
        .filter_map(|n| tech_name(n.as_ref()))
        .collect();
    out.sort_by_key(|s| s.to_lowercase());
    out.dedup_by(|a, b| a.to_lowercase() == b.to_lowercase());
    out
}

/// Whether a canonical technology is an AWS, Google Cloud or Azure service.
pub fn is_cloud_provider(canonical_tech: &str) -> bool {
    ["Amazon", "AWS", "Google Cloud", "Microsoft Azure"]
        .iter()
        .any(|p| canonical_tech.starts_with(p))
}
