/* A dynamically linked program: the kernel starts its interpreter
 * (ld.so), which maps libc from the page cache and runs main. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	printf("hello from a dynamic program, %s\n", getenv("HOME") ? "with env" : "no env");
	return 3;
}
