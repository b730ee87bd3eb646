/*
 * fsprobe CASE: procfs, mount, chroot, statfs and terminal probes,
 * compared with the same source run natively (tests/guest.rs). Output is
 * facts that hold on any Linux: relations between what /proc says and what
 * the system calls say, errno names, counts. Mounting needs root: where it
 * is refused (EPERM) the case says so and stops, natively and in cleave.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <poll.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "guest.h"

static int g_argc;
static char **g_argv;

static const char *errname(int e)
{
	switch (e) {
	case 0: return "ok";
	case ENOENT: return "ENOENT";
	case ENOTDIR: return "ENOTDIR";
	case EINVAL: return "EINVAL";
	case EBUSY: return "EBUSY";
	case ENODEV: return "ENODEV";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENOTTY: return "ENOTTY";
	case EAGAIN: return "EAGAIN";
	case EBADF: return "EBADF";
	case EXDEV: return "EXDEV";
	case EROFS: return "EROFS";
	default: return "other";
	}
}

/* What the kernel calls us: argv[0]'s last component, at most 15 bytes. */
static const char *comm_name(void)
{
	static char name[16];
	const char *slash = strrchr(g_argv[0], '/');
	snprintf(name, sizeof name, "%s", slash ? slash + 1 : g_argv[0]);
	return name;
}

static const char *res(long r)
{
	return r < 0 ? errname(errno) : "ok";
}

/* The whole of a (small) file, NUL-terminated; its length in *len. */
static char *slurp(const char *path, size_t *len)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	size_t n = 0;
	if (fd < 0)
		return NULL;
	for (ssize_t r; n < sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0;)
		n += r;
	close(fd);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

/* The value after "Name:\t" in a status file, up to the line's end. */
static long status_field(const char *status, const char *name, char *out, size_t size)
{
	char key[64];
	snprintf(key, sizeof key, "\n%s:\t", name);
	const char *p = strncmp(status, key + 1, strlen(key + 1)) ? strstr(status, key) : status - 1;
	if (!p)
		return -1;
	p += strlen(key);
	size_t n = strcspn(p, "\n");
	if (n >= size)
		n = size - 1;
	memcpy(out, p, n);
	out[n] = 0;
	return atol(out);
}

static int stat_self(void)
{
	char *s = slurp("/proc/self/stat", NULL);
	if (!s)
		return 1;
	int pid, ppid, pgrp, sid;
	char comm[64], state;
	char *open = strchr(s, '('), *close = strrchr(s, ')');
	snprintf(comm, sizeof comm, "%.*s", (int)(close - open - 1), open + 1);
	sscanf(s, "%d", &pid);
	sscanf(close + 2, "%c %d %d %d", &state, &ppid, &pgrp, &sid);
	int fields = 2;
	for (char *p = close + 1; *p; p++)
		if (*p == ' ')
			fields++;
	long threads = 0;
	sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %ld",
	       &threads);
	say("fields %d", fields);
	say("pid is getpid: %s", yesno(pid == getpid()));
	say("comm is the name: %s", yesno(!strcmp(comm, comm_name())));
	say("state: %c", state);
	say("ppid is getppid: %s", yesno(ppid == getppid()));
	say("pgrp is getpgrp: %s", yesno(pgrp == getpgrp()));
	say("session is getsid: %s", yesno(sid == getsid(0)));
	say("threads: %ld", threads);
	return 0;
}

