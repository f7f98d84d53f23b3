//! `h2load`: `getOrder` driven by nghttp2's h2load, a load generator in C
//! that costs the client little, so the figure is the server's: 4
//! connections, 8 streams each (concurrency 32), a fixed number of calls.

use std::process::Command;

use crate::report::Row;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Case {
    pub(crate) calls: usize,
}

pub(crate) fn run(server: &str, id: &str, case: Case) -> Result<Row, String> {
    // The request: one length-prefixed google.protobuf.StringValue.
    let message =
        [&[0x0a, u8::try_from(id.len()).map_err(|_| "the id is too long for h2load")?][..], id.as_bytes()].concat();
    let mut body = vec![0];
    body.extend_from_slice(&u32::try_from(message.len()).unwrap_or(0).to_be_bytes());
    body.extend_from_slice(&message);
    let file = std::env::temp_dir().join(format!("ordermgt-bench-h2load-{}.bin", std::process::id()));
    std::fs::write(&file, body).map_err(|error| format!("cannot write {}: {error}", file.display()))?;
    let output = Command::new("h2load")
        .args(["-n", &case.calls.to_string(), "-c", "4", "-m", "8", "-t", "1", "-d"])
        .arg(&file)
        .args(["-H", "content-type: application/grpc", "-H", "te: trailers"])
        .arg(format!("{}/ecommerce.OrderManagement/getOrder", server.trim_end_matches('/')))
        .output()
        .map_err(|error| format!("cannot run h2load (apt-get install nghttp2-client): {error}"))?;
    let _ = std::fs::remove_file(&file);
    let text = String::from_utf8_lossy(&output.stdout);
    let number_before = |marker: &str| -> Option<f64> {
        let line = text.lines().find(|line| line.contains(marker))?;
        let before = &line[..line.find(marker)?];
        before.split([' ', ',']).rfind(|word| !word.is_empty())?.parse().ok()
    };
    let rate = number_before(" req/s").ok_or_else(|| format!("h2load printed no rate:\n{text}"))?;
    let succeeded = number_before(" succeeded").unwrap_or(0.0);
    Ok(Row::new("h2load", format!("getOrder concurrency=32 (4 connections x 8 streams), {} calls", case.calls))
        .with("calls/s", rate, "1/s")
        .with("succeeded", succeeded, ""))
}
