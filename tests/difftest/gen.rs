//! The program generator: a seeded random sequence of RV64GC instructions
//! between a prologue that loads every register from a table and an epilogue
//! that stores them all, with fcsr and the data area, and writes the lot to
//! stdout.
//!
//! Memory layout (one RWX segment at BASE):
//!
//! ```text
//! BASE                 ELF headers, then the code
//! STATE                the register table: x1..x31, f0..f31, fcsr (SAVE_BYTES);
//!                      initial values on entry, final values at the end
//! STATE + SAVE_BYTES   the data area (DATA_BYTES), seeded random bytes
//! ```
//!
//! sp (x2) points at the middle of the data area and s0 (x8) 512 bytes
//! below it. Both are reserved: no generated instruction writes them, except
//! a c.addi16sp pair that restores sp at once. Every load, store and atomic
//! addresses the data area through them. Branches and jumps only go forward,
//! to the start of a later unit (a group of instructions emitted together),
//! or to the loop's tail, which runs the whole body [`ROUNDS`] times: code
//! reached that often is what the hart's JIT translates, so the programs
//! check its blocks as well as the interpreter. Every program ends.

use testkit::elf;
use testkit::encode::*;
use testkit::Rng;

pub const BASE: u64 = 0x10000;
const STATE: u64 = BASE + 0x2000;
/// x1..x31, f0..f31, fcsr: 64 doublewords.
pub const SAVE_BYTES: usize = 64 * 8;
pub const DATA_BYTES: usize = 2048;
/// What a program writes to stdout: the register table, then the data area.
pub const OUTPUT_BYTES: usize = SAVE_BYTES + DATA_BYTES;
pub const SP_VALUE: u64 = STATE + SAVE_BYTES as u64 + DATA_BYTES as u64 / 2;
pub const S0_VALUE: u64 = SP_VALUE - 512;

/// How many times the body runs: past the JIT's threshold of 8.
const ROUNDS: i32 = 12;

const SP: u32 = 2;
const S0: u32 = 8;
/// The loop's scratch register, kept in its table slot around the tail.
const T0: u32 = 5;
/// The data area relative to sp.
const DATA_LO: i64 = -(DATA_BYTES as i64) / 2;
const DATA_HI: i64 = DATA_BYTES as i64 / 2;
/// The register table relative to sp.
const TABLE: i32 = DATA_LO as i32 - SAVE_BYTES as i32;

/// The generator for seed N starts from N ^ SEED_SALT; changing it would
/// change every program (and make old failure reports unreproducible).
const SEED_SALT: u64 = 0x6a09_e667_f3bc_c908;

pub struct Program {
    pub elf: Vec<u8>,
    /// The random instructions: address and bits (16-bit ones have `len` 2).
    pub listing: Vec<(u64, u32, u8)>,
}

/// Offset from sp of the table slot for x`r` (1..=31), f`r` (32 + r) or fcsr (63).
pub fn slot(index: usize) -> i32 {
    TABLE + 8 * (index as i32 - 1)
}
const FCSR_SLOT: usize = 64;

/// One instruction, or a forward jump whose offset is known only once the
/// program is laid out.
enum Item {
    Word(u32),
    Half(u16),
    Jump { ahead: usize, how: Jump },
}

/// The forms of forward control transfer; each lands on the first
/// instruction of unit `index + ahead`, or on the epilogue.
enum Jump {
    Branch {
        f3: u32,
        rs1: u32,
        rs2: u32,
    },
    Jal {
        rd: u32,
    },
    /// auipc rt, 0; jalr rd, off(rt). With `odd` the offset is one more:
    /// jalr clears bit 0 of the target.
    Jalr {
        rt: u32,
        rd: u32,
        odd: bool,
    },
    CBranch {
        bnez: bool,
        rs1: u32,
    },
    CJ,
    /// auipc rt, 0; addi rt, rt, off; then c.jr rt or c.jalr rt.
    CJr {
        rt: u32,
        link: bool,
    },
}

impl Item {
    fn size(&self) -> u64 {
        match self {
            Item::Word(_) => 4,
            Item::Half(_) => 2,
            Item::Jump { how, .. } => match how {
                Jump::Branch { .. } | Jump::Jal { .. } => 4,
                Jump::Jalr { .. } => 8,
                Jump::CBranch { .. } | Jump::CJ => 2,
                Jump::CJr { .. } => 10,
            },
        }
    }
}

