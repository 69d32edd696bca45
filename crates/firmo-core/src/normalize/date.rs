//! Dates: ISO dates and datetimes, year-months, years, epoch timestamps and spelled-out
//! month names, to one calendar date (UTC). The decisions, and why, are in the docs of the public function below.

use super::NormalizeError;
use crate::value::{Date, UnixMillis};

const WHAT: &str = "date";
const MINUTES_PER_DAY: i64 = 24 * 60;
/// Below this magnitude an epoch value is read as seconds: 1e11 s is the year 5138,
/// while 1e11 ms is 1973-03-03, so only millisecond instants from before March 1973
/// are misread (as seconds), and firmo's dates (funding rounds) don't go there.
const SECONDS_LIMIT: i64 = 100_000_000_000;

/// A provider's date or datetime as a calendar [`Date`] (UTC): ISO dates and datetimes,
/// year-months, years, epoch timestamps and spelled-out month names.
///
/// Decisions:
/// - **A datetime becomes its UTC date**: `2024-01-15T23:30:00-02:00` is 2024-01-16. firmo
///   writes dates as HubSpot `date` properties, which are midnight UTC; a datetime with
///   no offset is taken as UTC.
/// - **A partial date is its first day**: `2024-01` → 2024-01-01, `2024` → 2024-01-01
///   (the earliest day it can mean; providers send these for rounds known only by month).
/// - **A digit string is an epoch timestamp** ([`date_from_millis`], so seconds are
///   recognized too), except exactly four digits (a year) and exactly eight digits
///   forming a valid `YYYYMMDD` in 1900..=2100 (ISO basic format; as epoch seconds or
///   milliseconds those digits would fall in 1970, which no funding date does).
/// - **Day/month order must be unambiguous**: `15/01/2024` and `01/15/2024` are rejected
///   (rather than guessed: `03/04/2024` is March in one country and April in another);
///   year-first `2024/01/15` and month names (`Jan 15, 2024`, `15 January 2024`) are read.
pub fn date(input: &str) -> Result<Date, NormalizeError> {
    let err = |reason: &str| NormalizeError::new(WHAT, input, reason);
    let s = input.trim();
    if s.is_empty() {
        return Err(err("it is empty"));
    }
    // The longest form read here (a datetime with nanoseconds and an offset) is 35.
    if s.len() > 100 {
        return Err(err("it is too long to be a date"));
    }
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return digits_only(s).ok_or_else(|| err("it is outside the years 1 to 9999"));
    }
    let b = s.as_bytes();
    if b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && matches!(b[4], b'-' | b'/') {
        return year_first(s).map_err(err);
    }
    if s.bytes().any(|b| b.is_ascii_alphabetic()) {
        return with_month_name(s).ok_or_else(|| err("it is not a date format firmo reads"));
    }
    if s.contains(['/', '.', '-']) {
        return Err(err(
            "the order of day and month is ambiguous; use YYYY-MM-DD",
        ));
    }
    Err(err("it is not a date format firmo reads"))
}

/// The UTC date of an epoch timestamp in milliseconds. A value whose magnitude is below
/// 1e11 is taken as **seconds** (Unix tools and some APIs send those): as milliseconds it
/// would be a date before March 1973, as seconds it covers every date up to the year 5138.
pub fn date_from_millis(ms: i64) -> Result<Date, NormalizeError> {
    let millis = if ms.unsigned_abs() < SECONDS_LIMIT.unsigned_abs() {
        ms * 1000
    } else {
        ms
    };
    UnixMillis(millis).date().ok_or_else(|| {
        NormalizeError::new(WHAT, &ms.to_string(), "it is outside the years 1 to 9999")
    })
}

fn digits_only(s: &str) -> Option<Date> {
    match s.len() {
        4 => Date::new(s.parse().ok()?, 1, 1),
        8 => match ymd_basic(s) {
            Some(d) => Some(d),
            None => date_from_millis(s.parse().ok()?).ok(),
        },
        _ => date_from_millis(s.parse().ok()?).ok(),
    }
}

