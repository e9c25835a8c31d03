//! The CPU time of a process, all its threads, from /proc (user and system apart), for the
//! benches' figures of CPU per request.

use std::process::Command;
use std::time::Duration;

/// CPU time of a process so far, all its threads, from /proc: user and system.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    pub user: Duration,
    pub system: Duration,
}

impl Cpu {
    pub fn total(self) -> Duration {
        self.user + self.system
    }

    pub fn since(self, before: Cpu) -> Cpu {
        Cpu {
            user: self.user.saturating_sub(before.user),
            system: self.system.saturating_sub(before.system),
        }
    }

    pub fn per(self, count: usize) -> Cpu {
        let count = u32::try_from(count.max(1)).unwrap_or(u32::MAX);
        Cpu {
            user: self.user / count,
            system: self.system / count,
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
    })
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
