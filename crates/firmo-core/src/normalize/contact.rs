//! Contact fields: job titles, LinkedIn profile URLs, seniority.

use super::{NormalizeError, collapse_whitespace};
use crate::contact::{JOB_TITLE_MAX_LEN, SENIORITIES};

/// A job title tidied like an industry (trimmed, whitespace collapsed, control and
/// zero-width characters dropped) and cut to [`JOB_TITLE_MAX_LEN`] characters. A provider's
/// over-long title is a headline ("CTO | Angel investor | Speaker ..."): its start is the
/// title, so it is cut rather than dropped. A person typing one is told instead (the
/// `text-too-long` rule), because there the cut would be silent.
pub fn job_title(input: &str) -> Result<String, NormalizeError> {
    let mut title = collapse_whitespace(input);
    if title.is_empty() {
        return Err(NormalizeError::new("job title", input, "it is empty"));
    }
    if let Some((cut, _)) = title.char_indices().nth(JOB_TITLE_MAX_LEN) {
        title.truncate(cut);
        title.truncate(title.trim_end().len());
    }
    Ok(title)
}

/// Hosts LinkedIn serves profiles on: the main one, country (`uk.`, `de.`) and mobile
/// (`m.`) subdomains. Anything else is not LinkedIn.
fn is_linkedin_host(host: &str) -> bool {
    let Some(sub) = host.strip_suffix("linkedin.com") else {
        return false;
    };
    sub.is_empty()
        || sub.strip_suffix('.').is_some_and(|s| {
            (1..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase())
        })
        || sub == "www."
}

/// A LinkedIn *person* profile URL in canonical form, `https://www.linkedin.com/in/<slug>`:
/// any scheme or none, any LinkedIn host (`uk.`, `m.`, no `www.`), query, fragment and
/// trailing path (`/details/experience/`) dropped, the slug lowercased (LinkedIn treats
/// it case-insensitively, so `Jane-Doe` and `jane-doe` are one person and must compare
/// equal). A company, school or showcase page is refused by name: the contact's
/// LinkedIn property must point at the person, and Clay's company columns are a common
/// mix-up.
pub fn linkedin_profile_url(input: &str) -> Result<String, NormalizeError> {
    let err = |reason: &str| NormalizeError::new("LinkedIn profile URL", input, reason);
    let trimmed = input.trim();
    let lower_scheme = trimmed.get(..8).map(str::to_ascii_lowercase);
    let rest = match lower_scheme.as_deref() {
        Some(s) if s.starts_with("https://") => &trimmed[8..],
        Some(s) if s.starts_with("http://") => &trimmed[7..],
        _ if trimmed.contains("://") => return Err(err("only http(s) URLs are profiles")),
        _ => trimmed,
    };
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    let rest = &rest[..end];
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_ascii_lowercase();
    if !is_linkedin_host(&host) {
        return Err(err("the host is not linkedin.com"));
    }
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    let kind = segments.next().map(str::to_ascii_lowercase);
    match kind.as_deref() {
        Some("in") => {}
        Some(page @ ("company" | "school" | "showcase")) => {
            return Err(err(&format!(
                "it is a {page} page (/{page}/...), not a person's profile (/in/...)"
            )));
        }
        Some("pub") => return Err(err("a legacy /pub/ URL; use the profile's /in/ address")),
        _ => return Err(err("not a profile address (/in/<name>)")),
    }
    let Some(slug) = segments.next() else {
        return Err(err("the profile name after /in/ is missing"));
    };
    let valid = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '%');
    let len = slug.chars().count();
    if !(3..=100).contains(&len) || !slug.chars().all(valid) {
        return Err(err(
            "the profile name must be 3 to 100 letters, digits, '-' or '_'",
        ));
    }
    Ok(format!(
        "https://www.linkedin.com/in/{}",
        slug.to_ascii_lowercase()
    ))
}

