//! The escape suite: a hostile guest (userland/src/escape.c) and a hostile
//! host racer against `--root` and `--mount`. Renames with symlinks put in
//! their place, on the guest's side and the host's, nested mounts, a
//! directory exposed by path, device nodes and FIFOs. Every tree involved
//! is fingerprinted (paths, types, sizes, modes, mtimes, contents) before
//! and after: nothing outside the writable mounts may change, and no guest
//! read may return host data from outside them (a marker string that only
//! outside files hold must never be printed). Then the other half of
//! confinement: what the guest sets on a writable mount (mode, owner,
//! times, contents) is on the host file, and blocking host files never
//! stall the kernel.

use std::collections::BTreeMap;
use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What only host files outside the mounts hold.
const MARKER: &str = "MARKER-outside-the-mounts-7f3a";

fn escape_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("userland/bin/escape")
}

/// A fresh directory under the host's /tmp: outside what the host view
/// shows the guest, so that only a mount or an escape can reach it.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cleave-escape-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Runs `cmd`, killing it (and failing) if it has not ended within a
/// minute: a stalled kernel must fail the test, not hang it.
fn output_of(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .expect("starts");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{cmd:?} hung; it printed:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn cleave_cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cleave"));
    cmd.args(args).current_dir("/");
    cmd
}

/// What `cleave args` printed; it must have succeeded and never printed
/// the marker.
fn cleave(args: &[&str]) -> String {
    checked(output_of(cleave_cmd(args)))
}

fn checked(out: Output) -> String {
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !stdout.contains(MARKER),
        "host data from outside:\n{stdout}"
    );
    stdout
}

/// Whether the test runs as root (as in CI).
fn running_as_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A --root with the escape program in /bin.
fn make_root(root: &Path) {
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::copy(escape_bin(), root.join("bin/escape")).unwrap();
}

/// A directory outside every mount, with the marker in it.
fn make_outside(outside: &Path) {
    fs::create_dir_all(outside).unwrap();
    for name in ["f", "secret", "only-outside", "file"] {
        fs::write(outside.join(name), format!("{MARKER}\n")).unwrap();
    }
}

/// Every entry below `dir` (symlinks not followed): its type, size, mode,
/// mtime and a hash of its contents or target.
fn fingerprint(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(path) = todo.pop() {
        let meta = fs::symlink_metadata(&path).unwrap();
        let t = meta.file_type();
        let mut h = DefaultHasher::new();
        let kind = if t.is_dir() {
            let mut names: Vec<_> = fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            names.sort();
            names.hash(&mut h);
            todo.extend(names);
            "dir"
        } else if t.is_symlink() {
            fs::read_link(&path).unwrap().hash(&mut h);
            "link"
        } else if t.is_file() {
            fs::read(&path).unwrap().hash(&mut h);
            "file"
        } else {
            meta.rdev().hash(&mut h);
            "special"
        };
        let line = format!(
            "{kind} size {} mode {:o} uid {} gid {} mtime {}.{} {:x}",
            meta.len(),
            meta.mode(),
            meta.uid(),
            meta.gid(),
            meta.mtime(),
            meta.mtime_nsec(),
            h.finish()
        );
        out.insert(path, line);
    }
    out
}

#[test]
fn nested_mounts_keep_their_directories_when_the_guest_swaps_them() {
    let top = temp_dir("nested");
    let (root, d, outside) = (top.join("root"), top.join("d"), top.join("outside"));
    make_root(&root);
    make_outside(&outside);
    fs::create_dir_all(d.join("sub")).unwrap();
    fs::write(d.join("sub/file"), "sub file\n").unwrap();
    fs::write(d.join("sub/gone"), "to unlink\n").unwrap();
    let (root_before, outside_before) = (fingerprint(&root), fingerprint(&outside));
    let stdout = cleave(&[
        "run",
        "--root",
        s(&root),
        "--mount",
        &format!("{}:/a:rw", d.display()),
        "--mount",
        &format!("{}:/b:rw", d.join("sub").display()),
        "/bin/escape",
        "nested",
        "/a",
        "/b",
        s(&outside),
    ]);
    // /b is the directory it was given, wherever the guest moved it; the
    // link in its old place resolves in the guest, where the host path it
    // names does not exist.
    let expected = "\
rename: ok
symlink: ok
ls /b: file gone
/b/file: sub file
create: ok
unlink: ok
/b/secret: ENOENT
/a/sub/secret: ENOENT
create through the link: ENOENT
ls /a/moved: file new
";
    assert_eq!(stdout, expected);
    assert_eq!(fs::read(d.join("moved/new")).unwrap(), b"made through b\n");
    assert!(!d.join("moved/gone").exists());
    assert_eq!(fingerprint(&root), root_before);
    assert_eq!(fingerprint(&outside), outside_before);
    fs::remove_dir_all(top).unwrap();
}

