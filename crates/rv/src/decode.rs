//! Decoding RV64GC instructions into `Insn`, a small fixed-size record the
//! interpreter can dispatch on without looking at instruction bits again.
//! Compressed instructions decode into their 32-bit equivalents (with
//! `len == 2`), so the interpreter has a single implementation of each
//! operation.

/// Every operation the interpreter knows. `Undecoded` marks a decode-cache
/// slot that has not been filled yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Op {
    Undecoded,
    Illegal,
    // RV64I
    Lui,
    Auipc,
    Jal,
    Jalr,
    Beq,
    Bne,
    Blt,
    Bge,
    Bltu,
    Bgeu,
    Lb,
    Lh,
    Lw,
    Ld,
    Lbu,
    Lhu,
    Lwu,
    Sb,
    Sh,
    Sw,
    Sd,
    Addi,
    Slti,
    Sltiu,
    Xori,
    Ori,
    Andi,
    Slli,
    Srli,
    Srai,
    Addiw,
    Slliw,
    Srliw,
    Sraiw,
    Add,
    Sub,
    Sll,
    Slt,
    Sltu,
    Xor,
    Srl,
    Sra,
    Or,
    And,
    Addw,
    Subw,
    Sllw,
    Srlw,
    Sraw,
    Fence,
    FenceI,
    Ecall,
    Ebreak,
    // Zicsr; `imm` holds the CSR number.
    Csrrw,
    Csrrs,
    Csrrc,
    Csrrwi,
    Csrrsi,
    Csrrci,
    // M
    Mul,
    Mulh,
    Mulhsu,
    Mulhu,
    Div,
    Divu,
    Rem,
    Remu,
    Mulw,
    Divw,
    Divuw,
    Remw,
    Remuw,
    // A
    LrW,
    ScW,
    AmoSwapW,
    AmoAddW,
    AmoXorW,
    AmoAndW,
    AmoOrW,
    AmoMinW,
    AmoMaxW,
    AmoMinuW,
    AmoMaxuW,
    LrD,
    ScD,
    AmoSwapD,
    AmoAddD,
    AmoXorD,
    AmoAndD,
    AmoOrD,
    AmoMinD,
    AmoMaxD,
    AmoMinuD,
    AmoMaxuD,
    // F
    Flw,
    Fsw,
    FmaddS,
    FmsubS,
    FnmsubS,
    FnmaddS,
    FaddS,
    FsubS,
    FmulS,
    FdivS,
    FsqrtS,
    FsgnjS,
    FsgnjnS,
    FsgnjxS,
    FminS,
    FmaxS,
    FcvtWS,
    FcvtWuS,
    FcvtLS,
    FcvtLuS,
    FcvtSW,
    FcvtSWu,
    FcvtSL,
    FcvtSLu,
    FmvXW,
    FmvWX,
    FeqS,
    FltS,
    FleS,
    FclassS,
    // D
    Fld,
    Fsd,
    FmaddD,
    FmsubD,
    FnmsubD,
    FnmaddD,
    FaddD,
    FsubD,
    FmulD,
    FdivD,
    FsqrtD,
    FsgnjD,
    FsgnjnD,
    FsgnjxD,
    FminD,
    FmaxD,
    FcvtWD,
    FcvtWuD,
    FcvtLD,
    FcvtLuD,
    FcvtDW,
    FcvtDWu,
    FcvtDL,
    FcvtDLu,
    FmvXD,
    FmvDX,
    FeqD,
    FltD,
    FleD,
    FclassD,
    FcvtSD,
    FcvtDS,
}

/// A decoded instruction, packed into eight bytes so that the interpreter
/// fetches it with one load.
///
/// - `rd` bits 0-5 name the destination; an integer destination of x0 is
///   stored as 32, a scratch register the interpreter never reads, so x0
///   needs no re-zeroing after each write. Bit 7 marks a compressed
///   (2-byte) instruction.
/// - `imm` is the immediate; for `Illegal` the instruction bits, for CSR
///   instructions the CSR number, for FP instructions `rs3 | rm << 5`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(8))]
pub(crate) struct Insn {
    pub op: Op,
    pub rd: u8,
    pub rs1: u8,
    pub rs2: u8,
    pub imm: i32,
}

