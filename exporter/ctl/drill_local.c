/* drill_local.c - restore drills of file and n8n targets: read the newest backup end to end, into no destination. */
#include "drill_ctx.h"
#include "archive_check.h"
#include "clock.h"
#include "n8n_verify.h"

#include <errno.h>
#include <glob.h>
#include <string.h>
#include <sys/stat.h>

/* The newest regular file matching pattern (the inventory's rule: latest mtime; a tie takes the later name). */
static int dl_newest(const char *pattern, char *out, size_t n, struct stat *best, char *msg, size_t msglen)
{
	glob_t g;
	int rc = glob(pattern, 0, NULL, &g), found = 0;

	if (rc == GLOB_NOMATCH) {
		snprintf(msg, msglen, "no file matches %s", pattern);
		return 0;
	}
	if (rc != 0) {
		snprintf(msg, msglen, "cannot read %s", pattern);
		return 0;
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct stat st;
		if (stat(g.gl_pathv[i], &st) != 0 || !S_ISREG(st.st_mode) || strlen(g.gl_pathv[i]) >= n)
			continue;
		if (!found || st.st_mtime > best->st_mtime ||
		    (st.st_mtime == best->st_mtime && strcmp(g.gl_pathv[i], out) > 0)) {
			*best = st;
			snprintf(out, n, "%s", g.gl_pathv[i]);
			found = 1;
		}
	}
	globfree(&g);
	if (!found)
		snprintf(msg, msglen, "nothing that matches %s is a regular file", pattern);
	return found;
}

static void dl_progress(void *ctx, unsigned long long done, unsigned long long total)
{
	struct drill_ctx *x = ctx;

	if (x->tty && total > 0) {
		fprintf(x->ferr, "\r  read %llu of %llu MiB (%llu%%) ", done >> 20, total >> 20,
			done * 100 / total);
		fflush(x->ferr);
	}
}

int drill_file(struct drill_ctx *x)
{
	char path[sizeof(x->rec.archive)], msg[512], when[32], d[32];
	struct archive_facts f;
	struct stat st;
	enum perr e;
	double t0;

	buf_addf(&x->out, "target %s: the newest file of %s, read end to end into no destination\n\n",
		 x->t->name, x->t->file_glob);
	x->recorded = x->o->execute;
	if (!dl_newest(x->t->file_glob, path, sizeof(path), &st, msg, sizeof(msg))) {
		buf_reset(&x->why);
		buf_adds(&x->why, msg);
		drill_fail(x, "nothing to check");
		drill_reason(x, "%s", msg);
		return DRILL_EXIT_FAILED;
	}
	snprintf(x->rec.archive, sizeof(x->rec.archive), "%s", path);
	drill_iso_time((double)st.st_mtime, when, sizeof(when));
	buf_addf(&x->out, "newest: %s (%s, %.1f MiB)\n", path, when, (double)st.st_size / (1024.0 * 1024));
	if (!x->o->execute) {
		buf_adds(&x->out,
			 "\nplan (dry run: nothing is read; add --execute):\n"
			 "  1. read it end to end: gzip and zstd streams decompressed and their checksums "
			 "checked, a tar walked header by header to its end marker\n");
		buf_addf(&x->out, "  2. append the result to %s\n\n", x->cfg->global.drill_state_file);
		drill_flush(x);
		return DRILL_EXIT_OK;
	}
	drill_flush(x);
	t0 = clock_mono();
	e = archive_check_file(path, &drill_stop, dl_progress, x, &f, msg, sizeof(msg));
	if (x->tty)
		fputs("\r\033[K", x->ferr);
	x->rec.restore_seconds = clock_mono() - t0;
	if (e != PE_OK) {
		buf_reset(&x->why);
		buf_adds(&x->why, e == PE_TIMEOUT ? "interrupted" : msg);
		drill_fail(x, "the archive is not whole");
		drill_reason(x, "%s: %s", path, e == PE_TIMEOUT ? "interrupted" : msg);
		x->rec.restore_seconds = -1;
		return DRILL_EXIT_FAILED;
	}
	drill_format_duration(x->rec.restore_seconds, d, sizeof(d));
	buf_addf(&x->out, "  -> %s, %s: %llu bytes read, %llu after decompression",
		 archive_codec_str(f.codec), archive_format_str(f.format), f.in_bytes, f.out_bytes);
	if (f.format == ARCHIVE_TAR)
		buf_addf(&x->out, ", %llu tar members, end marker present", f.members);
	if (f.codec == ARCHIVE_LZO)
		buf_adds(&x->out, " (lzo: read, not decompressed)");
	buf_addf(&x->out, ", in %s\n", d);
	drill_flush(x);
	return DRILL_EXIT_OK;
}

int drill_n8n(struct drill_ctx *x)
{
	const struct config_n8n *n = config_find_n8n(x->cfg, x->t->source);
	struct n8n_verify_result r;
	char msg[512], d[32];
	double t0;
	enum perr e;

	if (!n || !n->snapshots) {
		fprintf(x->ferr,
			"persistencectl restore-test: n8n source %s has no snapshots: location to check\n",
			x->t->source);
		return DRILL_EXIT_USAGE;
	}
	buf_addf(
		&x->out,
		"target %s: the newest snapshot under %s; every workflow must have nodes and connections\n\n",
		x->t->name, n->snapshots);
	if (!x->o->execute) {
		buf_addf(&x->out,
			 "plan (dry run: nothing is read; add --execute):\n"
			 "  1. find the newest snapshot (file or export folder) and parse it end to end\n"
			 "  2. append the result to %s\n\n",
			 x->cfg->global.drill_state_file);
		drill_flush(x);
		return DRILL_EXIT_OK;
	}
	x->recorded = 1;
	t0 = clock_mono();
	e = n8n_verify_snapshot(n->snapshots, &r, msg, sizeof(msg));
	x->rec.restore_seconds = clock_mono() - t0;
	snprintf(x->rec.archive, sizeof(x->rec.archive), "%.380s", r.path);
	if (e != PE_OK || r.workflows == 0 || r.bad > 0) {
		buf_reset(&x->why);
		if (e != PE_OK)
			buf_adds(&x->why, msg);
		else if (r.workflows == 0)
			buf_adds(&x->why, "the snapshot holds no workflow");
		else
			buf_addf(&x->why, "%zu of %zu workflows cannot work: %s", r.bad, r.workflows,
				 r.first_bad);
		drill_fail(x, "the snapshot does not restore");
		drill_reason(x, "%s", buf_str(&x->why));
		x->rec.restore_seconds = -1;
		return DRILL_EXIT_FAILED;
	}
	drill_format_duration(x->rec.restore_seconds, d, sizeof(d));
	buf_addf(&x->out, "newest: %s\n  -> %zu workflows, each with nodes and connections, parsed in %s\n",
		 r.path, r.workflows, d);
	drill_flush(x);
	return DRILL_EXIT_OK;
}
