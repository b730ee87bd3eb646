//! A tiny RISC-V assembler and a machine with a hand-built Sv39 table, for
//! the hart's instruction tests. Everything goes through `rv`'s public API.
//!
//! Encoder arguments follow one order: destination first, then sources, then
//! the immediate. Loads are `(rd, rs1, offset)`, stores `(rs2, rs1, offset)`
//! (the data register first, as in `sd rs2, offset(rs1)`), AMOs and SC
//! `(rd, rs2, rs1)` as in `amoadd.w rd, rs2, (rs1)`. Compressed encoders
//! take full register numbers (x8..x15 where the format has 3-bit fields)
//! and check that the operands fit their fields.

#![allow(dead_code)]

use rv::{pte, Hart, PhysMem, Trap, PAGE_SIZE};
use std::collections::BTreeMap;

// ---------------------------------------------------------------------------
// 32-bit formats
// ---------------------------------------------------------------------------

fn reg(r: u32) -> u32 {
    assert!(r < 32, "register x{r}");
    r
}

pub fn r_type(op: u32, rd: u32, f3: u32, rs1: u32, rs2: u32, f7: u32) -> u32 {
    op | reg(rd) << 7 | f3 << 12 | reg(rs1) << 15 | reg(rs2) << 20 | f7 << 25
}

pub fn i_type(op: u32, rd: u32, f3: u32, rs1: u32, imm: i32) -> u32 {
    assert!((-2048..=2047).contains(&imm), "I immediate {imm}");
    op | reg(rd) << 7 | f3 << 12 | reg(rs1) << 15 | (imm as u32) << 20
}

pub fn s_type(op: u32, f3: u32, rs1: u32, rs2: u32, imm: i32) -> u32 {
    assert!((-2048..=2047).contains(&imm), "S immediate {imm}");
    let u = imm as u32;
    op | (u & 0x1f) << 7 | f3 << 12 | reg(rs1) << 15 | reg(rs2) << 20 | (u >> 5 & 0x7f) << 25
}

pub fn b_type(f3: u32, rs1: u32, rs2: u32, imm: i32) -> u32 {
    assert!(
        (-4096..=4094).contains(&imm) && imm % 2 == 0,
        "B offset {imm}"
    );
    let u = imm as u32;
    0x63 | (u >> 11 & 1) << 7
        | (u >> 1 & 0xf) << 8
        | f3 << 12
        | reg(rs1) << 15
        | reg(rs2) << 20
        | (u >> 5 & 0x3f) << 25
        | (u >> 12 & 1) << 31
}

/// `imm20` is the 20-bit field (negative values are taken modulo 2^20).
pub fn u_type(op: u32, rd: u32, imm20: i32) -> u32 {
    assert!((-0x80000..=0xfffff).contains(&imm20), "U immediate {imm20}");
    op | reg(rd) << 7 | (imm20 as u32 & 0xfffff) << 12
}

pub fn j_type(rd: u32, imm: i32) -> u32 {
    assert!(
        (-(1 << 20)..(1 << 20)).contains(&imm) && imm % 2 == 0,
        "J offset {imm}"
    );
    let u = imm as u32;
    0x6f | reg(rd) << 7
        | (u >> 12 & 0xff) << 12
        | (u >> 11 & 1) << 20
        | (u >> 1 & 0x3ff) << 21
        | (u >> 20 & 1) << 31
}

pub fn r4_type(op: u32, rd: u32, rm: u32, rs1: u32, rs2: u32, rs3: u32, fmt: u32) -> u32 {
    op | reg(rd) << 7 | rm << 12 | reg(rs1) << 15 | reg(rs2) << 20 | fmt << 25 | reg(rs3) << 27
}

// ---------------------------------------------------------------------------
// RV64I
// ---------------------------------------------------------------------------

pub fn lui(rd: u32, imm20: i32) -> u32 {
    u_type(0x37, rd, imm20)
}
pub fn auipc(rd: u32, imm20: i32) -> u32 {
    u_type(0x17, rd, imm20)
}
pub fn jal(rd: u32, off: i32) -> u32 {
    j_type(rd, off)
}
pub fn jalr(rd: u32, rs1: u32, off: i32) -> u32 {
    i_type(0x67, rd, 0, rs1, off)
}