const COMPRESSED: u8 = 0x80;

impl Insn {
    pub const UNDECODED: Insn = Insn {
        op: Op::Undecoded,
        rd: 0,
        rs1: 0,
        rs2: 0,
        imm: 0,
    };

    fn new(op: Op, rd: u32, rs1: u32, rs2: u32, imm: i32, len: u8) -> Insn {
        let flag = if len == 2 { COMPRESSED } else { 0 };
        Insn {
            op,
            rd: rd as u8 | flag,
            rs1: rs1 as u8,
            rs2: rs2 as u8,
            imm,
        }
    }

    fn illegal(bits: u32, len: u8) -> Insn {
        Insn::new(Op::Illegal, 0, 0, 0, bits as i32, len)
    }

    /// Length in bytes: 2 or 4.
    #[inline(always)]
    pub fn len(&self) -> u64 {
        4 - ((self.rd >> 6) & 2) as u64
    }

    /// The third source of fused multiply-adds.
    pub fn rs3(&self) -> u8 {
        (self.imm & 31) as u8
    }

    /// The rounding-mode field of FP instructions (7 = dynamic).
    pub fn rm(&self) -> u8 {
        ((self.imm >> 5) & 7) as u8
    }
}

/// Register index that absorbs writes to x0.
pub(crate) const X0_SINK: u8 = 32;

/// Length in bytes of the instruction whose low halfword is `low`.
#[inline]
pub(crate) fn insn_len(low: u16) -> u8 {
    if low & 3 == 3 {
        4
    } else {
        2
    }
}

pub(crate) fn decode(bits: u32) -> Insn {
    let mut insn = decode_any(bits);
    if insn.rd & 63 == 0 && writes_x(insn.op) {
        insn.rd |= X0_SINK;
    }
    insn
}

/// Whether `rd` names an integer register (rather than an FP one or nothing).
pub(crate) fn writes_x(op: Op) -> bool {
    use Op::*;
    !matches!(
        op,
        Flw | Fld
            | FmaddS
            | FmsubS
            | FnmsubS
            | FnmaddS
            | FaddS
            | FsubS
            | FmulS
            | FdivS
            | FsqrtS
            | FsgnjS
            | FsgnjnS
            | FsgnjxS
            | FminS
            | FmaxS
            | FcvtSW
            | FcvtSWu
            | FcvtSL
            | FcvtSLu
            | FmvWX
            | FmaddD
            | FmsubD
            | FnmsubD
            | FnmaddD
            | FaddD
            | FsubD
            | FmulD
            | FdivD
            | FsqrtD
            | FsgnjD
            | FsgnjnD
            | FsgnjxD
            | FminD
            | FmaxD
            | FcvtDW
            | FcvtDWu
            | FcvtDL
            | FcvtDLu
            | FmvDX
            | FcvtSD
            | FcvtDS
    )
}

/// Whether an F or D operation reads integer register rs1 (rather than an
/// FP one).
pub(crate) fn reads_x(op: Op) -> bool {
    use Op::*;
    matches!(
        op,
        FcvtSW | FcvtSWu | FcvtSL | FcvtSLu | FmvWX | FcvtDW | FcvtDWu | FcvtDL | FcvtDLu | FmvDX
    )
}

fn decode_any(bits: u32) -> Insn {
    if bits & 3 != 3 {
        decode_compressed(bits as u16)
    } else if bits & 0x1c == 0x1c {
        // 48-bit and longer encodings: none are valid in RV64GC.
        Insn::illegal(bits, 4)
    } else {
        decode_32(bits)
    }
}

fn bits(x: u32, hi: u32, lo: u32) -> u32 {
    (x >> lo) & ((1 << (hi - lo + 1)) - 1)
}

/// Sign-extends the low `width` bits of `x`.
fn sext(x: u32, width: u32) -> i32 {
    ((x << (32 - width)) as i32) >> (32 - width)
}

fn rm_valid(rm: u32) -> bool {
    rm <= 4 || rm == 7
}

