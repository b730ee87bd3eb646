//! Credentials: user and group ids and the set*id rules of Linux's
//! kernel/sys.c and kernel/groups.c.
//!
//! Each rule is a method that returns the new credentials or the errno,
//! leaving the old ones untouched on failure; the system calls in
//! `syscall/cred.rs` install the result in the caller's [`ThreadGroup`].
//!
//! [`ThreadGroup`]: super::ThreadGroup

use crate::errno::{Errno, KResult};

/// (uid_t)-1 and (gid_t)-1: "leave this id alone" where a call allows it,
/// an invalid id everywhere else (it maps to no kuid).
pub const NO_ID: u32 = u32::MAX;

/// NGROUPS_MAX.
pub const NGROUPS_MAX: usize = 65536;

/// User and group ids: Linux's `struct cred`, the part that exists here.
///
/// Linux keeps credentials per thread and glibc makes setuid and friends
/// process-wide by repeating the call in every thread (SIGSETXID). Signals
/// are not delivered yet, so the credentials live in the [`ThreadGroup`]:
/// a set*id call changes them for every thread at once, which is what a
/// glibc program observes on Linux (a raw syscall(SYS_setuid) in one thread
/// would change that thread only on Linux).
///
/// Capabilities follow the effective ids as they do for an unnamespaced
/// Linux root without file capabilities: euid 0 holds CAP_SETUID,
/// CAP_SETGID, CAP_SYS_RESOURCE and the rest; any other euid holds none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cred {
    /// Real, effective, saved and filesystem user ids.
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub fsuid: u32,
    /// Real, effective, saved and filesystem group ids.
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub fsgid: u32,
    /// Supplementary groups, sorted (setgroups sorts them, as Linux does).
    pub groups: Vec<u32>,
}

impl Cred {
    /// The host user's ids: without a root of its own, the guest runs as
    /// the user who started cleave, so host files look the same to it.
    pub fn host() -> Cred {
        use rustix::process as p;
        let (uid, euid) = (p::getuid().as_raw(), p::geteuid().as_raw());
        let (gid, egid) = (p::getgid().as_raw(), p::getegid().as_raw());
        let mut groups: Vec<u32> = p::getgroups()
            .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
            .unwrap_or_default();
        groups.sort_unstable();
        Cred {
            uid,
            euid,
            suid: euid,
            fsuid: euid,
            gid,
            egid,
            sgid: egid,
            fsgid: egid,
            groups,
        }
    }

    /// Ids that are all `uid` and `gid`, with no supplementary groups.
    pub fn of(uid: u32, gid: u32) -> Cred {
        Cred {
            uid,
            euid: uid,
            suid: uid,
            fsuid: uid,
            gid,
            egid: gid,
            sgid: gid,
            fsgid: gid,
            groups: Vec::new(),
        }
    }

    /// Whether these ids carry the capabilities an unnamespaced root has
    /// (CAP_SETUID, CAP_SETGID, CAP_SYS_RESOURCE, CAP_KILL, ...).
    pub fn privileged(&self) -> bool {
        self.euid == 0
    }

    /// Linux's generic_permission on an inode of cleave's own (a host
    /// file's is the host's to decide): whether these ids may read (4),
    /// write (2) and execute or search (1) it, `bits` being those wanted.
    /// Root may do anything but execute a file no one may execute.
    pub fn permits(&self, i: &crate::fs::Inode, bits: u32) -> bool {
        if self.euid == 0 {
            return bits & 1 == 0 || i.is_dir() || i.mode & 0o111 != 0;
        }
        let shift = if self.euid == i.uid {
            6
        } else if self.egid == i.gid || self.groups.contains(&i.gid) {
            3
        } else {
            0
        };
        (i.mode >> shift) & bits == bits
    }

    /// Whether `gid` is the filesystem gid or a supplementary group
    /// (Linux's in_group_p), for permission checks on files.
    pub fn in_group(&self, gid: u32) -> bool {
        self.fsgid == gid || self.groups.binary_search(&gid).is_ok()
    }

    /// Linux's kill_ok_by_cred: a sender may signal a process if it is
    /// privileged or if its real or effective uid is the target's real or
    /// saved uid. (SIGCONT within a session is allowed regardless; the
    /// caller checks that.)
    pub fn may_signal(&self, target: &Cred) -> bool {
        self.privileged()
            || self.euid == target.suid
            || self.euid == target.uid
            || self.uid == target.suid
            || self.uid == target.uid
    }

    /// What execve does to the ids of a program without set-user-ID or
    /// set-group-ID bits (there are none here): the saved and filesystem
    /// ids become the effective ones.
    pub fn exec(&mut self) {
        self.suid = self.euid;
        self.fsuid = self.euid;
        self.sgid = self.egid;
        self.fsgid = self.egid;
    }
}

/// Which of the two id families a rule works on: the rules for gids are
/// the rules for uids with CAP_SETGID for CAP_SETUID (both held by euid 0
/// here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ids {
    User,
    Group,
}

