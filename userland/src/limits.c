/*
 * limits CASE: descriptor-table, file-size and resource-limit edges,
 * compared with the same source run natively (tests/guest.rs). Output is
 * facts that hold on any Linux: errno names, sizes, relations.
 *
 * Two modes are cleave's alone (tests/memory.rs drives them, with --mem):
 * `limits tmpfs_full` fills /tmp until the tmpfs limit, and `limits hold
 * MIB PROCS PIPES` writes MIB MiB to /tmp and then fills PIPES pipes in
 * each of PROCS processes, says "ready" and holds it all until its stdin
 * ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest.h"


static const char *res(long r)
{
	return r < 0 ? strerrorname_np(errno) : "ok";
}

/* Fills the fd table below RLIMIT_NOFILE 16 until `free` fds are left. */
static void leave_free(int free)
{
	while (dup(0) >= 0)
		;
	for (int fd = 15; fd > 15 - free; fd--)
		close(fd);
}

/* pipe and pipe2 with no, one and two free descriptors: a pipe takes both
 * or neither. */
static int pipe_one_fd(void)
{
	struct rlimit rl = {16, 16};
	say("setrlimit: %s", res(setrlimit(RLIMIT_NOFILE, &rl)));
	int p[2] = {-1, -1};
	for (int free = 0; free <= 2; free++) {
		leave_free(free);
		say("%d free: pipe %s", free, res(pipe(p)));
		if (free == 2) {
			say("ends: %d %d", p[0], p[1]);
			close(p[0]);
			close(p[1]);
		}
		say("%d free: pipe2 %s", free, res(pipe2(p, O_CLOEXEC | O_NONBLOCK)));
		int left = 0;
		while (dup(0) >= 0)
			left++;
		say("%d free: left after %d", free, left);
	}
	return 0;
}

/* O_TRUNC writes, whatever the access mode: EROFS on a read-only mount,
 * and an O_RDONLY|O_TRUNC open truncates a writable file. */
static int trunc_readonly(void)
{
	enter_scratch();
	mkdir("m", 0755);
	int r = mount("none", "m", "tmpfs", 0, NULL);
	say("mount tmpfs: %s", res(r));
	if (r != 0) {
		leave_scratch();
		return 0;
	}
	int fd = open("m/f", O_CREAT | O_WRONLY, 0644);
	say("write: %s", res(write(fd, "hello", 5)));
	close(fd);
	say("remount ro: %s", res(mount(NULL, "m", NULL, MS_REMOUNT | MS_RDONLY, NULL)));
	say("O_RDONLY|O_TRUNC: %s", res(open("m/f", O_RDONLY | O_TRUNC)));
	say("O_WRONLY|O_TRUNC: %s", res(open("m/f", O_WRONLY | O_TRUNC)));
	struct stat st;
	stat("m/f", &st);
	say("size: %lld", (long long)st.st_size);
	say("O_RDONLY: %s", res(fd = open("m/f", O_RDONLY)));
	close(fd);
	say("remount rw: %s", res(mount(NULL, "m", NULL, MS_REMOUNT, NULL)));
	say("O_RDONLY|O_TRUNC: %s", res(fd = open("m/f", O_RDONLY | O_TRUNC)));
	close(fd);
	stat("m/f", &st);
	say("size: %lld", (long long)st.st_size);
	unlink("m/f");
	say("umount: %s", res(umount("m")));
	rmdir("m");
	leave_scratch();
	return 0;
}

/* A "#!" line as Linux's binfmt_script reads it from the first 256 bytes:
 * the interpreter's name must end inside them. Every interpreter named
 * here is missing, so a line that parses is ENOENT. */
static int shebang(void)
{
	enter_scratch();
	static const struct {
		const char *what;
		int fill;    /* this many 'x' after the prefix */
		const char *prefix, *suffix;
	} scripts[] = {
		{"short, newline", 0, "#!/missing/interp\n", ""},
		{"short, no newline", 0, "#!/missing/interp", ""},
		{"253-byte name, no newline (255 bytes)", 253, "#!", ""},
		{"254-byte name, no newline (256 bytes)", 254, "#!", ""},
		{"300-byte name, no newline", 300, "#!", ""},
		{"300-byte name, newline", 300, "#!", "\n"},
		{"long argument, no newline", 300, "#!/missing/interp ", ""},
		{"spaces only", 0, "#!    ", "\n"},
		{"nothing", 0, "#!", ""},
		{"300 spaces", 0, "#!", ""},
		{"NUL in the name", 0, "#!/missing\0/interp\n", ""},
	};
	for (size_t i = 0; i < sizeof scripts / sizeof scripts[0]; i++) {
		char body[1024];
		size_t n = strlen(scripts[i].prefix);
		if (strstr(scripts[i].what, "NUL"))
			n = 19;
		memcpy(body, scripts[i].prefix, n);
		memset(body + n, 'x', scripts[i].fill);
		n += scripts[i].fill;
		if (!strcmp(scripts[i].what, "300 spaces")) {
			memset(body + n, ' ', 300);
			n += 300;
		}
		memcpy(body + n, scripts[i].suffix, strlen(scripts[i].suffix));
		n += strlen(scripts[i].suffix);
		int fd = open("script", O_CREAT | O_WRONLY | O_TRUNC, 0755);
		if (write(fd, body, n) != (ssize_t)n)
			say("short write");
		close(fd);
		char *argv[] = {"script", NULL}, *envp[] = {NULL};
		execve("./script", argv, envp);
		say("%s: %s", scripts[i].what, strerrorname_np(errno));
	}
	unlink("script");
	leave_scratch();
	return 0;
}

