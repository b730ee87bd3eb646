//! A million random 32-bit words and a million random 16-bit halfwords, each
//! executed alone on a hart whose memory is reached through a real Sv39 page
//! table. Nothing may panic; every word must either execute or trap, and an
//! independent reading of the RV64GC encodings, written from the spec in this
//! file, says which words must be illegal. A trap at the word must be
//! precise: no register, not even pc, changes. (A word that retires may then
//! fault fetching the next instruction, if it jumped off the mapped code.)

use rv::{pte, Hart, PhysMem, Regs, Trap, PAGE_SIZE};
use testkit::Rng;

const WORDS: usize = 1_000_000;
const HALFWORDS: usize = 1_000_000;

/// Where the words are laid out, one after another, read and execute only.
const CODE: u64 = 0x10_0000;
const CODE_BYTES: u64 = WORDS as u64 * 4;
/// The middle of a small read-write data area; registers point around it so
/// that most loads and stores hit mapped memory.
const DATA: u64 = 0x80_0000;
const DATA_PAGES: u64 = 4;

const LEAF: u64 = pte::V | pte::U | pte::A;

/// A hart, its memory, and a bump allocator of physical frames.
struct Machine {
    hart: Hart,
    mem: PhysMem,
    root: u64,
    next_frame: u64,
}

impl Machine {
    fn new() -> Machine {
        let pages = CODE_BYTES / PAGE_SIZE as u64 + DATA_PAGES + 16;
        let mut m = Machine {
            hart: Hart::new(),
            mem: PhysMem::new(pages as usize * PAGE_SIZE),
            root: 0,
            next_frame: 1, // frame 0 stays unused, so no table is at address 0
        };
        m.root = m.frame();
        for va in (CODE..CODE + CODE_BYTES).step_by(PAGE_SIZE) {
            m.map(va, LEAF | pte::R | pte::X);
        }
        let data_start = DATA - DATA_PAGES / 2 * PAGE_SIZE as u64;
        for page in 0..DATA_PAGES {
            m.map(
                data_start + page * PAGE_SIZE as u64,
                LEAF | pte::R | pte::W | pte::D,
            );
        }
        m.hart.set_page_table(m.root);
        m
    }

    /// A fresh zeroed frame's physical address.
    fn frame(&mut self) -> u64 {
        let pa = self.next_frame * PAGE_SIZE as u64;
        self.next_frame += 1;
        pa
    }

    /// Maps the 4 KiB page at `va` to a new frame, creating the level-1 and
    /// level-0 tables on the way as the kernel would.
    fn map(&mut self, va: u64, flags: u64) {
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
        let leaf = self.frame();
        self.mem
            .write_u64(table + ((va >> 12) & 0x1ff) * 8, pte::make(leaf, flags));
    }

    /// Writes `bytes` at virtual address `va` by walking the table by hand.
    fn poke(&mut self, va: u64, bytes: &[u8]) {
        for (i, chunk) in bytes.chunks(PAGE_SIZE).enumerate() {
            let page = va + (i * PAGE_SIZE) as u64;
            let mut table = self.root;
            for level in [2, 1, 0] {
                let entry = self
                    .mem
                    .read_u64(table + ((page >> (12 + 9 * level)) & 0x1ff) * 8);
                table = pte::addr(entry);
            }
            self.mem.write(table, chunk);
        }
    }