macro_rules! branches {
    ($($name:ident = $f3:expr;)*) => {$(
        pub fn $name(rs1: u32, rs2: u32, off: i32) -> u32 {
            b_type($f3, rs1, rs2, off)
        }
    )*};
}
branches! {
    beq = 0; bne = 1; blt = 4; bge = 5; bltu = 6; bgeu = 7;
}

macro_rules! loads {
    ($($name:ident = $op:expr, $f3:expr;)*) => {$(
        pub fn $name(rd: u32, rs1: u32, off: i32) -> u32 {
            i_type($op, rd, $f3, rs1, off)
        }
    )*};
}
loads! {
    lb = 0x03, 0; lh = 0x03, 1; lw = 0x03, 2; ld = 0x03, 3;
    lbu = 0x03, 4; lhu = 0x03, 5; lwu = 0x03, 6;
    flw = 0x07, 2; fld = 0x07, 3;
}

macro_rules! stores {
    ($($name:ident = $op:expr, $f3:expr;)*) => {$(
        pub fn $name(rs2: u32, rs1: u32, off: i32) -> u32 {
            s_type($op, $f3, rs1, rs2, off)
        }
    )*};
}
stores! {
    sb = 0x23, 0; sh = 0x23, 1; sw = 0x23, 2; sd = 0x23, 3;
    fsw = 0x27, 2; fsd = 0x27, 3;
}

macro_rules! imm_ops {
    ($($name:ident = $op:expr, $f3:expr;)*) => {$(
        pub fn $name(rd: u32, rs1: u32, imm: i32) -> u32 {
            i_type($op, rd, $f3, rs1, imm)
        }
    )*};
}
imm_ops! {
    addi = 0x13, 0; slti = 0x13, 2; sltiu = 0x13, 3; xori = 0x13, 4;
    ori = 0x13, 6; andi = 0x13, 7; addiw = 0x1b, 0;
}

macro_rules! shift_imm {
    ($($name:ident = $op:expr, $f3:expr, $hi:expr, $max:expr;)*) => {$(
        pub fn $name(rd: u32, rs1: u32, shamt: u32) -> u32 {
            assert!(shamt <= $max, "shift amount {shamt}");
            $op | reg(rd) << 7 | $f3 << 12 | reg(rs1) << 15 | shamt << 20 | $hi << 25
        }
    )*};
}
shift_imm! {
    slli = 0x13, 1, 0x00, 63; srli = 0x13, 5, 0x00, 63; srai = 0x13, 5, 0x20, 63;
    slliw = 0x1b, 1, 0x00, 31; srliw = 0x1b, 5, 0x00, 31; sraiw = 0x1b, 5, 0x20, 31;
}

macro_rules! reg_ops {
    ($($name:ident = $op:expr, $f3:expr, $f7:expr;)*) => {$(
        pub fn $name(rd: u32, rs1: u32, rs2: u32) -> u32 {
            r_type($op, rd, $f3, rs1, rs2, $f7)
        }
    )*};
}
reg_ops! {
    add = 0x33, 0, 0x00; sub = 0x33, 0, 0x20; sll = 0x33, 1, 0; slt = 0x33, 2, 0;
    sltu = 0x33, 3, 0; xor = 0x33, 4, 0; srl = 0x33, 5, 0; sra = 0x33, 5, 0x20;
    or = 0x33, 6, 0; and = 0x33, 7, 0;
    addw = 0x3b, 0, 0; subw = 0x3b, 0, 0x20; sllw = 0x3b, 1, 0; srlw = 0x3b, 5, 0;
    sraw = 0x3b, 5, 0x20;
    mul = 0x33, 0, 1; mulh = 0x33, 1, 1; mulhsu = 0x33, 2, 1; mulhu = 0x33, 3, 1;
    div = 0x33, 4, 1; divu = 0x33, 5, 1; rem = 0x33, 6, 1; remu = 0x33, 7, 1;
    mulw = 0x3b, 0, 1; divw = 0x3b, 4, 1; divuw = 0x3b, 5, 1; remw = 0x3b, 6, 1;
    remuw = 0x3b, 7, 1;
}

