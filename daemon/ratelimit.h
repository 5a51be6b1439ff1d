/* SPDX-License-Identifier: MIT */
/* A token bucket: `rate` requests per second on average, bursts up to one
 * second's worth. Shared by every client: what it protects is the targets,
 * which every sample stops, and the daemon's CPU. */
#ifndef ASYNCDUMP_DAEMON_RATELIMIT_H
#define ASYNCDUMP_DAEMON_RATELIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

struct ratelimit {
	pthread_mutex_t lock;
	double rate;   /* tokens per second; 0: unlimited */
	double tokens;
	struct timespec last;
};

void ratelimit_init(struct ratelimit *rl, unsigned per_second);
void ratelimit_deinit(struct ratelimit *rl);
/* Takes a token; false when none is left (answer 429). */
bool ratelimit_take(struct ratelimit *rl);

#endif