/// Integer values worth starting from: boundaries of every width, shift
/// amounts, and floating-point bit patterns.
const INTS: &[u64] = &[
    0,
    1,
    2,
    u64::MAX,
    i64::MIN as u64,
    i64::MAX as u64,
    0x8000_0000,
    0x7fff_ffff,
    0xffff_ffff,
    0xffff_ffff_8000_0000,
    0x1_0000_0000,
    31,
    32,
    63,
    64,
    0x3ff0_0000_0000_0000,
    0xffff_ffff_3f80_0000,
];

/// Floating-point bit patterns worth starting from. Singles are NaN-boxed
/// here; `fp_value` also makes unboxed ones.
const DOUBLES: &[u64] = &[
    0x0000_0000_0000_0000, // +0
    0x8000_0000_0000_0000, // -0
    0x3ff0_0000_0000_0000, // 1
    0xbff0_0000_0000_0000, // -1
    0x3fe0_0000_0000_0000, // 0.5
    0x3ff8_0000_0000_0000, // 1.5
    0x4004_0000_0000_0000, // 2.5
    0x7ff0_0000_0000_0000, // +inf
    0xfff0_0000_0000_0000, // -inf
    0x7ff8_0000_0000_0000, // canonical qNaN
    0xfff8_0000_0000_1234, // negative qNaN with payload
    0x7ff0_0000_0000_0001, // sNaN
    0x7ff4_0000_0000_0000, // sNaN
    0x0000_0000_0000_0001, // smallest subnormal
    0x000f_ffff_ffff_ffff, // largest subnormal
    0x0010_0000_0000_0000, // smallest normal
    0x7fef_ffff_ffff_ffff, // largest finite
    0x41e0_0000_0000_0000, // 2^31
    0xc1e0_0000_0000_0000, // -2^31
    0x43e0_0000_0000_0000, // 2^63
    0xc3e0_0000_0000_0000, // -2^63
    0x43f0_0000_0000_0000, // 2^64
];
const SINGLES: &[u32] = &[
    0x0000_0000, // +0
    0x8000_0000, // -0
    0x3f80_0000, // 1
    0xbf80_0000, // -1
    0x3f00_0000, // 0.5
    0x3fc0_0000, // 1.5
    0x4020_0000, // 2.5
    0x7f80_0000, // +inf
    0xff80_0000, // -inf
    0x7fc0_0000, // canonical qNaN
    0xffc0_1234, // negative qNaN with payload
    0x7f80_0001, // sNaN
    0x7fa0_0000, // sNaN
    0x0000_0001, // smallest subnormal
    0x007f_ffff, // largest subnormal
    0x0080_0000, // smallest normal
    0x7f7f_ffff, // largest finite
    0x4f00_0000, // 2^31
    0xcf00_0000, // -2^31
    0x5f00_0000, // 2^63
    0xdf00_0000, // -2^63
    0x5f80_0000, // 2^64
];

struct Gen {
    rng: Rng,
    units: Vec<Vec<Item>>,
    unit: Vec<Item>,
}

pub fn generate(seed: u64, instructions: usize) -> Program {
    let mut g = Gen {
        rng: Rng::new(seed ^ SEED_SALT),
        units: Vec::new(),
        unit: Vec::new(),
    };
    let table = g.initial_state();
    let mut count = 0;
    while count < instructions {
        g.random_unit();
        count += g.unit.len();
        let unit = std::mem::take(&mut g.unit);
        g.units.push(unit);
    }
    let data: Vec<u8> = (0..DATA_BYTES / 8)
        .flat_map(|_| g.data_value().to_le_bytes())
        .collect();
    g.assemble(&table, &data)
}

impl Gen {
    /// The register table's initial contents.
    fn initial_state(&mut self) -> Vec<u64> {
        let mut table = vec![0; SAVE_BYTES / 8];
        for r in 1..32 {
            table[r - 1] = match r as u32 {
                SP => SP_VALUE,
                S0 => S0_VALUE,
                _ => self.int_value(),
            };
        }
        for r in 0..32 {
            table[31 + r] = self.fp_value();
        }
        // Any fflags, any valid frm, and junk in the reserved bits above.
        table[FCSR_SLOT - 1] = self.rng.below(5) << 5 | self.rng.below(32) | self.rng.next() << 8;
        table
    }

    fn int_value(&mut self) -> u64 {
        match self.rng.below(4) {
            0 => *self.rng.pick(INTS),
            1 => self.rng.below(4096).wrapping_sub(2048),
            2 => self.fp_value(),
            _ => self.rng.next(),
        }
    }

    fn fp_value(&mut self) -> u64 {
        match self.rng.below(10) {
            0..=3 => *self.rng.pick(DOUBLES),
            4..=7 => 0xffff_ffff_0000_0000 | *self.rng.pick(SINGLES) as u64,
            // Not NaN-boxed: single-precision reads must see the canonical NaN.
            8 => (self.rng.next() & 0xffff_fffe_0000_0000) | *self.rng.pick(SINGLES) as u64,
            _ => self.rng.next(),
        }
    }