pub const NOP: u32 = 0x0000_0013;
pub const ECALL: u32 = 0x0000_0073;
pub const EBREAK: u32 = 0x0010_0073;
/// fence rw, rw
pub const FENCE: u32 = 0x0330_000f;
pub const FENCE_I: u32 = 0x0000_100f;

// ---------------------------------------------------------------------------
// Zicsr
// ---------------------------------------------------------------------------

pub const FFLAGS: u32 = 0x001;
pub const FRM: u32 = 0x002;
pub const FCSR: u32 = 0x003;
pub const CYCLE: u32 = 0xc00;
pub const TIME: u32 = 0xc01;
pub const INSTRET: u32 = 0xc02;

fn csr_type(f3: u32, rd: u32, csr: u32, src: u32) -> u32 {
    assert!(csr < 4096 && src < 32);
    0x73 | reg(rd) << 7 | f3 << 12 | src << 15 | csr << 20
}
pub fn csrrw(rd: u32, csr: u32, rs1: u32) -> u32 {
    csr_type(1, rd, csr, rs1)
}
pub fn csrrs(rd: u32, csr: u32, rs1: u32) -> u32 {
    csr_type(2, rd, csr, rs1)
}
pub fn csrrc(rd: u32, csr: u32, rs1: u32) -> u32 {
    csr_type(3, rd, csr, rs1)
}
pub fn csrrwi(rd: u32, csr: u32, uimm: u32) -> u32 {
    csr_type(5, rd, csr, uimm)
}
pub fn csrrsi(rd: u32, csr: u32, uimm: u32) -> u32 {
    csr_type(6, rd, csr, uimm)
}
pub fn csrrci(rd: u32, csr: u32, uimm: u32) -> u32 {
    csr_type(7, rd, csr, uimm)
}

// ---------------------------------------------------------------------------
// A
// ---------------------------------------------------------------------------

pub fn amo(funct5: u32, width_f3: u32, rd: u32, rs2: u32, rs1: u32, aq: bool, rl: bool) -> u32 {
    0x2f | reg(rd) << 7
        | width_f3 << 12
        | reg(rs1) << 15
        | reg(rs2) << 20
        | (rl as u32) << 25
        | (aq as u32) << 26
        | funct5 << 27
}

pub fn lr_w(rd: u32, rs1: u32) -> u32 {
    amo(0b00010, 2, rd, 0, rs1, false, false)
}
pub fn lr_d(rd: u32, rs1: u32) -> u32 {
    amo(0b00010, 3, rd, 0, rs1, false, false)
}

macro_rules! amos {
    ($($w:ident, $d:ident = $f5:expr;)*) => {$(
        pub fn $w(rd: u32, rs2: u32, rs1: u32) -> u32 {
            amo($f5, 2, rd, rs2, rs1, false, false)
        }
        pub fn $d(rd: u32, rs2: u32, rs1: u32) -> u32 {
            amo($f5, 3, rd, rs2, rs1, false, false)
        }
    )*};
}
amos! {
    sc_w, sc_d = 0b00011;
    amoswap_w, amoswap_d = 0b00001;
    amoadd_w, amoadd_d = 0b00000;
    amoxor_w, amoxor_d = 0b00100;
    amoand_w, amoand_d = 0b01100;
    amoor_w, amoor_d = 0b01000;
    amomin_w, amomin_d = 0b10000;
    amomax_w, amomax_d = 0b10100;
    amominu_w, amominu_d = 0b11000;
    amomaxu_w, amomaxu_d = 0b11100;
}

// ---------------------------------------------------------------------------
// F and D
// ---------------------------------------------------------------------------

pub const RNE: u32 = 0;
pub const RTZ: u32 = 1;
pub const RDN: u32 = 2;
pub const RUP: u32 = 3;
pub const RMM: u32 = 4;
pub const DYN: u32 = 7;

