//! Durations as suites write them: `250ms`, `10s`, `2m`.

use std::time::Duration;

/// Parses `<integer><unit>` with unit `ms`, `s` or `m`. Errors read after "failed to
/// parse duration: ...".
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{s}` has no unit (expected e.g. `250ms`, `10s`, `2m`)"))?;
    let (digits, unit) = t.split_at(split);
    if digits.is_empty() {
        return Err(format!(
            "`{s}` does not start with a number (expected e.g. `250ms`, `10s`, `2m`)"
        ));
    }
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}`: number `{digits}` is too large"))?;
    let millis_per_unit = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        other => {
            return Err(format!(
                "`{s}` has unknown unit `{other}` (expected `ms`, `s` or `m`)"
            ))
        }
    };
    let millis = n
        .checked_mul(millis_per_unit)
        .ok_or_else(|| format!("`{s}` is too large"))?;
    Ok(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_unit() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration(" 0s "), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_bad_input_with_a_reason() {
        for (input, needle) in [
            ("10", "no unit"),
            ("s", "does not start with a number"),
            ("", "no unit"),
            ("1.5s", "unknown unit `.5s`"),
            ("10h", "unknown unit `h`"),
            ("-1s", "does not start with a number"),
            ("99999999999999999999s", "too large"),
            ("18446744073709551615m", "too large"),
        ] {
            let err = parse_duration(input).unwrap_err();
            assert!(err.contains(needle), "{input:?}: {err}");
        }
    }
}
