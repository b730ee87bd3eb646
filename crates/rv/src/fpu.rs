//! IEEE 754 binary32/binary64 arithmetic with RISC-V's rules, in software.
//!
//! Every operation is computed exactly on integers and rounded once, so the
//! results and the accrued flags are the same on every host and match the
//! RISC-V F and D extensions (and qemu and Berkeley SoftFloat) bit for bit:
//!
//! - every NaN result is the canonical NaN; payloads never propagate;
//! - tininess is detected after rounding, and UF is raised only together with NX;
//! - `fma(inf, 0, qNaN)` is invalid;
//! - min/max are IEEE 754-2019 minimumNumber/maximumNumber (-0 < +0);
//! - float-to-integer conversions saturate, raising NV (and only NV).
//!
//! Values are handled in one format-generic core: a finite nonzero number is
//! `sig * 2^exp` with an integer significand, and [`round_pack`] turns any such
//! exact value (plus a sticky bit for digits a division or square root did not
//! produce) into the nearest representable encoding of a [`Fmt`].
//!
//! Round-to-nearest-even operations on ordinary operands first try the host
//! FPU (module `host`), where its result is provably the same bits and the
//! inexact flag can be decided exactly; everything else takes the core.
//!
//! Flags are accrued: functions only ever OR bits into `*fl`.
//!
//! Long on purpose: the whole of IEEE 754 arithmetic as RISC-V defines it
//! (rounding, flags, NaN boxing) in one place, so the interpreter and the
//! translator cannot differ.

/// fflags bits.
pub mod flags {
    pub const NX: u32 = 1;
    pub const UF: u32 = 2;
    pub const OF: u32 = 4;
    pub const DZ: u32 = 8;
    pub const NV: u32 = 16;
}

use crate::decode::{Insn, Op};
use flags::{DZ, NV, NX, OF, UF};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    NearestEven,
    TowardZero,
    Down,
    Up,
    NearestMaxMagnitude,
}

impl Rounding {
    /// The static `rm` field or `frm` value; 5 and 6 are reserved, 7 (dynamic) is resolved by the hart.
    pub fn from_bits(rm: u32) -> Option<Rounding> {
        Some(match rm {
            0 => Rounding::NearestEven,
            1 => Rounding::TowardZero,
            2 => Rounding::Down,
            3 => Rounding::Up,
            4 => Rounding::NearestMaxMagnitude,
            _ => return None,
        })
    }
}

// ---------------------------------------------------------------------------
// Formats and unpacking
// ---------------------------------------------------------------------------

/// A binary interchange format. Encodings of either format travel as `u64`
/// inside this module (binary32 in the low 32 bits).
#[derive(Clone, Copy)]
struct Fmt {
    /// Stored fraction bits (23 or 52); the precision is `frac + 1`.
    frac: u32,
    /// Exponent field bits (8 or 11).
    exp: u32,
}

const F32: Fmt = Fmt { frac: 23, exp: 8 };
const F64: Fmt = Fmt { frac: 52, exp: 11 };