/// OP-FP with the rounding-mode (or funct3) field `rm`.
pub fn op_fp(f7: u32, rd: u32, rs1: u32, rs2: u32, rm: u32) -> u32 {
    r_type(0x53, rd, rm, rs1, rs2, f7)
}

macro_rules! fp_arith {
    ($($s:ident, $d:ident = $f7:expr;)*) => {$(
        pub fn $s(rd: u32, rs1: u32, rs2: u32, rm: u32) -> u32 {
            op_fp($f7, rd, rs1, rs2, rm)
        }
        pub fn $d(rd: u32, rs1: u32, rs2: u32, rm: u32) -> u32 {
            op_fp($f7 | 1, rd, rs1, rs2, rm)
        }
    )*};
}
fp_arith! {
    fadd_s, fadd_d = 0x00;
    fsub_s, fsub_d = 0x04;
    fmul_s, fmul_d = 0x08;
    fdiv_s, fdiv_d = 0x0c;
}

macro_rules! fp_funct3 {
    ($($s:ident, $d:ident = $f7:expr, $f3:expr;)*) => {$(
        pub fn $s(rd: u32, rs1: u32, rs2: u32) -> u32 {
            op_fp($f7, rd, rs1, rs2, $f3)
        }
        pub fn $d(rd: u32, rs1: u32, rs2: u32) -> u32 {
            op_fp($f7 | 1, rd, rs1, rs2, $f3)
        }
    )*};
}
fp_funct3! {
    fsgnj_s, fsgnj_d = 0x10, 0;
    fsgnjn_s, fsgnjn_d = 0x10, 1;
    fsgnjx_s, fsgnjx_d = 0x10, 2;
    fmin_s, fmin_d = 0x14, 0;
    fmax_s, fmax_d = 0x14, 1;
    fle_s, fle_d = 0x50, 0;
    flt_s, flt_d = 0x50, 1;
    feq_s, feq_d = 0x50, 2;
}

pub fn fsqrt_s(rd: u32, rs1: u32, rm: u32) -> u32 {
    op_fp(0x2c, rd, rs1, 0, rm)
}
pub fn fsqrt_d(rd: u32, rs1: u32, rm: u32) -> u32 {
    op_fp(0x2d, rd, rs1, 0, rm)
}

macro_rules! fp_convert {
    ($($name:ident = $f7:expr, $rs2:expr;)*) => {$(
        pub fn $name(rd: u32, rs1: u32, rm: u32) -> u32 {
            op_fp($f7, rd, rs1, $rs2, rm)
        }
    )*};
}
fp_convert! {
    fcvt_w_s = 0x60, 0; fcvt_wu_s = 0x60, 1; fcvt_l_s = 0x60, 2; fcvt_lu_s = 0x60, 3;
    fcvt_w_d = 0x61, 0; fcvt_wu_d = 0x61, 1; fcvt_l_d = 0x61, 2; fcvt_lu_d = 0x61, 3;
    fcvt_s_w = 0x68, 0; fcvt_s_wu = 0x68, 1; fcvt_s_l = 0x68, 2; fcvt_s_lu = 0x68, 3;
    fcvt_d_w = 0x69, 0; fcvt_d_wu = 0x69, 1; fcvt_d_l = 0x69, 2; fcvt_d_lu = 0x69, 3;
    fcvt_s_d = 0x20, 1; fcvt_d_s = 0x21, 0;
}

pub fn fmv_x_w(rd: u32, rs1: u32) -> u32 {
    op_fp(0x70, rd, rs1, 0, 0)
}
pub fn fmv_x_d(rd: u32, rs1: u32) -> u32 {
    op_fp(0x71, rd, rs1, 0, 0)
}
pub fn fclass_s(rd: u32, rs1: u32) -> u32 {
    op_fp(0x70, rd, rs1, 0, 1)
}
pub fn fclass_d(rd: u32, rs1: u32) -> u32 {
    op_fp(0x71, rd, rs1, 0, 1)
}
pub fn fmv_w_x(rd: u32, rs1: u32) -> u32 {
    op_fp(0x78, rd, rs1, 0, 0)
}
pub fn fmv_d_x(rd: u32, rs1: u32) -> u32 {
    op_fp(0x79, rd, rs1, 0, 0)
}

