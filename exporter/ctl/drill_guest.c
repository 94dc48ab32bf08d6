/* drill_guest.c - the scratch guest of a restore drill: restore, cut off, boot, destroy; and the dry-run plan. */
#include "drill_ctx.h"
#include "clock.h"
#include "fetch.h"
#include "pve.h"

#include <stdlib.h>
#include <string.h>

#include "cJSON.h"

#define DG_RING 10 /* task log lines kept for a failure report */
#define DG_STEP_TIMEOUT 120.0 /* s: start, resume, stop */
#define DG_DESTROY_TIMEOUT 300.0 /* s: one destroy task */
#define DG_DESTROY_TRIES 3
#define DG_POLL_ERRORS 5 /* consecutive failed polls before a task is lost */

/* ---------------------------------------------------------------- following a task */

struct dg_ring {
	char line[DG_RING][240];
	size_t n; /* lines seen */
};

static void dg_ring_add(void *ctx, const char *text)
{
	struct dg_ring *r = ctx;
	struct buf b;

	buf_init(&b, 0);
	pve_add_clean(&b, text, 200);
	snprintf(r->line[r->n++ % DG_RING], sizeof(r->line[0]), "%s", buf_str(&b));
	buf_free(&b);
}

static void dg_ring_print(struct drill_ctx *x, const struct dg_ring *r)
{
	size_t from = r->n > DG_RING ? r->n - DG_RING : 0;

	if (r->n == 0)
		return;
	fprintf(x->ferr, "  last lines of the task log:\n");
	for (size_t i = from; i < r->n; i++)
		fprintf(x->ferr, "  | %s\n", r->line[i % DG_RING]);
	fflush(x->ferr);
}

enum dg_wait { DG_DONE = 0, DG_TIMEOUT, DG_STOPPED, DG_LOST };

static void dg_spin(struct drill_ctx *x, const struct pve_task *t, double started)
{
	static const char wheel[] = "|/-\\";
	static unsigned spin;

	if (x->tty) {
		fprintf(x->ferr, "\r%c %s task running, %lds ", wheel[spin++ % 4], t->u.type,
			(long)(clock_mono() - started));
		fflush(x->ferr);
	}
}

/*
 * Polls t until it stops (DG_DONE, t->exitstatus set), the monotonic
 * deadline passes, stop_at stop signals have come (0: never; cleanup
 * waits are not interruptible), or polls fail DG_POLL_ERRORS times in a
 * row. The task log goes to ring when given.
 */
static enum dg_wait dg_wait(struct drill_ctx *x, struct pve_task *t, double deadline, int stop_at,
			    struct dg_ring *ring)
{
	double started = clock_mono();
	int failures = 0, more;
	enum dg_wait rc = DG_LOST;

	for (;;) {
		enum perr e = pve_client_task_status(x->client, t, &x->why);
		failures = e == PE_OK ? 0 : failures + 1;
		if (failures >= DG_POLL_ERRORS)
			break;
		while (ring && e == PE_OK &&
		       pve_client_task_log(x->client, t, PVE_TASK_LOG_PAGE, dg_ring_add, ring, &more,
					   &x->why) == PE_OK &&
		       more)
			;
		if (e == PE_OK && t->stopped) {
			rc = DG_DONE;
			break;
		}
		if (stop_at && drill_signals >= stop_at) {
			rc = DG_STOPPED;
			break;
		}
		if (clock_mono() > deadline) {
			rc = DG_TIMEOUT;
			break;
		}
		dg_spin(x, t, started);
		(void)drill_nap_until(x->o->poll_interval, stop_at);
	}
	if (x->tty)
		fputs("\r\033[K", x->ferr);
	return rc;
}

/* A mutation that starts a task, printed first; PE_OK with t ready to wait on. */
static enum perr dg_start(struct drill_ctx *x, const char *method, const char *path, const char *form,
			  struct pve_task *t)
{
	char upid[256];
	enum perr e;

