// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for fs/options.c: the command lines podman/buildah,
 * containerd's mount.fuse3 helper and scripts really pass, every error case,
 * and hostile input (huge strings, many layers, control characters).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "options.h"

static int parse_v(struct lfs_opts *o, char **err, const char **args)
{
	int argc = 0;

	while (args[argc])
		argc++;
	return lfs_opts_parse(argc, (char **)args, o, err);
}

#define PARSE(o, err, ...) \
	parse_v(o, err, (const char *[]){ "layerfs", __VA_ARGS__, NULL })

/* Parse must succeed; err must stay NULL. */
#define PARSE_OK(o, ...)                                             \
	do {                                                         \
		char *err_ = NULL;                                   \
		int r_ = PARSE(o, &err_, __VA_ARGS__);               \
		if (r_ != 0)                                         \
			print_error("unexpected error: %s\n", err_); \
		assert_int_equal(r_, 0);                             \
		assert_null(err_);                                   \
	} while (0)

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i])
			return false;
	return true;
}

/* Parse must fail with -EINVAL, a message containing want, and leave o
 * zeroed so that lfs_opts_free is a no-op. */
static void expect_error_v(const char *want, const char **args)
{
	struct lfs_opts o;
	char *err = NULL;

	assert_int_equal(parse_v(&o, &err, args), -EINVAL);
	assert_non_null(err);
	if (!strstr(err, want))
		print_error("message '%s' lacks '%s'\n", err, want);
	assert_non_null(strstr(err, want));
	assert_null(strchr(err, '\n'));
	assert_true(all_zero(&o, sizeof(o)));
	lfs_opts_free(&o);
	free(err);
}

#define EXPECT_ERROR(want, ...) \
	expect_error_v(want, (const char *[]){ "layerfs", __VA_ARGS__, NULL })

#define LUW "lowerdir=/l,upperdir=/u,workdir=/w"

static void test_fuse_overlayfs_form(void **state)
{
	struct lfs_opts o;

	PARSE_OK(&o, "-o", "lowerdir=/a:/b:/c,upperdir=/u,workdir=/w", "/mnt");
	assert_int_equal(o.nlower, 3);
	assert_string_equal(o.lowerdirs[0], "/a");
	assert_string_equal(o.lowerdirs[1], "/b");
	assert_string_equal(o.lowerdirs[2], "/c");
	assert_string_equal(o.upperdir, "/u");
	assert_string_equal(o.workdir, "/w");
	assert_string_equal(o.mountpoint, "/mnt");
	assert_null(o.source);
	/* defaults */
	assert_false(o.foreground);
	assert_false(o.debug);
	assert_false(o.single_thread);
	assert_false(o.ro);
	assert_int_equal(o.whiteout, LFS_WH_WRITE_OCI);
	assert_true(o.fsync);
	assert_false(o.volatile_mode);
	assert_int_equal(o.squash_uid, -1);
	assert_int_equal(o.squash_gid, -1);
	assert_true(o.timeout == -1);
	assert_int_equal(o.threads, 0);
	assert_int_equal(o.xattr_permissions, 0);
	assert_int_equal(o.nuidmap, 0);
	assert_null(o.uidmap);
	assert_null(o.context);
	assert_int_equal(o.nwarnings, 0);
	lfs_opts_free(&o);
	assert_true(all_zero(&o, sizeof(o)));
}

