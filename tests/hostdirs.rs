//! `cleave run --root DIR` and `--mount HOST:GUEST[:ro|rw]`: the guest
//! sees host directories where it is told, writes only where it may, and
//! nothing it does reaches outside them: "..", absolute and relative
//! symlinks pointing outward all resolve in the guest's view.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cleave(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cleave"))
        .args(args)
        .output()
        .expect("cleave runs")
}

/// What `cleave args` printed, once it has succeeded.
fn stdout_of_success(args: &[&str]) -> String {
    let out = cleave(args);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("hostdirs-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn probe() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("userland/bin/fsprobe")
}

#[test]
fn root_and_writable_mount_stay_confined() {
    let top = temp_dir("confine");
    let (root, w) = (top.join("root"), top.join("w"));
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::write(root.join("etc/hostname"), "inside\n").unwrap();
    fs::write(root.join("top"), "kept\n").unwrap();
    fs::copy(probe(), root.join("bin/fsprobe")).unwrap();
    fs::create_dir_all(&w).unwrap();
    symlink("/", w.join("abs")).unwrap();
    symlink("../../../..", w.join("up")).unwrap();
    let stdout = stdout_of_success(&[
        "run",
        "--root",
        root.to_str().unwrap(),
        "--mount",
        &format!("{}:/w:rw", w.display()),
        "/bin/fsprobe",
        "confine",
    ]);
    let expected = "\
create: ok
write: ok
mkdir: ok
rename: ok
size: 4
/w/.. is /: yes
relative link up is /: yes
create through up: ok
through abs: inside
symlink: ok
create through it: EROFS
write to the root: EROFS
write to a top-level file: EROFS
mkdir in the root: EROFS
ftruncate: ok
size after: 3
unlink: ok
rmdir: ok
rmdir missing: ENOENT
";
    assert_eq!(stdout, expected);
    // On the host: what the guest left in /w, and nothing anywhere else
    // (the file made through "up" went to the guest's own /).
    let mut names: Vec<String> = fs::read_dir(&w)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["abs", "lnk", "trunc", "up"]);
    assert_eq!(
        fs::read_link(w.join("lnk")).unwrap(),
        Path::new("/etc/target")
    );
    assert_eq!(fs::read(w.join("trunc")).unwrap(), b"012");
    assert_eq!(fs::read(root.join("top")).unwrap(), b"kept\n");
    let mut top_names: Vec<String> = fs::read_dir(&top)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    top_names.sort();
    assert_eq!(top_names, ["root", "w"]);
    assert!(!root.join("escape").exists() && !root.join("etc/target").exists());
    fs::remove_dir_all(top).unwrap();
}

#[test]
fn shared_maps_of_writable_host_files_reach_the_host() {
    // The probe runs from the writable root: exec maps a file the guest
    // could write, and must leave it as it was.
    let top = temp_dir("hostmap");
    fs::create_dir_all(top.join("bin")).unwrap();
    fs::create_dir_all(top.join("w")).unwrap();
    let prog = top.join("bin/fsprobe");
    fs::copy(probe(), &prog).unwrap();
    let before = fs::metadata(&prog).unwrap().modified().unwrap();
    let stdout = stdout_of_success(&[
        "run",
        "--root",
        &format!("{}:rw", top.display()),
        "/bin/fsprobe",
        "hostmap",
        "/w",
    ]);
    // As natively (the same source built for the host).
    let expected = "\
ftruncate: ok
mmap: ok
read sees the store: store
the map sees write(): WRITE
msync: ok
a new fd sees it: tail
ftruncate 100: ok
byte 200: 0
page 1: SIGBUS
byte 200 after growing: 0
fsync: ok
byte 30: 0
mprotect: ok
read after munmap: later
private store reached the file: no
";
    assert_eq!(stdout, expected);
    let mut want = vec![0u8; 8192];
    want[..5].copy_from_slice(b"WRITE");
    want[10..14].copy_from_slice(b"tail");
    want[30..35].copy_from_slice(b"later");
    want[4096..4101].copy_from_slice(b"page1");
    assert!(fs::read(top.join("w/f")).unwrap() == want);
    assert!(fs::read(&prog).unwrap() == fs::read(probe()).unwrap());
    assert_eq!(fs::metadata(&prog).unwrap().modified().unwrap(), before);
    fs::remove_dir_all(top).unwrap();
}

#[test]
fn a_read_only_mount_refuses_writes() {
    let top = temp_dir("ro");
    fs::write(top.join("f"), "x").unwrap();
    let prog = probe();
    let out = cleave(&[
        "run",
        "--mount",
        &format!("{}:/w", top.display()),
        prog.to_str().unwrap(),
        "confine",
    ]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("create: EROFS\n"), "{stdout}");
    assert!(stdout.contains("mkdir: EROFS\n"), "{stdout}");
    assert_eq!(fs::read_dir(&top).unwrap().count(), 1);
    fs::remove_dir_all(top).unwrap();
}

#[test]
fn bad_values_are_one_line_and_status_2() {
    let top = temp_dir("bad");
    let file = top.join("file");
    fs::write(&file, "").unwrap();
    let prog = probe();
    let prog = prog.to_str().unwrap();
    let missing = top.join("missing");
    for args in [
        vec!["--root", missing.to_str().unwrap()],
        vec!["--root", file.to_str().unwrap()],
        vec!["--mount", top.to_str().unwrap()],
        vec!["--mount", &format!("{}:relative", top.display())],
        vec!["--mount", &format!("{}:/x", missing.display())],
        vec!["--mount", &format!("{}:/usr/no/such/dir", top.display())],
    ] {
        let mut all = vec!["run"];
        all.extend(&args);
        all.extend([prog, "list"]);
        let out = cleave(&all);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
        assert!(stderr.starts_with("cleave: "), "{stderr:?}");
    }
    fs::remove_dir_all(top).unwrap();
}
