/* A child that dies of SIGABRT with RLIMIT_CORE unlimited leaves a core
 * file that names it and holds its memory; prints only facts that hold on
 * any Linux whose core_pattern is "core". */
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __riscv
#define MACHINE EM_RISCV
#else
#define MACHINE EM_X86_64
#endif

static volatile uint64_t marker;

int main(void)
{
	char dir[] = "/tmp/coreXXXXXX";
	if (!mkdtemp(dir) || chdir(dir) != 0)
		return 1;
	struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
	setrlimit(RLIMIT_CORE, &rl);
	pid_t pid = fork();
	if (pid == 0) {
		marker = 0x1234567887654321ull;
		abort();
	}
	int st;
	waitpid(pid, &st, 0);
	printf("killed by SIGABRT: %s, core dumped: %s\n",
	       WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT ? "yes" : "no", WCOREDUMP(st) ? "yes" : "no");

	int fd = open("core", O_RDONLY);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0) {
		printf("no core file\n");
		return 1;
	}
	size_t len = sb.st_size;
	char *core = malloc(len);
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, core + got, len - got);
		if (n <= 0)
			return 1;
		got += n;
	}
	close(fd);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)core;
	printf("ELF core for this machine: %s\n",
	       len > sizeof *eh && memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_type == ET_CORE &&
			       eh->e_machine == MACHINE
		       ? "yes"
		       : "no");
	int found_pid = 0, found_marker = 0;
	Elf64_Phdr *ph = (Elf64_Phdr *)(core + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_NOTE) {
			for (size_t at = ph[i].p_offset; at < ph[i].p_offset + ph[i].p_filesz;) {
				Elf64_Nhdr *n = (Elf64_Nhdr *)(core + at);
				char *desc = (char *)(n + 1) + ((n->n_namesz + 3) & ~3u);
				/* elf_prstatus: pr_cursig at 12, pr_pid at 32 on every 64-bit arch. */
				if (n->n_type == NT_PRSTATUS && *(int16_t *)(desc + 12) == SIGABRT &&
				    *(int32_t *)(desc + 32) == pid)
					found_pid = 1;
				at = desc + ((n->n_descsz + 3) & ~3u) - core;
			}
		}
		uint64_t va = (uint64_t)(uintptr_t)&marker;
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset + ph[i].p_filesz <= len && va >= ph[i].p_vaddr && va + 8 <= ph[i].p_vaddr + ph[i].p_filesz &&
		    *(uint64_t *)(core + ph[i].p_offset + (va - ph[i].p_vaddr)) == 0x1234567887654321ull)
			found_marker = 1;
	}
	printf("NT_PRSTATUS names the child and SIGABRT: %s\n", found_pid ? "yes" : "no");
	printf("the child's memory is in a PT_LOAD: %s\n", found_marker ? "yes" : "no");
	unlink("core");
	rmdir(dir);
	return 0;
}