#[test]
fn an_exposed_program_directory_keeps_its_directory() {
    // The program lies below the host's /tmp, which the host view hides:
    // cleave exposes its directory, read-only, at its own path. A writable
    // mount of the directory above it lets the guest move it and put a
    // link to elsewhere in its place; the exposed mount must not follow.
    let top = temp_dir("exposed");
    let (w, outside) = (top.join("w"), top.join("outside"));
    make_outside(&outside);
    fs::create_dir_all(w.join("prog")).unwrap();
    fs::copy(escape_bin(), w.join("prog/escape")).unwrap();
    fs::write(w.join("prog/data"), "prog data\n").unwrap();
    let outside_before = fingerprint(&outside);
    let prog = w.join("prog");
    let stdout = cleave(&[
        "run",
        "--mount",
        &format!("{}:/w:rw", w.display()),
        s(&prog.join("escape")),
        "swap",
        "/w/prog",
        "/w/prog2",
        s(&outside),
        "+",
        "ls",
        s(&prog),
        "+",
        "cat",
        s(&prog.join("data")),
        s(&prog.join("secret")),
    ]);
    let p = prog.display();
    let expected = format!(
        "\
rename: ok
symlink: ok
ls {p}: data escape
{p}/data: prog data
{p}/secret: ENOENT
"
    );
    assert_eq!(stdout, expected);
    assert_eq!(fingerprint(&outside), outside_before);
    fs::remove_dir_all(top).unwrap();
}

/// Swaps host directory `dir` with a symlink to `to` and back, again and
/// again, until `stop`; counts the swaps.
fn racer(dir: PathBuf, to: PathBuf, stop: Arc<AtomicBool>, swaps: Arc<AtomicUsize>) {
    let aside = dir.with_extension("real");
    while !stop.load(Ordering::Relaxed) {
        fs::rename(&dir, &aside).unwrap();
        symlink(&to, &dir).unwrap();
        // Swapped most of the time: the guest's lookups meet the link.
        std::thread::sleep(Duration::from_micros(500));
        fs::remove_file(&dir).unwrap();
        fs::rename(&aside, &dir).unwrap();
        swaps.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn host_renames_never_redirect_the_root_or_a_mount() {
    let top = temp_dir("race");
    let (root, m, outside) = (top.join("root"), top.join("m"), top.join("outside"));
    make_root(&root);
    make_outside(&outside);
    // /d is a top-level directory of the root (a mount of its own), /e/sub
    // a directory inside one, /m/sub one inside a --mount.
    for dir in [root.join("d"), root.join("e/sub"), m.join("sub")] {
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("f"), "inside\n").unwrap();
    }
    let outside_before = fingerprint(&outside);
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicUsize::new(0));
    // The racers start once the guest has booted (it made m/ready), and
    // the guest's loops once each racer has swapped (m/swapped).
    let coordinator = {
        let (root, m, outside) = (root.clone(), m.clone(), outside.clone());
        let (stop, swaps) = (stop.clone(), swaps.clone());
        std::thread::spawn(move || {
            while !m.join("ready").exists() && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(1));
            }
            let racers: Vec<_> = [root.join("d"), root.join("e/sub"), m.join("sub")]
                .into_iter()
                .map(|dir| {
                    let (to, stop, swaps) = (outside.clone(), stop.clone(), swaps.clone());
                    std::thread::spawn(move || racer(dir, to, stop, swaps))
                })
                .collect();
            while swaps.load(Ordering::Relaxed) < 3 && !stop.load(Ordering::Relaxed) {
                std::thread::yield_now();
            }
            fs::write(m.join("swapped"), "").unwrap();
            for r in racers {
                r.join().unwrap();
            }
        })
    };
    let out = output_of(cleave_cmd(&[
        "run",
        "--root",
        s(&root),
        "--mount",
        &format!("{}:/m:rw", m.display()),
        "/bin/escape",
        "touch",
        "/m/ready",
        "+",
        "await",
        "/m/swapped",
        "+",
        "statloop",
        "/d",
        "20000",
        "+",
        "statloop",
        "/e/sub",
        "20000",
        "+",
        "statloop",
        "/m/sub",
        "20000",
    ]));
    stop.store(true, Ordering::Relaxed);
    coordinator.join().unwrap();
    let stdout = checked(out);
    let round = "\
rounds: 20000
outside seen: 0
foreign contents: 0
inside or failed: yes
";
    assert_eq!(stdout, "touch: ok\n".to_string() + &round.repeat(3));
    assert_eq!(fingerprint(&outside), outside_before);
    fs::remove_dir_all(top).unwrap();
}

