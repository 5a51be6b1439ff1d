/* SPDX-License-Identifier: MIT */
/* The JSON document of a trace, as docs/trace.schema.json describes it,
 * written as it is walked: one task at a time into a small buffer that the
 * caller drains (ad_render_stream_read()), never a tree of the whole
 * document. The same walk builds each task's object as a tree (node.h) for
 * the text format (core/render_text.c draws it), so the two outputs cannot
 * disagree; the tree leaves out what the text never shows (a frame's type
 * and address, a blocked_on's members but its description).
 *
 * The writer (struct jw) has two backends: JSON text (compact, or indented
 * as jansson's JSON_INDENT(2)) and a tree of nodes (node.h). Writing never stops
 * half-way on OOM: a failure only sets oom, checked once per piece. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "asyncdump/render.h"
#include "digits.h"
#include "render_internal.h"
#include "search.h"
#include "u64map.h"

/* Nesting of JSON containers: a frame is two (object, children), a task link
 * two more; render.h bounds it under 2 * AD_RENDER_MAX_DEPTH + 8. */
#define JW_MAX_DEPTH (2 * AD_RENDER_MAX_DEPTH + 64)

struct jw {
	struct ad_outbuf *out; /* JSON text, or NULL: a tree in root */
	unsigned indent;       /* text: spaces per level, 0 compact */
	unsigned depth;
	bool has_items[JW_MAX_DEPTH];
	bool after_key;        /* the next value is a member's */
	const char *key;       /* tree: the member's key (a literal) */
	size_t key_len;
	struct ad_node *stack[JW_MAX_DEPTH];
	struct ad_node *root;
	struct ad_strpool *pool; /* tree: where its nodes live */
	bool oom;
};

static void jw_text(struct jw *w, const char *s, size_t n)
{
	ad_outbuf_append(w->out, s, n);
}

/* An optional comma, then (when indenting) a newline and the indentation
 * of `depth`: one append, as every member of every task starts so. */
static size_t break_length(const struct jw *w, bool comma, unsigned depth)
{
	return (comma ? 1 : 0) + (w->indent ? 1 + (size_t)depth * w->indent : 0);
}

/* Writes break_length() bytes at `at`; returns their end. */
static char *write_break(const struct jw *w, char *at, bool comma, unsigned depth)
{
	if (comma)
		*at++ = ',';
	if (w->indent) {
		size_t spaces = (size_t)depth * w->indent;
		*at++ = '\n';
		memset(at, ' ', spaces);
		at += spaces;
	}
	return at;
}

static void jw_break(struct jw *w, bool comma, unsigned depth)
{
	size_t n = break_length(w, comma, depth);
	char *at = n ? ad_outbuf_extend(w->out, n) : NULL;
	if (at)
		write_break(w, at, comma, depth);
}

/* Text: the comma and indentation before a value or a key. */
static void jw_separate(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth == 0)
		return;
	bool comma = w->has_items[w->depth - 1];
	w->has_items[w->depth - 1] = true;
	jw_break(w, comma, w->depth);
}

/* Tree: attaches a new node to the open container. */
static void jw_attach(struct jw *w, struct ad_node *v)
{
	if (!v) {
		w->oom = true;
		return;
	}
	if (w->depth == 0)
		w->root = v;
	else if (w->stack[w->depth - 1])
		ad_node_append(w->stack[w->depth - 1], w->key, w->key_len, v);
}

static struct ad_node *jw_node(struct jw *w, enum ad_node_kind kind)
{
	return ad_node_new(w->pool, kind);
}

static void jw_tree_real(struct jw *w, double v)
{
	struct ad_node *n = jw_node(w, AD_NODE_REAL);
	if (n)
		n->v.r = v;
	jw_attach(w, n);
}

/* Length of the valid UTF-8 sequence at s (as jansson accepts it), or 0. */
static size_t utf8_sequence(const unsigned char *s)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
					 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0; /* overlong, surrogate, beyond U+10FFFF */
	return n;
}

/* Control bytes, '"', '\\', non-ASCII and the NUL that ends a string. */
static bool ends_plain_run(unsigned char c)
{
	return (unsigned char)(c - 0x20) >= 0x60 || c == '"' || c == '\\';
}

static bool needs_escape(unsigned char c)
{
	return c && ends_plain_run(c);
}

#define BYTES(b) (0x0101010101010101ull * (b))

/* Whether any of the eight bytes in v ends a plain run (but for the NUL,
 * which the caller's length excludes): exact, not an estimate. */
static bool word_ends_plain_run(uint64_t v)
{
	uint64_t below_space = (v - BYTES(0x20)) & ~v;
	uint64_t quote = v ^ BYTES('"'), backslash = v ^ BYTES('\\');
	uint64_t is_quote = (quote - BYTES(1)) & ~quote;
	uint64_t is_backslash = (backslash - BYTES(1)) & ~backslash;
	return ((below_space | is_quote | is_backslash) & BYTES(0x80)) || (v & BYTES(0x80));
}

/* Whether any of the sixteen bytes at s ends a plain run: a signed
 * comparison with ' ' takes control bytes and non-ASCII (negative) at once. */
#ifdef __SSE2__
static bool block_ends_plain_run(const char *s)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
	__m128i special = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
				       _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
	special = _mm_or_si128(special, _mm_cmplt_epi8(v, _mm_set1_epi8(' ')));
	return _mm_movemask_epi8(special) != 0;
}
#endif

/* The length of the plain run s starts with: sixteen or eight bytes a
 * step, as most of a document is its strings. */
static size_t plain_run_length(const char *s, size_t n)
{
	size_t i = 0;
#ifdef __SSE2__
	while (i + 16 <= n && !block_ends_plain_run(s + i))
		i += 16;
	/* Fewer than sixteen bytes left: the last sixteen, overlapping what
	 * was scanned, usually say that the whole string is plain. */
	if (i + 16 > n && n >= 16 && !block_ends_plain_run(s + n - 16))
		return n;
#endif
	for (uint64_t v; i + 8 <= n; i += 8) {
		memcpy(&v, s + i, 8);
		if (word_ends_plain_run(v))
			break;
	}
	while (i < n && !ends_plain_run((unsigned char)s[i]))
		i++;
	return i;
}

/* Thread names, paths and type names come from the target and need not be
 * UTF-8, which JSON strings must be: invalid bytes become '?'. Escapes as
 * jansson does (no '/', no non-ASCII). */