    fn data_value(&mut self) -> u64 {
        match self.rng.below(4) {
            0 => *self.rng.pick(DOUBLES),
            1 => (*self.rng.pick(SINGLES) as u64) << 32 | *self.rng.pick(SINGLES) as u64,
            _ => self.rng.next(),
        }
    }

    /// A destination register: anything but the reserved sp and s0 (x0 is
    /// allowed: the write is dropped).
    fn xd(&mut self) -> u32 {
        loop {
            let r = self.rng.below(32) as u32;
            if r != SP && r != S0 {
                return r;
            }
        }
    }

    /// A writable register other than x0, to hold an address.
    fn xt(&mut self) -> u32 {
        loop {
            let r = self.xd();
            if r != 0 {
                return r;
            }
        }
    }

    fn xs(&mut self) -> u32 {
        self.rng.below(32) as u32
    }

    fn f(&mut self) -> u32 {
        self.rng.below(32) as u32
    }

    /// x9..x15: a compressed destination other than s0.
    fn cd(&mut self) -> u32 {
        9 + self.rng.below(7) as u32
    }

    /// x8..x15 or f8..f15: a compressed source.
    fn cs(&mut self) -> u32 {
        8 + self.rng.below(8) as u32
    }

    /// Any rounding mode but the reserved 5 and 6; 7 is dynamic (frm).
    fn rm(&mut self) -> u32 {
        *self.rng.pick(&[0, 1, 2, 3, 4, 7, 7])
    }

    fn imm12(&mut self) -> i32 {
        match self.rng.below(4) {
            0 => *self.rng.pick(&[0, 1, -1, 2047, -2048, 31, 32, 63]),
            _ => self.rng.below(4096) as i32 - 2048,
        }
    }

    fn shamt(&mut self, word: bool) -> u32 {
        self.rng.below(if word { 32 } else { 64 }) as u32
    }

    /// A base register (sp or s0) and an offset that keeps an access of
    /// `size` bytes, aligned to `align`, inside the data area.
    fn address(&mut self, size: i64, align: i64) -> (u32, i32) {
        let (base, from_sp) = if self.rng.below(2) == 0 {
            (SP, 0)
        } else {
            (S0, S0_VALUE as i64 - SP_VALUE as i64)
        };
        let lo = (DATA_LO - from_sp).max(-2048);
        let hi = (DATA_HI - from_sp - size).min(2047);
        let off = lo + self.rng.below((hi - lo + 1) as u64) as i64;
        (base, (off - off.rem_euclid(align)) as i32)
    }

    fn word(&mut self, w: u32) {
        self.unit.push(Item::Word(w));
    }

    fn half(&mut self, h: u16) {
        self.unit.push(Item::Half(h));
    }

    /// A forward jump to the start of one of the next `reach` units.
    fn jump(&mut self, reach: u64, how: Jump) {
        let ahead = 1 + self.rng.below(reach) as usize;
        self.unit.push(Item::Jump { ahead, how });
    }

    /// `addi rt, base, off`: an aligned address in the data area, for atomics.
    fn atomic_address(&mut self, size: i64) -> u32 {
        let rt = self.xt();
        let (base, off) = self.address(size, size);
        self.word(addi(rt, base, off));
        rt
    }

    fn random_unit(&mut self) {
        type Unit = fn(&mut Gen);
        const UNITS: &[(u64, Unit)] = &[
            (12, Gen::alu_reg),
            (3, Gen::div_edge),
            (10, Gen::alu_imm),
            (3, Gen::upper),
            (6, Gen::load),
            (6, Gen::store),
            (5, Gen::fp_memory),
            (5, Gen::amo),
            (3, Gen::lr_sc),
            (1, Gen::lone_sc),
            (8, Gen::fp_arith),
            (2, Gen::fp_sqrt),
            (5, Gen::fp_fused),
            (8, Gen::fp_misc),
            (7, Gen::fp_convert),
            (6, Gen::fp_csr),
            (1, Gen::fence),
            (6, Gen::control),
            (24, Gen::compressed),
        ];
        let total: u64 = UNITS.iter().map(|u| u.0).sum();
        let mut pick = self.rng.below(total);
        for &(weight, unit) in UNITS {
            if pick < weight {
                return unit(self);
            }
            pick -= weight;
        }
    }

