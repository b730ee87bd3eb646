//! A RISC-V assembler in functions: one per instruction format, and one per
//! RV64GC instruction on top of them, each returning the instruction's bits.
//! Every encoder checks that its operands fit their fields, so a test bug
//! fails loudly instead of producing a different instruction. The tests in
//! `encode/tests.rs` check the encoders against GNU as.
//!
//! Encoder arguments follow one order: destination first, then sources, then
//! the immediate. Loads are `(rd, rs1, offset)`, stores `(rs2, rs1, offset)`
//! (the data register first, as in `sd rs2, offset(rs1)`), AMOs and SC
//! `(rd, rs2, rs1)` as in `amoadd.w rd, rs2, (rs1)`. Compressed encoders
//! take full register numbers (x8..x15 where the format has 3-bit fields).
//! The format functions (`r_type`, `i_type`, ..., `csr_type`, `amo`, `c_arith`,
//! `c_branch`, `c_reg`) take fields in the order the spec's diagrams name
//! them, for callers that choose a funct3 or an opcode at run time.

#[cfg(test)]
mod tests;

// ---------------------------------------------------------------------------
// Major opcodes
// ---------------------------------------------------------------------------

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
pub const MSUB: u32 = 0x47;
pub const NMSUB: u32 = 0x4b;
pub const NMADD: u32 = 0x4f;
pub const OP_FP: u32 = 0x53;
pub const BRANCH: u32 = 0x63;
pub const JALR: u32 = 0x67;
pub const JAL: u32 = 0x6f;
pub const SYSTEM: u32 = 0x73;

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
    BRANCH
        | (u >> 11 & 1) << 7
        | (u >> 1 & 0xf) << 8
        | f3 << 12
        | reg(rs1) << 15
        | reg(rs2) << 20
        | (u >> 5 & 0x3f) << 25
        | (u >> 12 & 1) << 31
}

/// `imm20` is the 20-bit field placed in bits 31..12 (negative values are taken modulo 2^20).
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
    JAL | reg(rd) << 7
        | (u >> 12 & 0xff) << 12
        | (u >> 11 & 1) << 20
        | (u >> 1 & 0x3ff) << 21
        | (u >> 20 & 1) << 31
}

/// The fused multiply-add format; `fmt` is 0 for single, 1 for double.
pub fn r4_type(op: u32, rd: u32, rm: u32, rs1: u32, rs2: u32, rs3: u32, fmt: u32) -> u32 {
    op | reg(rd) << 7 | rm << 12 | reg(rs1) << 15 | reg(rs2) << 20 | fmt << 25 | reg(rs3) << 27
}

// ---------------------------------------------------------------------------
// RV64I
// ---------------------------------------------------------------------------

pub fn lui(rd: u32, imm20: i32) -> u32 {
    u_type(LUI, rd, imm20)
}
pub fn auipc(rd: u32, imm20: i32) -> u32 {
    u_type(AUIPC, rd, imm20)
}
pub fn jal(rd: u32, off: i32) -> u32 {
    j_type(rd, off)
}
pub fn jalr(rd: u32, rs1: u32, off: i32) -> u32 {
    i_type(JALR, rd, 0, rs1, off)
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
    lb = LOAD, 0; lh = LOAD, 1; lw = LOAD, 2; ld = LOAD, 3;
    lbu = LOAD, 4; lhu = LOAD, 5; lwu = LOAD, 6;
    flw = LOAD_FP, 2; fld = LOAD_FP, 3;
}

macro_rules! stores {
    ($($name:ident = $op:expr, $f3:expr;)*) => {$(
        pub fn $name(rs2: u32, rs1: u32, off: i32) -> u32 {
            s_type($op, $f3, rs1, rs2, off)
        }
    )*};
}
stores! {
    sb = STORE, 0; sh = STORE, 1; sw = STORE, 2; sd = STORE, 3;
    fsw = STORE_FP, 2; fsd = STORE_FP, 3;
}

macro_rules! imm_ops {
    ($($name:ident = $op:expr, $f3:expr;)*) => {$(
        pub fn $name(rd: u32, rs1: u32, imm: i32) -> u32 {
            i_type($op, rd, $f3, rs1, imm)
        }
    )*};
}
imm_ops! {
    addi = OP_IMM, 0; slti = OP_IMM, 2; sltiu = OP_IMM, 3; xori = OP_IMM, 4;
    ori = OP_IMM, 6; andi = OP_IMM, 7; addiw = OP_IMM_32, 0;
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
    slli = OP_IMM, 1, 0x00, 63; srli = OP_IMM, 5, 0x00, 63; srai = OP_IMM, 5, 0x20, 63;
    slliw = OP_IMM_32, 1, 0x00, 31; srliw = OP_IMM_32, 5, 0x00, 31; sraiw = OP_IMM_32, 5, 0x20, 31;
}

