//! Instruction encoders for the generator: one function per RISC-V format,
//! and one per compressed instruction, whose immediates are scrambled each in
//! their own way. Every encoder checks its operands' ranges, so a generator
//! bug fails loudly instead of producing a different instruction.

pub const LOAD: u32 = 0x03;
pub const LOAD_FP: u32 = 0x07;
pub const MISC_MEM: u32 = 0x0f;
pub const OP_IMM: u32 = 0x13;
pub const AUIPC: u32 = 0x17;
pub const OP_IMM_32: u32 = 0x1b;
pub const STORE: u32 = 0x23;
pub const STORE_FP: u32 = 0x27;
pub const AMO: u32 = 0x2f;
pub const OP: u32 = 0x33;
pub const LUI: u32 = 0x37;
pub const OP_32: u32 = 0x3b;
pub const MADD: u32 = 0x43;
pub const OP_FP: u32 = 0x53;
pub const BRANCH: u32 = 0x63;
pub const JALR: u32 = 0x67;
pub const JAL: u32 = 0x6f;
pub const SYSTEM: u32 = 0x73;

/// The low `bits` bits of `value`, which must fit them as a signed number
/// (or as an unsigned one when `signed` is false) and be a multiple of `align`.
fn imm(value: i64, bits: u32, signed: bool, align: i64) -> u32 {
    let (lo, hi) = if signed {
        (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    } else {
        (0, (1 << bits) - 1)
    };
    assert!(
        (lo..=hi).contains(&value) && value % align == 0,
        "immediate {value} does not fit {bits} bits aligned to {align}"
    );
    (value as u32) & ((1 << bits) - 1)
}

fn reg(r: u8) -> u32 {
    assert!(r < 32, "no register {r}");
    r as u32
}

/// Bits `hi..=lo` of `x`, shifted down.
fn b(x: u32, hi: u32, lo: u32) -> u32 {
    (x >> lo) & ((1 << (hi - lo + 1)) - 1)
}

pub fn r_type(opcode: u32, rd: u8, f3: u32, rs1: u8, rs2: u8, f7: u32) -> u32 {
    f7 << 25 | reg(rs2) << 20 | reg(rs1) << 15 | f3 << 12 | reg(rd) << 7 | opcode
}

pub fn i_type(opcode: u32, rd: u8, f3: u32, rs1: u8, value: i64) -> u32 {
    imm(value, 12, true, 1) << 20 | reg(rs1) << 15 | f3 << 12 | reg(rd) << 7 | opcode
}

pub fn s_type(opcode: u32, f3: u32, rs1: u8, rs2: u8, value: i64) -> u32 {
    let i = imm(value, 12, true, 1);
    b(i, 11, 5) << 25 | reg(rs2) << 20 | reg(rs1) << 15 | f3 << 12 | b(i, 4, 0) << 7 | opcode
}

pub fn b_type(f3: u32, rs1: u8, rs2: u8, offset: i64) -> u32 {
    let i = imm(offset, 13, true, 2);
    b(i, 12, 12) << 31
        | b(i, 10, 5) << 25
        | reg(rs2) << 20
        | reg(rs1) << 15
        | f3 << 12
        | b(i, 4, 1) << 8
        | b(i, 11, 11) << 7
        | BRANCH
}

/// `upper` is the 20-bit value placed in bits 31..12.
pub fn u_type(opcode: u32, rd: u8, upper: u32) -> u32 {
    imm(upper.into(), 20, false, 1) << 12 | reg(rd) << 7 | opcode
}

pub fn j_type(rd: u8, offset: i64) -> u32 {
    let i = imm(offset, 21, true, 2);
    b(i, 20, 20) << 31
        | b(i, 10, 1) << 21
        | b(i, 11, 11) << 20
        | b(i, 19, 12) << 12
        | reg(rd) << 7
        | JAL
}

/// The fused multiply-add format; `fmt` is 0 for single, 1 for double.
pub fn r4_type(opcode: u32, rd: u8, rm: u32, rs1: u8, rs2: u8, rs3: u8, fmt: u32) -> u32 {
    reg(rs3) << 27 | fmt << 25 | reg(rs2) << 20 | reg(rs1) << 15 | rm << 12 | reg(rd) << 7 | opcode
}

pub fn amo(f5: u32, aq: bool, rl: bool, f3: u32, rd: u8, rs1: u8, rs2: u8) -> u32 {
    let f7 = f5 << 2 | (aq as u32) << 1 | rl as u32;
    r_type(AMO, rd, f3, rs1, rs2, f7)
}

pub fn csr(f3: u32, rd: u8, csr: u32, rs1_or_uimm: u8) -> u32 {
    csr << 20 | reg(rs1_or_uimm) << 15 | f3 << 12 | reg(rd) << 7 | SYSTEM
}

/// x8..x15, the registers the 3-bit fields of compressed instructions name.
fn creg(r: u8) -> u16 {
    assert!((8..16).contains(&r), "x{r} has no compressed name");
    (r - 8) as u16
}

fn half(x: u32) -> u16 {
    x as u16
}

pub fn c_addi4spn(rd: u8, uimm: i64) -> u16 {
    let i = imm(uimm, 10, false, 4);
    assert!(i != 0, "c.addi4spn needs a nonzero immediate");
    half(b(i, 5, 4) << 11 | b(i, 9, 6) << 7 | b(i, 2, 2) << 6 | b(i, 3, 3) << 5) | creg(rd) << 2
}

/// c.lw (f3 = 2) and c.sw (f3 = 6): word offsets up to 124.
pub fn c_word_mem(f3: u16, r: u8, base: u8, off: i64) -> u16 {
    let i = imm(off, 7, false, 4);
    f3 << 13
        | half(b(i, 5, 3) << 10 | b(i, 2, 2) << 6 | b(i, 6, 6) << 5)
        | creg(base) << 7
        | creg(r) << 2
}

/// c.fld (1), c.ld (3), c.fsd (5), c.sd (7): doubleword offsets up to 248.
pub fn c_double_mem(f3: u16, r: u8, base: u8, off: i64) -> u16 {
    let i = imm(off, 8, false, 8);
    f3 << 13 | half(b(i, 5, 3) << 10 | b(i, 7, 6) << 5) | creg(base) << 7 | creg(r) << 2
}

/// The CI format of quadrant 1: c.addi (0), c.addiw (1), c.li (2), c.lui (3),
/// with a 6-bit signed immediate (for c.lui, bits 17..12 of the value).
pub fn c_imm(f3: u16, rd: u8, value: i64) -> u16 {
    let i = imm(value, 6, true, 1);
    f3 << 13 | half(b(i, 5, 5) << 12 | reg(rd) << 7 | b(i, 4, 0) << 2) | 1
}

pub fn c_addi16sp(value: i64) -> u16 {
    let i = imm(value, 10, true, 16);
    assert!(i != 0, "c.addi16sp needs a nonzero immediate");
    let bits = b(i, 9, 9) << 12
        | 2 << 7
        | b(i, 4, 4) << 6
        | b(i, 6, 6) << 5
        | b(i, 8, 7) << 3
        | b(i, 5, 5) << 2;
    3 << 13 | half(bits) | 1
}

/// c.srli (0), c.srai (1): shift amounts 0..63; c.andi (2): a 6-bit signed immediate.
pub fn c_shift_andi(f2: u16, rd: u8, value: i64) -> u16 {
    let i = if f2 == 2 {
        imm(value, 6, true, 1)
    } else {
        imm(value, 6, false, 1)
    };
    4 << 13 | half(b(i, 5, 5) << 12) | f2 << 10 | creg(rd) << 7 | half(b(i, 4, 0) << 2) | 1
}

/// c.sub, c.xor, c.or, c.and (word = false, f2 0..3); c.subw, c.addw (word = true, f2 0..1).
pub fn c_arith(word: bool, f2: u16, rd: u8, rs2: u8) -> u16 {
    4 << 13 | (word as u16) << 12 | 3 << 10 | creg(rd) << 7 | f2 << 5 | creg(rs2) << 2 | 1
}

pub fn c_j(offset: i64) -> u16 {
    let i = imm(offset, 12, true, 2);
    let bits = b(i, 11, 11) << 12
        | b(i, 4, 4) << 11
        | b(i, 9, 8) << 9
        | b(i, 10, 10) << 8
        | b(i, 6, 6) << 7
        | b(i, 7, 7) << 6
        | b(i, 3, 1) << 3
        | b(i, 5, 5) << 2;
    5 << 13 | half(bits) | 1
}

pub fn c_branch(bnez: bool, rs1: u8, offset: i64) -> u16 {
    let i = imm(offset, 9, true, 2);
    let bits =
        b(i, 8, 8) << 12 | b(i, 4, 3) << 10 | b(i, 7, 6) << 5 | b(i, 2, 1) << 3 | b(i, 5, 5) << 2;
    (6 + bnez as u16) << 13 | half(bits) | creg(rs1) << 7 | 1
}

pub fn c_slli(rd: u8, shamt: i64) -> u16 {
    let i = imm(shamt, 6, false, 1);
    half(b(i, 5, 5) << 12 | reg(rd) << 7 | b(i, 4, 0) << 2) | 2
}

/// c.fldsp (1), c.ldsp (3): doubleword offsets up to 504 from sp.
pub fn c_double_load_sp(f3: u16, rd: u8, off: i64) -> u16 {
    let i = imm(off, 9, false, 8);
    f3 << 13 | half(b(i, 5, 5) << 12 | reg(rd) << 7 | b(i, 4, 3) << 5 | b(i, 8, 6) << 2) | 2
}

pub fn c_lwsp(rd: u8, off: i64) -> u16 {
    let i = imm(off, 8, false, 4);
    2 << 13 | half(b(i, 5, 5) << 12 | reg(rd) << 7 | b(i, 4, 2) << 4 | b(i, 7, 6) << 2) | 2
}

/// c.jr (link = false, rs2 = 0), c.mv (false, rs2 != 0), c.jalr (true, 0), c.add (true, rs2 != 0).
pub fn c_reg(link: bool, rd: u8, rs2: u8) -> u16 {
    4 << 13 | (link as u16) << 12 | half(reg(rd) << 7 | reg(rs2) << 2) | 2
}

/// c.fsdsp (5), c.sdsp (7): doubleword offsets up to 504 from sp.
pub fn c_double_store_sp(f3: u16, rs2: u8, off: i64) -> u16 {
    let i = imm(off, 9, false, 8);
    f3 << 13 | half(b(i, 5, 3) << 10 | b(i, 8, 6) << 7 | reg(rs2) << 2) | 2
}

pub fn c_swsp(rs2: u8, off: i64) -> u16 {
    let i = imm(off, 8, false, 4);
    6 << 13 | half(b(i, 5, 2) << 9 | b(i, 7, 6) << 7 | reg(rs2) << 2) | 2
}