    /// RV64I and M register-register operations, W forms included.
    fn alu_reg(&mut self) {
        const OPS: &[(u32, u32, u32)] = &[
            (OP, 0, 0x00),    // add
            (OP, 0, 0x20),    // sub
            (OP, 1, 0x00),    // sll
            (OP, 2, 0x00),    // slt
            (OP, 3, 0x00),    // sltu
            (OP, 4, 0x00),    // xor
            (OP, 5, 0x00),    // srl
            (OP, 5, 0x20),    // sra
            (OP, 6, 0x00),    // or
            (OP, 7, 0x00),    // and
            (OP, 0, 0x01),    // mul
            (OP, 1, 0x01),    // mulh
            (OP, 2, 0x01),    // mulhsu
            (OP, 3, 0x01),    // mulhu
            (OP, 4, 0x01),    // div
            (OP, 5, 0x01),    // divu
            (OP, 6, 0x01),    // rem
            (OP, 7, 0x01),    // remu
            (OP_32, 0, 0x00), // addw
            (OP_32, 0, 0x20), // subw
            (OP_32, 1, 0x00), // sllw
            (OP_32, 5, 0x00), // srlw
            (OP_32, 5, 0x20), // sraw
            (OP_32, 0, 0x01), // mulw
            (OP_32, 4, 0x01), // divw
            (OP_32, 5, 0x01), // divuw
            (OP_32, 6, 0x01), // remw
            (OP_32, 7, 0x01), // remuw
        ];
        let (opcode, f3, f7) = *self.rng.pick(OPS);
        let (rd, rs1, rs2) = (self.xd(), self.xs(), self.xs());
        self.word(r_type(opcode, rd, f3, rs1, rs2, f7));
    }

    /// Division and remainder at their edges, both widths: by zero, by
    /// -1, and of the most negative value by -1 (the overflow).
    fn div_edge(&mut self) {
        let (opcode, f3) = (*self.rng.pick(&[OP, OP_32]), 4 + self.rng.below(4) as u32);
        let (divisor, by) = (self.xt(), *self.rng.pick(&[0, -1]));
        self.word(addi(divisor, 0, by));
        let dividend = if self.coin() {
            let r = loop {
                let r = self.xt();
                if r != divisor {
                    break r;
                }
            };
            let shamt = if opcode == OP { 63 } else { 31 };
            self.word(addi(r, 0, -1));
            self.word(slli(r, r, shamt));
            r
        } else {
            self.xs()
        };
        let rd = self.xd();
        self.word(r_type(opcode, rd, f3, dividend, divisor, 0x01));
    }

    fn alu_imm(&mut self) {
        let (rd, rs1) = (self.xd(), self.xs());
        let w = match self.rng.below(12) {
            f3 @ (0 | 2 | 3 | 4 | 6 | 7) => i_type(OP_IMM, rd, f3 as u32, rs1, self.imm12()),
            8 => i_type(OP_IMM_32, rd, 0, rs1, self.imm12()), // addiw
            9 => slli(rd, rs1, self.shamt(false)),
            10 => {
                let arith = self.rng.below(2) == 1;
                let shamt = self.shamt(false);
                if arith {
                    srai(rd, rs1, shamt)
                } else {
                    srli(rd, rs1, shamt)
                }
            }
            _ => {
                let (f3, f7) = *self.rng.pick(&[(1, 0), (5, 0), (5, 0x20)]); // slliw srliw sraiw
                r_type(OP_IMM_32, rd, f3, rs1, self.shamt(true), f7)
            }
        };
        self.word(w);
    }

    fn upper(&mut self) {
        let opcode = *self.rng.pick(&[LUI, AUIPC]);
        let (rd, upper) = (self.xd(), self.rng.below(1 << 20) as i32);
        self.word(u_type(opcode, rd, upper));
    }

    fn load(&mut self) {
        let f3 = self.rng.below(7) as u32; // lb lh lw ld lbu lhu lwu
        let (base, off) = self.address(1 << (f3 & 3), 1);
        let rd = self.xd();
        self.word(i_type(LOAD, rd, f3, base, off));
    }

    fn store(&mut self) {
        let f3 = self.rng.below(4) as u32; // sb sh sw sd
        let (base, off) = self.address(1 << f3, 1);
        let rs2 = self.xs();
        self.word(s_type(STORE, f3, base, rs2, off));
    }

    fn fp_memory(&mut self) {
        let f3 = 2 + self.rng.below(2) as u32; // flw fld / fsw fsd
        let (base, off) = self.address(1 << f3, 1);
        let r = self.f();
        let w = if self.rng.below(2) == 0 {
            i_type(LOAD_FP, r, f3, base, off)
        } else {
            s_type(STORE_FP, f3, base, r, off)
        };
        self.word(w);
    }

