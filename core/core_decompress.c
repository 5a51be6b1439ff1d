/* SPDX-License-Identifier: MIT */
/* Compressed cores (systemd-coredump's zstd, xz and lz4) into a bounded,
 * unnamed temporary file that core_file.c then reads like any core.
 *
 * The output never exceeds the caller's bound: a core that decompresses to
 * more is refused (AD_ERROR_TOO_LARGE) and its temporary file is gone with
 * its descriptor (O_TMPFILE, or unlinked at once). A stream that ends early
 * or is damaged (a partial copy) keeps what was decompressed: the core is
 * then truncated, which core_file.c reports by the memory it lost. */
#include <errno.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "asyncdump/core.h"

#define CHUNK ((size_t)1 << 20)

enum ad_core_compression ad_core_compression_of(const unsigned char *magic, size_t len)
{
	static const unsigned char zstd[] = { 0x28, 0xb5, 0x2f, 0xfd };
	static const unsigned char xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };
	static const unsigned char lz4[] = { 0x04, 0x22, 0x4d, 0x18 };
	if (len >= sizeof(zstd) && memcmp(magic, zstd, sizeof(zstd)) == 0)
		return AD_CORE_ZSTD;
	if (len >= sizeof(xz) && memcmp(magic, xz, sizeof(xz)) == 0)
		return AD_CORE_XZ;
	if (len >= sizeof(lz4) && memcmp(magic, lz4, sizeof(lz4)) == 0)
		return AD_CORE_LZ4;
	return AD_CORE_PLAIN;
}

const char *ad_core_compression_name(enum ad_core_compression c)
{
	switch (c) {
	case AD_CORE_ZSTD: return "zstd";
	case AD_CORE_XZ: return "xz";
	case AD_CORE_LZ4: return "lz4";
	case AD_CORE_PLAIN: break;
	}
	return "none";
}

/* Where decompressed bytes go, and how many may. */
struct sink {
	int fd;
	uint64_t written, max;
	bool prefix;  /* the first max bytes are enough */
	const char *name;
};

/* Not an error: stops the decompression once a prefix is complete. */
static struct ad_error prefix_full = { AD_ERROR_OTHER, 0, 0, NULL };

