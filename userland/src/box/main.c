/*
 * The multi-call driver: argv[0]'s last component names the applet.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "box.h"

const struct applet applets[] = {
	{"sh", sh_main, "the shell: sh, sh FILE, sh -c COMMAND", 0},
	{"cat", cat_main, "print files (or stdin)", 0},
	{"echo", echo_main, "print the arguments (-n: no newline)", 0},
	{"env", env_main, "print the environment, or run a command with NAME=VALUE added", 0},
	{"false", false_main, "exit with status 1", 0},
	{"free", free_main, "memory in KiB, from /proc/meminfo", 0},
	{"kill", kill_main, "send a signal: kill [-SIG] PID...", 0},
	{"ls", ls_main, "list files: ls [-a] [-l] [PATH...]", 0},
	{"mkdir", mkdir_main, "make directories", 0},
	{"ps", ps_main, "every process: PID, parent, state, command (from /proc)", 0},
	{"pstree", pstree_main, "the processes as a tree of parents and children", 0},
	{"rm", rm_main, "remove files", 0},
	{"sleep", sleep_main, "wait SECONDS (fractions allowed)", 0},
	{"test", test_main, "test -t FD, -e/-f/-d FILE, -n/-z S, S = S, N -eq N (also [)", 0},
	{"[", test_main, NULL, 0}, /* no help line: test's */
	{"true", true_main, "exit with status 0", 0},
	{"uname", uname_main, "the kernel's name (-a: everything uname(2) says)", 0},
	/* The demos: one idea of process creation each. */
	{"fork", fork_main, "one program, two processes: same variable, different PIDs", 1},
	{"cow", cow_main, "copy-on-write: pages shared after fork, copied when written", 1},
	{"shm", shm_main, "shared memory: a segment fork does not copy, one frame for both", 1},
	{"vfork", vfork_main, "the parent waits while the child borrows its memory", 1},
	{"execve", execve_main, "same PID, new program: what exec keeps and what it replaces", 1},
	{"clone", clone_main, "each clone flag: what the child shares and what it copies", 1},
	{"threads", threads_main, "one process, many threads: one PID, many TIDs", 1},
	{"orphan", orphan_main, "a child whose parent exits is adopted by init (PID 1)", 1},
	{"zombie", zombie_main, "an exited child stays a zombie until its parent waits", 1},
	{"spawn", spawn_main, "fork+exec versus vfork+exec versus posix_spawn, timed", 1},
	{NULL, NULL, NULL, 0},
};

static const struct applet *find(const char *name)
{
	for (const struct applet *a = applets; a->name; a++)
		if (!strcmp(a->name, name))
			return a;
	return NULL;
}

int main(int argc, char **argv)
{
	const char *name = argc > 0 ? argv[0] : "box";
	const char *slash = strrchr(name, '/');
	if (slash)
		name = slash + 1;
	/* A login shell's argv[0] is "-sh". */
	if (name[0] == '-')
		name++;
	if (!strcmp(name, "box")) {
		if (argc < 2) {
			fprintf(stderr, "usage: box APPLET [ARGS...]\n");
			return 2;
		}
		return main(argc - 1, argv + 1);
	}
	const struct applet *a = find(name);
	if (!a) {
		fprintf(stderr, "box: %s: no such applet\n", name);
		return 127;
	}
	return a->main(argc, argv);
}

const char *signal_text(int sig)
{
	return strsignal(sig);
}

int signal_number(const char *name)
{
	static const char *names[] = {
		[SIGHUP] = "HUP",   [SIGINT] = "INT",	[SIGQUIT] = "QUIT", [SIGILL] = "ILL",
		[SIGTRAP] = "TRAP", [SIGABRT] = "ABRT", [SIGBUS] = "BUS",   [SIGFPE] = "FPE",
		[SIGKILL] = "KILL", [SIGUSR1] = "USR1", [SIGSEGV] = "SEGV", [SIGUSR2] = "USR2",
		[SIGPIPE] = "PIPE", [SIGALRM] = "ALRM", [SIGTERM] = "TERM", [SIGCHLD] = "CHLD",
		[SIGCONT] = "CONT", [SIGSTOP] = "STOP", [SIGTSTP] = "TSTP",
	};
	char *end;
	long n = strtol(name, &end, 10);
	if (*name && !*end)
		return n >= 0 && n < 65 ? (int)n : -1;
	if (!strncmp(name, "SIG", 3))
		name += 3;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i] && !strcmp(names[i], name))
			return (int)i;
	return -1;
}

void warn_errno(const char *name, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", name, what, strerror(errno));
}

char *read_small_file(const char *path, size_t *len)
{
	static char buf[64 * 1024];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	close(fd);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}