static void test_podman(void **state)
{
	struct lfs_opts o;

	PARSE_OK(&o, "-o",
		 "lowerdir=/a:/b,upperdir=/u,workdir=/w,context=\"x,y\",volatile,",
		 "/mnt");
	assert_int_equal(o.nlower, 2);
	assert_string_equal(o.context, "x,y");
	assert_true(o.volatile_mode);
	assert_false(o.fsync);
	lfs_opts_free(&o);

	/* containers/storage 1.4x with mount_program, rootless */
	PARSE_OK(&o, "-o",
		 "lowerdir=/s/l/AB:/s/l/CD,upperdir=/s/x/diff,workdir=/s/x/work,"
		 "context=\"system_u:object_r:container_file_t:s0:c1,c2\","
		 "fsync=0,uidmapping=0:1000:1:1:100000:65536,"
		 "gidmapping=0:1000:1:1:100000:65536,squash_to_uid=0,"
		 "squash_to_gid=0,xattr_permissions=2,nodev",
		 "/s/x/merged");
	assert_string_equal(o.context,
			    "system_u:object_r:container_file_t:s0:c1,c2");
	assert_false(o.fsync);
	assert_false(o.volatile_mode);
	assert_int_equal(o.nuidmap, 2);
	assert_int_equal(o.uidmap[1].ctr, 1);
	assert_int_equal(o.uidmap[1].host, 100000);
	assert_int_equal(o.uidmap[1].count, 65536);
	assert_int_equal(o.ngidmap, 2);
	assert_int_equal(o.gidmap[0].host, 1000);
	assert_int_equal(o.squash_uid, 0);
	assert_int_equal(o.squash_gid, 0);
	assert_int_equal(o.xattr_permissions, 2);
	assert_true(o.nodev);
	assert_string_equal(o.mountpoint, "/s/x/merged");
	lfs_opts_free(&o);
}

static void test_mount_fuse3(void **state)
{
	struct lfs_opts o;

	PARSE_OK(&o, "overlay", "/mnt", "-o",
		 "rw,dev,suid,lowerdir=/l,upperdir=/u,workdir=/w");
	assert_string_equal(o.source, "overlay");
	assert_string_equal(o.mountpoint, "/mnt");
	assert_false(o.ro);
	assert_false(o.nodev);
	assert_false(o.nosuid);
	assert_int_equal(o.nwarnings, 0);
	lfs_opts_free(&o);

	PARSE_OK(&o, "none", "/mnt", "-o",
		 "ro,nodev,nosuid,noexec,noatime,allow_other,allow_root,"
		 "default_permissions," LUW);
	assert_true(o.ro);
	assert_true(o.nodev && o.nosuid && o.noexec && o.noatime);
	assert_true(o.allow_other && o.allow_root && o.default_permissions);
	lfs_opts_free(&o);

	/* last one wins */
	PARSE_OK(&o, "-o",
		 "nodev,dev,nosuid,suid,noexec,exec,noatime,atime,"
		 "ro,rw," LUW,
		 "/mnt");
	assert_false(o.nodev || o.nosuid || o.noexec || o.noatime || o.ro);
	lfs_opts_free(&o);
}

static void test_argv_forms(void **state)
{
	struct lfs_opts o;

	/* options after the mountpoint, several -o, attached -o */
	PARSE_OK(&o, "/mnt", "-o", "lowerdir=/l", "-oupperdir=/u", "-o",
		 "workdir=/w", "-f");
	assert_string_equal(o.lowerdirs[0], "/l");
	assert_string_equal(o.upperdir, "/u");
	assert_string_equal(o.workdir, "/w");
	assert_true(o.foreground);
	assert_false(o.debug);
	lfs_opts_free(&o);

	PARSE_OK(&o, "-d", "-s", "-o", "lowerdir=/l", "/mnt");
	assert_true(o.debug && o.foreground && o.single_thread);
	assert_true(o.ro);
	lfs_opts_free(&o);

	PARSE_OK(&o, "--debug", "-o", "lowerdir=/l", "/mnt");
	assert_true(o.debug && o.foreground);
	lfs_opts_free(&o);

	PARSE_OK(&o, "-o", "debug,lowerdir=/l", "/mnt");
	assert_true(o.debug && o.foreground);
	lfs_opts_free(&o);

	/* "--" ends options: a mountpoint may start with '-' */
	PARSE_OK(&o, "-o", "lowerdir=/l", "--", "-weird");
	assert_string_equal(o.mountpoint, "-weird");
	lfs_opts_free(&o);

	PARSE_OK(&o, "-o", "lowerdir=/l", "--", "src", "-o");
	assert_string_equal(o.source, "src");
	assert_string_equal(o.mountpoint, "-o");
	lfs_opts_free(&o);
}