fn decode_32(i: u32) -> Insn {
    use Op::*;
    let rd = bits(i, 11, 7);
    let rs1 = bits(i, 19, 15);
    let rs2 = bits(i, 24, 20);
    let f3 = bits(i, 14, 12);
    let f7 = bits(i, 31, 25);
    let imm_i = (i as i32) >> 20;
    let imm_s = ((i as i32) >> 25 << 5) | rd as i32;
    let imm_b = sext(
        (bits(i, 31, 31) << 12)
            | (bits(i, 7, 7) << 11)
            | (bits(i, 30, 25) << 5)
            | (bits(i, 11, 8) << 1),
        13,
    );
    let imm_u = (i & 0xffff_f000) as i32;
    let imm_j = sext(
        (bits(i, 31, 31) << 20)
            | (bits(i, 19, 12) << 12)
            | (bits(i, 20, 20) << 11)
            | (bits(i, 30, 21) << 1),
        21,
    );
    let r = |op| Insn::new(op, rd, rs1, rs2, 0, 4);
    let ii = |op| Insn::new(op, rd, rs1, 0, imm_i, 4);
    let illegal = Insn::illegal(i, 4);
    match i & 0x7f {
        0x37 => Insn::new(Lui, rd, 0, 0, imm_u, 4),
        0x17 => Insn::new(Auipc, rd, 0, 0, imm_u, 4),
        0x6f => Insn::new(Jal, rd, 0, 0, imm_j, 4),
        0x67 if f3 == 0 => ii(Jalr),
        0x63 => {
            let op = match f3 {
                0 => Beq,
                1 => Bne,
                4 => Blt,
                5 => Bge,
                6 => Bltu,
                7 => Bgeu,
                _ => return illegal,
            };
            Insn::new(op, 0, rs1, rs2, imm_b, 4)
        }
        0x03 => {
            let op = match f3 {
                0 => Lb,
                1 => Lh,
                2 => Lw,
                3 => Ld,
                4 => Lbu,
                5 => Lhu,
                6 => Lwu,
                _ => return illegal,
            };
            ii(op)
        }
        0x23 => {
            let op = match f3 {
                0 => Sb,
                1 => Sh,
                2 => Sw,
                3 => Sd,
                _ => return illegal,
            };
            Insn::new(op, 0, rs1, rs2, imm_s, 4)
        }
        0x13 => {
            let shamt = bits(i, 25, 20) as i32;
            let f6 = bits(i, 31, 26);
            match f3 {
                0 => ii(Addi),
                2 => ii(Slti),
                3 => ii(Sltiu),
                4 => ii(Xori),
                6 => ii(Ori),
                7 => ii(Andi),
                1 if f6 == 0 => Insn::new(Slli, rd, rs1, 0, shamt, 4),
                5 if f6 == 0 => Insn::new(Srli, rd, rs1, 0, shamt, 4),
                5 if f6 == 0x10 => Insn::new(Srai, rd, rs1, 0, shamt, 4),
                _ => illegal,
            }
        }
        0x1b => {
            let shamt = rs2 as i32;
            match (f3, f7) {
                (0, _) => ii(Addiw),
                (1, 0) => Insn::new(Slliw, rd, rs1, 0, shamt, 4),
                (5, 0) => Insn::new(Srliw, rd, rs1, 0, shamt, 4),
                (5, 0x20) => Insn::new(Sraiw, rd, rs1, 0, shamt, 4),
                _ => illegal,
            }
        }
        0x33 => r(match (f7, f3) {
            (0, 0) => Add,
            (0x20, 0) => Sub,
            (0, 1) => Sll,
            (0, 2) => Slt,
            (0, 3) => Sltu,
            (0, 4) => Xor,
            (0, 5) => Srl,
            (0x20, 5) => Sra,
            (0, 6) => Or,
            (0, 7) => And,
            (1, 0) => Mul,
            (1, 1) => Mulh,
            (1, 2) => Mulhsu,
            (1, 3) => Mulhu,
            (1, 4) => Div,
            (1, 5) => Divu,
            (1, 6) => Rem,
            (1, 7) => Remu,
            _ => return illegal,
        }),
        0x3b => r(match (f7, f3) {
            (0, 0) => Addw,
            (0x20, 0) => Subw,
            (0, 1) => Sllw,
            (0, 5) => Srlw,
            (0x20, 5) => Sraw,
            (1, 0) => Mulw,
            (1, 4) => Divw,
            (1, 5) => Divuw,
            (1, 6) => Remw,
            (1, 7) => Remuw,
            _ => return illegal,
        }),
        0x0f => match f3 {
            0 => r(Fence),
            1 => r(FenceI),
            _ => illegal,
        },
        0x73 => match f3 {
            0 if i == 0x0000_0073 => r(Ecall),
            0 if i == 0x0010_0073 => r(Ebreak),
            1 | 2 | 3 | 5 | 6 | 7 => {
                let op = [Csrrw, Csrrs, Csrrc, Csrrw, Csrrwi, Csrrsi, Csrrci][f3 as usize - 1];
                Insn::new(op, rd, rs1, 0, bits(i, 31, 20) as i32, 4)
            }
            _ => illegal,
        },
        0x2f => decode_amo(i, rd, rs1, rs2, f3),
        0x07 => match f3 {
            2 => ii(Flw),
            3 => ii(Fld),
            _ => illegal,
        },
        0x27 => match f3 {
            2 => Insn::new(Fsw, 0, rs1, rs2, imm_s, 4),
            3 => Insn::new(Fsd, 0, rs1, rs2, imm_s, 4),
            _ => illegal,
        },
        0x43 | 0x47 | 0x4b | 0x4f => {
            let double = match bits(i, 26, 25) {
                0 => false,
                1 => true,
                _ => return illegal,
            };
            if !rm_valid(f3) {
                return illegal;
            }
            let ops = if double {
                [FmaddD, FmsubD, FnmsubD, FnmaddD]
            } else {
                [FmaddS, FmsubS, FnmsubS, FnmaddS]
            };
            let rs3 = bits(i, 31, 27);
            Insn::new(
                ops[((i & 0x7f) as usize - 0x43) / 4],
                rd,
                rs1,
                rs2,
                (rs3 | f3 << 5) as i32,
                4,
            )
        }
        0x53 => decode_op_fp(i, rd, rs1, rs2, f3, f7),
        _ => illegal,
    }
}

