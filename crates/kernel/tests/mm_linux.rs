//! The cases of mm_linux_cases.txt, run on cleave's mm; and, where a C
//! compiler is installed, run natively by mm_linux.c, so that the
//! expectations are known to be Linux's.

use kernel::errno::Errno;
use kernel::mm::*;
use rv::Access;
use std::path::Path;
use std::process::Command;

const CASES: &str = include_str!("mm_linux_cases.txt");
const WINDOW_PAGES: u64 = 1024;

fn cases() -> impl Iterator<Item = &'static str> {
    CASES
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| !l.is_empty())
}

fn symbol(name: &str) -> Option<u64> {
    Some(match name {
        "PROT_NONE" => PROT_NONE,
        "PROT_READ" => PROT_READ,
        "PROT_WRITE" => PROT_WRITE,
        "PROT_EXEC" => PROT_EXEC,
        "PROT_SEM" => PROT_SEM,
        "PROT_GROWSDOWN" => PROT_GROWSDOWN,
        "PROT_GROWSUP" => PROT_GROWSUP,
        "MAP_SHARED" => MAP_SHARED,
        "MAP_PRIVATE" => MAP_PRIVATE,
        "MAP_SHARED_VALIDATE" => MAP_SHARED_VALIDATE,
        "MAP_FIXED" => MAP_FIXED,
        "MAP_ANONYMOUS" => MAP_ANONYMOUS,
        "MAP_GROWSDOWN" => MAP_GROWSDOWN,
        "MAP_NORESERVE" => MAP_NORESERVE,
        "MAP_POPULATE" => MAP_POPULATE,
        "MAP_STACK" => MAP_STACK,
        "MAP_SYNC" => MAP_SYNC,
        "MAP_FIXED_NOREPLACE" => MAP_FIXED_NOREPLACE,
        "MREMAP_MAYMOVE" => MREMAP_MAYMOVE,
        "MREMAP_FIXED" => MREMAP_FIXED,
        "MREMAP_DONTUNMAP" => MREMAP_DONTUNMAP,
        "MS_ASYNC" => MS_ASYNC,
        "MS_INVALIDATE" => MS_INVALIDATE,
        "MS_SYNC" => MS_SYNC,
        "MADV_NORMAL" => MADV_NORMAL,
        "MADV_WILLNEED" => MADV_WILLNEED,
        "MADV_DONTNEED" => MADV_DONTNEED,
        "MADV_FREE" => MADV_FREE,
        "MADV_REMOVE" => MADV_REMOVE,
        "MADV_DONTFORK" => MADV_DONTFORK,
        "MADV_DOFORK" => MADV_DOFORK,
        "MADV_WIPEONFORK" => MADV_WIPEONFORK,
        "MADV_KEEPONFORK" => MADV_KEEPONFORK,
        _ => return None,
    })
}

/// Terms joined by + - |, left to right, as mm_linux.c evaluates them.
fn eval(expr: &str, a: u64) -> u64 {
    let term = |t: &str| -> u64 {
        match t {
            "" => 0,
            "A" => a,
            "TOP" => TASK_SIZE,
            _ => symbol(t).unwrap_or_else(|| {
                let (digits, scale) = match t.strip_suffix('p') {
                    Some(d) => (d, PAGE_SIZE),
                    None => (t, 1),
                };
                let n = match digits.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16),
                    None => digits.parse(),
                };
                n.unwrap_or_else(|_| panic!("bad term {t:?}")) * scale
            }),
        }
    };
    let mut acc = 0u64;
    let mut op = '+';
    let mut rest = expr;
    loop {
        let n = rest.find(['+', '-', '|']).unwrap_or(rest.len());
        let v = term(&rest[..n]);
        acc = match op {
            '+' => acc.wrapping_add(v),
            '-' => acc.wrapping_sub(v),
            _ => acc | v,
        };
        if n == rest.len() {
            return acc;
        }
        op = rest.as_bytes()[n] as char;
        rest = &rest[n + 1..];
    }
}