static void test_version_help(void **state)
{
	struct lfs_opts o;

	PARSE_OK(&o, "--version");
	assert_true(o.show_version);
	assert_null(o.mountpoint);
	lfs_opts_free(&o);

	PARSE_OK(&o, "-V");
	assert_true(o.show_version);
	lfs_opts_free(&o);

	PARSE_OK(&o, "--help");
	assert_true(o.show_help);
	lfs_opts_free(&o);

	PARSE_OK(&o, "-h", "-o", "lowerdir=/l");
	assert_true(o.show_help);
	lfs_opts_free(&o);

	/* garbage is still garbage */
	EXPECT_ERROR("unknown mount option 'bogus'", "--version", "-o",
		     "bogus");

	assert_non_null(strstr(lfs_opts_usage(), "lowerdir="));
	assert_non_null(strstr(lfs_opts_usage(), "--version"));
}

static void test_escapes_and_quotes(void **state)
{
	struct lfs_opts o;

	PARSE_OK(&o, "-o",
		 "lowerdir=/a\\:b:/c\\\\:/d\\,e:/f\\x,"
		 "upperdir=/u\\,v\\\\w,workdir=\"/w,x\"",
		 "/mnt");
	assert_int_equal(o.nlower, 4);
	assert_string_equal(o.lowerdirs[0], "/a:b");
	assert_string_equal(o.lowerdirs[1], "/c\\");
	assert_string_equal(o.lowerdirs[2], "/d,e");
	assert_string_equal(o.lowerdirs[3], "/f\\x"); /* kept literally */
	assert_string_equal(o.upperdir, "/u,v\\w");
	assert_string_equal(o.workdir, "/w,x");
	lfs_opts_free(&o);

	/* quoted lowerdir: commas protected, colons still separate */
	PARSE_OK(&o, "-o", "lowerdir=\"/a,1:/b\",context=\"a\\\"b,c\"", "/m");
	assert_int_equal(o.nlower, 2);
	assert_string_equal(o.lowerdirs[0], "/a,1");
	assert_string_equal(o.lowerdirs[1], "/b");
	assert_string_equal(o.context, "a\"b,c");
	lfs_opts_free(&o);

	/* "\\" before a separator comma ends the value */
	PARSE_OK(&o, "-o", "lowerdir=/l,upperdir=/u\\\\,workdir=/w", "/m");
	assert_string_equal(o.upperdir, "/u\\");
	lfs_opts_free(&o);
}

static void test_empty_items(void **state)
{
	struct lfs_opts o;

	PARSE_OK(&o, "-o", ",,lowerdir=/l,,upperdir=/u,,workdir=/w,", "-o", "",
		 "-o", ",", "/mnt");
	assert_int_equal(o.nlower, 1);
	assert_string_equal(o.workdir, "/w");
	assert_int_equal(o.nwarnings, 0);
	lfs_opts_free(&o);
}

static void test_values(void **state)
{
	struct lfs_opts o;

	PARSE_OK(&o, "-o",
		 "lowerdir=/l,whiteout=chardev,fsync=1,writeback=1,"
		 "timeout=2.5,threads=8,xattr_permissions=1",
		 "/mnt");
	assert_int_equal(o.whiteout, LFS_WH_WRITE_CHARDEV);
	assert_true(o.fsync);
	assert_true(o.writeback);
	assert_true(o.timeout == 2.5);
	assert_int_equal(o.threads, 8);
	assert_int_equal(o.xattr_permissions, 1);
	assert_true(o.ro);
	assert_null(o.upperdir);
	lfs_opts_free(&o);

	PARSE_OK(&o, "-o",
		 "lowerdir=/l,whiteout=oci,timeout=0,writeback=0,"
		 "squash_to_uid=4294967294",
		 "/mnt");
	assert_int_equal(o.whiteout, LFS_WH_WRITE_OCI);
	assert_true(o.timeout == 0);
	assert_false(o.writeback);
	assert_int_equal(o.squash_uid, 4294967294LL);
	lfs_opts_free(&o);

	/* a later lowerdir= replaces, lowerdir+= appends below */
	PARSE_OK(&o, "-o", "lowerdir=/x:/y,lowerdir=/a,lowerdir+=/b:c", "-o",
		 "lowerdir+=/d", "/mnt");
	assert_int_equal(o.nlower, 3);
	assert_string_equal(o.lowerdirs[0], "/a");
	assert_string_equal(o.lowerdirs[1], "/b:c");
	assert_string_equal(o.lowerdirs[2], "/d");
	lfs_opts_free(&o);
}

