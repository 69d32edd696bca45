//! Technology names: one display name per technology, whatever the provider calls it.
//! The decisions, and why, are in the docs of the public function below.

use std::sync::OnceLock;

use super::collapse_whitespace;

/// `(canonical name, is an AWS/Google Cloud/Azure service, other keys)`. The canonical
/// name's own key always matches, so it needs no alias.
const TECHS: &[(&str, bool, &[&str])] = &[
    // Amazon Web Services
    ("Amazon Web Services", true, &["aws", "amazonaws"]),
    ("Amazon EC2", true, &["ec2", "amazonelasticcomputecloud"]),
    ("Amazon S3", true, &["s3", "amazonsimplestorageservice"]),
    ("Amazon CloudFront", true, &["cloudfront"]),
    ("Amazon Route 53", true, &["route53"]),
    ("Amazon SES", true, &["amazonsimpleemailservice"]),
    ("Amazon SNS", true, &[]),
    ("Amazon SQS", true, &[]),
    ("Amazon RDS", true, &[]),
    ("Amazon Aurora", true, &[]),
    ("Amazon DynamoDB", true, &["dynamodb"]),
    ("Amazon ElastiCache", true, &[]),
    ("Amazon Redshift", true, &[]),
    ("Amazon Cognito", true, &[]),
    ("Amazon CloudWatch", true, &[]),
    ("Amazon API Gateway", true, &[]),
    ("Amazon Kinesis", true, &[]),
    ("Amazon SageMaker", true, &[]),
    ("Amazon Lightsail", true, &[]),
    ("Amazon EKS", true, &[]),
    ("Amazon ECS", true, &[]),
    ("AWS Lambda", true, &["amazonlambda"]),
    (
        "AWS Elastic Load Balancing",
        true,
        &[
            "elb",
            "awselb",
            "amazonelb",
            "elasticloadbalancing",
            "amazonelasticloadbalancing",
        ],
    ),
    (
        "AWS Elastic Beanstalk",
        true,
        &["elasticbeanstalk", "amazonelasticbeanstalk"],
    ),
    ("AWS Amplify", true, &["amazonamplify"]),
    // Google Cloud
    ("Google Cloud", true, &["gcp", "googlecloudplatform"]),
    ("Google Compute Engine", true, &["gce"]),
    ("Google App Engine", true, &["appengine", "gae"]),
    ("Google Kubernetes Engine", true, &["gke"]),
    ("Google Cloud Storage", true, &["gcs"]),
    ("Google Cloud CDN", true, &[]),
    ("Google BigQuery", true, &["bigquery"]),
    // Microsoft Azure
    ("Microsoft Azure", true, &["azure", "windowsazure"]),
    ("Azure CDN", true, &["microsoftazurecdn"]),
    ("Azure Front Door", true, &[]),
    ("Azure App Service", true, &[]),
    // Analytics, marketing and sales
    (
        "Google Analytics",
        false,
        &[
            "ga",
            "universalanalytics",
            "googleuniversalanalytics",
            "googleanalyticsua",
        ],
    ),
    ("Google Analytics 4", false, &["ga4"]),
    ("Google Tag Manager", false, &["gtm"]),
    (
        "Google Ads",
        false,
        &["googleadwords", "adwords", "googleadsconversiontracking"],
    ),
    (
        "Google Workspace",
        false,
        &["googleapps", "gsuite", "googleappsforwork"],
    ),
    ("Google Fonts", false, &["googlefontapi", "googlewebfonts"]),
    ("Google Maps", false, &["googlemapsapi"]),
    (
        "Microsoft 365",
        false,
        &["office365", "microsoftoffice365", "o365"],
    ),
    ("HubSpot", false, &["hubspotanalytics", "hubspotcrm"]),
    (
        "Salesforce",
        false,
        &["sfdc", "salesforcecrm", "salesforcesalescloud"],
    ),
    ("Marketo", false, &["adobemarketo", "marketoengage"]),
    ("Pardot", false, &["salesforcepardot", "accountengagement"]),
    ("Mailchimp", false, &["mailchimpmandrill"]),
    ("SendGrid", false, &["twiliosendgrid"]),
    ("Twilio", false, &[]),
    ("Intercom", false, &[]),
    ("Zendesk", false, &[]),
    ("Drift", false, &[]),
    (
        "Segment",
        false,
        &["segmentio", "segmentcom", "twiliosegment"],
    ),
    ("Mixpanel", false, &[]),
    ("Amplitude", false, &[]),
    ("Hotjar", false, &[]),
    ("Optimizely", false, &[]),
    ("Facebook Pixel", false, &["metapixel", "facebookpixelcode"]),
    (
        "LinkedIn Insight Tag",
        false,
        &["linkedininsight", "linkedinads"],
    ),
    ("Stripe", false, &[]),
    ("PayPal", false, &[]),
    ("Shopify", false, &[]),
    ("Magento", false, &["adobecommerce"]),
    ("WordPress", false, &["wp"]),
    ("Drupal", false, &[]),
    ("Squarespace", false, &[]),
    ("Wix", false, &[]),
    ("Webflow", false, &[]),
    ("Adobe Fonts", false, &["typekit", "adobetypekit"]),
    ("Font Awesome", false, &[]),
    ("Slack", false, &[]),
    ("Zoom", false, &[]),
    ("Okta", false, &[]),
    ("Auth0", false, &[]),
    ("Jira", false, &["atlassianjira"]),
    ("GitHub", false, &[]),
    ("GitLab", false, &[]),
    // Delivery and operations
    ("Cloudflare", false, &["cloudflarecdn"]),
    ("Fastly", false, &[]),
    ("Akamai", false, &[]),
    ("Heroku", false, &[]),
    ("Vercel", false, &["zeit"]),
    ("Netlify", false, &[]),
    ("Nginx", false, &[]),
    (
        "Apache",
        false,
        &["apachehttpserver", "apachehttpd", "httpd"],
    ),
    ("Kubernetes", false, &["k8s"]),
    ("Docker", false, &[]),
    ("Terraform", false, &["hashicorpterraform"]),
    ("New Relic", false, &[]),
    ("Datadog", false, &[]),
    ("Sentry", false, &[]),
    // Languages, frameworks and data stores
    ("React", false, &["reactjs"]),
    ("Vue.js", false, &["vue"]),
    ("Angular", false, &[]),
    ("AngularJS", false, &[]),
    ("Next.js", false, &[]),
    ("Node.js", false, &["node"]),
    ("Express", false, &["expressjs"]),
    ("jQuery", false, &[]),
    ("Bootstrap", false, &["twitterbootstrap"]),
    ("Tailwind CSS", false, &["tailwind"]),
    ("TypeScript", false, &[]),
    ("Ruby on Rails", false, &["rails", "ror"]),
    ("Django", false, &[]),
    ("Laravel", false, &[]),
    ("PHP", false, &[]),
    ("Python", false, &[]),
    ("Java", false, &[]),
    ("Go", false, &["golang"]),
    ("C#", false, &[]),
    ("C++", false, &["cpp"]),
    (".NET", false, &["dotnet"]),
    ("ASP.NET", false, &[]),
    ("PostgreSQL", false, &["postgres"]),
    ("MySQL", false, &[]),
    ("MongoDB", false, &["mongo"]),
    ("Redis", false, &[]),
    ("Elasticsearch", false, &[]),
    ("Snowflake", false, &[]),
    ("Apache Kafka", false, &["kafka"]),
    ("GraphQL", false, &[]),
];