macro_rules! fp_fused {
    ($($s:ident, $d:ident = $op:expr;)*) => {$(
        pub fn $s(rd: u32, rs1: u32, rs2: u32, rs3: u32, rm: u32) -> u32 {
            r4_type($op, rd, rm, rs1, rs2, rs3, 0)
        }
        pub fn $d(rd: u32, rs1: u32, rs2: u32, rs3: u32, rm: u32) -> u32 {
            r4_type($op, rd, rm, rs1, rs2, rs3, 1)
        }
    )*};
}
fp_fused! {
    fmadd_s, fmadd_d = 0x43;
    fmsub_s, fmsub_d = 0x47;
    fnmsub_s, fnmsub_d = 0x4b;
    fnmadd_s, fnmadd_d = 0x4f;
}

// ---------------------------------------------------------------------------
// RV64C
// ---------------------------------------------------------------------------

/// A register in x8..x15, as its 3-bit field.
fn creg(r: u32) -> u16 {
    assert!((8..16).contains(&r), "x{r} is not a compressed register");
    (r - 8) as u16
}

fn creg_full(r: u32) -> u16 {
    reg(r) as u16
}

/// Bit `from` of `v`, moved to bit `to`.
fn mv(v: u32, from: u32, to: u32) -> u16 {
    ((v >> from & 1) << to) as u16
}

fn imm6(imm: i32) -> u16 {
    assert!((-32..=31).contains(&imm), "6-bit immediate {imm}");
    let u = imm as u32;
    mv(u, 5, 12) | ((u & 0x1f) << 2) as u16
}

pub fn c_addi4spn(rd: u32, uimm: u32) -> u16 {
    assert!(uimm < 1024 && uimm.is_multiple_of(4), "c.addi4spn {uimm}");
    mv(uimm, 5, 12)
        | mv(uimm, 4, 11)
        | mv(uimm, 9, 10)
        | mv(uimm, 8, 9)
        | mv(uimm, 7, 8)
        | mv(uimm, 6, 7)
        | mv(uimm, 2, 6)
        | mv(uimm, 3, 5)
        | creg(rd) << 2
}

fn cl_w(f3: u16, r_lo: u32, r_hi: u32, off: u32) -> u16 {
    assert!(off < 128 && off.is_multiple_of(4), "word offset {off}");
    f3 << 13
        | mv(off, 5, 12)
        | mv(off, 4, 11)
        | mv(off, 3, 10)
        | creg(r_hi) << 7
        | mv(off, 2, 6)
        | mv(off, 6, 5)
        | creg(r_lo) << 2
}

fn cl_d(f3: u16, r_lo: u32, r_hi: u32, off: u32) -> u16 {
    assert!(
        off < 256 && off.is_multiple_of(8),
        "doubleword offset {off}"
    );
    f3 << 13
        | mv(off, 5, 12)
        | mv(off, 4, 11)
        | mv(off, 3, 10)
        | creg(r_hi) << 7
        | mv(off, 7, 6)
        | mv(off, 6, 5)
        | creg(r_lo) << 2
}

/// c.fld rd', off(rs1'): `rd` names an FP register.
pub fn c_fld(rd: u32, rs1: u32, off: u32) -> u16 {
    cl_d(0b001, rd, rs1, off)
}
pub fn c_lw(rd: u32, rs1: u32, off: u32) -> u16 {
    cl_w(0b010, rd, rs1, off)
}
pub fn c_ld(rd: u32, rs1: u32, off: u32) -> u16 {
    cl_d(0b011, rd, rs1, off)
}
/// c.fsd rs2', off(rs1'): `rs2` names an FP register.
pub fn c_fsd(rs2: u32, rs1: u32, off: u32) -> u16 {
    cl_d(0b101, rs2, rs1, off)
}
pub fn c_sw(rs2: u32, rs1: u32, off: u32) -> u16 {
    cl_w(0b110, rs2, rs1, off)
}
pub fn c_sd(rs2: u32, rs1: u32, off: u32) -> u16 {
    cl_d(0b111, rs2, rs1, off)
}

