// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz harness: the whiteout rules (common/whiteout.c) and the path
 * sanitizer of the tar applier (ls_untar_clean_path), by their properties:
 *
 *  - a name is reserved exactly when it is not PLAIN; a whiteout's target
 *    is the rest of the name, never empty, never itself reserved, and
 *    cu_wh_name_of(target) gives back the name: the round trip holds;
 *  - the opaque marker is OPAQUE, never the whiteout of a file;
 *  - for a plain name, cu_wh_name_of() is a WHITEOUT of exactly that name
 *    (or -ENAMETOOLONG when it cannot fit NAME_MAX);
 *  - on disk (a tmpfs scratch dir): make, lookup says HIDDEN; remove,
 *    lookup says ABSENT; an entry wins over its whiteout;
 *  - a cleaned path is NULL exactly for absolute names and ".."
 *    components; otherwise it has no empty, "." or ".." component, does
 *    not start or end with '/', and cleaning it again changes nothing.
 *
 * Input: the bytes up to the first NUL are a name or a path.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "fuzz.h"
#include "untar.h"
#include "whiteout.h"

static char scratch[PATH_MAX];
static int dirfd_ = -1;

static void cleanup(void)
{
	if (dirfd_ >= 0)
		close(dirfd_);
	if (scratch[0])
		cu_rm_rf_at(AT_FDCWD, scratch);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = getenv("LAYERFS_FUZZ_TMP");

	if (!base)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(scratch, sizeof(scratch), "%s/lfs-fuzz-wh-XXXXXX", base);
	if (!mkdtemp(scratch)) {
		perror("fuzz_whiteout: mkdtemp");
		exit(1);
	}
	dirfd_ = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd_ < 0) {
		perror("fuzz_whiteout: open");
		exit(1);
	}
	atexit(cleanup);
	return 0;
}

static void check_classify(const char *name)
{
	const char *target = NULL;
	enum cu_wh_name k = cu_wh_classify(name, &target);
	char buf[NAME_MAX + 1];

	FUZZ_CHECK(cu_wh_name_reserved(name) == (k != CU_WH_NAME_PLAIN));
	FUZZ_CHECK(cu_wh_entry_hidden(name, NULL) == (k != CU_WH_NAME_PLAIN));
	FUZZ_CHECK((k == CU_WH_NAME_OPAQUE) == !strcmp(name, CU_WH_OPAQUE));
	if (k != CU_WH_NAME_WHITEOUT)
		return;
	FUZZ_CHECK(target == name + CU_WH_PREFIX_LEN);
	FUZZ_CHECK(*target != '\0');
	FUZZ_CHECK(!cu_wh_name_reserved(target));
	if (strlen(name) <= NAME_MAX) {
		FUZZ_CHECK(cu_wh_name_of(target, buf, sizeof(buf)) == 0);
		FUZZ_CHECK(!strcmp(buf, name));
	}
}

static void check_name_of(const char *name)
{
	char buf[NAME_MAX + 1];
	const char *target = NULL;
	int r = cu_wh_name_of(name, buf, sizeof(buf));

	if (strlen(name) + CU_WH_PREFIX_LEN > NAME_MAX) {
		FUZZ_CHECK(r == -ENAMETOOLONG);
		return;
	}
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(cu_wh_name_reserved(buf));
	if (!*name || cu_wh_name_reserved(name))
		return;
	FUZZ_CHECK(cu_wh_classify(buf, &target) == CU_WH_NAME_WHITEOUT);
	FUZZ_CHECK(!strcmp(target, name));
}

/* Can name be a directory entry of its own? */
static bool valid_entry_name(const char *name)
{
	return *name && strlen(name) <= NAME_MAX && !strchr(name, '/') &&
	       strcmp(name, ".") && strcmp(name, "..");
}

static void check_on_disk(const char *name)
{
	struct stat st;
	int r;

	if (!valid_entry_name(name) || cu_wh_name_reserved(name))
		return;
	FUZZ_CHECK(cu_wh_lookup(dirfd_, name, &st) == CU_WH_ABSENT);
	r = cu_wh_make(dirfd_, name, CU_WH_OCI);
	if (r == -EPERM) /* the char device form, without CAP_MKNOD */
		return;
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(cu_wh_lookup(dirfd_, name, &st) == CU_WH_HIDDEN);
	if (strlen(name) + CU_WH_PREFIX_LEN <= NAME_MAX) {
		FUZZ_CHECK(cu_wh_make(dirfd_, name, CU_WH_OCI) == 0); /* kept */
		/* within one layer an entry wins over its whiteout */
		int fd = openat(dirfd_, name, O_WRONLY | O_CREAT | O_CLOEXEC,
				0600);

		FUZZ_CHECK(fd >= 0);
		close(fd);
		FUZZ_CHECK(cu_wh_lookup(dirfd_, name, &st) == CU_WH_FOUND);
		FUZZ_CHECK(S_ISREG(st.st_mode));
		FUZZ_CHECK(unlinkat(dirfd_, name, 0) == 0);
	}
	FUZZ_CHECK(cu_wh_remove(dirfd_, name) == 0);
	FUZZ_CHECK(cu_wh_lookup(dirfd_, name, &st) == CU_WH_ABSENT);
	FUZZ_CHECK(cu_wh_dir_opaque(dirfd_) == 0);
}

/* Has p a component equal to c (components split on '/')? */
static bool has_component(const char *p, const char *c)
{
	size_t n = strlen(c);

	for (;;) {
		const char *e = strchrnul(p, '/');

		if ((size_t)(e - p) == n && !strncmp(p, c, n))
			return true;
		if (!*e)
			return false;
		p = e + 1;
	}
}

static void check_clean_path(const char *p)
{
	char *c = ls_untar_clean_path(p), *again;
	size_t n;

	if (p[0] == '/' || has_component(p, "..")) {
		FUZZ_CHECK(c == NULL);
		return;
	}
	FUZZ_CHECK(c != NULL);
	n = strlen(c);
	FUZZ_CHECK(n <= strlen(p));
	if (n) {
		FUZZ_CHECK(c[0] != '/' && c[n - 1] != '/');
		FUZZ_CHECK(!strstr(c, "//"));
		FUZZ_CHECK(!has_component(c, "."));
		FUZZ_CHECK(!has_component(c, ".."));
	}
	again = ls_untar_clean_path(c);
	FUZZ_CHECK(again && !strcmp(again, c));
	free(again);
	free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = strndup((const char *)data, size);

	if (!s)
		return 0;
	check_classify(s);
	check_name_of(s);
	check_on_disk(s);
	check_clean_path(s);
	FUZZ_CHECK(!cu_wh_xattr_private(s) || !strncmp(s, "user.", 5) ||
		   !strncmp(s, "trusted.", 8) || !strncmp(s, "security.", 9));
	free(s);
	return 0;
}
