//! The server's notion of "now": the real time, or, for operations and tests, the real
//! time moved by a fixed offset, so that a server can be put before, near or after a
//! deadline. Everything that decides lateness, lights and reminders reads this clock.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::service::period::city_offset;

/// The clock a server runs on: the real time plus `offset` (zero unless configured).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    offset: TimeDelta,
}

impl Clock {
    /// The real time.
    pub fn real() -> Self {
        Self::default()
    }

    /// A clock `days` days ahead of the real one (behind when negative)
    /// (`ECOPLAN_CLOCK_OFFSET_DAYS`).
    pub fn offset_by_days(days: i64) -> Self {
        Self {
            offset: TimeDelta::try_days(days).unwrap_or_default(),
        }
    }

    /// A clock that reads `now` at this instant and runs on from there (`ECOPLAN_NOW`).
    pub fn starting_at(now: DateTime<Utc>) -> Self {
        Self {
            offset: now - Utc::now(),
        }
    }

    /// Parses `ECOPLAN_NOW`: an RFC 3339 time (`2022-07-08T09:00:00+08:00`) or a date
    /// (`2022-07-08`, taken as 09:00 city time).
    pub fn parse_now(raw: &str) -> anyhow::Result<Self> {
        let raw = raw.trim();
        if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
            return Ok(Self::starting_at(at.with_timezone(&Utc)));
        }
        let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
            anyhow::anyhow!(
                "ECOPLAN_NOW `{raw}` is neither a date (2022-07-08) nor a time (2022-07-08T09:00:00+08:00)"
            )
        })?;
        let morning = date
            .and_hms_opt(9, 0, 0)
            .and_then(|naive| naive.and_local_timezone(city_offset()).single())
            .ok_or_else(|| {
                anyhow::anyhow!("ECOPLAN_NOW `{raw}` is not a day the clock can show")
            })?;
        Ok(Self::starting_at(morning.with_timezone(&Utc)))
    }

    /// Now, on this clock.
    pub fn now(self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }

    /// Today in the city (UTC+8), on this clock: the day deadlines and due dates are
    /// compared with.
    pub fn today(self) -> NaiveDate {
        self.now().with_timezone(&city_offset()).date_naive()
    }

    /// Whether the clock is moved from the real time (logged at start-up).
    pub fn is_moved(self) -> bool {
        self.offset != TimeDelta::zero()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_started_at_a_date_reads_that_date() {
        let clock = Clock::parse_now("2022-07-08").ok();
        assert_eq!(clock.map(Clock::today), NaiveDate::from_ymd_opt(2022, 7, 8));
        assert!(Clock::parse_now("July").is_err());
        assert_eq!(Clock::offset_by_days(0), Clock::real());
    }
}
