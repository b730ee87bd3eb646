/*
 * fstest CASE: file system probes, compared byte for byte with the same
 * source run natively (tests/guest.rs). Each case works in a scratch
 * directory it makes under /tmp with mkdtemp and removes, using relative
 * paths, so both runs see equivalent trees. Output is deterministic facts
 * only: relations, counts, errno names.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest.h"

static const char *self;

static const char *errname(int e)
{
	return e ? strerrorname_np(e) : "ok";
}

/* The result of a call returning -1 on error: "ok" or the errno name. */
static const char *res(long r)
{
	return r < 0 ? errname(errno) : "ok";
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in a directory, on one line. */
static void list(const char *path)
{
	DIR *d = opendir(path);
	if (!d) {
		say("list %s: %s", path, errname(errno));
		return;
	}
	char *names[64];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 64)
		names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof *names, cmp);
	char line[1024] = "";
	for (int i = 0; i < n; i++) {
		strcat(line, " ");
		strcat(line, names[i]);
		free(names[i]);
	}
	say("list %s:%s", path, line);
}

static int case_paths(void)
{
	enter_scratch();
	say("mkdir a: %s", res(mkdir("a", 0755)));
	say("mkdir a again: %s", res(mkdir("a", 0755)));
	say("mkdir a/b: %s", res(mkdir("a/b", 0755)));
	int fd = open("a/b/f", O_CREAT | O_WRONLY | O_EXCL, 0644);
	say("create a/b/f: %s", res(fd));
	say("write: %ld", (long)write(fd, "hello", 5));
	close(fd);
	say("O_EXCL on existing: %s", res(open("a/b/f", O_CREAT | O_EXCL | O_WRONLY, 0644)));
	say("dots: %s", res(open("a/./b/../b/./f", O_RDONLY)));
	say("dotdot above root: %s", res(open("/../../..", O_RDONLY | O_DIRECTORY)));
	say("trailing slash on file: %s", res(open("a/b/f/", O_RDONLY)));
	say("trailing slash on dir: %s", res(open("a/b/", O_RDONLY)));
	say("file as dir: %s", res(open("a/b/f/x", O_RDONLY)));
	say("O_DIRECTORY on file: %s", res(open("a/b/f", O_RDONLY | O_DIRECTORY)));
	say("missing: %s", res(open("a/nope", O_RDONLY)));
	say("create with trailing slash: %s", res(open("a/new/", O_CREAT | O_WRONLY, 0644)));
	say("open dir for writing: %s", res(open("a", O_WRONLY)));
	say("symlink rel: %s", res(symlink("b/f", "a/lf")));
	say("symlink up: %s", res(symlink("../../a", "a/b/up")));
	say("loop1: %s", res(symlink("loop2", "loop1")));
	say("loop2: %s", res(symlink("loop1", "loop2")));
	say("open loop: %s", res(open("loop1", O_RDONLY)));
	say("stat loop: %s", res(({ struct stat st; stat("loop1", &st); })));
	struct stat st;
	const char *r = res(lstat("loop1", &st));
	say("lstat loop: %s, link: %s", r, yesno(S_ISLNK(st.st_mode)));
	fd = open("a/lf", O_RDONLY);
	char buf[16] = {0};
	r = res(fd);
	say("through symlink: %s, read %ld", r, (long)read(fd, buf, sizeof buf - 1));
	say("content: %s", buf);
	close(fd);
	say("O_NOFOLLOW on symlink: %s", res(open("a/lf", O_RDONLY | O_NOFOLLOW)));
	say("O_NOFOLLOW on middle symlink: %s", res(open("a/b/up/b/f", O_RDONLY | O_NOFOLLOW)));
	fd = open("a/lf", O_PATH | O_NOFOLLOW);
	say("O_PATH|O_NOFOLLOW: %s", res(fd));
	say("read O_PATH: %s", res(read(fd, buf, 1)));
	r = res(fstatat(fd, "", &st, AT_EMPTY_PATH));
	say("fstatat empty path: %s, link: %s", r, yesno(S_ISLNK(st.st_mode)));
	close(fd);
	char target[64] = {0};
	long tn = readlink("a/lf", target, sizeof target - 1);
	say("readlink: %ld %s", tn, target);
	say("readlink of file: %s", res(readlink("a/b/f", target, sizeof target)));
	say("dangling: %s", res(symlink("nowhere", "dang")));
	say("open dangling: %s", res(open("dang", O_RDONLY)));
	say("link: %s", res(link("a/b/f", "hard")));
	r = res(stat("hard", &st));
	say("stat nlink: %s %d size %ld", r, (int)st.st_nlink, (long)st.st_size);
	say("link dir: %s", res(link("a", "adir")));
	say("link existing: %s", res(link("a/b/f", "hard")));
	say("rename: %s", res(rename("hard", "a/hard2")));
	say("rename dir into itself: %s", res(rename("a", "a/b/c")));
	say("rename file over dir: %s", res(rename("a/hard2", "a/b")));
	say("rmdir non-empty: %s", res(rmdir("a")));
	say("unlink dir: %s", res(unlink("a")));
	say("rmdir file: %s", res(rmdir("a/hard2")));
	say("rmdir dot: %s", res(rmdir("a/b/.")));
	list(".");
	list("a");
	say("chdir a/b/up: %s", res(chdir("a/b/up")));
	char cwd[256];
	say("cwd ends in /a: %s", yesno(getcwd(cwd, sizeof cwd) && !strcmp(cwd + strlen(cwd) - 2, "/a")));
	say("chdir file: %s", res(chdir("b/f")));
	say("chdir ..: %s", res(chdir("..")));
	say("cwd is scratch: %s", yesno(getcwd(cwd, sizeof cwd) && !strcmp(cwd, scratch_dir())));
	say("access f R_OK: %s", res(access("a/b/f", R_OK)));
	say("access f X_OK: %s", res(access("a/b/f", X_OK)));
	say("chmod: %s", res(chmod("a/b/f", 0755)));
	say("access f X_OK after chmod: %s", res(access("a/b/f", X_OK)));
	r = res(stat("a/b/f", &st));
	say("stat mode: %s %o", r, (unsigned)(st.st_mode & 07777));
	mode_t old = umask(077);
	fd = open("umasked", O_CREAT | O_WRONLY, 0666);
	fstat(fd, &st);
	say("umask 077 create: %o", (unsigned)(st.st_mode & 0777));
	close(fd);
	umask(old);
	fd = open("a/b/f", O_WRONLY | O_TRUNC);
	fstat(fd, &st);
	say("O_TRUNC size: %ld", (long)st.st_size);
	say("ftruncate 100: %s", res(ftruncate(fd, 100)));
	fstat(fd, &st);
	say("size after ftruncate: %ld", (long)st.st_size);
	close(fd);
	say("unlink: %s", res(unlink("a/b/f")));
	say("unlink again: %s", res(unlink("a/b/f")));
	leave_scratch();
	return 0;
}

