//! The hart's architectural state and the kernel-facing controls: page-table
//! root, TLB flushes, the clock, and `run`.

use crate::mmu::Tlb;
use crate::{PhysMem, Trap};
use std::time::Instant;

/// The user-visible register file: what a context switch saves and restores.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Regs {
    /// x0..x31; x[0] always reads 0.
    pub x: [u64; 32],
    /// f0..f31 as raw bits; singles are NaN-boxed.
    pub f: [u64; 32],
    pub pc: u64,
    /// fflags in bits 0-4, frm in bits 5-7.
    pub fcsr: u32,
}

/// Where `rdtime` reads from: 10 MHz ticks, as on common RISC-V platforms.
#[derive(Clone, Copy, Debug)]
pub enum Clock {
    /// Real time elapsed since `start`.
    Host { start: Instant },
    /// Virtual time: `offset` ticks plus one tick per 10 retired instructions
    /// (100 MIPS), so runs are reproducible.
    Virtual { offset: u64 },
}

pub const TIMEBASE_HZ: u64 = 10_000_000;

/// What an LR reserved: the (virtual) address it loaded from and the value
/// it read there. An SC to that address stores only if memory still holds
/// that value, as one compare-and-swap, as qemu does: unlike a reserved
/// address that every other hart's store would have to clear, this needs
/// nothing from other harts when they run on other host threads (at the
/// price of taking an ABA change for no change, which the lock-free
/// algorithms LR/SC serves tolerate). Translated code's SC is a host
/// `lock cmpxchg`; the interpreter's, like its AMOs, is a plain
/// read-compare-write of RAM, atomic only while one thread runs harts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct Reservation {
    /// `NO_ADDRESS` when nothing is reserved.
    pub addr: u64,
    /// As LR wrote it to rd (LR.W's sign-extended).
    pub value: u64,
}

impl Reservation {
    /// Odd, so never the address of an LR, which must be aligned.
    pub const NO_ADDRESS: u64 = 1;
    pub const NONE: Reservation = Reservation {
        addr: Reservation::NO_ADDRESS,
        value: 0,
    };
}

pub struct Hart {
    pub regs: Regs,
    /// Physical address of the Sv39 root table.
    pub(crate) root: u64,
    pub(crate) tlb: Tlb,
    /// The LR reservation.
    pub(crate) reservation: Reservation,
    pub(crate) instret: u64,
    /// Set when a store dropped decoded code: the interpreter must refetch.
    pub(crate) code_dirty: bool,
    /// `PhysMem::code_epoch` when this hart's store TLB was last checked:
    /// another hart may have decoded a frame this TLB still maps writable.
    pub(crate) code_epoch: u64,
    pub clock: Clock,
    /// Run hot code as translated host code (x86-64 hosts only); false
    /// interprets everything. Starts true unless `CLEAVE_NO_JIT` is set.
    pub jit: bool,
}

impl Default for Hart {
    fn default() -> Self {
        Self::new()
    }
}

impl Hart {
    pub fn new() -> Hart {
        Hart {
            regs: Regs::default(),
            root: 0,
            tlb: Tlb::new(),
            reservation: Reservation::NONE,
            instret: 0,
            code_dirty: false,
            code_epoch: 0,
            clock: Clock::Host {
                start: Instant::now(),
            },
            jit: crate::jit::enabled_by_default(),
        }
    }

    /// Installs the page table whose root table is at physical address `root`
    /// (what writing satp does) and flushes the TLB.
    pub fn set_page_table(&mut self, root: u64) {
        self.root = root;
        self.tlb.flush_all();
    }

    pub fn page_table(&self) -> u64 {
        self.root
    }

    /// sfence.vma with no operands.
    pub fn flush_tlb(&mut self) {
        self.tlb.flush_all();
    }

    /// sfence.vma for the page holding `va`.
    pub fn flush_tlb_page(&mut self, va: u64) {
        self.tlb.flush_page(va);
    }

    /// Forgets any LR reservation, as a context switch must.
    pub fn clear_reservation(&mut self) {
        self.reservation = Reservation::NONE;
    }

    /// Instructions retired since the hart was made.
    pub fn instret(&self) -> u64 {
        self.instret
    }

    /// The `time` CSR.
    pub fn time(&self) -> u64 {
        self.time_at(self.instret)
    }

    /// The `time` CSR when `instret` instructions have retired.
    pub(crate) fn time_at(&self, instret: u64) -> u64 {
        match self.clock {
            Clock::Host { start } => {
                (start.elapsed().as_nanos() as u64).wrapping_mul(TIMEBASE_HZ / 1_000_000) / 1000
            }
            Clock::Virtual { offset } => offset.saturating_add(instret / 10),
        }
    }

    /// Executes instructions until a trap or until `budget` instructions
    /// have retired.
    pub fn run(&mut self, mem: &mut PhysMem, budget: u64) -> Trap {
        crate::exec::run(self, mem, budget)
    }
}
