/*
 * The small tools. What they print follows the Linux tool of the same name
 * (coreutils, procps) where there is one, in its simplest form.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "box.h"

extern char **environ;

int true_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	return 0;
}

int false_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	return 1;
}

int echo_main(int argc, char **argv)
{
	int newline = 1, i = 1;
	if (argc > 1 && !strcmp(argv[1], "-n"))
		newline = 0, i++;
	for (int first = i; i < argc; i++)
		printf("%s%s", i > first ? " " : "", argv[i]);
	if (newline)
		putchar('\n');
	return fflush(stdout) ? 1 : 0;
}

static int copy_fd(int fd, const char *name)
{
	char buf[8192];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			warn_errno("cat", name);
			return 1;
		}
		if (n == 0)
			return 0;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(1, buf + off, n - off);
			if (w < 0) {
				warn_errno("cat", "write error");
				return 1;
			}
			off += w;
		}
	}
}

int cat_main(int argc, char **argv)
{
	if (argc == 1)
		return copy_fd(0, "-");
	int status = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-")) {
			status |= copy_fd(0, "-");
			continue;
		}
		int fd = open(argv[i], O_RDONLY);
		if (fd < 0) {
			warn_errno("cat", argv[i]);
			status = 1;
			continue;
		}
		status |= copy_fd(fd, argv[i]);
		close(fd);
	}
	return status;
}

/* env [NAME=VALUE...] [COMMAND [ARGS...]] */
int env_main(int argc, char **argv)
{
	int i = 1;
	for (; i < argc && strchr(argv[i], '='); i++)
		putenv(argv[i]);
	if (i == argc) {
		for (char **e = environ; *e; e++)
			printf("%s\n", *e);
		return 0;
	}
	execvp(argv[i], argv + i);
	warn_errno("env", argv[i]);
	return errno == ENOENT ? 127 : 126;
}

int sleep_main(int argc, char **argv)
{
	char *end;
	double s = argc == 2 ? strtod(argv[1], &end) : -1;
	if (argc != 2 || *end || s < 0) {
		fprintf(stderr, "usage: sleep SECONDS\n");
		return 1;
	}
	struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return 0;
}

int kill_main(int argc, char **argv)
{
	int sig = SIGTERM, i = 1;
	if (argc > 1 && argv[1][0] == '-') {
		sig = signal_number(argv[1] + 1);
		if (sig < 0) {
			fprintf(stderr, "kill: %s: invalid signal\n", argv[1] + 1);
			return 1;
		}
		i++;
	}
	if (i == argc) {
		fprintf(stderr, "usage: kill [-SIGNAL] PID...\n");
		return 2;
	}
	int status = 0;
	for (; i < argc; i++) {
		if (kill(atoi(argv[i]), sig) < 0) {
			fprintf(stderr, "kill: (%s) - %s\n", argv[i], strerror(errno));
			status = 1;
		}
	}
	return status;
}

int mkdir_main(int argc, char **argv)
{
	int status = 0;
	for (int i = 1; i < argc; i++)
		if (mkdir(argv[i], 0777) < 0) {
			fprintf(stderr, "mkdir: cannot create directory '%s': %s\n", argv[i],
				strerror(errno));
			status = 1;
		}
	return status;
}

int rm_main(int argc, char **argv)
{
	int status = 0;
	for (int i = 1; i < argc; i++)
		if (unlink(argv[i]) < 0) {
			fprintf(stderr, "rm: cannot remove '%s': %s\n", argv[i], strerror(errno));
			status = 1;
		}
	return status;
}

/* uname [-a|-s|-n|-r|-v|-m] */
int uname_main(int argc, char **argv)
{
	struct utsname u;
	if (uname(&u) < 0) {
		warn_errno("uname", "uname");
		return 1;
	}
	const char *opt = argc > 1 ? argv[1] : "-s";
	if (!strcmp(opt, "-a"))
		printf("%s %s %s %s %s GNU/Linux\n", u.sysname, u.nodename, u.release, u.version,
		       u.machine);
	else if (!strcmp(opt, "-s"))
		printf("%s\n", u.sysname);
	else if (!strcmp(opt, "-n"))
		printf("%s\n", u.nodename);
	else if (!strcmp(opt, "-r"))
		printf("%s\n", u.release);
	else if (!strcmp(opt, "-v"))
		printf("%s\n", u.version);
	else if (!strcmp(opt, "-m"))
		printf("%s\n", u.machine);
	else {
		fprintf(stderr, "usage: uname [-a|-s|-n|-r|-v|-m]\n");
		return 1;
	}
	return 0;
}