/// `YYYYMMDD` with a year in 1900..=2100.
fn ymd_basic(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    let year = num(b, 0, 4)?;
    if !(1900..=2100).contains(&year) {
        return None;
    }
    Date::new(year as i32, num(b, 4, 6)? as u8, num(b, 6, 8)? as u8)
}

/// The number in `b[from..to]`, if those bytes exist and are all ASCII digits.
fn num(b: &[u8], from: usize, to: usize) -> Option<u32> {
    let part = b.get(from..to)?;
    if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    part.iter().try_fold(0u32, |n, d| {
        n.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })
}

/// `YYYY-MM`, `YYYY-MM-DD`, `YYYY/MM/DD`, and `YYYY-MM-DD` followed by a time.
fn year_first(s: &str) -> Result<Date, &'static str> {
    const BAD: &str = "it is not a YYYY-MM-DD date";
    let b = s.as_bytes();
    let sep = b[4];
    let year = num(b, 0, 4).ok_or(BAD)? as i32;
    let month = num(b, 5, 7).ok_or(BAD)?;
    let month = u8::try_from(month).map_err(|_| BAD)?;
    if b.len() == 7 {
        return Date::new(year, month, 1).ok_or("it names no month that exists");
    }
    if b.get(7) != Some(&sep) {
        return Err(BAD);
    }
    let day = num(b, 8, 10).ok_or(BAD)?;
    let date = Date::new(year, month, day as u8).ok_or("it names a day that does not exist")?;
    match b.get(10) {
        None => Ok(date),
        Some(b'T' | b't' | b' ') if sep == b'-' => {
            let shift = time_shift(&s[11..]).ok_or("its time of day is not HH:MM[:SS][zone]")?;
            Date::from_days_since_epoch(date.days_since_epoch() + shift)
                .ok_or("it is outside the years 1 to 9999")
        }
        Some(_) => Err(BAD),
    }
}