enum Outcome {
    Value(u64),
    Error(Errno),
    Signal(&'static str),
}

fn run(mm: &mut Mm, phys: &mut Phys, op: &str, a: &[u64]) -> Outcome {
    let unit = |r: Result<(), Errno>| r.map(|()| 0);
    let r = match op {
        "mmap" => mm.mmap(phys, a[0], a[1], a[2], a[3], a[4]),
        "munmap" => unit(mm.munmap(phys, a[0], a[1])),
        "mprotect" => unit(mm.mprotect(phys, a[0], a[1], a[2])),
        "madvise" => unit(mm.madvise(phys, a[0], a[1], a[2])),
        "msync" => unit(mm.msync(phys, a[0], a[1], a[2])),
        "mremap" => mm.mremap(phys, a[0], a[1], a[2], a[3], a[4]),
        "load" | "store" => {
            // As the hart would: fault, then access.
            let access = if op == "load" {
                Access::Load
            } else {
                Access::Store
            };
            match mm.handle_fault(phys, a[0], access) {
                Err(Fault::Bus) => return Outcome::Signal("BUS"),
                Err(_) => return Outcome::Signal("SEGV"),
                Ok(()) => {}
            }
            let mut b = [a.get(1).copied().unwrap_or(0) as u8];
            if op == "load" {
                mm.read_user(phys, a[0], &mut b).unwrap();
            } else {
                mm.write_user(phys, a[0], &b).unwrap();
            }
            Ok(b[0] as u64)
        }
        _ => panic!("unknown operation {op}"),
    };
    match r {
        Ok(v) => Outcome::Value(v),
        Err(e) => Outcome::Error(e),
    }
}

fn matches(expect: &str, got: &Outcome, a: u64) -> bool {
    match (expect, got) {
        ("ok", Outcome::Value(_)) => true,
        ("SEGV" | "BUS", Outcome::Signal(s)) => expect == *s,
        (e, Outcome::Error(errno)) => e == errno.name(),
        (e, Outcome::Value(v)) if !e.starts_with('E') && e != "ok" => eval(e, a) == *v,
        _ => false,
    }
}

fn describe(got: &Outcome) -> String {
    match got {
        Outcome::Value(v) => format!("{v:#x}"),
        Outcome::Error(e) => e.name().to_string(),
        Outcome::Signal(s) => s.to_string(),
    }
}

#[test]
fn linux_cases_on_cleave() {
    let mut phys = Phys::new(64 << 20);
    let mut failures = vec![];
    let mut count = 0;
    for case in cases() {
        count += 1;
        let mut mm = Mm::new(&mut phys).unwrap();
        let window = WINDOW_PAGES * PAGE_SIZE;
        let a = mm
            .mmap(
                &mut phys,
                0,
                window,
                PROT_NONE,
                MAP_PRIVATE | MAP_ANONYMOUS,
                0,
            )
            .unwrap();
        mm.munmap(&mut phys, a, window).unwrap();
        for step in case.split(';') {
            let (call, expect) = step.split_once("=>").expect("missing =>");
            let words: Vec<&str> = call.split_whitespace().collect();
            let args: Vec<u64> = words[1..].iter().map(|w| eval(w, a)).collect();
            let got = run(&mut mm, &mut phys, words[0], &args);
            if !matches(expect.trim(), &got, a) {
                failures.push(format!("{case}\n    {step} got {}", describe(&got)));
                break;
            }
        }
        drop(mm);
        phys.reap();
        assert_eq!(phys.free_frames(), phys.total_frames(), "leak in {case}");
    }
    assert!(count > 90);
    assert!(
        failures.is_empty(),
        "{} of {count} cases differ from Linux:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The same cases natively: the expectations must be what Linux does.
#[test]
fn linux_cases_on_linux() {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        eprintln!("skipped: the native twin assumes x86-64 Linux");
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let exe = std::env::temp_dir().join(format!("cleave-mm-linux-{}", std::process::id()));
    let built = Command::new("cc")
        .arg("-O1")
        .arg("-o")
        .arg(&exe)
        .arg(dir.join("mm_linux.c"))
        .status();
    if !built.is_ok_and(|s| s.success()) {
        eprintln!("skipped: no C compiler to build mm_linux.c");
        return;
    }
    let out = Command::new(&exe)
        .arg(dir.join("mm_linux_cases.txt"))
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&exe);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8(out.stdout).unwrap();
    let results: Vec<&str> = report.lines().collect();
    assert_eq!(results.len(), cases().count());
    let failures: Vec<String> = cases()
        .zip(&results)
        .filter(|(_, r)| **r != "PASS")
        .map(|(case, r)| format!("{case}\n    {r}"))
        .collect();
    assert!(
        failures.is_empty(),
        "Linux disagrees:\n{}",
        failures.join("\n")
    );
}
