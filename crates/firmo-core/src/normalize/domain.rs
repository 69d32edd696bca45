//! Company domains.
use super::NormalizeError;

/// A company's domain, canonical (first version: lowercase only).
pub fn domain(input: &str) -> Result<String, NormalizeError> {
    let d = input.trim().to_ascii_lowercase();
    if d.is_empty() {
        return Err(NormalizeError::new("domain", input, "it is empty"));
    }
    Ok(d)
}
