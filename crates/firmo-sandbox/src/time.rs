//! Timestamps as HubSpot writes them: epoch milliseconds inside, ISO 8601 with
//! milliseconds and `Z` outside (`2019-10-30T03:30:17.883Z`).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use firmo_core::value::Date;

pub(crate) const DAY_MS: i64 = 86_400_000;

/// A wall clock that never goes backwards. Several writes may share a millisecond, as
/// they do in HubSpot: a cursor on `hs_lastmodifieddate` must cope with that.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    last: AtomicI64,
}

impl Clock {
    pub(crate) fn now_ms(&self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let previous = self.last.fetch_max(wall, Ordering::SeqCst);
        wall.max(previous)
    }

    /// Never hand out a time before `ms` (used after loading a state file).
    pub(crate) fn advance_to(&self, ms: i64) {
        self.last.fetch_max(ms, Ordering::SeqCst);
    }
}

/// `2019-10-30T03:30:17.883Z`.
pub(crate) fn iso_millis(ms: i64) -> String {
    let days = ms.div_euclid(DAY_MS);
    let in_day = ms.rem_euclid(DAY_MS);
    let date =
        Date::from_days_since_epoch(days).map_or_else(|| "1970-01-01".into(), |d| d.to_string());
    let (h, rest) = (in_day / 3_600_000, in_day % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, milli) = (rest / 1000, rest % 1000);
    format!("{date}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// `HH:MM:SS.mmm` of an instant, for HubSpot's "is at … UTC, not midnight!" message.
pub(crate) fn time_of_day(ms: i64) -> String {
    let iso = iso_millis(ms);
    iso[11..iso.len() - 1].to_string()
}

/// Epoch ms of `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff]](Z|±HH:MM)`.
pub(crate) fn parse_iso(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.len() == 10 {
        return Date::parse_iso(s).map(Date::midnight_utc_millis);
    }
    let (date, rest) = s.split_at_checked(10)?;
    let date = Date::parse_iso(date)?;
    let rest = rest.strip_prefix(['T', ' '])?;
    let (clock, offset_ms) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let sign_at = rest.rfind(['+', '-'])?;
        let (c, off) = rest.split_at(sign_at);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let off = off[1..].replace(':', "");
        if off.len() != 4 || !off.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let hours: i64 = off[..2].parse().ok()?;
        let minutes: i64 = off[2..].parse().ok()?;
        (c, sign * (hours * 3_600_000 + minutes * 60_000))
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut parts = hms.split(':');
    let h: i64 = parse_2(parts.next()?)?;
    let m: i64 = parse_2(parts.next()?)?;
    let sec: i64 = parts.next().map_or(Some(0), parse_2)?;
    if parts.next().is_some() || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let milli: i64 = if frac.is_empty() {
        0
    } else {
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let padded = format!("{frac:0<3}");
        padded[..3].parse().ok()?
    };
    Some(date.midnight_utc_millis() + h * 3_600_000 + m * 60_000 + sec * 1000 + milli - offset_ms)
}

fn parse_2(s: &str) -> Option<i64> {
    if s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// `YYYY-MM-DD` of a midnight instant.
pub(crate) fn ymd(ms: i64) -> Option<String> {
    Date::from_days_since_epoch(ms.div_euclid(DAY_MS)).map(|d| d.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_hubspot() {
        assert_eq!(iso_millis(1_572_406_217_883), "2019-10-30T03:30:17.883Z");
        assert_eq!(iso_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(time_of_day(1_635_535_865_000 % DAY_MS), "19:31:05.000");
    }

    #[test]
    fn parses_iso_forms() {
        assert_eq!(
            parse_iso("2019-10-30T03:30:17.883Z"),
            Some(1_572_406_217_883)
        );
        assert_eq!(parse_iso("2019-10-30"), Some(1_572_393_600_000));
        assert_eq!(
            parse_iso("2019-10-30T05:30:17.883+02:00"),
            Some(1_572_406_217_883)
        );
        assert_eq!(parse_iso("2019-10-30T03:30Z"), Some(1_572_406_200_000));
        assert_eq!(parse_iso("2019-10-30T25:00:00Z"), None);
        assert_eq!(parse_iso("2019-13-30"), None);
        assert_eq!(parse_iso("yesterday"), None);
    }

    #[test]
    fn clock_never_goes_back() {
        let clock = Clock::default();
        clock.advance_to(i64::MAX / 2);
        assert_eq!(clock.now_ms(), i64::MAX / 2);
    }
}
