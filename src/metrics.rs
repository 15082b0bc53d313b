//! Counters and histograms the server keeps about itself, rendered in the Prometheus text
//! format at `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A number that only goes up.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }

    pub fn add(&self, amount: u64) {
        self.0.fetch_add(amount, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (index, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.counts[index] += 1;
            }
        }
        self.sum += seconds;
        self.count += 1;
    }
}

/// The most distinct operation names kept as labels; the rest count as `other`, so a
/// client cannot grow the metrics without bound.
const MAX_OPERATIONS: usize = 200;

#[derive(Debug, Default)]
struct OperationStats {
    outcomes: BTreeMap<(String, &'static str), u64>,
    latency: BTreeMap<String, Histogram>,
}

/// The server's counters, shared by every request.
#[derive(Debug, Default)]
pub struct Metrics {
    pub failed_logins: Counter,
    pub uploads: Counter,
    pub upload_bytes: Counter,
    pub http_requests: Counter,
    /// Requests without a signed token refused before their body was read (their address
    /// over its sign-in rate, or their queue full).
    pub refused_unread: Counter,
    operations: Mutex<OperationStats>,
}

/// A label value made safe for the text format.
fn label(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect::<String>()
}

impl Metrics {
    /// Records one GraphQL operation: its name, whether it had errors, and how long it took.
    pub fn observe_operation(&self, name: Option<&str>, ok: bool, elapsed: Duration) {
        let Ok(mut stats) = self.operations.lock() else {
            return;
        };
        let mut name = name
            .map(label)
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "anonymous".into());
        if !stats.latency.contains_key(&name) && stats.latency.len() >= MAX_OPERATIONS {
            name = "other".into();
        }
        let outcome = if ok { "ok" } else { "error" };
        *stats.outcomes.entry((name.clone(), outcome)).or_default() += 1;
        stats
            .latency
            .entry(name)
            .or_default()
            .observe(elapsed.as_secs_f64());
    }

    /// The metrics in the Prometheus text exposition format.
    pub fn render(&self, sql_statements: u64, pool: Option<(u32, usize)>) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            "ecoplan_http_requests_total",
            "HTTP requests received.",
            self.http_requests.get(),
        );
        counter(
            "ecoplan_http_refused_unread_total",
            "Requests without a signed token refused before their body was read (address over its sign-in rate, or their queue full).",
            self.refused_unread.get(),
        );
        counter(
            "ecoplan_sql_statements_total",
            "SQL statements executed.",
            sql_statements,
        );
        counter(
            "ecoplan_failed_logins_total",
            "Refused sign-in attempts.",
            self.failed_logins.get(),
        );
        counter(
            "ecoplan_uploads_total",
            "Evidence files stored.",
            self.uploads.get(),
        );
        counter(
            "ecoplan_upload_bytes_total",
            "Bytes of evidence files stored.",
            self.upload_bytes.get(),
        );
        if let Some((size, idle)) = pool {
            let in_use = (size as usize).saturating_sub(idle);
            let _ = writeln!(
                out,
                "# HELP ecoplan_db_pool_connections Database connections by state.\n# TYPE ecoplan_db_pool_connections gauge\necoplan_db_pool_connections{{state=\"in_use\"}} {in_use}\necoplan_db_pool_connections{{state=\"idle\"}} {idle}"
            );
        }
        if let Ok(stats) = self.operations.lock() {
            let _ = writeln!(
                out,
                "# HELP ecoplan_graphql_operations_total GraphQL operations by name and outcome.\n# TYPE ecoplan_graphql_operations_total counter"
            );
            for ((name, outcome), count) in &stats.outcomes {
                let _ = writeln!(
                    out,
                    "ecoplan_graphql_operations_total{{operation=\"{name}\",outcome=\"{outcome}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "# HELP ecoplan_graphql_operation_duration_seconds GraphQL operation latency.\n# TYPE ecoplan_graphql_operation_duration_seconds histogram"
            );
            for (name, histogram) in &stats.latency {
                for (bound, count) in BUCKETS.iter().zip(histogram.counts.iter()) {
                    let _ = writeln!(
                        out,
                        "ecoplan_graphql_operation_duration_seconds_bucket{{operation=\"{name}\",le=\"{bound}\"}} {count}"
                    );
                }
                let _ = writeln!(
                    out,
                    "ecoplan_graphql_operation_duration_seconds_bucket{{operation=\"{name}\",le=\"+Inf\"}} {}\necoplan_graphql_operation_duration_seconds_sum{{operation=\"{name}\"}} {}\necoplan_graphql_operation_duration_seconds_count{{operation=\"{name}\"}} {}",
                    histogram.count, histogram.sum, histogram.count
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_are_sanitised_and_counted() {
        let metrics = Metrics::default();
        metrics.observe_operation(Some("Home\"}\n"), true, Duration::from_millis(3));
        metrics.observe_operation(Some("Home"), false, Duration::from_millis(30));
        let text = metrics.render(7, Some((4, 3)));
        assert!(
            text.contains("ecoplan_graphql_operations_total{operation=\"Home\",outcome=\"ok\"} 1")
        );
        assert!(
            text.contains(
                "ecoplan_graphql_operations_total{operation=\"Home\",outcome=\"error\"} 1"
            )
        );
        assert!(text.contains("ecoplan_sql_statements_total 7"));
        assert!(text.contains("ecoplan_db_pool_connections{state=\"in_use\"} 1"));
        assert!(text.contains("le=\"0.005\"} 1"));
    }
}