static struct ad_error *put(struct sink *s, const void *buf, size_t len)
{
	if (len > s->max - s->written && s->prefix)
		len = (size_t)(s->max - s->written);
	else if (len > s->max - s->written)
		return ad_error_create(AD_ERROR_TOO_LARGE, "the core %s decompresses to more than "
				       "%llu bytes (the bound for decompressed cores)", s->name,
				       (unsigned long long)s->max);
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(s->fd, (const char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ad_error_os(errno, "writing the decompressed core %s", s->name);
		done += (size_t)n;
	}
	s->written += len;
	return s->prefix && s->written == s->max ? &prefix_full : NULL;
}

/* Reads the next input chunk; *len 0 at the end. */
static struct ad_error *take(int in, const char *name, void *buf, size_t *len)
{
	for (;;) {
		ssize_t n = read(in, buf, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ad_error_os(errno, "reading the core %s", name);
		*len = (size_t)n;
		return NULL;
	}
}

static struct ad_error *unzstd(int in, struct sink *s, char *ibuf, char *obuf, char **damage)
{
	ZSTD_DStream *z = ZSTD_createDStream();
	if (!z)
		return &ad_error_nomem;
	ZSTD_initDStream(z);
	struct ad_error *err = NULL;
	size_t last = 0, len;
	while (!err && !(err = take(in, s->name, ibuf, &len)) && len) {
		ZSTD_inBuffer ib = { ibuf, len, 0 };
		while (!err && ib.pos < ib.size) {
			ZSTD_outBuffer ob = { obuf, CHUNK, 0 };
			last = ZSTD_decompressStream(z, &ob, &ib);
			if (ZSTD_isError(last)) {
				*damage = strdup(ZSTD_getErrorName(last));
				ZSTD_freeDStream(z);
				return *damage ? NULL : &ad_error_nomem;
			}
			err = put(s, obuf, ob.pos);
		}
	}
	ZSTD_freeDStream(z);
	if (!err && last != 0 && !(*damage = strdup("the zstd stream ends early")))
		err = &ad_error_nomem;
	return err;
}

static struct ad_error *unxz(int in, struct sink *s, char *ibuf, char *obuf, char **damage)
{
	lzma_stream z = LZMA_STREAM_INIT;
	if (lzma_stream_decoder(&z, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
		return &ad_error_nomem;
	struct ad_error *err = NULL;
	lzma_ret rc = LZMA_OK;
	size_t len;
	bool at_end = false;
	while (!err && rc == LZMA_OK) {
		if (z.avail_in == 0 && !at_end) {
			if ((err = take(in, s->name, ibuf, &len)))
				break;
			z.next_in = (const uint8_t *)ibuf;
			z.avail_in = len;
			at_end = len == 0;
		}
		z.next_out = (uint8_t *)obuf;
		z.avail_out = CHUNK;
		rc = lzma_code(&z, at_end ? LZMA_FINISH : LZMA_RUN);
		err = put(s, obuf, CHUNK - z.avail_out);
	}
	lzma_end(&z);
	if (!err && rc != LZMA_STREAM_END) {
		char text[64];
		snprintf(text, sizeof(text), "the xz stream is damaged or ends early (error %d)",
			 (int)rc);
		if (!(*damage = strdup(text)))
			err = &ad_error_nomem;
	}
	return err;
}

static struct ad_error *unlz4(int in, struct sink *s, char *ibuf, char *obuf, char **damage)
{
	LZ4F_dctx *z;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&z, LZ4F_VERSION)))
		return &ad_error_nomem;
	struct ad_error *err = NULL;
	size_t hint = 1, len;
	while (!err && hint && !(err = take(in, s->name, ibuf, &len)) && len) {
		size_t pos = 0;
		while (!err && pos < len && hint) {
			size_t out = CHUNK, used = len - pos;
			hint = LZ4F_decompress(z, obuf, &out, ibuf + pos, &used, NULL);
			if (LZ4F_isError(hint)) {
				*damage = strdup(LZ4F_getErrorName(hint));
				LZ4F_freeDecompressionContext(z);
				return *damage ? NULL : &ad_error_nomem;
			}
			pos += used;
			err = put(s, obuf, out);
		}
	}
	LZ4F_freeDecompressionContext(z);
	if (!err && hint && !(*damage = strdup("the lz4 stream ends early")))
		err = &ad_error_nomem;
	return err;
}

static int temp_file(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != ENOENT))
		return fd;
	char path[4096];
	snprintf(path, sizeof(path), "%s/asyncdump-core.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

struct ad_error *ad_core_decompress(int in, const char *name, enum ad_core_compression kind,
				    const char *tmpdir, uint64_t max_bytes, bool prefix, int *ret,
				    char **damage)
{
	if (!tmpdir)
		tmpdir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	int out = temp_file(tmpdir);
	if (out < 0)
		return ad_error_os(errno, "cannot make a temporary file in %s to decompress the "
				   "core %s into", tmpdir, name);
	char *ibuf = malloc(CHUNK), *obuf = malloc(CHUNK);
	struct sink s = { out, 0, max_bytes, prefix, name };
	struct ad_error *err = NULL;
	*damage = NULL;
	if (!ibuf || !obuf)
		err = &ad_error_nomem;
	else if (lseek(in, 0, SEEK_SET) < 0)
		err = ad_error_os(errno, "cannot rewind the core %s", name);
	else if (kind == AD_CORE_ZSTD)
		err = unzstd(in, &s, ibuf, obuf, damage);
	else if (kind == AD_CORE_XZ)
		err = unxz(in, &s, ibuf, obuf, damage);
	else if (kind == AD_CORE_LZ4)
		err = unlz4(in, &s, ibuf, obuf, damage);
	free(ibuf);
	free(obuf);
	if (err == &prefix_full)
		err = NULL;
	if (err) {
		free(*damage);
		*damage = NULL;
		close(out);
		return err;
	}
	*ret = out;
	return NULL;
}