	drill_request_line(x, method, path, form, PVE_TOKEN_DRILL);
	e = pve_client_start_task_as(x->client, PVE_TOKEN_DRILL, method, path, form, upid, sizeof(upid),
				     &x->why);
	if (e == PE_OK && (e = pve_task_init(t, upid, PVE_TOKEN_DRILL, &x->why)) == PE_OK)
		buf_addf(&x->out, "       -> %s\n", upid);
	drill_flush(x);
	return e;
}

/* Starts a short task (start, resume, stop) on a guest and waits for it; 0 when it ended OK. */
static int dg_step(struct drill_ctx *x, long vmid, const char *gtype, const char *node, const char *action,
		   int stop_at)
{
	char rest[96], *path;
	struct pve_task t;
	int rc = -1;

	snprintf(rest, sizeof(rest), "/%s/%ld/status/%s", gtype, vmid, action);
	path = pve_node_path(node, rest, NULL, NULL);
	if (path && dg_start(x, "POST", path, NULL, &t) == PE_OK) {
		enum dg_wait w = dg_wait(x, &t, clock_mono() + DG_STEP_TIMEOUT, stop_at, NULL);
		if (w == DG_DONE && pve_task_ok(&t)) {
			rc = 0;
		} else if (w != DG_STOPPED) {
			buf_reset(&x->why);
			buf_addf(&x->why, "the %s task %s%s", action,
				 w == DG_DONE ? "ended: " : "did not end in time",
				 w == DG_DONE ? t.exitstatus : "");
		}
	}
	free(path);
	return rc;
}

/* ---------------------------------------------------------------- restore */

/* name=...&description=<marker>: how a drill's guest is recognised later, also when left over. */
static void dg_identity(struct drill_ctx *x, struct buf *f, int qemu)
{
	char name[64], when[32];
	struct buf desc;

	drill_guest_name(x->d->name_prefix, x->p->name, x->t->vmid, name, sizeof(name));
	drill_iso_time(x->rec.started, when, sizeof(when));
	buf_init(&desc, 0);
	buf_addf(&desc,
		 "%s of target %s (%s guest %ld), started %s. Safe to delete: the next drill removes it.",
		 DRILL_MARKER, x->t->name, x->p->name, x->t->vmid, when);
	buf_addf(f, "&%s=%s&description=", qemu ? "name" : "hostname", name);
	fetch_urlencode(f, buf_str(&desc));
	buf_free(&desc);
}

/*
 * The restore form: the newest archive as a new guest (unique=1) on the
 * scratch storage, in the scratch pool, never started on its own. A VM
 * is restored over its empty placeholder (force=1), so even a failed
 * restore stays in the pool, within the drill token's reach.
 */
static void dg_restore_form(struct drill_ctx *x, struct buf *f)
{
	int qemu = strcmp(x->gtype, "qemu") == 0;

	buf_addf(f, "vmid=%ld&%s=", x->vmid, qemu ? "archive" : "ostemplate");
	fetch_urlencode(f, x->volid);
	buf_adds(f, qemu ? "&force=1" : "&restore=1");
	buf_adds(f, "&storage=");
	fetch_urlencode(f, x->d->storage);
	buf_adds(f, "&pool=");
	fetch_urlencode(f, x->d->pool);
	buf_adds(f, "&unique=1&onboot=0&protection=0");
	dg_identity(x, f, qemu);
}

/* The empty VM the restore goes over: no disks, no network, in the pool from its creation task on. */
static void dg_placeholder_form(struct drill_ctx *x, struct buf *f)
{
	buf_addf(f, "vmid=%ld&pool=", x->vmid);
	fetch_urlencode(f, x->d->pool);
	buf_adds(f, "&onboot=0");
	dg_identity(x, f, 1);
}

