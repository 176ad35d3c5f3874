// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz harness: the layer tar applier (layerstore/untar.c, ls_untar), on
 * a real directory (tmpfs /dev/shm when writable, else /tmp; or
 * $LAYERFS_FUZZ_TMP).
 *
 * Input: byte 0 chooses how, the rest is the archive.
 *   bits 0-1  0: plain; 1: we gzip it; 2: we zstd it; 3: as given (so a
 *             compressed stream itself can be fuzzed)
 *   bit 2     allow_devices        bit 3   record_owner (rootless form)
 *   bit 4     chown (root only; ignored otherwise)
 *
 * Layout of the scratch dir, made once:
 *   S/sentinel/keep    must never change: no entry may reach out of the
 *                      layer ("../sentinel/keep", symlinks, hardlinks)
 *   S/layer/           the target, made empty before every input
 * After every input: S holds exactly layer and sentinel, the sentinel is
 * unchanged, S/layer is the same directory; on success the blob digest is
 * the SHA-256 of the bytes fed and, when we compressed, the diffID is the
 * SHA-256 of the tar; on failure there is a message.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "fsutil.h"
#include "fuzz.h"
#include "untar.h"

#define KEEP_DATA "sentinel: no layer entry may write here\n"

static char scratch[PATH_MAX];
static int sfd = -1, memfd = -1;
static bool verbose; /* LAYERFS_FUZZ_VERBOSE=1: say what each input did */
static struct stat keep_st, sentinel_st;

static void cleanup(void)
{
	if (memfd >= 0)
		close(memfd);
	if (sfd >= 0)
		close(sfd);
	if (scratch[0])
		cu_rm_rf_at(AT_FDCWD, scratch);
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = getenv("LAYERFS_FUZZ_TMP");
	int fd;

	if (!base)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(scratch, sizeof(scratch), "%s/lfs-fuzz-untar-XXXXXX", base);
	if (!mkdtemp(scratch))
		die("fuzz_untar: mkdtemp");
	sfd = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0 || mkdirat(sfd, "sentinel", 0755) < 0)
		die("fuzz_untar: sentinel");
	atexit(cleanup);
	verbose = getenv("LAYERFS_FUZZ_VERBOSE") != NULL;
	fd = openat(sfd, "sentinel/keep", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, KEEP_DATA, strlen(KEEP_DATA)) < 0 ||
	    fstat(fd, &keep_st) < 0 || close(fd) < 0 ||
	    fstatat(sfd, "sentinel", &sentinel_st, 0) < 0)
		die("fuzz_untar: sentinel/keep");
	memfd = memfd_create("fuzz-untar", MFD_CLOEXEC);
	if (memfd < 0)
		die("fuzz_untar: memfd_create");
	return 0;
}

/* Directories the layer may have left unwritable: open them for rm. */
static void make_removable(int dirfd)
{
	DIR *d;
	struct dirent *de;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fchmod(fd, 0700) < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		int sub;

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") ||
		    !strcmp(de->d_name, ".."))
			continue;
		sub = openat(fd, de->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 && fchmodat(fd, de->d_name, 0700, 0) == 0)
			sub = openat(fd, de->d_name,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					     O_CLOEXEC);
		if (sub >= 0) {
			make_removable(sub);
			close(sub);
		}
	}
	closedir(d);
}