    /// Every AMO, both widths, any aq/rl.
    fn amo(&mut self) {
        const F5: &[u32] = &[
            0b00001, 0b00000, 0b00100, 0b01100, 0b01000, 0b10000, 0b10100, 0b11000, 0b11100,
        ];
        let f3 = 2 + self.rng.below(2) as u32;
        let rt = self.atomic_address(1 << f3);
        let (f5, aq, rl) = (
            *self.rng.pick(F5),
            self.rng.below(2) == 1,
            self.rng.below(2) == 1,
        );
        let (rd, rs2) = (self.xd(), self.xs());
        self.word(amo(f5, f3, rd, rs2, rt, aq, rl));
    }

    /// lr; a few register operations that leave the address alone, and
    /// perhaps a store to the reserved word (of the value lr read, or of
    /// another); sc to the same address. The sc is a compare-and-swap
    /// against the value lr read, in cleave as in qemu: it fails only if the
    /// store changed the word.
    fn lr_sc(&mut self) {
        let f3 = 2 + self.rng.below(2) as u32;
        let rt = self.atomic_address(1 << f3);
        let rd = loop {
            let r = self.xd();
            if r != rt {
                break r;
            }
        };
        let (aq, rl) = (self.coin(), self.coin());
        self.word(amo(0b00010, f3, rd, 0, rt, aq, rl));
        for _ in 0..self.rng.below(3) {
            self.alu_reg();
            if let Some(Item::Word(w)) = self.unit.last() {
                if (w >> 7) & 31 == rt {
                    self.unit.pop();
                }
            }
        }
        if self.rng.below(3) == 0 {
            let value = if self.coin() { rd } else { self.xs() };
            self.word(s_type(STORE, f3, rt, value, 0));
        }
        let (rd, rs2, aq, rl) = (self.xd(), self.xs(), self.coin(), self.coin());
        self.word(amo(0b00011, f3, rd, rs2, rt, aq, rl));
    }

    /// An sc with no reservation (every lr's sc came before): it must fail.
    fn lone_sc(&mut self) {
        let f3 = 2 + self.rng.below(2) as u32;
        let rt = self.atomic_address(1 << f3);
        let (rd, rs2) = (self.xd(), self.xs());
        self.word(amo(0b00011, f3, rd, rs2, rt, false, false));
    }

    fn coin(&mut self) -> bool {
        self.rng.below(2) == 1
    }

    /// `value` with a valid rounding mode (0..=4) in bits `shift..shift + 3`.
    fn valid_frm(&mut self, value: u64, shift: u32) -> u64 {
        value & !(7 << shift) | self.rng.below(5) << shift
    }

    fn fmt(&mut self) -> u32 {
        self.rng.below(2) as u32
    }

    /// fadd, fsub, fmul, fdiv.
    fn fp_arith(&mut self) {
        let f7 = (self.rng.below(4) as u32) << 2 | self.fmt();
        let (rd, rs1, rs2, rm) = (self.f(), self.f(), self.f(), self.rm());
        self.word(r_type(OP_FP, rd, rm, rs1, rs2, f7));
    }

    fn fp_sqrt(&mut self) {
        let f7 = 0x2c | self.fmt();
        let (rd, rs1, rm) = (self.f(), self.f(), self.rm());
        self.word(r_type(OP_FP, rd, rm, rs1, 0, f7));
    }

    /// fmadd, fmsub, fnmsub, fnmadd.
    fn fp_fused(&mut self) {
        let opcode = MADD + 4 * self.rng.below(4) as u32;
        let (rd, rs1, rs2, rs3) = (self.f(), self.f(), self.f(), self.f());
        let (rm, fmt) = (self.rm(), self.fmt());
        self.word(r4_type(opcode, rd, rm, rs1, rs2, rs3, fmt));
    }

    /// Sign injection, min/max, comparisons, fclass and the moves.
    fn fp_misc(&mut self) {
        let fmt = self.fmt();
        let w = match self.rng.below(6) {
            0 => r_type(
                OP_FP,
                self.f(),
                self.rng.below(3) as u32,
                self.f(),
                self.f(),
                0x10 | fmt,
            ),
            1 => r_type(
                OP_FP,
                self.f(),
                self.rng.below(2) as u32,
                self.f(),
                self.f(),
                0x14 | fmt,
            ),
            2 => r_type(
                OP_FP,
                self.xd(),
                self.rng.below(3) as u32,
                self.f(),
                self.f(),
                0x50 | fmt,
            ),
            3 => r_type(OP_FP, self.xd(), 1, self.f(), 0, 0x70 | fmt), // fclass
            4 => r_type(OP_FP, self.xd(), 0, self.f(), 0, 0x70 | fmt), // fmv.x.w/d
            _ => r_type(OP_FP, self.f(), 0, self.xs(), 0, 0x78 | fmt), // fmv.w/d.x
        };
        self.word(w);
    }