static int all_zero(const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i])
			return 0;
	return 1;
}

/* Files far larger than memory on /tmp are sparse: a truncate or a write
 * at 256 GiB holds a few blocks, and holes read as zeros. */
static int sparse(void)
{
	const off_t big = 256LL << 30;
	enter_scratch();
	int fd = open("f", O_CREAT | O_RDWR, 0644);
	struct stat st;
	char buf[8192];
	say("ftruncate 256G: %s", res(ftruncate(fd, big)));
	fstat(fd, &st);
	say("size 256G: %s, blocks small: %s", yesno(st.st_size == big), yesno(st.st_blocks <= 64));
	memset(buf, 1, sizeof buf);
	ssize_t n = pread(fd, buf, sizeof buf, 100LL << 30);
	say("hole read: %zd, zeros: %s", n, yesno(all_zero(buf, sizeof buf)));
	say("pwrite at 256G: %s", res(pwrite(fd, "data", 4, big)));
	fstat(fd, &st);
	say("size 256G+4: %s, blocks small: %s", yesno(st.st_size == big + 4),
	    yesno(st.st_blocks <= 64));
	n = pread(fd, buf, sizeof buf, big - 4);
	say("read across the end: %zd, %s", n, yesno(n == 8 && all_zero(buf, 4) && !memcmp(buf + 4, "data", 4)));
	say("lseek SEEK_END: %s", yesno(lseek(fd, 0, SEEK_END) == big + 4));
	say("truncate 1T: %s", res(truncate("f", 1LL << 40)));
	n = pread(fd, buf, sizeof buf, big);
	say("old data past the hole: %zd, %s", n, yesno(!memcmp(buf, "data", 4) && all_zero(buf + 4, n - 4)));
	say("truncate to 10: %s", res(ftruncate(fd, 10)));
	say("write at 256G+4096: %s", res(pwrite(fd, "x", 1, big + 4096)));
	n = pread(fd, buf, 4, big);
	say("cut data reads as zeros: %zd, %s", n, yesno(all_zero(buf, 4)));
	/* A partly written page: the rest of it reads as zeros. */
	say("ftruncate 0: %s", res(ftruncate(fd, 0)));
	say("pwrite at 100: %s", res(pwrite(fd, "y", 1, 100)));
	n = pread(fd, buf, sizeof buf, 0);
	say("read: %zd, zeros before: %s", n, yesno(all_zero(buf, 100) && buf[100] == 'y'));
	fstat(fd, &st);
	say("blocks small: %s", yesno(st.st_blocks > 0 && st.st_blocks <= 64));
	say("ftruncate -1: %s", res(ftruncate(fd, -1)));
	close(fd);
	unlink("f");
	leave_scratch();
	return 0;
}

/* A user without privilege whose pipes add up to more than
 * pipe-user-pages-soft (16384 pages) gets pipes of 2 pages. The pipes are
 * spread over processes below RLIMIT_NOFILE's default; the last pipe's
 * capacity is measured by filling it. */
