//! Servers side by side: each scenario's headline figure on each server (the
//! median of its rounds), its ratio to the baseline server, and whether that
//! ratio meets the target.

use serde::Serialize;

use crate::report::{self, Row, human};

/// The figure of what a call costs the server, measured when its process id is given.
pub(crate) const SERVER_CPU: &str = "server CPU per call";

/// One case, compared across the servers.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Comparison {
    pub(crate) scenario: &'static str,
    pub(crate) case: String,
    /// The headline figure (ids/s, calls/s or orders/s), or the server's CPU per call.
    pub(crate) figure: &'static str,
    pub(crate) better: Better,
    /// Per server: its median, and how many times better than the baseline's median it is.
    pub(crate) servers: Vec<Compared>,
}

/// Which way a figure improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Better {
    /// A rate: the ratio is the server's over the baseline's.
    More,
    /// A cost: the ratio is the baseline's over the server's.
    Less,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Compared {
    pub(crate) server: String,
    pub(crate) median: f64,
    pub(crate) rounds: Vec<f64>,
    pub(crate) ratio: Option<f64>,
    /// The ratio round by round (the servers' rounds are interleaved, so round n of each ran
    /// side by side): how far this machine's noise moves it. Empty without a baseline.
    pub(crate) round_ratios: Vec<f64>,
}

impl Better {
    /// How many times better `value` is than `base` (a rate of 0 is 0× better); none where the
    /// ratio would divide by a figure that is not positive.
    fn ratio(self, value: f64, base: f64) -> Option<f64> {
        match self {
            Better::More => (base > 0.0).then(|| value / base),
            Better::Less => (value > 0.0 && base > 0.0).then(|| base / value),
        }
    }
}

/// A server's figure in each of its rounds, with the round's number.
type Numbered = Vec<(usize, f64)>;

/// The figure that sums up a scenario, if it has one where more is better.
fn headline(scenario: &str) -> Option<&'static str> {
    match scenario {
        "bidi" | "bidi-frames" | "bidi-send-first" | "websocket" | "websocket-v1" => Some("ids/s"),
        "unary" | "add" | "h2load" => Some("calls/s"),
        "search" => Some("orders/s"),
        _ => None,
    }
}

/// The figures a scenario is compared by: its headline, then the server's
/// CPU per call (which only the cases that measure it have).
fn compared_by(scenario: &str) -> impl Iterator<Item = (&'static str, Better)> {
    headline(scenario).map(|figure| (figure, Better::More)).into_iter().chain([(SERVER_CPU, Better::Less)])
}

/// The comparisons of `rows`: none unless they come from more than one
/// server. A figure is compared only where every server has it.
pub(crate) fn of(rows: &[Row], baseline: Option<&str>, _target: f64) -> Vec<Comparison> {
    let mut servers: Vec<&str> = Vec::new();
    for row in rows {
        if !servers.contains(&row.server.as_str()) {
            servers.push(&row.server);
        }
    }
    if servers.len() < 2 {
        return Vec::new();
    }
    let mut out: Vec<Comparison> = Vec::new();
    for row in rows {
        for (figure, better) in compared_by(row.scenario) {
            if out.iter().any(|seen| seen.scenario == row.scenario && seen.case == row.case && seen.figure == figure) {
                continue;
            }
            // Each server's rounds (with their numbers) and their median.
            let rounds_on = |server: &str| -> Numbered {
                rows.iter()
                    .filter(|other| other.scenario == row.scenario && other.case == row.case && other.server == server)
                    .filter_map(|other| Some((other.round, other.figure(figure)?)))
                    .collect()
            };
            let measured: Vec<(&str, Numbered, f64)> = servers
                .iter()
                .map(|&server| {
                    let rounds = rounds_on(server);
                    let median = report::median_of(&mut rounds.iter().map(|(_, value)| *value).collect::<Vec<_>>());
                    (server, rounds, median)
                })
                .collect();
            if measured.iter().any(|(_, rounds, _)| rounds.is_empty()) {
                continue;
            }
            let base = baseline.and_then(|baseline| measured.iter().find(|(server, ..)| *server == baseline));
            let servers = measured
                .iter()
                .map(|(server, rounds, median)| {
                    let round_ratios = base.map_or_else(Vec::new, |(_, base_rounds, _)| {
                        rounds
                            .iter()
                            .filter_map(|(round, value)| {
                                let (_, base) = base_rounds.iter().find(|(base_round, _)| base_round == round)?;
                                better.ratio(*value, *base)
                            })
                            .collect()
                    });
                    Compared {
                        server: server.to_string(),
                        median: *median,
                        rounds: rounds.iter().map(|(_, value)| *value).collect(),
                        ratio: base.and_then(|(_, _, base)| better.ratio(*median, *base)),
                        round_ratios,
                    }
                })
                .collect();
            out.push(Comparison { scenario: row.scenario, case: row.case.clone(), figure, better, servers });
        }
    }
    out
}