    /// To and from w, wu, l, lu, and between single and double.
    fn fp_convert(&mut self) {
        let (fmt, rm, kind) = (self.fmt(), self.rm(), self.rng.below(4) as u32);
        let w = match self.rng.below(3) {
            0 => r_type(OP_FP, self.xd(), rm, self.f(), kind, 0x60 | fmt),
            1 => r_type(OP_FP, self.f(), rm, self.xs(), kind, 0x68 | fmt),
            _ => r_type(OP_FP, self.f(), rm, self.f(), 1 - fmt, 0x20 | fmt),
        };
        self.word(w);
    }

    /// Reads and writes of fflags, frm and fcsr through every CSR form.
    /// frm must stay valid (0..=4), or dynamic rounding would trap: writes
    /// to it take values whose frm bits are valid, set-bits forms start
    /// from frm = 0, and clear-bits forms can only lower a valid value.
    fn fp_csr(&mut self) {
        let rd = self.xd();
        match self.rng.below(8) {
            // csrrw/csrrs/csrrc fflags, rs: any value
            0 => {
                let (f3, rs1) = (1 + self.rng.below(3) as u32, self.xs());
                self.word(csr_type(f3, rd, FFLAGS, rs1));
            }
            // csrrwi/csrrsi/csrrci fflags, uimm: any value
            1 => {
                let (f3, uimm) = (5 + self.rng.below(3) as u32, self.rng.below(32) as u32);
                self.word(csr_type(f3, rd, FFLAGS, uimm));
            }
            // read any of the three
            2 => {
                let which = 1 + self.rng.below(3) as u32;
                self.word(csrrs(rd, which, 0));
            }
            // csrrc/csrrci frm or fcsr, anything
            3 => {
                let (which, imm) = (FRM + self.rng.below(2) as u32, self.rng.below(2) as u32);
                let src = if imm == 1 {
                    self.rng.below(32) as u32
                } else {
                    self.xs()
                };
                self.word(csr_type(3 + 4 * imm, rd, which, src));
            }
            // csrrwi frm, csrrwi fcsr
            4 => {
                let which = FRM + self.rng.below(2) as u32;
                let uimm = self.rng.below(32);
                let uimm = if which == FRM {
                    self.valid_frm(uimm, 0)
                } else {
                    uimm
                };
                self.word(csrrwi(rd, which, uimm as u32));
            }
            // li rt, v; csrrw frm/fcsr, rt (junk above the field must be ignored)
            5 | 6 => {
                let which = FRM + self.rng.below(2) as u32;
                let shift = if which == FRM { 0 } else { 5 };
                let v = self.rng.below(4096);
                let v = self.valid_frm(v, shift) as i32;
                let rt = self.xt();
                // addi rt, x0, v: sign-extended, so often with junk up to bit 63.
                let imm = if v >= 2048 { v - 4096 } else { v };
                self.word(addi(rt, 0, imm));
                let f3 = if shift == 5 && self.rng.below(2) == 0 {
                    // csrrs fcsr from frm = 0 gives a valid frm too.
                    self.word(csrrwi(0, FRM, 0));
                    2
                } else {
                    1
                };
                self.word(csr_type(f3, rd, which, rt));
            }
            // csrrwi frm, 0; csrrsi frm, v
            _ => {
                self.word(csrrwi(0, FRM, 0));
                let uimm = self.rng.below(32);
                let uimm = self.valid_frm(uimm, 0);
                self.word(csrrsi(rd, FRM, uimm as u32));
            }
        }
    }

    fn fence(&mut self) {
        let w = match self.rng.below(3) {
            0 => FENCE_I,
            1 => 0x8330_000f,                                   // fence.tso
            _ => (self.rng.below(256) as u32) << 20 | MISC_MEM, // fence pred, succ
        };
        self.word(w);
    }

    fn control(&mut self) {
        match self.rng.below(4) {
            0 | 1 => {
                let f3 = *self.rng.pick(&[0, 1, 4, 5, 6, 7]);
                let (rs1, rs2) = (self.xs(), self.xs());
                self.jump(12, Jump::Branch { f3, rs1, rs2 });
            }
            2 => {
                let rd = self.xd();
                self.jump(12, Jump::Jal { rd });
            }
            _ => {
                let (rt, rd, odd) = (self.xt(), self.xd(), self.rng.below(2) == 1);
                self.jump(12, Jump::Jalr { rt, rd, odd });
            }
        }
    }