static void test_squash(void **state)
{
	struct lfs_opts o;

	PARSE_OK(&o, "-o", "lowerdir=/l,squash_to_root", "/mnt");
	assert_int_equal(o.squash_uid, 0);
	assert_int_equal(o.squash_gid, 0);
	lfs_opts_free(&o);

	/* squash_to_uid/gid win over squash_to_root in either order */
	PARSE_OK(&o, "-o", "lowerdir=/l,squash_to_uid=5,squash_to_root", "/m");
	assert_int_equal(o.squash_uid, 5);
	assert_int_equal(o.squash_gid, 0);
	lfs_opts_free(&o);
	PARSE_OK(&o, "-o", "lowerdir=/l,squash_to_root,squash_to_gid=7", "/m");
	assert_int_equal(o.squash_uid, 0);
	assert_int_equal(o.squash_gid, 7);
	lfs_opts_free(&o);
}

static void test_option_errors(void **state)
{
	EXPECT_ERROR("unknown mount option 'frobnicate'", "-o",
		     LUW ",frobnicate", "/m");
	EXPECT_ERROR("unknown mount option 'frobnicate'", "-o",
		     "frobnicate=1," LUW, "/m");
	EXPECT_ERROR("invalid value 'x' for option 'fsync'", "-o",
		     LUW ",fsync=x", "/m");
	EXPECT_ERROR("invalid value '2' for option 'fsync'", "-o",
		     LUW ",fsync=2", "/m");
	EXPECT_ERROR("option 'fsync' requires a value", "-o", LUW ",fsync",
		     "/m");
	EXPECT_ERROR("invalid value 'foo' for option 'whiteout'", "-o",
		     LUW ",whiteout=foo", "/m");
	EXPECT_ERROR("invalid value '-1' for option 'squash_to_uid'", "-o",
		     LUW ",squash_to_uid=-1", "/m");
	EXPECT_ERROR("invalid value '4294967295' for option 'squash_to_gid'",
		     "-o", LUW ",squash_to_gid=4294967295", "/m");
	EXPECT_ERROR("invalid value ' 1' for option 'squash_to_uid'", "-o",
		     LUW ",squash_to_uid= 1", "/m");
	EXPECT_ERROR("invalid value '3' for option 'xattr_permissions'", "-o",
		     LUW ",xattr_permissions=3", "/m");
	EXPECT_ERROR("invalid value '-1' for option 'timeout'", "-o",
		     LUW ",timeout=-1", "/m");
	EXPECT_ERROR("invalid value 'inf' for option 'timeout'", "-o",
		     LUW ",timeout=inf", "/m");
	EXPECT_ERROR("invalid value '1x' for option 'threads'", "-o",
		     LUW ",threads=1x", "/m");
	EXPECT_ERROR("invalid value '2' for option 'writeback'", "-o",
		     LUW ",writeback=2", "/m");
	EXPECT_ERROR("invalid value '1' for option 'volatile'", "-o",
		     LUW ",volatile=1", "/m");
	EXPECT_ERROR("invalid value '' for option 'context'", "-o",
		     LUW ",context=\"\"", "/m");
	EXPECT_ERROR("option 'context'", "-o", LUW ",context=\"a\nb\"", "/m");
	EXPECT_ERROR("invalid value '' for option 'upperdir'", "-o",
		     "lowerdir=/l,upperdir=,workdir=/w", "/m");
	EXPECT_ERROR("unterminated quote in option 'context'", "-o",
		     LUW ",context=\"a,b", "/m");
}