static int status_self(void)
{
	char *s = slurp("/proc/self/status", NULL);
	char v[256];
	if (!s)
		return 1;
	status_field(s, "Name", v, sizeof v);
	say("Name is the name: %s", yesno(!strcmp(v, comm_name())));
	status_field(s, "State", v, sizeof v);
	say("State: %s", v);
	say("Tgid is getpid: %s", yesno(status_field(s, "Tgid", v, sizeof v) == getpid()));
	say("Pid is gettid: %s", yesno(status_field(s, "Pid", v, sizeof v) == gettid()));
	say("PPid is getppid: %s", yesno(status_field(s, "PPid", v, sizeof v) == getppid()));
	status_field(s, "Uid", v, sizeof v);
	char want[128];
	snprintf(want, sizeof want, "%d\t%d\t%d\t%d", getuid(), geteuid(), geteuid(), geteuid());
	say("Uid line is the ids: %s", yesno(!strcmp(v, want)));
	say("Threads: %ld", status_field(s, "Threads", v, sizeof v));
	say("VmRSS positive: %s", yesno(status_field(s, "VmRSS", v, sizeof v) > 0));
	/* The order of the first lines is Linux's. */
	const char *order[] = {"Name:", "Umask:", "State:", "Tgid:", "Ngid:", "Pid:", "PPid:", "TracerPid:", "Uid:", "Gid:"};
	const char *p = s;
	int in_order = 1;
	for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
		in_order &= !strncmp(p, order[i], strlen(order[i]));
		p = strchr(p, '\n') + 1;
	}
	say("first lines in order: %s", yesno(in_order));
	return 0;
}

static int cmdline(void)
{
	size_t n;
	char *s = slurp("/proc/self/cmdline", &n);
	char want[4096];
	size_t w = 0;
	for (int i = 0; i < g_argc; i++) {
		strcpy(want + w, g_argv[i]);
		w += strlen(g_argv[i]) + 1;
	}
	say("cmdline is argv: %s", yesno(s && n == w && !memcmp(s, want, n)));
	s = slurp("/proc/self/comm", &n);
	say("comm is the name and a newline: %s",
	    yesno(s && n == strlen(comm_name()) + 1 && !strncmp(s, comm_name(), n - 1) && s[n - 1] == '\n'));
	s = slurp("/proc/self/environ", &n);
	say("environ has PATH or is empty: %s",
	    yesno(s && (n == 0 || memmem(s, n, "PATH=", 5) || environ[0] == NULL)));
	return 0;
}

/* readlink into `out` (size 256), NUL-terminated; "" when it fails. */
static char *link_of(const char *path, char *out)
{
	ssize_t n = readlink(path, out, 255);
	out[n > 0 ? n : 0] = 0;
	return out;
}

static int has_fd(int fd)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct stat st;
	return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

static int fds(void)
{
	int null = open("/dev/null", O_RDONLY);
	int copy = dup(null);
	int p[2];
	if (null < 0 || copy < 0 || pipe(p) != 0)
		return 1;
	char link[256], target[256];
	say("fd 3: %s", link_of("/proc/self/fd/3", target));
	snprintf(link, sizeof link, "/proc/self/fd/%d", copy);
	say("dup: %s", link_of(link, target));
	char want[64];
	struct stat st;
	fstat(p[0], &st);
	snprintf(want, sizeof want, "pipe:[%lu]", (unsigned long)st.st_ino);
	snprintf(link, sizeof link, "/proc/self/fd/%d", p[1]);
	say("pipe link names its inode: %s", yesno(!strcmp(link_of(link, target), want)));
	say("listed: %s %s %s %s", yesno(has_fd(null)), yesno(has_fd(copy)), yesno(has_fd(p[0])),
	    yesno(has_fd(p[1])));
	close(copy);
	say("closed is gone: %s", yesno(!has_fd(copy)));
	/* Opening the link opens the file itself. */
	snprintf(link, sizeof link, "/proc/self/fd/%d", null);
	int again = open(link, O_RDONLY);
	struct stat a, b;
	fstat(again, &a);
	fstat(null, &b);
	say("reopened is the same file: %s", yesno(again >= 0 && a.st_ino == b.st_ino && a.st_rdev == b.st_rdev));
	snprintf(link, sizeof link, "/proc/self/fdinfo/%d", null);
	char *info = slurp(link, NULL);
	say("fdinfo starts with pos: %s", yesno(info && !strncmp(info, "pos:\t0\nflags:\t", 14)));
	say("missing fd: %s", res(open("/proc/self/fd/999", O_RDONLY)));
	/* A pipe opened again O_RDWR is a reader and a writer, as a FIFO is:
	 * with both first ends closed it still takes writes and gives them
	 * back, and polls writable, not hung up. */
	snprintf(link, sizeof link, "/proc/self/fd/%d", p[0]);
	int rw = open(link, O_RDWR);
	close(p[0]);
	close(p[1]);
	say("pipe reopened O_RDWR: %s", rw >= 0 ? "ok" : strerror(errno));
	char buf[4] = "";
	ssize_t wrote = write(rw, "xy", 2);
	say("write %zd, read %zd", wrote, read(rw, buf, sizeof buf));
	struct pollfd pfd = {.fd = rw, .events = POLLIN | POLLOUT};
	poll(&pfd, 1, 0);
	say("polls %#x", pfd.revents);
	return 0;
}

