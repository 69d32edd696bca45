//! Company domains: the key firmo looks companies up by, so two spellings of one company
//! must give one string. The decisions, and why, are in the docs of the public function below.

use super::{NormalizeError, punycode};

const WHAT: &str = "domain";
/// RFC 1035 limits, in octets of the ASCII form.
const MAX_LABEL: usize = 63;
const MAX_NAME: usize = 253;
/// Longer than any website address a CRM field holds (browsers cap theirs around 2 KB
/// in practice); refusing early keeps a megabyte of junk cheap.
const MAX_URL: usize = 8192;

/// The canonical form of a company domain or website URL.
///
/// `"https://WWW.Acme.com:443/path?q#x"` gives `"acme.com"`, `"münchen.de"` gives
/// `"xn--mnchen-3ya.de"`.
///
/// What a CRM's "website" or "domain" property really holds: `https://www.Acme.com/`,
/// `acme.com.`, `http://jane@acme.com:8080/about?x#y`, `ACME.COM`, `münchen.de`. The
/// canonical form is the lowercase host name, internationalized labels in their ASCII
/// (`xn--`) form, with no scheme, user, port, path, query, fragment or trailing dot.
///
/// Decisions:
/// - **`www.` is dropped** (when at least two labels remain): it names a web server,
///   not a company, and CRMs hold both `www.acme.com` and `acme.com` for one account.
///   Other subdomains (`blog.acme.com`) are kept: without the public-suffix list (too big
///   for the WASM module) firmo can't tell `blog.acme.com` from `acme.co.uk`.
/// - **Internationalized names become `xn--` labels** (Punycode, RFC 3492), the form
///   DNS and providers use. Labels are lowercased and full-width forms (`ａｃｍｅ．com`, the
///   ideographic full stop `。`) are folded to ASCII as IDNA does; the rest of the UTS 46
///   mapping (normalization tables) is not applied. Characters that cannot be in a host
///   name (spaces, punctuation, symbols, emoji) are rejected.
/// - **Rejected**: empty input, a single label (`localhost`, `acme`: not a public
///   domain), IP addresses (a host, not a company; an all-numeric top-level label also
///   catches `1.2.3.4` and `0x7f.1`), IPv6 literals, empty labels (`a..b`), labels
///   longer than 63 or names longer than 253 octets (RFC 1035), labels starting or
///   ending with `-`, the `localhost` top-level name (RFC 6761).
/// - An `@` outside the path keeps what follows it, so an e-mail address (`jane@acme.com`)
///   gives its domain, the same as URL user info.
pub fn domain(input: &str) -> Result<String, NormalizeError> {
    let err = |reason: &str| NormalizeError::new(WHAT, input, reason);
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(err("it is empty"));
    }
    if trimmed.len() > MAX_URL {
        return Err(err("it is too long to be a website address"));
    }
    let host = host_part(trimmed).map_err(err)?;
    // Cheap bound before any per-label work: every character costs at least one octet.
    if host.chars().count() > MAX_NAME + 1 {
        return Err(err("it is longer than 253 characters"));
    }
    let host = fold_width(host);
    let host = host.strip_suffix('.').unwrap_or(&host);
    if host.is_empty() {
        return Err(err("it has no host name"));
    }

    let mut labels = Vec::new();
    for label in host.split('.') {
        labels.push(ascii_label(label).map_err(|reason| err(&reason))?);
    }
    if labels.len() < 2 {
        return Err(err(
            "it has a single label; a company domain has a dot (acme.com)",
        ));
    }
    // Repeatedly, so that the result normalizes to itself (`www.www.acme.com`).
    while labels.len() > 2 && labels[0] == "www" {
        labels.remove(0);
    }
    let tld = &labels[labels.len() - 1];
    if tld.bytes().all(|b| b.is_ascii_digit()) || tld.starts_with("0x") {
        return Err(err("it is an IP address, not a domain"));
    }
    if tld == "localhost" {
        return Err(err("it is a local host name, not a public domain"));
    }
    let name = labels.join(".");
    if name.len() > MAX_NAME {
        return Err(err("it is longer than 253 characters"));
    }
    Ok(name)
}

/// Strips scheme, user info, port, path, query and fragment from a URL-ish string.
fn host_part(s: &str) -> Result<&str, &'static str> {
    // A scheme is letters, digits, `+-.` before `://`; `//host` (scheme-relative) too.
    let rest = match s.find("://") {
        Some(i) if is_scheme(&s[..i]) => &s[i + 3..],
        Some(_) => return Err("it has a malformed URL scheme"),
        None => s.strip_prefix("//").unwrap_or(s),
    };
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    if host_port.starts_with('[') {
        return Err("it is an IPv6 address, not a domain");
    }
    let host = match host_port.split_once(':') {
        Some((_, port)) if port.contains(':') => {
            return Err("it is an IPv6 address, not a domain");
        }
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        Some(_) => return Err("it has a port that is not a number"),
        None => host_port,
    };
    Ok(host)
}

fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Folds the full-width ASCII forms and the ideographic dots to ASCII (UTS 46 maps them
/// so; people type them on CJK keyboards).
fn fold_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{3002}' | '\u{FF0E}' | '\u{FF61}' => '.',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// One label in its lowercase ASCII form, or why it can't be part of a host name.
fn ascii_label(label: &str) -> Result<String, String> {
    if label.is_empty() {
        return Err("it has an empty label (two dots in a row, or a leading dot)".to_owned());
    }
    // Every character costs at least one octet in the ASCII form.
    if label.chars().count() > MAX_LABEL {
        return Err("it has a label longer than 63 characters".to_owned());
    }
    let lower = label.to_lowercase();
    if let Some(bad) = lower.chars().find(|&c| !host_char(c)) {
        return Err(format!("{bad:?} cannot be part of a host name"));
    }
    if lower.starts_with('-') || lower.ends_with('-') {
        return Err("a label starts or ends with '-'".to_owned());
    }
    let ascii = if lower.is_ascii() {
        lower
    } else {
        let encoded = punycode::encode(&lower)
            .ok_or_else(|| "a label cannot be encoded as Punycode".to_owned())?;
        format!("xn--{encoded}")
    };
    if ascii.len() > MAX_LABEL {
        return Err("it has a label longer than 63 characters once encoded".to_owned());
    }
    Ok(ascii)
}

/// Letters, digits and `-` in ASCII; beyond ASCII, anything that is not a space, a
/// control, or in the punctuation, symbol, emoji or private-use blocks. (IDNA2008's full
/// per-code-point table is too big to carry; this rejects what people actually paste.)
fn host_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '-';
    }
    if c.is_alphanumeric() {
        return true;
    }
    !(c.is_whitespace()
        || c.is_control()
        || matches!(u32::from(c),
            0x80..=0xBF        // Latin-1 punctuation and symbols (letters are alphanumeric)
            | 0xD7 | 0xF7      // × ÷
            | 0x2000..=0x2BFF  // general punctuation, symbols, arrows, shapes, dingbats
            | 0x2E00..=0x2E7F  // supplemental punctuation
            | 0x3000..=0x303F  // CJK punctuation
            | 0xE000..=0xF8FF  // private use
            | 0xFE10..=0xFE6F  // vertical, small and compatibility forms
            | 0xFF00..=0xFF20  // full-width punctuation left after folding
            | 0xFFF0..=0xFFFF  // specials
            | 0x1_F000..=0x1_FBFF // emoji and pictographs
            | 0xE_0000..=0x10_FFFF // tags, variation selectors supplement, private use
        ))
}

#[cfg(test)]
mod tests {
    use super::domain;

    fn ok(input: &str) -> String {
        domain(input).unwrap_or_else(|e| panic!("{input:?}: {e}"))
    }

    #[test]
    fn strips_url_parts_case_www_and_trailing_dot() {
        for input in [
            "acme.com",
            "ACME.COM",
            "Acme.Com.",
            "  acme.com  ",
            "www.acme.com",
            "WWW.Acme.com",
            "https://WWW.Acme.com:443/path?q#x",
            "http://acme.com",
            "https://acme.com/",
            "http://www.acme.com:8080",
            "https://user:pass@www.acme.com/login",
            "//acme.com/about",
            "acme.com/about-us",
            "acme.com?utm_source=x",
            "acme.com#contact",
            "acme.com:80",
            "jane.doe@acme.com",
            "HTTPS://ACME.COM",
            "ftp://acme.com",
            "acme.com\\path",
            "mailto:jane@acme.com",
            "www.www.acme.com",
        ] {
            assert_eq!(ok(input), "acme.com", "{input:?}");
        }
    }

    #[test]
    fn keeps_real_subdomains_and_multi_label_suffixes() {
        assert_eq!(ok("blog.acme.com"), "blog.acme.com");
        assert_eq!(ok("https://www.acme.co.uk/"), "acme.co.uk");
        assert_eq!(ok("acme.co.uk"), "acme.co.uk");
        assert_eq!(ok("www2.acme.com"), "www2.acme.com");
        // `www` alone before a top-level name is the domain itself.
        assert_eq!(ok("www.com"), "www.com");
        assert_eq!(ok("acme-analytics.example"), "acme-analytics.example");
        assert_eq!(ok("a.b.c.d.acme.io"), "a.b.c.d.acme.io");
        assert_eq!(ok("3m.com"), "3m.com");
        assert_eq!(ok("xn--mnchen-3ya.de"), "xn--mnchen-3ya.de");
    }

