//! The fast path of `Validator.validateJson`: JSON text straight into firmo-core's typed
//! values, with no `serde_json::Value` tree in between and, once warm, no allocation (the
//! value slots and their strings are reused from record to record); then core's rules.
//!
//! It only decodes; it judges nothing. It takes the common case, a flat record as forms
//! and APIs send it: an object whose keys are catalogue fields, each once, without
//! escapes; values of the field's JSON type (`null` meaning absent), strings without
//! escapes, integers written plainly. On anything else (malformed JSON, unknown or
//! repeated keys, wrong types, escapes, `120.0` or `1e3` for an integer, numbers beyond
//! 18 digits, impossible dates) it gives up and the caller runs core's own
//! `validate_json_record_with`, which decodes with serde_json and produces the findings
//! for those cases. What it does accept it must decode exactly as serde_json would: the
//! tests below hold it equal to core on hand-picked and on generated records.

use firmo_core::rules::{RULES, RecordView, Scope};
use firmo_core::{Date, FIELDS, Field, FieldKind, Finding, ValidationContext, Value};

const FIELD_COUNT: usize = Field::ALL.len();

/// Reusable decoding state: one value slot per field, in catalogue order.
#[derive(Default)]
pub(crate) struct FastRecord {
    values: [Option<Value>; FIELD_COUNT],
    /// Strings of earlier records, reused for this one's text and list items.
    spare_strings: Vec<String>,
    spare_lists: Vec<Vec<String>>,
}

impl std::fmt::Debug for FastRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastRecord")
            .field("values", &self.values)
            .finish_non_exhaustive()
    }
}

impl FastRecord {
    /// Validates `json` into `out` (cleared first) and returns `true`, or returns `false`
    /// when the record is not one the fast path takes (the caller then asks core).
    pub(crate) fn validate(
        &mut self,
        json: &str,
        ctx: &ValidationContext,
        out: &mut Vec<Finding>,
    ) -> bool {
        out.clear();
        self.recycle();
        if self.decode(json).is_none() {
            self.recycle();
            return false;
        }
        // Core's validation order (`firmo_core::validate`): the field rules on each
        // present field in catalogue order, then the record rules; findings then sorted
        // by field (record-level last), then code, keeping emission order otherwise.
        for field in Field::ALL {
            if let Some(value) = &self.values[field as usize] {
                // `RULES` itself (a constant), not a copy: LTO can then call each rule
                // directly instead of through its vtable. A field rule's `check_record`
                // and a record rule's `check_field` are no-ops by the `Rule` contract.
                for rule in RULES {
                    if rule.meta().scope == Scope::Field {
                        rule.check_field(field, value, ctx, out);
                    }
                }
            }
        }
        let view = RecordView::of_values(&self.values);
        for rule in RULES {
            if rule.meta().scope == Scope::Record {
                rule.check_record(&view, ctx, out);
            }
        }
        if out.len() > 1 {
            out.sort_by(|a, b| {
                let field = |f: &Finding| f.field.map_or(usize::MAX, |f| f as usize);
                field(a).cmp(&field(b)).then_with(|| a.code.cmp(&b.code))
            });
        }
        true
    }

    /// Empties the slots, keeping their strings and lists for reuse.
    fn recycle(&mut self) {
        for slot in &mut self.values {
            match slot.take() {
                Some(Value::Text(s)) => self.spare_strings.push(s),
                Some(Value::TextList(mut list)) => {
                    self.spare_strings.append(&mut list);
                    self.spare_lists.push(list);
                }
                _ => {}
            }
        }
    }

    fn string(&mut self, s: &str) -> String {
        let mut out = self.spare_strings.pop().unwrap_or_default();
        out.clear();
        out.push_str(s);
        out
    }

    /// Decodes a flat record into the slots; `None`: not for the fast path.
    fn decode(&mut self, json: &str) -> Option<()> {
        let mut p = Parser {
            b: json.as_bytes(),
            s: json,
            i: 0,
        };
        let mut seen = [false; FIELD_COUNT];
        p.ws();
        p.eat(b'{')?;
        p.ws();
        if !p.eat_if(b'}') {
            loop {
                let field = p.key()?;
                if std::mem::replace(&mut seen[field as usize], true) {
                    return None; // repeated: core's map keeps the last, let core do it
                }
                p.ws();
                p.eat(b':')?;
                p.ws();
                self.value(&mut p, field)?;
                p.ws();
                if p.eat_if(b'}') {
                    break;
                }
                p.eat(b',')?;
                p.ws();
            }
        }
        p.ws();
        (p.i == p.b.len()).then_some(())
    }

