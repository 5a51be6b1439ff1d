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
	struct ad_u64map by_id; /* task id → node index + 1 (NULL: absent) */
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
			void *to = ad_u64map_get(&g->by_id, f->awaits_task);
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

/* Tarjan's algorithm, iterative: a chain of tasks awaiting each other can
 * be as long as the task list, too deep for the call stack. `work` holds
 * (node, next edge) pairs; g->stack the nodes of components in progress. */
struct frame_state {
	size_t v, edge;
};

static void strongconnect(struct graph *g, size_t root, struct frame_state *work)
{
	size_t depth = 0;
	work[depth++] = (struct frame_state){ root, 0 };
	g->nodes[root].index = g->nodes[root].low = g->next_index++;
	g->stack[g->sp++] = root;
	g->nodes[root].on_stack = true;
	while (depth) {
		struct frame_state *fs = &work[depth - 1];
		struct node *nv = &g->nodes[fs->v];
		if (fs->edge < nv->nout) {
			size_t w = nv->out[fs->edge++];
			struct node *nw = &g->nodes[w];
			if (nw->index < 0) {
				nw->index = nw->low = g->next_index++;
				g->stack[g->sp++] = w;
				nw->on_stack = true;
				work[depth++] = (struct frame_state){ w, 0 };
			} else if (nw->on_stack && nw->index < nv->low) {
				nv->low = nw->index;
			}
			continue;
		}
		if (nv->low == nv->index) {
			size_t w;
			do {
				w = g->stack[--g->sp];
				g->nodes[w].on_stack = false;
				g->nodes[w].scc = g->nscc;
			} while (w != fs->v);
			g->nscc++;
		}
		size_t done = fs->v;
		depth--;
		if (depth && g->nodes[done].low < g->nodes[work[depth - 1].v].low)
			g->nodes[work[depth - 1].v].low = g->nodes[done].low;
	}
}

/* From the smallest id of the component, follow edges inside it back to
 * the start (breadth first, so the cycle is a shortest one). */
/* Scratch shared by every cycle search, reset after each: a search per
 * cycle must not cost a pass over every task. */
struct search {
	size_t *prev, *queue;
	uint64_t *ids;
};

static struct ad_error *record_cycle(struct ad_trace *t, struct graph *g, size_t start,
				     struct search *s)
{
	long scc = g->nodes[start].scc;
	size_t qh = 0, qn = 0, end = (size_t)-1;
	struct ad_error *err = NULL;
	s->queue[qn++] = start;
	while (qh < qn && end == (size_t)-1) {
		size_t v = s->queue[qh++];
		for (size_t i = 0; i < g->nodes[v].nout; i++) {
			size_t w = g->nodes[v].out[i];
			if (g->nodes[w].scc != scc)
				continue;
			if (w == start) {
				end = v;
				break;
			}
			if (s->prev[w] == (size_t)-1) {
				s->prev[w] = v;
				s->queue[qn++] = w;
			}
		}
	}
	if (end != (size_t)-1) {
		/* Walk back from `end` to `start`, then reverse. */
		size_t n = 0;
		for (size_t v = end; v != start; v = s->prev[v])
			s->ids[n++] = g->nodes[v].id;
		s->ids[n++] = g->nodes[start].id;
		for (size_t i = 0; i < n / 2; i++) {
			uint64_t tmp = s->ids[i];
			s->ids[i] = s->ids[n - 1 - i];
			s->ids[n - 1 - i] = tmp;
		}
		s->ids[n++] = g->nodes[start].id;
		err = ad_trace_add_cycle(t, s->ids, n);
	}
	for (size_t i = 0; i < qn; i++)
		s->prev[s->queue[i]] = (size_t)-1;
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
		if (!ad_u64map_put(&g.by_id, nd->id, (void *)(uintptr_t)(g.n + 1))) {
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
	size_t nalloc = g.n ? g.n : 1;
	struct frame_state *work = malloc(nalloc * sizeof(*work));
	struct search search = {
		.prev = malloc(nalloc * sizeof(size_t)),
		.queue = malloc(nalloc * sizeof(size_t)),
		.ids = malloc((nalloc + 1) * sizeof(uint64_t)),
	};
	if (!work || !search.prev || !search.queue || !search.ids) {
		err = &ad_error_nomem;
		goto out_search;
	}
	for (size_t v = 0; v < g.n; v++) {
		search.prev[v] = (size_t)-1;
		if (g.nodes[v].index < 0)
			strongconnect(&g, v, work);
	}
	/* One cycle per component that has one: size > 1, or a self-loop.
	 * Sizes and smallest ids in one pass: most tasks are components of
	 * their own, so a pass per component would be quadratic. */
	size_t *size = calloc(g.nscc ? (size_t)g.nscc : 1, sizeof(*size));
	size_t *start = malloc((g.nscc ? (size_t)g.nscc : 1) * sizeof(*start));
	if (!size || !start) {
		free(size);
		free(start);
		err = &ad_error_nomem;
		goto out_search;
	}
	for (size_t v = 0; v < g.n; v++) {
		long c = g.nodes[v].scc;
		if (!size[c]++ || g.nodes[v].id < g.nodes[start[c]].id)
			start[c] = v;
	}
	for (long c = 0; c < g.nscc && !err; c++) {
		bool self = false;
		for (size_t i = 0; size[c] == 1 && i < g.nodes[start[c]].nout; i++)
			self |= g.nodes[start[c]].out[i] == start[c];
		if (size[c] > 1 || self)
			err = record_cycle(t, &g, start[c], &search);
	}
	free(size);
	free(start);
out_search:
	free(work);
	free(search.prev);
	free(search.queue);
	free(search.ids);
out:
	for (size_t i = 0; i < g.n; i++)
		free(g.nodes[i].out);
	free(g.nodes);
	free(g.stack);
	ad_u64map_deinit(&g.by_id);
	return err;
}