/* test EXPR, or [ EXPR ]: the common one- and two-operand forms. */
int test_main(int argc, char **argv)
{
	if (!strcmp(argv[0], "[") || (strrchr(argv[0], '/') && !strcmp(strrchr(argv[0], '/'), "/["))) {
		if (strcmp(argv[argc - 1], "]")) {
			fprintf(stderr, "[: missing ]\n");
			return 2;
		}
		argc--;
	}
	int negate = argc > 1 && !strcmp(argv[1], "!");
	char **a = argv + 1 + negate;
	int n = argc - 1 - negate, r;
	struct stat st;
	if (n == 0)
		r = 0;
	else if (n == 1)
		r = a[0][0] != 0;
	else if (n == 2 && !strcmp(a[0], "-n"))
		r = a[1][0] != 0;
	else if (n == 2 && !strcmp(a[0], "-z"))
		r = a[1][0] == 0;
	else if (n == 2 && !strcmp(a[0], "-t"))
		r = isatty(atoi(a[1]));
	else if (n == 2 && !strcmp(a[0], "-e"))
		r = stat(a[1], &st) == 0;
	else if (n == 2 && !strcmp(a[0], "-f"))
		r = stat(a[1], &st) == 0 && S_ISREG(st.st_mode);
	else if (n == 2 && !strcmp(a[0], "-d"))
		r = stat(a[1], &st) == 0 && S_ISDIR(st.st_mode);
	else if (n == 3 && !strcmp(a[1], "="))
		r = !strcmp(a[0], a[2]);
	else if (n == 3 && !strcmp(a[1], "!="))
		r = strcmp(a[0], a[2]) != 0;
	else if (n == 3 && a[1][0] == '-') {
		long x = atol(a[0]), y = atol(a[2]);
		const char *op = a[1] + 1;
		if (!strcmp(op, "eq"))
			r = x == y;
		else if (!strcmp(op, "ne"))
			r = x != y;
		else if (!strcmp(op, "lt"))
			r = x < y;
		else if (!strcmp(op, "le"))
			r = x <= y;
		else if (!strcmp(op, "gt"))
			r = x > y;
		else if (!strcmp(op, "ge"))
			r = x >= y;
		else {
			fprintf(stderr, "test: %s: unknown operator\n", a[1]);
			return 2;
		}
	} else {
		fprintf(stderr, "test: expression not understood\n");
		return 2;
	}
	return negate ? r : !r;
}

/* --- ls --- */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char type_char(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFDIR:
		return 'd';
	case S_IFLNK:
		return 'l';
	case S_IFCHR:
		return 'c';
	case S_IFBLK:
		return 'b';
	case S_IFIFO:
		return 'p';
	case S_IFSOCK:
		return 's';
	default:
		return '-';
	}
}

/* One `ls -l` line, coreutils style: mode, links, owner, group, size, date
 * ("Jan  1  1970" when older than six months, as coreutils prints it). */
static void long_line(const char *path, const char *name)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		warn_errno("ls", path);
		return;
	}
	char mode[11] = "-rwxrwxrwx";
	mode[0] = type_char(st.st_mode);
	for (int i = 0; i < 9; i++)
		if (!(st.st_mode & (0400 >> i)))
			mode[i + 1] = '-';
	if (st.st_mode & S_ISVTX)
		mode[9] = mode[9] == 'x' ? 't' : 'T';
	char date[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&st.st_mtime, &tm);
	int recent = st.st_mtime > now - 182 * 24 * 3600 && st.st_mtime <= now;
	strftime(date, sizeof date, recent ? "%b %e %H:%M" : "%b %e  %Y", &tm);
	char size[24];
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		snprintf(size, sizeof size, "%u, %u", major(st.st_rdev), minor(st.st_rdev));
	else
		snprintf(size, sizeof size, "%lld", (long long)st.st_size);
	printf("%s %2lu %-4u %-4u %8s %s %s", mode, (unsigned long)st.st_nlink, st.st_uid,
	       st.st_gid, size, date, name);
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlink(path, target, sizeof target - 1);
		if (n >= 0)
			printf(" -> %.*s", (int)n, target);
	}
	putchar('\n');
}

/* Names side by side when stdout is a terminal, one per line otherwise,
 * as coreutils does. */