/// The range of a server's round-by-round ratios, as " (1.38–1.61)"; none for fewer than two rounds.
fn spread(compared: &Compared) -> Option<String> {
    let ratios = &compared.round_ratios;
    if ratios.len() < 2 {
        return None;
    }
    let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let high = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some(format!(" ({low:.2}–{high:.2})"))
}

/// The share of native gRPC's processOrders rate the WebSocket transport should reach (issue 16).
const WEBSOCKET_TARGET: f64 = 0.8;

/// For each server and stream count measured both ways, processOrders over
/// WebSocket (grpc-ws) set beside native gRPC (tonic's client): their ids/s
/// and the ratio. `medians` has a row per scenario, case and server.
pub(crate) fn websocket_vs_native(medians: &[Row]) -> Vec<Row> {
    let count = |case: &str, key: &str| -> Option<usize> { case.strip_prefix(key)?.split(' ').next()?.parse().ok() };
    let mut out = Vec::new();
    for native in medians.iter().filter(|row| row.scenario == "bidi") {
        let Some(streams) = count(&native.case, "streams=") else { continue };
        for (scenario, revision) in [("websocket", "grpc-ws.v2"), ("websocket-v1", "grpc-ws.v1")] {
            let websocket = medians.iter().find(|row| {
                row.scenario == scenario && row.server == native.server && count(&row.case, "calls=") == Some(streams)
            });
            let (Some(native_rate), Some(websocket_rate)) =
                (native.figure("ids/s"), websocket.and_then(|row| row.figure("ids/s")))
            else {
                continue;
            };
            let ratio = websocket_rate / native_rate;
            let mark = if ratio >= WEBSOCKET_TARGET { "✓ ≥" } else { "✗ <" };
            let case = format!(
                "streams={streams}: processOrders ids/s, native gRPC (bidi) vs {revision} ({scenario}), {mark} {WEBSOCKET_TARGET}×"
            );
            let mut row = Row::new("websocket vs bidi", case)
                .with("native ids/s", native_rate, "1/s")
                .with("websocket ids/s", websocket_rate, "1/s")
                .with("websocket/native", ratio, "");
            row.server = native.server.clone();
            row.round = native.round;
            out.push(row);
        }
    }
    out
}