static void jw_quoted(struct jw *w, const char *s)
{
	size_t len = strlen(s);
	const unsigned char *p = (const unsigned char *)s, *run = p;
	p += plain_run_length(s, len);
	if (!*p) { /* nothing to escape, as almost always: one append */
		size_t n = (size_t)(p - run);
		char *at = ad_outbuf_extend(w->out, n + 2);
		if (at) {
			at[0] = '"';
			memcpy(at + 1, s, n);
			at[n + 1] = '"';
		}
		return;
	}
	jw_text(w, "\"", 1);
	while (*p) {
		if (!needs_escape(*p)) {
			p++;
			continue;
		}
		if (*p >= 0x80) {
			size_t n = utf8_sequence(p);
			if (n) {
				p += n;
				continue;
			}
		}
		jw_text(w, (const char *)run, (size_t)(p - run));
		char esc[8];
		const char *e = esc;
		size_t n = 2;
		switch (*p) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			if (*p >= 0x80) {
				e = "?";
				n = 1;
			} else {
				snprintf(esc, sizeof(esc), "\\u%04X", *p);
				n = 6;
			}
		}
		jw_text(w, e, n);
		run = ++p;
	}
	jw_text(w, (const char *)run, (size_t)(p - run));
	jw_text(w, "\"", 1);
}

/* A string node; invalid UTF-8 becomes '?', as in the JSON text. */
static struct ad_node *utf8_node(struct jw *w, const char *s)
{
	size_t len = strlen(s);
	struct ad_node *n = ad_node_string(w->pool, s, len);
	if (!n)
		return NULL;
	size_t plain = plain_run_length(s, len); /* ASCII at least that far */
	for (unsigned char *p = (unsigned char *)n->v.s + plain; *p;) {
		size_t seq = utf8_sequence(p);
		if (seq)
			p += seq;
		else
			*p++ = '?';
	}
	return n;
}

static void jw_string(struct jw *w, const char *s)
{
	if (!w->out) {
		jw_attach(w, utf8_node(w, s));
		return;
	}
	jw_separate(w);
	jw_quoted(w, s);
}

/* A value that needs no escaping: a number, true, null. */
static void jw_raw(struct jw *w, const char *s, size_t n)
{
	jw_separate(w);
	jw_text(w, s, n);
}

static void jw_null(struct jw *w)
{
	if (w->out)
		jw_raw(w, "null", 4);
	else
		jw_attach(w, jw_node(w, AD_NODE_NULL));
}

static void jw_bool(struct jw *w, bool v)
{
	if (w->out)
		jw_raw(w, v ? "true" : "false", v ? 4 : 5);
	else
		jw_attach(w, jw_node(w, v ? AD_NODE_TRUE : AD_NODE_FALSE));
}

static void jw_int(struct jw *w, int64_t v)
{
	if (!w->out) {
		struct ad_node *n = jw_node(w, AD_NODE_INT);
		if (n)
			n->v.i = v;
		jw_attach(w, n);
		return;
	}
	char buf[24], *end = buf + sizeof(buf);
	char *p = ad_signed_digits(v, end);
	jw_raw(w, p, (size_t)(end - p));
}

/* Ids, inodes, counts: as jansson's signed integers did. */
static void jw_uint(struct jw *w, uint64_t v)
{
	jw_int(w, (int64_t)v);
}

/* As jansson writes a real: 17 significant digits, always a '.' or an
 * exponent, the exponent without '+' and leading zeros. */
static void jw_real(struct jw *w, double v)
{
	if (!w->out) {
		jw_tree_real(w, v);
		return;
	}
	char buf[48];
	snprintf(buf, sizeof(buf), "%.17g", v);
	if (!strpbrk(buf, ".e"))
		strcat(buf, ".0");
	char *e = strchr(buf, 'e');
	if (e) {
		char *from = e + 1, *to = e + 1;
		if (*from == '-')
			*to++ = *from++;
		else if (*from == '+')
			from++;
		while (*from == '0' && from[1])
			from++;
		memmove(to, from, strlen(from) + 1);
	}
	jw_raw(w, buf, strlen(buf));
}

/* ns as seconds, in decimal, exactly: "3580.976010972", "-0.5", "2.0". It
 * reads back as the double ns / 1e9 is (the nearest to the same exact
 * value), for an eighth of what printf's 17 digits cost. */
static void jw_seconds(struct jw *w, int64_t ns)
{
	if (!w->out) {
		jw_tree_real(w, (double)ns / 1e9);
		return;
	}
	uint64_t abs = ns < 0 ? 0 - (uint64_t)ns : (uint64_t)ns;
	uint64_t fraction = abs % 1000000000u;
	unsigned places = 9;
	for (; places > 1 && fraction % 10 == 0; places--)
		fraction /= 10;
	char buf[32], *end = buf + sizeof(buf);
	char *p = ad_digits(fraction, 10, end);
	while ((unsigned)(end - p) < places)
		*--p = '0';
	*--p = '.';
	p = ad_digits(abs / 1000000000u, 10, p);
	if (ns < 0)
		*--p = '-';
	jw_raw(w, p, (size_t)(end - p));
}

/* "0x1f": as the schema writes addresses. */
static void jw_address(struct jw *w, uint64_t a)
{
	char buf[24], *end = buf + sizeof(buf) - 1;
	*end = '"';
	char *p = ad_digits(a, 16, end);
	*--p = 'x';
	*--p = '0';
	*--p = '"';
	if (!w->out) {
		jw_attach(w, ad_node_string(w->pool, p + 1, (size_t)(end - p - 1)));
		return;
	}
	jw_separate(w);
	jw_text(w, p, (size_t)(end + 1 - p));
}

/* Keys are the schema's names, literals that need no escaping: the macro
 * hands them over quoted, with their colon and length, so that a member's
 * key is one append (every member of 100,000 tasks' objects has one). */
#define jw_key(w, key) jw_key_quoted((w), key, "\"" key "\":", sizeof(key) + 2)
/* Inlined at every member: the key's length is then a constant, and
 * copying it a few moves instead of a call. */