static void short_lines(char **names, int n)
{
	if (!isatty(1)) {
		for (int i = 0; i < n; i++)
			printf("%s\n", names[i]);
		return;
	}
	struct winsize ws = {.ws_col = 80};
	ioctl(1, TIOCGWINSZ, &ws);
	size_t width = 1;
	for (int i = 0; i < n; i++)
		if (strlen(names[i]) + 2 > width)
			width = strlen(names[i]) + 2;
	int cols = ws.ws_col / width ? ws.ws_col / width : 1;
	int rows = (n + cols - 1) / cols;
	for (int r = 0; r < rows; r++) {
		for (int c = 0; c < cols && c * rows + r < n; c++) {
			int i = c * rows + r;
			printf("%-*s", i + rows < n ? (int)width : 0, names[i]);
		}
		putchar('\n');
	}
}

static int list(const char *path, int all, int longf)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		fprintf(stderr, "ls: cannot access '%s': %s\n", path, strerror(errno));
		return 2;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (longf)
			long_line(path, path);
		else
			printf("%s\n", path);
		return 0;
	}
	DIR *d = opendir(path);
	if (!d) {
		fprintf(stderr, "ls: cannot open directory '%s': %s\n", path, strerror(errno));
		return 2;
	}
	char **names = NULL;
	int n = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.' && !all)
			continue;
		names = realloc(names, (n + 1) * sizeof *names);
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, name_cmp);
	if (longf) {
		for (int i = 0; i < n; i++) {
			char full[4096];
			snprintf(full, sizeof full, "%s/%s", path, names[i]);
			long_line(full, names[i]);
		}
	} else
		short_lines(names, n);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return 0;
}

int ls_main(int argc, char **argv)
{
	int all = 0, longf = 0, i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++)
		for (char *o = argv[i] + 1; *o; o++) {
			if (*o == 'a')
				all = 1;
			else if (*o == 'l')
				longf = 1;
			else {
				fprintf(stderr, "ls: invalid option -- '%c'\n", *o);
				return 2;
			}
		}
	if (i == argc)
		return list(".", all, longf);
	int status = 0;
	for (int first = i; i < argc; i++) {
		if (argc - first > 1)
			printf("%s%s:\n", i > first ? "\n" : "", argv[i]);
		status |= list(argv[i], all, longf);
	}
	return status;
}

/* --- /proc readers: ps, pstree, free --- */

struct proc {
	int pid, ppid;
	char state;
	char comm[64];
	char args[256];
};

/* /proc/PID/stat is "PID (COMM) STATE PPID ..."; COMM may hold spaces and
 * parentheses, so it ends at the last ')'. */
static int read_proc(int pid, struct proc *p)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	char *s = read_small_file(path, NULL);
	char *open = s ? strchr(s, '(') : NULL, *close = s ? strrchr(s, ')') : NULL;
	if (!open || !close || close < open)
		return -1;
	p->pid = pid;
	snprintf(p->comm, sizeof p->comm, "%.*s", (int)(close - open - 1), open + 1);
	if (sscanf(close + 1, " %c %d", &p->state, &p->ppid) != 2)
		return -1;
	/* The command line, NUL-separated; empty for a zombie. */
	snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
	size_t len = 0;
	s = read_small_file(path, &len);
	if (!s || len == 0)
		snprintf(p->args, sizeof p->args, "[%s]%s", p->comm,
			 p->state == 'Z' ? " <defunct>" : "");
	else {
		for (size_t i = 0; i + 1 < len; i++)
			if (!s[i])
				s[i] = ' ';
		snprintf(p->args, sizeof p->args, "%s", s);
	}
	return 0;
}

static int pid_cmp(const void *a, const void *b)
{
	return ((const struct proc *)a)->pid - ((const struct proc *)b)->pid;
}

/* Every process in /proc, by PID; -1 (and one line said) without /proc. */
static int read_procs(const char *tool, struct proc **out)
{
	DIR *d = opendir("/proc");
	if (!d || access("/proc/self/stat", R_OK) < 0) {
		fprintf(stderr, "%s: /proc is not mounted, so there is no process list to read\n",
			tool);
		if (d)
			closedir(d);
		return -1;
	}
	struct proc *procs = NULL;
	int n = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		procs = realloc(procs, (n + 1) * sizeof *procs);
		if (read_proc(atoi(e->d_name), &procs[n]) == 0)
			n++;
	}
	closedir(d);
	qsort(procs, n, sizeof *procs, pid_cmp);
	*out = procs;
	return n;
}

