//! What a server process uses, read from Linux's `/proc`: its resident memory,
//! and the CPU time its threads have spent.

use std::time::Duration;

/// The clock `/proc/PID/stat` counts CPU time in (`USER_HZ`): 100 a second on
/// every architecture this runs on (x86-64, AArch64).
const TICKS_PER_SECOND: u64 = 100;

/// `VmRSS` of a process, from `/proc/PID/status`.
pub(crate) fn resident_kib(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|error| format!("/proc/{pid}/status: {error}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status"))
}

/// The CPU time (user and system) all threads of a process have used so
/// far, those that have ended included, from `/proc/PID/stat`.
pub(crate) fn cpu_time(pid: u32) -> Result<Duration, String> {
    let stat =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|error| format!("/proc/{pid}/stat: {error}"))?;
    cpu_ticks(&stat)
        .map(|ticks| Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
        .ok_or_else(|| format!("no CPU times in /proc/{pid}/stat"))
}

/// `utime + stime` of a `/proc/PID/stat` line: its 14th and 15th fields,
/// counted after the command name (which is in parentheses and may hold
/// spaces and parentheses itself).
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_user_and_system_time_whatever_the_command_is_called() {
        let stat = "4242 (seed (server) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 731 260 0 0 20 0 9 0 100 0 0";
        assert_eq!(cpu_ticks(stat), Some(731 + 260));
        assert_eq!(cpu_ticks("4242 (cut short) S 1"), None);
    }

    #[test]
    fn this_process_has_used_some_cpu_and_memory() {
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(30) {
            std::hint::black_box(spin.elapsed());
        }
        assert!(cpu_time(std::process::id()).expect("cpu time") > Duration::ZERO);
        assert!(resident_kib(std::process::id()).expect("resident") > 0);
    }
}