static void check_sentinel(void)
{
	struct stat st;
	char buf[128];
	ssize_t n;
	DIR *d;
	struct dirent *de;
	int fd, count = 0;

	FUZZ_CHECK(fstatat(sfd, "sentinel", &st, AT_SYMLINK_NOFOLLOW) == 0);
	FUZZ_CHECK(S_ISDIR(st.st_mode) && st.st_ino == sentinel_st.st_ino);
	FUZZ_CHECK(st.st_mode == sentinel_st.st_mode);
	FUZZ_CHECK(st.st_nlink == 2);
	fd = openat(sfd, "sentinel/keep", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(fstat(fd, &st) == 0);
	FUZZ_CHECK(st.st_ino == keep_st.st_ino && st.st_nlink == 1);
	FUZZ_CHECK(st.st_mode == keep_st.st_mode &&
		   st.st_uid == keep_st.st_uid && st.st_gid == keep_st.st_gid);
	FUZZ_CHECK(st.st_mtim.tv_sec == keep_st.st_mtim.tv_sec &&
		   st.st_mtim.tv_nsec == keep_st.st_mtim.tv_nsec);
	n = read(fd, buf, sizeof(buf));
	FUZZ_CHECK(n == (ssize_t)strlen(KEEP_DATA) &&
		   !memcmp(buf, KEEP_DATA, n));
	close(fd);
	/* nothing new beside the layer and in the sentinel */
	fd = openat(sfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FUZZ_CHECK(fd >= 0 && (d = fdopendir(fd)));
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			FUZZ_CHECK(!strcmp(de->d_name, "layer") ||
				   !strcmp(de->d_name, "sentinel"));
			count++;
		}
	closedir(d);
	FUZZ_CHECK(count == 2);
}

/* The tar (data, n) in the form byte 0 asks for, into the memfd. */
static int feed(unsigned how, const uint8_t *data, size_t n)
{
	void *out = NULL;
	size_t olen = n;
	int r = 0;

	if (how == 1) {
		uLongf zl = compressBound(n) + 32;
		z_stream z = { 0 };

		out = malloc(zl);
		if (!out || deflateInit2(&z, 1, Z_DEFLATED, 31, 8,
					 Z_DEFAULT_STRATEGY) != Z_OK)
			r = -1;
		z.next_in = (Bytef *)data;
		z.avail_in = n;
		z.next_out = out;
		z.avail_out = zl;
		if (r == 0 && deflate(&z, Z_FINISH) != Z_STREAM_END)
			r = -1;
		olen = z.total_out;
		deflateEnd(&z);
	} else if (how == 2) {
		size_t zl = ZSTD_compressBound(n);

		out = malloc(zl ? zl : 1);
		olen = out ? ZSTD_compress(out, zl, data, n, 1) : 0;
		if (!out || ZSTD_isError(olen))
			r = -1;
	}
	if (r == 0 && (ftruncate(memfd, 0) < 0 ||
		       cu_pwrite_all(memfd, out ? out : data, olen, 0) < 0 ||
		       lseek(memfd, 0, SEEK_SET) != 0))
		r = -1;
	free(out);
	return r;
}

static void check_digests(unsigned how, const uint8_t *tar, size_t n,
			  const struct ls_untar_result *res)
{
	char want[LS_DIGEST_STR_LEN + 1];
	struct ls_digester *d = ls_digester_new();
	char buf[65536];
	ssize_t got;

	/* the bytes fed, read back from the memfd */
	FUZZ_CHECK(d && lseek(memfd, 0, SEEK_SET) == 0);
	while ((got = read(memfd, buf, sizeof(buf))) > 0)
		ls_digester_update(d, buf, got);
	FUZZ_CHECK(got == 0 && ls_digester_final(d, want) == 0);
	ls_digester_free(d);
	FUZZ_CHECK(!strcmp(res->blob_digest, want));
	if (how != 1 && how != 2)
		return;
	d = ls_digester_new();
	FUZZ_CHECK(d);
	ls_digester_update(d, tar, n);
	FUZZ_CHECK(ls_digester_final(d, want) == 0);
	ls_digester_free(d);
	FUZZ_CHECK(!strcmp(res->diff_id, want));
	FUZZ_CHECK(res->tar_size == n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ls_untar_opts o = { .max_bytes = 32 << 20,
				   .max_entries = 100000 };
	struct ls_untar_result res;
	struct stat st, lst;
	char *err = NULL;
	unsigned how;
	int lfd, r;

	if (size < 1)
		return 0;
	how = data[0] & 3;
	o.allow_devices = data[0] & 4;
	o.record_owner = data[0] & 8;
	o.chown = (data[0] & 16) && geteuid() == 0;
	if (feed(how, data + 1, size - 1) < 0)
		return 0;
	FUZZ_CHECK(mkdirat(sfd, "layer", 0755) == 0);
	lfd = openat(sfd, "layer", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FUZZ_CHECK(lfd >= 0 && fstat(lfd, &lst) == 0);

	r = ls_untar(memfd, lfd, &o, &res, &err);
	if (verbose)
		fprintf(stderr, "fuzz_untar: form %u: %s (%llu entries)\n",
			data[0], r == 0 ? "applied" : err,
			(unsigned long long)res.entries);
	if (r == 0) {
		FUZZ_CHECK(err == NULL);
		check_digests(how, data + 1, size - 1, &res);
	} else {
		FUZZ_CHECK(err != NULL && *err);
		free(err);
	}
	close(lfd);
	FUZZ_CHECK(fstatat(sfd, "layer", &st, AT_SYMLINK_NOFOLLOW) == 0);
	FUZZ_CHECK(S_ISDIR(st.st_mode) && st.st_ino == lst.st_ino);
	check_sentinel();
	lfd = openat(sfd, "layer", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lfd >= 0) {
		make_removable(lfd);
		close(lfd);
	}
	FUZZ_CHECK(cu_rm_rf_at(sfd, "layer") == 0);
	return 0;
}