fn decode_amo(i: u32, rd: u32, rs1: u32, rs2: u32, f3: u32) -> Insn {
    use Op::*;
    let ops = match f3 {
        2 => [
            LrW, ScW, AmoSwapW, AmoAddW, AmoXorW, AmoAndW, AmoOrW, AmoMinW, AmoMaxW, AmoMinuW,
            AmoMaxuW,
        ],
        3 => [
            LrD, ScD, AmoSwapD, AmoAddD, AmoXorD, AmoAndD, AmoOrD, AmoMinD, AmoMaxD, AmoMinuD,
            AmoMaxuD,
        ],
        _ => return Insn::illegal(i, 4),
    };
    let index = match bits(i, 31, 27) {
        0b00010 if rs2 == 0 => 0,
        0b00011 => 1,
        0b00001 => 2,
        0b00000 => 3,
        0b00100 => 4,
        0b01100 => 5,
        0b01000 => 6,
        0b10000 => 7,
        0b10100 => 8,
        0b11000 => 9,
        0b11100 => 10,
        _ => return Insn::illegal(i, 4),
    };
    Insn::new(ops[index], rd, rs1, rs2, 0, 4)
}

fn decode_op_fp(i: u32, rd: u32, rs1: u32, rs2: u32, f3: u32, f7: u32) -> Insn {
    use Op::*;
    let illegal = Insn::illegal(i, 4);
    let double = f7 & 1 == 1;
    let pick = |s, d| if double { d } else { s };
    // Operations with a rounding-mode field.
    let rounded = |op| {
        if rm_valid(f3) {
            Insn::new(op, rd, rs1, rs2, (f3 << 5) as i32, 4)
        } else {
            illegal
        }
    };
    let plain = |op| Insn::new(op, rd, rs1, rs2, 0, 4);
    match f7 {
        0x00 | 0x01 => rounded(pick(FaddS, FaddD)),
        0x04 | 0x05 => rounded(pick(FsubS, FsubD)),
        0x08 | 0x09 => rounded(pick(FmulS, FmulD)),
        0x0c | 0x0d => rounded(pick(FdivS, FdivD)),
        0x2c | 0x2d if rs2 == 0 => rounded(pick(FsqrtS, FsqrtD)),
        0x10 | 0x11 => match f3 {
            0 => plain(pick(FsgnjS, FsgnjD)),
            1 => plain(pick(FsgnjnS, FsgnjnD)),
            2 => plain(pick(FsgnjxS, FsgnjxD)),
            _ => illegal,
        },
        0x14 | 0x15 => match f3 {
            0 => plain(pick(FminS, FminD)),
            1 => plain(pick(FmaxS, FmaxD)),
            _ => illegal,
        },
        0x20 if rs2 == 1 => rounded(FcvtSD),
        0x21 if rs2 == 0 => rounded(FcvtDS),
        0x50 | 0x51 => match f3 {
            0 => plain(pick(FleS, FleD)),
            1 => plain(pick(FltS, FltD)),
            2 => plain(pick(FeqS, FeqD)),
            _ => illegal,
        },
        0x60 | 0x61 => match rs2 {
            0 => rounded(pick(FcvtWS, FcvtWD)),
            1 => rounded(pick(FcvtWuS, FcvtWuD)),
            2 => rounded(pick(FcvtLS, FcvtLD)),
            3 => rounded(pick(FcvtLuS, FcvtLuD)),
            _ => illegal,
        },
        0x68 | 0x69 => match rs2 {
            0 => rounded(pick(FcvtSW, FcvtDW)),
            1 => rounded(pick(FcvtSWu, FcvtDWu)),
            2 => rounded(pick(FcvtSL, FcvtDL)),
            3 => rounded(pick(FcvtSLu, FcvtDLu)),
            _ => illegal,
        },
        0x70 | 0x71 if rs2 == 0 => match f3 {
            0 => plain(pick(FmvXW, FmvXD)),
            1 => plain(pick(FclassS, FclassD)),
            _ => illegal,
        },
        0x78 | 0x79 if rs2 == 0 && f3 == 0 => plain(pick(FmvWX, FmvDX)),
        _ => illegal,
    }
}

