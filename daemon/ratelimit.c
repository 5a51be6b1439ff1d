/* SPDX-License-Identifier: MIT */
#include "ratelimit.h"

void ratelimit_init(struct ratelimit *rl, unsigned per_second)
{
	pthread_mutex_init(&rl->lock, NULL);
	rl->rate = per_second;
	rl->tokens = per_second;
	clock_gettime(CLOCK_MONOTONIC, &rl->last);
}

void ratelimit_deinit(struct ratelimit *rl)
{
	pthread_mutex_destroy(&rl->lock);
}

bool ratelimit_take(struct ratelimit *rl)
{
	if (rl->rate <= 0)
		return true;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&rl->lock);
	double elapsed = (double)(now.tv_sec - rl->last.tv_sec) +
			 (double)(now.tv_nsec - rl->last.tv_nsec) / 1e9;
	rl->last = now;
	rl->tokens += elapsed * rl->rate;
	if (rl->tokens > rl->rate)
		rl->tokens = rl->rate; /* burst: one second's worth */
	bool allowed = rl->tokens >= 1.0;
	if (allowed)
		rl->tokens -= 1.0;
	pthread_mutex_unlock(&rl->lock);
	return allowed;
}