/* POSTs form to path as a task and waits for it (cleanup-safe: not interruptible); 0 when it ended OK. */
static int dg_task(struct drill_ctx *x, const char *path, const char *form, double timeout)
{
	struct pve_task t;

	if (dg_start(x, "POST", path, form, &t) != PE_OK)
		return -1;
	if (dg_wait(x, &t, clock_mono() + timeout, 0, NULL) == DG_DONE && pve_task_ok(&t))
		return 0;
	buf_reset(&x->why);
	buf_addf(&x->why, "the %s task %s%s", t.u.type, t.stopped ? "ended: " : "did not end in time",
		 t.stopped ? t.exitstatus : "");
	return -1;
}

/*
 * POSTs the restore (for a VM after its placeholder); a lost race for the
 * id moves on to the next free one. x->exists is set once an id holds a
 * config of ours.
 */
static enum perr dg_post_restore(struct drill_ctx *x, const char *path, struct pve_task *t, double *t0)
{
	int qemu = strcmp(x->gtype, "qemu") == 0;
	enum perr e = PE_INVAL;

	for (int tries = 0; tries < 3; tries++) {
		struct buf form;
		buf_init(&form, 0);
		if (qemu) {
			dg_placeholder_form(x, &form);
			if (dg_task(x, path, buf_str(&form), DG_STEP_TIMEOUT) != 0) {
				buf_free(&form);
				e = PE_HTTP;
				if (strstr(buf_str(&x->why), "already exists") &&
				    (x->vmid = drill_next_vmid(x)) > 0)
					continue;
				break;
			}
			x->exists = 1;
			buf_reset(&form);
		}
		dg_restore_form(x, &form);
		*t0 = clock_mono();
		e = buf_err(&form) == PE_OK ? dg_start(x, "POST", path, buf_str(&form), t) : PE_NOMEM;
		buf_free(&form);
		if (e == PE_OK || qemu || !strstr(buf_str(&x->why), "already exists"))
			break;
		buf_addf(&x->out, "       -> %ld was taken meanwhile: %s\n", x->vmid, buf_str(&x->why));
		drill_flush(x);
		if ((x->vmid = drill_next_vmid(x)) < 0)
			break;
	}
	if (e == PE_OK)
		x->exists = 1; /* from the POST on the id holds a config (locked 'create') */
	return e;
}

/* The restore task did not end: its abort leaves what PVE leaves after a failed restore. */
static void dg_abort(struct drill_ctx *x, struct pve_task *t)
{
	char path[512];

	/* the UPID as pve_client's task calls send it */
	snprintf(path, sizeof(path), "/nodes/%s/tasks/%s", t->u.node, t->upid);
	drill_request_line(x, "DELETE", path, NULL, PVE_TOKEN_DRILL);
	if (pve_client_mutate(x->client, PVE_TOKEN_DRILL, "DELETE", path, NULL, NULL, &x->why) != PE_OK)
		drill_fail(x, "the restore task could not be aborted");
	else if (dg_wait(x, t, clock_mono() + DG_STEP_TIMEOUT, 0, NULL) == DG_DONE)
		buf_addf(&x->out, "       -> the restore task ended: %s\n", t->exitstatus);
	drill_flush(x);
}

/* Waits for the restore; the first stop signal waits on (so the guest can be removed), a second aborts. */
static enum dg_wait dg_wait_restore(struct drill_ctx *x, struct pve_task *t, struct dg_ring *ring, double t0)
{
	double deadline = t0 + x->d->restore_timeout;
	enum dg_wait w = dg_wait(x, t, deadline, 1, ring);

	if (w != DG_STOPPED)
		return w;
	fprintf(x->ferr,
		"\npersistencectl restore-test: interrupted: waiting for the restore task to end so that the "
		"scratch guest can be removed (interrupt again to abort it now: PVE then keeps an empty "
		"config of "
		"%ld that only root can remove)\n",
		x->vmid);
	fflush(x->ferr);
	return dg_wait(x, t, deadline, 2, ring);
}