/// Prefixes that make an unknown canonical name a cloud-platform service.
const CLOUD_PREFIXES: &[&str] = &[
    "aws ",
    "amazon web services",
    "google cloud",
    "microsoft azure",
    "azure ",
];

/// The canonical display name of a technology; `None` if nothing is left after tidying.
///
/// Clearbit sends slugs (`aws_ec2`, `google_analytics`), BuiltWith and Clay display names
/// (`Amazon EC2`, `Google Analytics`), people write `GA` or `ReactJS`. The union of
/// several sources must not list one technology twice.
///
/// Decisions:
/// - **Canonical names are the vendor's own product names** (`Amazon EC2`, `Google
///   Analytics`, `Node.js`, `Vue.js`): they are what a person reads in the CRM, and what
///   BuiltWith mostly shows already.
/// - **Lookup is by a key**: lowercase letters and digits only, with `+` read as `plus` and
///   `#` as `sharp` (so `C++` and `C#` stay apart from `C`). `Google-Analytics`,
///   `google_analytics` and `GoogleAnalytics` share a key. A key starting `aws` that
///   isn't known is tried as `amazon…` (`aws_cognito` → `Amazon Cognito`), the naming
///   AWS itself uses for most services.
/// - **Unknown names pass through, tidied**: whitespace trimmed and collapsed, control
///   characters dropped; a name with any uppercase letter keeps the provider's casing
///   (`LaunchDarkly`), an all-lowercase slug is title-cased with `_`/`-` read as spaces
///   (`launch_darkly` → `Launch Darkly`). Dropping unknown names would lose data the
///   table simply hasn't caught up with.
/// - **A stack is sorted case-insensitively and deduplicated case-insensitively**: a
///   stable order keeps CRM writes idempotent (no spurious "changed" writes), and case is
///   the commonest difference left between two providers' unknown names.
pub fn tech_name(input: &str) -> Option<String> {
    let tidy = collapse_whitespace(input);
    if tidy.is_empty() {
        return None;
    }
    if let Some((name, _, _)) = lookup(&tidy) {
        return Some((*name).to_owned());
    }
    if tidy.chars().any(char::is_uppercase) {
        return Some(tidy);
    }
    let spaced = collapse_whitespace(&tidy.replace(['_', '-'], " "));
    if spaced.is_empty() {
        // Only separators (`__`): keep them rather than invent a name.
        return Some(tidy);
    }
    let titled = title_case(&spaced);
    // Case mapping doesn't always round-trip (`ſ3` → `S3`), so look the result up again:
    // what comes out must normalize to itself.
    match lookup(&titled) {
        Some((name, _, _)) => Some((*name).to_owned()),
        None => Some(titled),
    }
}

