//! A machine with a hand-built Sv39 table for the hart's instruction tests,
//! and `testkit::encode`, the assembler they write programs with, re-exported.
//! Everything goes through `rv`'s public API.

#![allow(dead_code)]

pub use testkit::encode::*;

use rv::{pte, Hart, PhysMem, Trap, PAGE_SIZE};
use std::collections::BTreeMap;

// ---------------------------------------------------------------------------
// Programs
// ---------------------------------------------------------------------------

/// One piece of a program: a 32-bit word or a 16-bit parcel.
#[derive(Clone, Copy, Debug)]
pub enum P {
    W(u32),
    H(u16),
}

pub fn bytes_of(parts: &[P]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        match *p {
            P::W(w) => out.extend_from_slice(&w.to_le_bytes()),
            P::H(h) => out.extend_from_slice(&h.to_le_bytes()),
        }
    }
    out
}

pub fn words(ws: &[u32]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_le_bytes()).collect()
}

// ---------------------------------------------------------------------------
// The machine
// ---------------------------------------------------------------------------

/// Code: four pages, R|X|U|A. The page after them is unmapped.
pub const CODE: u64 = 0x1_0000;
pub const CODE_PAGES: u64 = 4;
/// Data: two pages R|W|U|A|D, virtually contiguous but on physically
/// non-adjacent frames. The page after them (`GAP`) is unmapped.
pub const DATA: u64 = 0x2_0000;
pub const GAP: u64 = 0x2_2000;
/// A read-write page followed by a read-only one.
pub const RW_BEFORE_RO: u64 = 0x2_f000;
pub const RO: u64 = 0x3_0000;
/// R|W|X|A|D but no U.
pub const NO_U: u64 = 0x4_0000;
/// Two pages R|W|X|U|A|D, for self-modifying code.
pub const RWX: u64 = 0x5_0000;
/// A read-write alias of the frame behind `CODE + 0x1000`.
pub const ALIAS: u64 = 0x6_0000;
/// R|W|U|D without A.
pub const NO_A: u64 = 0x7_0000;
/// Never mapped.
pub const UNMAPPED: u64 = 0x8_0000;

pub const USER_RO: u64 = pte::V | pte::R | pte::U | pte::A;
pub const USER_RW: u64 = USER_RO | pte::W | pte::D;
pub const USER_RX: u64 = USER_RO | pte::X;
pub const USER_RWX: u64 = USER_RW | pte::X;

/// Budget for a test program: far more than any of them needs.
pub const BUDGET: u64 = 100_000;

pub struct Machine {
    pub hart: Hart,
    pub mem: PhysMem,
    pub root: u64,
    next_frame: u64,
    /// Virtual page -> physical frame address, for the test's own accesses.
    pages: BTreeMap<u64, u64>,
}

impl Default for Machine {
    fn default() -> Self {
        Self::new()
    }
}

impl Machine {
    pub fn new() -> Machine {
        let mut m = Machine {
            hart: Hart::new(),
            mem: PhysMem::new(4 << 20),
            root: 0,
            next_frame: 1,
            pages: BTreeMap::new(),
        };
        m.root = m.frame();
        for p in 0..CODE_PAGES {
            m.map(CODE + p * 0x1000, USER_RX);
        }
        m.map(DATA, USER_RW);
        m.frame(); // a hole, so the two data frames are not adjacent
        m.map(DATA + 0x1000, USER_RW);
        m.map(RW_BEFORE_RO, USER_RW);
        m.map(RO, USER_RO);
        m.map(NO_U, USER_RWX & !pte::U);
        m.map(RWX, USER_RWX);
        m.map(RWX + 0x1000, USER_RWX);
        let code1 = m.pa(CODE + 0x1000);
        m.map_to(ALIAS, code1, USER_RW);
        m.map(NO_A, USER_RW & !pte::A);
        m.hart.set_page_table(m.root);
        m.hart.regs.x[2] = DATA + 0x800;
        m.hart.regs.pc = CODE;
        m
    }

    /// A fresh zeroed frame.
    pub fn frame(&mut self) -> u64 {
        let pa = self.next_frame * PAGE_SIZE as u64;
        self.next_frame += 1;
        pa
    }