/// The comparison as a markdown table: a column per server, then a ratio
/// column per server against `baseline`, marked ✗ where below `target`.
pub(crate) fn markdown(comparisons: &[Comparison], baseline: &str, target: f64) -> String {
    let Some(first) = comparisons.first() else { return String::new() };
    let names: Vec<&str> = first.servers.iter().map(|compared| compared.server.as_str()).collect();
    let others: Vec<&str> = names.iter().copied().filter(|name| *name != baseline).collect();
    let mut out = String::from("| scenario | case | figure |");
    for name in &names {
        out.push_str(&format!(" {name} |"));
    }
    if !baseline.is_empty() {
        for name in &others {
            out.push_str(&format!(" {name} / {baseline} |"));
        }
    }
    out.push_str("\n|---|---|---|");
    out.push_str(&"---|".repeat(names.len() + if baseline.is_empty() { 0 } else { others.len() }));
    out.push('\n');
    for comparison in comparisons {
        let figure = match comparison.better {
            Better::More => comparison.figure.to_string(),
            Better::Less if baseline.is_empty() => format!("{}, µs (less is better)", comparison.figure),
            Better::Less => format!("{}, µs (less is better: the ratio is {baseline}'s over this)", comparison.figure),
        };
        out.push_str(&format!("| {} | {} | {figure} |", comparison.scenario, comparison.case));
        for compared in &comparison.servers {
            out.push_str(&format!(" {} |", human(compared.median)));
        }
        if !baseline.is_empty() {
            for name in &others {
                let compared = comparison.servers.iter().find(|compared| compared.server == *name);
                match compared.and_then(|compared| Some((compared.ratio?, spread(compared)))) {
                    Some((ratio, spread)) => {
                        let mark = if ratio >= target { "✓" } else { "✗" };
                        out.push_str(&format!(" {ratio:.2}× {mark}{} |", spread.unwrap_or_default()));
                    }
                    None => out.push_str(" – |"),
                }
            }
        }
        out.push('\n');
    }
    if !baseline.is_empty() {
        out.push_str(&format!(
            "\nMedians of the rounds; ✓ where a server reaches {target}× the baseline ({baseline}), ✗ where not; \
             in brackets the lowest and highest ratio of a single round (the servers' rounds run interleaved, \
             round n of each side by side).\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(scenario: &'static str, server: &str, round: usize, value: f64) -> Row {
        Row::new(scenario, "c=32".into()).with("calls/s", value, "1/s").with("ids/s", value, "1/s").on(server, round)
    }

    #[test]
    fn each_server_is_set_against_the_baseline_by_the_median_of_its_rounds() {
        let rows = [
            run("unary", "ours", 1, 300.0),
            run("unary", "go", 1, 100.0),
            run("unary", "ours", 2, 100.0),
            run("unary", "go", 2, 120.0),
            run("unary", "ours", 3, 200.0),
            run("unary", "go", 3, 80.0),
        ];
        let compared = of(&rows, Some("go"), 1.5);
        assert_eq!(compared.len(), 1);
        let ours = &compared[0].servers[0];
        assert_eq!((ours.median, ours.ratio), (200.0, Some(2.0)));
        assert_eq!(ours.round_ratios, [3.0, 100.0 / 120.0, 2.5], "round by round: 300/100, 100/120, 200/80");
        let table = markdown(&compared, "go", 1.5);
        assert!(table.contains("| unary | c=32 | calls/s | 200 | 100 | 2.00× ✓ (0.83–3.00) |"), "{table}");

        let stalled = [run("unary", "ours", 1, 0.0), run("unary", "go", 1, 100.0)];
        assert!(markdown(&of(&stalled, Some("go"), 1.5), "go", 1.5).contains("| 0 | 100 | 0.00× ✗ |"), "a rate of 0");
    }

    #[test]
    fn the_servers_cpu_per_call_is_compared_where_every_server_has_it_less_being_better() {
        let timed = |server: &str, round, rate, cpu| run("unary", server, round, rate).with(SERVER_CPU, cpu, "µs");
        let rows = [timed("ours", 1, 300.0, 10.0), timed("go", 1, 200.0, 30.0), timed("ours", 2, 300.0, 20.0)];
        let compared = of(&rows, Some("go"), 1.5);
        let cost = compared.iter().find(|comparison| comparison.figure == SERVER_CPU).expect("a CPU comparison");
        assert_eq!(cost.better, Better::Less);
        let ours = &cost.servers[0];
        assert_eq!((ours.median, ours.ratio), (15.0, Some(2.0)), "go's 30 µs over ours' median of 15");
        let table = markdown(&compared, "go", 1.5);
        assert!(
            table.contains(
                "| server CPU per call, µs (less is better: the ratio is go's over this) | 15 | 30 | 2.00× ✓ |"
            ),
            "{table}"
        );

        let unranked = markdown(&of(&rows[..2], None, 1.5), "", 1.5);
        assert!(unranked.contains("| server CPU per call, µs (less is better) | 10 | 30 |"), "no baseline: {unranked}");

        let without = [timed("ours", 1, 300.0, 10.0), run("unary", "go", 1, 200.0)];
        assert!(of(&without, Some("go"), 1.5).iter().all(|comparison| comparison.figure != SERVER_CPU));
    }

    #[test]
    fn websocket_calls_are_set_beside_native_streams_of_the_same_count_and_marked_against_the_target() {
        let case =
            |scenario, case: &str, value| Row::new(scenario, case.into()).with("ids/s", value, "1/s").on("ours", 1);
        let medians = [
            case("bidi", "streams=64 connections=1", 1000.0),
            case("websocket", "calls=64 (one WebSocket each)", 900.0),
            case("websocket-v1", "calls=64 (one WebSocket each)", 500.0),
            case("websocket", "calls=1 (one WebSocket each)", 900.0),
        ];
        let rows = websocket_vs_native(&medians);
        let ratios: Vec<(bool, Option<f64>)> =
            rows.iter().map(|row| (row.case.contains("✓"), row.figure("websocket/native"))).collect();
        assert_eq!(ratios, [(true, Some(0.9)), (false, Some(0.5))], "{rows:?}");
    }

    #[test]
    fn one_server_makes_no_comparison() {
        assert!(of(&[run("unary", "ours", 1, 1.0)], None, 1.5).is_empty());
    }
}