__attribute__((always_inline)) static inline void jw_key_quoted(struct jw *w, const char *key,
								const char *quoted, size_t n)
{
	if (!w->out) {
		w->key = key;
		w->key_len = n - 3; /* the quotes and the colon */
		return;
	}
	/* A key is never a member's value nor at depth 0: its separator is
	 * jw_separate()'s, written with it in one append. */
	bool comma = w->has_items[w->depth - 1];
	w->has_items[w->depth - 1] = true;
	size_t lead = break_length(w, comma, w->depth);
	char *at = ad_outbuf_extend(w->out, lead + n + (w->indent ? 1 : 0));
	if (at) {
		at = write_break(w, at, comma, w->depth);
		memcpy(at, quoted, n);
		if (w->indent)
			at[n] = ' ';
	}
	w->after_key = true;
}

static void jw_open(struct jw *w, bool object)
{
	if (w->depth >= JW_MAX_DEPTH) {
		w->oom = true; /* not reached: the walk is bounded well below */
		return;
	}
	if (w->out) {
		jw_separate(w);
		jw_text(w, object ? "{" : "[", 1);
	} else {
		/* A container that could not be made takes no members. */
		struct ad_node *c = jw_node(w, object ? AD_NODE_OBJECT : AD_NODE_ARRAY);
		w->stack[w->depth] = c;
		jw_attach(w, c);
	}
	w->has_items[w->depth++] = false;
}

static void jw_close(struct jw *w, bool object)
{
	if (w->depth == 0)
		return;
	w->depth--;
	if (w->out) {
		if (w->indent && w->has_items[w->depth])
			jw_break(w, false, w->depth);
		jw_text(w, object ? "}" : "]", 1);
	}
}

#define jw_object(w) jw_open(w, true)
#define jw_end_object(w) jw_close(w, true)
#define jw_array(w) jw_open(w, false)
#define jw_end_array(w) jw_close(w, false)

static void jw_string_or_null(struct jw *w, const char *s)
{
	if (s)
		jw_string(w, s);
	else
		jw_null(w);
}

/* jw_string() of a string that lives as long as the rendering: a literal or
 * the trace's own (render.h: the trace outlives the stream). The tree
 * points at it rather than copying it, unless it needs making safe. */
static void jw_kept_string(struct jw *w, const char *s)
{
	size_t len = w->out ? 0 : strlen(s);
	if (w->out || plain_run_length(s, len) < len) {
		jw_string(w, s);
		return;
	}
	jw_attach(w, ad_node_kept_string(w->pool, s));
}

static void jw_kept_string_or_null(struct jw *w, const char *s)
{
	if (s)
		jw_kept_string(w, s);
	else
		jw_null(w);
}

static void jw_address_or_null(struct jw *w, uint64_t a)
{
	if (a)
		jw_address(w, a);
	else
		jw_null(w);
}

/* ------------------------------------------------------------ the walk */

struct task_entry {
	uint64_t id;
	const struct ad_task *task;
};

/* What a frame writes alike to every frame of its type suspended at the
 * same point (kind, name, type; state, location), as the JSON text first
 * written at a nesting depth: a document of 100,000 tasks is mostly the
 * same few frames, which are then copied, not written again. A pointer in
 * the key stands for its string: the trace neither changes nor frees one
 * while it is rendered (render.h: it outlives the stream). */
#define SKELETON_SETS 64 /* a power of two */
#define SKELETON_WAYS 2   /* in a set, the one used last first */

enum skeleton_part {
	SKELETON_HEAD = 1 << 16,   /* from the frame's first member to "address" */
	SKELETON_MIDDLE = 2 << 16, /* after the address, to "blocked_on" */
};

struct skeleton_key {
	const void *a, *b;
	unsigned what;  /* a part | the frame's kind or state */
	unsigned depth; /* the writer's: the indentation */
};

struct skeleton {
	struct skeleton_key key;
	struct ad_outbuf text;
	bool kept; /* false: an empty slot */
};

struct render {
	const struct ad_trace *t;
	struct jw *w;
	bool locals;
	struct task_entry *index; /* tasks with an id, by id: find_task() */
	bool indexed;
	size_t nindex;
	bool keep_warnings;       /* a document's: else cuts are only marked */
	char **warnings;          /* the cuts' warnings, for the document's end */
	size_t nwarnings, warnings_cap;
	bool oom;
	size_t max_linked_frames;
	size_t linked_frames;     /* frames reserved under task links so far */
	unsigned max_nesting;     /* task links expanded inside task links */
	bool warned_budget;
	/* Of the task being rendered: */
	const struct ad_task *top;
	uint64_t path[AD_RENDER_MAX_TASK_NESTING + 1]; /* ids from top to the current link */
	size_t npath;
	unsigned nlinks;          /* task links entered */
	bool warned_depth, warned_nesting;
	struct ad_u64map adapters; /* is_adapter()'s answers, by type string */
	struct skeleton skeletons[SKELETON_SETS][SKELETON_WAYS];
	/* The compact JSON of the blocked_on written last: a task's summary
	 * and its leaf are the same one, written one after the other. */
	const struct ad_blocked_on *written;
	struct ad_outbuf written_json;
	/* The last description made: a task's summary and its leaf are the
	 * same blocked_on, rendered one after the other. */
	const struct ad_blocked_on *described;
	char description[AD_DESCRIPTION_MAX];
};

/* Always the static error: creating one may fail too. */
static struct ad_error *nomem(void)
{
	return &ad_error_nomem;
}

static void warn(struct render *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct render *r, const char *fmt, ...)
{
	if (!r->keep_warnings)
		return;
	if (r->nwarnings == r->warnings_cap) {
		size_t cap = r->warnings_cap ? 2 * r->warnings_cap : 8;
		char **p = realloc(r->warnings, cap * sizeof(*p));
		if (!p) {
			r->oom = true;
			return;
		}
		r->warnings = p;
		r->warnings_cap = cap;
	}
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&r->warnings[r->nwarnings], fmt, ap);
	va_end(ap);
	if (n < 0)
		r->oom = true;
	else
		r->nwarnings++;
}

/* "task 7", or "the block_on future at 0x…" for a task without an id. */
static void name_task(const struct ad_task *task, char *buf, size_t size)
{
	if (task->has_id)
		snprintf(buf, size, "task %" PRIu64, task->id);
	else
		snprintf(buf, size, "the %s future at 0x%" PRIx64, ad_task_kind_name(task->kind),
			 task->address);
}