int drill_guest_restore(struct drill_ctx *x, double *seconds)
{
	int qemu = strcmp(x->gtype, "qemu") == 0;
	char *path = pve_node_path(x->node, qemu ? "/qemu" : "/lxc", NULL, NULL);
	struct dg_ring ring = {.n = 0};
	struct pve_task t;
	double t0 = clock_mono();
	enum dg_wait w;

	if (!path || dg_post_restore(x, path, &t, &t0) != PE_OK) {
		drill_fail(x, "the restore was refused");
		drill_reason(x, "restore refused: %s", buf_str(&x->why));
		free(path);
		return -1;
	}
	free(path);
	w = dg_wait_restore(x, &t, &ring, t0);
	if (w == DG_DONE && strcmp(t.exitstatus, "OK") == 0) {
		*seconds = clock_mono() - t0;
		char d[32];
		drill_format_duration(*seconds, d, sizeof(d));
		buf_addf(&x->out, "       -> restore task ended OK after %s\n", d);
		drill_flush(x);
		return 0;
	}
	if (w == DG_DONE) {
		buf_reset(&x->why);
		pve_add_clean(&x->why, t.exitstatus, 240);
		drill_fail(x, "the restore task failed");
		dg_ring_print(x, &ring);
		drill_reason(x, "restore task failed: %s", buf_str(&x->why));
		return -1;
	}
	if (w == DG_TIMEOUT)
		drill_reason(x, "restore did not end within %.0fs: aborted", x->d->restore_timeout);
	else if (w == DG_STOPPED)
		drill_reason(x, "interrupted by signal %d during the restore: aborted", (int)drill_stop);
	else
		drill_reason(x, "lost track of the restore task: %s", buf_str(&x->why));
	dg_abort(x, &t);
	return -1;
}

/* ---------------------------------------------------------------- cut off, boot */

static enum perr dg_config(struct drill_ctx *x, cJSON **doc)
{
	char rest[64], *path;
	enum perr e;

	snprintf(rest, sizeof(rest), "/%s/%ld/config", x->gtype, x->vmid);
	path = pve_node_path(x->node, rest, NULL, NULL);
	drill_request_line(x, "GET", path ? path : "?", NULL, PVE_TOKEN_DRILL);
	e = path ? pve_client_call(x->client, PVE_TOKEN_DRILL, "GET", path, NULL, doc, &x->why) : PE_NOMEM;
	free(path);
	return e;
}

static int dg_isolate_put(struct drill_ctx *x, const cJSON *conf, int qemu)
{
	char rest[64], *path;
	struct buf form;
	int nets, rc = 0;

	buf_init(&form, 0);
	nets = drill_isolate_form(conf, qemu, &form);
	if (form.len == 0) {
		buf_adds(&x->out, "       -> no netN: nothing to cut\n");
		buf_free(&form);
		return 0;
	}
	snprintf(rest, sizeof(rest), "/%s/%ld/config", x->gtype, x->vmid);
	path = pve_node_path(x->node, rest, NULL, NULL);
	drill_request_line(x, "PUT", path ? path : "?", buf_str(&form), PVE_TOKEN_DRILL);
	if (!path || pve_client_mutate(x->client, PVE_TOKEN_DRILL, "PUT", path, buf_str(&form), NULL,
				       &x->why) != PE_OK)
		rc = -1;
	else
		buf_addf(&x->out, "       -> %d netN set to link_down=1%s\n", nets, qemu ? ", freeze=1" : "");
	free(path);
	buf_free(&form);
	return rc;
}

