/* SPDX-License-Identifier: MIT */
/* Internal: the wait-for graph of a trace and its cycles (deadlocks). */
#ifndef ASYNCDUMP_WAIT_GRAPH_H
#define ASYNCDUMP_WAIT_GRAPH_H

#include "asyncdump/error.h"
#include "asyncdump/trace.h"

/* Edges task → task from frames awaiting another task's JoinHandle; every
 * strongly connected component with a cycle is recorded in t->cycles as
 * one cycle through it, smallest id first and last ([7, 12, 7]). */
struct ad_error *ad_wait_graph_cycles(struct ad_trace *t);

#endif