    /// Runs the one instruction at `pc` from a seeded random register file
    /// and checks the outcome against `kind`.
    fn check(&mut self, rng: &mut Rng, pc: u64, bits: u32, kind: Kind) {
        let before = random_regs(rng, pc);
        self.hart.regs = before.clone();
        self.hart.clear_reservation();
        let instret = self.hart.instret();
        let trap = self.hart.run(&mut self.mem, 1);
        let retired = self.hart.instret() - instret;
        let ok = match (trap, retired) {
            // The budget is exact: even a jump out of the mapped code stops
            // here, and the fetch fault belongs to the next run.
            (Trap::BudgetExhausted, 1) => kind != Kind::Illegal,
            (Trap::IllegalInstruction { bits: reported }, 0) => {
                kind == Kind::Illegal && reported == bits
            }
            (Trap::Ecall, 0) => kind == Kind::Ecall,
            (Trap::Breakpoint, 0) => kind == Kind::Ebreak,
            (Trap::PageFault { .. } | Trap::Misaligned { .. }, 0) => kind == Kind::Memory,
            _ => false,
        };
        assert!(
            ok,
            "{bits:#010x} ({kind:?}) at {pc:#x} gave {trap:?} after retiring {retired}"
        );
        if retired == 0 {
            assert_eq!(
                self.hart.regs, before,
                "{bits:#010x}: {trap:?} is not precise"
            );
        }
    }
}

/// Registers for one run: most integer registers point into the data area
/// (8-byte aligned, so atomics can succeed), a few hold anything; FP registers
/// hold a mix of special values and random bits; frm is valid, so the dynamic
/// rounding mode (rm = 7) is too.
fn random_regs(rng: &mut Rng, pc: u64) -> Regs {
    const SPECIAL: [u64; 8] = [
        0x7ff8_0000_0000_0000, // canonical double NaN
        0x7ff0_0000_0000_0001, // double sNaN
        0x0000_0000_0000_0001, // smallest double subnormal
        0xfff0_0000_0000_0000, // -inf
        0x8000_0000_0000_0000, // -0.0
        0xffff_ffff_7fc0_0000, // boxed single qNaN
        0xffff_ffff_0000_0001, // boxed single subnormal
        0x0000_0000_3f80_0000, // 1.0f, not NaN-boxed
    ];
    let mut regs = Regs {
        pc,
        fcsr: ((rng.next() % 5) << 5 | rng.next() & 0x1f) as u32,
        ..Regs::default()
    };
    for i in 1..32 {
        let r = rng.next();
        regs.x[i] = if i % 4 == 3 {
            r
        } else {
            DATA - 0x400 + (r & 0x7f8)
        };
        regs.f[i] = if r & 1 == 0 {
            SPECIAL[(r >> 1) as usize % SPECIAL.len()]
        } else {
            rng.next()
        };
    }
    regs
}

/// What an instruction may do when run alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Illegal,
    /// Executes, or faults on the memory it accesses.
    Memory,
    /// Executes without touching memory.
    Plain,
    Ecall,
    Ebreak,
}

fn field(x: u32, hi: u32, lo: u32) -> u32 {
    (x >> lo) & ((1 << (hi - lo + 1)) - 1)
}

fn legal(valid: bool, kind: Kind) -> Kind {
    if valid {
        kind
    } else {
        Kind::Illegal
    }
}

/// Rounding-mode fields: 5 and 6 are reserved, 7 defers to frm.
fn rm_ok(rm: u32) -> bool {
    rm != 5 && rm != 6
}

/// The user CSRs of RV64GC: fflags, frm and fcsr read-write; cycle, time and
/// instret read-only. Anything else, or a write to a read-only one, is illegal.
fn csr_ok(insn: u32) -> bool {
    let csr = field(insn, 31, 20);
    let f3 = field(insn, 14, 12);
    // csrrs/csrrc (and their immediate forms) with x0 / 0 only read.
    let writes = f3 & 3 == 1 || field(insn, 19, 15) != 0;
    match csr {
        1..=3 => true,
        0xc00..=0xc02 => !writes,
        _ => false,
    }
}

