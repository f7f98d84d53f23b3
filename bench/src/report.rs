//! What a scenario measured, printed as a table and written as JSON.

use std::time::Duration;

use serde::Serialize;

/// One measured case of one scenario: its parameters and its figures.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub(crate) scenario: &'static str,
    /// The case, e.g. `streams=64 connections=8 ids/stream=2000`.
    pub(crate) case: String,
    pub(crate) figures: Vec<Figure>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Figure {
    pub(crate) name: &'static str,
    pub(crate) value: f64,
    pub(crate) unit: &'static str,
}

impl Row {
    pub(crate) fn new(scenario: &'static str, case: String) -> Self {
        Self { scenario, case, figures: Vec::new() }
    }

    pub(crate) fn with(mut self, name: &'static str, value: f64, unit: &'static str) -> Self {
        self.figures.push(Figure { name, value, unit });
        self
    }

    /// The value of the figure called `name`, if the row has it.
    pub(crate) fn figure(&self, name: &str) -> Option<f64> {
        self.figures.iter().find(|figure| figure.name == name).map(|figure| figure.value)
    }

    /// Adds p50, p99 and max of `latencies` in milliseconds, under the three `names`.
    pub(crate) fn with_latencies(self, names: [&'static str; 3], latencies: &mut [Duration]) -> Self {
        let [p50, p99, max] = percentiles(latencies);
        let ms = |duration: Duration| duration.as_secs_f64() * 1e3;
        self.with(names[0], ms(p50), "ms").with(names[1], ms(p99), "ms").with(names[2], ms(max), "ms")
    }
}

/// p50, p99 and the maximum (zero for no samples).
pub(crate) fn percentiles(samples: &mut [Duration]) -> [Duration; 3] {
    if samples.is_empty() {
        return [Duration::ZERO; 3];
    }
    samples.sort_unstable();
    let at = |quantile: f64| samples[((samples.len() - 1) as f64 * quantile).round() as usize];
    [at(0.50), at(0.99), samples[samples.len() - 1]]
}

/// A markdown table of the rows, one line each.
pub(crate) fn markdown(rows: &[Row]) -> String {
    let mut out = String::from("| scenario | case | figures |\n| --- | --- | --- |\n");
    for row in rows {
        let figures: Vec<String> = row
            .figures
            .iter()
            .map(|f| format!("{}: {}{}{}", f.name, human(f.value), if f.unit.is_empty() { "" } else { " " }, f.unit))
            .collect();
        out.push_str(&format!("| {} | {} | {} |\n", row.scenario, row.case, figures.join("; ")));
    }
    out
}

fn human(value: f64) -> String {
    if value >= 100.0 || value.fract() == 0.0 { format!("{value:.0}") } else { format!("{value:.2}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_from_the_sorted_samples() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        assert_eq!(
            percentiles(&mut samples),
            [Duration::from_millis(51), Duration::from_millis(99), Duration::from_millis(100)]
        );
        assert_eq!(percentiles(&mut []), [Duration::ZERO; 3]);
    }

    #[test]
    fn a_row_reads_as_one_table_line() {
        let row =
            Row::new("unary", "concurrency=32".into()).with("calls/s", 61234.4, "1/s").with("latency p50", 0.5, "ms");
        assert_eq!(
            markdown(&[row]),
            "| scenario | case | figures |\n| --- | --- | --- |\n| unary | concurrency=32 | calls/s: 61234 1/s; latency p50: 0.50 ms |\n"
        );
    }
}