static int pipe_user_pages(void)
{
	int sync[2];
	if (pipe(sync) != 0 || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534)) {
		say("cannot become nobody");
		return 0;
	}
	/* 3 processes of 400 pipes: 1200 pipes of 16 pages would be 19200. */
	for (int proc = 0; proc < 3; proc++) {
		int ready[2];
		if (pipe(ready) != 0)
			return 1;
		pid_t pid = fork();
		if (pid == 0) {
			close(ready[0]);
			int p[2], made = 0;
			for (int i = 0; i < 400 && pipe2(p, O_NONBLOCK) == 0; i++)
				made++;
			size_t cap = 0;
			char page[4096] = {0};
			for (ssize_t w; (w = write(p[1], page, sizeof page)) > 0;)
				cap += w;
			char line[64];
			int len = snprintf(line, sizeof line, "%d pipes, last holds %zu", made, cap);
			if (write(ready[1], line, len) != len)
				_exit(1);
			close(ready[1]);
			/* Hold the pipes until the parent has heard from all. */
			char c;
			close(sync[1]);
			if (read(sync[0], &c, 1) < 0)
				_exit(1);
			_exit(0);
		}
		close(ready[1]);
		char line[64] = {0};
		if (read(ready[0], line, sizeof line - 1) < 0)
			return 1;
		close(ready[0]);
		say("process %d: %s", proc, line);
	}
	close(sync[1]);
	while (wait(NULL) > 0)
		;
	/* Everything given back: a new pipe has the default again. */
	int p[2];
	pipe2(p, O_NONBLOCK);
	size_t cap = 0;
	char page[4096] = {0};
	for (ssize_t w; (w = write(p[1], page, sizeof page)) > 0;)
		cap += w;
	say("after: %zu", cap);
	return 0;
}

static long setsz(int fd, long size)
{
	long r = fcntl(fd, F_SETPIPE_SZ, size);
	return r;
}

/* F_GETPIPE_SZ and F_SETPIPE_SZ: powers of two pages, pipe-max-size
 * (1 MiB) for a user without privilege, EBUSY below what is in use. (Past
 * 1 MiB as root depends on CAP_SYS_RESOURCE, which a container's root may
 * lack: not probed.) */
