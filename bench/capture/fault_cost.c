/*
 * fault_cost.c
 *	  What one minor page fault on shared memory costs on this machine: a
 *	  process maps a 256 MB shared anonymous region (as PostgreSQL's shared
 *	  buffers are) and touches each 4 kB page, first in the process that
 *	  creates it, then in a child that maps pages which already exist (what
 *	  a fresh backend does with buffers the others filled).  Prints the two
 *	  costs in microseconds per fault.  Used by bench/capture/run.
 */
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REGION ((size_t) 256 << 20)
#define PAGE 4096

static double
touch_us_per_page(volatile char *p, char value)
{
	struct timespec a,
				b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (size_t i = 0; i < REGION; i += PAGE)
		p[i] = value;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3 / (REGION / PAGE);
}

int
main(void)
{
	char	   *p = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t		child;

	if (p == MAP_FAILED)
	{
		perror("mmap");
		return 1;
	}
	printf("first touch %.2f\n", touch_us_per_page(p, 1));
	fflush(stdout);
	child = fork();
	if (child == 0)
	{
		printf("existing page %.2f\n", touch_us_per_page(p, 2));
		return 0;
	}
	if (child < 0 || waitpid(child, NULL, 0) != child)
	{
		perror("fork");
		return 1;
	}
	return 0;
}
