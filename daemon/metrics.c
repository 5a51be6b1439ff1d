/* SPDX-License-Identifier: MIT */
#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERIES_PER_FAMILY 4096 /* labels come from our code, but bound them anyway */

struct series {
	struct series *next;
	char *labels;
	double value;    /* counter, gauge; histogram: sum */
	double count;    /* histogram */
	double *buckets; /* histogram: cumulative counts per bound */
};

struct metric_family {
	struct metric_family *next;
	struct metrics *registry;
	char *name, *help;
	enum metric_type type;
	size_t nbuckets;
	double *bounds;
	size_t nseries;
	struct series *series;
};

struct collector {
	struct collector *next;
	metrics_collect_fn fn;
	void *arg;
};

struct metrics {
	pthread_mutex_t lock;
	struct metric_family *families, **tail;
	struct collector *collectors;
};

static void free_series(struct series *s)
{
	free(s->labels);
	free(s->buckets);
	free(s);
}

struct ad_error *metrics_create(struct metrics **ret)
{
	struct metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return &ad_error_nomem;
	pthread_mutex_init(&m->lock, NULL);
	m->tail = &m->families;
	*ret = m;
	return NULL;
}

void metrics_destroy(struct metrics *m)
{
	if (!m)
		return;
	for (struct metric_family *f = m->families, *fn; f; f = fn) {
		fn = f->next;
		for (struct series *s = f->series, *sn; s; s = sn) {
			sn = s->next;
			free_series(s);
		}
		free(f->name);
		free(f->help);
		free(f->bounds);
		free(f);
	}
	for (struct collector *c = m->collectors, *cn; c; c = cn) {
		cn = c->next;
		free(c);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

struct ad_error *metrics_add_family(struct metrics *m, const char *name, const char *help,
				    enum metric_type type, const double *buckets, size_t nbuckets,
				    struct metric_family **ret)
{
	struct metric_family *f = calloc(1, sizeof(*f));
	if (!f)
		return &ad_error_nomem;
	f->registry = m;
	f->name = strdup(name);
	f->help = strdup(help);
	f->type = type;
	if (type == METRIC_HISTOGRAM && nbuckets) {
		f->bounds = malloc(nbuckets * sizeof(*f->bounds));
		if (f->bounds)
			memcpy(f->bounds, buckets, nbuckets * sizeof(*f->bounds));
		f->nbuckets = nbuckets;
	}
	if (!f->name || !f->help || (f->nbuckets && !f->bounds)) {
		free(f->name);
		free(f->help);
		free(f->bounds);
		free(f);
		return &ad_error_nomem;
	}
	pthread_mutex_lock(&m->lock);
	*m->tail = f;
	m->tail = &f->next;
	pthread_mutex_unlock(&m->lock);
	*ret = f;
	return NULL;
}

struct ad_error *metrics_add_collector(struct metrics *m, metrics_collect_fn fn, void *arg)
{
	struct collector *c = calloc(1, sizeof(*c));
	if (!c)
		return &ad_error_nomem;
	c->fn = fn;
	c->arg = arg;
	pthread_mutex_lock(&m->lock);
	c->next = m->collectors;
	m->collectors = c;
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* The series for `labels`, created on first use; call with the lock held. */
static struct series *find_series(struct metric_family *f, const char *labels)
{
	const char *key = labels ? labels : "";
	for (struct series *s = f->series; s; s = s->next)
		if (strcmp(s->labels, key) == 0)
			return s;
	if (f->nseries >= MAX_SERIES_PER_FAMILY)
		return NULL;
	struct series *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->labels = strdup(key);
	if (f->nbuckets)
		s->buckets = calloc(f->nbuckets, sizeof(*s->buckets));
	if (!s->labels || (f->nbuckets && !s->buckets)) {
		free(s->labels);
		free(s->buckets);
		free(s);
		return NULL;
	}
	struct series **tail = &f->series;
	while (*tail)
		tail = &(*tail)->next;
	*tail = s;
	f->nseries++;
	return s;
}

static void update(struct metric_family *f, const char *labels, double v, int how)
{
	pthread_mutex_lock(&f->registry->lock);
	struct series *s = find_series(f, labels);
	if (s) {
		if (how == 0) {
			s->value += v;
		} else if (how == 1) {
			s->value = v;
		} else {
			s->value += v;
			s->count += 1;
			for (size_t i = 0; i < f->nbuckets; i++)
				if (v <= f->bounds[i])
					s->buckets[i] += 1;
		}
	}
	pthread_mutex_unlock(&f->registry->lock);
}

void metric_add(struct metric_family *f, const char *labels, double delta)
{
	update(f, labels, delta, 0);
}

void metric_set(struct metric_family *f, const char *labels, double value)
{
	update(f, labels, value, 1);
}

void metric_observe(struct metric_family *f, const char *labels, double value)
{
	update(f, labels, value, 2);
}

static bool belongs_to(const char *labels, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(labels, prefix, n) == 0 && (labels[n] == '\0' || labels[n] == ',');
}

/* Lock held. */
static void remove_matching_locked(struct metric_family *f, const char *prefix)
{
	for (struct series **link = &f->series; *link;) {
		struct series *s = *link;
		if (!belongs_to(s->labels, prefix)) {
			link = &s->next;
			continue;
		}
		*link = s->next;
		free_series(s);
		f->nseries--;
	}
}

void metric_remove_matching(struct metric_family *f, const char *prefix)
{
	pthread_mutex_lock(&f->registry->lock);
	remove_matching_locked(f, prefix);
	pthread_mutex_unlock(&f->registry->lock);
}

void metric_replace_matching(struct metric_family *f, const char *prefix, size_t n,
			     const char *const *labels, const double *values)
{
	pthread_mutex_lock(&f->registry->lock);
	remove_matching_locked(f, prefix);
	for (size_t i = 0; i < n; i++) {
		struct series *s = find_series(f, labels[i]);
		if (s)
			s->value = values[i];
	}
	pthread_mutex_unlock(&f->registry->lock);
}

void metrics_labels(char *buf, size_t size, ...)
{
	size_t used = 0;
	va_list ap;
	va_start(ap, size);
	buf[0] = '\0';
	for (;;) {
		const char *name = va_arg(ap, const char *);
		if (!name)
			break;
		const char *value = va_arg(ap, const char *);
		int n = snprintf(buf + used, size - used, "%s%s=\"", used ? "," : "", name);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
		for (const char *p = value; *p && used + 3 < size; p++) {
			if (*p == '\\' || *p == '"' || *p == '\n') {
				buf[used++] = '\\';
				buf[used++] = *p == '\n' ? 'n' : *p;
			} else {
				buf[used++] = *p;
			}
		}
		if (used + 2 > size)
			break;
		buf[used++] = '"';
		buf[used] = '\0';
	}
	va_end(ap);
}

static const char *type_name(enum metric_type t)
{
	switch (t) {
	case METRIC_COUNTER: return "counter";
	case METRIC_GAUGE: return "gauge";
	case METRIC_HISTOGRAM: return "histogram";
	}
	return "untyped";
}

/* A series name with its labels plus one more (`le`), braces only if any. */
static void print_series(FILE *out, const char *name, const char *suffix, const char *labels,
			 const char *extra, double value)
{
	bool has = labels[0] || extra;
	fprintf(out, "%s%s%s%s%s%s%s %.17g\n", name, suffix, has ? "{" : "", labels,
		labels[0] && extra ? "," : "", extra ? extra : "", has ? "}" : "", value);
}

static void render_family(FILE *out, const struct metric_family *f)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, type_name(f->type));
	for (const struct series *s = f->series; s; s = s->next) {
		if (f->type != METRIC_HISTOGRAM) {
			print_series(out, f->name, "", s->labels, NULL, s->value);
			continue;
		}
		char le[64];
		for (size_t i = 0; i < f->nbuckets; i++) {
			snprintf(le, sizeof(le), "le=\"%g\"", f->bounds[i]);
			print_series(out, f->name, "_bucket", s->labels, le, s->buckets[i]);
		}
		print_series(out, f->name, "_bucket", s->labels, "le=\"+Inf\"", s->count);
		print_series(out, f->name, "_sum", s->labels, NULL, s->value);
		print_series(out, f->name, "_count", s->labels, NULL, s->count);
	}
}

struct ad_error *metrics_render(struct metrics *m, char **ret, size_t *ret_len)
{
	/* Collectors update families through the lock themselves. */
	for (struct collector *c = m->collectors; c; c = c->next)
		c->fn(c->arg);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (!out)
		return &ad_error_nomem;
	pthread_mutex_lock(&m->lock);
	for (const struct metric_family *f = m->families; f; f = f->next)
		render_family(out, f);
	pthread_mutex_unlock(&m->lock);
	if (fclose(out) != 0) {
		free(text);
		return &ad_error_nomem;
	}
	*ret = text;
	*ret_len = len;
	return NULL;
}