static int pipe_size(void)
{
	int p[2];
	if (pipe2(p, O_NONBLOCK) != 0)
		return 1;
	say("default: %d", fcntl(p[0], F_GETPIPE_SZ));
	say("set 1: %ld", setsz(p[1], 1));
	char page[4096] = {0};
	size_t cap = 0;
	for (ssize_t w; (w = write(p[1], page, sizeof page)) > 0;)
		cap += w;
	say("holds: %zu", cap);
	say("set 0 with a page in: %ld", setsz(p[0], 0));
	say("set 100000: %ld", setsz(p[0], 100000));
	for (ssize_t w; (w = write(p[1], page, sizeof page)) > 0;)
		cap += w;
	say("holds: %zu", cap);
	say("shrink below the data: %s", res(setsz(p[0], 8192)));
	say("set 1 MiB: %ld", setsz(p[0], 1 << 20));
	say("set 2 GiB + 1: %s", res(setsz(p[0], (1UL << 31) + 1)));
	say("get: %d", fcntl(p[1], F_GETPIPE_SZ));
	int fd = open("/dev/null", O_RDONLY);
	say("on a file: %s", res(fcntl(fd, F_GETPIPE_SZ)));
	pid_t pid = fork();
	if (pid == 0) {
		if (setresuid(65534, 65534, 65534) != 0)
			_exit(1);
		int q[2];
		if (pipe(q) != 0)
			_exit(1);
		say("nobody, set 1 MiB: %s", res(setsz(q[0], 1 << 20)));
		say("nobody, set 2 MiB: %s", res(setsz(q[0], 2 << 20)));
		say("nobody, shrink below the data: %s", res(setsz(p[0], 4096)));
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	say("child: %d", WEXITSTATUS(st));
	return 0;
}

/* Writes `chunk` bytes at a time to `fd` until an error or `limit` bytes:
 * how much went in; the error in *err. */
static long long fill(int fd, long long limit, int *err)
{
	static char chunk[1 << 16];
	memset(chunk, 0x5a, sizeof chunk);
	long long done = 0;
	*err = 0;
	while (done < limit) {
		ssize_t w = write(fd, chunk, sizeof chunk);
		if (w <= 0) {
			*err = w < 0 ? errno : 0;
			break;
		}
		done += w;
	}
	return done;
}

/* cleave only: /tmp holds half of RAM (tmpfs's default size), then ENOSPC;
 * what is freed can be written again. */
static int tmpfs_full(void)
{
	int fd = open("/tmp/full", O_CREAT | O_RDWR | O_TRUNC, 0644);
	int err;
	struct statfs before, full;
	statfs("/tmp", &before);
	long long done = fill(fd, 1LL << 40, &err);
	statfs("/tmp", &full);
	say("filled: %s", strerrorname_np(err));
	say("written is the free space: %s",
	    yesno(done / 4096 <= (long long)before.f_bfree && done / 4096 + 64 >= (long long)before.f_bfree));
	say("statfs free: %lld", (long long)full.f_bfree);
	say("sparse truncate when full: %s", res(ftruncate(fd, 1LL << 40)));
	say("write at its end: %s", res(pwrite(fd, "x", 1, 1LL << 40)));
	say("truncate to half: %s", res(ftruncate(fd, done / 2)));
	say("write again: %s", res(pwrite(fd, "x", 1, done / 2 + (1 << 20))));
	close(fd);
	unlink("/tmp/full");
	statfs("/tmp", &full);
	say("all free again: %s", yesno(full.f_bfree == before.f_bfree));
	/* Inodes are limited too (half as many as RAM has pages). */
	statfs("/tmp", &before);
	mkdir("/tmp/many", 0755);
	char name[64];
	long files = 0;
	for (;; files++) {
		snprintf(name, sizeof name, "/tmp/many/%ld", files);
		fd = open(name, O_CREAT | O_WRONLY, 0644);
		if (fd < 0)
			break;
		close(fd);
	}
	say("files until: %s", strerrorname_np(errno));
	say("as many as statfs had free: %s", yesno(files + 1 == (long)before.f_ffree));
	say("a long symlink: %s", res(symlink("/tmp/many/0", "/tmp/many/link")));
	for (long i = 1; i < files; i++) {
		snprintf(name, sizeof name, "/tmp/many/%ld", i);
		unlink(name);
	}
	/* So are hard links (Linux counts each against nr_inodes). */
	long links = 0;
	for (;; links++) {
		snprintf(name, sizeof name, "/tmp/many/l%ld", links);
		if (link("/tmp/many/0", name) != 0)
			break;
	}
	say("links until: %s", strerrorname_np(errno));
	say("as many as files: %s", yesno(links == files - 1));
	for (long i = 0; i < links; i++) {
		snprintf(name, sizeof name, "/tmp/many/l%ld", i);
		unlink(name);
	}
	unlink("/tmp/many/0");
	say("rmdir: %s", res(rmdir("/tmp/many")));
	statfs("/tmp", &full);
	say("all inodes free again: %s", yesno(full.f_ffree == before.f_ffree));
	return 0;
}

/* cleave only: fills /tmp with up to `tmpfs` MiB, then up to `pipes`
 * pipes in each of `procs`
 * processes, leaving a little RAM free (a process that faults with none
 * left is killed, and after a fork every write may need a frame); says
 * "ready" when all are full and holds everything until stdin ends. */
static int hold(long long tmpfs, int procs, int pipes)
{
	int err = 0;
	int fd = open("/tmp/hold", O_CREAT | O_RDWR | O_TRUNC, 0644);
	long long tmp = fill(fd, tmpfs << 20, &err);
	say("tmpfs: %lld MiB, %s", tmp >> 20, strerrorname_np(err));
	close(fd);
	/* The children count themselves here when full. */
	volatile int *done = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	long long *bytes = (long long *)(done + 2);
	*done = 0;
	int go[2];
	if (pipe(go) != 0)
		return 1;
	pid_t kids[procs];
	for (int i = 0; i < procs; i++) {
		if ((kids[i] = fork()) == 0) {
			char c;
			close(go[1]);
			if (read(go[0], &c, 1) < 0)
				_exit(1);
			long long mine = 0;
			int p[2];
			struct sysinfo si;
			for (int j = 0; j < pipes && pipe2(p, O_NONBLOCK) == 0; j++) {
				if (sysinfo(&si) != 0 || si.freeram * si.mem_unit < (16 << 20))
					break;
				mine += fill(p[1], 1 << 20, &err);
				if (err != EAGAIN)
					break;
			}
			__atomic_add_fetch(bytes, mine, __ATOMIC_SEQ_CST);
			__atomic_add_fetch(done, 1, __ATOMIC_SEQ_CST);
			pause();
			_exit(0);
		}
	}
	close(go[1]);
	while (__atomic_load_n(done, __ATOMIC_SEQ_CST) < procs)
		usleep(10000);
	say("pipes: %lld MiB", *bytes >> 20);
	say("ready");
	char c;
	while (read(0, &c, 1) > 0)
		;
	for (int i = 0; i < procs; i++)
		kill(kids[i], SIGKILL);
	while (wait(NULL) > 0)
		;
	unlink("/tmp/hold");
	return 0;
}

static const struct guest_case cases[] = {
	{"pipe_one_fd", pipe_one_fd},
	{"trunc_readonly", trunc_readonly},
	{"shebang", shebang},
	{"sparse", sparse},
	{"pipe_user_pages", pipe_user_pages},
	{"pipe_size", pipe_size},
};

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "tmpfs_full"))
		return tmpfs_full();
	if (argc == 5 && !strcmp(argv[1], "hold"))
		return hold(atoll(argv[2]), atoi(argv[3]), atoi(argv[4]));
	return run_case("limits", cases, sizeof cases / sizeof cases[0], argc, argv);
}
