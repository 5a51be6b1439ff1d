/* SPDX-License-Identifier: MIT */
/* The cheap look at a binary (binary_probe.h): from the ELF file alone, no
 * DWARF walk. */
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binary_probe.h"
#include "debuginfo_internal.h"
#include "runtime.h"

/* The kinds of the adapters whose probe finds their runtime in the ELF
 * file, comma-separated ("" none); NULL without memory. */
static char *probe_runtimes(Elf *elf)
{
	char kinds[256] = "";
	for (const struct ad_runtime_ops *const *a = ad_runtime_adapters; *a; a++)
		if ((*a)->probe && (*a)->probe(elf) &&
		    strlen(kinds) + strlen((*a)->kind) + 2 < sizeof(kinds)) {
			if (kinds[0])
				strcat(kinds, ",");
			strcat(kinds, (*a)->kind);
		}
	return strdup(kinds);
}

static const char *no_runtime_reason(char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "no async runtime asyncdump reads (");
	for (const struct ad_runtime_ops *const *a = ad_runtime_adapters; *a && n < len; a++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", a == ad_runtime_adapters ? "" : ", ",
				      (*a)->kind);
	if (n < len)
		snprintf(buf + n, len - n, ")");
	return buf;
}

struct ad_error *ad_binary_probe(const char *exe, struct ad_binary_info *info)
{
	int fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ad_error_os(errno, "cannot open %s", exe);
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	const char *reason = NULL;
	char why[256];
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		reason = "not an ELF program";
	} else {
		info->is_rust = ad_elf_looks_like_rust(elf);
		info->has_type_debuginfo = ad_elf_section_contains(elf, ".debug_str", "__awaitee") ||
					   ad_elf_section_contains(elf, ".debug_str", "__state");
		if (!(info->runtime_kinds = probe_runtimes(elf))) {
			elf_end(elf);
			close(fd);
			return &ad_error_nomem;
		}
		info->has_runtime = info->runtime_kinds[0] != '\0';
		if (!info->has_runtime) {
			free(info->runtime_kinds);
			info->runtime_kinds = NULL;
		}
		const void *id;
		ssize_t n = dwelf_elf_gnu_build_id(elf, &id);
		if (n > 0 && (info->build_id = malloc((size_t)n * 2 + 1)))
			for (ssize_t i = 0; i < n; i++)
				sprintf(info->build_id + i * 2, "%02x", ((const unsigned char *)id)[i]);
		if (!info->is_rust)
			reason = "not a Rust program";
		else if (!info->has_type_debuginfo)
			reason = "no type debuginfo for async code (build with debug = true)";
		else if (!info->has_runtime)
			reason = no_runtime_reason(why, sizeof(why));
	}
	if (elf)
		elf_end(elf);
	close(fd);
	if (reason && !(info->reason = strdup(reason)))
		return &ad_error_nomem;
	return NULL;
}

struct ad_error *ad_binary_info_copy(const struct ad_binary_info *from, struct ad_binary_info *to)
{
	*to = *from;
	to->build_id = from->build_id ? strdup(from->build_id) : NULL;
	to->reason = from->reason ? strdup(from->reason) : NULL;
	to->runtime_kinds = from->runtime_kinds ? strdup(from->runtime_kinds) : NULL;
	if ((from->build_id && !to->build_id) || (from->reason && !to->reason) ||
	    (from->runtime_kinds && !to->runtime_kinds)) {
		ad_binary_info_deinit(to);
		return &ad_error_nomem;
	}
	return NULL;
}

void ad_binary_info_deinit(struct ad_binary_info *info)
{
	if (!info)
		return;
	free(info->build_id);
	free(info->reason);
	free(info->runtime_kinds);
	info->build_id = info->reason = info->runtime_kinds = NULL;
}
