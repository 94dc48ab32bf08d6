/* fuzz_mount_scan.c - fuzzes the dump-folder scan (entries and stats in, archives per guest out) and its samples. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "expfmt.h"
#include "mount_scan.h"
#include "replay.h"

#define NOW 1764000000.0

/*
 * Input: one entry per line, "<t><name>": t is the d_type readdir would
 * report (r regular, d folder, l link, anything else unknown). An entry
 * that needs a stat gets one made up from its name: a regular file unless
 * the name ends in ".tmp", its size the name's length, its age a day and
 * a bit when the line's first byte is odd.
 */
static unsigned char fuzz_type(char t)
{
	return t == 'r' ? DT_REG : t == 'd' ? DT_DIR : t == 'l' ? DT_LNK : DT_UNKNOWN;
}

static void fuzz_entry(struct mount_scan *s, char t, const char *name, size_t len)
{
	if (mount_scan_entry(s, name, fuzz_type(t)) != MOUNT_STAT)
		return;
	int dir = len > 4 && strcmp(name + len - 4, ".tmp") == 0;
	mount_scan_stat(s, name, !dir, dir, (double)len, (t & 1) ? NOW - 90000 : NOW);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mount_scan s;
	char *text = malloc(size + 1);
	struct expfmt *out = expfmt_new(0);
	int64_t *ts = NULL;
	char msg[128];
	long counted = 0, archives = 0;

	if (!text || !out)
		goto out;
	memcpy(text, data, size);
	text[size] = '\0';
	mount_scan_init(&s, NOW);
	for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (line[0] && line[1]) {
			struct archive_name n;
			archives += archive_name_parse(line + 1, &n) == PE_OK && line[1] != '.';
			fuzz_entry(&s, line[0], line + 1, strlen(line + 1));
		}
	}
	for (size_t i = 0; i < s.ngroups; i++) {
		counted += s.groups[i].count;
		if (mount_scan_unsized(&s, i))
			s.groups[i].newest_size = 1;
	}
	if (counted > archives || (!s.nomem && counted < 0))
		__builtin_trap(); /* a group counts archives that were never seen */
	ts = calloc(s.ngroups + 1, sizeof(*ts));
	if (ts && mount_scan_emit(&s, "nas", "UTC", out, ts, msg, sizeof(msg)) == PE_OK && s.ngroups &&
	    expfmt_samples(out) < 2 * s.ngroups + 1)
		__builtin_trap();
	mount_scan_free(&s);
out:
	free(ts);
	free(text);
	expfmt_free(out);
	return 0;
}