/// The four ids of one family, in the order real, effective, saved, fs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Four {
    r: u32,
    e: u32,
    s: u32,
    fs: u32,
}

impl Cred {
    fn four(&self, ids: Ids) -> Four {
        match ids {
            Ids::User => Four {
                r: self.uid,
                e: self.euid,
                s: self.suid,
                fs: self.fsuid,
            },
            Ids::Group => Four {
                r: self.gid,
                e: self.egid,
                s: self.sgid,
                fs: self.fsgid,
            },
        }
    }

    fn with(&self, ids: Ids, f: Four) -> Cred {
        let mut c = self.clone();
        match ids {
            Ids::User => (c.uid, c.euid, c.suid, c.fsuid) = (f.r, f.e, f.s, f.fs),
            Ids::Group => (c.gid, c.egid, c.sgid, c.fsgid) = (f.r, f.e, f.s, f.fs),
        }
        c
    }

    /// setuid / setgid: privileged callers set the real, effective, saved
    /// and fs ids; others may set the effective (and fs) id to the real or
    /// saved one.
    pub fn set_id(&self, ids: Ids, id: u32) -> KResult<Cred> {
        if id == NO_ID {
            return Err(Errno::EINVAL);
        }
        let old = self.four(ids);
        let mut new = old;
        if self.privileged() {
            new.r = id;
            new.s = id;
        } else if id != old.r && id != old.s {
            return Err(Errno::EPERM);
        }
        new.e = id;
        new.fs = id;
        Ok(self.with(ids, new))
    }

    /// setreuid / setregid: the real id may become the real or effective
    /// one, the effective id any of the three; the saved id follows the
    /// new effective one if the real id was set or the effective one set
    /// to something other than the old real id.
    pub fn set_re(&self, ids: Ids, r: u32, e: u32) -> KResult<Cred> {
        let old = self.four(ids);
        let mut new = old;
        let cap = self.privileged();
        if r != NO_ID {
            new.r = r;
            if r != old.r && r != old.e && !cap {
                return Err(Errno::EPERM);
            }
        }
        if e != NO_ID {
            new.e = e;
            if e != old.r && e != old.e && e != old.s && !cap {
                return Err(Errno::EPERM);
            }
        }
        if r != NO_ID || (e != NO_ID && e != old.r) {
            new.s = new.e;
        }
        new.fs = new.e;
        Ok(self.with(ids, new))
    }

    /// setresuid / setresgid: each id that is not -1 is set; an
    /// unprivileged caller may only use ids it already has as real,
    /// effective or saved.
    pub fn set_res(&self, ids: Ids, r: u32, e: u32, s: u32) -> KResult<Cred> {
        let old = self.four(ids);
        // A no-op changes nothing, not even the fs id.
        if (r == NO_ID || r == old.r)
            && (e == NO_ID || (e == old.e && e == old.fs))
            && (s == NO_ID || s == old.s)
        {
            return Ok(self.clone());
        }
        let known = |id: u32| id == NO_ID || id == old.r || id == old.e || id == old.s;
        if !(self.privileged() || known(r) && known(e) && known(s)) {
            return Err(Errno::EPERM);
        }
        let mut new = old;
        if r != NO_ID {
            new.r = r;
        }
        if e != NO_ID {
            new.e = e;
        }
        if s != NO_ID {
            new.s = s;
        }
        new.fs = new.e;
        Ok(self.with(ids, new))
    }

    /// setfsuid / setfsgid: returns the old fs id and the new credentials.
    /// The call never fails: an id that is not allowed (or -1) changes
    /// nothing, which a caller detects by calling again.
    pub fn set_fs(&self, ids: Ids, id: u32) -> (u32, Cred) {
        let old = self.four(ids);
        let allowed = id == old.r || id == old.e || id == old.s || id == old.fs;
        if id == NO_ID || !(allowed || self.privileged()) {
            return (old.fs, self.clone());
        }
        (old.fs, self.with(ids, Four { fs: id, ..old }))
    }