static void test_layer_errors(void **state)
{
	EXPECT_ERROR("missing option 'lowerdir'", "-o",
		     "upperdir=/u,workdir=/w", "/m");
	EXPECT_ERROR("missing option 'lowerdir'", "/m");
	EXPECT_ERROR("option 'lowerdir' requires a value", "-o", "lowerdir",
		     "/m");
	EXPECT_ERROR("for option 'lowerdir': empty layer path", "-o",
		     "lowerdir=", "/m");
	EXPECT_ERROR("invalid value '/a::/b' for option 'lowerdir'", "-o",
		     "lowerdir=/a::/b", "/m");
	EXPECT_ERROR("option 'lowerdir'", "-o", "lowerdir=/a:", "/m");
	EXPECT_ERROR("option 'lowerdir'", "-o", "lowerdir=:/a", "/m");
	EXPECT_ERROR("option 'lowerdir+'", "-o", "lowerdir+=", "/m");
	EXPECT_ERROR("option 'upperdir' requires 'workdir'", "-o",
		     "lowerdir=/l,upperdir=/u", "/m");
	EXPECT_ERROR("option 'workdir' requires 'upperdir'", "-o",
		     "lowerdir=/l,workdir=/w", "/m");
}

static void test_argv_errors(void **state)
{
	EXPECT_ERROR("missing mountpoint", "-o", LUW);
	EXPECT_ERROR("missing mountpoint", "-f");
	EXPECT_ERROR("invalid mountpoint ''", "-o", LUW, "");
	EXPECT_ERROR("unexpected argument 'c'", "-o", LUW, "a", "b", "c");
	EXPECT_ERROR("unknown argument '-x'", "-o", LUW, "-x", "/m");
	EXPECT_ERROR("unknown argument '--frob'", "--frob", "-o", LUW, "/m");
	EXPECT_ERROR("unknown argument '-fd'", "-fd", "-o", LUW, "/m");
	EXPECT_ERROR("unknown argument '-'", "-", "-o", LUW, "/m");
	EXPECT_ERROR("option '-o' requires an argument", "/m", "-o");

	/* no argv at all */
	struct lfs_opts o;
	char *err = NULL;

	assert_int_equal(lfs_opts_parse(0, NULL, &o, &err), -EINVAL);
	assert_string_equal(err, "missing mountpoint");
	free(err);
}