macro_rules! reg_ops {
    ($($name:ident = $op:expr, $f3:expr, $f7:expr;)*) => {$(
        pub fn $name(rd: u32, rs1: u32, rs2: u32) -> u32 {
            r_type($op, rd, $f3, rs1, rs2, $f7)
        }
    )*};
}
reg_ops! {
    add = OP, 0, 0x00; sub = OP, 0, 0x20; sll = OP, 1, 0; slt = OP, 2, 0;
    sltu = OP, 3, 0; xor = OP, 4, 0; srl = OP, 5, 0; sra = OP, 5, 0x20;
    or = OP, 6, 0; and = OP, 7, 0;
    addw = OP_32, 0, 0; subw = OP_32, 0, 0x20; sllw = OP_32, 1, 0; srlw = OP_32, 5, 0;
    sraw = OP_32, 5, 0x20;
    mul = OP, 0, 1; mulh = OP, 1, 1; mulhsu = OP, 2, 1; mulhu = OP, 3, 1;
    div = OP, 4, 1; divu = OP, 5, 1; rem = OP, 6, 1; remu = OP, 7, 1;
    mulw = OP_32, 0, 1; divw = OP_32, 4, 1; divuw = OP_32, 5, 1; remw = OP_32, 6, 1;
    remuw = OP_32, 7, 1;
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

/// The Zicsr format: `f3` 1..=3 for csrrw, csrrs, csrrc with register
/// `src`, 5..=7 for csrrwi, csrrsi, csrrci with the 5-bit immediate `src`.
pub fn csr_type(f3: u32, rd: u32, csr: u32, src: u32) -> u32 {
    assert!(csr < 4096 && src < 32, "csr {csr:#x}, source {src}");
    SYSTEM | reg(rd) << 7 | f3 << 12 | src << 15 | csr << 20
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

/// The A format; `width_f3` is 2 for words, 3 for doublewords.
pub fn amo(funct5: u32, width_f3: u32, rd: u32, rs2: u32, rs1: u32, aq: bool, rl: bool) -> u32 {
    AMO | reg(rd) << 7
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
    r_type(OP_FP, rd, rm, rs1, rs2, f7)
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
    fmadd_s, fmadd_d = MADD;
    fmsub_s, fmsub_d = MSUB;
    fnmsub_s, fnmsub_d = NMSUB;
    fnmadd_s, fnmadd_d = NMADD;
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

/// The CA format: c.sub, c.xor, c.or, c.and (`word` false, `f2` 0..=3);
/// c.subw, c.addw (`word` true, `f2` 0..=1).
pub fn c_arith(word: bool, f2: u16, rd: u32, rs2: u32) -> u16 {
    assert!(f2 < 4, "CA funct2 {f2}");
    0b100 << 13 | (word as u16) << 12 | 3 << 10 | creg(rd) << 7 | f2 << 5 | creg(rs2) << 2 | 1
}
pub fn c_sub(rd: u32, rs2: u32) -> u16 {
    c_arith(false, 0, rd, rs2)
}
pub fn c_xor(rd: u32, rs2: u32) -> u16 {
    c_arith(false, 1, rd, rs2)
}
pub fn c_or(rd: u32, rs2: u32) -> u16 {
    c_arith(false, 2, rd, rs2)
}
pub fn c_and(rd: u32, rs2: u32) -> u16 {
    c_arith(false, 3, rd, rs2)
}
pub fn c_subw(rd: u32, rs2: u32) -> u16 {
    c_arith(true, 0, rd, rs2)
}
pub fn c_addw(rd: u32, rs2: u32) -> u16 {
    c_arith(true, 1, rd, rs2)
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

/// The CB branch format: c.beqz, or c.bnez when `bnez`.
pub fn c_branch(bnez: bool, rs1: u32, off: i32) -> u16 {
    assert!((-256..=254).contains(&off) && off % 2 == 0, "c.b* {off}");
    let u = off as u32;
    (0b110 | bnez as u16) << 13
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
    c_branch(false, rs1, off)
}
pub fn c_bnez(rs1: u32, off: i32) -> u16 {
    c_branch(true, rs1, off)
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

/// The CR format: c.jr (`link` false, `rs2` 0), c.mv (false, `rs2` not 0),
/// c.jalr (true, 0), c.add (true, not 0).
pub fn c_reg(link: bool, rd: u32, rs2: u32) -> u16 {
    0b100 << 13 | (link as u16) << 12 | creg_full(rd) << 7 | creg_full(rs2) << 2 | 0b10
}
pub fn c_jr(rs1: u32) -> u16 {
    c_reg(false, rs1, 0)
}
pub fn c_mv(rd: u32, rs2: u32) -> u16 {
    c_reg(false, rd, rs2)
}
pub fn c_jalr(rs1: u32) -> u16 {
    c_reg(true, rs1, 0)
}
pub fn c_add(rd: u32, rs2: u32) -> u16 {
    c_reg(true, rd, rs2)
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