impl Fmt {
    /// The exponent bias, which is also the largest finite exponent.
    const fn bias(self) -> i32 {
        (1 << (self.exp - 1)) - 1
    }
    /// The exponent of the smallest normal number.
    const fn emin(self) -> i32 {
        1 - self.bias()
    }
    const fn sign_bit(self) -> u64 {
        1 << (self.frac + self.exp)
    }
    const fn frac_mask(self) -> u64 {
        (1 << self.frac) - 1
    }
    const fn exp_field_max(self) -> u64 {
        (1 << self.exp) - 1
    }
    const fn quiet_bit(self) -> u64 {
        1 << (self.frac - 1)
    }
    const fn signed(self, sign: bool, magnitude: u64) -> u64 {
        if sign {
            magnitude | self.sign_bit()
        } else {
            magnitude
        }
    }
    const fn zero(self, sign: bool) -> u64 {
        self.signed(sign, 0)
    }
    const fn inf(self, sign: bool) -> u64 {
        self.signed(sign, self.exp_field_max() << self.frac)
    }
    const fn max_finite(self, sign: bool) -> u64 {
        self.signed(sign, (self.exp_field_max() << self.frac) - 1)
    }
    /// The canonical NaN: positive, quiet, no payload.
    const fn nan(self) -> u64 {
        (self.exp_field_max() << self.frac) | self.quiet_bit()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Zero,
    Finite,
    Inf,
    QNan,
    SNan,
}

/// An unpacked operand. For `Finite`, the value is `(-1)^sign * sig * 2^exp`;
/// subnormals simply have a smaller `sig`.
#[derive(Clone, Copy, Debug)]
struct Num {
    kind: Kind,
    sign: bool,
    exp: i32,
    sig: u64,
}

impl Num {
    fn is_nan(self) -> bool {
        matches!(self.kind, Kind::QNan | Kind::SNan)
    }
}

fn unpack(f: Fmt, x: u64) -> Num {
    let sign = x & f.sign_bit() != 0;
    let field = (x >> f.frac) & f.exp_field_max();
    let m = x & f.frac_mask();
    let (kind, exp, sig) = if field == f.exp_field_max() {
        let kind = if m == 0 {
            Kind::Inf
        } else if m & f.quiet_bit() != 0 {
            Kind::QNan
        } else {
            Kind::SNan
        };
        (kind, 0, 0)
    } else if field == 0 {
        let kind = if m == 0 { Kind::Zero } else { Kind::Finite };
        (kind, f.emin() - f.frac as i32, m)
    } else {
        let exp = field as i32 - f.bias() - f.frac as i32;
        (Kind::Finite, exp, m | 1 << f.frac)
    };
    Num {
        kind,
        sign,
        exp,
        sig,
    }
}

/// The result of an operation with a NaN operand: NV if any operand is
/// signalling, and the canonical NaN.
fn nan_result(f: Fmt, ops: &[Num], fl: &mut u32) -> u64 {
    if ops.iter().any(|n| n.kind == Kind::SNan) {
        *fl |= NV;
    }
    f.nan()
}

fn invalid(f: Fmt, fl: &mut u32) -> u64 {
    *fl |= NV;
    f.nan()
}

// ---------------------------------------------------------------------------
// Rounding
// ---------------------------------------------------------------------------

/// Rounds `sig * 2^exp` (plus a positive amount smaller than `2^exp` if
/// `sticky`) to a multiple of `2^q`. Returns the multiple and whether the
/// rounding was inexact. `sign` only matters for the directed modes.
fn round_at(sign: bool, sig: u128, exp: i32, sticky: bool, q: i32, rm: Rounding) -> (u128, bool) {
    let shift = q - exp; // digits below the unit in the last place
    if shift <= 0 {
        // Already a multiple of 2^q (the caller guarantees the shift fits).
        debug_assert!(!sticky, "sticky needs digits below the rounding point");
        return (sig << -shift, false);
    }
    // Compare the discarded part against half a unit.
    let (kept, half_cmp, inexact) = if shift > 128 {
        (0, std::cmp::Ordering::Less, true) // sig < 2^128 <= half a unit
    } else {
        let half = 1u128 << (shift - 1);
        let (kept, rem) = if shift == 128 {
            (0, sig)
        } else {
            (sig >> shift, sig & ((half << 1) - 1))
        };
        // The sticky amount breaks a tie upwards but never reaches the next half.
        let cmp = rem.cmp(&half).then(if sticky {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        });
        (kept, cmp, rem != 0 || sticky)
    };
    use std::cmp::Ordering::*;
    let up = match rm {
        Rounding::NearestEven => half_cmp == Greater || (half_cmp == Equal && kept & 1 == 1),
        Rounding::NearestMaxMagnitude => inexact && half_cmp != Less,
        Rounding::TowardZero => false,
        Rounding::Down => sign && inexact,
        Rounding::Up => !sign && inexact,
    };
    (kept + up as u128, inexact)
}

/// Rounds the nonzero value `(-1)^sign * (sig + sticky) * 2^exp` to format `f`
/// and encodes it, raising NX, UF and OF as RISC-V does. `sticky` means the
/// true value is a little larger than `sig * 2^exp` (less than one unit of
/// `sig`); callers that set it provide at least two digits below the result's
/// precision, so the sticky amount can only break ties.
fn round_pack(
    f: Fmt,
    sign: bool,
    sig: u128,
    exp: i32,
    sticky: bool,
    rm: Rounding,
    fl: &mut u32,
) -> u64 {
    debug_assert!(sig != 0);
    let prec = f.frac as i32;
    // Exponent of the leading digit: the value lies in [2^top, 2^(top+1)).
    let top = exp + (127 - sig.leading_zeros() as i32);
    let emin = f.emin();
    // Below emin the unit in the last place stays that of the subnormals.
    let scale = top.max(emin);
    let (m, inexact) = round_at(sign, sig, exp, sticky, scale - prec, rm);

    // Overflow: the rounded value reaches 2^(emax+1) (m may have carried to 2^(frac+1)).
    if top + (m >> (prec + 1)) as i32 > f.bias() {
        *fl |= OF | NX;
        let to_inf = match rm {
            Rounding::NearestEven | Rounding::NearestMaxMagnitude => true,
            Rounding::TowardZero => false,
            Rounding::Down => sign,
            Rounding::Up => !sign,
        };
        return if to_inf {
            f.inf(sign)
        } else {
            f.max_finite(sign)
        };
    }
    if inexact {
        *fl |= NX;
        // Tininess after rounding: would the value, rounded to full precision
        // with an unbounded exponent, still be below 2^emin?
        if top < emin {
            let tiny = top < emin - 1 || {
                let (full, _) = round_at(sign, sig, exp, sticky, top - prec, rm);
                full >> (prec + 1) == 0
            };
            if tiny {
                *fl |= UF;
            }
        }
    }
    // m includes the leading digit, so adding it carries into the exponent
    // field: a subnormal rounding up to 2^emin becomes the smallest normal,
    // and a significand rounding up to 2^(frac+1) bumps the exponent.
    let field = (scale - emin) as u64;
    f.signed(sign, (field << f.frac) + m as u64)
}

// ---------------------------------------------------------------------------
// Arithmetic
// ---------------------------------------------------------------------------

/// `(-1)^sa * ma * 2^ea + (-1)^sb * mb * 2^eb`, rounded once. Both terms are
/// nonzero and have at most 106 significant bits.
#[allow(clippy::too_many_arguments)]
fn add_finite(
    f: Fmt,
    sa: bool,
    ea: i32,
    ma: u128,
    sb: bool,
    eb: i32,
    mb: u128,
    rm: Rounding,
    fl: &mut u32,
) -> u64 {
    // Put both leading digits at bit 125: exponents then order the magnitudes,
    // and the sum of two such terms still fits.
    let norm = |e: i32, m: u128| {
        let s = m.leading_zeros() - 2;
        (e - s as i32, m << s)
    };
    let (mut ea, mut ma) = norm(ea, ma);
    let (mut eb, mut mb) = norm(eb, mb);
    let (mut sa, mut sb) = (sa, sb);
    if (eb, mb) > (ea, ma) {
        std::mem::swap(&mut ea, &mut eb);
        std::mem::swap(&mut ma, &mut mb);
        std::mem::swap(&mut sa, &mut sb);
    }
    // Align the smaller term. Its low 19 bits are zero (<= 106 significant
    // bits at bit 125), so digits are lost only when the shift is large, and
    // then the result keeps at least 124 bits: the lost digits only matter as
    // a sticky bit far below the rounding point.
    let d = (ea - eb) as u32;
    let (t, lost) = if d >= 128 {
        (0, true)
    } else {
        (mb >> d, mb & ((1u128 << d) - 1) != 0)
    };
    if sa == sb {
        round_pack(f, sa, ma + t, ea, lost, rm, fl)
    } else {
        // True difference is in (ma - t - 1, ma - t) when digits were lost.
        let diff = ma - t - lost as u128;
        if diff == 0 {
            // Exact cancellation: +0, except -0 when rounding down.
            return f.zero(rm == Rounding::Down);
        }
        round_pack(f, sa, diff, ea, lost, rm, fl)
    }
}

fn add(f: Fmt, a: u64, b: u64, rm: Rounding, fl: &mut u32) -> u64 {
    let (x, y) = (unpack(f, a), unpack(f, b));
    if x.is_nan() || y.is_nan() {
        return nan_result(f, &[x, y], fl);
    }
    match (x.kind, y.kind) {
        (Kind::Inf, Kind::Inf) if x.sign != y.sign => invalid(f, fl),
        (Kind::Inf, _) => a,
        (_, Kind::Inf) => b,
        (Kind::Zero, Kind::Zero) if x.sign != y.sign => f.zero(rm == Rounding::Down),
        (Kind::Zero, _) => b,
        (_, Kind::Zero) => a,
        _ => add_finite(
            f,
            x.sign,
            x.exp,
            x.sig.into(),
            y.sign,
            y.exp,
            y.sig.into(),
            rm,
            fl,
        ),
    }
}

fn sub(f: Fmt, a: u64, b: u64, rm: Rounding, fl: &mut u32) -> u64 {
    // NaN signs do not matter: every NaN result is canonical.
    add(f, a, b ^ f.sign_bit(), rm, fl)
}

fn mul(f: Fmt, a: u64, b: u64, rm: Rounding, fl: &mut u32) -> u64 {
    let (x, y) = (unpack(f, a), unpack(f, b));
    if x.is_nan() || y.is_nan() {
        return nan_result(f, &[x, y], fl);
    }
    let sign = x.sign != y.sign;
    match (x.kind, y.kind) {
        (Kind::Inf, Kind::Zero) | (Kind::Zero, Kind::Inf) => invalid(f, fl),
        (Kind::Inf, _) | (_, Kind::Inf) => f.inf(sign),
        (Kind::Zero, _) | (_, Kind::Zero) => f.zero(sign),
        _ => {
            let m = x.sig as u128 * y.sig as u128;
            round_pack(f, sign, m, x.exp + y.exp, false, rm, fl)
        }
    }
}

fn div(f: Fmt, a: u64, b: u64, rm: Rounding, fl: &mut u32) -> u64 {
    let (x, y) = (unpack(f, a), unpack(f, b));
    if x.is_nan() || y.is_nan() {
        return nan_result(f, &[x, y], fl);
    }
    let sign = x.sign != y.sign;
    match (x.kind, y.kind) {
        (Kind::Inf, Kind::Inf) | (Kind::Zero, Kind::Zero) => invalid(f, fl),
        (Kind::Inf, _) => f.inf(sign),
        (_, Kind::Inf) | (Kind::Zero, _) => f.zero(sign),
        (_, Kind::Zero) => {
            *fl |= DZ;
            f.inf(sign)
        }
        _ => {
            // With both significands normalised to [2^63, 2^64), the quotient
            // of (ma << 64) / mb has 64 or 65 bits: ample for 53-bit rounding,
            // with the remainder as the sticky bit.
            let (sa, sb) = (x.sig.leading_zeros(), y.sig.leading_zeros());
            let ma = ((x.sig << sa) as u128) << 64;
            let mb = (y.sig << sb) as u128;
            let (q, r) = (ma / mb, ma % mb);
            let exp = x.exp - sa as i32 - (y.exp - sb as i32) - 64;
            round_pack(f, sign, q, exp, r != 0, rm, fl)
        }
    }
}

/// The integer square root of `n < 2^127` and whether it was inexact.
fn isqrt(n: u128) -> (u128, bool) {
    // A host estimate (good to ~2^-50 relative), one exact Newton step, then
    // a final correction by at most a few units. The result does not depend
    // on the estimate's accuracy, only the number of steps does.
    let mut r = ((n as f64).sqrt() as u128).max(1);
    r = (r + n / r) / 2;
    while r * r > n {
        r -= 1;
    }
    while (r + 1) * (r + 1) <= n {
        r += 1;
    }
    (r, r * r != n)
}

fn sqrt(f: Fmt, a: u64, rm: Rounding, fl: &mut u32) -> u64 {
    let x = unpack(f, a);
    match x.kind {
        Kind::QNan | Kind::SNan => nan_result(f, &[x], fl),
        Kind::Zero => a, // sqrt(-0) = -0
        _ if x.sign => invalid(f, fl),
        Kind::Inf => a,
        Kind::Finite => {
            // Leading digit at bit 124 or 125, with an even exponent: the
            // root then has 63 bits, ample for rounding to 53.
            let mut s = x.sig.leading_zeros() as i32 + 64 - 3;
            if (x.exp - s) % 2 != 0 {
                s += 1;
            }
            let (root, inexact) = isqrt((x.sig as u128) << s);
            round_pack(f, false, root, (x.exp - s) / 2, inexact, rm, fl)
        }
    }
}

fn fma(f: Fmt, a: u64, b: u64, c: u64, rm: Rounding, fl: &mut u32) -> u64 {
    let (x, y, z) = (unpack(f, a), unpack(f, b), unpack(f, c));
    // inf * 0 is invalid even when the addend is a quiet NaN (RISC-V spec).
    let inf_zero = matches!(
        (x.kind, y.kind),
        (Kind::Inf, Kind::Zero) | (Kind::Zero, Kind::Inf)
    );
    if x.is_nan() || y.is_nan() || z.is_nan() {
        if inf_zero {
            *fl |= NV;
        }
        return nan_result(f, &[x, y, z], fl);
    }
    if inf_zero {
        return invalid(f, fl);
    }
    let ps = x.sign != y.sign;
    if x.kind == Kind::Inf || y.kind == Kind::Inf {
        return if z.kind == Kind::Inf && z.sign != ps {
            invalid(f, fl)
        } else {
            f.inf(ps)
        };
    }
    let product_is_zero = x.kind == Kind::Zero || y.kind == Kind::Zero;
    match (product_is_zero, z.kind) {
        (_, Kind::Inf) => c,
        // Zeros of opposite signs sum to +0, or -0 when rounding down.
        (true, Kind::Zero) if ps != z.sign => f.zero(rm == Rounding::Down),
        // Adding an exact zero changes nothing (a zero addend keeps its sign
        // when the signs agree).
        (true, _) => c,
        (false, Kind::Zero) => {
            let m = x.sig as u128 * y.sig as u128;
            round_pack(f, ps, m, x.exp + y.exp, false, rm, fl)
        }
        (false, _) => {
            let m = x.sig as u128 * y.sig as u128;
            add_finite(f, ps, x.exp + y.exp, m, z.sign, z.exp, z.sig.into(), rm, fl)
        }
    }
}

// ---------------------------------------------------------------------------
// Comparisons and classification
// ---------------------------------------------------------------------------

/// A key that orders non-NaN encodings numerically, with -0 below +0.
fn order_key(f: Fmt, x: u64) -> u64 {
    if x & f.sign_bit() != 0 {
        !x & (f.sign_bit() << 1).wrapping_sub(1)
    } else {
        x | f.sign_bit()
    }
}

fn min_max(f: Fmt, a: u64, b: u64, want_max: bool, fl: &mut u32) -> u64 {
    let (x, y) = (unpack(f, a), unpack(f, b));
    if x.kind == Kind::SNan || y.kind == Kind::SNan {
        *fl |= NV;
    }
    match (x.is_nan(), y.is_nan()) {
        (true, true) => f.nan(),
        (true, false) => b,
        (false, true) => a,
        _ => {
            let a_less = order_key(f, a) < order_key(f, b);
            if a_less != want_max {
                a
            } else {
                b
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
}

fn compare(f: Fmt, a: u64, b: u64, op: Cmp, fl: &mut u32) -> bool {
    let (x, y) = (unpack(f, a), unpack(f, b));
    if x.is_nan() || y.is_nan() {
        // feq is quiet: only signalling NaNs are invalid. flt/fle signal on any NaN.
        if op != Cmp::Eq || x.kind == Kind::SNan || y.kind == Kind::SNan {
            *fl |= NV;
        }
        return false;
    }
    let both_zero = x.kind == Kind::Zero && y.kind == Kind::Zero;
    let (ka, kb) = (order_key(f, a), order_key(f, b));
    match op {
        Cmp::Eq => both_zero || a == b,
        Cmp::Lt => !both_zero && ka < kb,
        Cmp::Le => both_zero || ka <= kb,
    }
}

fn class(f: Fmt, a: u64) -> u64 {
    let x = unpack(f, a);
    let subnormal = (a >> f.frac) & f.exp_field_max() == 0;
    let bit = match (x.kind, x.sign) {
        (Kind::Inf, true) => 0,
        (Kind::Finite, true) if !subnormal => 1,
        (Kind::Finite, true) => 2,
        (Kind::Zero, true) => 3,
        (Kind::Zero, false) => 4,
        (Kind::Finite, false) if subnormal => 5,
        (Kind::Finite, false) => 6,
        (Kind::Inf, false) => 7,
        (Kind::SNan, _) => 8,
        (Kind::QNan, _) => 9,
    };
    1 << bit
}

// ---------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------

/// Converts to an integer of `bits` bits, rounding with `rm`; out-of-range
/// values and NaN saturate with NV (and no NX). Returns the two's-complement
/// bits, zero-extended.
fn to_int(f: Fmt, a: u64, signed: bool, bits: u32, rm: Rounding, fl: &mut u32) -> u64 {
    let x = unpack(f, a);
    let (min, max): (i128, i128) = if signed {
        (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    } else {
        (0, (1 << bits) - 1)
    };
    let saturate = |negative: bool, fl: &mut u32| {
        *fl |= NV;
        (if negative { min } else { max }) as u64
    };
    let (m, inexact) = match x.kind {
        Kind::QNan | Kind::SNan => return saturate(false, fl),
        Kind::Inf => return saturate(x.sign, fl),
        Kind::Zero => return 0,
        // At 2^65 or above nothing fits; below it the shift stays inside u128.
        Kind::Finite if x.exp + (64 - x.sig.leading_zeros() as i32) > 65 => {
            return saturate(x.sign, fl)
        }
        Kind::Finite => round_at(x.sign, x.sig.into(), x.exp, false, 0, rm),
    };
    let v = if x.sign { -(m as i128) } else { m as i128 };
    if v < min || v > max {
        // Includes negative values that round to a nonzero integer for unsigned.
        return saturate(x.sign, fl);
    }
    if inexact {
        *fl |= NX;
    }
    (v as u64) & (u64::MAX >> (64 - bits))
}

fn from_int(f: Fmt, negative: bool, magnitude: u64, rm: Rounding, fl: &mut u32) -> u64 {
    if magnitude == 0 {
        return 0;
    }
    round_pack(f, negative, magnitude.into(), 0, false, rm, fl)
}

/// Converts between formats (exact when widening).
fn convert(from: Fmt, to: Fmt, a: u64, rm: Rounding, fl: &mut u32) -> u64 {
    let x = unpack(from, a);
    match x.kind {
        Kind::QNan | Kind::SNan => nan_result(to, &[x], fl),
        Kind::Inf => to.inf(x.sign),
        Kind::Zero => to.zero(x.sign),
        Kind::Finite => round_pack(to, x.sign, x.sig.into(), x.exp, false, rm, fl),
    }
}

// ---------------------------------------------------------------------------
// The hart's interface
// ---------------------------------------------------------------------------

// Each arithmetic entry point tries the host fast path (round-to-nearest-even
// with a normal result, see `host`) before the exact software core.

/// `fast` is an `Option<(result, inexact)>` tried only when `rm` is `mode`;
/// `soft` otherwise.
macro_rules! fast_in_mode_or_soft {
    ($mode:expr, $rm:expr, $fl:expr, $fast:expr, $soft:expr) => {
        match if $rm == $mode { $fast } else { None } {
            Some((r, inexact)) => {
                if inexact {
                    *$fl |= NX;
                }
                r
            }
            None => $soft,
        }
    };
}

/// `fast` is an `Option<(result, inexact)>` tried only for RNE; `soft` otherwise.
macro_rules! fast_or_soft {
    ($rm:expr, $fl:expr, $fast:expr, $soft:expr) => {
        fast_in_mode_or_soft!(Rounding::NearestEven, $rm, $fl, $fast, $soft)
    };
}

pub fn f32_add(a: u32, b: u32, rm: Rounding, fl: &mut u32) -> u32 {
    fast_or_soft!(
        rm,
        fl,
        host::f32_add(a, b),
        add(F32, a.into(), b.into(), rm, fl) as u32
    )
}
pub fn f32_sub(a: u32, b: u32, rm: Rounding, fl: &mut u32) -> u32 {
    fast_or_soft!(
        rm,
        fl,
        host::f32_add(a, b ^ 1 << 31),
        sub(F32, a.into(), b.into(), rm, fl) as u32
    )
}
pub fn f32_mul(a: u32, b: u32, rm: Rounding, fl: &mut u32) -> u32 {
    fast_or_soft!(
        rm,
        fl,
        host::f32_mul(a, b),
        mul(F32, a.into(), b.into(), rm, fl) as u32
    )
}
pub fn f32_div(a: u32, b: u32, rm: Rounding, fl: &mut u32) -> u32 {
    fast_or_soft!(
        rm,
        fl,
        host::f32_div(a, b),
        div(F32, a.into(), b.into(), rm, fl) as u32
    )
}
pub fn f64_add(a: u64, b: u64, rm: Rounding, fl: &mut u32) -> u64 {
    fast_or_soft!(rm, fl, host::f64_add(a, b), add(F64, a, b, rm, fl))
}
pub fn f64_sub(a: u64, b: u64, rm: Rounding, fl: &mut u32) -> u64 {
    fast_or_soft!(
        rm,
        fl,
        host::f64_add(a, b ^ 1 << 63),
        sub(F64, a, b, rm, fl)
    )
}
pub fn f64_mul(a: u64, b: u64, rm: Rounding, fl: &mut u32) -> u64 {
    fast_or_soft!(rm, fl, host::f64_mul(a, b), mul(F64, a, b, rm, fl))
}
pub fn f64_div(a: u64, b: u64, rm: Rounding, fl: &mut u32) -> u64 {
    fast_or_soft!(rm, fl, host::f64_div(a, b), div(F64, a, b, rm, fl))
}

pub fn f32_sqrt(a: u32, rm: Rounding, fl: &mut u32) -> u32 {
    fast_or_soft!(
        rm,
        fl,
        host::f32_sqrt(a),
        sqrt(F32, a.into(), rm, fl) as u32
    )
}
pub fn f64_sqrt(a: u64, rm: Rounding, fl: &mut u32) -> u64 {
    fast_or_soft!(rm, fl, host::f64_sqrt(a), sqrt(F64, a, rm, fl))
}

/// a * b + c, rounded once.
pub fn f32_fma(a: u32, b: u32, c: u32, rm: Rounding, fl: &mut u32) -> u32 {
    let soft = |fl: &mut u32| fma(F32, a.into(), b.into(), c.into(), rm, fl) as u32;
    fast_or_soft!(rm, fl, host::f32_fma(a, b, c), soft(fl))
}
/// When `*fl` already holds NX, deciding whether this result is exact is
/// skipped (the flags come out the same): callers that pass the accrued
/// flags in save that work in long FP loops.
pub fn f64_fma(a: u64, b: u64, c: u64, rm: Rounding, fl: &mut u32) -> u64 {
    let exactness = *fl & NX == 0;
    fast_or_soft!(
        rm,
        fl,
        host::f64_fma(a, b, c, exactness),
        fma(F64, a, b, c, rm, fl)
    )
}

pub fn f32_min(a: u32, b: u32, fl: &mut u32) -> u32 {
    min_max(F32, a.into(), b.into(), false, fl) as u32
}
pub fn f32_max(a: u32, b: u32, fl: &mut u32) -> u32 {
    min_max(F32, a.into(), b.into(), true, fl) as u32
}
pub fn f64_min(a: u64, b: u64, fl: &mut u32) -> u64 {
    min_max(F64, a, b, false, fl)
}
pub fn f64_max(a: u64, b: u64, fl: &mut u32) -> u64 {
    min_max(F64, a, b, true, fl)
}

/// feq (quiet), flt and fle (signalling).
pub fn f32_eq(a: u32, b: u32, fl: &mut u32) -> bool {
    compare(F32, a.into(), b.into(), Cmp::Eq, fl)
}
pub fn f32_lt(a: u32, b: u32, fl: &mut u32) -> bool {
    compare(F32, a.into(), b.into(), Cmp::Lt, fl)
}
pub fn f32_le(a: u32, b: u32, fl: &mut u32) -> bool {
    compare(F32, a.into(), b.into(), Cmp::Le, fl)
}
pub fn f64_eq(a: u64, b: u64, fl: &mut u32) -> bool {
    compare(F64, a, b, Cmp::Eq, fl)
}
pub fn f64_lt(a: u64, b: u64, fl: &mut u32) -> bool {
    compare(F64, a, b, Cmp::Lt, fl)
}
pub fn f64_le(a: u64, b: u64, fl: &mut u32) -> bool {
    compare(F64, a, b, Cmp::Le, fl)
}

/// The fclass mask (bit 0: -inf ... bit 9: quiet NaN).
pub fn f32_class(a: u32) -> u64 {
    class(F32, a.into())
}
pub fn f64_class(a: u64) -> u64 {
    class(F64, a)
}

pub fn f32_to_f64(a: u32, fl: &mut u32) -> u64 {
    // Widening is exact, so the rounding mode is irrelevant.
    let soft = |fl: &mut u32| convert(F32, F64, a.into(), Rounding::NearestEven, fl);
    fast_or_soft!(Rounding::NearestEven, fl, host::f32_to_f64(a), soft(fl))
}
pub fn f64_to_f32(a: u64, rm: Rounding, fl: &mut u32) -> u32 {
    fast_or_soft!(
        rm,
        fl,
        host::f64_to_f32(a),
        convert(F64, F32, a, rm, fl) as u32
    )
}

/// `fast` is an `Option<(result, inexact)>` tried only for RTZ (C's casts).
macro_rules! trunc_or_soft {
    ($rm:expr, $fl:expr, $fast:expr, $soft:expr) => {
        fast_in_mode_or_soft!(Rounding::TowardZero, $rm, $fl, $fast, $soft)
    };
}

pub fn f32_to_i32(a: u32, rm: Rounding, fl: &mut u32) -> i32 {
    let fast = host::trunc(host::widen(a), true, 32);
    trunc_or_soft!(rm, fl, fast, to_int(F32, a.into(), true, 32, rm, fl)) as u32 as i32
}
pub fn f32_to_u32(a: u32, rm: Rounding, fl: &mut u32) -> u32 {
    let fast = host::trunc(host::widen(a), false, 32);
    trunc_or_soft!(rm, fl, fast, to_int(F32, a.into(), false, 32, rm, fl)) as u32
}
pub fn f32_to_i64(a: u32, rm: Rounding, fl: &mut u32) -> i64 {
    let fast = host::trunc(host::widen(a), true, 64);
    trunc_or_soft!(rm, fl, fast, to_int(F32, a.into(), true, 64, rm, fl)) as i64
}
pub fn f32_to_u64(a: u32, rm: Rounding, fl: &mut u32) -> u64 {
    let fast = host::trunc(host::widen(a), false, 64);
    trunc_or_soft!(rm, fl, fast, to_int(F32, a.into(), false, 64, rm, fl))
}
pub fn f64_to_i32(a: u64, rm: Rounding, fl: &mut u32) -> i32 {
    let fast = host::trunc(f64::from_bits(a), true, 32);
    trunc_or_soft!(rm, fl, fast, to_int(F64, a, true, 32, rm, fl)) as u32 as i32
}
pub fn f64_to_u32(a: u64, rm: Rounding, fl: &mut u32) -> u32 {
    let fast = host::trunc(f64::from_bits(a), false, 32);
    trunc_or_soft!(rm, fl, fast, to_int(F64, a, false, 32, rm, fl)) as u32
}
pub fn f64_to_i64(a: u64, rm: Rounding, fl: &mut u32) -> i64 {
    let fast = host::trunc(f64::from_bits(a), true, 64);
    trunc_or_soft!(rm, fl, fast, to_int(F64, a, true, 64, rm, fl)) as i64
}
pub fn f64_to_u64(a: u64, rm: Rounding, fl: &mut u32) -> u64 {
    let fast = host::trunc(f64::from_bits(a), false, 64);
    trunc_or_soft!(rm, fl, fast, to_int(F64, a, false, 64, rm, fl))
}

// Integer to float: Rust's `as` rounds to nearest-even, so for RNE the host
// conversion is the answer and converting back tells whether it was exact.

pub fn i32_to_f32(v: i32, rm: Rounding, fl: &mut u32) -> u32 {
    let fast = host::from_int(v.into(), v as f32);
    fast_or_soft!(
        rm,
        fl,
        fast,
        from_int(F32, v < 0, v.unsigned_abs().into(), rm, fl) as u32
    )
}
pub fn u32_to_f32(v: u32, rm: Rounding, fl: &mut u32) -> u32 {
    let fast = host::from_int(v.into(), v as f32);
    fast_or_soft!(rm, fl, fast, from_int(F32, false, v.into(), rm, fl) as u32)
}
pub fn i64_to_f32(v: i64, rm: Rounding, fl: &mut u32) -> u32 {
    let fast = host::from_int(v.into(), v as f32);
    fast_or_soft!(
        rm,
        fl,
        fast,
        from_int(F32, v < 0, v.unsigned_abs(), rm, fl) as u32
    )
}
pub fn u64_to_f32(v: u64, rm: Rounding, fl: &mut u32) -> u32 {
    let fast = host::from_int(v.into(), v as f32);
    fast_or_soft!(rm, fl, fast, from_int(F32, false, v, rm, fl) as u32)
}
pub fn i32_to_f64(v: i32, _rm: Rounding, _fl: &mut u32) -> u64 {
    // Always exact.
    f64::from(v).to_bits()
}
pub fn u32_to_f64(v: u32, _rm: Rounding, _fl: &mut u32) -> u64 {
    // Always exact.
    f64::from(v).to_bits()
}
pub fn i64_to_f64(v: i64, rm: Rounding, fl: &mut u32) -> u64 {
    let fast = host::from_int(v.into(), v as f64);
    fast_or_soft!(rm, fl, fast, from_int(F64, v < 0, v.unsigned_abs(), rm, fl))
}
pub fn u64_to_f64(v: u64, rm: Rounding, fl: &mut u32) -> u64 {
    let fast = host::from_int(v.into(), v as f64);
    fast_or_soft!(rm, fl, fast, from_int(F64, false, v, rm, fl))
}

// ---------------------------------------------------------------------------
// F and D instructions, for the interpreter and the JIT alike
// ---------------------------------------------------------------------------

/// The value a single-precision operand reads from FP register bits `v`:
/// anything not NaN-boxed is the canonical NaN.
pub(crate) fn unbox(v: u64) -> u32 {
    if v >> 32 == 0xffff_ffff {
        v as u32
    } else {
        0x7fc0_0000
    }
}

/// The FP register bits of single-precision result `v`.
pub(crate) fn nan_box(v: u32) -> u64 {
    v as u64 | 0xffff_ffff_0000_0000
}

fn sext32(v: u64) -> u64 {
    v as i32 as i64 as u64
}

const SIGN32: u32 = 1 << 31;
const SIGN64: u64 = 1 << 63;

/// The rounding mode of an F or D instruction (its `rm` field, or frm for
/// the dynamic 7) is reserved: the instruction is illegal.
#[derive(Debug)]
pub(crate) struct BadRounding;

/// Every F and D operation that `execute` runs: all but loads and stores.
/// Translated code names one by its index here.
pub(crate) const OPS: [Op; 58] = {
    use Op::*;
    [
        FmaddS, FmsubS, FnmsubS, FnmaddS, FaddS, FsubS, FmulS, FdivS, FsqrtS, FsgnjS, FsgnjnS,
        FsgnjxS, FminS, FmaxS, FcvtWS, FcvtWuS, FcvtLS, FcvtLuS, FcvtSW, FcvtSWu, FcvtSL, FcvtSLu,
        FmvXW, FmvWX, FeqS, FltS, FleS, FclassS, FmaddD, FmsubD, FnmsubD, FnmaddD, FaddD, FsubD,
        FmulD, FdivD, FsqrtD, FsgnjD, FsgnjnD, FsgnjxD, FminD, FmaxD, FcvtWD, FcvtWuD, FcvtLD,
        FcvtLuD, FcvtDW, FcvtDWu, FcvtDL, FcvtDLu, FmvXD, FmvDX, FeqD, FltD, FleD, FclassD, FcvtSD,
        FcvtDS,
    ]
};

/// Executes `i`, one of `OPS`, on the FP registers `f` and `fcsr`, with
/// `x` the value of integer register rs1 (for the instructions that read
/// one). Returns the value of integer register rd for the instructions
/// that write one. On `BadRounding` nothing has changed.
#[inline(always)]
pub(crate) fn execute(
    f: &mut [u64; 32],
    fcsr: &mut u32,
    i: Insn,
    x: u64,
) -> Result<Option<u64>, BadRounding> {
    use Op::*;
    let rm = match i.rm() {
        7 => (*fcsr >> 5) & 7,
        rm => rm as u32,
    };
    // Only operations that round read `rm`; the rest ignore the field.
    let rounds = !matches!(
        i.op,
        FsgnjS
            | FsgnjnS
            | FsgnjxS
            | FminS
            | FmaxS
            | FmvXW
            | FmvWX
            | FeqS
            | FltS
            | FleS
            | FclassS
            | FsgnjD
            | FsgnjnD
            | FsgnjxD
            | FminD
            | FmaxD
            | FmvXD
            | FmvDX
            | FeqD
            | FltD
            | FleD
            | FclassD
    );
    let rm = match Rounding::from_bits(rm) {
        Some(rm) => rm,
        None if rounds => return Err(BadRounding),
        None => Rounding::NearestEven,
    };
    let d = |r: u8| f[(r & 31) as usize];
    let s = |r: u8| unbox(f[(r & 31) as usize]);
    let (a, b, c) = (d(i.rs1), d(i.rs2), d(i.rs3()));
    let (sa, sb, sc) = (s(i.rs1), s(i.rs2), s(i.rs3()));
    // The accrued NX lets the FPU skip proving a result exact.
    let mut fl = *fcsr & NX;
    let fl = &mut fl;
    // A result for FP register rd, or for integer register rd.
    enum R {
        F(u64),
        X(u64),
    }
    let single = |v: u32| R::F(nan_box(v));
    let r = match i.op {
        FmaddS => single(f32_fma(sa, sb, sc, rm, fl)),
        FmsubS => single(f32_fma(sa, sb, sc ^ SIGN32, rm, fl)),
        FnmsubS => single(f32_fma(sa ^ SIGN32, sb, sc, rm, fl)),
        FnmaddS => single(f32_fma(sa ^ SIGN32, sb, sc ^ SIGN32, rm, fl)),
        FaddS => single(f32_add(sa, sb, rm, fl)),
        FsubS => single(f32_sub(sa, sb, rm, fl)),
        FmulS => single(f32_mul(sa, sb, rm, fl)),
        FdivS => single(f32_div(sa, sb, rm, fl)),
        FsqrtS => single(f32_sqrt(sa, rm, fl)),
        FsgnjS => single((sa & !SIGN32) | (sb & SIGN32)),
        FsgnjnS => single((sa & !SIGN32) | (!sb & SIGN32)),
        FsgnjxS => single(sa ^ (sb & SIGN32)),
        FminS => single(f32_min(sa, sb, fl)),
        FmaxS => single(f32_max(sa, sb, fl)),
        FcvtWS => R::X(f32_to_i32(sa, rm, fl) as i64 as u64),
        FcvtWuS => R::X(sext32(f32_to_u32(sa, rm, fl) as u64)),
        FcvtLS => R::X(f32_to_i64(sa, rm, fl) as u64),
        FcvtLuS => R::X(f32_to_u64(sa, rm, fl)),
        FcvtSW => single(i32_to_f32(x as i32, rm, fl)),
        FcvtSWu => single(u32_to_f32(x as u32, rm, fl)),
        FcvtSL => single(i64_to_f32(x as i64, rm, fl)),
        FcvtSLu => single(u64_to_f32(x, rm, fl)),
        FmvXW => R::X(sext32(a)),
        FmvWX => single(x as u32),
        FeqS => R::X(f32_eq(sa, sb, fl) as u64),
        FltS => R::X(f32_lt(sa, sb, fl) as u64),
        FleS => R::X(f32_le(sa, sb, fl) as u64),
        FclassS => R::X(f32_class(sa)),
        FmaddD => R::F(f64_fma(a, b, c, rm, fl)),
        FmsubD => R::F(f64_fma(a, b, c ^ SIGN64, rm, fl)),
        FnmsubD => R::F(f64_fma(a ^ SIGN64, b, c, rm, fl)),
        FnmaddD => R::F(f64_fma(a ^ SIGN64, b, c ^ SIGN64, rm, fl)),
        FaddD => R::F(f64_add(a, b, rm, fl)),
        FsubD => R::F(f64_sub(a, b, rm, fl)),
        FmulD => R::F(f64_mul(a, b, rm, fl)),
        FdivD => R::F(f64_div(a, b, rm, fl)),
        FsqrtD => R::F(f64_sqrt(a, rm, fl)),
        FsgnjD => R::F((a & !SIGN64) | (b & SIGN64)),
        FsgnjnD => R::F((a & !SIGN64) | (!b & SIGN64)),
        FsgnjxD => R::F(a ^ (b & SIGN64)),
        FminD => R::F(f64_min(a, b, fl)),
        FmaxD => R::F(f64_max(a, b, fl)),
        FcvtWD => R::X(f64_to_i32(a, rm, fl) as i64 as u64),
        FcvtWuD => R::X(sext32(f64_to_u32(a, rm, fl) as u64)),
        FcvtLD => R::X(f64_to_i64(a, rm, fl) as u64),
        FcvtLuD => R::X(f64_to_u64(a, rm, fl)),
        FcvtDW => R::F(i32_to_f64(x as i32, rm, fl)),
        FcvtDWu => R::F(u32_to_f64(x as u32, rm, fl)),
        FcvtDL => R::F(i64_to_f64(x as i64, rm, fl)),
        FcvtDLu => R::F(u64_to_f64(x, rm, fl)),
        FmvXD => R::X(a),
        FmvDX => R::F(x),
        FeqD => R::X(f64_eq(a, b, fl) as u64),
        FltD => R::X(f64_lt(a, b, fl) as u64),
        FleD => R::X(f64_le(a, b, fl) as u64),
        FclassD => R::X(f64_class(a)),
        FcvtSD => single(f64_to_f32(a, rm, fl)),
        FcvtDS => R::F(f32_to_f64(sa, fl)),
        op => unreachable!("{op:?} is not an F or D computation"),
    };
    *fcsr |= *fl;
    Ok(match r {
        R::F(v) => {
            f[(i.rd & 31) as usize] = v;
            None
        }
        R::X(v) => Some(v),
    })
}

/// `execute` for translated code: `packed` holds the index of the
/// operation in `OPS` in bits 0-7, then rd, rs1, rs2 and `imm`. None if the
/// rounding mode is reserved; else the value for integer rd (0 when the
/// instruction writes an FP register).
#[cfg(target_arch = "x86_64")]
pub(crate) fn execute_packed(
    f: &mut [u64; 32],
    fcsr: &mut u32,
    packed: u64,
    x: u64,
) -> Option<u64> {
    let i = Insn {
        op: OPS[(packed & 0xff) as usize],
        rd: (packed >> 8) as u8,
        rs1: (packed >> 16) as u8,
        rs2: (packed >> 24) as u8,
        imm: (packed >> 32) as i32,
    };
    execute(f, fcsr, i, x).ok().map(|r| r.unwrap_or(0))
}

/// Fast paths on the host FPU.
///
/// IEEE 754 requires +, -, *, / and sqrt (and conversions) to be correctly
/// rounded, and Rust's f32/f64 operations are IEEE operations in
/// round-to-nearest-even on the hosts enabled below. So when the rounding mode
/// is RNE, the operands are finite and the host result is finite and larger in
/// magnitude than the smallest normal, the host result is exactly the RISC-V
/// result, with neither overflow nor underflow (not even the after-rounding
/// kind: the exact value is then at least the smallest normal) and no
/// invalid operation. The only flag left is NX, which each function decides
/// exactly, with integers or an error-free transformation. Everything else
/// (`None`) goes to the software core. Host NaNs never escape.
mod host {
    /// Hosts whose f32/f64 arithmetic is IEEE without excess precision.
    const ENABLED: bool = cfg!(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    ));

    fn normal32(r: f32) -> bool {
        ENABLED && r.abs() > f32::MIN_POSITIVE && r.abs() <= f32::MAX
    }
    fn normal64(r: f64) -> bool {
        ENABLED && r.abs() > f64::MIN_POSITIVE && r.abs() <= f64::MAX
    }

    /// An f32 as an f64 (exact; NaNs stay NaN, which every caller rejects).
    pub fn widen(a: u32) -> f64 {
        f32::from_bits(a).into()
    }

    /// The integer significand and the biased exponent field of a finite f64.
    fn parts64(x: u64) -> (u64, i32) {
        let field = ((x >> 52) & 0x7ff) as i32;
        let frac = x & ((1 << 52) - 1);
        if field == 0 {
            (frac, 1)
        } else {
            (frac | 1 << 52, field)
        }
    }

    /// Whether `x * y == m * 2^k` exactly (k may be negative or large:
    /// subnormal operands move it far from its usual 52 or 53).
    fn product_is_shifted(x: u64, y: u64, m: u64, k: i32) -> bool {
        let (p, m) = (x as u128 * y as u128, m as u128);
        if k >= 0 {
            k.unsigned_abs() <= m.leading_zeros() && p == m << k
        } else {
            k.unsigned_abs() <= p.leading_zeros() && p << -k == m
        }
    }

    /// TwoSum (Knuth): the rounding error of `x + y`, exactly, when no step
    /// overflows (the callers bound the operands).
    fn two_sum_err32(x: f32, y: f32, s: f32) -> bool {
        let bb = s - x;
        (x - (s - bb)) + (y - bb) != 0.0
    }
    fn two_sum_err64(x: f64, y: f64, s: f64) -> bool {
        let bb = s - x;
        (x - (s - bb)) + (y - bb) != 0.0
    }

    pub fn f32_add(a: u32, b: u32) -> Option<(u32, bool)> {
        let (x, y) = (f32::from_bits(a), f32::from_bits(b));
        let bound = f32::from_bits(253 << 23); // 2^126: keeps TwoSum's steps finite
        if !(x.abs() < bound && y.abs() < bound) {
            return None;
        }
        let s = x + y;
        normal32(s).then(|| (s.to_bits(), two_sum_err32(x, y, s)))
    }

    pub fn f64_add(a: u64, b: u64) -> Option<(u64, bool)> {
        let (x, y) = (f64::from_bits(a), f64::from_bits(b));
        let bound = f64::from_bits(2045 << 52); // 2^1022
        if !(x.abs() < bound && y.abs() < bound) {
            return None;
        }
        let s = x + y;
        normal64(s).then(|| (s.to_bits(), two_sum_err64(x, y, s)))
    }

    pub fn f32_mul(a: u32, b: u32) -> Option<(u32, bool)> {
        // The product of two 24-bit significands is exact in f64, so the
        // conversion is the only rounding.
        let p = widen(a) * widen(b);
        let r = p as f32;
        normal32(r).then(|| (r.to_bits(), f64::from(r) != p))
    }

    pub fn f64_mul(a: u64, b: u64) -> Option<(u64, bool)> {
        let r = f64::from_bits(a) * f64::from_bits(b);
        if !normal64(r) {
            return None;
        }
        // Exact iff the significands' product spans at most 53 bits.
        let p = parts64(a).0 as u128 * parts64(b).0 as u128;
        let span = 128 - p.leading_zeros() - p.trailing_zeros();
        Some((r.to_bits(), span > 53))
    }

    pub fn f32_div(a: u32, b: u32) -> Option<(u32, bool)> {
        let r = f32::from_bits(a) / f32::from_bits(b);
        // Exact iff r * b == a; that product is exact in f64.
        normal32(r).then(|| (r.to_bits(), f64::from(r) * widen(b) != widen(a)))
    }

    pub fn f64_div(a: u64, b: u64) -> Option<(u64, bool)> {
        let r = f64::from_bits(a) / f64::from_bits(b);
        if !normal64(r) {
            return None;
        }
        // Exact iff r * b == a: with integer significands m and biased
        // exponents e (value m * 2^(e - 1075)), iff mr * mb == ma * 2^k.
        let ((ma, ea), (mb, eb), (mr, er)) = (parts64(a), parts64(b), parts64(r.to_bits()));
        let exact = product_is_shifted(mr, mb, ma, ea - er - eb + 1075);
        Some((r.to_bits(), !exact))
    }

    pub fn f32_sqrt(a: u32) -> Option<(u32, bool)> {
        let x = f32::from_bits(a);
        // Positive finite (subnormals included): the root is normal.
        if !(x > 0.0 && x <= f32::MAX && ENABLED) {
            return None;
        }
        let r = x.sqrt();
        Some((r.to_bits(), f64::from(r) * f64::from(r) != widen(a)))
    }

    pub fn f64_sqrt(a: u64) -> Option<(u64, bool)> {
        let x = f64::from_bits(a);
        if !(x > 0.0 && x <= f64::MAX && ENABLED) {
            return None;
        }
        let r = x.sqrt();
        // Exact iff r * r == a, i.e. mr^2 == ma * 2^(ea - 2 er + 1075).
        let ((ma, ea), (mr, er)) = (parts64(a), parts64(r.to_bits()));
        let exact = product_is_shifted(mr, mr, ma, ea - 2 * er + 1075);
        Some((r.to_bits(), !exact))
    }

    pub fn f32_fma(a: u32, b: u32, c: u32) -> Option<(u32, bool)> {
        // a * b is exact in f64; s = a * b + c rounds once there, with
        // TwoSum's error e. Rounding s to f32 is a second rounding, which
        // agrees with rounding the exact sum unless s sits exactly on a
        // midpoint between f32 neighbours while e != 0: then the software
        // core decides.
        let (p, z) = (widen(a) * widen(b), widen(c));
        let s = p + z;
        let r = s as f32;
        // A finite r means finite operands; |p| <= 2^256 then keeps TwoSum finite.
        if !normal32(r) {
            return None;
        }
        let e = two_sum_err64(p, z, s);
        let midpoint = s.to_bits() & 0x1fff_ffff == 0x1000_0000;
        if e && midpoint {
            return None;
        }
        Some((r.to_bits(), e || f64::from(r) != s))
    }

    /// With `exactness` false the inexact bit returned is meaningless.
    pub fn f64_fma(a: u64, b: u64, c: u64, exactness: bool) -> Option<(u64, bool)> {
        // The host's fma rounds once, like RISC-V's. A normal r means every
        // operand was finite. Exactness is decided in integers: with
        // significands m and exponents e (value m * 2^(e - 1075)), the sum
        // ma*mb * 2^(ea+eb-1075) + mc * 2^ec - mr * 2^er is zero iff r is
        // exact. When the terms are too far apart for an i128, the software
        // core decides.
        let r = f64::from_bits(a).mul_add(f64::from_bits(b), f64::from_bits(c));
        if !normal64(r) || (a << 1) == 0 || (b << 1) == 0 {
            return None;
        }
        if !exactness {
            return Some((r.to_bits(), false));
        }
        let ((ma, ea), (mb, eb), (mc, ec), (mr, er)) =
            (parts64(a), parts64(b), parts64(c), parts64(r.to_bits()));
        let negative = |x: u64| x >> 63 == 1;
        let mut terms = [
            (
                negative(a) != negative(b),
                ma as u128 * mb as u128,
                ea + eb - 1075,
            ),
            (negative(c), mc as u128, ec),
            (!negative(r.to_bits()), mr as u128, er),
        ];
        if mc == 0 {
            terms[1].2 = i32::MAX; // a zero addend does not set the scale
        }
        let low = terms.iter().map(|t| t.2).min().unwrap_or(0);
        let mut sum = 0i128;
        for (neg, m, e) in terms {
            if m == 0 {
                continue;
            }
            let shift = (e - low) as u32;
            if shift + (128 - m.leading_zeros()) > 125 {
                return None;
            }
            let v = (m << shift) as i128;
            sum += if neg { -v } else { v };
        }
        Some((r.to_bits(), sum != 0))
    }

    pub fn f32_to_f64(a: u32) -> Option<(u64, bool)> {
        let x = widen(a);
        (!x.is_nan() && ENABLED).then(|| (x.to_bits(), false))
    }

    pub fn f64_to_f32(a: u64) -> Option<(u32, bool)> {
        let x = f64::from_bits(a);
        let r = x as f32;
        normal32(r).then(|| (r.to_bits(), f64::from(r) != x))
    }

    /// Rounds toward zero to an integer of `bits` bits if the result is in
    /// range; the result is zero-extended two's complement.
    pub fn trunc(x: f64, signed: bool, bits: u32) -> Option<(u64, bool)> {
        let limit = f64::from_bits((1023 + bits - signed as u32) as u64 * (1 << 52));
        // Strictly inside (low, limit): the truncation is in range. (For 64
        // bits, -2^63 - 1 rounds to -2^63, which just sends -2^63 to the
        // software core.) NaN fails both comparisons.
        let low = if signed { -limit - 1.0 } else { -1.0 };
        if !(x > low && x < limit && ENABLED) {
            return None;
        }
        // The truncation of an f64 is an f64, so converting back is exact.
        let (t, back) = if signed {
            let t = x as i64;
            (t as u64, t as f64)
        } else {
            let t = x as u64; // (-1, 0) saturates to 0, as wanted
            (t, t as f64)
        };
        Some((t & (u64::MAX >> (64 - bits)), back != x))
    }

    /// `r` is the host's (RNE) conversion of `v`; exact iff it converts back.
    pub fn from_int<F: Into<f64> + Copy, T: FromHost<F>>(v: i128, r: F) -> Option<(T, bool)> {
        ENABLED.then(|| (T::bits(r), r.into() as i128 != v))
    }

    /// The bits of a host float as the width the caller returns.
    pub trait FromHost<F> {
        fn bits(r: F) -> Self;
    }
    impl FromHost<f32> for u32 {
        fn bits(r: f32) -> u32 {
            r.to_bits()
        }
    }
    impl FromHost<f64> for u64 {
        fn bits(r: f64) -> u64 {
            r.to_bits()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::Rng;
    use Rounding::*;

    const MODES: [Rounding; 5] = [NearestEven, TowardZero, Down, Up, NearestMaxMagnitude];

    const ONE: u32 = 0x3f80_0000;
    const NEG: u32 = 0x8000_0000;
    const MAX32: u32 = 0x7f7f_ffff;
    const INF32: u32 = 0x7f80_0000;
    const QNAN32: u32 = 0x7fc0_0000;
    const SNAN32: u32 = 0x7f80_0001;
    const MIN_NORMAL32: u32 = 0x0080_0000;
    const NAN64: u64 = 0x7ff8_0000_0000_0000;
    const SNAN64: u64 = 0x7ff0_0000_0000_0001;
    const INF64: u64 = 0x7ff0_0000_0000_0000;
    const M32: u64 = 0xffff_ffff;

    fn f(x: f32) -> u32 {
        x.to_bits()
    }
    fn d(x: f64) -> u64 {
        x.to_bits()
    }

    /// Runs `op` and returns (result, flags) from zeroed flags.
    fn run<T>(op: impl FnOnce(&mut u32) -> T) -> (T, u32) {
        let mut fl = 0;
        let r = op(&mut fl);
        (r, fl)
    }

    #[test]
    fn fma_with_inexact_already_accrued_gives_the_same_bits_and_flags() {
        let mut rng = Rng::new(0xf3a);
        for _ in 0..100_000 {
            // Mostly ordinary operands, so the host path is taken.
            let mut operand = || {
                let x = rng.next();
                match rng.below(4) {
                    0 => x,
                    _ => (x & 0x800f_ffff_ffff_ffff) | (0x3c0 + rng.below(0x80)) << 52,
                }
            };
            let (a, b, c) = (operand(), operand(), operand());
            for rm in MODES {
                let (r, fl) = run(|fl| f64_fma(a, b, c, rm, fl));
                let mut accrued = NX;
                let r2 = f64_fma(a, b, c, rm, &mut accrued);
                assert_eq!((r2, accrued), (r, fl | NX), "{a:#x} {b:#x} {c:#x} {rm:?}");
            }
        }
    }

    #[test]
    fn ties_in_every_mode() {
        // 1 + 2^-24 lies exactly halfway between 1 and 1 + 2^-23 (even below).
        let half_ulp = f(2f32.powi(-24));
        let expect = [ONE, ONE, ONE, ONE + 1, ONE + 1];
        for (rm, want) in MODES.into_iter().zip(expect) {
            assert_eq!(
                run(|fl| f32_add(ONE, half_ulp, rm, fl)),
                (want, NX),
                "{rm:?}"
            );
            // The negated sum mirrors it, swapping the directed modes.
            let neg = run(|fl| f32_add(ONE | NEG, half_ulp | NEG, rm, fl));
            let want_neg = match rm {
                Down => ONE + 1,
                Up => ONE,
                _ => want,
            };
            assert_eq!(neg, (want_neg | NEG, NX), "{rm:?}");
        }
        // From an odd significand, ties to even go up, RMM too, RTZ stays.
        let odd = ONE + 1;
        assert_eq!(
            run(|fl| f32_add(odd, half_ulp, NearestEven, fl)),
            (ONE + 2, NX)
        );
        assert_eq!(
            run(|fl| f32_add(odd, half_ulp, NearestMaxMagnitude, fl)),
            (ONE + 2, NX)
        );
        assert_eq!(run(|fl| f32_add(odd, half_ulp, TowardZero, fl)), (odd, NX));
        // Binary64: 1 + 2^-53.
        let one = d(1.0);
        for (rm, up) in MODES.into_iter().zip([false, false, false, true, true]) {
            let r = run(|fl| f64_add(one, d(2f64.powi(-53)), rm, fl));
            assert_eq!(r, (one + up as u64, NX), "{rm:?}");
        }
        // Just above and below a tie.
        let above = f(2f32.powi(-24) + 2f32.powi(-40));
        assert_eq!(
            run(|fl| f32_add(ONE, above, NearestEven, fl)),
            (ONE + 1, NX)
        );
        let below = f(2f32.powi(-24) - 2f32.powi(-40));
        assert_eq!(
            run(|fl| f32_add(ONE, below, NearestMaxMagnitude, fl)),
            (ONE, NX)
        );
    }

    #[test]
    fn overflow_depends_on_mode_and_sign() {
        // (positive, negative) results of MAX * 2 per mode.
        let expect = [
            (INF32, INF32 | NEG),
            (MAX32, MAX32 | NEG),
            (MAX32, INF32 | NEG),
            (INF32, MAX32 | NEG),
            (INF32, INF32 | NEG),
        ];
        for (rm, (pos, neg)) in MODES.into_iter().zip(expect) {
            let two = f(2.0);
            assert_eq!(run(|fl| f32_mul(MAX32, two, rm, fl)), (pos, OF | NX));
            assert_eq!(run(|fl| f32_mul(MAX32 | NEG, two, rm, fl)), (neg, OF | NX));
        }
        // MAX + half an ulp: to nearest it rounds to 2^128 and overflows;
        // toward zero it rounds to MAX, which is no overflow at all.
        let max_plus_half = f64::from(f32::MAX) + 2f64.powi(103);
        assert_eq!(
            run(|fl| f64_to_f32(d(max_plus_half), NearestEven, fl)),
            (INF32, OF | NX)
        );
        assert_eq!(
            run(|fl| f64_to_f32(d(max_plus_half), TowardZero, fl)),
            (MAX32, NX)
        );
        let just_over = f64::from(f32::MAX) + 2f64.powi(102);
        assert_eq!(
            run(|fl| f64_to_f32(d(just_over), NearestEven, fl)),
            (MAX32, NX)
        );
        assert_eq!(run(|fl| f64_to_f32(d(just_over), Up, fl)), (INF32, OF | NX));
        // An exact infinity is not an overflow.
        assert_eq!(run(|fl| f32_add(INF32, ONE, NearestEven, fl)), (INF32, 0));
        let big = d(f64::MAX);
        assert_eq!(
            run(|fl| f64_add(big, big, NearestEven, fl)),
            (INF64, OF | NX)
        );
        assert_eq!(run(|fl| f64_add(big, big, Down, fl)), (big, OF | NX));
    }

    #[test]
    fn underflow_is_detected_after_rounding() {
        // 2^-126 * (1 - 2^-24): halfway between the largest subnormal and the
        // smallest normal. It rounds to 2^-126, but with an unbounded exponent
        // it is exact at 24 bits and stays below 2^-126: tiny, so UF.
        let almost_one = 0x3f7f_ffff; // 1 - 2^-24
        assert_eq!(
            run(|fl| f32_mul(MIN_NORMAL32, almost_one, NearestEven, fl)),
            (MIN_NORMAL32, UF | NX)
        );
        assert_eq!(
            run(|fl| f32_mul(MIN_NORMAL32, almost_one, TowardZero, fl)),
            (MIN_NORMAL32 - 1, UF | NX)
        );
        // 2^-126 * (1 - 2^-25) rounds to 2^-126 even with an unbounded
        // exponent: not tiny, so only NX.
        let x = d(2f64.powi(-126) * (1.0 - 2f64.powi(-25)));
        assert_eq!(run(|fl| f64_to_f32(x, NearestEven, fl)), (MIN_NORMAL32, NX));
        assert_eq!(run(|fl| f64_to_f32(x, Up, fl)), (MIN_NORMAL32, NX));
        assert_eq!(
            run(|fl| f64_to_f32(x, Down, fl)),
            (MIN_NORMAL32 - 1, UF | NX)
        );
        // Exact subnormal results raise nothing.
        assert_eq!(run(|fl| f32_add(1, 1, NearestEven, fl)), (2, 0));
        assert_eq!(run(|fl| f32_mul(2, f(0.5), NearestEven, fl)), (1, 0));
        assert_eq!(
            run(|fl| f32_sub(MIN_NORMAL32, 1, NearestEven, fl)),
            (MIN_NORMAL32 - 1, 0)
        );
        // Half the smallest subnormal: a tie between 0 and it.
        let half = f(0.5);
        let expect = [0, 0, 0, 1, 1];
        for (rm, want) in MODES.into_iter().zip(expect) {
            assert_eq!(
                run(|fl| f32_mul(1, half, rm, fl)),
                (want, UF | NX),
                "{rm:?}"
            );
            let neg = run(|fl| f32_mul(1 | NEG, half, rm, fl));
            let want_neg = match rm {
                Down | NearestMaxMagnitude => 1,
                _ => 0,
            };
            assert_eq!(neg, (want_neg | NEG, UF | NX), "{rm:?}");
        }
        // Binary64 subnormal arithmetic.
        let tiny = 1u64; // 2^-1074
        assert_eq!(
            run(|fl| f64_div(tiny, d(2.0), NearestEven, fl)),
            (0, UF | NX)
        );
        assert_eq!(run(|fl| f64_div(3, d(2.0), NearestEven, fl)), (2, UF | NX));
        assert_eq!(
            run(|fl| f64_div(3, d(2.0), NearestMaxMagnitude, fl)),
            (2, UF | NX)
        );
        assert_eq!(run(|fl| f64_div(5, d(2.0), NearestEven, fl)), (2, UF | NX));
        assert_eq!(
            run(|fl| f64_div(5, d(2.0), NearestMaxMagnitude, fl)),
            (3, UF | NX)
        );
        assert_eq!(
            run(|fl| f64_sqrt(4, NearestEven, fl)),
            (d(2f64.powi(-536)), 0)
        );
    }

    #[test]
    fn nans_are_canonical_and_signalling_ones_invalid() {
        let payload = 0x7fc1_2345;
        assert_eq!(
            run(|fl| f32_add(payload, ONE, NearestEven, fl)),
            (QNAN32, 0)
        );
        assert_eq!(
            run(|fl| f32_mul(ONE, SNAN32, NearestEven, fl)),
            (QNAN32, NV)
        );
        assert_eq!(
            run(|fl| f32_sqrt(SNAN32 | NEG, NearestEven, fl)),
            (QNAN32, NV)
        );
        assert_eq!(
            run(|fl| f32_div(payload | NEG, payload, NearestEven, fl)),
            (QNAN32, 0)
        );
        assert_eq!(
            run(|fl| f64_sub(SNAN64, NAN64 | 5, NearestEven, fl)),
            (NAN64, NV)
        );
        assert_eq!(
            run(|fl| f64_fma(d(1.0), d(1.0), SNAN64, NearestEven, fl)),
            (NAN64, NV)
        );
        // Invalid operations.
        assert_eq!(
            run(|fl| f32_add(INF32, INF32 | NEG, NearestEven, fl)),
            (QNAN32, NV)
        );
        assert_eq!(
            run(|fl| f32_sub(INF32, INF32, NearestEven, fl)),
            (QNAN32, NV)
        );
        assert_eq!(run(|fl| f32_mul(INF32, 0, NearestEven, fl)), (QNAN32, NV));
        assert_eq!(run(|fl| f32_div(0, NEG, NearestEven, fl)), (QNAN32, NV));
        assert_eq!(
            run(|fl| f32_div(INF32, INF32, NearestEven, fl)),
            (QNAN32, NV)
        );
        // fma: inf * 0 is invalid even when the addend is a quiet NaN.
        assert_eq!(
            run(|fl| f32_fma(INF32, 0, QNAN32, NearestEven, fl)),
            (QNAN32, NV)
        );
        assert_eq!(
            run(|fl| f64_fma(0, INF64 | 1 << 63, NAN64, NearestEven, fl)),
            (NAN64, NV)
        );
        assert_eq!(
            run(|fl| f32_fma(QNAN32, 0, ONE, NearestEven, fl)),
            (QNAN32, 0)
        );
        assert_eq!(
            run(|fl| f32_fma(INF32, ONE, INF32 | NEG, NearestEven, fl)),
            (QNAN32, NV)
        );
        assert_eq!(
            run(|fl| f32_fma(INF32, ONE, INF32, NearestEven, fl)),
            (INF32, 0)
        );
    }

    #[test]
    fn division_by_zero_and_square_roots() {
        assert_eq!(run(|fl| f32_div(ONE, 0, NearestEven, fl)), (INF32, DZ));
        assert_eq!(
            run(|fl| f32_div(ONE | NEG, 0, NearestEven, fl)),
            (INF32 | NEG, DZ)
        );
        assert_eq!(
            run(|fl| f32_div(ONE, NEG, NearestEven, fl)),
            (INF32 | NEG, DZ)
        );
        assert_eq!(run(|fl| f64_div(d(1.0), d(0.0), Down, fl)), (INF64, DZ));
        assert_eq!(run(|fl| f32_div(INF32, 0, NearestEven, fl)), (INF32, 0));
        assert_eq!(
            run(|fl| f32_div(ONE, f(3.0), NearestEven, fl)),
            (f(1.0 / 3.0), NX)
        );
        assert_eq!(
            run(|fl| f64_div(d(1.0), d(3.0), Up, fl)),
            (d(1.0 / 3.0) + 1, NX)
        );

        assert_eq!(run(|fl| f32_sqrt(NEG, NearestEven, fl)), (NEG, 0));
        assert_eq!(run(|fl| f32_sqrt(0, NearestEven, fl)), (0, 0));
        assert_eq!(run(|fl| f32_sqrt(ONE | NEG, NearestEven, fl)), (QNAN32, NV));
        assert_eq!(run(|fl| f32_sqrt(1 | NEG, NearestEven, fl)), (QNAN32, NV));
        assert_eq!(
            run(|fl| f32_sqrt(INF32 | NEG, NearestEven, fl)),
            (QNAN32, NV)
        );
        assert_eq!(run(|fl| f32_sqrt(INF32, NearestEven, fl)), (INF32, 0));
        assert_eq!(run(|fl| f32_sqrt(f(4.0), NearestEven, fl)), (f(2.0), 0));
        assert_eq!(
            run(|fl| f32_sqrt(f(2.0), NearestEven, fl)),
            (f(2f32.sqrt()), NX)
        );
        assert_eq!(
            run(|fl| f64_sqrt(d(2.0), NearestEven, fl)),
            (d(2f64.sqrt()), NX)
        );
        // sqrt(2) to nearest happens to round up.
        let sqrt2 = d(2f64.sqrt());
        assert_eq!(run(|fl| f64_sqrt(d(2.0), Up, fl)), (sqrt2, NX));
        assert_eq!(run(|fl| f64_sqrt(d(2.0), Down, fl)), (sqrt2 - 1, NX));
        assert_eq!(
            run(|fl| f32_sqrt(1, NearestEven, fl)),
            (f(2f32.powi(-149).sqrt()), NX)
        );
    }

    #[test]
    fn exact_zeros_take_their_sign_from_the_mode() {
        for rm in MODES {
            let zero = if rm == Down { NEG } else { 0 };
            assert_eq!(
                run(|fl| f32_add(ONE, ONE | NEG, rm, fl)),
                (zero, 0),
                "{rm:?}"
            );
            assert_eq!(run(|fl| f32_sub(ONE, ONE, rm, fl)), (zero, 0), "{rm:?}");
            assert_eq!(run(|fl| f32_add(0, NEG, rm, fl)), (zero, 0), "{rm:?}");
            assert_eq!(run(|fl| f32_add(NEG, NEG, rm, fl)), (NEG, 0), "{rm:?}");
            assert_eq!(run(|fl| f32_sub(NEG, 0, rm, fl)), (NEG, 0), "{rm:?}");
            // fma: exact cancellation of product and addend, and 0*x + 0.
            assert_eq!(
                run(|fl| f32_fma(f(2.0), f(3.0), f(-6.0), rm, fl)),
                (zero, 0),
                "{rm:?}"
            );
            assert_eq!(run(|fl| f32_fma(NEG, ONE, 0, rm, fl)), (zero, 0), "{rm:?}");
            assert_eq!(run(|fl| f32_fma(NEG, ONE, NEG, rm, fl)), (NEG, 0), "{rm:?}");
            let z64 = if rm == Down { 1 << 63 } else { 0 };
            assert_eq!(
                run(|fl| f64_sub(d(1.5), d(1.5), rm, fl)),
                (z64, 0),
                "{rm:?}"
            );
        }
        // Products too small to be anything but zero keep their sign.
        assert_eq!(
            run(|fl| f32_fma(1, 1 | NEG, 0, NearestEven, fl)),
            (NEG, UF | NX)
        );
        assert_eq!(
            run(|fl| f32_fma(1, 1 | NEG, 0, Down, fl)),
            (1 | NEG, UF | NX)
        );
    }

    #[test]
    fn fma_rounds_once() {
        // (1 + 2^-23)(1 - 2^-23) - 1 = -2^-46 exactly; rounding the product
        // first would give 1.0 and then 0.
        let (a, b) = (ONE + 1, 0x3f7f_fffe);
        assert_eq!(
            run(|fl| f32_fma(a, b, ONE | NEG, NearestEven, fl)),
            (f(-(2f32.powi(-46))), 0)
        );
        let (mut fl, mut fl2) = (0, 0);
        let p = f32_mul(a, b, NearestEven, &mut fl);
        assert_eq!(f32_add(p, ONE | NEG, NearestEven, &mut fl2), 0);
        let one = d(1.0);
        assert_eq!(
            run(|fl| f64_fma(one + 1, one - 2, d(-1.0), NearestEven, fl)),
            (d(-(2f64.powi(-104))), 0)
        );
        // A product just above a tie: rounded alone it ties to even (down),
        // fused with a tiny addend it must round up.
        // (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24; + 2^-40 pushes it past the tie.
        let x = f(1.0 + 2f32.powi(-12));
        let r = run(|fl| f32_fma(x, x, f(2f32.powi(-40)), NearestEven, fl));
        assert_eq!(r, (f(1.0 + 2f32.powi(-11)) + 1, NX));
        let r = run(|fl| f32_fma(x, x, 0, NearestEven, fl));
        assert_eq!(r, (f(1.0 + 2f32.powi(-11)), NX));
        // Agrees with the host's fused multiply-add on a few values.
        for (a, b, c) in [
            (0.1, 0.2, -0.02),
            (1e308, 2.0, -1.5e308),
            (3.0, 1.0 / 3.0, -1.0),
        ] {
            let want = f64::mul_add(a, b, c);
            let mut fl = 0;
            assert_eq!(
                f64_fma(d(a), d(b), d(c), NearestEven, &mut fl),
                d(want),
                "{a} {b} {c}"
            );
        }
    }

    #[test]
    fn min_max_order_zeros_and_skip_quiet_nans() {
        let mut fl = 0;
        assert_eq!(f32_min(0, NEG, &mut fl), NEG);
        assert_eq!(f32_min(NEG, 0, &mut fl), NEG);
        assert_eq!(f32_max(0, NEG, &mut fl), 0);
        assert_eq!(f32_max(NEG, 0, &mut fl), 0);
        assert_eq!(f64_min(0, 1 << 63, &mut fl), 1 << 63);
        assert_eq!(f64_max(1 << 63, 0, &mut fl), 0);
        assert_eq!(f32_min(f(-2.0), f(1.0), &mut fl), f(-2.0));
        assert_eq!(f32_max(f(-2.0), f(-3.0), &mut fl), f(-2.0));
        assert_eq!(f32_min(INF32 | NEG, MAX32 | NEG, &mut fl), INF32 | NEG);
        assert_eq!(fl, 0);
        // One NaN: the other operand; two: the canonical NaN.
        assert_eq!(run(|fl| f32_min(0x7fc0_1234, ONE, fl)), (ONE, 0));
        assert_eq!(run(|fl| f32_max(ONE, 0xffc0_0000, fl)), (ONE, 0));
        assert_eq!(run(|fl| f32_min(SNAN32, ONE, fl)), (ONE, NV));
        assert_eq!(run(|fl| f32_max(0xffc0_0001, 0x7fc0_0002, fl)), (QNAN32, 0));
        assert_eq!(run(|fl| f64_max(SNAN64, NAN64, fl)), (NAN64, NV));
        assert_eq!(run(|fl| f64_min(d(1.0), SNAN64, fl)), (d(1.0), NV));
    }

    #[test]
    fn comparisons() {
        let mut fl = 0;
        assert!(f32_eq(0, NEG, &mut fl));
        assert!(!f32_lt(NEG, 0, &mut fl));
        assert!(f32_le(0, NEG, &mut fl));
        assert!(f32_lt(f(-1.0), f(-0.5), &mut fl));
        assert!(!f32_lt(f(-0.5), f(-1.0), &mut fl));
        assert!(f32_le(INF32 | NEG, 1, &mut fl));
        assert!(f64_lt(d(1.0), d(1.0) + 1, &mut fl));
        assert!(!f64_eq(d(1.0), d(1.0) + 1, &mut fl));
        assert_eq!(fl, 0);
        // feq is quiet; flt and fle signal on any NaN.
        assert_eq!(run(|fl| f32_eq(QNAN32, QNAN32, fl)), (false, 0));
        assert_eq!(run(|fl| f32_eq(SNAN32, ONE, fl)), (false, NV));
        assert_eq!(run(|fl| f32_lt(QNAN32, ONE, fl)), (false, NV));
        assert_eq!(run(|fl| f32_le(ONE, QNAN32, fl)), (false, NV));
        assert_eq!(run(|fl| f64_eq(NAN64, NAN64, fl)), (false, 0));
        assert_eq!(run(|fl| f64_le(NAN64, d(1.0), fl)), (false, NV));
        assert_eq!(run(|fl| f64_lt(SNAN64, d(1.0), fl)), (false, NV));
    }

    #[test]
    fn classes() {
        let cases32 = [
            (INF32 | NEG, 0),
            (ONE | NEG, 1),
            (1 | NEG, 2),
            (NEG, 3),
            (0, 4),
            (0x007f_ffff, 5),
            (MIN_NORMAL32, 6),
            (MAX32, 6),
            (INF32, 7),
            (SNAN32, 8),
            (0xff80_0001, 8),
            (QNAN32, 9),
            (0xffc0_0001, 9),
        ];
        for (x, bit) in cases32 {
            assert_eq!(f32_class(x), 1 << bit, "{x:#x}");
        }
        let cases64 = [
            (INF64 | 1 << 63, 0),
            (d(-1.0), 1),
            (1 | 1 << 63, 2),
            (1 << 63, 3),
            (0, 4),
        ];
        let cases64b = [(1, 5), (d(1.0), 6), (INF64, 7), (SNAN64, 8), (NAN64, 9)];
        for (x, bit) in cases64.into_iter().chain(cases64b) {
            assert_eq!(f64_class(x), 1 << bit, "{x:#x}");
        }
    }

    #[test]
    fn float_to_int_saturates() {
        let rm = TowardZero;
        assert_eq!(run(|fl| f32_to_i32(QNAN32, rm, fl)), (i32::MAX, NV));
        assert_eq!(run(|fl| f32_to_i32(QNAN32 | NEG, rm, fl)), (i32::MAX, NV));
        assert_eq!(run(|fl| f32_to_u32(QNAN32, rm, fl)), (u32::MAX, NV));
        assert_eq!(run(|fl| f64_to_i64(NAN64, rm, fl)), (i64::MAX, NV));
        assert_eq!(run(|fl| f64_to_u64(SNAN64, rm, fl)), (u64::MAX, NV));
        assert_eq!(run(|fl| f32_to_i32(INF32, rm, fl)), (i32::MAX, NV));
        assert_eq!(run(|fl| f32_to_i32(INF32 | NEG, rm, fl)), (i32::MIN, NV));
        assert_eq!(run(|fl| f32_to_u64(INF32 | NEG, rm, fl)), (0, NV));
        assert_eq!(run(|fl| f32_to_u64(INF32, rm, fl)), (u64::MAX, NV));
        // The limits themselves.
        assert_eq!(
            run(|fl| f32_to_i32(f(2f32.powi(31)), rm, fl)),
            (i32::MAX, NV)
        );
        assert_eq!(
            run(|fl| f32_to_i32(f(-(2f32.powi(31))), rm, fl)),
            (i32::MIN, 0)
        );
        assert_eq!(
            run(|fl| f64_to_i32(d(-2147483649.0), rm, fl)),
            (i32::MIN, NV)
        );
        assert_eq!(
            run(|fl| f64_to_i32(d(-2147483648.9), rm, fl)),
            (i32::MIN, NX)
        );
        assert_eq!(
            run(|fl| f64_to_i32(d(2147483647.5), rm, fl)),
            (i32::MAX, NX)
        );
        assert_eq!(
            run(|fl| f64_to_i32(d(2147483647.5), NearestEven, fl)),
            (i32::MAX, NV)
        );
        assert_eq!(
            run(|fl| f64_to_i64(d(2f64.powi(63)), rm, fl)),
            (i64::MAX, NV)
        );
        assert_eq!(
            run(|fl| f64_to_i64(d(-(2f64.powi(63))), rm, fl)),
            (i64::MIN, 0)
        );
        assert_eq!(
            run(|fl| f64_to_u64(d(2f64.powi(64)), rm, fl)),
            (u64::MAX, NV)
        );
        assert_eq!(
            run(|fl| f64_to_u64(d(2f64.powi(64)) - 1, rm, fl)),
            (u64::MAX - 2047, 0)
        );
        assert_eq!(
            run(|fl| f64_to_u32(d(4294967295.5), Up, fl)),
            (u32::MAX, NV)
        );
        assert_eq!(
            run(|fl| f64_to_u32(d(4294967295.5), Down, fl)),
            (u32::MAX, NX)
        );
        assert_eq!(run(|fl| f64_to_u64(d(1e300), rm, fl)), (u64::MAX, NV));
        assert_eq!(run(|fl| f64_to_i64(d(-1e300), rm, fl)), (i64::MIN, NV));
        // Negative values for unsigned results: invalid unless they round to 0.
        assert_eq!(run(|fl| f32_to_u32(ONE | NEG, rm, fl)), (0, NV));
        assert_eq!(run(|fl| f64_to_u64(d(-1.0), rm, fl)), (0, NV));
        assert_eq!(run(|fl| f32_to_u32(NEG, rm, fl)), (0, 0));
        let minus_half = d(-0.5);
        let expect = [(0, NX), (0, NX), (0, NV), (0, NX), (0, NV)];
        for (rm, want) in MODES.into_iter().zip(expect) {
            assert_eq!(run(|fl| f64_to_u32(minus_half, rm, fl)), want, "{rm:?}");
            assert_eq!(
                run(|fl| f32_to_u64(f(-0.5), rm, fl)),
                (want.0.into(), want.1),
                "{rm:?}"
            );
        }
        assert_eq!(run(|fl| f32_to_u32(f(-0.3), TowardZero, fl)), (0, NX));
        // Rounding to integers in every mode.
        let cases = [
            (2.5, [2, 2, 2, 3, 3]),
            (-2.5, [-2, -2, -3, -2, -3]),
            (3.5, [4, 3, 3, 4, 4]),
            (-0.7, [-1, 0, -1, 0, -1]),
            (0.2, [0, 0, 0, 1, 0]),
        ];
        for (x, want) in cases {
            for (rm, w) in MODES.into_iter().zip(want) {
                assert_eq!(
                    run(|fl| f32_to_i32(f(x as f32), rm, fl)),
                    (w, NX),
                    "{x} {rm:?}"
                );
                assert_eq!(
                    run(|fl| f64_to_i64(d(x), rm, fl)),
                    (w as i64, NX),
                    "{x} {rm:?}"
                );
            }
        }
        assert_eq!(
            run(|fl| f64_to_i64(d(-123456789.0), Up, fl)),
            (-123456789, 0)
        );
        assert_eq!(run(|fl| f32_to_u64(1, Up, fl)), (1, NX));
    }

    #[test]
    fn int_to_float_rounds() {
        assert_eq!(run(|fl| i32_to_f32(0, Down, fl)), (0, 0));
        assert_eq!(run(|fl| i64_to_f64(0, Down, fl)), (0, 0));
        assert_eq!(run(|fl| i32_to_f32(-1, NearestEven, fl)), (ONE | NEG, 0));
        // 2^24 + 1 is a tie between 2^24 and 2^24 + 2.
        let p24 = f(16777216.0);
        for (rm, want) in MODES.into_iter().zip([p24, p24, p24, p24 + 1, p24 + 1]) {
            assert_eq!(run(|fl| i32_to_f32(16777217, rm, fl)), (want, NX), "{rm:?}");
        }
        assert_eq!(
            run(|fl| i32_to_f32(-16777217, Down, fl)),
            ((p24 + 1) | NEG, NX)
        );
        assert_eq!(
            run(|fl| i32_to_f32(i32::MIN, NearestEven, fl)),
            (f(-(2f32.powi(31))), 0)
        );
        assert_eq!(
            run(|fl| u64_to_f32(u64::MAX, NearestEven, fl)),
            (f(2f32.powi(64)), NX)
        );
        assert_eq!(
            run(|fl| u64_to_f32(u64::MAX, TowardZero, fl)),
            (f(2f32.powi(64)) - 1, NX)
        );
        assert_eq!(
            run(|fl| u64_to_f64(u64::MAX, NearestEven, fl)),
            (d(2f64.powi(64)), NX)
        );
        assert_eq!(
            run(|fl| i64_to_f64(i64::MIN, Up, fl)),
            (d(-(2f64.powi(63))), 0)
        );
        assert_eq!(
            run(|fl| i64_to_f64(i64::MAX, TowardZero, fl)),
            (d(2f64.powi(63)) - 1, NX)
        );
        assert_eq!(
            run(|fl| u32_to_f64(u32::MAX, NearestEven, fl)),
            (d(4294967295.0), 0)
        );
        assert_eq!(
            run(|fl| i32_to_f64(i32::MIN, NearestEven, fl)),
            (d(-2147483648.0), 0)
        );
        assert_eq!(
            run(|fl| u32_to_f32(u32::MAX, NearestEven, fl)),
            (f(2f32.powi(32)), NX)
        );
        assert_eq!(run(|fl| i64_to_f32(-3, NearestEven, fl)), (f(-3.0), 0));
    }

    #[test]
    fn format_conversions() {
        assert_eq!(run(|fl| f32_to_f64(SNAN32, fl)), (NAN64, NV));
        assert_eq!(run(|fl| f32_to_f64(0xffc1_2345, fl)), (NAN64, 0));
        assert_eq!(run(|fl| f32_to_f64(1, fl)), (d(2f64.powi(-149)), 0));
        assert_eq!(run(|fl| f32_to_f64(INF32 | NEG, fl)), (INF64 | 1 << 63, 0));
        assert_eq!(run(|fl| f32_to_f64(NEG, fl)), (1 << 63, 0));
        assert_eq!(run(|fl| f32_to_f64(f(0.1), fl)), (d(0.1f32 as f64), 0));
        assert_eq!(run(|fl| f64_to_f32(SNAN64, NearestEven, fl)), (QNAN32, NV));
        assert_eq!(
            run(|fl| f64_to_f32(NAN64 | 1, NearestEven, fl)),
            (QNAN32, 0)
        );
        assert_eq!(run(|fl| f64_to_f32(d(0.1), NearestEven, fl)), (f(0.1), NX));
        assert_eq!(run(|fl| f64_to_f32(d(0.1), Down, fl)), (f(0.1) - 1, NX));
        assert_eq!(run(|fl| f64_to_f32(d(1e300), Down, fl)), (MAX32, OF | NX));
        assert_eq!(
            run(|fl| f64_to_f32(d(-1e300), Down, fl)),
            (INF32 | NEG, OF | NX)
        );
        assert_eq!(run(|fl| f64_to_f32(1, NearestEven, fl)), (0, UF | NX));
        assert_eq!(
            run(|fl| f64_to_f32(1 | 1 << 63, Down, fl)),
            (1 | NEG, UF | NX)
        );
        assert_eq!(run(|fl| f64_to_f32(d(2f64.powi(-149)), Up, fl)), (1, 0));
    }

    #[test]
    fn flags_accrue() {
        let mut fl = DZ;
        f32_add(ONE, f(2f32.powi(-30)), NearestEven, &mut fl);
        f32_add(ONE, ONE, NearestEven, &mut fl);
        assert_eq!(fl, DZ | NX);
    }

    /// Random bits, or a sparse significand (exact results, ties) with an
    /// exponent field anywhere, subnormal and near-overflow included.
    fn random_float(rng: &mut Rng, f: Fmt) -> u64 {
        let r = rng.next();
        let width = f.frac + f.exp + 1;
        let bits = if r & 1 == 0 {
            r >> 1
        } else {
            let keep = (r >> 1) % (f.frac as u64 + 1);
            let frac = rng.next() & !((1 << keep) - 1) & f.frac_mask();
            let field = match (r >> 8) % 4 {
                0 => 0,
                1 => (r >> 16) % 4,
                2 => f.exp_field_max() - 1 - (r >> 16) % 4,
                _ => (r >> 16) % (f.exp_field_max() + 1),
            };
            (r >> 40) << (width - 1) | field << f.frac | frac
        };
        bits & (u64::MAX >> (64 - width))
    }

    /// The host fast paths against the software core: same bits, and NX
    /// exactly when the core raises it (and nothing else).
    #[test]
    fn host_fast_paths_match_the_software_core() {
        let mut r = Rng::new(1);
        let rm = NearestEven;
        let mut hits = [0usize; 8];
        let check = |name: &str, fast: Option<(u64, bool)>, soft: (u64, u32), ops: &[u64]| {
            if let Some((bits, inexact)) = fast {
                assert_eq!((bits, inexact as u32), soft, "{name} {ops:x?}");
                return 1;
            }
            0
        };
        for _ in 0..400_000 {
            let (a, b, c) = (
                random_float(&mut r, F32),
                random_float(&mut r, F32),
                random_float(&mut r, F32),
            );
            let (a32, b32) = (a as u32, b as u32);
            let wide = |x: Option<(u32, bool)>| x.map(|(r, i)| (r as u64, i));
            hits[0] += check(
                "f32_add",
                wide(host::f32_add(a32, b32)),
                run(|fl| add(F32, a, b, rm, fl)),
                &[a, b],
            );
            hits[1] += check(
                "f32_mul",
                wide(host::f32_mul(a32, b32)),
                run(|fl| mul(F32, a, b, rm, fl)),
                &[a, b],
            );
            hits[2] += check(
                "f32_div",
                wide(host::f32_div(a32, b32)),
                run(|fl| div(F32, a, b, rm, fl)),
                &[a, b],
            );
            hits[3] += check(
                "f32_sqrt",
                wide(host::f32_sqrt(a32)),
                run(|fl| sqrt(F32, a, rm, fl)),
                &[a],
            );
            // fma with an addend near -(a * b) too, for cancellations.
            let c = if c & 1 == 0 {
                c
            } else {
                f32_mul(a32, b32, rm, &mut 0) as u64 ^ 1 << 31 ^ (c >> 1 & 3)
            };
            let soft = run(|fl| fma(F32, a, b, c, rm, fl));
            hits[4] += check(
                "f32_fma",
                wide(host::f32_fma(a32, b32, c as u32)),
                soft,
                &[a, b, c],
            );

            let (a, b) = (random_float(&mut r, F64), random_float(&mut r, F64));
            hits[5] += check(
                "f64_add",
                host::f64_add(a, b),
                run(|fl| add(F64, a, b, rm, fl)),
                &[a, b],
            );
            hits[6] += check(
                "f64_mul",
                host::f64_mul(a, b),
                run(|fl| mul(F64, a, b, rm, fl)),
                &[a, b],
            );
            hits[7] += check(
                "f64_div",
                host::f64_div(a, b),
                run(|fl| div(F64, a, b, rm, fl)),
                &[a, b],
            );
            check(
                "f64_sqrt",
                host::f64_sqrt(a),
                run(|fl| sqrt(F64, a, rm, fl)),
                &[a],
            );
            // Addends of every size, and near -(a * b) for cancellations.
            let c = match r.next() % 3 {
                0 => random_float(&mut r, F64),
                1 => f64_mul(a, b, rm, &mut 0) ^ 1 << 63 ^ (r.next() & 7),
                _ => f64_mul(a, b, rm, &mut 0) >> (r.next() % 3),
            };
            check(
                "f64_fma",
                host::f64_fma(a, b, c, true),
                run(|fl| fma(F64, a, b, c, rm, fl)),
                &[a, b, c],
            );
            let narrow = wide(host::f64_to_f32(a));
            check(
                "f64_to_f32",
                narrow,
                run(|fl| convert(F64, F32, a, rm, fl)),
                &[a],
            );
            let soft = run(|fl| convert(F32, F64, b & M32, rm, fl));
            check("f32_to_f64", host::f32_to_f64(b as u32), soft, &[b]);
            for (signed, bits) in [(true, 32), (false, 32), (true, 64), (false, 64)] {
                let soft = run(|fl| to_int(F64, a, signed, bits, TowardZero, fl));
                check(
                    "trunc",
                    host::trunc(f64::from_bits(a), signed, bits),
                    soft,
                    &[a],
                );
                let soft = run(|fl| to_int(F32, b & M32, signed, bits, TowardZero, fl));
                check(
                    "trunc32",
                    host::trunc(host::widen(b as u32), signed, bits),
                    soft,
                    &[b],
                );
            }
            let v = r.next() >> (r.next() % 64);
            let soft = run(|fl| from_int(F64, false, v, rm, fl));
            check("u64_to_f64", host::from_int(v.into(), v as f64), soft, &[v]);
            let soft = run(|fl| from_int(F32, false, v, rm, fl));
            check(
                "u64_to_f32",
                wide(host::from_int(v.into(), v as f32)),
                soft,
                &[v],
            );
            let w = v.wrapping_neg() as i64;
            let soft = run(|fl| from_int(F64, w < 0, w.unsigned_abs(), rm, fl));
            check("i64_to_f64", host::from_int(w.into(), w as f64), soft, &[v]);
        }
        // Subnormal operands with exact power-of-two quotients and roots.
        for i in 0..52 {
            for j in 0..52 {
                let (a, b) = (1u64 << i, 1u64 << j);
                check(
                    "f64_div",
                    host::f64_div(a, b),
                    run(|fl| div(F64, a, b, rm, fl)),
                    &[a, b],
                );
                let b = b | 0x3ff << 52;
                check(
                    "f64_div",
                    host::f64_div(a, b),
                    run(|fl| div(F64, a, b, rm, fl)),
                    &[a, b],
                );
            }
            let a = 1u64 << i;
            check(
                "f64_sqrt",
                host::f64_sqrt(a),
                run(|fl| sqrt(F64, a, rm, fl)),
                &[a],
            );
        }
        // The fast paths must actually be taken for ordinary operands.
        assert!(hits.iter().all(|&h| h > 10_000), "{hits:?}");
    }
}