/// Classifies a 32-bit encoding (low bits 11) by the RV64GC spec.
fn kind_32(i: u32) -> Kind {
    use Kind::*;
    let f3 = field(i, 14, 12);
    let f7 = field(i, 31, 25);
    let rs2 = field(i, 24, 20);
    let fmt_ok = f7 & 2 == 0; // bit 26 set means half or quad precision
    match field(i, 6, 0) {
        0x37 | 0x17 | 0x6f => Plain,                      // lui, auipc, jal
        0x67 => legal(f3 == 0, Plain),                    // jalr
        0x63 => legal(f3 != 2 && f3 != 3, Plain),         // branches
        0x03 => legal(f3 != 7, Memory),                   // loads
        0x23 => legal(f3 < 4, Memory),                    // stores
        0x07 | 0x27 => legal(f3 == 2 || f3 == 3, Memory), // flw/fld, fsw/fsd
        0x13 => match f3 {
            1 => legal(field(i, 31, 26) == 0, Plain),
            5 => legal(field(i, 31, 26) & !0x10 == 0, Plain),
            _ => Plain,
        },
        0x1b => match f3 {
            0 => Plain,
            1 => legal(f7 == 0, Plain),
            5 => legal(f7 & !0x20 == 0, Plain),
            _ => Illegal,
        },
        0x33 => legal(
            f7 == 1 || f7 == 0 || (f7 == 0x20 && (f3 == 0 || f3 == 5)),
            Plain,
        ),
        0x3b => legal(
            match f7 {
                0 => matches!(f3, 0 | 1 | 5),
                0x20 => matches!(f3, 0 | 5),
                1 => matches!(f3, 0 | 4..=7),
                _ => false,
            },
            Plain,
        ),
        // fence's unused fields are reserved for hints: executed as a fence.
        0x0f => legal(f3 < 2, Plain),
        0x73 => match (f3, i) {
            (0, 0x0000_0073) => Ecall,
            (0, 0x0010_0073) => Ebreak,
            (0 | 4, _) => Illegal, // privileged and hypervisor instructions
            _ => legal(csr_ok(i), Plain),
        },
        0x2f => legal(
            (f3 == 2 || f3 == 3)
                && match field(i, 31, 27) {
                    0b00010 => rs2 == 0, // lr
                    f5 => {
                        matches!(f5, 0b00011 | 0b00001 | 0b00000 | 0b00100)
                            || matches!(f5, 0b01100 | 0b01000 | 0b10000 | 0b10100)
                            || matches!(f5, 0b11000 | 0b11100)
                    }
                },
            Memory,
        ),
        0x43 | 0x47 | 0x4b | 0x4f => legal(fmt_ok && rm_ok(f3), Plain), // fused multiply-add
        0x53 => legal(fmt_ok && op_fp_ok(f7, f3, rs2), Plain),
        _ => Illegal,
    }
}

fn op_fp_ok(f7: u32, rm: u32, rs2: u32) -> bool {
    match f7 >> 2 {
        0x00..=0x03 => rm_ok(rm),              // fadd fsub fmul fdiv
        0x0b => rs2 == 0 && rm_ok(rm),         // fsqrt
        0x04 => rm < 3,                        // fsgnj fsgnjn fsgnjx
        0x05 => rm < 2,                        // fmin fmax
        0x08 => rs2 == (!f7 & 1) && rm_ok(rm), // fcvt.s.d, fcvt.d.s
        0x14 => rm < 3,                        // fle flt feq
        0x18 | 0x1a => rs2 < 4 && rm_ok(rm),   // fcvt to and from integers
        0x1c => rs2 == 0 && rm < 2,            // fmv.x.w/d, fclass
        0x1e => rs2 == 0 && rm == 0,           // fmv.w/d.x
        _ => false,
    }
}

/// Classifies a 16-bit encoding (low bits not 11) by the RV64C spec. HINTs
/// (c.nop with an immediate, writes to x0, shifts by zero) are legal.
fn kind_16(c: u32) -> Kind {
    use Kind::*;
    let rd = field(c, 11, 7);
    let rs2 = field(c, 6, 2);
    let imm6 = field(c, 12, 12) << 5 | rs2;
    match (c & 3, field(c, 15, 13)) {
        (0, 0) => legal(field(c, 12, 5) != 0, Plain), // c.addi4spn
        (0, 4) => Illegal,
        (0, _) => Memory,
        (1, 1) => legal(rd != 0, Plain),   // c.addiw
        (1, 3) => legal(imm6 != 0, Plain), // c.lui, c.addi16sp
        (1, 4) if field(c, 11, 10) == 3 && field(c, 12, 12) == 1 => {
            legal(field(c, 6, 5) < 2, Plain) // c.subw, c.addw
        }
        (1, _) => Plain,
        (2, 2 | 3) => legal(rd != 0, Memory), // c.lwsp, c.ldsp
        (2, 4) => match (field(c, 12, 12), rd, rs2) {
            (0, 0, 0) => Illegal, // c.jr x0
            (1, 0, 0) => Ebreak,
            _ => Plain,
        },
        (2, 0) => Plain,
        _ => Memory,
    }
}