static void warn_depth(struct render *r)
{
	if (r->warned_depth)
		return;
	r->warned_depth = true;
	char who[64];
	name_task(r->top, who, sizeof(who));
	warn(r, "the future tree of %s (with the tasks it awaits) is nested deeper than %d "
		"levels; deeper frames are not shown (marked \"truncated\")",
	     who, AD_RENDER_MAX_DEPTH);
}

static void warn_nesting(struct render *r)
{
	if (r->warned_nesting)
		return;
	r->warned_nesting = true;
	char who[64];
	name_task(r->top, who, sizeof(who));
	warn(r, "%s awaits a chain of more than %u tasks; the tasks further down are not "
		"expanded (marked \"truncated\"); render them on their own with ?task=ID",
	     who, r->max_nesting);
}

static void warn_budget(struct render *r)
{
	if (r->warned_budget)
		return;
	r->warned_budget = true;
	warn(r, "awaited tasks' trees were repeated under their awaiting frames up to %zu "
		"frames; further task links are not expanded (marked \"truncated\"), each task "
		"is still shown on its own",
	     r->max_linked_frames);
}

static int compare_entries(const void *a, const void *b)
{
	const struct task_entry *x = a, *y = b;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	/* equal ids (should not happen): the first task in the trace wins */
	return x->task < y->task ? -1 : x->task > y->task;
}

static bool build_index(struct render *r)
{
	const struct ad_trace *t = r->t;
	if (t->ntasks == 0)
		return true;
	r->index = calloc(t->ntasks, sizeof(*r->index));
	if (!r->index)
		return false;
	for (size_t i = 0; i < t->ntasks; i++)
		if (t->tasks[i].has_id)
			r->index[r->nindex++] = (struct task_entry){ t->tasks[i].id, &t->tasks[i] };
	qsort(r->index, r->nindex, sizeof(*r->index), compare_entries);
	return true;
}

static bool entry_before(const void *element, const void *id)
{
	return ((const struct task_entry *)element)->id < *(const uint64_t *)id;
}

/* The index is made at the first task link: most documents have none, and
 * sorting 100,000 ids for nothing is a tenth of rendering them. */
static const struct ad_task *find_task(struct render *r, uint64_t id)
{
	if (!r->indexed) {
		r->indexed = true;
		if (!build_index(r))
			r->oom = true;
	}
	size_t lo = ad_partition_point(r->index, r->nindex, sizeof(*r->index), &id, entry_before);
	return lo < r->nindex && r->index[lo].id == id ? r->index[lo].task : NULL;
}

static void render_init(struct render *r, const struct ad_trace *t,
			const struct ad_render_options *options, struct jw *w)
{
	*r = (struct render){
		.t = t,
		.w = w,
		.locals = options && options->locals,
		.max_linked_frames = options && options->max_linked_frames
					     ? options->max_linked_frames
					     : AD_RENDER_MAX_LINKED_FRAMES,
		.max_nesting = options && options->max_task_nesting
				       ? options->max_task_nesting
				       : AD_RENDER_JSON_TASK_NESTING,
	};
	if (r->max_nesting > AD_RENDER_MAX_TASK_NESTING)
		r->max_nesting = AD_RENDER_MAX_TASK_NESTING;
}

