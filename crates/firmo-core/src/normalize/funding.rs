//! Funding stages.
use super::NormalizeError;
use crate::field::FUNDING_STAGES;

/// A funding stage, canonical (first version: canonical values only).
pub fn funding_stage(input: &str) -> Result<&'static str, NormalizeError> {
    let s = input.trim().to_ascii_lowercase();
    FUNDING_STAGES
        .iter()
        .find(|o| o.value == s)
        .map(|o| o.value)
        .ok_or_else(|| NormalizeError::new("funding stage", input, "unknown stage"))
}
