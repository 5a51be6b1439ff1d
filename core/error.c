/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncdump/error.h"

struct ad_error ad_error_nomem = {
	.code = AD_ERROR_NOMEM,
	.message = (char *)"out of memory",
};

struct ad_error *ad_error_vcreate(enum ad_error_code code, int errnum, uint64_t address,
				  const char *fmt, va_list ap)
{
	if (code == AD_ERROR_NOMEM)
		return &ad_error_nomem;
	struct ad_error *err = calloc(1, sizeof(*err));
	if (!err)
		return &ad_error_nomem;
	if (vasprintf(&err->message, fmt, ap) < 0) {
		free(err);
		return &ad_error_nomem;
	}
	err->code = code;
	err->errnum = errnum;
	err->address = address;
	return err;
}

struct ad_error *ad_error_create(enum ad_error_code code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct ad_error *err = ad_error_vcreate(code, 0, 0, fmt, ap);
	va_end(ap);
	return err;
}

struct ad_error *ad_error_os(int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct ad_error *err = ad_error_vcreate(AD_ERROR_OS, errnum, 0, fmt, ap);
	va_end(ap);
	if (err == &ad_error_nomem)
		return err;
	char *joined;
	if (asprintf(&joined, "%s: %s", err->message, strerror(errnum)) >= 0) {
		free(err->message);
		err->message = joined;
	}
	return err;
}

struct ad_error *ad_error_fault(uint64_t address, uint64_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct ad_error *err = ad_error_vcreate(AD_ERROR_FAULT, 0, address, fmt, ap);
	va_end(ap);
	return err;
}

struct ad_error *ad_error_wrap(struct ad_error *err, const char *fmt, ...)
{
	if (!err || err == &ad_error_nomem)
		return err;
	char *prefix, *joined;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&prefix, fmt, ap);
	va_end(ap);
	if (r < 0)
		return err; /* keep the original: losing context beats losing the error */
	if (asprintf(&joined, "%s: %s", prefix, err->message) >= 0) {
		free(err->message);
		err->message = joined;
	}
	free(prefix);
	return err;
}

void ad_error_destroy(struct ad_error *err)
{
	if (!err || err == &ad_error_nomem)
		return;
	free(err->message);
	free(err);
}

const char *ad_error_code_name(enum ad_error_code code)
{
	switch (code) {
	case AD_ERROR_NOMEM: return "out_of_memory";
	case AD_ERROR_INVALID_ARGUMENT: return "invalid_argument";
	case AD_ERROR_NO_PROCESS: return "no_such_process";
	case AD_ERROR_PERMISSION: return "permission_denied";
	case AD_ERROR_ALREADY_TRACED: return "already_traced";
	case AD_ERROR_PROCESS_EXITED: return "process_exited";
	case AD_ERROR_ZOMBIE: return "zombie_process";
	case AD_ERROR_FAULT: return "memory_fault";
	case AD_ERROR_NO_DEBUGINFO: return "no_debuginfo";
	case AD_ERROR_NOT_RUST: return "not_rust";
	case AD_ERROR_NO_RUNTIME: return "no_runtime";
	case AD_ERROR_UNKNOWN_LAYOUT: return "unknown_layout";
	case AD_ERROR_NOT_FOUND: return "not_found";
	case AD_ERROR_DWARF: return "dwarf_error";
	case AD_ERROR_OS: return "os_error";
	case AD_ERROR_TOO_LARGE: return "too_large";
	case AD_ERROR_OVERLOADED: return "overloaded";
	case AD_ERROR_INTERRUPTED: return "interrupted";
	case AD_ERROR_CONFIG: return "bad_config";
	case AD_ERROR_OTHER: return "internal_error";
	}
	return "internal_error";
}