/// Parses `HH:MM[:SS[.fff]][Z|±HH[:MM]|±HHMM| UTC]` and returns the days to add to the
/// local date to get the UTC date (-1, 0 or +1).
fn time_shift(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    let hour = num(b, 0, 2)?;
    let minute = num(b, 3, 5)?;
    if b.get(2) != Some(&b':') || hour > 23 || minute > 59 {
        return None;
    }
    let mut i = 5;
    if b.get(i) == Some(&b':') {
        if num(b, i + 1, i + 3)? > 60 {
            return None;
        }
        i += 3;
        if matches!(b.get(i), Some(b'.' | b',')) {
            let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            i += 1 + digits;
        }
    }
    let zone = t.get(i..)?.trim();
    let offset_minutes = match zone {
        "" | "Z" | "z" | "UTC" | "GMT" => 0,
        _ => {
            let z = zone.as_bytes();
            let sign = match z[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hours = num(z, 1, 3)?;
            let minutes = match z.len() {
                3 => 0,
                5 => num(z, 3, 5)?,
                6 if z[3] == b':' => num(z, 4, 6)?,
                _ => return None,
            };
            if hours > 23 || minutes > 59 {
                return None;
            }
            sign * i64::from(hours * 60 + minutes)
        }
    };
    let utc_minutes = i64::from(hour * 60 + minute) - offset_minutes;
    Some(utc_minutes.div_euclid(MINUTES_PER_DAY))
}

/// `Jan 15, 2024`, `January 15 2024`, `15 Jan 2024`, `15th January, 2024`, `Jan 2024`:
/// one month name, one four-digit year, at most one day.
fn with_month_name(s: &str) -> Option<Date> {
    let (mut year, mut month, mut day) = (None, None, None);
    for token in s
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
    {
        let lower = token.trim_end_matches('.').to_ascii_lowercase();
        if WEEKDAYS
            .iter()
            .any(|d| *d == lower || (lower.len() >= 3 && d.starts_with(&*lower)))
        {
            // `Monday, January 15, 2024`: the weekday adds nothing (and isn't checked).
            continue;
        }
        if let Some(m) = month_number(&lower) {
            if month.replace(m).is_some() {
                return None;
            }
            continue;
        }
        let digits = lower.trim_end_matches(['s', 't', 'n', 'd', 'r', 'h']);
        let b = digits.as_bytes();
        match b.len() {
            4 if year.is_none() && digits == lower => year = Some(num(b, 0, 4)? as i32),
            1 | 2 if day.is_none() && ordinal_ok(digits, &lower) => {
                day = Some(num(b, 0, b.len())? as u8);
            }
            _ => return None,
        }
    }
    Date::new(year?, month?, day.unwrap_or(1))
}

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// `15`, `15th`, `1st`, `2nd`, `3rd`: the suffix, if any, must be an English ordinal.
fn ordinal_ok(digits: &str, token: &str) -> bool {
    let suffix = &token[digits.len()..];
    matches!(suffix, "" | "st" | "nd" | "rd" | "th")
}

fn month_number(name: &str) -> Option<u8> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    if name.len() < 3 {
        return None;
    }
    let position = MONTHS.iter().position(|m| {
        // Full name, three-letter abbreviation, or `Sept`.
        *m == name
            || (name.len() == 3 && m.starts_with(name))
            || (name == "sept" && *m == "september")
    })?;
    Some(position as u8 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> String {
        date(input)
            .unwrap_or_else(|e| panic!("{input:?}: {e}"))
            .to_string()
    }

    #[test]
    fn reads_iso_dates_and_partial_dates() {
        for (input, expected) in [
            ("2024-01-15", "2024-01-15"),
            (" 2024-01-15 ", "2024-01-15"),
            ("2024-02-29", "2024-02-29"),
            ("2024-01", "2024-01-01"),
            ("2024", "2024-01-01"),
            ("2024/01/15", "2024-01-15"),
            ("20240115", "2024-01-15"),
            ("1999-12-31", "1999-12-31"),
        ] {
            assert_eq!(ok(input), expected, "{input:?}");
        }
    }

    #[test]
    fn datetimes_become_their_utc_date() {
        for (input, expected) in [
            ("2024-01-15T10:20:30Z", "2024-01-15"),
            ("2024-01-15T10:20:30.123+02:00", "2024-01-15"),
            ("2024-01-15T01:00:00+02:00", "2024-01-14"),
            ("2024-01-15T23:30:00-02:00", "2024-01-16"),
            ("2024-01-15T23:30:00-0200", "2024-01-16"),
            ("2024-01-15T23:30:00-02", "2024-01-16"),
            ("2024-01-15T10:20", "2024-01-15"),
            ("2024-01-15 10:20:30", "2024-01-15"),
            ("2024-01-15 10:20:30 UTC", "2024-01-15"),
            ("2024-01-15t10:20:30z", "2024-01-15"),
            ("2024-01-15T10:20:30.123456789Z", "2024-01-15"),
            ("2024-12-31T23:59:59-05:00", "2025-01-01"),
            ("2024-03-01T00:30:00+01:00", "2024-02-29"),
            ("2024-01-15T12:00:00+14:00", "2024-01-14"),
        ] {
            assert_eq!(ok(input), expected, "{input:?}");
        }
    }

    #[test]
    fn reads_epoch_milliseconds_and_seconds() {
        assert_eq!(ok("1705312800000"), "2024-01-15");
        assert_eq!(ok("1705312800"), "2024-01-15");
        assert_eq!(ok("0"), "1970-01-01");
        assert_eq!(ok("-864000000000"), "1942-08-16");
        assert_eq!(ok("-86400"), "1969-12-31", "seconds");
        assert_eq!(
            date_from_millis(1_705_312_800_000).unwrap().to_string(),
            "2024-01-15"
        );
        assert_eq!(
            date_from_millis(1_705_312_800).unwrap().to_string(),
            "2024-01-15"
        );
        assert_eq!(date_from_millis(-1).unwrap().to_string(), "1969-12-31");
        // Just above the seconds limit: milliseconds, 1973-03-03.
        assert_eq!(
            date_from_millis(100_000_000_000).unwrap().to_string(),
            "1973-03-03"
        );
        // Just below: seconds, the year 5138.
        assert_eq!(date_from_millis(99_999_999_999).unwrap().year(), 5138);
        for bad in [i64::MAX, i64::MIN, 300_000_000_000_000, -62_200_000_000_000] {
            let err = date_from_millis(bad).unwrap_err();
            assert!(err.reason.contains("outside"), "{bad}: {err}");
        }
        assert!(date("99999999999999999999999").is_err());
    }

    #[test]
    fn reads_month_names() {
        for (input, expected) in [
            ("Jan 15, 2024", "2024-01-15"),
            ("January 15 2024", "2024-01-15"),
            ("15 Jan 2024", "2024-01-15"),
            ("15th January, 2024", "2024-01-15"),
            ("Sept. 1, 2023", "2023-09-01"),
            ("1st Mar 2023", "2023-03-01"),
            ("March 2023", "2023-03-01"),
            ("2023 Dec 24", "2023-12-24"),
            ("DECEMBER 24, 2023", "2023-12-24"),
            ("Monday, January 15, 2024", "2024-01-15"),
            ("Mon 15 Jan 2024", "2024-01-15"),
            ("Thurs., Feb 1, 2024", "2024-02-01"),
        ] {
            assert_eq!(ok(input), expected, "{input:?}");
        }
    }

    #[test]
    fn rejects_ambiguous_impossible_and_garbage() {
        for (input, reason) in [
            ("", "empty"),
            ("15/01/2024", "ambiguous"),
            ("01/15/2024", "ambiguous"),
            ("15.01.2024", "ambiguous"),
            ("15-01-2024", "ambiguous"),
            ("2023-02-29", "does not exist"),
            ("2024-13", "no month"),
            ("2024-00-10", "does not exist"),
            ("2024-1-5", "YYYY-MM-DD"),
            ("2024-01-15T25:00:00Z", "time of day"),
            ("2024-01-15T10:20:30+25:00", "time of day"),
            ("2024-01-15T10:20:30 PST", "time of day"),
            ("2024-01-15T", "time of day"),
            ("2024-01-15T10:20:30.Z", "time of day"),
            ("2024/01/15T10:00", "YYYY-MM-DD"),
            ("2024-01/15", "YYYY-MM-DD"),
            ("2024-01-15x", "YYYY-MM-DD"),
            ("0000", "outside"),
            ("yesterday", "format"),
            ("Jan 32, 2024", "format"),
            ("Feb 30, 2024", "format"),
            ("Jan Feb 2024", "format"),
            ("Mo Jan 15 2024", "format"),
            ("Mon, 15 Jan 2024 10:20:30 GMT", "format"),
            ("Jan 15", "format"),
            ("15 15 Jan 2024", "format"),
            ("Jan 15xx, 2024", "format"),
            ("n/a", "format"),
            ("2024-01-15T10:20:30+02:00:00", "time of day"),
            ("2024-01-1５", "YYYY-MM-DD"),
        ] {
            let err = date(input).expect_err(input);
            assert!(err.reason.contains(reason), "{input:?}: {err}");
        }
        assert_eq!(
            date("9999-12-31T23:00:00-02:00").unwrap_err().reason,
            "it is outside the years 1 to 9999"
        );
        assert!(date(&"2024-01-15T".repeat(100_000)).is_err());
        assert!(
            date(&"9".repeat(1 << 20))
                .unwrap_err()
                .reason
                .contains("too long")
        );
    }
}