    /// setgroups: needs CAP_SETGID; the list is stored sorted.
    pub fn set_groups(&self, mut groups: Vec<u32>) -> KResult<Cred> {
        if !self.privileged() {
            return Err(Errno::EPERM);
        }
        if groups.contains(&NO_ID) {
            return Err(Errno::EINVAL);
        }
        groups.sort_unstable();
        Ok(Cred {
            groups,
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(r: u32, e: u32, s: u32) -> Cred {
        Cred {
            uid: r,
            euid: e,
            suid: s,
            fsuid: e,
            ..Cred::default()
        }
    }

    fn ids(c: &Cred) -> (u32, u32, u32, u32) {
        (c.uid, c.euid, c.suid, c.fsuid)
    }

    #[test]
    fn setuid_as_root_sets_all_and_as_user_only_effective() {
        let root = Cred::of(0, 0);
        let c = root.set_id(Ids::User, 1000).unwrap();
        assert_eq!(ids(&c), (1000, 1000, 1000, 1000));
        // No way back: the saved id went too.
        assert_eq!(c.set_id(Ids::User, 0), Err(Errno::EPERM));
        assert_eq!(root.set_id(Ids::User, NO_ID), Err(Errno::EINVAL));
        // Unprivileged: among real and saved; the saved id stays.
        let u = user(1000, 2000, 3000);
        assert_eq!(
            ids(&u.set_id(Ids::User, 3000).unwrap()),
            (1000, 3000, 3000, 3000)
        );
        assert_eq!(
            ids(&u.set_id(Ids::User, 1000).unwrap()),
            (1000, 1000, 3000, 1000)
        );
        assert_eq!(u.set_id(Ids::User, 2000), Err(Errno::EPERM));
        // euid 1000 with saved 0: setuid(0) is allowed (saved id) and,
        // being unprivileged at the time, leaves real and saved alone.
        let dropped = user(1000, 1000, 0);
        let back = dropped.set_id(Ids::User, 0).unwrap();
        assert_eq!(ids(&back), (1000, 0, 0, 0));
    }

    #[test]
    fn setreuid_rules() {
        let u = user(1000, 2000, 3000);
        // Swap real and effective.
        let c = u.set_re(Ids::User, 2000, 1000).unwrap();
        assert_eq!(ids(&c), (2000, 1000, 1000, 1000));
        // Real may not become the saved id.
        assert_eq!(u.set_re(Ids::User, 3000, NO_ID), Err(Errno::EPERM));
        // Effective to the real one: the saved id stays.
        let c = u.set_re(Ids::User, NO_ID, 1000).unwrap();
        assert_eq!(ids(&c), (1000, 1000, 3000, 1000));
        // Effective to the saved one: the saved id follows (it already is).
        let c = u.set_re(Ids::User, NO_ID, 3000).unwrap();
        assert_eq!(ids(&c), (1000, 3000, 3000, 3000));
        assert_eq!(u.set_re(Ids::User, NO_ID, 4000), Err(Errno::EPERM));
        // Both -1: nothing changes but fs follows effective.
        assert_eq!(ids(&u.set_re(Ids::User, NO_ID, NO_ID).unwrap()), ids(&u));
        let root = Cred::of(0, 0);
        let c = root.set_re(Ids::User, 5, 6).unwrap();
        assert_eq!(ids(&c), (5, 6, 6, 6));
    }

    #[test]
    fn setresuid_rules() {
        let root = Cred::of(0, 0);
        let c = root.set_res(Ids::User, 54321, 54321, 54321).unwrap();
        assert_eq!(ids(&c), (54321, 54321, 54321, 54321));
        assert!(!c.privileged());
        assert_eq!(c.set_res(Ids::User, 0, NO_ID, NO_ID), Err(Errno::EPERM));
        // Keep root as saved: drop and come back.
        let c = root.set_res(Ids::User, 1, 1, NO_ID).unwrap();
        assert_eq!(ids(&c), (1, 1, 0, 1));
        let c = c.set_res(Ids::User, NO_ID, 0, NO_ID).unwrap();
        assert_eq!(ids(&c), (1, 0, 0, 0));
        // Unprivileged permutations of its own ids.
        let u = user(1, 2, 3);
        assert_eq!(ids(&u.set_res(Ids::User, 3, 1, 2).unwrap()), (3, 1, 2, 1));
        assert_eq!(u.set_res(Ids::User, 4, NO_ID, NO_ID), Err(Errno::EPERM));
    }

    #[test]
    fn setfsuid_and_groups() {
        let u = user(1, 2, 3);
        let (old, c) = u.set_fs(Ids::User, 3);
        assert_eq!((old, c.fsuid), (2, 3));
        let (old, c2) = c.set_fs(Ids::User, 9);
        assert_eq!((old, c2.fsuid), (3, 3));
        let (old, c3) = c.set_fs(Ids::User, NO_ID);
        assert_eq!((old, c3.fsuid), (3, 3));
        // Group ids follow the same rules, separately.
        let g = Cred::of(0, 0).set_res(Ids::Group, 7, 8, 9).unwrap();
        assert_eq!((g.gid, g.egid, g.sgid, g.fsgid, g.uid), (7, 8, 9, 8, 0));
        let g = g.set_groups(vec![30, 10, 20]).unwrap();
        assert_eq!(g.groups, [10, 20, 30]);
        assert!(g.in_group(20) && g.in_group(8) && !g.in_group(7));
        assert_eq!(g.set_groups(vec![NO_ID]), Err(Errno::EINVAL));
        assert_eq!(u.set_groups(vec![]), Err(Errno::EPERM));
    }

    #[test]
    fn exec_and_signal_permission() {
        let mut c = user(1, 2, 3);
        c.exec();
        assert_eq!(ids(&c), (1, 2, 2, 2));
        let other = user(5, 1, 5);
        // Sender's uid 1 is neither the target's real nor saved uid.
        assert!(!c.may_signal(&other));
        assert!(c.may_signal(&user(2, 9, 9)));
        assert!(Cred::of(0, 0).may_signal(&other));
    }
}
