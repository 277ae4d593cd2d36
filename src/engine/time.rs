//! Times for log queries: `--since` as RFC 3339, a Unix timestamp or a duration back from now,
//! and the RFC 3339 timestamps the engine puts in front of log lines (to merge services by time).

/// Why a `--since` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a time: use RFC 3339 (2024-05-01T10:00:00Z), a Unix timestamp, or a duration such as 90s, 10m, 1h30m, 2d"
)]
pub struct BadTime(pub String);

/// `--since TEXT` as Unix seconds, relative to `now` (Unix seconds) for durations.
pub fn parse_since(text: &str, now: i64) -> Result<i64, BadTime> {
    let bad = || BadTime(text.to_string());
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map_err(|_| bad());
    }
    if let Some((seconds, _)) = parse_rfc3339(text) {
        return Ok(seconds);
    }
    parse_duration(text).map(|d| now - d).ok_or_else(bad)
}

/// `1h30m`, `90s`, `2d` → seconds.
fn parse_duration(text: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut number = String::new();
    let mut any = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return None,
        };
        let n: i64 = number.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        number.clear();
        any = true;
    }
    (any && number.is_empty()).then_some(total)
}

/// `2024-05-01T10:00:00.123456789Z` or `…+02:00` → (Unix seconds, nanoseconds).
pub fn parse_rfc3339(text: &str) -> Option<(i64, u32)> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos: u32 = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let kept = &frac[..digits.min(9)];
        nanos = kept.parse::<u32>().ok()? * 10u32.pow(u32::try_from(9 - kept.len()).ok()?);
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let zone = rest.get(1..)?;
            let (h, m) = zone.split_once(':')?;
            if h.len() != 2 || m.len() != 2 {
                return None;
            }
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    Some((
        days * 86400 + hour * 3600 + minute * 60 + second - offset,
        nanos,
    ))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Splits an engine log line `TIMESTAMP rest` into its time and the rest.
pub fn split_timestamp(line: &str) -> Option<((i64, u32), &str)> {
    let (stamp, rest) = line.split_once(' ')?;
    Some((parse_rfc3339(stamp)?, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_with_zone_and_fraction() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(
            parse_rfc3339("2024-05-01T10:00:00Z"),
            Some((1_714_557_600, 0))
        );
        assert_eq!(
            parse_rfc3339("2024-05-01T12:00:00.5+02:00"),
            Some((1_714_557_600, 500_000_000))
        );
        assert_eq!(
            parse_rfc3339("2024-05-01T10:00:00.123456789123Z"),
            Some((1_714_557_600, 123_456_789))
        );
        for bad in [
            "2024-05-01",
            "2024-13-01T00:00:00Z",
            "2024-05-01T10:00:00",
            "x",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn since_takes_durations_timestamps_and_dates() {
        let now = 1_000_000;
        assert_eq!(parse_since("10m", now), Ok(now - 600));
        assert_eq!(parse_since("1h30m", now), Ok(now - 5400));
        assert_eq!(parse_since("2d", now), Ok(now - 172_800));
        assert_eq!(parse_since("1714557600", now), Ok(1_714_557_600));
        assert_eq!(parse_since("2024-05-01T10:00:00Z", now), Ok(1_714_557_600));
        for bad in ["", "m", "10x", "1h30", "yesterday", "-5m"] {
            assert!(parse_since(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn engine_lines_split_into_time_and_text() {
        let ((s, n), rest) =
            split_timestamp("2024-05-01T10:00:00.000000001Z hello world").expect("split");
        assert_eq!((s, n, rest), (1_714_557_600, 1, "hello world"));
        assert!(split_timestamp("no timestamp here").is_none());
    }
}