static void render_fini(struct render *r)
{
	for (size_t i = 0; i < SKELETON_SETS; i++)
		for (size_t j = 0; j < SKELETON_WAYS; j++)
			free(r->skeletons[i][j].text.buf);
	free(r->written_json.buf);
	ad_u64map_deinit(&r->adapters);
	free(r->index);
	for (size_t i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
}

/* By the first string only (a name, a location): parts that share it but
 * differ in the rest (a state, a depth, a select!'s location) are rare in
 * one document, and share a set. Two ways, so that two parts used in turn
 * whose strings mix to one set are kept both. */
static struct skeleton *skeleton_set(struct render *r, const struct skeleton_key *k)
{
	uint64_t h = (uintptr_t)k->a * 0x9e3779b97f4a7c15ull;
	return r->skeletons[(h >> 32) & (SKELETON_SETS - 1)];
}

static bool same_key(const struct skeleton_key *x, const struct skeleton_key *y)
{
	return x->a == y->a && x->b == y->b && x->what == y->what && x->depth == y->depth;
}

/* Makes way i of a set the first; the others keep their order. */
static void move_first(struct skeleton *set, size_t i)
{
	struct skeleton found = set[i];
	memmove(set + 1, set, i * sizeof(*set));
	set[0] = found;
}

/* Writes the part k names if it was kept, leaving the writer as writing it
 * would have: inside the frame's object, its last key written. */
static bool copy_skeleton(struct render *r, const struct skeleton_key *k)
{
	struct jw *w = r->w;
	if (!w->out)
		return false;
	struct skeleton *set = skeleton_set(r, k);
	for (size_t i = 0; i < SKELETON_WAYS; i++) {
		if (!set[i].kept || !same_key(&set[i].key, k))
			continue;
		move_first(set, i);
		ad_outbuf_append(w->out, set[0].text.buf, set[0].text.len);
		w->has_items[w->depth - 1] = true;
		w->after_key = true;
		return true;
	}
	return false;
}

/* Where the writer is in its text: what a copy is kept from. */
static size_t text_mark(const struct render *r)
{
	return r->w->out ? r->w->out->len : 0;
}

/* Makes *kept what the writer wrote since `from`; false (kept empty) when
 * it could not be kept: the part is then only written again. */
static bool keep_text(const struct jw *w, size_t from, struct ad_outbuf *kept)
{
	kept->len = 0;
	kept->oom = false;
	if (!w->out || w->out->oom)
		return false;
	ad_outbuf_append(kept, w->out->buf + from, w->out->len - from);
	bool ok = !kept->oom;
	kept->oom = false;
	return ok;
}

/* Keeps what the writer wrote since `from` as the part k names, in place
 * of the set's way used longest ago. */
static void keep_skeleton(struct render *r, const struct skeleton_key *k, size_t from)
{
	if (!r->w->out)
		return;
	struct skeleton *set = skeleton_set(r, k);
	move_first(set, SKELETON_WAYS - 1);
	set[0].key = *k;
	set[0].kept = keep_text(r->w, from, &set[0].text);
}

static void location_json(struct jw *w, const struct ad_location *loc)
{
	if (!loc) {
		jw_null(w);
		return;
	}
	jw_object(w);
	jw_key(w, "file");
	jw_kept_string_or_null(w, loc->file);
	jw_key(w, "line");
	jw_int(w, loc->line);
	if (loc->column) {
		jw_key(w, "column");
		jw_int(w, loc->column);
	}
	jw_end_object(w);
}

static void socket_json(struct jw *w, const struct ad_socket *s)
{
	jw_object(w);
	jw_key(w, "inode");
	jw_uint(w, s->inode);
	jw_key(w, "family");
	jw_string(w, s->family);
	jw_key(w, "protocol");
	jw_string(w, s->protocol);
	jw_key(w, "local");
	jw_string(w, s->local);
	jw_key(w, "peer");
	jw_string_or_null(w, *s->peer ? s->peer : NULL);
	jw_key(w, "state");
	jw_string(w, s->state);
	if (s->has_queues) {
		jw_key(w, "rx_queue");
		jw_uint(w, s->rx_queue);
		jw_key(w, "tx_queue");
		jw_uint(w, s->tx_queue);
	}
	jw_end_object(w);
}

static void blocked_on_members(struct render *r, const struct ad_blocked_on *b);

/* Compact JSON does not depend on where a value is written: the second
 * time in a row that b is, its text is copied. */
static void blocked_on_json(struct render *r, const struct ad_blocked_on *b)
{
	struct jw *w = r->w;
	if (!b) {
		jw_null(w);
		return;
	}
	bool compact = w->out && !w->indent;
	if (compact && r->written == b) {
		jw_separate(w);
		jw_text(w, r->written_json.buf, r->written_json.len);
		return;
	}
	size_t from = text_mark(r);
	blocked_on_members(r, b);
	/* jw_separate() wrote nothing there: a blocked_on is a member's value. */
	if (compact)
		r->written = keep_text(w, from, &r->written_json) ? b : NULL;
}

static void blocked_on_members(struct render *r, const struct ad_blocked_on *b)
{
	struct jw *w = r->w;
	jw_object(w);
	if (w->out) {
		jw_key(w, "kind");
		jw_string(w, ad_resource_kind_name(b->kind));
		jw_key(w, "address");
		jw_address_or_null(w, b->address);
	}
	jw_key(w, "description");
	if (b->description) {
		jw_kept_string(w, b->description);
	} else {
		if (r->described != b)
			ad_blocked_on_describe(b, r->description, sizeof(r->description));
		r->described = b;
		jw_string(w, r->description);
	}
	if (!w->out) {
		jw_end_object(w); /* what the text format shows of it */
		return;
	}
	if (b->has_task_id) {
		jw_key(w, "task_id");
		jw_uint(w, b->task_id);
	}
	if (b->has_deadline) {
		jw_key(w, "deadline_ns");
		jw_int(w, b->deadline_ns);
		jw_key(w, "time_left_s");
		jw_seconds(w, b->time_left_ns);
	}
	if (b->fd >= 0) {
		jw_key(w, "fd");
		jw_int(w, b->fd);
	}
	if (b->interest) {
		jw_key(w, "interest");
		jw_string(w, b->interest);
	}
	if (b->socket) {
		jw_key(w, "socket");
		socket_json(w, b->socket);
	}
	if (b->other_fd >= 0) {
		jw_key(w, "other_fd");
		jw_int(w, b->other_fd);
	}
	if (b->has_bytes_moved) {
		jw_key(w, "bytes_moved");
		jw_uint(w, b->bytes_moved);
	}
	if (b->has_buffered) {
		jw_key(w, "buffered_bytes");
		jw_uint(w, b->buffered_bytes);
	}
	if (b->channel) {
		jw_key(w, "channel");
		jw_address(w, b->channel);
	}
	if (*b->phase) {
		jw_key(w, "phase");
		jw_string(w, b->phase);
	}
	if (b->blocking) {
		jw_key(w, "blocking");
		jw_bool(w, true);
	}
	if (b->permits_wanted >= 0) {
		jw_key(w, "permits_wanted");
		jw_int(w, b->permits_wanted);
	}
	if (b->permits_available >= 0) {
		jw_key(w, "permits_available");
		jw_int(w, b->permits_available);
	}
	jw_end_object(w);
}

/* Frames of the subtree (children, and locals when rendered), at most limit + 1. */
static size_t count_frames(const struct render *r, const struct ad_frame *f, unsigned depth,
			   size_t limit)
{
	size_t n = 1;
	if (depth >= AD_RENDER_MAX_DEPTH)
		return n;
	for (size_t i = 0; i < f->nchildren && n <= limit; i++)
		n += count_frames(r, f->children[i], depth + 1, limit - n);
	for (size_t i = 0; r->locals && i < f->nlocals && n <= limit; i++)
		n += count_frames(r, f->locals[i], depth + 1, limit - n);
	return n;
}

static void frame_json(struct render *r, const struct ad_frame *f, unsigned depth,
		       bool is_local, const char *inside);

static void summary_json(struct render *r, const struct ad_task *task)
{
	blocked_on_json(r, ad_frame_first_blocked_on(task->root));
}

static bool on_path(const struct render *r, uint64_t id, size_t *ret)
{
	for (size_t i = 0; i < r->npath; i++) {
		if (r->path[i] == id) {
			*ret = i;
			return true;
		}
	}
	return false;
}

static void cycle_json(struct render *r, size_t from, uint64_t id)
{
	jw_array(r->w);
	for (size_t i = from; i < r->npath; i++)
		jw_uint(r->w, r->path[i]);
	jw_uint(r->w, id);
	jw_end_array(r->w);
}

/* Whether B's tree may be shown under a link at `depth`; if not, says why. */
static bool may_expand(struct render *r, const struct ad_task *b, unsigned depth)
{
	if (r->nlinks >= r->max_nesting) {
		/* By design in JSON (one level): only a deeper cut is news. */
		if (r->max_nesting > AD_RENDER_JSON_TASK_NESTING)
			warn_nesting(r);
		return false;
	}
	if (b->root && depth >= AD_RENDER_MAX_DEPTH) {
		warn_depth(r);
		return false;
	}
	size_t left = r->max_linked_frames - r->linked_frames;
	size_t n = b->root ? count_frames(r, b->root, depth + 1, left) : 0;
	if (n > left) {
		warn_budget(r);
		return false;
	}
	r->linked_frames += n;
	return true;
}

/* The extra child of a frame awaiting task `id` (see render.h). */
static void task_link_json(struct render *r, uint64_t id, unsigned depth)
{
	struct jw *w = r->w;
	jw_object(w);
	jw_key(w, "kind");
	jw_string(w, "task");
	jw_key(w, "task_id");
	jw_uint(w, id);
	const struct ad_task *b = find_task(r, id);
	if (!b) {
		jw_key(w, "address");
		jw_null(w);
		jw_key(w, "state");
		jw_string(w, ad_task_state_name(AD_TASK_STATE_UNKNOWN));
		jw_key(w, "note");
		jw_null(w);
		jw_key(w, "blocked_on");
		jw_null(w);
		jw_key(w, "missing");
		jw_bool(w, true);
		jw_end_object(w);
		return;
	}
	jw_key(w, "address");
	jw_address(w, b->address);
	jw_key(w, "state");
	jw_kept_string(w, ad_task_state_name(b->state));
	jw_key(w, "note");
	jw_string_or_null(w, b->note);
	jw_key(w, "blocked_on");
	summary_json(r, b);
	size_t pos;
	if (on_path(r, id, &pos)) {
		jw_key(w, "recursion");
		jw_bool(w, true);
		jw_key(w, "cycle");
		cycle_json(r, pos, id);
	} else if (!may_expand(r, b, depth)) {
		jw_key(w, "truncated");
		jw_bool(w, true);
	} else {
		r->path[r->npath++] = id;
		r->nlinks++;
		jw_key(w, "root");
		if (b->root)
			frame_json(r, b->root, depth + 1, false, NULL);
		else
			jw_null(w);
		r->nlinks--;
		r->npath--;
	}
	jw_end_object(w);
}

/* ad_type_is_adapter(), answered once per type string a rendering: the
 * decoder's frames share theirs, one per type in a trace (r->adapters:
 * the word, no_word or not_adapter). A lookup that cannot be kept for lack
 * of memory is only asked again. */
static const char not_adapter[] = "", no_word[] = "";

static bool is_adapter(struct render *r, const char *type, const char **word)
{
	const char *known = ad_u64map_get(&r->adapters, (uintptr_t)type);
	if (!known) {
		bool adapter = ad_type_is_adapter(type, word);
		known = !adapter ? not_adapter : *word ? *word : no_word;
		ad_u64map_put(&r->adapters, (uintptr_t)type, (void *)(uintptr_t)known);
	}
	*word = known == no_word || known == not_adapter ? NULL : known;
	return known != not_adapter;
}

/* Marks an adapter layer ("adapter": true) and names the one the user wrote
 * ("adapter_name": "Map"). `inside` is the type of the adapter whose own
 * implementation f belongs to (Then is a Flatten over a Map of what it
 * wraps: neither is the user's), or NULL; returns the same for f's children. */
static const char *mark_adapter(struct render *r, const struct ad_frame *f, const char *inside)
{
	struct jw *w = r->w;
	const char *word = NULL;
	if (inside && ad_type_is_generic_argument(inside, f->type))
		inside = NULL; /* the future it wraps: the user's level again */
	if (!is_adapter(r, f->type, &word))
		return NULL;
	jw_key(w, "adapter");
	jw_bool(w, true);
	if (word && !inside) {
		jw_key(w, "adapter_name");
		jw_string(w, word);
		return f->type;
	}
	return inside;
}

static void frame_json(struct render *r, const struct ad_frame *f, unsigned depth,
		       bool is_local, const char *inside)
{
	struct jw *w = r->w;
	jw_object(w);
	struct skeleton_key head = { f->name, f->type, SKELETON_HEAD | f->kind, w->depth };
	if (!copy_skeleton(r, &head)) {
		size_t from = text_mark(r);
		jw_key(w, "kind");
		jw_kept_string(w, ad_frame_kind_name(f->kind));
		jw_key(w, "name");
		jw_kept_string_or_null(w, f->name);
		if (w->out) { /* the text format shows neither */
			jw_key(w, "type");
			jw_string_or_null(w, f->type);
			jw_key(w, "address");
		}
		keep_skeleton(r, &head, from);
	}
	if (w->out)
		jw_address(w, f->address);
	struct skeleton_key middle = { f->location, f->macro_location, SKELETON_MIDDLE | f->state,
				       w->depth };
	if (!copy_skeleton(r, &middle)) {
		size_t from = text_mark(r);
		jw_key(w, "state");
		jw_kept_string(w, ad_frame_state_name(f->state));
		jw_key(w, "location");
		location_json(w, f->location);
		if (f->macro_location) {
			jw_key(w, "macro_location");
			location_json(w, f->macro_location);
		}
		jw_key(w, "blocked_on");
		keep_skeleton(r, &middle, from);
	}
	blocked_on_json(r, f->blocked_on);
	if (f->error) {
		jw_key(w, "error");
		jw_string(w, f->error);
	}
	if (f->not_polled) {
		jw_key(w, "not_polled");
		jw_bool(w, true);
	}
	bool follow_task = f->has_awaits_task && !is_local;
	if (f->has_awaits_task) {
		jw_key(w, "awaits_task");
		jw_uint(w, f->awaits_task);
	}
	inside = mark_adapter(r, f, inside);

	bool has_locals = r->locals && f->nlocals;
	jw_key(w, "children");
	jw_array(w);
	if (depth >= AD_RENDER_MAX_DEPTH && (f->nchildren || follow_task || has_locals)) {
		warn_depth(r);
		jw_end_array(w);
		jw_key(w, "truncated");
		jw_bool(w, true);
		jw_end_object(w);
		return;
	}
	for (size_t i = 0; i < f->nchildren; i++)
		frame_json(r, f->children[i], depth + 1, is_local, inside);
	if (follow_task)
		task_link_json(r, f->awaits_task, depth + 1);
	jw_end_array(w);
	if (has_locals) {
		jw_key(w, "locals");
		jw_array(w);
		for (size_t i = 0; i < f->nlocals; i++)
			frame_json(r, f->locals[i], depth + 1, true, NULL);
		jw_end_array(w);
	}
	jw_end_object(w);
}

static void thread_json(struct jw *w, const struct ad_task *task)
{
	if (!task->tid) {
		jw_null(w);
		return;
	}
	jw_object(w);
	jw_key(w, "tid");
	jw_int(w, task->tid);
	jw_key(w, "name");
	jw_string_or_null(w, task->thread_name);
	jw_end_object(w);
}

static void task_json(struct render *r, const struct ad_task *task)
{
	struct jw *w = r->w;
	r->top = task;
	r->npath = 0;
	r->nlinks = 0;
	r->warned_depth = r->warned_nesting = false;
	if (task->has_id)
		r->path[r->npath++] = task->id;

	jw_object(w);
	jw_key(w, "id");
	if (task->has_id)
		jw_uint(w, task->id);
	else
		jw_null(w);
	jw_key(w, "kind");
	jw_kept_string(w, ad_task_kind_name(task->kind));
	jw_key(w, "address");
	jw_address(w, task->address);
	jw_key(w, "runtime");
	if (task->runtime < r->t->nruntimes)
		jw_int(w, task->runtime);
	else
		jw_null(w);
	jw_key(w, "thread");
	thread_json(w, task);
	jw_key(w, "state");
	jw_kept_string(w, ad_task_state_name(task->state));
	jw_key(w, "note");
	jw_string_or_null(w, task->note);
	if (r->t->not_stopped) {
		jw_key(w, "consistent");
		jw_bool(w, !task->inconsistent);
		jw_key(w, "reads");
		jw_uint(w, task->reads);
	}
	if (task->has_unchanged_for && isfinite(task->unchanged_for_s)) {
		jw_key(w, "unchanged_for_s");
		jw_real(w, task->unchanged_for_s);
	}
	jw_key(w, "blocked_on");
	summary_json(r, task);
	jw_key(w, "root");
	if (task->root)
		frame_json(r, task->root, 1, false, NULL);
	else
		jw_null(w);
	if (task->expected_wait) {
		jw_key(w, "expected_wait");
		jw_bool(w, true);
	}
	jw_end_object(w);
}

static void runtimes_json(struct jw *w, const struct ad_trace *t)
{
	jw_array(w);
	for (size_t i = 0; i < t->nruntimes; i++) {
		const struct ad_runtime *rt = &t->runtimes[i];
		jw_object(w);
		jw_key(w, "id");
		jw_int(w, rt->id);
		jw_key(w, "kind");
		jw_string_or_null(w, rt->kind);
		jw_key(w, "flavor");
		jw_string_or_null(w, rt->flavor);
		jw_key(w, "address");
		jw_address(w, rt->address);
		jw_key(w, "tasks");
		jw_uint(w, rt->ntasks);
		jw_end_object(w);
	}
	jw_end_array(w);
}

static bool cycle_has_task(const struct ad_cycle *c, uint64_t id)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->task_ids[i] == id)
			return true;
	return false;
}