    /// The level-0 PTE slot for `va`, creating intermediate tables.
    fn leaf_slot(&mut self, va: u64) -> u64 {
        let mut table = self.root;
        for level in [2, 1] {
            let slot = table + ((va >> (12 + 9 * level)) & 0x1ff) * 8;
            let entry = self.mem.read_u64(slot);
            table = if entry & pte::V != 0 {
                pte::addr(entry)
            } else {
                let next = self.frame();
                self.mem.write_u64(slot, pte::make(next, pte::V));
                next
            };
        }
        table + ((va >> 12) & 0x1ff) * 8
    }

    /// Maps the page at `va` to a new frame; returns the frame.
    pub fn map(&mut self, va: u64, flags: u64) -> u64 {
        let pa = self.frame();
        self.map_to(va, pa, flags);
        pa
    }

    pub fn map_to(&mut self, va: u64, pa: u64, flags: u64) {
        let slot = self.leaf_slot(va);
        self.mem.write_u64(slot, pte::make(pa, flags));
        self.pages.insert(va & !0xfff, pa);
    }

    /// Rewrites the flags of `va`'s leaf (the kernel must flush the TLB).
    pub fn protect(&mut self, va: u64, flags: u64) {
        let pa = self.pa(va) & !0xfff;
        self.map_to(va, pa, flags);
    }

    /// The physical address behind `va` (which the test mapped).
    pub fn pa(&self, va: u64) -> u64 {
        self.pages[&(va & !0xfff)] + (va & 0xfff)
    }

    /// Writes through `PhysMem::write`, page by page.
    pub fn poke(&mut self, va: u64, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            let pa = self.pa(va + i as u64);
            self.mem.write(pa, &[*b]);
        }
    }

    pub fn peek(&self, va: u64, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| {
                let mut b = [0u8];
                self.mem.read(self.pa(va + i as u64), &mut b);
                b[0]
            })
            .collect()
    }

    pub fn poke_u64(&mut self, va: u64, v: u64) {
        self.poke(va, &v.to_le_bytes());
    }
    pub fn poke_u32(&mut self, va: u64, v: u32) {
        self.poke(va, &v.to_le_bytes());
    }
    pub fn peek_u64(&self, va: u64) -> u64 {
        u64::from_le_bytes(self.peek(va, 8).try_into().unwrap())
    }
    pub fn peek_u32(&self, va: u64) -> u32 {
        u32::from_le_bytes(self.peek(va, 4).try_into().unwrap())
    }

    pub fn x(&self, r: usize) -> u64 {
        self.hart.regs.x[r]
    }
    pub fn f(&self, r: usize) -> u64 {
        self.hart.regs.f[r]
    }
    pub fn pc(&self) -> u64 {
        self.hart.regs.pc
    }

    /// Places `code` at `at`, points pc there and runs.
    pub fn run_at(&mut self, at: u64, code: &[u8]) -> Trap {
        self.poke(at, code);
        self.hart.regs.pc = at;
        self.hart.run(&mut self.mem, BUDGET)
    }

    /// Places `code` followed by `ecall` at `CODE`, runs, and checks that the
    /// run ends at that `ecall`.
    pub fn exec(&mut self, code: &[u8]) {
        let mut all = code.to_vec();
        all.extend_from_slice(&ECALL.to_le_bytes());
        let trap = self.run_at(CODE, &all);
        assert_eq!(trap, Trap::Ecall, "pc = {:#x}", self.pc());
        assert_eq!(
            self.pc(),
            CODE + code.len() as u64,
            "stopped at the wrong ecall"
        );
    }

    pub fn exec_words(&mut self, ws: &[u32]) {
        self.exec(&words(ws));
    }

    pub fn exec_parts(&mut self, parts: &[P]) {
        self.exec(&bytes_of(parts));
    }
}

/// Runs one instruction with the given registers preset and returns the
/// machine for inspection.
pub fn run1(insn: u32, regs: &[(usize, u64)]) -> Machine {
    let mut m = Machine::new();
    for &(r, v) in regs {
        m.hart.regs.x[r] = v;
    }
    m.exec_words(&[insn]);
    m
}
