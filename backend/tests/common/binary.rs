//! The `ordermgt-server` binary as a user runs it, its log collected.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const SERVER: &str = env!("CARGO_BIN_EXE_ordermgt-server");

/// The binary, running; its log lines are collected as it writes them.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub log: Log,
}

#[derive(Clone)]
pub struct Log(Arc<Mutex<Vec<String>>>);

/// Starts the binary on an ephemeral port (unless `args` names `--listen`);
/// returns once it logs where it listens.
pub fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
    let listen: &[&str] = if args.contains(&"--listen") { &[] } else { &["--listen", "127.0.0.1:0"] };
    let database: &[&str] = if args.contains(&"--database-url") { &[] } else { &["--database-url", "memory:"] };
    let mut child = Command::new(SERVER)
        .args(listen)
        .args(database)
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let log = Log(Arc::default());
    let url = loop {
        let line = lines.next().expect("the server logs where it listens").expect("read log");
        log.0.lock().expect("log").push(line.clone());
        if let Some((_, rest)) = line.split_once("listening on ") {
            break rest.split(['"', ' ']).next().expect("url").to_string();
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    let collected = log.clone();
    std::thread::spawn(move || {
        lines.map_while(Result::ok).for_each(|line| collected.0.lock().expect("log").push(line))
    });
    Server { child, url, log }
}

impl Log {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().expect("log").clone()
    }

    /// Waits up to 10 s for a log line satisfying `wanted`.
    pub fn wait_for_log(&self, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(line) = self.lines().into_iter().find(|line| wanted(line)) {
                return line;
            }
            assert!(Instant::now() < deadline, "no such log line in:\n{}", self.lines().join("\n"));
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

pub fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    child.wait().expect("wait")
}

/// The binary, killed when the test ends however it ends.
pub struct Running(pub Server);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.child.kill();
        let _ = self.0.child.wait();
    }
}

fn proc_status_mib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    let line = status.lines().find(|line| line.starts_with(field)).unwrap_or_else(|| panic!("no {field}"));
    let kib: u64 = line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("a size in kB");
    kib / 1024
}

/// The most memory the process `pid` has held at once (VmHWM), in MiB.
pub fn peak_mib(pid: u32) -> u64 {
    proc_status_mib(pid, "VmHWM:")
}

/// The memory the process `pid` holds now (VmRSS), in MiB.
pub fn resident_mib(pid: u32) -> u64 {
    proc_status_mib(pid, "VmRSS:")
}

/// An order of about a megabyte: the most items, each the longest allowed.
pub fn megabyte_order(id: String) -> ordermgt_proto::Order {
    ordermgt_proto::Order {
        id,
        items: vec!["m".repeat(1024); 1000],
        description: "heavy".into(),
        price: 1.0,
        destination: "Anywhere".into(),
    }
}