static bool cycle_shown(const struct ad_cycle *c, const struct ad_task *only)
{
	return !only || cycle_has_task(c, only->id);
}

static void cycles_json(struct jw *w, const struct ad_trace *t, const struct ad_task *only)
{
	jw_array(w);
	for (size_t i = 0; i < t->ncycles; i++) {
		const struct ad_cycle *c = &t->cycles[i];
		if (!cycle_shown(c, only))
			continue;
		jw_array(w);
		for (size_t k = 0; k < c->n; k++)
			jw_uint(w, c->task_ids[k]);
		jw_end_array(w);
	}
	jw_end_array(w);
}

/* RFC 3339, UTC, microseconds: "2024-05-01T12:00:00.000412Z"; false when
 * the time cannot be written. */
static bool timestamp(struct timespec ts, char *buf, size_t size)
{
	struct tm tm;
	time_t secs = ts.tv_sec;
	if (!gmtime_r(&secs, &tm))
		return false;
	char date[32];
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	unsigned micros = (unsigned)(ts.tv_nsec / 1000) % 1000000u;
	snprintf(buf, size, "%s.%06uZ", date, micros);
	return true;
}

/* ------------------------------------------------------------ the stream */

enum phase { PHASE_HEAD, PHASE_TASKS, PHASE_TAIL, PHASE_DONE };