static int maps_exe(void)
{
	char exe[4096], real[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = 0;
	say("exe is argv[0]'s real path: %s", yesno(realpath(g_argv[0], real) && !strcmp(exe, real)));
	char *m = slurp("/proc/self/maps", NULL);
	int stack = 0, named = 0, lines = 0;
	for (char *line = m; line && *line; line = strchr(line, '\n') + 1) {
		size_t len = strcspn(line, "\n");
		lines++;
		stack |= len > 7 && !memcmp(line + len - 7, "[stack]", 7);
		named |= len > strlen(exe) && !memcmp(line + len - strlen(exe), exe, strlen(exe));
		if (!line[len])
			break;
	}
	say("maps has [stack]: %s, the exe: %s, lines > 3: %s", yesno(stack), yesno(named), yesno(lines > 3));
	char cwd[4096];
	n = readlink("/proc/self/cwd", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = 0;
	say("cwd link is getcwd: %s", yesno(getcwd(cwd, sizeof cwd) && !strcmp(cwd, exe)));
	n = readlink("/proc/self/root", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = 0;
	say("root link: %s", exe);
	return 0;
}

static int pids(void)
{
	char self[64], want[64];
	ssize_t n = readlink("/proc/self", self, sizeof self - 1);
	self[n > 0 ? n : 0] = 0;
	snprintf(want, sizeof want, "%d", getpid());
	say("self is the pid: %s", yesno(!strcmp(self, want)));
	n = readlink("/proc/thread-self", self, sizeof self - 1);
	self[n > 0 ? n : 0] = 0;
	snprintf(want, sizeof want, "%d/task/%d", getpid(), gettid());
	say("thread-self: %s", yesno(!strcmp(self, want)));
	int found = 0, others = 0;
	DIR *d = opendir("/proc");
	for (struct dirent *e; d && (e = readdir(d));) {
		if (atoi(e->d_name) == getpid())
			found = e->d_type == DT_DIR;
		else if (atoi(e->d_name) > 0)
			others = 1;
	}
	closedir(d);
	say("readdir lists me: %s, others: %s", yesno(found), yesno(others));
	int pipefd[2];
	if (pipe(pipefd) != 0)
		return 1;
	pid_t child = fork();
	if (child == 0) {
		char c;
		close(pipefd[1]);
		read(pipefd[0], &c, 1);
		_exit(3);
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", child);
	char *s = slurp(path, NULL);
	int ppid = 0;
	char state = '?';
	if (s)
		sscanf(strrchr(s, ')') + 2, "%c %d", &state, &ppid);
	say("child: running or sleeping: %s, ppid is me: %s", yesno(state == 'R' || state == 'S'),
	    yesno(ppid == getpid()));
	close(pipefd[1]);
	/* A zombie until reaped. */
	siginfo_t info;
	waitid(P_PID, child, &info, WEXITED | WNOWAIT);
	s = slurp(path, NULL);
	if (s)
		sscanf(strrchr(s, ')') + 2, "%c", &state);
	say("exited child: %c", state);
	waitpid(child, NULL, 0);
	say("reaped child: %s", res(open(path, O_RDONLY)));
	snprintf(path, sizeof path, "/proc/%d", child);
	struct stat st;
	say("its directory: %s", res(stat(path, &st)));
	return 0;
}

static void *sleeper(void *arg)
{
	int fd = *(int *)arg;
	char c;
	read(fd, &c, 1);
	return NULL;
}

static int tasks(void)
{
	int p[2];
	pthread_t t;
	if (pipe(p) != 0 || pthread_create(&t, NULL, sleeper, &p[0]) != 0)
		return 1;
	int n = 0, mine = 0;
	DIR *d = opendir("/proc/self/task");
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		mine |= atoi(e->d_name) == gettid();
	}
	closedir(d);
	say("tasks: %d, mine listed: %s", n, yesno(mine));
	char *s = slurp("/proc/self/status", NULL);
	char v[64];
	say("Threads: %ld", status_field(s, "Threads", v, sizeof v));
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", gettid());
	s = slurp(path, NULL);
	say("task stat is mine: %s", yesno(s && atoi(s) == gettid()));
	snprintf(path, sizeof path, "/proc/self/task/%d/comm", gettid());
	s = slurp(path, NULL);
	say("task comm is the name: %s", yesno(s && !strncmp(s, comm_name(), strlen(comm_name()))));
	write(p[1], "x", 1);
	pthread_join(t, NULL);
	return 0;
}

static int system_files(void)
{
	char *s = slurp("/proc/meminfo", NULL);
	say("meminfo starts with MemTotal: %s", yesno(s && !strncmp(s, "MemTotal:", 9)));
	say("meminfo has MemAvailable: %s", yesno(s && strstr(s, "\nMemAvailable:")));
	s = slurp("/proc/uptime", NULL);
	double up = -1, idle = -1;
	if (s)
		sscanf(s, "%lf %lf", &up, &idle);
	say("uptime: two numbers: %s", yesno(up >= 0 && idle >= 0));
	s = slurp("/proc/loadavg", NULL);
	int running = 0, total = 0;
	if (s)
		sscanf(s, "%*f %*f %*f %d/%d", &running, &total);
	say("loadavg: running %s total: %s", running >= 1 ? ">= 1 <=" : "?", yesno(running <= total));
	s = slurp("/proc/stat", NULL);
	say("stat starts with cpu: %s", yesno(s && !strncmp(s, "cpu  ", 5)));
	s = slurp("/proc/filesystems", NULL);
	say("filesystems has tmpfs and proc: %s",
	    yesno(s && strstr(s, "nodev\ttmpfs\n") && strstr(s, "nodev\tproc\n")));
	s = slurp("/proc/version", NULL);
	say("version starts with Linux version: %s", yesno(s && !strncmp(s, "Linux version ", 14)));
	s = slurp("/proc/self/mounts", NULL);
	say("mounts has proc on /proc: %s", yesno(s && strstr(s, " /proc proc ")));
	char link[64];
	ssize_t n = readlink("/proc/mounts", link, sizeof link - 1);
	link[n > 0 ? n : 0] = 0;
	say("/proc/mounts: %s", link);
	int fd = open("/proc/self/stat", O_WRONLY);
	say("open stat for writing: %s", res(fd));
	if (fd >= 0)
		say("write to stat: %s", res(write(fd, "x", 1)));
	close(fd);
	return 0;
}

static int statfs_case(void)
{
	struct statfs s;
	say("statfs /proc: %s", res(statfs("/proc", &s)));
	say("proc magic: %s", yesno(s.f_type == 0x9fa0));
	int fd = open("/proc/self/stat", O_RDONLY);
	long r = fstatfs(fd, &s);
	say("fstatfs: %s, proc: %s", res(r), yesno(s.f_type == 0x9fa0));
	close(fd);
	r = statfs("/tmp", &s);
	say("statfs /tmp: %s, bsize > 0: %s, namelen 255: %s", res(r), yesno(s.f_bsize > 0),
	    yesno(s.f_namelen == 255));
	say("statfs missing: %s", res(statfs("/nonexistent/x", &s)));
	int p[2];
	if (pipe(p) != 0)
		return 1;
	r = fstatfs(p[0], &s);
	say("fstatfs pipe: %s, pipefs: %s", res(r), yesno(s.f_type == 0x50495045));
	say("fstatfs bad fd: %s", res(fstatfs(99, &s)));
	return 0;
}

static int mount_tmpfs(void)
{
	enter_scratch();
	mkdir("m", 0755);
	int r = mount("none", "m", "tmpfs", 0, NULL);
	say("mount tmpfs: %s", res(r));
	if (r != 0) {
		leave_scratch();
		return 0;
	}
	struct statfs s;
	statfs("m", &s);
	say("tmpfs magic: %s", yesno(s.f_type == 0x01021994));
	int n = 0;
	DIR *d = opendir("m");
	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	say("entries: %d", n);
	close(open("m/file", O_CREAT | O_WRONLY, 0644));
	struct stat a, b;
	stat(".", &a);
	stat("m", &b);
	say("own device: %s", yesno(a.st_dev != b.st_dev));
	say("rename across: %s", res(rename("m/file", "file")));
	if (chdir("m") == 0) {
		say("umount busy: %s", res(umount("../m")));
		chdir("..");
	}
	say("umount: %s", res(umount("m")));
	struct stat st;
	say("file after umount: %s", res(stat("m/file", &st)));
	say("umount again: %s", res(umount("m")));
	say("unknown type: %s", res(mount("none", "m", "nosuchfs", 0, NULL)));
	say("missing target: %s", res(mount("none", "missing", "tmpfs", 0, NULL)));
	close(open("f", O_CREAT | O_WRONLY, 0644));
	say("file target: %s", res(mount("none", "f", "tmpfs", 0, NULL)));
	say("read-only: %s", res(mount("none", "m", "tmpfs", MS_RDONLY, NULL)));
	say("create there: %s", res(open("m/x", O_CREAT | O_WRONLY, 0644)));
	say("remount rw: %s", res(mount(NULL, "m", NULL, MS_REMOUNT, NULL)));
	int fd = open("m/x", O_CREAT | O_WRONLY, 0644);
	say("create after remount: %s", res(fd));
	close(fd);
	say("lazy umount: %s", res(umount2("m", MNT_DETACH)));
	say("bad flags: %s", res(umount2("m", 0x100)));
	mkdir("b", 0755);
	say("bind: %s", res(mount("m", "b", NULL, MS_BIND, NULL)));
	close(open("m/seen", O_CREAT | O_WRONLY, 0644));
	say("seen through bind: %s", res(stat("b/seen", &st)));
	say("umount bind: %s", res(umount("b")));
	unlink("m/seen");
	unlink("f");
	rmdir("b");
	rmdir("m");
	leave_scratch();
	return 0;
}

static int chroot_case(void)
{
	enter_scratch();
	mkdir("jail", 0755);
	mkdir("jail/sub", 0755);
	symlink("/", "jail/up");
	symlink("../../..", "jail/sub/rel");
	pid_t child = fork();
	if (child == 0) {
		int r = chroot("jail");
		say("chroot: %s", res(r));
		if (r != 0)
			_exit(0);
		char buf[256];
		say("getcwd outside root: %s", getcwd(buf, sizeof buf) ? "path" : errname(errno));
		say("chdir /: %s", res(chdir("/")));
		say("getcwd: %s", getcwd(buf, sizeof buf) ? buf : errname(errno));
		struct stat root, st;
		stat("/", &root);
		stat("/..", &st);
		say(".. of / is /: %s", yesno(st.st_ino == root.st_ino));
		stat("/up", &st);
		say("absolute link stays: %s", yesno(st.st_ino == root.st_ino));
		stat("/sub/rel", &st);
		say("relative link stays: %s", yesno(st.st_ino == root.st_ino));
		int n = 0;
		DIR *d = opendir("/");
		for (struct dirent *e; d && (e = readdir(d));)
			n += e->d_name[0] != '.';
		say("entries in new root: %d", n);
		say("tmp inside: %s", res(stat("/tmp", &st)));
		_exit(0);
	}
	waitpid(child, NULL, 0);
	unlink("jail/sub/rel");
	unlink("jail/up");
	rmdir("jail/sub");
	rmdir("jail");
	leave_scratch();
	return 0;
}

static int terminals(void)
{
	int p[2];
	if (pipe(p) != 0)
		return 1;
	errno = 0;
	int t = isatty(p[0]);
	say("isatty(pipe): %d %s", t, errname(errno));
	struct termios tio;
	say("tcgetattr(pipe): %s", res(tcgetattr(p[0], &tio)));
	int fd = open("/dev/null", O_RDONLY);
	errno = 0;
	t = isatty(fd);
	say("isatty(/dev/null): %d %s", t, errname(errno));
	struct winsize ws;
	say("TIOCGWINSZ(/dev/null): %s", res(ioctl(fd, TIOCGWINSZ, &ws)));
	pid_t pg;
	say("TIOCGPGRP(pipe): %s", res(ioctl(p[0], TIOCGPGRP, &pg)));
	int on = 1;
	say("FIONBIO: %s", res(ioctl(p[0], FIONBIO, &on)));
	char c;
	say("read empty nonblocking: %s", res(read(p[0], &c, 1)));
	write(p[1], "abc", 3);
	int avail = -1;
	int r = ioctl(p[0], FIONREAD, &avail);
	say("FIONREAD: %s %d", res(r), avail);
	r = ioctl(fd, FIOCLEX);
	say("FIOCLEX: %s, cloexec: %s", res(r), yesno(fcntl(fd, F_GETFD) & FD_CLOEXEC));
	say("bad fd: %s", res(ioctl(99, TCGETS, &tio)));
	return 0;
}

/*
 * Not a case: tests/hostdirs.rs runs `fsprobe confine` with a host
 * directory as / (read-only) and another at /w (writable), whose links
 * point outward, and checks both what it prints and the host afterwards.
 */
static int confine(void)
{
	struct stat st, root;
	stat("/", &root);
	int fd = open("/w/new", O_CREAT | O_WRONLY | O_EXCL, 0644);
	say("create: %s", res(fd));
	say("write: %s", res(write(fd, "data", 4)));
	close(fd);
	say("mkdir: %s", res(mkdir("/w/d", 0755)));
	say("rename: %s", res(rename("/w/new", "/w/d/moved")));
	stat("/w/d/moved", &st);
	say("size: %ld", (long)st.st_size);
	stat("/w/..", &st);
	say("/w/.. is /: %s", yesno(st.st_ino == root.st_ino && st.st_dev == root.st_dev));
	stat("/w/up", &st);
	say("relative link up is /: %s", yesno(st.st_ino == root.st_ino && st.st_dev == root.st_dev));
	fd = open("/w/up/escape", O_CREAT | O_WRONLY, 0644);
	say("create through up: %s", res(fd));
	close(fd);
	char buf[64] = "";
	fd = open("/w/abs/etc/hostname", O_RDONLY);
	buf[read(fd, buf, sizeof buf - 1) > 0 ? strcspn(buf, "\n") : 0] = 0;
	close(fd);
	say("through abs: %s", buf);
	say("symlink: %s", res(symlink("/etc/target", "/w/lnk")));
	say("create through it: %s", res(open("/w/lnk", O_CREAT | O_WRONLY, 0644)));
	say("write to the root: %s", res(open("/etc/hostname", O_WRONLY)));
	say("write to a top-level file: %s", res(open("/top", O_WRONLY | O_TRUNC)));
	say("mkdir in the root: %s", res(mkdir("/etc/new", 0755)));
	fd = open("/w/trunc", O_CREAT | O_WRONLY, 0644);
	write(fd, "0123456789", 10);
	say("ftruncate: %s", res(ftruncate(fd, 3)));
	fstat(fd, &st);
	say("size after: %ld", (long)st.st_size);
	close(fd);
	say("unlink: %s", res(unlink("/w/d/moved")));
	say("rmdir: %s", res(rmdir("/w/d")));
	say("rmdir missing: %s", res(rmdir("/w/d")));
	return 0;
}

static sigjmp_buf bus_jump;

static void on_bus(int sig)
{
	siglongjmp(bus_jump, sig);
}

/* Whether a load at `p` is SIGBUS, else the byte there. */
static const char *touch(const volatile char *p)
{
	static char byte[8];
	if (sigsetjmp(bus_jump, 1))
		return "SIGBUS";
	snprintf(byte, sizeof byte, "%d", *p);
	return byte;
}

/*
 * Not a case: tests/hostdirs.rs runs `fsprobe hostmap /w` with a writable
 * host directory at /w (natively, any directory), and checks what it
 * prints and, afterwards, the host file DIR/f: MAP_SHARED stores, write()
 * and truncate stay coherent, and the stores reach the file (msync, fsync,
 * munmap).
 */
static int hostmap(const char *dir)
{
	char path[256], buf[8] = "";
	snprintf(path, sizeof path, "%s/f", dir);
	struct sigaction sa = {.sa_handler = on_bus};
	sigaction(SIGBUS, &sa, NULL);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	say("ftruncate: %s", res(ftruncate(fd, 8192)));
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	say("mmap: %s", p == MAP_FAILED ? "failed" : "ok");
	memcpy(p, "store", 5);
	pread(fd, buf, 5, 0);
	say("read sees the store: %s", buf);
	pwrite(fd, "WRITE", 5, 0);
	say("the map sees write(): %.5s", p);
	memcpy(p + 10, "tail", 4);
	say("msync: %s", res(msync(p, 8192, MS_SYNC)));
	int fd2 = open(path, O_RDONLY);
	memset(buf, 0, sizeof buf);
	pread(fd2, buf, 4, 10);
	say("a new fd sees it: %s", buf);
	close(fd2);
	memcpy(p + 200, "cut", 3);
	say("ftruncate 100: %s", res(ftruncate(fd, 100)));
	say("byte 200: %s", touch(p + 200));
	say("page 1: %s", touch(p + 4096));
	ftruncate(fd, 8192);
	say("byte 200 after growing: %s", touch(p + 200));
	memcpy(p + 4096, "page1", 5);
	say("fsync: %s", res(fsync(fd)));
	munmap(p, 8192);
	/* A private store stays private. */
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	memcpy(p + 20, "priv", 4);
	munmap(p, 4096);
	/* A shared map made writable later. */
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	say("byte 30: %s", touch(p + 30));
	say("mprotect: %s", res(mprotect(p, 4096, PROT_READ | PROT_WRITE)));
	memcpy(p + 30, "later", 5);
	munmap(p, 4096);
	memset(buf, 0, sizeof buf);
	pread(fd, buf, 5, 30);
	say("read after munmap: %s", buf);
	memset(buf, 0, sizeof buf);
	pread(fd, buf, 4, 20);
	say("private store reached the file: %s", yesno(buf[0] != 0));
	close(fd);
	return 0;
}

static const struct guest_case cases[] = {
	{"stat_self", stat_self},
	{"status_self", status_self},
	{"cmdline", cmdline},
	{"fds", fds},
	{"maps_exe", maps_exe},
	{"pids", pids},
	{"tasks", tasks},
	{"system_files", system_files},
	{"statfs", statfs_case},
	{"mount_tmpfs", mount_tmpfs},
	{"chroot", chroot_case},
	{"terminals", terminals},
};

int main(int argc, char **argv)
{
	g_argc = argc;
	g_argv = argv;
	if (argc == 2 && !strcmp(argv[1], "confine"))
		return confine();
	if (argc == 3 && !strcmp(argv[1], "hostmap"))
		return hostmap(argv[2]);
	return run_case("fsprobe", cases, sizeof cases / sizeof cases[0], argc, argv);
}