/// Canonical names of a stack: deduplicated case-insensitively (first spelling wins),
/// sorted case-insensitively.
pub fn tech_stack<I, S>(names: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut keyed: Vec<(String, String)> = names
        .into_iter()
        .filter_map(|n| tech_name(n.as_ref()))
        .map(|name| (name.to_lowercase(), name))
        .collect();
    // Stable sort: among equal keys the first spelling stays first and survives dedup.
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.dedup_by(|later, earlier| later.0 == earlier.0);
    keyed.into_iter().map(|(_, name)| name).collect()
}

/// Whether a canonical technology name is an AWS, Google Cloud or Azure service (the
/// `cloud_native` signal). Known services come from the table; other names count when
/// they start like one of the three platforms (`AWS …`, `Google Cloud …`, `Azure …`).
/// `Amazon …` alone is not enough: Amazon Pay and Amazon Associates are not a cloud.
pub fn is_cloud_provider(canonical_tech: &str) -> bool {
    if let Some((_, cloud, _)) = lookup(canonical_tech) {
        return *cloud;
    }
    // The prefixes are short: the head of a long name decides.
    let head: String = canonical_tech.chars().take(100).collect();
    let lower = collapse_whitespace(&head).to_lowercase();
    CLOUD_PREFIXES
        .iter()
        .any(|p| lower.starts_with(p) || lower == p.trim_end())
}

