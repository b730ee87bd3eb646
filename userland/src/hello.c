/* The first program end to end: glibc startup, printf through stdio, exit 0. */
#include <stdio.h>

int main(void)
{
	printf("hello, world\n");
	return 0;
}
