/*
 * box: the one program behind /bin/sh, the small tools and the demos of
 * cleave's initramfs. Every /bin/NAME is a symlink to /bin/box, and box
 * runs the applet its argv[0] names (or `box NAME ARGS...`), as busybox
 * does: one binary instead of thirty keeps the archive small.
 */
#ifndef BOX_H
#define BOX_H

#include "../guest.h"

struct applet {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *help; /* one line for the shell's `help` */
	int demo;	  /* a demo of the notes, not a tool */
};

/* Every applet; ends with a NULL name. */
extern const struct applet applets[];

int sh_main(int argc, char **argv);

int cat_main(int argc, char **argv);
int echo_main(int argc, char **argv);
int env_main(int argc, char **argv);
int false_main(int argc, char **argv);
int free_main(int argc, char **argv);
int kill_main(int argc, char **argv);
int ls_main(int argc, char **argv);
int mkdir_main(int argc, char **argv);
int ps_main(int argc, char **argv);
int pstree_main(int argc, char **argv);
int rm_main(int argc, char **argv);
int sleep_main(int argc, char **argv);
int test_main(int argc, char **argv);
int true_main(int argc, char **argv);
int uname_main(int argc, char **argv);

int fork_main(int argc, char **argv);
int cow_main(int argc, char **argv);
int shm_main(int argc, char **argv);
int vfork_main(int argc, char **argv);
int execve_main(int argc, char **argv);
int clone_main(int argc, char **argv);
int threads_main(int argc, char **argv);
int orphan_main(int argc, char **argv);
int zombie_main(int argc, char **argv);
int spawn_main(int argc, char **argv);

/* "Killed", "Segmentation fault": what a shell prints for a death. */
const char *signal_text(int sig);
/* A signal's number from "9", "KILL" or "SIGKILL"; -1 if unknown. */
int signal_number(const char *name);

/* Prints "NAME: WHAT: strerror(errno)" to stderr. */
void warn_errno(const char *name, const char *what);

/* The contents of a small file, NUL-terminated, in a static buffer (NULL
 * if it cannot be read). Used for /proc files, which are read in one go. */
char *read_small_file(const char *path, size_t *len);

#endif