    #[test]
    fn encodes_internationalized_names() {
        assert_eq!(ok("münchen.de"), "xn--mnchen-3ya.de");
        assert_eq!(ok("https://www.MÜNCHEN.de/"), "xn--mnchen-3ya.de");
        assert_eq!(ok("bücher.example"), "xn--bcher-kva.example");
        assert_eq!(ok("例え.テスト"), "xn--r8jz45g.xn--zckzah");
        assert_eq!(ok("中国。中国"), "xn--fiqs8s.xn--fiqs8s");
        assert_eq!(ok("ａｃｍｅ．ｃｏｍ"), "acme.com");
        assert_eq!(ok("пример.рф"), "xn--e1afmkfd.xn--p1ai");
    }

    #[test]
    fn rejects_what_is_not_a_company_domain() {
        for (input, reason) in [
            ("", "empty"),
            ("   ", "empty"),
            ("localhost", "single label"),
            ("acme", "single label"),
            ("http://localhost:3000", "single label"),
            ("foo.localhost", "local host"),
            ("127.0.0.1", "IP address"),
            ("http://192.168.0.1:8080/admin", "IP address"),
            ("0x7f.0x1", "IP address"),
            ("[::1]", "IPv6"),
            ("http://[2001:db8::1]/", "IPv6"),
            ("2001:db8::1", "IPv6"),
            ("a..b", "empty label"),
            (".acme.com", "empty label"),
            ("acme.com..", "empty label"),
            ("acme .com", "cannot be part"),
            ("acme_corp.com", "cannot be part"),
            ("acme!.com", "cannot be part"),
            ("-acme.com", "starts or ends"),
            ("acme-.com", "starts or ends"),
            ("i❤.ws", "cannot be part"),
            ("acme.com:http", "port"),
            ("https//acme.com", "single label"),
            ("ht tp://acme.com", "scheme"),
            ("http://", "no host"),
            ("https:///path", "no host"),
            ("acme\u{0}.com", "cannot be part"),
            ("N/A", "single label"),
            (".", "no host"),
        ] {
            let err = domain(input).expect_err(input);
            assert!(err.reason.contains(reason), "{input:?}: {err}");
            assert_eq!(err.what, "domain");
        }
    }

    #[test]
    fn enforces_dns_length_limits() {
        let label63 = "a".repeat(63);
        assert_eq!(ok(&format!("{label63}.com")), format!("{label63}.com"));
        let err = domain(&format!("{}.com", "a".repeat(64))).unwrap_err();
        assert!(err.reason.contains("63"), "{err}");
        // 63 characters, but longer once Punycode-encoded.
        let err = domain(&format!("{}.com", "ü".repeat(63))).unwrap_err();
        assert!(err.reason.contains("encoded"), "{err}");
        // 4 × 63 + 3 dots = 255 > 253.
        let long = [label63.as_str(); 4].join(".");
        assert!(domain(&long).unwrap_err().reason.contains("253"));
        let fits = format!("{}.{}.{}.{}", label63, label63, label63, "a".repeat(61));
        assert_eq!(ok(&fits).len(), 253);
        assert_eq!(ok(&format!("{fits}.")).len(), 253);
    }

    #[test]
    fn huge_and_hostile_inputs_fail_cleanly() {
        let huge = "a".repeat(1 << 20);
        let err = domain(&huge).unwrap_err();
        assert!(err.reason.contains("too long"), "{err}");
        // A long query string is still a website address.
        let tracked = format!("https://www.acme.com/?utm={}", "x".repeat(5000));
        assert_eq!(ok(&tracked), "acme.com");
        assert!(
            err.input.chars().count() <= 61,
            "error quotes a truncated input"
        );
        assert!(domain(&format!("{huge}.com")).is_err());
        assert!(domain(&"ü.".repeat(100_000)).is_err());
        assert!(domain(&"@".repeat(1000)).is_err());
        assert!(domain("://").is_err());
        assert!(domain("\u{10FFFF}.com").is_err());
    }

    #[test]
    fn error_message_names_the_input() {
        let err = domain("acme").unwrap_err();
        assert_eq!(
            err.to_string(),
            "not a valid domain \"acme\": it has a single label; a company domain has a dot \
             (acme.com)"
        );
    }
}
