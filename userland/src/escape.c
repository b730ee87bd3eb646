/*
 * escape CASE ARGS... [+ CASE ARGS...]: a hostile guest against cleave's host directories
 * (tests/escape.rs). Each case tries to reach host files outside the
 * mounts it was given, or to stall the kernel through a host file, and
 * prints what it got; the test checks that nothing outside changed and
 * that no host data from outside was ever read. The cases that Linux
 * answers the same way natively (fifo, readout, setmeta, show) are run
 * natively too and the outputs compared.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"

static const char *errname(int e)
{
	return e ? strerrorname_np(e) : "ok";
}

static const char *res(long r)
{
	return r < 0 ? errname(errno) : "ok";
}

/* Up to `size - 1` bytes of `path`, or -1 with errno. */
static ssize_t slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = 0;
	return n;
}

static void show_file(const char *path)
{
	char buf[256];
	ssize_t n = slurp(path, buf, sizeof buf);
	if (n < 0)
		say("%s: %s", path, errname(errno));
	else
		say("%s: %.*s", path, (int)strcspn(buf, "\n"), buf);
}

/* The names in `dir`, sorted, on one line. */
static void show_dir(const char *dir)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort);
	if (n < 0) {
		say("ls %s: %s", dir, errname(errno));
		return;
	}
	char line[512] = "";
	for (int i = 0; i < n; i++) {
		if (strcmp(list[i]->d_name, ".") && strcmp(list[i]->d_name, "..")) {
			strncat(line, " ", sizeof line - strlen(line) - 1);
			strncat(line, list[i]->d_name, sizeof line - strlen(line) - 1);
		}
		free(list[i]);
	}
	free(list);
	say("ls %s:%s", dir, line);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	int r = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
	close(fd);
	return r;
}

/*
 * nested A B OUTSIDE: A is a writable mount of host D, B one of D/sub. The
 * guest moves A/sub away and puts a link to host directory OUTSIDE in its
 * place, then works through B, which must still be the directory it was
 * given (now A/moved), and through the link, which the guest resolves.
 */
static int nested(char **argv)
{
	const char *a = argv[0], *b = argv[1], *outside = argv[2];
	char sub[200], moved[200], path[256];
	snprintf(sub, sizeof sub, "%s/sub", a);
	snprintf(moved, sizeof moved, "%s/moved", a);
	say("rename: %s", res(rename(sub, moved)));
	say("symlink: %s", res(symlink(outside, sub)));
	show_dir(b);
	snprintf(path, sizeof path, "%s/file", b);
	show_file(path);
	snprintf(path, sizeof path, "%s/new", b);
	say("create: %s", res(write_file(path, "made through b\n")));
	snprintf(path, sizeof path, "%s/gone", b);
	say("unlink: %s", res(unlink(path)));
	snprintf(path, sizeof path, "%s/secret", b);
	show_file(path);
	snprintf(path, sizeof path, "%s/secret", sub);
	show_file(path);
	snprintf(path, sizeof path, "%s/planted", sub);
	say("create through the link: %s", res(write_file(path, "planted\n")));
	show_dir(moved);
	return 0;
}

/*
 * statloop DIR N: while the host renames DIR's directory and puts links to
 * elsewhere in its place, N rounds of stat and read of DIR/f and of
 * DIR/only-outside (a name only the outside directory has), and a listing
 * of DIR now and then. Counts what was seen; "inside" is the only content
 * DIR/f ever had.
 */
