//! Value parsers for command-line options that clap cannot check by type alone.

use std::time::Duration;

/// A number of seconds between `min` and `max` (fractions allowed), as a [`Duration`];
/// refuses `inf`, `NaN`, negative and out-of-range values with a message naming the range.
pub(crate) fn seconds(
    min: f64,
    max: f64,
) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync + 'static {
    move |s| {
        let v: f64 = s.trim().parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
        if !(min..=max).contains(&v) {
            return Err(format!("must be between {min} and {max} seconds, got {s}"));
        }
        Duration::try_from_secs_f64(v).map_err(|e| format!("{s}: {e}"))
    }
}

/// [`seconds`], or 0 ([`Duration::ZERO`]) to turn the feature off.
pub(crate) fn seconds_or_off(
    min: f64,
    max: f64,
) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync + 'static {
    let on = seconds(min, max);
    move |s| match s.trim().parse::<f64>() {
        Ok(0.0) => Ok(Duration::ZERO),
        _ => on(s).map_err(|e| format!("{e} (or 0 for off)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_refuse_what_a_duration_cannot_hold() {
        let p = seconds(0.001, 3600.0);
        assert_eq!(p("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(p("0.001"), Ok(Duration::from_millis(1)));
        for bad in ["inf", "-inf", "NaN", "-1", "0", "1e300", "3601", "five", ""] {
            let e = p(bad).unwrap_err();
            assert!(e.contains("seconds"), "{bad}: {e}");
        }
        let off = seconds_or_off(0.1, 3600.0);
        assert_eq!(off("0"), Ok(Duration::ZERO));
        assert_eq!(off("30"), Ok(Duration::from_secs(30)));
        assert!(off("0.01").unwrap_err().contains("or 0 for off"));
        assert!(off("inf").is_err());
    }
}