/* ps: every process, as `ps -eo pid,ppid,stat,args` prints them. */
int ps_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	struct proc *procs;
	int n = read_procs("ps", &procs);
	if (n < 0)
		return 1;
	printf("%7s %7s %-4s %s\n", "PID", "PPID", "STAT", "COMMAND");
	for (int i = 0; i < n; i++)
		printf("%7d %7d %-4c %s\n", procs[i].pid, procs[i].ppid, procs[i].state,
		       procs[i].args);
	free(procs);
	return 0;
}

/* Prints process i and its children below it, as `pstree -A -p` does:
 * `init(1)-+-a(2)` with the other children on their own lines under
 * " |-" and " `-". `prefix` is what starts each continuation line. */
static void tree(struct proc *procs, int n, int i, char *prefix, size_t plen)
{
	char label[96];
	int w = snprintf(label, sizeof label, "%s(%d)", procs[i].comm, procs[i].pid);
	fputs(label, stdout);
	int kids[256], nk = 0;
	for (int k = 0; k < n && nk < 256; k++)
		if (procs[k].ppid == procs[i].pid && k != i)
			kids[nk++] = k;
	if (nk == 0) {
		putchar('\n');
		return;
	}
	/* Continuation lines of the children start under the label's end. */
	size_t base = plen + w;
	if (base + 3 >= 4096) {
		putchar('\n');
		return;
	}
	memset(prefix + plen, ' ', w);
	for (int k = 0; k < nk; k++) {
		const char *join;
		if (k == 0)
			join = nk == 1 ? "---" : "-+-";
		else {
			fwrite(prefix, 1, base, stdout);
			join = k == nk - 1 ? " `-" : " |-";
		}
		fputs(join, stdout);
		memcpy(prefix + base, k == nk - 1 ? "   " : " | ", 3);
		tree(procs, n, kids[k], prefix, base + 3);
	}
}

int pstree_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	struct proc *procs;
	int n = read_procs("pstree", &procs);
	if (n < 0)
		return 1;
	static char prefix[4096];
	/* The roots: processes whose parent is not listed (init's is 0). */
	for (int i = 0; i < n; i++) {
		int has_parent = 0;
		for (int k = 0; k < n; k++)
			has_parent |= procs[k].pid == procs[i].ppid && k != i;
		if (!has_parent)
			tree(procs, n, i, prefix, 0);
	}
	free(procs);
	return 0;
}

/* The value of "NAME:   123 kB" in /proc/meminfo, or -1. */
static long meminfo(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, name, n) && p[n] == ':')
			return atol(p + n + 1);
	return -1;
}

/* free: memory in KiB, procps-ng 4 style (used = total - available). */
int free_main(int argc, char **argv)
{
	(void)argc, (void)argv;
	char *m = read_small_file("/proc/meminfo", NULL);
	if (!m) {
		fprintf(stderr, "free: /proc/meminfo: %s (is /proc mounted?)\n", strerror(errno));
		return 1;
	}
	long total = meminfo(m, "MemTotal"), free_ = meminfo(m, "MemFree");
	long avail = meminfo(m, "MemAvailable"), shared = meminfo(m, "Shmem");
	long buffers = meminfo(m, "Buffers"), cached = meminfo(m, "Cached");
	long cache = (buffers < 0 ? 0 : buffers) + (cached < 0 ? 0 : cached);
	long stotal = meminfo(m, "SwapTotal"), sfree = meminfo(m, "SwapFree");
	if (total < 0 || free_ < 0) {
		fprintf(stderr, "free: /proc/meminfo has no MemTotal or MemFree line\n");
		return 1;
	}
	if (avail < 0)
		avail = free_;
	printf("%-8s%12s%12s%12s%12s%12s%12s\n", "", "total", "used", "free", "shared",
	       "buff/cache", "available");
	printf("%-8s%12ld%12ld%12ld%12ld%12ld%12ld\n", "Mem:", total, total - avail, free_,
	       shared < 0 ? 0 : shared, cache, avail);
	printf("%-8s%12ld%12ld%12ld\n", "Swap:", stotal < 0 ? 0 : stotal,
	       stotal < 0 ? 0 : stotal - sfree, sfree < 0 ? 0 : sfree);
	return 0;
}
