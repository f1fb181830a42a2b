/* fuzz_corpus.c - libFuzzer target: corpus files (train.h). The bytes are written to one
 * memfd per process, read back through /proc/self/fd/N. Checks: accepted lines have text,
 * a known label and ascending line numbers within the file; a refusal frees everything and
 * says "path:LINE:COL: ..." with LINE within the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "train.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct labelled *v = NULL;
	struct ack_err err;
	size_t n = 0, lines = 1;
	int rc;

	if (fd < 0) {
		if ((fd = memfd_create("ackbot-fuzz-corpus", MFD_CLOEXEC)) < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';

	memset(&err, 0, sizeof(err));
	rc = corpus_read(path, &v, &n, &err);
	if (rc == 0) {
		int last = 0;
		if (n > 0 && v == NULL)
			abort();
		for (size_t i = 0; i < n; i++) {
			if (v[i].text == NULL || v[i].label < 0 || v[i].label >= G_NCLASS ||
			    v[i].line <= last || (size_t)v[i].line > lines)
				abort();
			last = v[i].line;
		}
		labelled_free(v, n);
		return 0;
	}
	if (v != NULL || n != 0 || err.code != rc)
		abort();
	if (rc == ACK_EINVAL) {
		size_t pl = strlen(path);
		int line = 0, col = 0;
		if (strncmp(err.msg, path, pl) != 0 || err.msg[pl] != ':' ||
		    sscanf(err.msg + pl, ":%d:%d:", &line, &col) != 2 || line < 1 ||
		    (size_t)line > lines || col < 1)
			abort();
	}
	return 0;
}