#[test]
fn host_device_nodes_cannot_be_opened() {
    let top = temp_dir("nodev");
    let root = top.join("root");
    make_root(&root);
    fs::create_dir_all(root.join("d")).unwrap();
    // /dev/zero's and /dev/kmsg's numbers: data to read, were they opened.
    let made = ["zero c 1 5", "kmsg c 1 11"].iter().all(|args| {
        let mut args = args.split(' ');
        let name = root.join("d").join(args.next().unwrap());
        Command::new("mknod")
            .arg(&name)
            .args(args)
            .status()
            .is_ok_and(|s| s.success())
    });
    if !made {
        testkit::skip("the device node test", "mknod needs root");
        fs::remove_dir_all(top).unwrap();
        return;
    }
    let before = fingerprint(&root);
    // As Linux on a nodev mount: seen, but every open but O_PATH is EACCES.
    let each = |dev: &str| {
        format!(
            "\
stat: ok
char device: yes
open read: EACCES
open write: EACCES
open nonblock: EACCES
open path: ok
/d/{dev}: EACCES
"
        )
    };
    for rw in ["", ":rw"] {
        let stdout = cleave(&[
            "run",
            "--root",
            &format!("{}{rw}", root.display()),
            "/bin/escape",
            "nodev",
            "/d/zero",
            "+",
            "cat",
            "/d/zero",
            "+",
            "nodev",
            "/d/kmsg",
            "+",
            "cat",
            "/d/kmsg",
        ]);
        assert_eq!(stdout, each("zero") + &each("kmsg"));
    }
    assert_eq!(fingerprint(&root), before);
    fs::remove_dir_all(top).unwrap();
}

/// The escape program built for the host, or None (skipped) without cc.
fn native(what: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("escape-native");
    testkit::tools::native_build("escape", &dir, what)
}

#[test]
fn host_fifos_are_polled_not_waited_on() {
    let top = temp_dir("fifo");
    let root = top.join("root");
    make_root(&root);
    fs::create_dir_all(root.join("d")).unwrap();
    let fifo = root.join("d/p");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    // The test holds both ends, so that the FIFO always has a reader and
    // a writer: the guest's reads wait for data, not for end-of-file.
    let _held = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    let expected = "\
open nonblock: ok
read nonblock: EAGAIN
clear O_NONBLOCK: ok
blocking read: EINTR
alarms: 1
from the child: child ran
open write: ok
write: ok
read: ping
lseek: ESPIPE
";
    let stdout = cleave(&["run", "--root", s(&root), "/bin/escape", "fifo", "/d/p"]);
    assert_eq!(stdout, expected);
    if let Some(native) = native("the native FIFO reference") {
        let mut cmd = Command::new(native);
        cmd.args(["fifo", s(&fifo)]);
        assert_eq!(checked(output_of(cmd)), expected);
    }
    fs::remove_dir_all(top).unwrap();
}