struct ad_render_stream {
	struct render r;
	struct jw w;
	struct ad_outbuf out;
	size_t sent;              /* bytes of out already read */
	enum ad_render_format format;
	const struct ad_task *only;
	enum phase phase;
	size_t next_task;
	bool any_task;
	bool failed;              /* out of memory: the stream stays failed */
	struct ad_strpool nodes;  /* text: the tree of the task being drawn */
};

static void json_head(struct ad_render_stream *s)
{
	const struct ad_trace *t = s->r.t;
	struct jw *w = &s->w;
	char when[64];
	jw_object(w);
	jw_key(w, "pid");
	jw_int(w, t->pid);
	jw_key(w, "exe");
	jw_string_or_null(w, t->exe);
	jw_key(w, "build_id");
	jw_string_or_null(w, t->build_id);
	jw_key(w, "source_root");
	jw_string_or_null(w, t->source_root);
	jw_key(w, "captured_at");
	jw_string_or_null(w, timestamp(t->captured_at, when, sizeof(when)) ? when : NULL);
	jw_key(w, "pause_us");
	if (t->from_core || t->not_stopped)
		jw_null(w); /* nothing was paused */
	else
		jw_uint(w, t->pause_us);
	jw_key(w, "stopped");
	if (t->from_core)
		jw_null(w);
	else
		jw_bool(w, !t->not_stopped);
	jw_key(w, "source");
	jw_string(w, t->from_core ? "core" : "live");
	jw_key(w, "runtimes");
	runtimes_json(w, t);
	jw_key(w, "tasks");
	jw_array(w);
}

static void json_tail(struct ad_render_stream *s)
{
	const struct ad_trace *t = s->r.t;
	struct jw *w = &s->w;
	jw_end_array(w);
	jw_key(w, "cycles");
	cycles_json(w, t, s->only);
	jw_key(w, "warnings");
	jw_array(w);
	for (size_t i = 0; i < t->nwarnings; i++)
		jw_string(w, t->warnings[i]);
	for (size_t i = 0; i < s->r.nwarnings; i++)
		jw_string(w, s->r.warnings[i]);
	jw_end_array(w);
	jw_end_object(w);
}

/* The text format: each task's object as a tree, drawn, then dropped. */
static void text_task(struct ad_render_stream *s, const struct ad_task *task)
{
	struct jw tree = { .out = NULL, .pool = &s->nodes };
	s->r.w = &tree;
	task_json(&s->r, task);
	s->r.w = &s->w;
	if (tree.oom || !tree.root)
		s->r.oom = true;
	else
		ad_text_task(&s->out, s->r.t->source_root, tree.root);
	ad_strpool_reset(&s->nodes);
}

