/* SPDX-License-Identifier: MIT */
/* The JSON writer's values and containers (json_writer.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "digits.h"
#include "json_writer.h"

/* Tree: attaches a new node to the open container. */
static void attach(struct ad_jw *w, struct ad_node *v)
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

static struct ad_node *new_node(struct ad_jw *w, enum ad_node_kind kind)
{
	return ad_node_new(w->pool, kind);
}

static void tree_real(struct ad_jw *w, double v)
{
	struct ad_node *n = new_node(w, AD_NODE_REAL);
	if (n)
		n->v.r = v;
	attach(w, n);
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
static void write_quoted(struct ad_jw *w, const char *s)
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
	ad_jw_text(w, "\"", 1);
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
		ad_jw_text(w, (const char *)run, (size_t)(p - run));
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
		ad_jw_text(w, e, n);
		run = ++p;
	}
	ad_jw_text(w, (const char *)run, (size_t)(p - run));
	ad_jw_text(w, "\"", 1);
}

/* A string node; invalid UTF-8 becomes '?', as in the JSON text. */
static struct ad_node *utf8_node(struct ad_jw *w, const char *s)
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

void ad_jw_string(struct ad_jw *w, const char *s)
{
	if (!w->out) {
		attach(w, utf8_node(w, s));
		return;
	}
	ad_jw_separate(w);
	write_quoted(w, s);
}

void ad_jw_null(struct ad_jw *w)
{
	if (w->out)
		ad_jw_raw(w, "null", 4);
	else
		attach(w, new_node(w, AD_NODE_NULL));
}

void ad_jw_bool(struct ad_jw *w, bool v)
{
	if (w->out)
		ad_jw_raw(w, v ? "true" : "false", v ? 4 : 5);
	else
		attach(w, new_node(w, v ? AD_NODE_TRUE : AD_NODE_FALSE));
}

void ad_jw_int(struct ad_jw *w, int64_t v)
{
	if (!w->out) {
		struct ad_node *n = new_node(w, AD_NODE_INT);
		if (n)
			n->v.i = v;
		attach(w, n);
		return;
	}
	char buf[24], *end = buf + sizeof(buf);
	char *p = ad_signed_digits(v, end);
	ad_jw_raw(w, p, (size_t)(end - p));
}

/* Ids, inodes, counts: as jansson's signed integers did. */
void ad_jw_uint(struct ad_jw *w, uint64_t v)
{
	ad_jw_int(w, (int64_t)v);
}

/* As jansson writes a real: 17 significant digits, always a '.' or an
 * exponent, the exponent without '+' and leading zeros. */
void ad_jw_real(struct ad_jw *w, double v)
{
	if (!w->out) {
		tree_real(w, v);
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
	ad_jw_raw(w, buf, strlen(buf));
}

/* ns as seconds, in decimal, exactly: "3580.976010972", "-0.5", "2.0". It
 * reads back as the double ns / 1e9 is (the nearest to the same exact
 * value), for an eighth of what printf's 17 digits cost. */
void ad_jw_seconds(struct ad_jw *w, int64_t ns)
{
	if (!w->out) {
		tree_real(w, (double)ns / 1e9);
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
	ad_jw_raw(w, p, (size_t)(end - p));
}

/* "0x1f": as the schema writes addresses. */
void ad_jw_address(struct ad_jw *w, uint64_t a)
{
	char buf[24], *end = buf + sizeof(buf) - 1;
	*end = '"';
	char *p = ad_digits(a, 16, end);
	*--p = 'x';
	*--p = '0';
	*--p = '"';
	if (!w->out) {
		attach(w, ad_node_string(w->pool, p + 1, (size_t)(end - p - 1)));
		return;
	}
	ad_jw_separate(w);
	ad_jw_text(w, p, (size_t)(end + 1 - p));
}

void ad_jw_open(struct ad_jw *w, bool object)
{
	if (w->depth >= AD_JW_MAX_DEPTH) {
		w->oom = true; /* not reached: the walk is bounded well below */
		return;
	}
	if (w->out) {
		ad_jw_separate(w);
		ad_jw_text(w, object ? "{" : "[", 1);
	} else {
		/* A container that could not be made takes no members. */
		struct ad_node *c = new_node(w, object ? AD_NODE_OBJECT : AD_NODE_ARRAY);
		w->stack[w->depth] = c;
		attach(w, c);
	}
	w->has_items[w->depth++] = false;
}

void ad_jw_close(struct ad_jw *w, bool object)
{
	if (w->depth == 0)
		return;
	w->depth--;
	if (w->out) {
		if (w->indent && w->has_items[w->depth])
			ad_jw_break(w, false, w->depth);
		ad_jw_text(w, object ? "}" : "]", 1);
	}
}

void ad_jw_string_or_null(struct ad_jw *w, const char *s)
{
	if (s)
		ad_jw_string(w, s);
	else
		ad_jw_null(w);
}

/* ad_jw_string() of a string that lives as long as the rendering: a literal or
 * the trace's own (render.h: the trace outlives the stream). The tree
 * points at it rather than copying it, unless it needs making safe. */
void ad_jw_kept_string(struct ad_jw *w, const char *s)
{
	size_t len = w->out ? 0 : strlen(s);
	if (w->out || plain_run_length(s, len) < len) {
		ad_jw_string(w, s);
		return;
	}
	attach(w, ad_node_kept_string(w->pool, s));
}

void ad_jw_kept_string_or_null(struct ad_jw *w, const char *s)
{
	if (s)
		ad_jw_kept_string(w, s);
	else
		ad_jw_null(w);
}

void ad_jw_address_or_null(struct ad_jw *w, uint64_t a)
{
	if (a)
		ad_jw_address(w, a);
	else
		ad_jw_null(w);
}