int drill_guest_isolate(struct drill_ctx *x)
{
	int qemu = strcmp(x->gtype, "qemu") == 0, rc = -1;
	cJSON *conf = NULL;
	const char *hazard;

	if (dg_config(x, &conf) != PE_OK || dg_isolate_put(x, pve_data(conf), qemu) != 0) {
		drill_fail(x, "the scratch guest could not be cut off the network");
		drill_reason(x, "not cut off the network: %s", buf_str(&x->why));
		goto out;
	}
	cJSON_Delete(conf);
	conf = NULL;
	buf_reset(&x->why);
	if (dg_config(x, &conf) != PE_OK || !drill_is_isolated(pve_data(conf), qemu, &x->why)) {
		drill_fail(x, "the scratch guest is not cut off the network; it is not started");
		drill_reason(x, "not cut off the network: %s", buf_str(&x->why));
		goto out;
	}
	buf_adds(&x->out, "       -> every netN has link_down=1: safe to start\n");
	x->agent = qemu && drill_agent_enabled(pve_data(conf));
	hazard = drill_boot_hazard(pve_data(conf), qemu);
	rc = 0;
	if (x->o->boot && (hazard || x->template_guest)) {
		buf_reset(&x->why);
		buf_adds(&x->why, hazard ? hazard : "a template cannot be started");
		drill_fail(x, "not booted");
		drill_reason(x, "boot refused: %s", buf_str(&x->why));
		rc = -1;
	}
out:
	drill_flush(x);
	cJSON_Delete(conf);
	return rc;
}

static int dg_running(const cJSON *doc)
{
	const char *st = pve_json_str(pve_data(doc), "status");
	return st && strcmp(st, "running") == 0;
}

/* Polls until the proof of life answers (agent ping, or status running) or the deadline passes. */
static int dg_alive(struct drill_ctx *x, double deadline)
{
	char rest[96], *path;
	int alive = 0;

	snprintf(rest, sizeof(rest), "/%s/%ld/%s", x->gtype, x->vmid,
		 x->agent ? "agent/ping" : "status/current");
	path = pve_node_path(x->node, rest, NULL, NULL);
	drill_request_line(x, x->agent ? "POST" : "GET", path ? path : "?", NULL, PVE_TOKEN_DRILL);
	buf_addf(&x->out, "       (every %gs until it %s)\n", x->o->poll_interval,
		 x->agent ? "answers" : "reports running");
	drill_flush(x);
	while (path && !alive && !drill_stop && clock_mono() < deadline) {
		cJSON *doc = NULL;
		if (pve_client_call(x->client, PVE_TOKEN_DRILL, x->agent ? "POST" : "GET", path, NULL, &doc,
				    &x->why) == PE_OK)
			alive = x->agent || dg_running(doc);
		cJSON_Delete(doc);
		if (!alive)
			(void)drill_nap(x->o->poll_interval);
	}
	free(path);
	return alive;
}

int drill_guest_boot(struct drill_ctx *x, double *seconds)
{
	double t0 = clock_mono(), deadline = t0 + x->d->boot_timeout;
	int qemu = strcmp(x->gtype, "qemu") == 0;
	char d[32];

	if (dg_step(x, x->vmid, x->gtype, x->node, "start", 1) != 0 ||
	    (qemu && !drill_stop && dg_step(x, x->vmid, x->gtype, x->node, "resume", 1) != 0)) {
		if (!drill_stop) {
			drill_fail(x, "the scratch guest did not start");
			drill_reason(x, "boot failed: %s", buf_str(&x->why));
		}
		return -1;
	}
	if (qemu && !x->agent)
		buf_adds(&x->out,
			 "       -> no guest agent in the config: proof of life is 'running' only\n");
	if (!dg_alive(x, deadline)) {
		if (!drill_stop) {
			drill_format_duration(x->d->boot_timeout, d, sizeof(d));
			buf_reset(&x->why);
			buf_addf(&x->why, "no %s within the boot timeout of %s",
				 x->agent ? "guest agent answer" : "running state", d);
			drill_fail(x, "no proof of life");
			drill_reason(x, "boot: %s", buf_str(&x->why));
		}
		return -1;
	}
	*seconds = clock_mono() - t0;
	drill_format_duration(*seconds, d, sizeof(d));
	buf_addf(&x->out, "       -> alive after %s\n", d);
	drill_flush(x);
	return 0;
}

