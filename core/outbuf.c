/* SPDX-License-Identifier: MIT */
/* The output buffer both renderers write into (render_internal.h): its own
 * file, so that render_json.c (which draws text through render_text.c) and
 * render_text.c do not refer to each other. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "render_internal.h"

/* Room for n more bytes and the NUL; false (oom set) when there is none. */
static bool make_room(struct ad_outbuf *o, size_t n)
{
	if (o->oom)
		return false;
	if (n < o->cap - o->len && o->buf)
		return true;
	size_t cap = o->cap ? o->cap : 4096;
	while (cap - o->len <= n) {
		if (cap > SIZE_MAX / 2) {
			o->oom = true;
			return false;
		}
		cap *= 2;
	}
	char *p = realloc(o->buf, cap);
	if (!p) {
		o->oom = true;
		return false;
	}
	o->buf = p;
	o->cap = cap;
	return true;
}

void ad_outbuf_append_growing(struct ad_outbuf *o, const char *s, size_t n)
{
	if (!make_room(o, n))
		return;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

char *ad_outbuf_extend_growing(struct ad_outbuf *o, size_t n)
{
	if (!make_room(o, n))
		return NULL;
	char *at = o->buf + o->len;
	o->len += n;
	o->buf[o->len] = '\0';
	return at;
}
