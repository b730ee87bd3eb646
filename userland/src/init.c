/*
 * init: PID 1 of cleave. `cleave run PROG ARGS...` boots it as
 * [init, PROG, ARGS...]: it forks, the child execs PROG (a host path), and
 * init reaps every child, orphans included, until the main child has exited
 * and none is left. It exits with the main child's status (128 + N if a
 * signal killed it); the kernel reports that status to the host itself.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "init: usage: init PROGRAM [ARGS...]\n");
		return 2;
	}
	pid_t main_pid = fork();
	if (main_pid < 0) {
		fprintf(stderr, "init: fork: %s\n", strerror(errno));
		return 1;
	}
	if (main_pid == 0) {
		execve(argv[1], argv + 1, environ);
		int e = errno;
		fprintf(stderr, "init: %s: %s\n", argv[1], strerror(e));
		_exit(e == ENOENT ? 127 : 126);
	}
	int main_status = 0;
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break; /* ECHILD: nobody left */
		}
		if (pid == main_pid)
			main_status = status;
	}
	if (WIFSIGNALED(main_status))
		return 128 + WTERMSIG(main_status);
	return WEXITSTATUS(main_status);
}