    /// Every RV64C instruction but c.ebreak, with HINT forms (x0
    /// destinations, zero shifts and immediates) where they are legal.
    fn compressed(&mut self) {
        let rng = |g: &mut Gen, n| g.rng.below(n) as u32;
        let imm6 = |g: &mut Gen| g.rng.below(64) as i32 - 32;
        // A full-width destination other than sp and s0; `zero` allows x0.
        let rd = |g: &mut Gen, zero: bool| loop {
            let r = g.xd();
            if zero || r != 0 {
                break r;
            }
        };
        let h = match self.rng.below(24) {
            0 => c_addi4spn(self.cd(), 4 * (1 + rng(self, 255))),
            1 => c_fld(self.cs(), S0, 8 * rng(self, 32)),
            2 => c_lw(self.cd(), S0, 4 * rng(self, 32)),
            3 => c_ld(self.cd(), S0, 8 * rng(self, 32)),
            4 => c_fsd(self.cs(), S0, 8 * rng(self, 32)),
            5 => c_sw(self.cs(), S0, 4 * rng(self, 32)),
            6 => c_sd(self.cs(), S0, 8 * rng(self, 32)),
            7 => c_addi(rd(self, true), imm6(self)), // c.nop too
            8 => c_addiw(rd(self, false), imm6(self)),
            9 => c_li(rd(self, true), imm6(self)),
            10 => {
                // c.addi16sp, undone at once: sp is reserved.
                let n =
                    16 * (1 + rng(self, 31)) as i32 * if self.rng.below(2) == 0 { 1 } else { -1 };
                self.half(c_addi16sp(n));
                c_addi16sp(-n)
            }
            11 => {
                let v = loop {
                    let v = imm6(self);
                    if v != 0 {
                        break v;
                    }
                };
                c_lui(rd(self, true), v)
            }
            12 => c_srli(self.cd(), rng(self, 64)),
            13 => c_srai(self.cd(), rng(self, 64)),
            14 => c_andi(self.cd(), imm6(self)),
            15 => {
                let word = self.rng.below(3) == 0;
                let f2 = self.rng.below(if word { 2 } else { 4 }) as u16;
                c_arith(word, f2, self.cd(), self.cs())
            }
            16 => {
                match self.rng.below(3) {
                    0 => self.jump(40, Jump::CJ),
                    n => {
                        let rs1 = self.cs();
                        self.jump(3, Jump::CBranch { bnez: n == 2, rs1 })
                    }
                }
                return;
            }
            17 => c_slli(rd(self, true), rng(self, 64)),
            18 => c_fldsp(self.f(), 8 * rng(self, 64)),
            19 => c_lwsp(rd(self, false), 4 * rng(self, 64)),
            20 => c_ldsp(rd(self, false), 8 * rng(self, 64)),
            21 => {
                let (rt, link) = (self.xt(), self.rng.below(2) == 1);
                self.jump(12, Jump::CJr { rt, link });
                return;
            }
            22 => {
                // c.mv, c.add
                let rs2 = loop {
                    let r = self.xs();
                    if r != 0 {
                        break r;
                    }
                };
                c_reg(self.rng.below(2) == 1, rd(self, true), rs2)
            }
            _ => match self.rng.below(3) {
                0 => c_fsdsp(self.f(), 8 * rng(self, 64)),
                1 => c_swsp(self.xs(), 4 * rng(self, 64)),
                _ => c_sdsp(self.xs(), 8 * rng(self, 64)),
            },
        };
        self.half(h);
    }

