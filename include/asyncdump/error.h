/* SPDX-License-Identifier: MIT */
/* The one error convention of libasyncdump.
 *
 * Every fallible function returns `struct ad_error *`: NULL on success, an
 * error object otherwise. Results go to out-parameters named `ret`, placed
 * last, written only on success. The library never prints, exits or aborts:
 * the caller decides what to do with an error (the daemon maps codes to HTTP
 * statuses, the CLI to exit statuses).
 *
 * Messages are complete sentences for a person: what failed, on which pid /
 * type / field / address, and what to do about it. */
#ifndef ASYNCDUMP_ERROR_H
#define ASYNCDUMP_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

enum ad_error_code {
	AD_ERROR_NOMEM = 1,        /* out of memory */
	AD_ERROR_INVALID_ARGUMENT, /* caller passed something malformed */
	AD_ERROR_NO_PROCESS,       /* no such process */
	AD_ERROR_PERMISSION,       /* not permitted to trace / read it */
	AD_ERROR_ALREADY_TRACED,   /* another tracer holds the process */
	AD_ERROR_PROCESS_EXITED,   /* the process exited during the sample */
	AD_ERROR_ZOMBIE,           /* the process is a zombie */
	AD_ERROR_FAULT,            /* target memory could not be read (address set) */
	AD_ERROR_NO_DEBUGINFO,     /* no (type) debuginfo for the binary */
	AD_ERROR_NOT_RUST,         /* the binary is not a Rust program */
	AD_ERROR_NO_RUNTIME,       /* Rust, but no supported async runtime found */
	AD_ERROR_UNKNOWN_LAYOUT,   /* a runtime type/field is not what we know */
	AD_ERROR_NOT_FOUND,        /* a named thing (task, type, symbol) is absent */
	AD_ERROR_DWARF,            /* libdw / libdwfl / libelf failure */
	AD_ERROR_OS,               /* a system call failed (errnum set) */
	AD_ERROR_TOO_LARGE,        /* a bound was exceeded (size, depth, count) */
	AD_ERROR_OVERLOADED,       /* too much work in flight; try again later */
	AD_ERROR_INTERRUPTED,      /* stopped on request (shutdown) */
	AD_ERROR_CONFIG,           /* a configuration file or flag is invalid */
	AD_ERROR_OTHER,
};

struct ad_error {
	enum ad_error_code code;
	int errnum;        /* errno for AD_ERROR_OS and attach errors, else 0 */
	uint64_t address;  /* faulting address for AD_ERROR_FAULT, else 0 */
	char *message;
};

/* The one out-of-memory error: returned whenever memory runs out (creating an
 * error of code AD_ERROR_NOMEM gives it too); ad_error_destroy() ignores it. */
extern struct ad_error ad_error_nomem;

/* The one rule for what stops a decode: lack of memory. Every other error
 * degrades only what it touched (a frame's or a task's `error`). */
static inline bool ad_error_is_fatal(const struct ad_error *err)
{
	return err && err->code == AD_ERROR_NOMEM;
}

struct ad_error *ad_error_create(enum ad_error_code code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
struct ad_error *ad_error_vcreate(enum ad_error_code code, int errnum, uint64_t address,
				  const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
/* AD_ERROR_OS with errnum; strerror(errnum) is appended to the message. */
struct ad_error *ad_error_os(int errnum, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* AD_ERROR_FAULT carrying the address that could not be read. */
struct ad_error *ad_error_fault(uint64_t address, uint64_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "prefix: original message"; consumes err, keeps its code/errnum/address. */
struct ad_error *ad_error_wrap(struct ad_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ad_error_destroy(struct ad_error *err);

/* Stable snake_case name of a code ("no_such_process", …): JSON error codes. */
const char *ad_error_code_name(enum ad_error_code code);

#endif