fn decode_compressed(c: u16) -> Insn {
    use Op::*;
    let c32 = c as u32;
    let b = |hi, lo| bits(c32, hi, lo);
    let illegal = Insn::illegal(c32, 2);
    let ins = |op, rd: u32, rs1: u32, rs2: u32, imm: i32| Insn::new(op, rd, rs1, rs2, imm, 2);
    // Registers x8..x15 named by 3-bit fields.
    let r_hi = b(9, 7) + 8;
    let r_lo = b(4, 2) + 8;
    let rd_full = b(11, 7);
    let rs2_full = b(6, 2);
    let imm6 = sext((b(12, 12) << 5) | b(6, 2), 6);
    // Offsets of the load/store forms.
    let off_w = ((b(12, 10) << 3) | (b(6, 6) << 2) | (b(5, 5) << 6)) as i32;
    let off_d = ((b(12, 10) << 3) | (b(6, 5) << 6)) as i32;
    match (c32 & 3, b(15, 13)) {
        (0, 0b000) => {
            let imm = (b(12, 11) << 4) | (b(10, 7) << 6) | (b(6, 6) << 2) | (b(5, 5) << 3);
            if imm == 0 {
                return illegal;
            }
            ins(Addi, r_lo, 2, 0, imm as i32)
        }
        (0, 0b001) => ins(Fld, r_lo, r_hi, 0, off_d),
        (0, 0b010) => ins(Lw, r_lo, r_hi, 0, off_w),
        (0, 0b011) => ins(Ld, r_lo, r_hi, 0, off_d),
        (0, 0b101) => ins(Fsd, 0, r_hi, r_lo, off_d),
        (0, 0b110) => ins(Sw, 0, r_hi, r_lo, off_w),
        (0, 0b111) => ins(Sd, 0, r_hi, r_lo, off_d),
        (1, 0b000) => ins(Addi, rd_full, rd_full, 0, imm6),
        (1, 0b001) if rd_full != 0 => ins(Addiw, rd_full, rd_full, 0, imm6),
        (1, 0b010) => ins(Addi, rd_full, 0, 0, imm6),
        (1, 0b011) if rd_full == 2 => {
            let imm = sext(
                (b(12, 12) << 9)
                    | (b(6, 6) << 4)
                    | (b(5, 5) << 6)
                    | (b(4, 3) << 7)
                    | (b(2, 2) << 5),
                10,
            );
            if imm == 0 {
                return illegal;
            }
            ins(Addi, 2, 2, 0, imm)
        }
        (1, 0b011) => {
            if imm6 == 0 {
                return illegal;
            }
            ins(Lui, rd_full, 0, 0, imm6 << 12)
        }
        (1, 0b100) => {
            let shamt = ((b(12, 12) << 5) | b(6, 2)) as i32;
            match b(11, 10) {
                0 => ins(Srli, r_hi, r_hi, 0, shamt),
                1 => ins(Srai, r_hi, r_hi, 0, shamt),
                2 => ins(Andi, r_hi, r_hi, 0, imm6),
                _ => {
                    let op = match (b(12, 12), b(6, 5)) {
                        (0, 0) => Sub,
                        (0, 1) => Xor,
                        (0, 2) => Or,
                        (0, 3) => And,
                        (1, 0) => Subw,
                        (1, 1) => Addw,
                        _ => return illegal,
                    };
                    ins(op, r_hi, r_hi, r_lo, 0)
                }
            }
        }
        (1, 0b101) => {
            let imm = sext(
                (b(12, 12) << 11)
                    | (b(11, 11) << 4)
                    | (b(10, 9) << 8)
                    | (b(8, 8) << 10)
                    | (b(7, 7) << 6)
                    | (b(6, 6) << 7)
                    | (b(5, 3) << 1)
                    | (b(2, 2) << 5),
                12,
            );
            ins(Jal, 0, 0, 0, imm)
        }
        (1, 0b110) | (1, 0b111) => {
            let imm = sext(
                (b(12, 12) << 8)
                    | (b(11, 10) << 3)
                    | (b(6, 5) << 6)
                    | (b(4, 3) << 1)
                    | (b(2, 2) << 5),
                9,
            );
            let op = if b(13, 13) == 0 { Beq } else { Bne };
            ins(op, 0, r_hi, 0, imm)
        }
        (2, 0b000) => ins(
            Slli,
            rd_full,
            rd_full,
            0,
            ((b(12, 12) << 5) | b(6, 2)) as i32,
        ),
        (2, 0b001) => {
            let off = (b(12, 12) << 5) | (b(6, 5) << 3) | (b(4, 2) << 6);
            ins(Fld, rd_full, 2, 0, off as i32)
        }
        (2, 0b010) if rd_full != 0 => {
            let off = (b(12, 12) << 5) | (b(6, 4) << 2) | (b(3, 2) << 6);
            ins(Lw, rd_full, 2, 0, off as i32)
        }
        (2, 0b011) if rd_full != 0 => {
            let off = (b(12, 12) << 5) | (b(6, 5) << 3) | (b(4, 2) << 6);
            ins(Ld, rd_full, 2, 0, off as i32)
        }
        (2, 0b100) => match (b(12, 12), rd_full, rs2_full) {
            (0, 0, 0) => illegal,
            (0, rs1, 0) => ins(Jalr, 0, rs1, 0, 0),
            (0, rd, rs2) => ins(Add, rd, 0, rs2, 0),
            (1, 0, 0) => ins(Ebreak, 0, 0, 0, 0),
            (1, rs1, 0) => ins(Jalr, 1, rs1, 0, 0),
            (1, rd, rs2) => ins(Add, rd, rd, rs2, 0),
            _ => unreachable!("bit 12 is one bit"),
        },
        (2, 0b101) => {
            let off = (b(12, 10) << 3) | (b(9, 7) << 6);
            ins(Fsd, 0, 2, rs2_full, off as i32)
        }
        (2, 0b110) => {
            let off = (b(12, 9) << 2) | (b(8, 7) << 6);
            ins(Sw, 0, 2, rs2_full, off as i32)
        }
        (2, 0b111) => {
            let off = (b(12, 10) << 3) | (b(9, 7) << 6);
            ins(Sd, 0, 2, rs2_full, off as i32)
        }
        _ => illegal,
    }
}