/// `escape CASE` under cleave in real and in virtual time, and natively,
/// each started by `run` (which returns what the case printed): all three
/// must say `expected`.
fn in_both_times_and_natively(case: &str, expected: &str, run: fn(Command) -> String) {
    let top = temp_dir(case);
    let root = top.join("root");
    make_root(&root);
    for extra in [&[][..], &["--deterministic"]] {
        let mut args = vec!["run"];
        args.extend(extra);
        args.extend(["--root", s(&root), "/bin/escape", case]);
        assert_eq!(run(cleave_cmd(&args)), expected, "{extra:?}");
    }
    if let Some(native) = native(&format!("the native {case} reference")) {
        let mut cmd = Command::new(native);
        cmd.arg(case);
        assert_eq!(run(cmd), expected);
    }
    fs::remove_dir_all(top).unwrap();
}

#[test]
fn host_streams_keep_their_access_modes() {
    // Under `output()`, fds 1 and 2 are the write ends of host pipes.
    let expected = "read fd 1: EBADF\nread fd 2: EBADF\n";
    in_both_times_and_natively("readout", expected, |cmd| checked(output_of(cmd)));
}

/// `escape fullout` with stdout a host pipe nobody reads until the
/// program has said on stderr that its parent ran and killed the child
/// that filled the pipe: a full host stream must block only its writer.
fn stderr_beside_a_full_stdout(mut cmd: Command) -> String {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        let _ = tx.send(text);
    });
    // stderr ends only when the program has ended; stdout stays unread
    // until then (or until a minute says the writer stalled everyone).
    let text = rx.recv_timeout(Duration::from_secs(60));
    let mut stdout = child.stdout.take().unwrap();
    std::io::copy(&mut stdout, &mut std::io::sink()).unwrap();
    let status = child.wait().unwrap();
    let text = text.expect("the program never ended while its stdout was full");
    assert!(status.success(), "{status}: {text}");
    text
}

#[test]
fn a_full_host_stdout_blocks_only_its_writer() {
    let expected = "parent ran\nchild: killed\n";
    in_both_times_and_natively("fullout", expected, stderr_beside_a_full_stdout);
}

/// The host's mode, owner, times and contents of `path`, as `show` says.
fn host_meta(path: &Path) -> (u32, u32, u32, i64, i64, i64, i64, String) {
    let m = fs::metadata(path).unwrap();
    let text = String::from_utf8(fs::read(path).unwrap()).unwrap();
    (
        m.mode() & 0o7777,
        m.uid(),
        m.gid(),
        m.atime(),
        m.atime_nsec(),
        m.mtime(),
        m.mtime_nsec(),
        text,
    )
}

/// The lines of `show` without the paths they start with.
fn unnamed(show: &str) -> Vec<String> {
    show.lines()
        .map(|l| l.split_once(": ").map_or(l, |(_, rest)| rest).to_string())
        .collect()
}

