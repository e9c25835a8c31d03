//! The CPU time of a process, all its threads, from /proc, for the benches' figures of CPU per
//! request: to the nanosecond from the scheduler's accounting, and split into user and system
//! time by the kernel's coarser tick counts.

use std::process::Command;
use std::time::Duration;

/// CPU time of a process so far, all its threads, from /proc.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    /// User and system time in clock ticks (10 ms each here): over a few hundred milliseconds
    /// of CPU, good for the split between the two, not for the total.
    pub user: Duration,
    pub system: Duration,
    /// Time on a CPU, user and system together, to the nanosecond (`schedstat`), summed over
    /// the threads alive when read.
    pub on_cpu: Duration,
}

impl Cpu {
    /// The CPU time: the scheduler's figure, or the ticks' where there is none.
    pub fn total(self) -> Duration {
        if self.on_cpu.is_zero() {
            self.user + self.system
        } else {
            self.on_cpu
        }
    }

    pub fn since(self, before: Cpu) -> Cpu {
        Cpu {
            user: self.user.saturating_sub(before.user),
            system: self.system.saturating_sub(before.system),
            on_cpu: self.on_cpu.saturating_sub(before.on_cpu),
        }
    }

    pub fn per(self, count: usize) -> Cpu {
        let count = u32::try_from(count.max(1)).unwrap_or(u32::MAX);
        Cpu {
            user: self.user / count,
            system: self.system / count,
            on_cpu: self.on_cpu / count,
        }
    }
}

/// The CPU time of process `pid` (a number, or `self`) so far, all its threads.
pub fn cpu_time(pid: impl std::fmt::Display) -> Result<Cpu, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    // After the command's closing parenthesis: state is field 0, utime 11, stime 12 (ticks).
    let ticks = |index: usize| -> Result<Duration, String> {
        let ticks: u64 = fields
            .get(index)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| format!("/proc/{pid}/stat has no field {index}"))?;
        Ok(Duration::from_micros(ticks * 1_000_000 / clock_ticks()))
    };
    Ok(Cpu {
        user: ticks(11)?,
        system: ticks(12)?,
        on_cpu: on_cpu(pid)?,
    })
}

/// The time the threads of process `pid` have spent on a CPU, from each one's `schedstat`
/// (first field, nanoseconds).
fn on_cpu(pid: impl std::fmt::Display) -> Result<Duration, String> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map_err(|e| format!("/proc/{pid}/task: {e}"))?;
    let mut total = Duration::ZERO;
    for task in tasks.flatten() {
        // A thread that ended since the listing has nothing left to count.
        let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        let nanos: u64 = stat
            .split_whitespace()
            .next()
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| format!("{}/schedstat: {stat:?}", task.path().display()))?;
        total += Duration::from_nanos(nanos);
    }
    Ok(total)
}

/// The kernel's clock ticks per second, which /proc counts CPU time in (100 on Linux here).
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(100)
    })
}
