/*
 * init: PID 1 of cleave. It has two roles.
 *
 * `cleave run PROG ARGS...` boots it as [init, PROG, ARGS...]: it forks, the
 * child execs PROG (a host path), and init reaps every child, orphans
 * included, until the main child has exited and none is left.
 *
 * `cleave` alone boots it from the initramfs as [/sbin/init]: it mounts
 * /proc and /tmp, runs /etc/rc, starts /bin/sh on the console and reaps
 * every child, orphans included, until the shell exits.
 *
 * Either way init then exits with that child's status (128 + N if signal N
 * killed it). Linux would panic when init exits; cleave powers off instead
 * and passes the status on to the host, so `echo 'exit 3' | cleave` exits 3.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Forks a child that runs argv; returns its PID, or -1. */
static pid_t start(char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "init: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		execve(argv[0], argv, environ);
		int e = errno;
		fprintf(stderr, "init: %s: %s\n", argv[0], strerror(e));
		_exit(e == ENOENT ? 127 : 126);
	}
	return pid;
}

/* Reaps children until `main_pid` has exited, and with `all` until no
 * child is left; returns main_pid's wait status. Any orphan the kernel
 * hands to init is reaped here too: that is what keeps it from staying a
 * zombie. */
static int reap(pid_t main_pid, int all)
{
	int main_status = 0;
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break; /* ECHILD: nobody left */
		}
		if (pid == main_pid) {
			main_status = status;
			if (!all)
				break;
		}
	}
	return main_status;
}

static int exit_code(int status)
{
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* The boot role: the system of the initramfs. */
static int boot(void)
{
	/* procfs for ps and the demos; a fresh tmpfs for /tmp. /dev is left
	 * alone: the kernel fills it itself, as Linux's devtmpfs does, and a
	 * tmpfs mounted over it would hide the devices. A kernel without
	 * mount(2), or one that mounted them already, leaves the initramfs
	 * directories in place, which still work (an empty /proc, a /tmp on
	 * the root tmpfs): the tools say so when they need /proc. */
	mount("proc", "/proc", "proc", 0, NULL);
	mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777");

	/* Where the shell and everything it starts look for commands. */
	setenv("PATH", "/bin:/sbin", 0);

	if (access("/etc/rc", R_OK) == 0) {
		char *rc[] = {"/bin/sh", "/etc/rc", NULL};
		pid_t pid = start(rc);
		if (pid > 0)
			reap(pid, 0);
	}
	/* The console shell, on init's stdin, stdout and stderr. */
	char *sh[] = {"/bin/sh", NULL};
	pid_t pid = start(sh);
	if (pid < 0)
		return 1;
	/* The shell's exit is the power-off; its background jobs die with the
	 * kernel, as everything does at shutdown. */
	return exit_code(reap(pid, 0));
}

int main(int argc, char **argv)
{
	if (getpid() == 1 && argc == 1)
		return boot();
	if (argc < 2) {
		fprintf(stderr, "init: usage: init PROGRAM [ARGS...]\n");
		return 2;
	}
	char **program = argv + 1;
	pid_t pid = start(program);
	if (pid < 0)
		return 1;
	return exit_code(reap(pid, 1));
}
