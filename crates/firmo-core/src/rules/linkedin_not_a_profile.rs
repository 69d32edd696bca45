use crate::contact::ContactField;
use crate::finding::ContactFinding;
use crate::normalize::linkedin_profile_url;
use crate::rules::{Rule, RuleMeta, ValidationContext, declare_rule};
use crate::value::Value;

declare_rule! {
    /// ## What it checks
    /// That a contact's `linkedin_url` is a person's LinkedIn profile in canonical form,
    /// `https://www.linkedin.com/in/<name>` (lowercase name, no query, no trailing path):
    /// the form `firmo_core::normalize::linkedin_profile_url` gives. A company, school or
    /// showcase page, another host, or an address that is not `/in/<name>` is refused by
    /// what it is; a profile written another way gets its canonical spelling.
    ///
    /// ## Why it matters
    /// The contact's LinkedIn property identifies the person: deduplication, the
    /// spot-check sample and every later lookup key on it. A company page there (Clay's
    /// company and person columns are easily swapped) points every lookup at the
    /// employer, and two spellings of one profile look like two people.
    ///
    /// ## Example
    /// `{"linkedin_url": "https://www.linkedin.com/company/acme"}`, or
    /// `{"linkedin_url": "linkedin.com/in/Jane-Doe?trk=x"}` (should be
    /// `https://www.linkedin.com/in/jane-doe`).
    ///
    /// ## Fix
    /// Map the provider's person profile column, not the company's, and normalize it
    /// before writing; in a form, paste the address of the person's profile page.
    pub struct LinkedinNotAProfile;
    code = "FQ012",
    name = "linkedin-not-a-profile",
    severity = Reject,
    status = Preview,
    scope = Field,
    summary = "A contact's LinkedIn URL is not a person's profile in canonical form.",
}

impl Rule for LinkedinNotAProfile {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_contact_field(
        &self,
        field: ContactField,
        value: &Value,
        _: &ValidationContext,
        out: &mut Vec<ContactFinding>,
    ) {
        let (ContactField::LinkedinUrl, Value::Text(url)) = (field, value) else {
            return;
        };
        let message = match linkedin_profile_url(url) {
            Ok(canonical) if canonical == *url => return,
            Ok(canonical) => {
                format!("{field} {url:?} is not in canonical form; write it as {canonical:?}")
            }
            Err(e) => format!(
                "{field} {:?} is not a person's LinkedIn profile: {}",
                e.input, e.reason
            ),
        };
        out.push(Self::META.finding(Some(field), message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Date;

    fn check(url: &str) -> Vec<ContactFinding> {
        let ctx = ValidationContext::new(Date::new(2026, 1, 1).unwrap());
        let mut out = Vec::new();
        let value = Value::Text(url.to_owned());
        LinkedinNotAProfile.check_contact_field(ContactField::LinkedinUrl, &value, &ctx, &mut out);
        out
    }

    #[test]
    fn company_pages_are_rejected_and_profiles_pass_in_canonical_form_only() {
        assert!(check("https://www.linkedin.com/in/jane-doe").is_empty());
        let out = check("https://www.linkedin.com/company/acme");
        assert_eq!(
            out[0].message,
            "linkedin_url \"https://www.linkedin.com/company/acme\" is not a person's LinkedIn profile: it is a company page (/company/...), not a person's profile (/in/...)"
        );
        assert_eq!(out[0].field, Some(ContactField::LinkedinUrl));
        assert!(
            check("https://www.linkedin.com/in/Jane-Doe/")[0]
                .message
                .ends_with("write it as \"https://www.linkedin.com/in/jane-doe\"")
        );
        // Other fields are not this rule's business.
        let ctx = ValidationContext::new(Date::new(2026, 1, 1).unwrap());
        let mut out = Vec::new();
        let title = Value::Text("linkedin.com/company/acme".into());
        LinkedinNotAProfile.check_contact_field(ContactField::JobTitle, &title, &ctx, &mut out);
        assert!(out.is_empty());
    }
}