    /// Reads one value of `field`'s type into its slot (null leaves it empty); `None`:
    /// give up.
    fn value(&mut self, p: &mut Parser<'_>, field: Field) -> Option<()> {
        if p.literal("null") {
            return Some(());
        }
        let value = match field.kind() {
            FieldKind::Text { .. } | FieldKind::Enum { .. } => {
                let s = p.string()?;
                Value::Text(self.string(s))
            }
            FieldKind::Date { .. } => Value::Date(Date::parse_iso(p.string()?)?),
            FieldKind::Integer { .. } => Value::Integer(plain_integer(p.number()?)?),
            FieldKind::Decimal { .. } => {
                let token = p.number()?;
                match plain_integer(token) {
                    // serde_json reads integers as integers; core then takes them `as f64`.
                    Some(n) => Value::Decimal(n as f64),
                    // serde_json's own float reading, so the bits are the same as core's.
                    None => Value::Decimal(serde_json::from_str::<f64>(token).ok()?),
                }
            }
            FieldKind::TextList { .. } => {
                p.eat(b'[')?;
                p.ws();
                let mut items = self.spare_lists.pop().unwrap_or_default();
                if !p.eat_if(b']') {
                    loop {
                        let Some(s) = p.string() else {
                            self.spare_lists.push(items);
                            return None;
                        };
                        let item = self.string(s);
                        items.push(item);
                        p.ws();
                        if p.eat_if(b']') {
                            break;
                        }
                        if !p.eat_if(b',') {
                            self.spare_lists.push(items);
                            return None;
                        }
                        p.ws();
                    }
                }
                Value::TextList(items)
            }
        };
        self.values[field as usize] = Some(value);
        Some(())
    }
}

/// An integer written plainly (`-?(0|[1-9][0-9]*)`, at most 18 digits, not `-0`): the
/// integers serde_json reads as integers and that fit in an `i64`.
fn plain_integer(token: &str) -> Option<i64> {
    let (negative, digits) = match token.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        all => (false, all),
    };
    let plain = matches!(digits, [b'0'] if !negative) || matches!(digits, [b'1'..=b'9', ..]);
    if !plain || digits.len() > 18 {
        return None;
    }
    // At most 18 digits: below 10^18, no overflow.
    let mut n: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(c - b'0');
    }
    Some(if negative { -n } else { n })
}

/// Where the first `"`, `\\` or control character of `bytes` is. Eight bytes at a time
/// (no SIMD on plain wasm32): for each byte the classic "has a zero/smaller byte" bit
/// tricks; the lowest flagged byte is always a real hit (borrows only run upwards).
fn stop_byte(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in chunks.by_ref() {
        let x = u64::from_le_bytes(chunk.try_into().ok()?);
        let quote = x ^ (ONES * u64::from(b'"'));
        let backslash = x ^ (ONES * u64::from(b'\\'));
        let hits = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (x.wrapping_sub(ONES * 0x20) & !x);
        let hits = hits & HIGH;
        if hits != 0 {
            return Some(offset + hits.trailing_zeros() as usize / 8);
        }
        offset += 8;
    }
    let tail = chunks.remainder();
    tail.iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|i| offset + i)
}