type Entry = (&'static str, bool, &'static [&'static str]);

/// Every key of [`TECHS`] (canonical names' and aliases'), sorted, with its entry;
/// built once, so a lookup is a binary search rather than a scan of the table.
fn index() -> &'static [(String, usize)] {
    static INDEX: OnceLock<Vec<(String, usize)>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index: Vec<(String, usize)> = TECHS
            .iter()
            .enumerate()
            .flat_map(|(i, (canonical, _, aliases))| {
                std::iter::once(key(canonical))
                    .chain(aliases.iter().map(|a| (*a).to_owned()))
                    .map(move |k| (k, i))
            })
            .collect();
        index.sort();
        index
    })
}

fn lookup(name: &str) -> Option<&'static Entry> {
    let key = key(name);
    if key.is_empty() {
        return None;
    }
    let find = |key: &str| {
        let index = index();
        let at = index.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok()?;
        TECHS.get(index[at].1)
    };
    find(&key).or_else(|| {
        let rest = key.strip_prefix("aws")?;
        find(&format!("amazon{rest}"))
    })
}

/// Longer than every key in [`TECHS`] (a test holds it so).
const MAX_KEY: usize = 64;

/// Lowercase letters and digits; `+` → `plus`, `#` → `sharp`; everything else dropped.
fn key(name: &str) -> String {
    let mut key = String::new();
    for c in name.chars() {
        if key.len() > MAX_KEY {
            // Longer than any key in the table: it can't match, so stop reading.
            return String::new();
        }
        match c {
            '+' => key.push_str("plus"),
            '#' => key.push_str("sharp"),
            c if c.is_alphanumeric() => key.extend(c.to_lowercase()),
            _ => {}
        }
    }
    key
}

