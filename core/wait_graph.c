/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "u64map.h"
#include "wait_graph.h"

struct node {
	uint64_t id;
	size_t *out;        /* indices of awaited tasks */
	size_t nout, capout;
	/* Tarjan */
	long index, low;
	bool on_stack;
	long scc;
};

struct graph {
	struct node *nodes;
	size_t n;
	struct ad_u64map by_id; /* id + 1 → node index + 1 */
	long next_index, nscc;
	size_t *stack;
	size_t sp;
};

static bool add_edge(struct node *from, size_t to)
{
	for (size_t i = 0; i < from->nout; i++)
		if (from->out[i] == to)
			return true;
	if (from->nout == from->capout) {
		size_t cap = from->capout ? from->capout * 2 : 4;
		size_t *p = realloc(from->out, cap * sizeof(*p));
		if (!p)
			return false;
		from->out = p;
		from->capout = cap;
	}
	from->out[from->nout++] = to;
	return true;
}

/* Iterative over the frame tree: futures can nest deeply. */
static bool collect_edges(struct graph *g, size_t from, const struct ad_frame *root)
{
	const struct ad_frame **todo = NULL;
	size_t n = 0, cap = 0;
	bool ok = true;
	if (root) {
		todo = malloc(sizeof(*todo) * 16);
		if (!todo)
			return false;
		cap = 16;
		todo[n++] = root;
	}
	while (n && ok) {
		const struct ad_frame *f = todo[--n];
		if (f->has_awaits_task) {
			void *to = ad_u64map_get(&g->by_id, f->awaits_task + 1);
			if (to)
				ok = add_edge(&g->nodes[from], (size_t)(uintptr_t)to - 1);
		}
		if (n + f->nchildren > cap) {
			size_t ncap = (n + f->nchildren) * 2;
			const struct ad_frame **p = realloc(todo, ncap * sizeof(*p));
			if (!p) {
				ok = false;
				break;
			}
			todo = p;
			cap = ncap;
		}
		for (size_t i = 0; i < f->nchildren; i++)
			todo[n++] = f->children[i];
	}
	free(todo);
	return ok;
}

/* Tarjan's algorithm, recursive on the number of tasks in one chain of
 * waits: bounded by the task count, fine for the lists we read. */
static void strongconnect(struct graph *g, size_t v)
{
	struct node *nv = &g->nodes[v];
	nv->index = nv->low = g->next_index++;
	g->stack[g->sp++] = v;
	nv->on_stack = true;
	for (size_t i = 0; i < nv->nout; i++) {
		size_t w = nv->out[i];
		struct node *nw = &g->nodes[w];
		if (nw->index < 0) {
			strongconnect(g, w);
			if (nw->low < nv->low)
				nv->low = nw->low;
		} else if (nw->on_stack && nw->index < nv->low) {
			nv->low = nw->index;
		}
	}
	if (nv->low == nv->index) {
		size_t w;
		do {
			w = g->stack[--g->sp];
			g->nodes[w].on_stack = false;
			g->nodes[w].scc = g->nscc;
		} while (w != v);
		g->nscc++;
	}
}

/* From the smallest id of the component, follow edges inside it back to
 * the start (breadth first, so the cycle is a shortest one). */
static struct ad_error *record_cycle(struct ad_trace *t, struct graph *g, size_t start)
{
	long scc = g->nodes[start].scc;
	size_t *prev = malloc(g->n * sizeof(*prev)), *queue = malloc(g->n * sizeof(*queue));
	uint64_t *ids = malloc((g->n + 1) * sizeof(*ids));
	struct ad_error *err = NULL;
	if (!prev || !queue || !ids) {
		err = &ad_error_nomem;
		goto out;
	}
	for (size_t i = 0; i < g->n; i++)
		prev[i] = (size_t)-1;
	size_t qh = 0, qn = 0, end = (size_t)-1;
	queue[qn++] = start;
	while (qh < qn && end == (size_t)-1) {
		size_t v = queue[qh++];
		for (size_t i = 0; i < g->nodes[v].nout; i++) {
			size_t w = g->nodes[v].out[i];
			if (g->nodes[w].scc != scc)
				continue;
			if (w == start) {
				end = v;
				break;
			}
			if (prev[w] == (size_t)-1) {
				prev[w] = v;
				queue[qn++] = w;
			}
		}
	}
	if (end == (size_t)-1)
		goto out;
	/* Walk back from `end` to `start`, then reverse. */
	size_t n = 0;
	for (size_t v = end; v != start; v = prev[v])
		ids[n++] = g->nodes[v].id;
	ids[n++] = g->nodes[start].id;
	for (size_t i = 0; i < n / 2; i++) {
		uint64_t tmp = ids[i];
		ids[i] = ids[n - 1 - i];
		ids[n - 1 - i] = tmp;
	}
	ids[n++] = g->nodes[start].id;
	err = ad_trace_add_cycle(t, ids, n);
out:
	free(prev);
	free(queue);
	free(ids);
	return err;
}

struct ad_error *ad_wait_graph_cycles(struct ad_trace *t)
{
	struct graph g = { 0 };
	struct ad_error *err = NULL;
	ad_u64map_init(&g.by_id);
	g.nodes = calloc(t->ntasks ? t->ntasks : 1, sizeof(*g.nodes));
	g.stack = calloc(t->ntasks ? t->ntasks : 1, sizeof(*g.stack));
	if (!g.nodes || !g.stack) {
		err = &ad_error_nomem;
		goto out;
	}
	for (size_t i = 0; i < t->ntasks; i++) {
		if (!t->tasks[i].has_id)
			continue;
		struct node *nd = &g.nodes[g.n];
		nd->id = t->tasks[i].id;
		nd->index = -1;
		if (!ad_u64map_put(&g.by_id, nd->id + 1, (void *)(uintptr_t)(g.n + 1))) {
			err = &ad_error_nomem;
			goto out;
		}
		g.n++;
	}
	for (size_t i = 0, k = 0; i < t->ntasks; i++) {
		if (!t->tasks[i].has_id)
			continue;
		if (!collect_edges(&g, k++, t->tasks[i].root)) {
			err = &ad_error_nomem;
			goto out;
		}
	}
	for (size_t v = 0; v < g.n; v++)
		if (g.nodes[v].index < 0)
			strongconnect(&g, v);
	/* One cycle per component that has one: size > 1, or a self-loop. */
	for (long c = 0; c < g.nscc && !err; c++) {
		size_t start = (size_t)-1, size = 0;
		for (size_t v = 0; v < g.n; v++) {
			if (g.nodes[v].scc != c)
				continue;
			size++;
			if (start == (size_t)-1 || g.nodes[v].id < g.nodes[start].id)
				start = v;
		}
		bool self = false;
		for (size_t i = 0; size == 1 && i < g.nodes[start].nout; i++)
			self |= g.nodes[start].out[i] == start;
		if (size > 1 || self)
			err = record_cycle(t, &g, start);
	}
out:
	for (size_t i = 0; i < g.n; i++)
		free(g.nodes[i].out);
	free(g.nodes);
	free(g.stack);
	ad_u64map_deinit(&g.by_id);
	return err;
}
