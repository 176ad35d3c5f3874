/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What every layerfs fuzz harness defines. Each fuzz_NAME.c is linked two
 * ways: with libFuzzer (clang -fsanitize=fuzzer, the meson option fuzz)
 * to search, and with replay.c (any compiler, always built) so that the
 * unit suite replays the checked-in corpus tests/fuzz/corpus/NAME/.
 *
 * A harness checks properties, not only "no crash": a broken one calls
 * FUZZ_CHECK, which prints the failed condition and aborts, so libFuzzer
 * saves the input and replay.c fails the test.
 */
#ifndef LFS_FUZZ_H
#define LFS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "%s:%d: property failed: %s\n", \
				__FILE__, __LINE__, #cond);             \
			abort();                                        \
		}                                                       \
	} while (0)

#endif
