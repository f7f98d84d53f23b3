//! What a scenario measured, printed as a table and written as JSON.

use std::time::Duration;

use serde::Serialize;

/// One measured case of one scenario on one server: its parameters and its figures.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub(crate) scenario: &'static str,
    /// The case, e.g. `streams=64 connections=8 ids/stream=2000`.
    pub(crate) case: String,
    /// Which server it ran on.
    pub(crate) server: String,
    /// Which round (from 1); 0 for a median over rounds.
    pub(crate) round: usize,
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
        Self { scenario, case, server: String::new(), round: 1, figures: Vec::new() }
    }

    /// The row as measured on `server` in `round`.
    pub(crate) fn on(mut self, server: &str, round: usize) -> Self {
        self.server = server.to_string();
        self.round = round;
        self
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

/// One row per scenario, case and server, each figure the median of its rounds.
pub(crate) fn medians(rows: &[Row]) -> Vec<Row> {
    let mut out: Vec<Row> = Vec::new();
    for row in rows {
        if out.iter().any(|seen| seen.scenario == row.scenario && seen.case == row.case && seen.server == row.server) {
            continue;
        }
        let rounds: Vec<&Row> = rows
            .iter()
            .filter(|other| other.scenario == row.scenario && other.case == row.case && other.server == row.server)
            .collect();
        let mut median = row.clone();
        median.round = if rounds.len() > 1 { 0 } else { row.round };
        for figure in &mut median.figures {
            let mut values: Vec<f64> = rounds.iter().filter_map(|round| round.figure(figure.name)).collect();
            figure.value = median_of(&mut values);
        }
        out.push(median);
    }
    out
}

/// The median of `values` (the mean of the middle two for an even count); 0 for none.
pub(crate) fn median_of(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 { values[middle] } else { (values[middle - 1] + values[middle]) / 2.0 }
}

/// A markdown table of the rows, one line each (with the server when there are several).
pub(crate) fn markdown(rows: &[Row]) -> String {
    let several = rows.iter().any(|row| row.server != rows[0].server);
    let mut out = if several {
        String::from("| scenario | case | server | figures |\n| --- | --- | --- | --- |\n")
    } else {
        String::from("| scenario | case | figures |\n| --- | --- | --- |\n")
    };
    for row in rows {
        let figures: Vec<String> = row
            .figures
            .iter()
            .map(|f| format!("{}: {}{}{}", f.name, human(f.value), if f.unit.is_empty() { "" } else { " " }, f.unit))
            .collect();
        if several {
            out.push_str(&format!("| {} | {} | {} | {} |\n", row.scenario, row.case, row.server, figures.join("; ")));
        } else {
            out.push_str(&format!("| {} | {} | {} |\n", row.scenario, row.case, figures.join("; ")));
        }
    }
    out
}

pub(crate) fn human(value: f64) -> String {
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
    fn medians_are_taken_per_scenario_case_and_server() {
        let run = |server: &str, round: usize, value: f64| {
            Row::new("unary", "c=32".into()).with("calls/s", value, "1/s").on(server, round)
        };
        let rows = [run("a", 1, 10.0), run("b", 1, 1.0), run("a", 2, 30.0), run("b", 2, 2.0), run("a", 3, 20.0)];
        let medians = medians(&rows);
        assert_eq!(medians.len(), 2);
        assert_eq!((medians[0].server.as_str(), medians[0].figure("calls/s")), ("a", Some(20.0)));
        assert_eq!((medians[1].server.as_str(), medians[1].figure("calls/s")), ("b", Some(1.5)));
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