#[test]
fn a_million_random_words_and_halfwords() {
    let mut m = Machine::new();
    let mut rng = Rng::new(0x5eed_0001);

    // Low bits 11 make every word a 32-bit encoding; the halfwords below
    // cover the compressed space.
    let words: Vec<u32> = (0..WORDS).map(|_| rng.next() as u32 | 3).collect();
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    m.poke(CODE, &bytes);
    for (i, &w) in words.iter().enumerate() {
        m.check(&mut rng, CODE + 4 * i as u64, w, kind_32(w));
    }

    let halves: Vec<u16> = (0..HALFWORDS)
        .map(|_| loop {
            let h = rng.next() as u16;
            if h & 3 != 3 {
                break h;
            }
        })
        .collect();
    let bytes: Vec<u8> = halves.iter().flat_map(|h| h.to_le_bytes()).collect();
    m.poke(CODE, &bytes);
    for (i, &h) in halves.iter().enumerate() {
        m.check(&mut rng, CODE + 2 * i as u64, h.into(), kind_16(h.into()));
    }
}

#[test]
fn known_illegal_patterns_trap() {
    let fadd_s = |rm: u32| rm << 12 | 3 << 20 | 2 << 15 | 1 << 7 | 0x53; // fadd.s f1, f2, f3
    let cases: &[(&str, u32, u32)] = &[
        // (what, bits, frm)
        ("all zeros (defined illegal)", 0x0000_0000, 0),
        ("all ones (a 48-bit-or-longer encoding)", 0xffff_ffff, 0),
        ("c.addi4spn with zero immediate", 0x0004, 0),
        ("c.addiw x0", 0x2001, 0),
        ("c.lui x1, 0", 0x6081, 0),
        ("c.addi16sp 0", 0x6101, 0),
        ("c.lwsp x0", 0x4002, 0),
        ("c.ldsp x0", 0x6002, 0),
        ("c.jr x0", 0x8002, 0),
        ("fadd.s rm=5", fadd_s(5), 0),
        ("fadd.s rm=6", fadd_s(6), 0),
        ("fadd.s rm=7 with frm=5", fadd_s(7), 5),
        ("fadd.s rm=7 with frm=7", fadd_s(7), 7),
        (
            "lr.w with rs2 set",
            0x1000_202f | 1 << 20 | 10 << 15 | 5 << 7,
            0,
        ),
        (
            "csrrw x1, cycle, x2 (read-only)",
            0xc00 << 20 | 2 << 15 | 1 << 12 | 1 << 7 | 0x73,
            0,
        ),
        (
            "csrr x1, mstatus (machine mode)",
            0x300 << 20 | 2 << 12 | 1 << 7 | 0x73,
            0,
        ),
        ("mret", 0x3020_0073, 0),
    ];
    let mut m = Machine::new();
    for &(what, bits, frm) in cases {
        m.poke(CODE, &bits.to_le_bytes());
        let mut regs = random_regs(&mut Rng::new(1), CODE);
        regs.fcsr = frm << 5;
        m.hart.regs = regs.clone();
        let trap = m.hart.run(&mut m.mem, 1);
        let expected = if bits & 3 == 3 { bits } else { bits & 0xffff };
        assert_eq!(trap, Trap::IllegalInstruction { bits: expected }, "{what}");
        assert_eq!(m.hart.regs, regs, "{what}: the trap is not precise");
    }
}
