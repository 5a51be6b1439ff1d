/* SPDX-License-Identifier: MIT */
/* Internal: the strings a trace's frames share, and the memory they live
 * in. A type's name, its display name and a suspension point are the same
 * for every one of a sample's 100,000 tasks suspended there: each is kept
 * once, in the trace, for as long as the trace lives
 * (ad_trace_frame_create()). */
#ifndef ASYNCDUMP_NAMES_H
#define ASYNCDUMP_NAMES_H

#include "asyncdump/trace.h"
#include "strmap.h"
#include "strpool.h"
#include "u64map.h"

struct ad_names {
	struct ad_strpool pool;      /* the strings, and the trace's frames */
	struct ad_strmap by_content; /* a string → its copy */
	/* A caller's pointer → the copy of what it pointed to when last
	 * seen: decoders pass the debuginfo's strings, the same pointer for
	 * every frame of a type, so most lookups hash no string (each hit is
	 * checked against the copy, so a reused pointer is never trusted). */
	struct ad_u64map by_address;
	struct ad_u64map display;    /* a copy → its display name */
	struct ad_u64map locations;  /* (file copy, line, column) mixed → a location */
};

/* t's, created at first use; NULL on OOM (trace.c). */
struct ad_names *ad_trace_names(struct ad_trace *t);
/* NULL on OOM. */
struct ad_names *ad_names_create(void);
void ad_names_destroy(struct ad_names *n);
/* The shared copy of s; NULL on OOM. */
const char *ad_names_intern(struct ad_names *n, const char *s);
/* The display name kept for a string ad_names_intern() gave, or NULL when
 * none is kept yet (trace.c makes them: this file uses nothing of it). */
const char *ad_names_display(const struct ad_names *n, const char *interned);
/* Keeps a copy of `display` as the display name of `interned`; returns the
 * kept one, NULL on OOM. */
const char *ad_names_keep_display(struct ad_names *n, const char *interned, const char *display);
/* A location equal to (file, line, column), shared; NULL on OOM. */
struct ad_location *ad_names_location(struct ad_names *n, const char *file, unsigned line,
				      unsigned column);

#endif