/// A cursor over JSON text; every method returns `None`/`false` rather than guess.
struct Parser<'a> {
    b: &'a [u8],
    s: &'a str,
    i: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.eat_if(c).then_some(())
    }

    fn eat_if(&mut self, c: u8) -> bool {
        let hit = self.b.get(self.i) == Some(&c);
        self.i += usize::from(hit);
        hit
    }

    fn literal(&mut self, word: &str) -> bool {
        let hit = self.b.get(self.i..self.i + word.len()) == Some(word.as_bytes());
        if hit {
            self.i += word.len();
        }
        hit
    }

    /// A string without escapes or control characters (which serde_json would reject or
    /// transform): its contents, borrowed.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let len = stop_byte(self.b.get(start..)?)?;
        self.i = start + len;
        self.eat(b'"')?; // not an escape or a control character
        // Both ends are ASCII quotes, so these are char boundaries of valid UTF-8.
        self.s.get(start..start + len)
    }

    /// A member name that is a catalogue field's exact name (as core's record validation
    /// matches keys). A name is plain ASCII without quotes or escapes, so "the text
    /// continues with the name and a closing quote" is the same as reading the string and
    /// comparing, without scanning for the quote first.
    fn key(&mut self) -> Option<Field> {
        self.eat(b'"')?;
        let rest = self.b.get(self.i..)?;
        let spec = FIELDS.iter().find(|spec| {
            let name = spec.name.as_bytes();
            rest.get(name.len()) == Some(&b'"') && rest.starts_with(name)
        })?;
        self.i += spec.name.len() + 1;
        Some(spec.field)
    }

    /// The characters of a number token (its grammar is checked by the caller).
    fn number(&mut self) -> Option<&'a str> {
        let start = self.i;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
        }
        (self.i > start)
            .then(|| self.s.get(start..self.i))
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use firmo_core::validate::validate_json_record_with;

    fn ctx() -> ValidationContext {
        ValidationContext::new(Date::new(2026, 11, 26).unwrap())
    }

    /// Runs the fast path; when it takes the record, its findings must be core's exactly.
    fn check(fast: &mut FastRecord, text: &str) -> bool {
        let ctx = ctx();
        let mut out = Vec::new();
        let taken = fast.validate(text, &ctx, &mut out);
        if taken {
            let parsed: serde_json::Value = serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("fast path took invalid JSON {text}: {e}"));
            assert_eq!(out, validate_json_record_with(&parsed, &ctx), "{text}");
        }
        taken
    }

    #[test]
    fn takes_well_typed_records_and_agrees_with_core() {
        let mut fast = FastRecord::default();
        for text in [
            "{}",
            " \n{ } \t",
            r#"{"industry": "Software", "headcount": 120, "revenue_range": "10m_50m",
                "tech_stack": ["AWS", "React"], "funding_stage": "series_b",
                "last_funding_date": "2024-05-02", "last_funding_amount": 25000000,
                "employee_growth_6mo": 12.5, "recent_job_postings": 14}"#,
            r#"{"headcount":0,"industry":" ","tech_stack":["AWS","aws",""]}"#,
            r#"{"funding_stage": "Series B", "revenue_range": "10b_plus", "headcount": 3}"#,
            r#"{"last_funding_date": "2099-01-01", "employee_growth_6mo": 12}"#,
            r#"{"last_funding_date": "1899-12-31", "funding_stage": null}"#,
            r#"{"employee_growth_6mo": -1e300, "recent_job_postings": -1, "tech_stack": []}"#,
            r#"{"employee_growth_6mo": 0.1, "last_funding_amount": 999999999999999999}"#,
            r#"{"employee_growth_6mo": 2.2250738585072011e-308}"#,
            r#"{"employee_growth_6mo": -0}"#,
            r#"{"industry": "Café — ☕ 日本", "tech_stack": null}"#,
        ] {
            assert!(check(&mut fast, text), "fast path should take {text}");
        }
    }

    #[test]
    fn gives_up_on_what_core_must_judge() {
        let mut fast = FastRecord::default();
        for text in [
            "[1]",
            "",
            r#"{"headcount": 120.0}"#,
            r#"{"headcount": 1e3}"#,
            r#"{"headcount": -0}"#,
            r#"{"headcount": 0120}"#,
            r#"{"headcount": "120"}"#,
            r#"{"headcount": 18446744073709551615}"#,
            r#"{"headcount": 1, "headcount": 2}"#,
            r#"{"Headcount": 1}"#,
            r#"{"head\u0063ount": 1}"#,
            r#"{"employees": 1}"#,
            r#"{"tech_stack": ["AWS", 1]}"#,
            r#"{"tech_stack": ["AWS",]}"#,
            r#"{"tech_stack": "AWS"}"#,
            r#"{"last_funding_date": "2023-02-29"}"#,
            r#"{"industry": "a\"b"}"#,
            "{\"industry\": \"tab\there\"}",
            r#"{"industry": true}"#,
            r#"{"industry": nullx}"#,
            r#"{"industry": "x"} trailing"#,
            r#"{"industry": "x",}"#,
            r#"{"industry": "#,
            r#"{"employee_growth_6mo": 1e400}"#,
            r#"{"employee_growth_6mo": 1.}"#,
        ] {
            assert!(
                !check(&mut fast, text),
                "fast path should give up on {text}"
            );
        }
    }

    #[test]
    fn reuse_across_records_leaves_nothing_behind() {
        let mut fast = FastRecord::default();
        assert!(check(
            &mut fast,
            r#"{"tech_stack": ["A", "B", "C"], "industry": "X"}"#
        ));
        assert!(check(&mut fast, r#"{"tech_stack": ["a"], "headcount": 0}"#));
        assert!(!check(&mut fast, r#"{"tech_stack": ["a", 1]}"#));
        assert!(check(&mut fast, "{}"));
        assert!(fast.values.iter().all(Option::is_none));
        assert!(
            !fast.spare_lists.is_empty() && fast.spare_strings.len() >= 3,
            "buffers are kept"
        );
    }

    #[test]
    fn stop_byte_finds_the_first_quote_backslash_or_control_character() {
        let naive = |b: &[u8]| b.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
        let mut cases: Vec<Vec<u8>> =
            vec![b"".to_vec(), b"abc".to_vec(), "ünï\"".as_bytes().to_vec()];
        for len in 0..20 {
            for at in 0..len {
                for special in [b'"', b'\\', 0, 0x1f, 0x7f, 0x80, 0xff, b' '] {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = special;
                    if at + 1 < len {
                        bytes[at + 1] = b'"';
                    }
                    cases.push(bytes);
                }
            }
        }
        for bytes in cases {
            assert_eq!(stop_byte(&bytes), naive(&bytes), "{bytes:?}");
        }
    }

    /// Every record case of the shared fixtures, compact and pretty-printed.
    #[test]
    fn agrees_with_core_on_every_fixture_record() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/rules");
        let mut fast = FastRecord::default();
        let (mut taken, mut total) = (0, 0);
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let case: serde_json::Value = serde_json::from_str(&text).unwrap();
            let Some(record) = case.get("record") else {
                continue;
            };
            for variant in [
                record.to_string(),
                serde_json::to_string_pretty(record).unwrap(),
            ] {
                total += 1;
                taken += usize::from(check(&mut fast, &variant));
            }
        }
        assert!(
            total > 20 && taken > total / 3,
            "fast path took {taken} of {total}"
        );
    }

    /// Records assembled from awkward pieces: whatever the fast path takes, it must
    /// judge exactly as core does.
    #[test]
    fn agrees_with_core_on_generated_records() {
        const KEYS: &[&str] = &[
            "industry",
            "headcount",
            "revenue_range",
            "tech_stack",
            "funding_stage",
            "last_funding_date",
            "last_funding_amount",
            "employee_growth_6mo",
            "recent_job_postings",
            "Industry",
            "extra",
        ];
        const VALUES: &[&str] = &[
            "null",
            "0",
            "-1",
            "1",
            "120",
            "5000000",
            "5000001",
            "-0",
            "12.5",
            "-100.0",
            "1000.0000001",
            "1e2",
            "1E-2",
            "0.30000000000000004",
            "123456789012345678",
            "1234567890123456789",
            "9223372036854775807",
            "-9223372036854775808",
            "\"\"",
            "\"  \"",
            "\"Software\"",
            "\"series_b\"",
            "\"Series B\"",
            "\"10m_50m\"",
            "\"2024-02-29\"",
            "\"2023-02-29\"",
            "\"1899-12-31\"",
            "\"2027-01-01\"",
            "\"2026-11-26\"",
            "[]",
            "[\"AWS\"]",
            "[\"AWS\", \"aws\", \" \"]",
            "[1]",
            "true",
            "{}",
            "\"é\"",
            "\"Logistics and Supply Chain\"",
            "\"Logistics and \\\"Supply\\\" Chain\"",
            "\"Logistics and\\tSupply\"",
            "[\"Google Analytics\", \"Amazon Web Services\"]",
            "\"   \u{3000}   \"",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut fast = FastRecord::default();
        let mut taken = 0;
        for _ in 0..20_000 {
            let members: Vec<String> = (0..next(6))
                .map(|_| {
                    format!(
                        "{:?}:{}",
                        KEYS[next(KEYS.len())],
                        VALUES[next(VALUES.len())]
                    )
                })
                .collect();
            let text = format!(
                "{{{}}}",
                members.join(if next(2) == 0 { "," } else { " , " })
            );
            taken += usize::from(check(&mut fast, &text));
        }
        assert!(
            taken > 1_000,
            "the fast path took only {taken} generated records"
        );
    }
}
