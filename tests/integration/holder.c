/* SPDX-License-Identifier: MIT */
/* Another tracer, for the attach tests: `holder PID` PTRACE_SEIZEs PID (which
 * keeps running: a seize alone stops nothing), prints "HOLDING", and holds it
 * until SIGTERM; exiting detaches. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <unistd.h>

static volatile sig_atomic_t term;

static void on_term(int sig)
{
	(void)sig;
	term = 1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: holder PID\n");
		return 2;
	}
	pid_t pid = (pid_t)atol(argv[1]);
	struct sigaction sa = { .sa_handler = on_term };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0) {
		fprintf(stderr, "holder: PTRACE_SEIZE %d: %s\n", (int)pid, strerror(errno));
		return 1;
	}
	printf("HOLDING\n");
	fflush(stdout);
	while (!term)
		pause();
	return 0;
}