    /// Lays out prologue, units and epilogue, resolves the jumps, and wraps
    /// the code and the state in an ELF file.
    fn assemble(&self, table: &[u64], data: &[u8]) -> Program {
        let entry = BASE + elf::HEADERS;
        let mut code = Vec::new();
        let push = |code: &mut Vec<u8>, w: u32| code.extend_from_slice(&w.to_le_bytes());

        // Prologue: sp first, then fcsr through x1, then every register.
        let (hi, lo) = split(SP_VALUE as i64);
        push(&mut code, lui(SP, hi));
        push(&mut code, addi(SP, SP, lo));
        push(&mut code, ld(1, SP, slot(FCSR_SLOT)));
        push(&mut code, csrrw(0, FCSR, 1));
        // The rounds left live in fcsr's table slot until the epilogue.
        push(&mut code, addi(1, 0, ROUNDS));
        push(&mut code, sd(1, SP, slot(FCSR_SLOT)));
        for r in (1..32).filter(|&r| r != SP) {
            push(&mut code, ld(r, SP, slot(r as usize)));
        }
        for r in 0..32 {
            push(&mut code, fld(r, SP, slot(32 + r as usize)));
        }

        // The units' addresses; the loop's tail is unit `units.len()`.
        let body = entry + code.len() as u64;
        let mut starts = vec![body];
        for unit in &self.units {
            let size: u64 = unit.iter().map(Item::size).sum();
            starts.push(starts.last().unwrap() + size);
        }
        let mut listing = Vec::new();
        for (index, unit) in self.units.iter().enumerate() {
            for item in unit {
                let at = entry + code.len() as u64;
                let mut words = Vec::new();
                match item {
                    Item::Word(w) => words.push((*w, 4)),
                    Item::Half(h) => words.push((*h as u32, 2)),
                    Item::Jump { ahead, how } => {
                        let target = starts[(index + ahead).min(self.units.len())];
                        let off = (target - at) as i32;
                        match *how {
                            Jump::Branch { f3, rs1, rs2 } => {
                                words.push((b_type(f3, rs1, rs2, off), 4))
                            }
                            Jump::Jal { rd } => words.push((jal(rd, off), 4)),
                            Jump::Jalr { rt, rd, odd } => {
                                words.push((auipc(rt, 0), 4));
                                words.push((jalr(rd, rt, off + odd as i32), 4));
                            }
                            Jump::CBranch { bnez, rs1 } => {
                                words.push((c_branch(bnez, rs1, off) as u32, 2))
                            }
                            Jump::CJ => words.push((c_j(off) as u32, 2)),
                            Jump::CJr { rt, link } => {
                                words.push((auipc(rt, 0), 4));
                                words.push((addi(rt, rt, off), 4));
                                words.push((c_reg(link, rt, 0) as u32, 2));
                            }
                        }
                    }
                }
                for (bits, len) in words {
                    listing.push((entry + code.len() as u64, bits, len));
                    code.extend_from_slice(&bits.to_le_bytes()[..len as usize]);
                }
            }
        }
        assert_eq!(entry + code.len() as u64, *starts.last().unwrap());

        // The tail: one round fewer; t0 borrowed and given back.
        push(&mut code, sd(T0, SP, slot(T0 as usize)));
        push(&mut code, ld(T0, SP, slot(FCSR_SLOT)));
        push(&mut code, addi(T0, T0, -1));
        push(&mut code, sd(T0, SP, slot(FCSR_SLOT)));
        push(&mut code, beq(T0, 0, 12));
        push(&mut code, ld(T0, SP, slot(T0 as usize)));
        let at = entry + code.len() as u64;
        push(&mut code, jal(0, body as i32 - at as i32));
        push(&mut code, ld(T0, SP, slot(T0 as usize)));

        // Epilogue: every register, fcsr, then write(1, table, OUTPUT_BYTES)
        // and exit(0).
        for r in 1..32 {
            push(&mut code, sd(r, SP, slot(r as usize)));
        }
        for r in 0..32 {
            push(&mut code, fsd(r, SP, slot(32 + r as usize)));
        }
        push(&mut code, csrrs(1, FCSR, 0));
        push(&mut code, sd(1, SP, slot(FCSR_SLOT)));
        let (a0, a1, a2, a7) = (10, 11, 12, 17);
        let (hi, lo) = split(OUTPUT_BYTES as i64);
        push(&mut code, addi(a0, 0, 1));
        push(&mut code, addi(a1, SP, TABLE));
        push(&mut code, lui(a2, hi));
        push(&mut code, addi(a2, a2, lo));
        push(&mut code, addi(a7, 0, 64));
        push(&mut code, ECALL);
        push(&mut code, addi(a0, 0, 0));
        push(&mut code, addi(a7, 0, 93));
        push(&mut code, ECALL);

        let state_offset = (STATE - BASE - elf::HEADERS) as usize;
        assert!(code.len() <= state_offset, "the code overlaps the state");
        let mut image = code;
        image.resize(state_offset, 0);
        image.extend(table.iter().flat_map(|v| v.to_le_bytes()));
        image.extend_from_slice(data);
        Program {
            elf: elf::executable(BASE, entry, &image),
            listing,
        }
    }
}

/// `value` as lui's upper 20 bits plus a signed 12-bit addi.
fn split(value: i64) -> (i32, i32) {
    let lo = (value << 52) >> 52;
    (((value - lo) >> 12) as i32 & 0xfffff, lo as i32)
}

/// Where the register table starts in the ELF file.
pub fn elf_offset_of_state() -> usize {
    (STATE - BASE) as usize
}
