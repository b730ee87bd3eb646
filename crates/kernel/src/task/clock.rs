//! The kernel's clocks. Real time by default; in deterministic mode time is
//! virtual: it advances with retired instructions (the hart's `time` CSR
//! counts the same way) and with sleeps, from a fixed epoch, so that a run
//! prints the same bytes every time.

use rv::Hart;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Nanoseconds per tick of the hart's `time` CSR, which counts at 10 MHz.
const NS_PER_TICK: u64 = 100;

/// Virtual time runs at 100 MIPS, as rv's virtual `time` CSR does.
const NS_PER_INSTRUCTION: u64 = 10;

/// CLOCK_REALTIME at boot in deterministic mode: 2025-01-01 00:00:00 UTC.
const VIRTUAL_EPOCH: Duration = Duration::from_secs(1_735_689_600);

pub enum Clock {
    Host { boot: Instant },
    Virtual,
}

impl Clock {
    /// Sets the hart's `time` CSR to run on the same clock.
    pub fn new(hart: &mut Hart, deterministic: bool) -> Clock {
        if deterministic {
            hart.clock = rv::Clock::Virtual { offset: 0 };
            Clock::Virtual
        } else {
            let boot = Instant::now();
            hart.clock = rv::Clock::Host { start: boot };
            Clock::Host { boot }
        }
    }

    /// CLOCK_MONOTONIC (and BOOTTIME: nothing suspends here).
    pub fn monotonic(&self, hart: &Hart) -> Duration {
        match self {
            Clock::Host { boot } => boot.elapsed(),
            Clock::Virtual => Duration::from_nanos(hart.time().saturating_mul(NS_PER_TICK)),
        }
    }

    /// CLOCK_REALTIME.
    pub fn realtime(&self, hart: &Hart) -> Duration {
        match self {
            Clock::Host { .. } => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
            Clock::Virtual => VIRTUAL_EPOCH + self.monotonic(hart),
        }
    }

    /// The CPU time a slice of `instructions` that took `wall` costs: what
    /// the host measured, or in virtual time what the instructions are
    /// worth.
    pub fn slice_cost(&self, wall: Duration, instructions: u64) -> Duration {
        match self {
            Clock::Host { .. } => wall,
            Clock::Virtual => Duration::from_nanos(instructions * NS_PER_INSTRUCTION),
        }
    }

    /// What kernel work that took `wall` on the host costs the thread it
    /// was done for, as units of work (instruction-equivalents, see
    /// `sched.rs`) and as CPU time: at least `floor` units, more if the
    /// host took longer than that many instructions would. In virtual time
    /// exactly `floor`, which passes on the virtual clock as instructions
    /// do, so that the same run is charged the same.
    pub fn kernel_cost(&self, hart: &mut Hart, wall: Duration, floor: u64) -> (u64, Duration) {
        match self {
            Clock::Host { .. } => {
                let measured = u64::try_from(wall.as_nanos() / u128::from(NS_PER_INSTRUCTION));
                (floor.max(measured.unwrap_or(u64::MAX)), wall)
            }
            Clock::Virtual => {
                let cpu = Duration::from_nanos(floor * NS_PER_INSTRUCTION);
                self.sleep(hart, cpu);
                (floor, cpu)
            }
        }
    }

    /// How many instructions the hart may run before `deadline`
    /// (CLOCK_MONOTONIC) comes, at least one: exactly in virtual time; at
    /// virtual time's rate in real time, where the hart usually runs
    /// faster, so that the deadline is looked at early rather than late.
    pub fn instructions_until(&self, hart: &Hart, deadline: Duration) -> u64 {
        let left = deadline.saturating_sub(self.monotonic(hart)).as_nanos();
        let n = left.div_ceil(u128::from(NS_PER_INSTRUCTION));
        u64::try_from(n).unwrap_or(u64::MAX).max(1)
    }

    /// Lets `d` pass: really, or by moving virtual time forward.
    pub fn sleep(&self, hart: &mut Hart, d: Duration) {
        match self {
            Clock::Host { .. } => std::thread::sleep(d),
            Clock::Virtual => {
                if let rv::Clock::Virtual { offset } = &mut hart.clock {
                    // Rounded up: a sleep never ends early.
                    let ticks = d.as_nanos().div_ceil(u128::from(NS_PER_TICK));
                    *offset = offset.saturating_add(u64::try_from(ticks).unwrap_or(u64::MAX));
                }
            }
        }
    }
}