pub const C_NOP: u16 = 0x0001;
pub const C_EBREAK: u16 = 0x9002;

pub fn c_addi(rd: u32, imm: i32) -> u16 {
    imm6(imm) | creg_full(rd) << 7 | 0b01
}
pub fn c_addiw(rd: u32, imm: i32) -> u16 {
    0b001 << 13 | imm6(imm) | creg_full(rd) << 7 | 0b01
}
pub fn c_li(rd: u32, imm: i32) -> u16 {
    0b010 << 13 | imm6(imm) | creg_full(rd) << 7 | 0b01
}
/// c.lui rd, imm: rd = sext(imm << 12), imm in -32..=31.
pub fn c_lui(rd: u32, imm: i32) -> u16 {
    0b011 << 13 | imm6(imm) | creg_full(rd) << 7 | 0b01
}
pub fn c_addi16sp(imm: i32) -> u16 {
    assert!(
        (-512..=496).contains(&imm) && imm % 16 == 0,
        "c.addi16sp {imm}"
    );
    let u = imm as u32;
    0b011 << 13
        | mv(u, 9, 12)
        | 2 << 7
        | mv(u, 4, 6)
        | mv(u, 6, 5)
        | mv(u, 8, 4)
        | mv(u, 7, 3)
        | mv(u, 5, 2)
        | 0b01
}

fn cb_shift(f2: u16, rd: u32, shamt: u32) -> u16 {
    assert!(shamt < 64);
    0b100 << 13 | mv(shamt, 5, 12) | f2 << 10 | creg(rd) << 7 | ((shamt & 0x1f) << 2) as u16 | 1
}
pub fn c_srli(rd: u32, shamt: u32) -> u16 {
    cb_shift(0, rd, shamt)
}
pub fn c_srai(rd: u32, shamt: u32) -> u16 {
    cb_shift(1, rd, shamt)
}
pub fn c_andi(rd: u32, imm: i32) -> u16 {
    0b100 << 13 | imm6(imm) | 2 << 10 | creg(rd) << 7 | 1
}

fn ca(bit12: u16, f2: u16, rd: u32, rs2: u32) -> u16 {
    0b100 << 13 | bit12 << 12 | 3 << 10 | creg(rd) << 7 | f2 << 5 | creg(rs2) << 2 | 1
}
pub fn c_sub(rd: u32, rs2: u32) -> u16 {
    ca(0, 0, rd, rs2)
}
pub fn c_xor(rd: u32, rs2: u32) -> u16 {
    ca(0, 1, rd, rs2)
}
pub fn c_or(rd: u32, rs2: u32) -> u16 {
    ca(0, 2, rd, rs2)
}
pub fn c_and(rd: u32, rs2: u32) -> u16 {
    ca(0, 3, rd, rs2)
}
pub fn c_subw(rd: u32, rs2: u32) -> u16 {
    ca(1, 0, rd, rs2)
}
pub fn c_addw(rd: u32, rs2: u32) -> u16 {
    ca(1, 1, rd, rs2)
}

pub fn c_j(off: i32) -> u16 {
    assert!((-2048..=2046).contains(&off) && off % 2 == 0, "c.j {off}");
    let u = off as u32;
    0b101 << 13
        | mv(u, 11, 12)
        | mv(u, 4, 11)
        | mv(u, 9, 10)
        | mv(u, 8, 9)
        | mv(u, 10, 8)
        | mv(u, 6, 7)
        | mv(u, 7, 6)
        | mv(u, 3, 5)
        | mv(u, 2, 4)
        | mv(u, 1, 3)
        | mv(u, 5, 2)
        | 0b01
}