static void test_idmap(void **state)
{
	struct lfs_idmap *m = NULL;
	size_t n = 0;
	char *err = NULL;

	assert_int_equal(lfs_opts_parse_idmap("0:1000:1:1:100000:65536", &m, &n,
					      &err),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(m[0].ctr, 0);
	assert_int_equal(m[0].host, 1000);
	assert_int_equal(m[0].count, 1);
	assert_int_equal(m[1].count, 65536);
	free(m);

	assert_int_equal(lfs_opts_parse_idmap("0:1000:1,1:100000:65536", &m, &n,
					      &err),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(m[1].host, 100000);
	free(m);

	assert_int_equal(lfs_opts_parse_idmap("4294967293:4294967294:1", &m, &n,
					      &err),
			 0);
	assert_int_equal(m[0].host, UINT32_MAX - 1);
	free(m);

	static const char *const bad[] = {
		"",
		"1:2",
		"1:2:3:4",
		"1:2:3:",
		":1:2",
		"1,2,3",
		"1:2,3",
		"a:b:c",
		"-1:0:1",
		"+1:0:1",
		"0:0:0",
		"0:4294967296:1",
		"1:0:4294967295",
		"0:4294967295:1",
		"4294967295:0:1",
		"0:1:4294967295",
		"0x10:0:1",
		" 1:2:3",
		"1:2:3\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = NULL;
		err = NULL;
		assert_int_equal(lfs_opts_parse_idmap(bad[i], &m, &n, &err),
				 -EINVAL);
		assert_null(m);
		assert_non_null(strstr(err, "invalid id mapping"));
		assert_null(strchr(err, '\n'));
		free(err);
	}
}

static void test_idmap_options(void **state)
{
	struct lfs_opts o;

	/* the fuse-overlayfs manual's comma form: bare triples continue */
	PARSE_OK(&o, "-o",
		 "lowerdir=/l,uidmapping=0:10:100,100:10000:2000,"
		 "gidmapping=0:10:1,1:20:30,40:50:60,noatime",
		 "/m");
	assert_int_equal(o.nuidmap, 2);
	assert_int_equal(o.uidmap[1].ctr, 100);
	assert_int_equal(o.uidmap[1].count, 2000);
	assert_int_equal(o.ngidmap, 3);
	assert_int_equal(o.gidmap[2].host, 50);
	lfs_opts_free(&o);

	/* a later uidmapping= replaces */
	PARSE_OK(&o, "-o", "lowerdir=/l,uidmapping=0:1:1,uidmapping=5:6:7",
		 "/m");
	assert_int_equal(o.nuidmap, 1);
	assert_int_equal(o.uidmap[0].ctr, 5);
	lfs_opts_free(&o);

	EXPECT_ERROR("invalid value '1:2' for option 'uidmapping'", "-o",
		     LUW ",uidmapping=1:2", "/m");
	EXPECT_ERROR("for option 'gidmapping': count must be positive", "-o",
		     LUW ",gidmapping=0:0:0", "/m");
	EXPECT_ERROR("option 'gidmapping'", "-o", LUW ",gidmapping=0:0:1,5:6",
		     "/m");
	EXPECT_ERROR("option 'uidmapping' requires a value", "-o",
		     LUW ",uidmapping", "/m");
	/* bare triples only continue a mapping */
	EXPECT_ERROR("unknown mount option '1:2:3'", "-o", LUW ",1:2:3", "/m");
	EXPECT_ERROR("unknown mount option '1:2:3'", "-o",
		     LUW ",uidmapping=0:0:1,ro,1:2:3", "/m");
}

static void test_warnings(void **state)
{
	struct lfs_opts o;

	PARSE_OK(&o, "-o",
		 "redirect_dir=off,index=off,metacopy=on,userxattr,"
		 "xino=auto," LUW ",defaults,_netdev,x-systemd.automount,"
		 "plugins=/p,fast_ino=1,static_nlink,noxattrs=1,threaded=1,"
		 "relatime,rootmode=40000,user_id=0,group_id=0,fsname=foo,"
		 "subtype=layerfs,kernel_cache,comment=x,nofail",
		 "/m");
	assert_int_equal(o.nwarnings, 22);
	assert_string_equal(o.warnings[0],
			    "ignoring option 'redirect_dir=off'");
	assert_string_equal(o.warnings[3], "ignoring option 'userxattr'");
	assert_string_equal(o.warnings[7],
			    "ignoring option 'x-systemd.automount'");
	assert_string_equal(o.warnings[21], "ignoring option 'nofail'");
	/* the known options still took effect */
	assert_string_equal(o.upperdir, "/u");
	lfs_opts_free(&o);

	/* control characters never reach a warning */
	PARSE_OK(&o, "-o", LUW ",comment=a\nfake: line\x1b[0m", "/m");
	assert_int_equal(o.nwarnings, 1);
	assert_string_equal(o.warnings[0],
			    "ignoring option 'comment=a?fake: line?[0m'");
	lfs_opts_free(&o);
}

static void test_many_warnings(void **state)
{
	struct lfs_opts o;
	size_t len = 200 * 8 + sizeof(LUW);
	char *s = malloc(len), *p = s;

	assert_non_null(s);
	for (int i = 0; i < 200; i++)
		p += sprintf(p, "x-%03d,", i);
	strcpy(p, LUW);
	PARSE_OK(&o, "-o", s, "/m");
	assert_int_equal(o.nwarnings, 65);
	assert_string_equal(o.warnings[0], "ignoring option 'x-000'");
	assert_string_equal(o.warnings[63], "ignoring option 'x-063'");
	assert_string_equal(o.warnings[64], "ignoring 136 more options");
	lfs_opts_free(&o);
	free(s);
}

static void test_500_lowers(void **state)
{
	struct lfs_opts o;
	char *s = malloc(16 + 500 * 24), *p = s;

	assert_non_null(s);
	p += sprintf(p, "lowerdir=");
	for (int i = 0; i < 500; i++)
		p += sprintf(p, "%s/l/%d\\:x", i ? ":" : "", i);
	PARSE_OK(&o, "-o", s, "/m");
	assert_int_equal(o.nlower, 500);
	assert_string_equal(o.lowerdirs[0], "/l/0:x");
	assert_string_equal(o.lowerdirs[499], "/l/499:x");
	assert_true(o.ro);
	lfs_opts_free(&o);

	/* the same through lowerdir+= */
	p = s;
	for (int i = 0; i < 500; i++)
		p += sprintf(p, "%slowerdir+=/l/%d", i ? "," : "", i);
	PARSE_OK(&o, "-o", s, "/m");
	assert_int_equal(o.nlower, 500);
	assert_string_equal(o.lowerdirs[499], "/l/499");
	lfs_opts_free(&o);
	free(s);
}

#define MIB (1024 * 1024)

static char *filled(const char *prefix, const char *unit, const char *suffix)
{
	size_t ul = strlen(unit);
	char *s = malloc(MIB + 64), *p = s;

	assert_non_null(s);
	p = stpcpy(p, prefix);
	while ((size_t)(p - s) + ul < MIB)
		p = stpcpy(p, unit);
	strcpy(p, suffix);
	return s;
}

static void test_huge_strings(void **state)
{
	clock_t start = clock();
	struct lfs_opts o;
	char *err = NULL, *s;

	/* one 1 MiB path */
	s = filled("lowerdir=/", "a", "");
	PARSE_OK(&o, "-o", s, "/m");
	assert_int_equal(strlen(o.lowerdirs[0]), strlen(s) - 9);
	lfs_opts_free(&o);
	free(s);

	/* ~350k layers in one value */
	s = filled("lowerdir=/x", ":/a", "");
	PARSE_OK(&o, "-o", s, "/m");
	assert_true(o.nlower > 300000);
	lfs_opts_free(&o);
	free(s);

	/* ~1M empty items */
	s = filled(LUW, ",", "");
	PARSE_OK(&o, "-o", s, "/m");
	lfs_opts_free(&o);
	free(s);

	/* ~100k id mapping triples */
	s = filled("lowerdir=/l,uidmapping=0:0:1", ",1:2:3", "");
	PARSE_OK(&o, "-o", s, "/m");
	assert_true(o.nuidmap > 100000);
	lfs_opts_free(&o);
	free(s);

	/* ~200k ignored options */
	s = filled(LUW, ",x-a", "");
	PARSE_OK(&o, "-o", s, "/m");
	assert_int_equal(o.nwarnings, 65);
	lfs_opts_free(&o);
	free(s);

	/* a 1 MiB unknown key: bounded message */
	s = filled("", "z", "=1");
	assert_int_equal(PARSE(&o, &err, "-o", s, "/m"), -EINVAL);
	assert_true(strlen(err) < 400);
	assert_non_null(strstr(err, "unknown mount option 'zzz"));
	free(err);
	free(s);

	/* a 1 MiB bad value */
	s = filled(LUW ",fsync=", "9", "");
	assert_int_equal(PARSE(&o, &err, "-o", s, "/m"), -EINVAL);
	assert_true(strlen(err) < 400);
	assert_non_null(strstr(err, "for option 'fsync'"));
	free(err);
	free(s);

	/* a 1 MiB unterminated quote */
	s = filled(LUW ",context=\"", "q", "");
	assert_int_equal(PARSE(&o, &err, "-o", s, "/m"), -EINVAL);
	assert_string_equal(err, "unterminated quote in option 'context'");
	free(err);
	free(s);

	/* linear: all of the above in well under the test timeout */
	assert_true((clock() - start) / CLOCKS_PER_SEC < 20);
}

static void test_hostile_values(void **state)
{
	struct lfs_opts o;
	char *err = NULL;

	/* newlines are legal in paths: kept, never interpreted */
	PARSE_OK(&o, "-o",
		 "lowerdir=/a\nupperdir=/evil,upperdir=/u\n,"
		 "workdir=/w",
		 "/m\nx");
	assert_string_equal(o.lowerdirs[0], "/a\nupperdir=/evil");
	assert_string_equal(o.upperdir, "/u\n");
	assert_string_equal(o.mountpoint, "/m\nx");
	lfs_opts_free(&o);

	/* errors never carry control characters */
	assert_int_equal(PARSE(&o, &err, "-o", LUW ",evil\n\rlayerfs: ok=1",
			       "/m"),
			 -EINVAL);
	assert_string_equal(err, "unknown mount option 'evil??layerfs: ok'");
	free(err);

	/* a NULL ret_err is allowed */
	assert_int_equal(PARSE(&o, NULL, "-o", "bogus", "/m"), -EINVAL);
	assert_true(all_zero(&o, sizeof(o)));
}

static void test_split_lowerdir(void **state)
{
	char **dirs = NULL, *err = NULL;
	size_t n = 0;

	assert_int_equal(lfs_opts_split_lowerdir("/a:/b\\:c:/d\\\\", &dirs, &n,
						 &err),
			 0);
	assert_int_equal(n, 3);
	assert_string_equal(dirs[0], "/a");
	assert_string_equal(dirs[1], "/b:c");
	assert_string_equal(dirs[2], "/d\\");
	for (size_t i = 0; i < n; i++)
		free(dirs[i]);
	free(dirs);

	/* a trailing lone backslash stays */
	assert_int_equal(lfs_opts_split_lowerdir("/a\\", &dirs, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(dirs[0], "/a\\");
	free(dirs[0]);
	free(dirs);

	static const char *const bad[] = { "", ":", "/a:", ":/a", "/a::/b" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dirs = NULL;
		assert_int_equal(lfs_opts_split_lowerdir(bad[i], &dirs, &n,
							 &err),
				 -EINVAL);
		assert_null(dirs);
		assert_non_null(strstr(err, "empty layer path"));
		free(err);
	}
}

static void test_opts_free(void **state)
{
	struct lfs_opts o;

	memset(&o, 0, sizeof(o));
	lfs_opts_free(&o);
	lfs_opts_free(NULL);

	PARSE_OK(&o, "-o", LUW ",userxattr,uidmapping=0:1:1,context=x", "/m");
	lfs_opts_free(&o);
	lfs_opts_free(&o); /* zeroed by the first call */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuse_overlayfs_form),
		cmocka_unit_test(test_podman),
		cmocka_unit_test(test_mount_fuse3),
		cmocka_unit_test(test_argv_forms),
		cmocka_unit_test(test_version_help),
		cmocka_unit_test(test_escapes_and_quotes),
		cmocka_unit_test(test_empty_items),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_squash),
		cmocka_unit_test(test_option_errors),
		cmocka_unit_test(test_layer_errors),
		cmocka_unit_test(test_argv_errors),
		cmocka_unit_test(test_idmap),
		cmocka_unit_test(test_idmap_options),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_many_warnings),
		cmocka_unit_test(test_500_lowers),
		cmocka_unit_test(test_huge_strings),
		cmocka_unit_test(test_hostile_values),
		cmocka_unit_test(test_split_lowerdir),
		cmocka_unit_test(test_opts_free),
	};
	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