static int case_fork_offset(void)
{
	enter_scratch();
	int fd = open("f", O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (write(fd, "abc", 3) != 3)
		say("write failed");
	pid_t pid = fork();
	if (pid == 0) {
		if (write(fd, "def", 3) != 3)
			_exit(1);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	say("child exited %d", WEXITSTATUS(status));
	if (write(fd, "ghi", 3) != 3)
		say("write failed");
	say("offset: %ld", (long)lseek(fd, 0, SEEK_CUR));
	char buf[16] = {0};
	long pn = pread(fd, buf, sizeof buf - 1, 0);
	say("pread: %ld %s", pn, buf);
	int fd2 = dup(fd);
	long at = lseek(fd2, 2, SEEK_SET);
	say("lseek on dup: %ld, original at %ld", at, (long)lseek(fd, 0, SEEK_CUR));
	int fd3 = open("f", O_RDONLY);
	say("separate open at %ld", (long)lseek(fd3, 0, SEEK_CUR));
	say("lseek end: %ld", (long)lseek(fd3, 0, SEEK_END));
	say("lseek negative: %s", res(lseek(fd3, -100, SEEK_SET)));
	int afd = open("f", O_WRONLY | O_APPEND);
	if (write(afd, "X", 1) != 1)
		say("write failed");
	say("append lands at end: size %ld", (long)lseek(fd3, 0, SEEK_END));
	say("write on O_RDONLY: %s", res(write(fd3, "x", 1)));
	say("read on O_WRONLY: %s", res(read(afd, buf, 1)));
	leave_scratch();
	return 0;
}

static int case_dup_fcntl(void)
{
	enter_scratch();
	int fd = open("f", O_CREAT | O_RDWR | O_APPEND, 0644);
	int fl = fcntl(fd, F_GETFL);
	say("F_GETFL: accmode %d append %s nonblock %s", fl & O_ACCMODE, yesno(fl & O_APPEND), yesno(fl & O_NONBLOCK));
	say("F_SETFL O_NONBLOCK: %s", res(fcntl(fd, F_SETFL, O_NONBLOCK)));
	fl = fcntl(fd, F_GETFL);
	say("F_GETFL: accmode %d append %s nonblock %s", fl & O_ACCMODE, yesno(fl & O_APPEND), yesno(fl & O_NONBLOCK));
	int d = dup(fd);
	say("dup is lowest free: %s", yesno(d == fd + 1));
	say("dup shares status flags: %s", yesno(fcntl(d, F_GETFL) == fl));
	say("dup cloexec: %d", fcntl(d, F_GETFD));
	int d10 = fcntl(fd, F_DUPFD, 50);
	say("F_DUPFD 50: %d", d10);
	int d11 = fcntl(fd, F_DUPFD_CLOEXEC, 50);
	say("F_DUPFD_CLOEXEC 50: %d cloexec %d", d11, fcntl(d11, F_GETFD));
	const char *r = res(fcntl(d10, F_SETFD, FD_CLOEXEC));
	say("F_SETFD: %s, now %d", r, fcntl(d10, F_GETFD));
	say("dup3 same: %s", res(dup3(fd, fd, 0)));
	say("dup3 bad flags: %s", res(dup3(fd, 60, O_NONBLOCK)));
	int x = dup3(fd, 60, O_CLOEXEC);
	say("dup3 to 60: %d cloexec %d", x, fcntl(60, F_GETFD));
	x = dup2(d, 60);
	say("dup2 over 60: %d cloexec %d", x, fcntl(60, F_GETFD));
	say("dup2 same: %d", dup2(d, d));
	say("dup2 bad: %s", res(dup2(99, 60)));
	r = res(close(60));
	say("close: %s, again: %s", r, res(close(60)));
	say("F_GETFD closed: %s", res(fcntl(60, F_GETFD)));
	say("O_CLOEXEC open: %d", fcntl(open("f", O_RDONLY | O_CLOEXEC), F_GETFD));
	say("bad fcntl: %s", res(fcntl(fd, 9999)));
	leave_scratch();
	return 0;
}

static int case_exec_cloexec(void)
{
	enter_scratch();
	int keep = open("f", O_CREAT | O_RDWR, 0644);
	int gone = open("f", O_RDONLY | O_CLOEXEC);
	int flipped = dup(keep);
	fcntl(flipped, F_SETFD, FD_CLOEXEC);
	if (write(keep, "data", 4) != 4)
		say("write failed");
	pid_t pid = fork();
	if (pid == 0) {
		char a[16], b[16], c[16];
		snprintf(a, sizeof a, "%d", keep);
		snprintf(b, sizeof b, "%d", gone);
		snprintf(c, sizeof c, "%d", flipped);
		char *argv[] = {(char *)self, "helper", a, b, c, NULL};
		execv(self, argv);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	say("helper exited %d", WEXITSTATUS(status));
	say("offset after the helper read: %ld", (long)lseek(keep, 0, SEEK_CUR));
	leave_scratch();
	return 0;
}

/* A program a process runs cannot be opened for writing nor truncated
 * (ETXTBSY); it can be read, and written again once nothing runs it. */
static int case_text_busy(void)
{
	enter_scratch();
	if (copy_program("/proc/self/exe", "prog") != 0)
		say("copy failed");
	int ready[2];
	if (pipe(ready) != 0)
		say("pipe failed");
	pid_t pid = fork();
	if (pid == 0) {
		char fd[16];
		snprintf(fd, sizeof fd, "%d", ready[1]);
		char *argv[] = {"prog", "pause", fd, NULL};
		execv("prog", argv);
		_exit(127);
	}
	close(ready[1]);
	char c;
	say("the copy runs: %s", yesno(read(ready[0], &c, 1) == 1));
	say("open O_WRONLY: %s", res(open("prog", O_WRONLY)));
	say("open O_RDWR: %s", res(open("prog", O_RDWR)));
	int fd = open("prog", O_RDONLY);
	say("open O_RDONLY: %s", fd < 0 ? res(fd) : "ok");
	close(fd);
	say("truncate: %s", res(truncate("prog", 0)));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	fd = open("prog", O_WRONLY);
	say("open O_WRONLY after it ended: %s", fd < 0 ? res(fd) : "ok");
	close(fd);
	leave_scratch();
	return 0;
}

static int helper(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	int keep = atoi(argv[2]), gone = atoi(argv[3]), flipped = atoi(argv[4]);
	say("helper: kept fd open: %s", res(fcntl(keep, F_GETFD)));
	say("helper: O_CLOEXEC fd: %s", res(fcntl(gone, F_GETFD)));
	say("helper: FD_CLOEXEC fd: %s", res(fcntl(flipped, F_GETFD)));
	say("helper: offset inherited: %ld", (long)lseek(keep, 0, SEEK_CUR));
	lseek(keep, 1, SEEK_SET);
	return 0;
}

static int case_pipe(void)
{
	int p[2];
	say("pipe: %s", res(pipe(p)));
	say("write: %ld", (long)write(p[1], "abc", 3));
	char buf[70000];
	say("read: %ld", (long)read(p[0], buf, sizeof buf));
	say("lseek on pipe: %s", res(lseek(p[0], 0, SEEK_SET)));
	struct stat st;
	fstat(p[0], &st);
	say("fifo: %s", yesno(S_ISFIFO(st.st_mode)));
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		char big[100000];
		memset(big, 'x', sizeof big);
		long n = write(p[1], big, sizeof big);
		_exit(n == (long)sizeof big ? 0 : 1);
	}
	close(p[1]);
	long total = 0, n;
	while ((n = read(p[0], buf, sizeof buf)) > 0)
		total += n;
	int status;
	waitpid(pid, &status, 0);
	say("child wrote all: %s; read %ld then EOF %ld", yesno(WEXITSTATUS(status) == 0), total, n);
	close(p[0]);

	/* The last reader gone: EPIPE, SIGPIPE ignored. */
	pipe(p);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	say("write without readers: %s", res(write(p[1], "x", 1)));
	close(p[1]);
	/* And with SIGPIPE default, in a child: killed by it. The reader is
	 * gone before the fork, whichever of the two runs first. */
	pipe(p);
	close(p[0]);
	pid = fork();
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		write(p[1], "x", 1);
		_exit(0);
	}
	close(p[1]);
	waitpid(pid, &status, 0);
	say("default SIGPIPE kills: %s", yesno(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE));

	/* O_NONBLOCK: EAGAIN, 64 KiB capacity, PIPE_BUF atomicity. */
	say("pipe2 nonblock: %s", res(pipe2(p, O_NONBLOCK | O_CLOEXEC)));
	say("cloexec %d", fcntl(p[0], F_GETFD));
	say("empty read: %s", res(read(p[0], buf, 1)));
	long cap = 0;
	memset(buf, 'y', sizeof buf);
	while ((n = write(p[1], buf, 1000)) > 0)
		cap += n;
	say("capacity: %ld, then %s", cap, res(n));
	read(p[0], buf, 100);
	say("100 free, 4096 write: %s", res(write(p[1], buf, 4096)));
	say("100 free, 100 write: %ld", (long)write(p[1], buf, 100));
	read(p[0], buf, 100);
	say("100 free, 5000 write: %ld", (long)write(p[1], buf, 5000));
	close(p[1]);
	total = 0;
	while ((n = read(p[0], buf, sizeof buf)) > 0)
		total += n;
	say("drained %ld, then %ld", total, n);
	close(p[0]);
	signal(SIGPIPE, SIG_DFL);
	return 0;
}

static int case_meta(void)
{
	enter_scratch();
	int fd = open("f", O_CREAT | O_RDWR, 0600);
	struct timespec ts[2] = {{1000, 5}, {2000, 7}};
	say("utimensat: %s", res(utimensat(AT_FDCWD, "f", ts, 0)));
	struct stat st;
	stat("f", &st);
	say("atime %ld.%ld mtime %ld.%ld", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
	    (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	struct timespec omit[2] = {{0, UTIME_OMIT}, {3000, 0}};
	say("futimens omit atime: %s", res(futimens(fd, omit)));
	fstat(fd, &st);
	say("atime %ld mtime %ld", (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec);
	say("utimensat bad nsec: %s", res(utimensat(AT_FDCWD, "f", (struct timespec[2]){{0, -5}, {0, 0}}, 0)));
	const char *r = res(utimensat(AT_FDCWD, "f", NULL, 0));
	stat("f", &st);
	say("utimensat now: %s, mtime moved: %s", r, yesno(st.st_mtim.tv_sec > 3000));
	say("fchmod: %s", res(fchmod(fd, 0640)));
	fstat(fd, &st);
	say("mode %o", (unsigned)(st.st_mode & 07777));
	say("fchown to self: %s", res(fchown(fd, getuid(), getgid())));
	long n = pwrite(fd, "abc", 3, 10);
	say("pwrite: %ld, offset still %ld", n, (long)lseek(fd, 0, SEEK_CUR));
	fstat(fd, &st);
	say("size %ld", (long)st.st_size);
	say("fsync: %s", res(fsync(fd)));
	int p[2];
	pipe(p);
	say("fsync pipe: %s", res(fsync(p[0])));
	say("close_range: %s", res(close_range(p[0], p[1], 0)));
	say("closed: %s", res(fcntl(p[1], F_GETFD)));
	close(fd);
	leave_scratch();
	return 0;
}

static int case_devices(void)
{
	char buf[64];
	int fd = open("/dev/null", O_RDWR);
	long rn = read(fd, buf, sizeof buf);
	say("null: read %ld, write %ld", rn, (long)write(fd, "abc", 3));
	close(fd);
	fd = open("/dev/zero", O_RDONLY);
	memset(buf, 1, sizeof buf);
	long n = read(fd, buf, sizeof buf);
	int zero = 1;
	for (int i = 0; i < 64; i++)
		zero &= buf[i] == 0;
	say("zero: read %ld, all zero %s", n, yesno(zero));
	close(fd);
	fd = open("/dev/full", O_WRONLY);
	say("full: write %s", res(write(fd, "x", 1)));
	close(fd);
	fd = open("/dev/urandom", O_RDONLY);
	say("urandom: read %ld", (long)read(fd, buf, 32));
	close(fd);
	struct stat st;
	stat("/dev/null", &st);
	say("/dev/null is chr: %s", yesno(S_ISCHR(st.st_mode)));
	return 0;
}

static const struct guest_case cases[] = {
	{"paths", case_paths},
	{"fork_offset", case_fork_offset},
	{"dup_fcntl", case_dup_fcntl},
	{"exec_cloexec", case_exec_cloexec},
	{"pipe", case_pipe},
	{"meta", case_meta},
	{"devices", case_devices},
	{"text_busy", case_text_busy},
};

int main(int argc, char **argv)
{
	self = argv[0];
	if (argc >= 2 && !strcmp(argv[1], "helper"))
		return helper(argc, argv);
	if (argc == 3 && !strcmp(argv[1], "pause")) {
		/* text_busy's running copy: says so, then waits to be killed. */
		if (write(atoi(argv[2]), "r", 1) == 1)
			pause();
		return 1;
	}
	return run_case("fstest", cases, sizeof cases / sizeof cases[0], argc, argv);
}
