//! The initial user stack, laid out byte for byte as Linux's `exec` and
//! `create_elf_tables` build it for riscv64:
//!
//! ```text
//! sp ->  argc
//!        argv[0] .. argv[argc-1], NULL
//!        envp[0] .. envp[envc-1], NULL
//!        auxv pairs .., AT_NULL 0
//!        (padding to keep sp 16-byte aligned)
//!        16 random bytes (AT_RANDOM), 16-byte aligned
//!        argv strings, envp strings, the exec file name
//! top -  8 zero bytes
//! ```
//!
//! Building is a pure function of its inputs, so it can be tested by
//! parsing the result back.

use crate::errno::{Errno, KResult};

/// Auxiliary vector types (include/uapi/linux/auxvec.h).
pub mod at {
    pub const NULL: u64 = 0;
    pub const PHDR: u64 = 3;
    pub const PHENT: u64 = 4;
    pub const PHNUM: u64 = 5;
    pub const PAGESZ: u64 = 6;
    pub const BASE: u64 = 7;
    pub const FLAGS: u64 = 8;
    pub const ENTRY: u64 = 9;
    pub const UID: u64 = 11;
    pub const EUID: u64 = 12;
    pub const GID: u64 = 13;
    pub const EGID: u64 = 14;
    pub const HWCAP: u64 = 16;
    pub const CLKTCK: u64 = 17;
    pub const SECURE: u64 = 23;
    pub const RANDOM: u64 = 25;
    pub const EXECFN: u64 = 31;
    pub const SYSINFO_EHDR: u64 = 33;
}

/// MAX_ARG_STRLEN: the longest single argument or environment string.
const MAX_ARG_STRLEN: usize = 32 * 4096;

/// AT_HWCAP on riscv64: one bit per single-letter extension, bit
/// (letter - 'a'), for the IMAFDC the hart implements.
pub const HWCAP_RV64GC: u64 = {
    let mut bits = 0;
    let letters = b"imafdc";
    let mut i = 0;
    while i < letters.len() {
        bits |= 1 << (letters[i] - b'a');
        i += 1;
    }
    bits
};

/// USER_HZ, what AT_CLKTCK reports and times() counts in.
pub const USER_HZ: u64 = 100;

/// The values of the auxiliary vector that come from the loaded image and
/// the credentials; the stack builder adds the addresses it chooses.
#[derive(Clone, Debug, Default)]
pub struct AuxInfo {
    pub phdr: u64,
    pub phent: u64,
    pub phnum: u64,
    /// Where the interpreter was loaded; 0 for a static program.
    pub base: u64,
    pub entry: u64,
    pub uid: u64,
    pub euid: u64,
    pub gid: u64,
    pub egid: u64,
    pub secure: bool,
    /// The vDSO's ELF header, once there is one.
    pub sysinfo_ehdr: Option<u64>,
}

/// What to put on the stack.
pub struct StackArgs<'a> {
    pub argv: &'a [Vec<u8>],
    pub envp: &'a [Vec<u8>],
    /// The path the program was executed by (AT_EXECFN).
    pub execfn: &'a [u8],
    pub random: [u8; 16],
    pub aux: AuxInfo,
}

/// The built stack: `bytes` belong at `sp .. sp + bytes.len()`, which ends
/// at the stack top.
pub struct InitialStack {
    pub sp: u64,
    pub bytes: Vec<u8>,
    /// The auxiliary vector's pairs, AT_NULL last.
    pub auxv: Vec<(u64, u64)>,
}

