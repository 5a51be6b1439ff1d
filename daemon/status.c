/* SPDX-License-Identifier: MIT */
#include "status.h"

#include <microhttpd.h>

/* 500 is kept for what is really our fault; what the target is or does maps
 * to a status the client can act on. */
unsigned status_http(enum ad_error_code code)
{
	switch (code) {
	case AD_ERROR_INVALID_ARGUMENT: return MHD_HTTP_BAD_REQUEST;
	case AD_ERROR_NO_PROCESS:
	case AD_ERROR_PROCESS_EXITED:
	case AD_ERROR_NOT_FOUND: return MHD_HTTP_NOT_FOUND;
	case AD_ERROR_PERMISSION: return MHD_HTTP_FORBIDDEN;
	case AD_ERROR_ALREADY_TRACED: return MHD_HTTP_CONFLICT;
	case AD_ERROR_ZOMBIE:
	case AD_ERROR_FAULT:
	case AD_ERROR_NO_DEBUGINFO:
	case AD_ERROR_NOT_RUST:
	case AD_ERROR_NO_RUNTIME:
	case AD_ERROR_UNKNOWN_LAYOUT:
	case AD_ERROR_DWARF:
	case AD_ERROR_TOO_LARGE: return MHD_HTTP_UNPROCESSABLE_CONTENT;
	case AD_ERROR_OVERLOADED:
	case AD_ERROR_INTERRUPTED: return MHD_HTTP_SERVICE_UNAVAILABLE;
	case AD_ERROR_NOMEM:
	case AD_ERROR_OS:
	case AD_ERROR_CONFIG:
	case AD_ERROR_OTHER: return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

int status_exit(enum ad_error_code code)
{
	switch (code) {
	case AD_ERROR_INVALID_ARGUMENT: return EXIT_USAGE;
	case AD_ERROR_NO_PROCESS:
	case AD_ERROR_PROCESS_EXITED: return EXIT_NO_PROCESS;
	case AD_ERROR_NOT_FOUND: return EXIT_NOT_FOUND;
	case AD_ERROR_PERMISSION: return EXIT_PERMISSION;
	case AD_ERROR_ALREADY_TRACED: return EXIT_ALREADY_TRACED;
	case AD_ERROR_ZOMBIE:
	case AD_ERROR_FAULT:
	case AD_ERROR_NO_DEBUGINFO:
	case AD_ERROR_NOT_RUST:
	case AD_ERROR_NO_RUNTIME:
	case AD_ERROR_UNKNOWN_LAYOUT:
	case AD_ERROR_DWARF:
	case AD_ERROR_TOO_LARGE: return EXIT_NOT_ANALYZABLE;
	case AD_ERROR_INTERRUPTED: return EXIT_INTERRUPTED;
	case AD_ERROR_CONFIG: return EXIT_CONFIG;
	case AD_ERROR_OVERLOADED:
	case AD_ERROR_NOMEM:
	case AD_ERROR_OS:
	case AD_ERROR_OTHER: return EXIT_INTERNAL;
	}
	return EXIT_INTERNAL;
}