/* ---------------------------------------------------------------- destroy */

static void dg_root_hint(struct drill_ctx *x, long vmid, const char *gtype, const char *node)
{
	int qemu = strcmp(gtype, "qemu") == 0;

	fprintf(x->ferr,
		"persistencectl restore-test: scratch guest %ld is left on node %s: %s\n"
		"  remove it as root on %s: %s destroy %ld --purge --destroy-unreferenced-disks 1%s\n",
		vmid, node, buf_str(&x->why), node, qemu ? "qm" : "pct", vmid, qemu ? "" : " --force");
	fflush(x->ferr);
	x->leftover = 1;
}

/* The guest's state through the drill token: 1 running, 0 stopped, -1 gone, -2 out of reach (why set). */
static int dg_state(struct drill_ctx *x, long vmid, const char *gtype, const char *node)
{
	char rest[96], *path;
	cJSON *doc = NULL;
	int rc;

	snprintf(rest, sizeof(rest), "/%s/%ld/status/current", gtype, vmid);
	path = pve_node_path(node, rest, NULL, NULL);
	drill_request_line(x, "GET", path ? path : "?", NULL, PVE_TOKEN_DRILL);
	enum perr e = path ? pve_client_call(x->client, PVE_TOKEN_DRILL, "GET", path, NULL, &doc, &x->why)
			   : PE_NOMEM;
	if (e == PE_OK)
		rc = dg_running(doc);
	else
		rc = strstr(buf_str(&x->why), "does not exist") ? -1 : -2;
	cJSON_Delete(doc);
	free(path);
	return rc;
}

static int dg_destroy_once(struct drill_ctx *x, long vmid, const char *gtype, const char *node)
{
	char rest[160], *path;
	struct pve_task t;
	int rc = -1;

	snprintf(rest, sizeof(rest), "/%s/%ld?purge=1&destroy-unreferenced-disks=1%s", gtype, vmid,
		 strcmp(gtype, "lxc") == 0 ? "&force=1" : "");
	path = pve_node_path(node, rest, NULL, NULL);
	if (path && dg_start(x, "DELETE", path, NULL, &t) == PE_OK) {
		enum dg_wait w = dg_wait(x, &t, clock_mono() + DG_DESTROY_TIMEOUT, 0, NULL);
		if (w == DG_DONE && strcmp(t.exitstatus, "OK") == 0) {
			rc = 0;
		} else {
			buf_reset(&x->why);
			buf_addf(&x->why, "the destroy task %s%s",
				 w == DG_DONE ? "ended: " : "did not end in time",
				 w == DG_DONE ? t.exitstatus : "");
		}
	} else if (strstr(buf_str(&x->why), "does not exist")) {
		rc = 0;
	}
	free(path);
	return rc;
}

int drill_guest_destroy(struct drill_ctx *x, long vmid, const char *gtype, const char *node)
{
	int state = dg_state(x, vmid, gtype, node);

	if (state == -1)
		return 0;
	if (state == -2) {
		dg_root_hint(x, vmid, gtype, node);
		return -1;
	}
	if (state == 1 && dg_step(x, vmid, gtype, node, "stop", 0) != 0)
		drill_fail(x, "stop failed (the destroy is tried anyway)");
	for (int attempt = 1; attempt <= DG_DESTROY_TRIES; attempt++) {
		if (dg_destroy_once(x, vmid, gtype, node) == 0 && dg_state(x, vmid, gtype, node) == -1) {
			buf_addf(&x->out, "       -> %ld is gone\n", vmid);
			drill_flush(x);
			return 0;
		}
		drill_fail(x, attempt < DG_DESTROY_TRIES ? "destroy failed, retrying" : "destroy failed");
		if (attempt < DG_DESTROY_TRIES)
			clock_sleep(2.0 * attempt * x->o->poll_interval);
	}
	dg_root_hint(x, vmid, gtype, node);
	return -1;
}

