//! Punycode encoding (RFC 3492), the ASCII form of an internationalized domain label.
//!
//! Written here rather than pulled from the `idna` crate: that crate carries the Unicode
//! mapping tables, which would cost the WASM module far more than this encoder does.
//! Only encoding is needed (firmo stores `xn--` labels; it never displays decoded ones).

const BASE: u32 = 36;
const T_MIN: u32 = 1;
const T_MAX: u32 = 26;
const SKEW: u32 = 38;
const DAMP: u32 = 700;
const INITIAL_BIAS: u32 = 72;
const INITIAL_N: u32 = 128;

/// Encodes `input` as Punycode (without the `xn--` prefix). `None` only if a delta
/// overflows, which RFC 3492 §6.4 says must be reported rather than wrapped; labels
/// short enough for DNS never get there.
// The single-letter names are RFC 3492's own (n, m, q, k, t), kept to check against it.
#[allow(clippy::many_single_char_names)]
pub(crate) fn encode(input: &str) -> Option<String> {
    let code_points: Vec<u32> = input.chars().map(u32::from).collect();
    let mut output: String = input.chars().filter(char::is_ascii).collect();
    let basic = u32::try_from(output.len()).ok()?;
    let total = u32::try_from(code_points.len()).ok()?;
    if basic > 0 {
        output.push('-');
    }

    let mut n = INITIAL_N;
    let mut delta: u32 = 0;
    let mut bias = INITIAL_BIAS;
    let mut handled = basic;
    while handled < total {
        // The smallest code point not yet handled; one exists because handled < total.
        let m = code_points.iter().copied().filter(|&c| c >= n).min()?;
        delta = delta.checked_add((m - n).checked_mul(handled + 1)?)?;
        n = m;
        for &c in &code_points {
            if c < n {
                delta = delta.checked_add(1)?;
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = threshold(k, bias);
                    if q < t {
                        break;
                    }
                    output.push(digit(t + (q - t) % (BASE - t)));
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                output.push(digit(q));
                bias = adapt(delta, handled + 1, handled == basic);
                delta = 0;
                handled += 1;
            }
        }
        delta = delta.checked_add(1)?;
        n = n.checked_add(1)?;
    }
    Some(output)
}

fn threshold(k: u32, bias: u32) -> u32 {
    if k <= bias {
        T_MIN
    } else if k >= bias + T_MAX {
        T_MAX
    } else {
        k - bias
    }
}

/// Bias adaptation, RFC 3492 §6.1.
fn adapt(delta: u32, num_points: u32, first_time: bool) -> u32 {
    let mut delta = if first_time { delta / DAMP } else { delta / 2 };
    delta += delta / num_points;
    let mut k = 0;
    while delta > ((BASE - T_MIN) * T_MAX) / 2 {
        delta /= BASE - T_MIN;
        k += BASE;
    }
    k + (BASE - T_MIN + 1) * delta / (delta + SKEW)
}

/// The digit for `d` in 0..36: `a`..`z` then `0`..`9`.
fn digit(d: u32) -> char {
    let byte = if d < 26 {
        b'a' + d as u8
    } else {
        b'0' + (d - 26) as u8
    };
    char::from(byte)
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn encodes_rfc_3492_samples() {
        // RFC 3492 §7.1 samples (case of basic code points is kept, as the RFC does).
        let samples = [
            ("ليهمابتكلموشعربي؟", "egbpdaj6bu4bxfgehfvwxn"),
            ("他们为什么不说中文", "ihqwcrb4cv8a8dqg056pqjye"),
            ("他們爲什麽不說中文", "ihqwctvzc91f659drss3x8bo0yb"),
            ("Pročprostěnemluvíčesky", "Proprostnemluvesky-uyb24dma41a"),
            (
                "なぜみんな日本語を話してくれないのか",
                "n8jok5ay5dzabd5bym9f0cm5685rrjetr6pdxa",
            ),
            ("3年B組金八先生", "3B-ww4c5e180e575a65lsy2b"),
            (
                "安室奈美恵-with-SUPER-MONKEYS",
                "-with-SUPER-MONKEYS-pc58ag80a8qai00g7n9n",
            ),
            (
                "Hello-Another-Way-それぞれの場所",
                "Hello-Another-Way--fc4qua05auwb3674vfr0b",
            ),
            ("ひとつ屋根の下2", "2-u9tlzr9756bt3uc0v"),
            ("パフィーdeルンバ", "de-jg4avhby1noc0d"),
            ("そのスピードで", "d9juau41awczczp"),
        ];
        for (input, expected) in samples {
            assert_eq!(encode(input).as_deref(), Some(expected), "{input}");
        }
    }

    #[test]
    fn encodes_common_domain_labels() {
        assert_eq!(encode("münchen").as_deref(), Some("mnchen-3ya"));
        assert_eq!(encode("bücher").as_deref(), Some("bcher-kva"));
        assert_eq!(encode("españa").as_deref(), Some("espaa-rta"));
        assert_eq!(encode("中国").as_deref(), Some("fiqs8s"));
        assert_eq!(encode("日本語").as_deref(), Some("wgv71a119e"));
        // All-ASCII input gets the delimiter and nothing else (callers never ask for it).
        assert_eq!(encode("abc").as_deref(), Some("abc-"));
        assert_eq!(encode("").as_deref(), Some(""));
    }

    #[test]
    fn survives_extreme_code_points() {
        // The highest code point, repeated, must not overflow silently.
        let max = char::MAX.to_string().repeat(40);
        let _ = encode(&max);
        assert!(encode("\u{10FFFF}").is_some());
    }
}