fn cb_branch(f3: u16, rs1: u32, off: i32) -> u16 {
    assert!((-256..=254).contains(&off) && off % 2 == 0, "c.b* {off}");
    let u = off as u32;
    f3 << 13
        | mv(u, 8, 12)
        | mv(u, 4, 11)
        | mv(u, 3, 10)
        | creg(rs1) << 7
        | mv(u, 7, 6)
        | mv(u, 6, 5)
        | mv(u, 2, 4)
        | mv(u, 1, 3)
        | mv(u, 5, 2)
        | 0b01
}
pub fn c_beqz(rs1: u32, off: i32) -> u16 {
    cb_branch(0b110, rs1, off)
}
pub fn c_bnez(rs1: u32, off: i32) -> u16 {
    cb_branch(0b111, rs1, off)
}

pub fn c_slli(rd: u32, shamt: u32) -> u16 {
    assert!(shamt < 64);
    mv(shamt, 5, 12) | creg_full(rd) << 7 | ((shamt & 0x1f) << 2) as u16 | 0b10
}

fn ci_sp_d(f3: u16, rd: u32, off: u32) -> u16 {
    assert!(
        off < 512 && off.is_multiple_of(8),
        "doubleword sp offset {off}"
    );
    f3 << 13
        | mv(off, 5, 12)
        | creg_full(rd) << 7
        | mv(off, 4, 6)
        | mv(off, 3, 5)
        | mv(off, 8, 4)
        | mv(off, 7, 3)
        | mv(off, 6, 2)
        | 0b10
}
/// c.fldsp rd, off(sp): `rd` names an FP register.
pub fn c_fldsp(rd: u32, off: u32) -> u16 {
    ci_sp_d(0b001, rd, off)
}
pub fn c_ldsp(rd: u32, off: u32) -> u16 {
    ci_sp_d(0b011, rd, off)
}
pub fn c_lwsp(rd: u32, off: u32) -> u16 {
    assert!(off < 256 && off.is_multiple_of(4), "word sp offset {off}");
    0b010 << 13
        | mv(off, 5, 12)
        | creg_full(rd) << 7
        | mv(off, 4, 6)
        | mv(off, 3, 5)
        | mv(off, 2, 4)
        | mv(off, 7, 3)
        | mv(off, 6, 2)
        | 0b10
}

pub fn c_jr(rs1: u32) -> u16 {
    0b100 << 13 | creg_full(rs1) << 7 | 0b10
}
pub fn c_mv(rd: u32, rs2: u32) -> u16 {
    0b100 << 13 | creg_full(rd) << 7 | creg_full(rs2) << 2 | 0b10
}
pub fn c_jalr(rs1: u32) -> u16 {
    0b100 << 13 | 1 << 12 | creg_full(rs1) << 7 | 0b10
}
pub fn c_add(rd: u32, rs2: u32) -> u16 {
    0b100 << 13 | 1 << 12 | creg_full(rd) << 7 | creg_full(rs2) << 2 | 0b10
}

fn css_d(f3: u16, rs2: u32, off: u32) -> u16 {
    assert!(
        off < 512 && off.is_multiple_of(8),
        "doubleword sp offset {off}"
    );
    f3 << 13
        | mv(off, 5, 12)
        | mv(off, 4, 11)
        | mv(off, 3, 10)
        | mv(off, 8, 9)
        | mv(off, 7, 8)
        | mv(off, 6, 7)
        | creg_full(rs2) << 2
        | 0b10
}
/// c.fsdsp rs2, off(sp): `rs2` names an FP register.
pub fn c_fsdsp(rs2: u32, off: u32) -> u16 {
    css_d(0b101, rs2, off)
}
pub fn c_sdsp(rs2: u32, off: u32) -> u16 {
    css_d(0b111, rs2, off)
}
pub fn c_swsp(rs2: u32, off: u32) -> u16 {
    assert!(off < 256 && off.is_multiple_of(4), "word sp offset {off}");
    0b110 << 13
        | mv(off, 5, 12)
        | mv(off, 4, 11)
        | mv(off, 3, 10)
        | mv(off, 2, 9)
        | mv(off, 7, 8)
        | mv(off, 6, 7)
        | creg_full(rs2) << 2
        | 0b10
}

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