static int statloop(char **argv)
{
	const char *dir = argv[0];
	int rounds = atoi(argv[1]);
	char f[256], only[256], buf[256];
	snprintf(f, sizeof f, "%s/f", dir);
	snprintf(only, sizeof only, "%s/only-outside", dir);
	int inside = 0, foreign = 0, failed = 0, outside_seen = 0;
	for (int i = 0; i < rounds; i++) {
		struct stat st;
		if (stat(only, &st) == 0)
			outside_seen++;
		ssize_t n = slurp(f, buf, sizeof buf);
		if (n < 0)
			failed++;
		else if (strcmp(buf, "inside\n") == 0)
			inside++;
		else
			foreign++;
		if (i % 64 == 0) {
			DIR *d = opendir(dir);
			struct dirent *e;
			while (d && (e = readdir(d)))
				outside_seen += strcmp(e->d_name, "only-outside") == 0;
			if (d)
				closedir(d);
		}
	}
	say("rounds: %d", rounds);
	say("outside seen: %d", outside_seen);
	say("foreign contents: %d", foreign);
	say("inside or failed: %s", yesno(inside + failed == rounds));
	return 0;
}

/* nodev PATH: a host device node is seen, and opening it is EACCES. */
static int nodev(char **argv)
{
	struct stat st;
	say("stat: %s", res(stat(argv[0], &st)));
	say("char device: %s", yesno(S_ISCHR(st.st_mode)));
	say("open read: %s", res(open(argv[0], O_RDONLY)));
	say("open write: %s", res(open(argv[0], O_WRONLY)));
	say("open nonblock: %s", res(open(argv[0], O_RDONLY | O_NONBLOCK)));
	say("open path: %s", res(open(argv[0], O_PATH)));
	return 0;
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/*
 * fifo PATH: a host FIFO the test holds open for reading and writing. A
 * non-blocking read finds nothing (EAGAIN); a blocking one waits, and
 * meanwhile a child runs and the alarm interrupts it; what is written is
 * read back.
 */
static int fifo(char **argv)
{
	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	int fd = open(argv[0], O_RDONLY | O_NONBLOCK);
	say("open nonblock: %s", res(fd));
	char buf[64];
	say("read nonblock: %s", res(read(fd, buf, sizeof buf)));
	say("clear O_NONBLOCK: %s", res(fcntl(fd, F_SETFL, 0)));
	int p[2];
	if (pipe(p))
		return 1;
	pid_t child = fork();
	if (child == 0) {
		close(p[0]);
		(void)!write(p[1], "child ran", 9);
		_exit(0);
	}
	close(p[1]);
	alarm(1);
	ssize_t n = read(fd, buf, sizeof buf);
	say("blocking read: %s", res(n));
	say("alarms: %d", (int)alarms);
	n = read(p[0], buf, sizeof buf);
	say("from the child: %.*s", (int)(n > 0 ? n : 0), buf);
	waitpid(child, NULL, 0);
	int w = open(argv[0], O_WRONLY);
	say("open write: %s", res(w));
	say("write: %s", res(write(w, "ping", 4)));
	n = read(fd, buf, sizeof buf);
	say("read: %.*s", (int)(n > 0 ? n : 0), buf);
	say("lseek: %s", res(lseek(fd, 0, SEEK_SET)));
	return 0;
}

/* readout: reading the standard streams the way they were given. */
static int readout(char **argv)
{
	(void)argv;
	char c;
	say("read fd 1: %s", res(read(1, &c, 1)));
	say("read fd 2: %s", res(read(2, &c, 1)));
	return 0;
}

/*
 * fullout: a child writes more to stdout than a pipe holds while nobody
 * reads it; its parent must still run (and say so on stderr), then kills
 * it in the middle of the write.
 */
static int fullout(char **argv)
{
	(void)argv;
	pid_t child = fork();
	if (child == 0) {
		static char big[256 << 10];
		memset(big, 'x', sizeof big);
		(void)!write(1, big, sizeof big);
		_exit(0);
	}
	struct timespec nap = {0, 200 * 1000 * 1000};
	nanosleep(&nap, NULL);
	dprintf(2, "parent ran\n");
	kill(child, SIGKILL);
	int status;
	waitpid(child, &status, 0);
	dprintf(2, "child: %s\n",
		WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? "killed" : "ended");
	return 0;
}

/*
 * setmeta BYPATH BYFD: mode, owner, times and contents set on two files,
 * one by path, one through an fd.
 */
static int setmeta(char **argv)
{
	const char *bypath = argv[0], *byfd = argv[1];
	struct timespec times[2] = {{1000000000, 5}, {1200000000, 7}};
	say("write: %s", res(write_file(bypath, "by path\n")));
	say("chmod: %s", res(chmod(bypath, 0751)));
	say("chown to 1234:5678: %s", res(chown(bypath, 1234, 5678)));
	say("chown to -1:-1: %s", res(chown(bypath, -1, -1)));
	say("utimensat: %s", res(utimensat(AT_FDCWD, bypath, times, 0)));
	int fd = open(byfd, O_RDWR | O_CREAT | O_TRUNC, 0600);
	say("open: %s", res(fd));
	say("write: %s", res(write(fd, "by fd\n", 6)));
	say("fchmod: %s", res(fchmod(fd, 0704)));
	say("fchown to 4321:8765: %s", res(fchown(fd, 4321, 8765)));
	times[0].tv_sec = 1100000000;
	times[1].tv_nsec = UTIME_OMIT;
	say("futimens: %s", res(futimens(fd, times)));
	close(fd);
	return 0;
}

/* show PATH...: mode, owner, times and contents. */
static int show(char **argv)
{
	for (; *argv; argv++) {
		struct stat st;
		if (stat(*argv, &st)) {
			say("%s: %s", *argv, errname(errno));
			continue;
		}
		say("%s: mode %o uid %u gid %u", *argv, st.st_mode & 07777, st.st_uid, st.st_gid);
		say("%s: atime %lld.%09ld mtime %lld.%09ld", *argv, (long long)st.st_atim.tv_sec,
		    st.st_atim.tv_nsec, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
		show_file(*argv);
	}
	return 0;
}

/* cat PATH...: what each file holds, or why not. */
static int cat(char **argv)
{
	for (; *argv; argv++)
		show_file(*argv);
	return 0;
}

/* ls DIR...: the names in each directory. */
static int ls(char **argv)
{
	for (; *argv; argv++)
		show_dir(*argv);
	return 0;
}

/* swap A B OUTSIDE: renames A to B and puts a link to OUTSIDE at A. */
static int swap(char **argv)
{
	say("rename: %s", res(rename(argv[0], argv[1])));
	say("symlink: %s", res(symlink(argv[2], argv[0])));
	return 0;
}

/* touch PATH: makes an empty file (a sign to the test). */
static int touch(char **argv)
{
	say("touch: %s", res(write_file(argv[0], "")));
	return 0;
}

/* await PATH: waits until PATH exists (the test's sign back). */
static int await_path(char **argv)
{
	struct stat st;
	while (stat(argv[0], &st))
		sched_yield();
	return 0;
}

static const struct {
	const char *name;
	int args;
	int (*fn)(char **argv);
} cases[] = {
	{"nested", 3, nested},	 {"statloop", 2, statloop}, {"nodev", 1, nodev},
	{"fifo", 1, fifo},	 {"readout", 0, readout},   {"setmeta", 2, setmeta},
	{"show", 1, show},	 {"cat", 1, cat},	    {"ls", 1, ls},
	{"swap", 3, swap},	 {"touch", 1, touch},	    {"await", 1, await_path},
	{"fullout", 0, fullout},
};

/* escape CASE ARGS... [+ CASE ARGS...]: the cases in order. */
int main(int argc, char **argv)
{
	for (int at = 1; at < argc;) {
		int end = at;
		while (end < argc && strcmp(argv[end], "+"))
			end++;
		argv[end < argc ? end : argc] = NULL;
		size_t i = 0;
		while (i < sizeof cases / sizeof cases[0] &&
		       (strcmp(argv[at], cases[i].name) || end - at - 1 < cases[i].args))
			i++;
		if (i == sizeof cases / sizeof cases[0]) {
			fprintf(stderr, "usage: escape CASE ARGS... [+ CASE ARGS...]\n");
			return 2;
		}
		cases[i].fn(argv + at + 1);
		at = end + 1;
	}
	return 0;
}