/// Upper-cases the first letter of each space-separated word.
fn title_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, word) in s.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(input: &str) -> String {
        tech_name(input).unwrap_or_else(|| panic!("{input:?} gave no name"))
    }

    #[test]
    fn every_canonical_name_and_alias_is_unambiguous() {
        let mut keys = Vec::new();
        for (canonical, _, aliases) in TECHS {
            assert_eq!(
                name(canonical),
                *canonical,
                "canonical names map to themselves"
            );
            keys.push(key(canonical));
            assert!(key(canonical).len() < MAX_KEY && !key(canonical).is_empty());
            for alias in *aliases {
                assert_eq!(key(alias), *alias, "alias {alias:?} is written as a key");
                keys.push((*alias).to_owned());
            }
        }
        let count = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), count, "a key names two technologies");
    }

    #[test]
    fn folds_aliases_slugs_and_case() {
        for (input, expected) in [
            ("aws_ec2", "Amazon EC2"),
            ("Amazon EC2", "Amazon EC2"),
            ("amazon ec2", "Amazon EC2"),
            ("EC2", "Amazon EC2"),
            ("aws_route_53", "Amazon Route 53"),
            ("Amazon Route53", "Amazon Route 53"),
            ("aws_cloudfront", "Amazon CloudFront"),
            ("amazon_s3", "Amazon S3"),
            ("aws_cognito", "Amazon Cognito"),
            ("AWS", "Amazon Web Services"),
            ("google_analytics", "Google Analytics"),
            ("Google Analytics", "Google Analytics"),
            ("GA", "Google Analytics"),
            ("google-analytics", "Google Analytics"),
            ("GA4", "Google Analytics 4"),
            ("google_tag_manager", "Google Tag Manager"),
            ("google_apps", "Google Workspace"),
            ("G Suite", "Google Workspace"),
            ("react", "React"),
            ("React", "React"),
            ("ReactJS", "React"),
            ("react.js", "React"),
            ("vue_js", "Vue.js"),
            ("VueJS", "Vue.js"),
            ("angular_js", "AngularJS"),
            ("Angular", "Angular"),
            ("node_js", "Node.js"),
            ("NodeJS", "Node.js"),
            ("jquery", "jQuery"),
            ("JQuery", "jQuery"),
            ("cloud_flare", "Cloudflare"),
            ("CloudFlare", "Cloudflare"),
            ("hubspot", "HubSpot"),
            ("new_relic", "New Relic"),
            ("typekit", "Adobe Fonts"),
            ("microsoft_office_365", "Microsoft 365"),
            ("microsoft_azure", "Microsoft Azure"),
            ("Windows Azure", "Microsoft Azure"),
            ("google_cloud", "Google Cloud"),
            ("GCP", "Google Cloud"),
            ("C++", "C++"),
            ("c#", "C#"),
            ("C", "C"),
            (".net", ".NET"),
            ("asp.net", "ASP.NET"),
            ("Postgres", "PostgreSQL"),
            ("  Ruby   on\tRails ", "Ruby on Rails"),
        ] {
            assert_eq!(name(input), expected, "{input:?}");
        }
    }

    #[test]
    fn tidies_unknown_names() {
        assert_eq!(name("LaunchDarkly"), "LaunchDarkly");
        assert_eq!(name("launch_darkly"), "Launch Darkly");
        assert_eq!(name("some-new-tool"), "Some New Tool");
        assert_eq!(name("  Acme   Widget  "), "Acme Widget");
        assert_eq!(name("acme\u{0}widget"), "Acmewidget");
        assert_eq!(name("Amazon Pay"), "Amazon Pay");
        assert_eq!(name("ümlaut_tool"), "Ümlaut Tool");
        assert_eq!(name("__"), "__");
        assert_eq!(name("zeta2"), "Zeta2");
        assert_eq!(tech_name(""), None);
        assert_eq!(tech_name(" \t\n "), None);
        assert_eq!(tech_name("\u{1}\u{7f}"), None);
    }

    #[test]
    fn stacks_are_canonical_deduplicated_and_sorted() {
        let stack = tech_stack([
            "react",
            "aws_ec2",
            "Amazon EC2",
            "google_analytics",
            "GA",
            "zeta",
            "Zeta",
            "",
            "ReactJS",
            "alpha tool",
            "Alpha Tool",
        ]);
        assert_eq!(
            stack,
            [
                "Alpha Tool",
                "Amazon EC2",
                "Google Analytics",
                "React",
                "Zeta"
            ],
            "first spelling of an unknown name wins: `zeta` is title-cased first"
        );
        assert!(tech_stack(Vec::<String>::new()).is_empty());
        assert_eq!(tech_stack(["jQuery", "jquery", "JQUERY"]), ["jQuery"]);
        // Unknown names differing in case: the first spelling wins.
        assert_eq!(tech_stack(["ZETA", "zeta"]), ["ZETA"]);
    }

    #[test]
    fn recognizes_cloud_platforms() {
        for cloud in [
            "Amazon Web Services",
            "Amazon EC2",
            "Amazon S3",
            "Amazon CloudFront",
            "Amazon Route 53",
            "AWS Lambda",
            "AWS Something New",
            "Google Cloud",
            "Google Cloud Run",
            "Google Compute Engine",
            "Microsoft Azure",
            "Azure Functions",
            "amazon ec2",
        ] {
            assert!(is_cloud_provider(cloud), "{cloud}");
            assert!(is_cloud_provider(&name(cloud)), "{cloud} once canonical");
        }
        for other in [
            "Amazon Pay",
            "Amazon Associates",
            "Google Analytics",
            "Google Fonts",
            "Microsoft 365",
            "Cloudflare",
            "Heroku",
            "Azurelike",
            "",
        ] {
            assert!(!is_cloud_provider(other), "{other}");
        }
        assert!(
            tech_stack(["aws_ec2", "react"])
                .iter()
                .any(|t| is_cloud_provider(t))
        );
    }

    #[test]
    fn huge_names_do_not_hurt() {
        let huge = "x".repeat(1 << 20);
        assert_eq!(name(&huge).len(), 1 << 20);
        assert_eq!(tech_stack([huge.as_str(), huge.as_str()]).len(), 1);
    }
}