#[test]
fn metadata_the_guest_sets_reaches_the_host() {
    let top = temp_dir("meta");
    let (root, m) = (top.join("root"), top.join("m"));
    make_root(&root);
    fs::create_dir_all(&m).unwrap();
    let mount = format!("{}:/m:rw", m.display());
    // A new top-level name of the root would be the kernel's own (tmpfs,
    // see kernel::fs): the files are made in a directory of the root.
    fs::create_dir_all(root.join("d")).unwrap();
    let root_rw = format!("{}:rw", root.display());
    let stdout = cleave(&[
        "run",
        "--root",
        &root_rw,
        "--mount",
        &mount,
        "/bin/escape",
        "setmeta",
        "/d/f",
        "/d/g",
        "+",
        "setmeta",
        "/m/f",
        "/m/g",
    ]);
    let root_user = running_as_root();
    let owner = if root_user { "ok" } else { "EPERM" };
    let set = format!(
        "\
write: ok
chmod: ok
chown to 1234:5678: {owner}
chown to -1:-1: ok
utimensat: ok
open: ok
write: ok
fchmod: ok
fchown to 4321:8765: {owner}
futimens: ok
"
    );
    assert_eq!(stdout, set.repeat(2));
    for dir in [&root.join("d"), &m] {
        let f = host_meta(&dir.join("f"));
        assert_eq!((f.0, f.7.as_str()), (0o751, "by path\n"));
        assert_eq!((f.3, f.4, f.5, f.6), (1_000_000_000, 5, 1_200_000_000, 7));
        let g = host_meta(&dir.join("g"));
        assert_eq!((g.0, g.7.as_str()), (0o704, "by fd\n"));
        assert_eq!((g.3, g.4), (1_100_000_000, 5));
        if root_user {
            assert_eq!((f.1, f.2, g.1, g.2), (1234, 5678, 4321, 8765));
        }
    }
    // A second run sees what the host kept, as the host does.
    let again = cleave(&[
        "run",
        "--root",
        &root_rw,
        "--mount",
        &mount,
        "/bin/escape",
        "show",
        "/d/f",
        "/d/g",
        "/m/f",
        "/m/g",
    ]);
    if let Some(native) = native("the native metadata reference") {
        let mut cmd = Command::new(native);
        cmd.arg("show");
        let d = root.join("d");
        cmd.args([d.join("f"), d.join("g"), m.join("f"), m.join("g")]);
        assert_eq!(unnamed(&again), unnamed(&checked(output_of(cmd))));
    }
    // A read-only root keeps everything as it is.
    let before = fingerprint(&root);
    let stdout = cleave(&[
        "run",
        "--root",
        s(&root),
        "/bin/escape",
        "setmeta",
        "/d/f",
        "/d/g",
    ]);
    assert!(
        stdout.starts_with("write: EROFS\nchmod: EROFS\n"),
        "{stdout}"
    );
    assert_eq!(fingerprint(&root), before);
    fs::remove_dir_all(top).unwrap();
}

#[test]
fn an_unprivileged_cleave_cannot_give_files_away() {
    // cleave run by a user without privilege (nobody, through setpriv when
    // the test runs as root): the guest is root to itself, but the host
    // refuses chown to another user, and the guest hears EPERM, as the
    // same program run natively by that user does.
    let root_user = running_as_root();
    let as_nobody = |cmd: &mut Command| {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
        c.arg(cmd.get_program())
            .args(cmd.get_args())
            .current_dir("/");
        c
    };
    if root_user && !testkit::tools::have("setpriv") {
        testkit::skip("the unprivileged metadata test", "setpriv not found");
        return;
    }
    let top = temp_dir("unpriv");
    let (root, native_dir) = (top.join("root"), top.join("native"));
    make_root(&root);
    fs::create_dir_all(root.join("d")).unwrap();
    fs::create_dir_all(&native_dir).unwrap();
    if root_user {
        for dir in [&root.join("d"), &native_dir] {
            std::os::unix::fs::chown(dir, Some(65534), Some(65534)).unwrap();
        }
    }
    let wrap = |mut cmd: Command| if root_user { as_nobody(&mut cmd) } else { cmd };
    let stdout = checked(output_of(wrap(cleave_cmd(&[
        "run",
        "--root",
        &format!("{}:rw", root.display()),
        "/bin/escape",
        "setmeta",
        "/d/f",
        "/d/g",
    ]))));
    assert!(stdout.contains("chown to 1234:5678: EPERM\n"), "{stdout}");
    if let Some(native) = native("the native unprivileged reference") {
        // The native build lies where nobody can run it.
        let prog = top.join("escape.native");
        fs::copy(native, &prog).unwrap();
        let mut cmd = Command::new(&prog);
        cmd.args([
            "setmeta",
            s(&native_dir.join("f")),
            s(&native_dir.join("g")),
        ]);
        assert_eq!(stdout, checked(output_of(wrap(cmd))));
    }
    let f = host_meta(&root.join("d/f"));
    assert_eq!(f.0, 0o751);
    assert_eq!((f.5, f.6), (1_200_000_000, 7));
    fs::remove_dir_all(top).unwrap();
}