/// Lays out the initial stack ending at `top`. Fails with E2BIG when the
/// strings exceed `limit` bytes (a quarter of RLIMIT_STACK, as in Linux) or
/// one string is longer than MAX_ARG_STRLEN.
pub fn build(top: u64, args: &StackArgs, limit: u64) -> KResult<InitialStack> {
    let strings = args.argv.iter().chain(args.envp).map(Vec::as_slice);
    let mut string_bytes = 8 + args.execfn.len() + 1;
    for s in strings.clone() {
        if s.len() + 1 > MAX_ARG_STRLEN {
            return Err(Errno::E2BIG);
        }
        string_bytes += s.len() + 1;
    }
    let pointer_bytes = 8 * (args.argv.len() + args.envp.len() + 2);
    if (string_bytes + pointer_bytes) as u64 > limit {
        return Err(Errno::E2BIG);
    }

    // Strings, from the lowest address up: argv, envp, then the file name,
    // then the 8 bytes Linux leaves empty at the very top.
    let strings_start = top - string_bytes as u64;
    let mut string_area = Vec::with_capacity(string_bytes);
    let mut pointers = Vec::with_capacity(args.argv.len() + args.envp.len());
    for s in strings {
        pointers.push(strings_start + string_area.len() as u64);
        string_area.extend_from_slice(s);
        string_area.push(0);
    }
    let execfn = strings_start + string_area.len() as u64;
    string_area.extend_from_slice(args.execfn);
    string_area.push(0);
    string_area.extend_from_slice(&[0; 8]);

    let random = (strings_start & !0xf) - 16;
    let aux = &args.aux;
    let mut auxv = Vec::new();
    if let Some(vdso) = aux.sysinfo_ehdr {
        auxv.push((at::SYSINFO_EHDR, vdso));
    }
    auxv.extend([
        (at::HWCAP, HWCAP_RV64GC),
        (at::PAGESZ, super::PAGE_SIZE),
        (at::CLKTCK, USER_HZ),
        (at::PHDR, aux.phdr),
        (at::PHENT, aux.phent),
        (at::PHNUM, aux.phnum),
        (at::BASE, aux.base),
        (at::FLAGS, 0),
        (at::ENTRY, aux.entry),
        (at::UID, aux.uid),
        (at::EUID, aux.euid),
        (at::GID, aux.gid),
        (at::EGID, aux.egid),
        (at::SECURE, aux.secure as u64),
        (at::RANDOM, random),
        (at::EXECFN, execfn),
        (at::NULL, 0),
    ]);

    let argc = args.argv.len();
    let words = 1 + (argc + 1) + (args.envp.len() + 1) + 2 * auxv.len();
    let sp = (random - 8 * words as u64) & !0xf;

    let mut table: Vec<u64> = Vec::with_capacity(words);
    table.push(argc as u64);
    table.extend(&pointers[..argc]);
    table.push(0);
    table.extend(&pointers[argc..]);
    table.push(0);
    table.extend(auxv.iter().flat_map(|&(key, value)| [key, value]));

    let mut bytes = vec![0; (top - sp) as usize];
    for (i, word) in table.iter().enumerate() {
        bytes[i * 8..][..8].copy_from_slice(&word.to_le_bytes());
    }
    let at = |addr: u64| (addr - sp) as usize;
    bytes[at(random)..][..16].copy_from_slice(&args.random);
    bytes[at(strings_start)..].copy_from_slice(&string_area);
    Ok(InitialStack { sp, bytes, auxv })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOP: u64 = 0x40_0000_0000;

    fn args<'a>(argv: &'a [Vec<u8>], envp: &'a [Vec<u8>]) -> StackArgs<'a> {
        StackArgs {
            argv,
            envp,
            execfn: b"/bin/prog",
            random: *b"0123456789abcdef",
            aux: AuxInfo {
                phdr: 0x10040,
                phent: 56,
                phnum: 7,
                entry: 0x10500,
                uid: 1000,
                euid: 1000,
                gid: 100,
                egid: 100,
                ..AuxInfo::default()
            },
        }
    }

    /// Reads the stack back the way a C runtime does.
    struct Parsed {
        argv: Vec<Vec<u8>>,
        envp: Vec<Vec<u8>>,
        auxv: Vec<(u64, u64)>,
    }

    fn parse(stack: &InitialStack) -> Parsed {
        let sp = stack.sp;
        let word = |addr: u64| {
            u64::from_le_bytes(stack.bytes[(addr - sp) as usize..][..8].try_into().unwrap())
        };
        let cstr = |addr: u64| {
            let tail = &stack.bytes[(addr - sp) as usize..];
            tail[..tail.iter().position(|&b| b == 0).unwrap()].to_vec()
        };
        let argc = word(sp);
        let mut p = sp + 8;
        let argv = (0..argc).map(|i| cstr(word(p + 8 * i))).collect();
        p += 8 * argc;
        assert_eq!(word(p), 0, "argv terminator");
        p += 8;
        let mut envp = Vec::new();
        while word(p) != 0 {
            envp.push(cstr(word(p)));
            p += 8;
        }
        p += 8;
        let mut auxv = Vec::new();
        loop {
            let (key, value) = (word(p), word(p + 8));
            auxv.push((key, value));
            p += 16;
            if key == at::NULL {
                break;
            }
        }
        Parsed { argv, envp, auxv }
    }

    fn aux(parsed: &Parsed, key: u64) -> u64 {
        parsed.auxv.iter().find(|&&(k, _)| k == key).unwrap().1
    }

    #[test]
    fn round_trips_argv_envp_and_auxv() {
        let argv = vec![b"prog".to_vec(), b"-x".to_vec(), b"".to_vec()];
        let envp = vec![b"HOME=/root".to_vec(), b"A=b c".to_vec()];
        let stack = build(TOP, &args(&argv, &envp), 2 << 20).unwrap();
        assert_eq!(stack.sp % 16, 0);
        assert_eq!(stack.sp + stack.bytes.len() as u64, TOP);
        let parsed = parse(&stack);
        assert_eq!(parsed.argv, argv);
        assert_eq!(parsed.envp, envp);
        assert_eq!(aux(&parsed, at::PHDR), 0x10040);
        assert_eq!(aux(&parsed, at::PHENT), 56);
        assert_eq!(aux(&parsed, at::PHNUM), 7);
        assert_eq!(aux(&parsed, at::ENTRY), 0x10500);
        assert_eq!(aux(&parsed, at::PAGESZ), 4096);
        assert_eq!(aux(&parsed, at::BASE), 0);
        assert_eq!(aux(&parsed, at::UID), 1000);
        assert_eq!(aux(&parsed, at::EGID), 100);
        assert_eq!(aux(&parsed, at::SECURE), 0);
        assert_eq!(aux(&parsed, at::CLKTCK), 100);
        assert_eq!(aux(&parsed, at::HWCAP), 0x112d);
        assert!(parsed.auxv.iter().all(|&(k, _)| k != at::SYSINFO_EHDR));
    }

    #[test]
    fn random_bytes_and_execfn_live_on_the_stack() {
        let argv = vec![b"prog".to_vec()];
        let stack = build(TOP, &args(&argv, &[]), 2 << 20).unwrap();
        let parsed = parse(&stack);
        let random = aux(&parsed, at::RANDOM);
        assert_eq!(random % 16, 0);
        let offset = (random - stack.sp) as usize;
        assert_eq!(&stack.bytes[offset..][..16], b"0123456789abcdef");
        let execfn = (aux(&parsed, at::EXECFN) - stack.sp) as usize;
        assert_eq!(&stack.bytes[execfn..][..10], b"/bin/prog\0");
        // Linux leaves the top 8 bytes empty, right after the file name.
        assert_eq!(execfn + 10 + 8, stack.bytes.len());
        assert_eq!(&stack.bytes[stack.bytes.len() - 8..], &[0; 8]);
    }

    #[test]
    fn sp_is_aligned_for_every_argument_count() {
        for n in 0..6 {
            let argv: Vec<Vec<u8>> = (0..n).map(|i| vec![b'a'; i * 3 + 1]).collect();
            let stack = build(TOP, &args(&argv, &[]), 2 << 20).unwrap();
            assert_eq!(stack.sp % 16, 0, "argc {n}");
            assert_eq!(parse(&stack).argv, argv);
        }
    }

    #[test]
    fn vdso_comes_first_when_present() {
        let mut a = args(&[], &[]);
        a.aux.sysinfo_ehdr = Some(0x3f_f000_0000);
        let parsed = parse(&build(TOP, &a, 2 << 20).unwrap());
        assert_eq!(parsed.auxv[0], (at::SYSINFO_EHDR, 0x3f_f000_0000));
        assert_eq!(parsed.auxv.last(), Some(&(at::NULL, 0)));
    }

    #[test]
    fn too_much_is_e2big() {
        let big = vec![vec![b'x'; 100_000]; 30];
        assert_eq!(
            build(TOP, &args(&big, &[]), 2 << 20).err(),
            Some(Errno::E2BIG)
        );
        let huge = vec![vec![b'x'; MAX_ARG_STRLEN]];
        assert_eq!(
            build(TOP, &args(&huge, &[]), 1 << 30).err(),
            Some(Errno::E2BIG)
        );
    }
}