/// A seniority as providers spell it, as a [`SENIORITIES`] value. People Data Labs'
/// `job_title_levels` (`cxo`, `vp`, `director`, `manager`, `senior`, `entry`, `owner`,
/// `partner`, `training`, `unpaid`) and Apollo's seniorities (`owner`, `founder`,
/// `c_suite`, `partner`, `vp`, `head`, `director`, `manager`, `senior`, `entry`,
/// `intern`) both map onto it; case, spaces and hyphens don't matter.
pub fn seniority(input: &str) -> Result<&'static str, NormalizeError> {
    let key: String = input
        .trim()
        .chars()
        .map(|c| {
            if c == '-' || c.is_whitespace() {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let value = match key.as_str() {
        "owner" | "founder" | "co_founder" | "cofounder" => "owner",
        "partner" => "partner",
        "c_suite" | "csuite" | "cxo" | "c_level" | "clevel" | "chief" => "c_suite",
        "vp" | "vice_president" | "svp" | "evp" => "vp",
        "head" => "head",
        "director" => "director",
        "manager" => "manager",
        "senior" => "senior",
        "entry" | "entry_level" | "junior" => "entry",
        "intern" | "internship" | "training" | "trainee" | "unpaid" => "intern",
        _ => {
            let known: Vec<&str> = SENIORITIES.iter().map(|o| o.value).collect();
            return Err(NormalizeError::new(
                "seniority",
                input,
                format!("expected one of: {}", known.join(", ")),
            ));
        }
    };
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_urls_are_canonicalised() {
        for input in [
            "https://www.linkedin.com/in/Jane-Doe-1a2b3c/",
            "http://linkedin.com/in/jane-doe-1a2b3c?trk=public_profile",
            "uk.linkedin.com/in/jane-doe-1a2b3c#experience",
            "  HTTPS://WWW.LINKEDIN.COM/in/jane-doe-1a2b3c/details/experience/ ",
            "https://m.linkedin.com/in/jane-doe-1a2b3c",
        ] {
            assert_eq!(
                linkedin_profile_url(input).unwrap(),
                "https://www.linkedin.com/in/jane-doe-1a2b3c",
                "{input}"
            );
        }
    }

    #[test]
    fn pages_that_are_not_profiles_are_refused_by_name() {
        let reason = |s: &str| linkedin_profile_url(s).unwrap_err().reason;
        assert!(reason("https://www.linkedin.com/company/acme/").contains("company page"));
        assert!(reason("linkedin.com/school/mit").contains("school page"));
        assert!(reason("https://evil-linkedin.com/in/jane").contains("host"));
        assert!(reason("https://linkedin.com.evil.example/in/jane").contains("host"));
        assert!(reason("https://www.linkedin.com/in/").contains("missing"));
        assert!(reason("https://www.linkedin.com/in/a b").contains("3 to 100"));
        assert!(reason("ftp://linkedin.com/in/jane").contains("http"));
        assert!(reason("").contains("host"));
        let message = linkedin_profile_url("https://www.linkedin.com/feed/").unwrap_err();
        assert_eq!(
            message.to_string(),
            "not a valid LinkedIn profile URL \"https://www.linkedin.com/feed/\": not a profile address (/in/<name>)"
        );
    }

    #[test]
    fn titles_are_trimmed_and_capped() {
        assert_eq!(job_title("  VP\tEngineering \n").unwrap(), "VP Engineering");
        let long = format!("CTO {}", "é".repeat(300));
        let capped = job_title(&long).unwrap();
        assert_eq!(capped.chars().count(), JOB_TITLE_MAX_LEN);
        assert!(capped.starts_with("CTO "));
        let cut_at_space = format!("{} tail", "a".repeat(JOB_TITLE_MAX_LEN - 1));
        assert_eq!(
            job_title(&cut_at_space).unwrap().chars().count(),
            JOB_TITLE_MAX_LEN - 1
        );
        assert!(job_title(" \u{200B} ").is_err());
    }

    #[test]
    fn seniorities_from_pdl_and_apollo() {
        assert_eq!(seniority("CXO").unwrap(), "c_suite");
        assert_eq!(seniority("c-suite").unwrap(), "c_suite");
        assert_eq!(seniority("Vice President").unwrap(), "vp");
        assert_eq!(seniority("founder").unwrap(), "owner");
        assert_eq!(seniority("training").unwrap(), "intern");
        assert_eq!(seniority(" Entry ").unwrap(), "entry");
        let err = seniority("wizard").unwrap_err();
        assert!(err.reason.contains("c_suite"), "{err}");
        for option in SENIORITIES {
            assert_eq!(seniority(option.value).unwrap(), option.value);
        }
    }
}