static void text_tail(struct ad_render_stream *s)
{
	const struct ad_trace *t = s->r.t;
	if (!s->any_task)
		ad_text_no_tasks(&s->out);
	for (size_t i = 0; i < t->ncycles; i++)
		if (cycle_shown(&t->cycles[i], s->only))
			ad_text_cycle(&s->out, t->cycles[i].task_ids, t->cycles[i].n);
	for (size_t i = 0; i < t->nwarnings; i++)
		ad_text_warning(&s->out, t->warnings[i]);
	for (size_t i = 0; i < s->r.nwarnings; i++)
		ad_text_warning(&s->out, s->r.warnings[i]);
}

/* Renders the next piece of the document into s->out. */
static void render_piece(struct ad_render_stream *s)
{
	const struct ad_trace *t = s->r.t;
	bool text = s->format == AD_RENDER_TEXT;
	switch (s->phase) {
	case PHASE_HEAD:
		if (text) {
			char when[64];
			ad_text_head(&s->out, t,
				     timestamp(t->captured_at, when, sizeof(when)) ? when : NULL);
		} else {
			json_head(s);
		}
		s->phase = PHASE_TASKS;
		break;
	case PHASE_TASKS:
		while (s->next_task < t->ntasks && s->only && s->only != &t->tasks[s->next_task])
			s->next_task++;
		if (s->next_task >= t->ntasks) {
			s->phase = PHASE_TAIL;
			break;
		}
		s->any_task = true;
		if (text)
			text_task(s, &t->tasks[s->next_task]);
		else
			task_json(&s->r, &t->tasks[s->next_task]);
		s->next_task++;
		break;
	case PHASE_TAIL:
		if (text)
			text_tail(s);
		else
			json_tail(s);
		s->phase = PHASE_DONE;
		break;
	case PHASE_DONE:
		break;
	}
}

struct ad_error *ad_render_stream_create(const struct ad_trace *t, enum ad_render_format format,
					 const struct ad_render_options *options,
					 struct ad_render_stream **ret)
{
	const struct ad_task *only = NULL;
	if (options && options->has_task) {
		only = ad_trace_find_task(t, options->task);
		if (!only)
			return ad_error_create(AD_ERROR_NOT_FOUND,
					       "no task with id %" PRIu64 " in process %d",
					       options->task, (int)t->pid);
	}
	struct ad_render_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return nomem();
	struct ad_render_options o = options ? *options : (struct ad_render_options){ 0 };
	if (format == AD_RENDER_TEXT && !o.max_task_nesting)
		o.max_task_nesting = AD_RENDER_MAX_TASK_NESTING; /* the design nests */
	render_init(&s->r, t, &o, &s->w);
	s->r.keep_warnings = true;
	s->w.out = &s->out;
	s->w.indent = format == AD_RENDER_JSON_PRETTY ? 2 : 0;
	s->format = format;
	s->only = only;
	*ret = s;
	return NULL;
}

/* Fills `buf` with as many pieces as fit: a piece is one task (about a
 * kilobyte), and a reader that got one per call (an HTTP response) paid a
 * send and a poll for each. */
struct ad_error *ad_render_stream_read(struct ad_render_stream *s, char *buf, size_t size,
				       size_t *len)
{
	*len = 0;
	while (*len < size) {
		while (!s->failed && s->sent == s->out.len && s->phase != PHASE_DONE) {
			s->out.len = s->sent = 0;
			render_piece(s);
			s->failed = s->out.oom || s->w.oom || s->r.oom;
		}
		if (s->failed) /* after what is in buf: the next call says it */
			return *len ? NULL : nomem();
		size_t n = s->out.len - s->sent;
		if (!n)
			break;
		if (n > size - *len)
			n = size - *len;
		memcpy(buf + *len, s->out.buf + s->sent, n);
		s->sent += n;
		*len += n;
	}
	return NULL;
}

void ad_render_stream_destroy(struct ad_render_stream *s)
{
	if (!s)
		return;
	render_fini(&s->r);
	ad_strpool_deinit(&s->nodes);
	free(s->out.buf);
	free(s);
}

/* The whole of a stream into one string. */
static struct ad_error *read_all(struct ad_render_stream *s, char **ret, size_t *len)
{
	struct ad_outbuf all = { 0 };
	ad_outbuf_append(&all, "", 0); /* an empty document is still a string */
	char chunk[65536];
	size_t n;
	struct ad_error *err;
	while (!(err = ad_render_stream_read(s, chunk, sizeof(chunk), &n)) && n)
		ad_outbuf_append(&all, chunk, n);
	if (!err && all.oom)
		err = nomem();
	if (err) {
		free(all.buf);
		return err;
	}
	*ret = all.buf;
	if (len)
		*len = all.len;
	return NULL;
}

static struct ad_error *render_whole(const struct ad_trace *t, enum ad_render_format format,
				    const struct ad_render_options *options, char **ret,
				    size_t *len)
{
	struct ad_render_stream *s;
	struct ad_error *err = ad_render_stream_create(t, format, options, &s);
	if (err)
		return err;
	err = read_all(s, ret, len);
	ad_render_stream_destroy(s);
	return err;
}

struct ad_error *ad_render_json(const struct ad_trace *t, const struct ad_render_options *options,
				char **ret, size_t *len)
{
	return render_whole(t, AD_RENDER_JSON, options, ret, len);
}

struct ad_error *ad_render_text(const struct ad_trace *t, const struct ad_render_options *options,
				char **ret)
{
	return render_whole(t, AD_RENDER_TEXT, options, ret, NULL);
}

struct ad_error *ad_render_task_json(const struct ad_trace *t, const struct ad_task *task,
				     const struct ad_render_options *options, char **ret,
				     size_t *len)
{
	struct ad_outbuf out = { 0 };
	struct jw w = { .out = &out };
	struct render r;
	render_init(&r, t, options, &w);
	task_json(&r, task);
	bool oom = r.oom || w.oom || out.oom;
	render_fini(&r);
	if (oom) {
		free(out.buf);
		return nomem();
	}
	*ret = out.buf;
	if (len)
		*len = out.len;
	return NULL;
}