/* ---------------------------------------------------------------- the dry-run plan */

void drill_guest_plan(struct drill_ctx *x, long vmid)
{
	int qemu = strcmp(x->gtype, "qemu") == 0, n = 1;
	char b[32], r[32];
	struct buf form, path;
	long keep = x->vmid;

	x->vmid = vmid;
	drill_format_duration(x->d->restore_timeout, r, sizeof(r));
	drill_format_duration(x->d->boot_timeout, b, sizeof(b));
	buf_init(&form, 0);
	buf_init(&path, 0);
	buf_addf(&path, "/nodes/%s/%s", x->node, x->gtype);
	dg_restore_form(x, &form);
	buf_adds(&x->out, "\nplan (dry run: nothing below is sent; add --execute):\n");
	if (qemu) {
		struct buf ph;
		buf_init(&ph, 0);
		dg_placeholder_form(x, &ph);
		buf_addf(&x->out, "  %d. ", n++);
		drill_flush(x);
		drill_request_line(x, "POST", buf_str(&path), buf_str(&ph), PVE_TOKEN_DRILL);
		buf_adds(&x->out, "     an empty placeholder in the pool (so that even a failed restore "
				  "stays removable), "
				  "then wait for the qmcreate task\n");
		buf_free(&ph);
	}
	buf_addf(&x->out, "  %d. ", n++);
	drill_flush(x);
	drill_request_line(x, "POST", buf_str(&path), buf_str(&form), PVE_TOKEN_DRILL);
	buf_addf(&x->out,
		 "  %d. GET    /nodes/%s/tasks/<upid>/status   every %gs until the %s task ends "
		 "(at most %s, then aborted)\n",
		 n++, x->node, x->o->poll_interval, qemu ? "qmrestore" : "vzrestore", r);
	buf_addf(&x->out, "  %d. GET    /nodes/%s/%s/%ld/config   (the restored netN)\n", n++, x->node,
		 x->gtype, vmid);
	buf_addf(&x->out, "  %d. PUT    /nodes/%s/%s/%ld/config   every netN with link_down=1%s, digest\n",
		 n++, x->node, x->gtype, vmid, qemu ? ", freeze=1" : "");
	buf_addf(&x->out,
		 "  %d. GET    /nodes/%s/%s/%ld/config   (check: every netN is down; else it never starts)\n",
		 n++, x->node, x->gtype, vmid);
	if (x->o->boot) {
		buf_addf(&x->out, "  %d. POST   /nodes/%s/%s/%ld/status/start, then wait for the task\n", n++,
			 x->node, x->gtype, vmid);
		if (qemu)
			buf_addf(&x->out,
				 "  %d. POST   /nodes/%s/qemu/%ld/status/resume (links already down), wait\n",
				 n++, x->node, vmid);
		buf_addf(&x->out, "  %d. %s until it answers (at most %s from the start)\n", n++,
			 qemu ? "POST   .../agent/ping (or GET .../status/current without an agent)"
			      : "GET    .../status/current",
			 b);
	} else {
		buf_adds(&x->out, "     (no boot: add --boot to start it and wait for proof of life)\n");
	}
	buf_addf(&x->out,
		 "  %d. POST   /nodes/%s/%s/%ld/status/stop when running, then DELETE "
		 "/nodes/%s/%s/%ld?purge=1&destroy-unreferenced-disks=1%s\n"
		 "     (always: also after a failure, a timeout or Ctrl-C)\n",
		 n++, x->node, x->gtype, vmid, x->node, x->gtype, vmid, qemu ? "" : "&force=1");
	buf_addf(&x->out, "  %d. append the result to %s\n\n", n, x->cfg->global.drill_state_file);
	buf_free(&form);
	buf_free(&path);
	drill_flush(x);
	x->vmid = keep;
}
