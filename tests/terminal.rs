//! The host terminal's signals belong to the guest: Ctrl-C and Ctrl-\
//! typed at the terminal cleave runs on are raised by the kernel in the
//! guest's foreground process group, and cleave itself carries on; in the
//! booted system, Ctrl-C ends the shell's foreground command and not the
//! shell. Ctrl-Z stops the guest's job, and cleave with it when no guest
//! shell is there to take the terminal back. The terminal's job control
//! (SIGTTIN, SIGTTOU, tcsetpgrp) is judged by Linux.

use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(30);

/// A program on a new pseudo-terminal that is its controlling terminal
/// (util-linux's `setsid --ctty`), with everything it shows collected.
struct OnTerminal {
    master: File,
    child: Child,
    shown: Arc<Mutex<Vec<u8>>>,
    reader: JoinHandle<()>,
}

impl OnTerminal {
    /// cleave with `args`; None (a skip) without util-linux's setsid.
    fn start(args: &[&str]) -> Option<OnTerminal> {
        OnTerminal::start_program(Path::new(env!("CARGO_BIN_EXE_cleave")), args)
    }

    fn start_program(program: &Path, args: &[&str]) -> Option<OnTerminal> {
        if Command::new("setsid").arg("--version").output().is_err() {
            testkit::skip(
                "the terminal tests",
                "setsid not found (Debian: util-linux)",
            );
            return None;
        }
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("a pseudo-terminal");
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        let slave = File::options()
            .read(true)
            .write(true)
            .open(Path::new(OsStr::from_bytes(name.as_bytes())))
            .unwrap();
        let child = Command::new("setsid")
            .arg("--ctty")
            .arg(program)
            .args(args)
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave)
            .spawn()
            .expect("setsid runs");
        let master = File::from(master);
        let shown = Arc::new(Mutex::new(Vec::new()));
        let (mut reader, sink) = (master.try_clone().unwrap(), shown.clone());
        // Ends with EIO once nothing holds the terminal open any more.
        let reader = std::thread::spawn(move || {
            let mut buf = [0; 4096];
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Some(OnTerminal {
            master,
            child,
            shown,
            reader,
        })
    }

    fn shown(&self) -> String {
        String::from_utf8_lossy(&self.shown.lock().unwrap()).into_owned()
    }

    fn wait_for(&mut self, text: &str) {
        self.wait_until(|t| t.shown().contains(text), &format!("{text:?}"));
    }

    /// Polls until `done`; after TIMEOUT, kills the program and fails,
    /// saying `what` never came.
    fn wait_until(&mut self, done: impl Fn(&OnTerminal) -> bool, what: &str) {
        let started = Instant::now();
        while !done(self) {
            if started.elapsed() > TIMEOUT {
                let _ = self.child.kill();
                panic!("{what} never came; the terminal shows {:?}", self.shown());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn type_keys(&mut self, keys: &[u8]) {
        self.master.write_all(keys).unwrap();
    }

    /// The program's exit status, once it ends.
    fn status(&mut self) -> i32 {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().expect("the program exits");
            }
            if started.elapsed() > TIMEOUT {
                let _ = self.child.kill();
                panic!(
                    "the program still runs; the terminal shows {:?}",
                    self.shown()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The exit status and all the terminal showed, once the program and
    /// everything it left holding the terminal have ended.
    fn finish(mut self) -> (i32, String) {
        let status = self.status();
        let shown = self.shown.clone();
        self.reader.join().unwrap();
        let shown = String::from_utf8_lossy(&shown.lock().unwrap()).into_owned();
        (status, shown)
    }

    /// The host's view of the program: its state letter in /proc/PID/stat.
    fn host_state(&self) -> char {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
        after_comm.chars().next().unwrap()
    }

    fn wait_for_state(&mut self, wanted: impl Fn(char) -> bool, what: &str) {
        self.wait_until(|t| wanted(t.host_state()), what);
    }
}

fn sigtest() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("userland/bin/sigtest");
    path.to_str().unwrap().to_string()
}

#[test]
fn ctrl_c_and_ctrl_backslash_signal_the_program() {
    let Some(mut t) = OnTerminal::start(&["run", &sigtest(), "terminal"]) else {
        return;
    };
    t.wait_for("ready");
    t.type_keys(b"\x03");
    t.wait_for("SIGINT from the kernel: yes");
    t.wait_for("ready again");
    // SIGQUIT's default action ends it (no core file: sigtest sets
    // RLIMIT_CORE to 0), and cleave reports that death.
    t.type_keys(b"\x1c");
    let (status, shown) = t.finish();
    assert_eq!(status, 128 + 3, "{shown}");
}

#[test]
fn ctrl_z_stops_cleave_with_a_job_no_guest_shell_controls() {
    let Some(mut t) = OnTerminal::start(&["run", &sigtest(), "terminal"]) else {
        return;
    };
    t.wait_for("ready");
    t.type_keys(b"\x03");
    t.wait_for("ready again");
    t.type_keys(b"\x1a");
    t.wait_for_state(|s| s == 'T', "cleave stopped (T)");
    // The host shell's `fg`.
    let cont = Command::new("kill")
        .args(["-CONT", &t.child.id().to_string()])
        .status()
        .unwrap();
    assert!(cont.success());
    t.wait_for_state(|s| s != 'T', "cleave running again");
    // The program carries on where it was: Ctrl-\ still ends it.
    t.type_keys(b"\x1c");
    let (status, shown) = t.finish();
    assert_eq!(status, 128 + 3, "{shown}");
}

#[test]
fn job_control_matches_linux() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("terminal");
    let Some(native) = testkit::tools::native_build("sigtest", &dir, "the job control test") else {
        return;
    };
    let Some(linux) = OnTerminal::start_program(&native, &["jobs"]) else {
        return;
    };
    let linux = linux.finish();
    let cleave = OnTerminal::start(&["run", &sigtest(), "jobs"])
        .unwrap()
        .finish();
    assert_eq!(cleave, linux);
}

/// In the booted shell, a command that says "running" and sleeps. Once
/// "running" shows, its shell has SIGINT at its default (the interactive
/// shell ignores it); the typed line's echo shows "running;" instead.
fn start_sleeper(t: &mut OnTerminal) {
    t.type_keys(b"sh -c 'echo running; exec sleep 30'\n");
    t.wait_for("running\r\n");
}

/// Ctrl-C ends the sleeper, and not the shell, which says 130.
fn interrupt_sleeper(t: &mut OnTerminal) {
    t.type_keys(b"\x03");
    t.type_keys(b"echo back $?\n");
    t.wait_for("back 130");
}

#[test]
fn ctrl_c_ends_the_shells_command_not_the_shell() {
    let Some(mut t) = OnTerminal::start(&[]) else {
        return;
    };
    start_sleeper(&mut t);
    interrupt_sleeper(&mut t);
    // At the prompt, ^C abandons the line typed so far.
    t.type_keys(b"echo never");
    t.wait_for("echo never");
    t.type_keys(b"\x03");
    t.wait_for("^C\r\ncleave# ");
    t.type_keys(b"echo after\n");
    t.wait_for("after\r\n");
    t.type_keys(b"exit\n");
    let (status, shown) = t.finish();
    assert_eq!(status, 0, "{shown}");
    assert!(!shown.contains("never\r\n"), "{shown}");
}

#[test]
fn the_shell_stops_continues_and_resumes_jobs() {
    let Some(mut t) = OnTerminal::start(&[]) else {
        return;
    };
    start_sleeper(&mut t);
    t.type_keys(b"\x1a");
    // Typed only at the prompt: keys typed ahead are echoed before it.
    t.wait_for("Stopped                 sh -c 'echo running; exec sleep 30'\r\ncleave# ");
    // fg gives it the terminal again: ^C then ends it.
    t.type_keys(b"fg\n");
    t.wait_for("fg\r\nsh -c 'echo running; exec sleep 30'\r\n");
    interrupt_sleeper(&mut t);
    // A background job that reads the terminal stops (SIGTTIN) until fg.
    t.type_keys(b"cat &\n");
    let started = Instant::now();
    while !t.shown().contains("Stopped                 cat") {
        assert!(started.elapsed() < TIMEOUT, "{}", t.shown());
        t.type_keys(b"jobs\n");
        std::thread::sleep(Duration::from_millis(100));
    }
    t.type_keys(b"fg %1\n");
    t.type_keys(b"typed\n\x04");
    t.type_keys(b"echo after $?\n");
    t.wait_for("after 0");
    t.type_keys(b"exit\n");
    let (status, shown) = t.finish();
    assert_eq!(status, 0, "{shown}");
    // fg names the job, then cat copies the line typed ahead to it.
    assert!(shown.contains("cat\r\ntyped\r\n"), "{shown}");
}
