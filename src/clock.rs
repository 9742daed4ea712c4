//! Wall-clock time in Unix seconds, injectable so tests can expire an approval without waiting.

use std::sync::atomic::{AtomicI64, Ordering};

pub trait WallClock: Send + Sync + std::fmt::Debug {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;
}

#[derive(Debug, Default)]
pub struct SystemWallClock;

impl WallClock for SystemWallClock {
    /// A clock before 1970 reads as 0: deadlines then look long past, which refuses rather
    /// than allows.
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct TestClock(AtomicI64);

impl TestClock {
    pub fn at(unix_secs: i64) -> Self {
        Self(AtomicI64::new(unix_secs))
    }

    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl WallClock for TestClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Calendar date and time of day (UTC) for a Unix time: (year, month, day, hour, minute, second).
pub fn civil(unix_secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = unix_secs.div_euclid(86_400);
    let secs = unix_secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm), exact for the proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, secs / 3600, secs % 3600 / 60, secs % 60)
}

/// `2026-11-28 14:05:09 UTC` for a Unix time; used in cards, audit exports and chat output.
pub fn format_utc(unix_secs: i64) -> String {
    let (year, month, day, hour, minute, second) = civil(unix_secs);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02} UTC")
}

/// Unix seconds at midnight UTC of a civil date (the inverse of `civil`'s date part).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A time as people type it on the command line, in Unix seconds: a date (`2026-12-01`, its
/// midnight UTC), a date and time in UTC (`2026-12-01T09:30:00Z`, `2026-12-01 09:30`), or a
/// span back from `now` (`90m`, `24h`, `7d`). The error says what is accepted.
pub fn parse_time(text: &str, now: i64) -> Result<i64, String> {
    let text = text.trim();
    let refuse = || {
        format!("'{text}' is not a time: use a date (2026-12-01), a UTC date and time (2026-12-01T09:30:00Z) or a span back from now (90m, 24h, 7d)")
    };
    if let Some((number, unit)) = text
        .find(|c: char| !c.is_ascii_digit())
        .filter(|i| *i > 0)
        .map(|i| text.split_at(i))
    {
        let seconds = match unit {
            "m" => 60,
            "h" => 3_600,
            "d" => 86_400,
            _ => 0,
        };
        if seconds > 0 {
            let n: i64 = number.parse().map_err(|_| refuse())?;
            return Ok(now - n * seconds);
        }
    }
    let text = text.trim_end_matches(" UTC").trim_end_matches('Z');
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return Err(refuse());
    };
    let number = |s: &str, range: std::ops::RangeInclusive<i64>| {
        s.parse::<i64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(refuse)
    };
    let (year, month, day) = (
        number(year, 1970..=9999)?,
        number(month, 1..=12)?,
        number(day, 1..=31)?,
    );
    let mut secs = days_from_civil(year, month, day) * 86_400;
    if let Some(time) = time {
        let parts: Vec<&str> = time.split(':').collect();
        let (hour, minute, second) = match parts.as_slice() {
            [h, m] => (number(h, 0..=23)?, number(m, 0..=59)?, 0),
            [h, m, s] => (number(h, 0..=23)?, number(m, 0..=59)?, number(s, 0..=60)?),
            _ => return Err(refuse()),
        };
        secs += hour * 3_600 + minute * 60 + second;
    }
    Ok(secs)
}

/// Unix seconds of a time as Okta writes it (`2026-12-06T09:14:03.512Z`, fractions dropped);
/// `None` for anything else.
pub fn parse_okta_time(text: &str) -> Option<i64> {
    let whole = match text.split_once('.') {
        Some((whole, fraction)) if fraction.ends_with('Z') => whole,
        Some(_) => return None,
        None => text,
    };
    if !whole.contains('T') {
        return None;
    }
    parse_time(whole, 0).ok()
}

/// `2026-11-28T14:05:09.000Z`, as Okta writes and reads times (the System Log's `since`).
pub fn format_iso(unix_secs: i64) -> String {
    let (year, month, day, hour, minute, second) = civil(unix_secs);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.000Z")
}

/// A length of time in words: "8 hours", "90 minutes", "2 days", "1 day 6 hours".
pub fn format_duration(seconds: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
    );
    match (days, hours, minutes) {
        (0, 0, m) => plural(m.max(1), "minute"),
        (0, h, 0) => plural(h, "hour"),
        (0, h, m) => format!("{} {}", plural(h, "hour"), plural(m, "minute")),
        (d, 0, _) => plural(d, "day"),
        (d, h, _) => format!("{} {}", plural(d, "day"), plural(h, "hour")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_words() {
        assert_eq!(format_duration(8 * 3_600), "8 hours");
        assert_eq!(format_duration(90 * 60), "1 hour 30 minutes");
        assert_eq!(format_duration(3_600), "1 hour");
        assert_eq!(format_duration(2 * 86_400), "2 days");
        assert_eq!(format_duration(30 * 3_600), "1 day 6 hours");
        assert_eq!(format_duration(20), "1 minute");
    }

    #[test]
    fn times_typed_on_the_command_line() {
        let now = 1_795_874_709;
        assert_eq!(parse_time("2026-11-28", now), Ok(1_795_824_000));
        assert_eq!(parse_time("2026-11-28T14:05:09Z", now), Ok(now));
        assert_eq!(parse_time("2026-11-28 14:05", now), Ok(now - 9));
        assert_eq!(parse_time("2000-02-29", now), Ok(951_782_400));
        assert_eq!(parse_time("24h", now), Ok(now - 86_400));
        assert_eq!(parse_time("90m", now), Ok(now - 5_400));
        assert_eq!(parse_time("7d", now), Ok(now - 7 * 86_400));
        for bad in [
            "yesterday",
            "2026-13-01",
            "2026-11",
            "12x",
            "",
            "2026-11-28T25:00",
        ] {
            let err = parse_time(bad, now).unwrap_err();
            assert!(err.contains("is not a time"), "{bad}: {err}");
        }
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(1_795_874_709), "2026-11-28 14:05:09 UTC");
        assert_eq!(format_iso(1_795_874_709), "2026-11-28T14:05:09.000Z");
    }
}
