/* A child that dies of SIGABRT with RLIMIT_CORE unlimited leaves a core
 * file that names it and holds its memory, its auxiliary vector, its file
 * mappings and its command line; prints only facts that hold on any Linux
 * whose core_pattern is "core". */
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __riscv
#define MACHINE EM_RISCV
#else
#define MACHINE EM_X86_64
#endif

static volatile uint64_t marker;

/* The notes Linux writes first for the dumping thread (write_note_info). */
static const unsigned order[] = {NT_PRSTATUS, NT_PRPSINFO, NT_SIGINFO, NT_AUXV, NT_FILE, NT_PRFPREG};
#define NORDER (sizeof order / sizeof order[0])

/* The auxv note holds key's value from exec. */
static int auxv_has(const char *desc, size_t size, uint64_t key, uint64_t value)
{
	for (size_t i = 0; i + 16 <= size; i += 16)
		if (((uint64_t *)(desc + i))[0] == key)
			return ((uint64_t *)(desc + i))[1] == value;
	return 0;
}

/* The NT_FILE note maps code at `va` to the file named `path`, and names
 * only files (no [vdso]). */
static int files_map(const char *desc, size_t size, uint64_t va, const char *path)
{
	const uint64_t *w = (const uint64_t *)desc;
	uint64_t count = w[0];
	if (size < 16 + 24 * count || w[1] != (uint64_t)sysconf(_SC_PAGESIZE))
		return 0;
	const char *name = desc + 16 + 24 * count;
	int found = 0;
	for (uint64_t i = 0; i < count; i++) {
		if (name[0] == '[')
			return 0;
		if (w[2 + 3 * i] <= va && va < w[3 + 3 * i] && strcmp(name, path) == 0)
			found = 1;
		name += strlen(name) + 1;
	}
	return found && name == desc + size;
}

int main(int argc, char **argv)
{
	char exe[4096] = "";
	if (readlink("/proc/self/exe", exe, sizeof exe - 1) < 0)
		return 1;
	/* fill_psinfo: the argument strings, NULs made spaces, at most 79 bytes. */
	char psargs[80] = "";
	for (int i = 0; i < argc; i++) {
		strncat(psargs, argv[i], sizeof psargs - 1 - strlen(psargs));
		strncat(psargs, " ", sizeof psargs - 1 - strlen(psargs));
	}
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
	int found_pid = 0, found_marker = 0, found_auxv = 0, found_file = 0, found_psargs = 0;
	size_t notes = 0, in_order = 0;
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
				/* elf_prpsinfo: pr_psargs at 56 on every 64-bit arch. */
				if (n->n_type == NT_PRPSINFO && strcmp(desc + 56, psargs) == 0)
					found_psargs = 1;
				if (n->n_type == NT_AUXV)
					found_auxv = auxv_has(desc, n->n_descsz, AT_ENTRY, getauxval(AT_ENTRY)) &&
						     auxv_has(desc, n->n_descsz, AT_PHDR, getauxval(AT_PHDR));
				if (n->n_type == NT_FILE)
					found_file = files_map(desc, n->n_descsz, (uint64_t)(uintptr_t)main, exe);
				if (notes < NORDER && n->n_type == order[notes])
					in_order++;
				notes++;
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
	printf("notes in Linux's order: %s\n", in_order == NORDER ? "yes" : "no");
	printf("NT_AUXV has exec's AT_ENTRY and AT_PHDR: %s\n", found_auxv ? "yes" : "no");
	printf("NT_FILE maps main to this program, no [vdso]: %s\n", found_file ? "yes" : "no");
	printf("NT_PRPSINFO holds the command line: %s\n", found_psargs ? "yes" : "no");
	unlink("core");
	rmdir(dir);
	return 0;
}
