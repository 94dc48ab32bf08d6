/* test_config.c - config and web-config loaders: parsed values, defaults, every error kind with its position. */
#include "config.h"
#include "log.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Tests run inside tests/fixtures/config (see main), so messages carry short file names. */
static char datadir[4200];
static char srcroot[4096]; /* absolute SRCDIR */

/* Loads name and returns its rc; errors go to errs (caller frees). */
static enum perr load(const char *name, struct config **c, struct buf *errs)
{
	buf_init(errs, 0);
	return config_load_file(name, c, errs);
}

/* Asserts that name fails with exactly the expected error lines. */
static void expect_errors(const char *name, const char *expected)
{
	struct config *c = (struct config *)1;
	struct buf errs;
	enum perr rc = load(name, &c, &errs);
	ck_assert_int_eq(rc, PE_CONFIG);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(buf_str(&errs), expected);
	buf_free(&errs);
}

/* Captures what the logger writes to stderr between begin and end. */
struct capture {
	int saved;
	char path[64];
};

static void capture_begin(struct capture *cap)
{
	snprintf(cap->path, sizeof(cap->path), "/tmp/pe-test-config-XXXXXX");
	int fd = mkstemp(cap->path);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	cap->saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static char *capture_end(struct capture *cap)
{
	static char out[8192];
	fflush(stderr);
	dup2(cap->saved, STDERR_FILENO);
	close(cap->saved);
	FILE *f = fopen(cap->path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	unlink(cap->path);
	return out;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ck_assert_int_eq(chmod(path, mode), 0);
}

START_TEST(test_good_file)
{
	struct config *c;
	struct buf errs;
	struct capture cap;
	/* git keeps no permission bits: make the secrets private so no warning is expected */
	ck_assert_int_eq(chmod("secrets/home.token", 0600), 0);
	ck_assert_int_eq(chmod("secrets/home-action.token", 0600), 0);
	ck_assert_int_eq(chmod("secrets/n8n.key", 0600), 0);
	capture_begin(&cap);
	ck_assert_int_eq(load("good.yml", &c, &errs), PE_OK);
	ck_assert_ptr_null(strstr(capture_end(&cap), "readable by other users"));
	ck_assert_str_eq(buf_str(&errs), "");
	ck_assert_str_eq(c->file, "good.yml");
	ck_assert_int_eq(c->refs, 1);
	ck_assert_double_eq(c->global.scrape_timeout, 8);
	ck_assert_double_eq(c->global.cache_ttl, 0);
	ck_assert_double_eq(c->global.max_staleness, 5400);
	ck_assert_str_eq(c->paths.procfs, "/proc");
	ck_assert_str_eq(c->paths.sysfs, "/sys");
	ck_assert_str_eq(c->paths.pvelib, "/var/lib/pve-manager");
	ck_assert_str_eq(c->paths.rundir, "/run");

	ck_assert_uint_eq(c->npve, 2);
	const struct config_pve *p = &c->pve[0];
	ck_assert_str_eq(p->name, "home");
	ck_assert_str_eq(p->url, "https://pve-home.lan:8006"); /* trailing slash dropped */
	ck_assert_str_eq(p->token_id, "monitor@pve!exporter");
	ck_assert_str_eq(p->token_secret, "home-secret-value"); /* trailing newline stripped */
	ck_assert_str_eq(p->action_token_id, "ops@pve!actions");
	/* the action token's secret is persistencectl's to read, never the loader's (the daemon's) */
	ck_assert_ptr_null(p->action_token_secret);
	ck_assert_str_eq(p->action_token_secret_file + strlen(p->action_token_secret_file) -
				 strlen("/secrets/home-action.token"),
			 "/secrets/home-action.token");
	char *secret, why[256];
	ck_assert_int_eq(config_read_secret(p->action_token_secret_file, &secret, why, sizeof(why)), PE_OK);
	ck_assert_str_eq(secret, "home-action-secret");
	free(secret);
	ck_assert_str_eq(p->tls.ca_file, "./secrets/home-ca.pem"); /* relative to the config's directory */
	ck_assert_ptr_null(p->tls.fingerprint);
	ck_assert_int_eq(p->tls.insecure_skip_verify, 0);
	ck_assert_double_eq(p->timeout, 15);
	ck_assert_int_eq(p->local, 1);
	ck_assert_str_eq(p->local_node, "pve1");
	p = &c->pve[1];
	ck_assert_str_eq(p->url, "http://127.0.0.1:8006/pve/shop");
	ck_assert_str_eq(p->tls.fingerprint, "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:"
					     "45:67:89:AB:CD:EF:01:23:45:67:89");
	ck_assert_ptr_null(p->tls.ca_file);
	ck_assert_double_eq(p->timeout, 10); /* default */
	ck_assert_int_eq(p->local, 0);
	ck_assert_ptr_null(p->local_node);
	ck_assert_ptr_null(p->action_token_id);
	ck_assert_ptr_null(p->action_token_secret);
	ck_assert_ptr_null(p->action_token_secret_file);

	ck_assert_uint_eq(c->nmounts, 2);
	const struct config_mount *m = &c->mounts[0];
	ck_assert_str_eq(m->name, "synology-backups");
	ck_assert_str_eq(m->path, "/mnt/pve/synology-backups");
	ck_assert_str_eq(m->fstype, "nfs4");
	ck_assert_double_eq(m->timeout, 3);
	ck_assert_int_eq(m->write_probe, 1);
	ck_assert_str_eq(m->dump_dir, "dump");
	ck_assert_str_eq(m->timezone, "Europe/Berlin");
	m = &c->mounts[1];
	ck_assert_ptr_null(m->fstype);
	ck_assert_double_eq(m->timeout, 5);
	ck_assert_int_eq(m->write_probe, 0);
	ck_assert_ptr_null(m->dump_dir);
	ck_assert_ptr_null(m->timezone);

	ck_assert_uint_eq(c->nn8n, 1);
	ck_assert_str_eq(c->n8n[0].name, "app");
	ck_assert_str_eq(c->n8n[0].url, "http://n8n.lan:5678");
	ck_assert_str_eq(c->n8n[0].api_key, "n8n-api-key-value"); /* \r\n stripped */
	ck_assert_str_eq(c->n8n[0].snapshots, "/srv/backups/n8n");
	ck_assert_int_eq(c->n8n[0].tls.insecure_skip_verify, 0);
	ck_assert_double_eq(c->n8n[0].timeout, 20);

	ck_assert_uint_eq(c->ndocker, 2);
	const struct config_docker *d = &c->docker[0];
	ck_assert_str_eq(d->socket, "/run/docker.sock");
	ck_assert_double_eq(d->timeout, 2);
	ck_assert_str_eq(d->stateful_label, "backup.stateful");
	ck_assert_uint_eq(d->nstateful_names, 2);
	ck_assert_str_eq(d->stateful_names[0], "stalwart*");
	ck_assert_str_eq(d->stateful_names[1], "db-?");
	d = &c->docker[1];
	ck_assert_str_eq(d->name, "defaults");
	ck_assert_str_eq(d->socket, "/var/run/docker.sock");
	ck_assert_double_eq(d->timeout, 5);
	ck_assert_str_eq(d->stateful_label, "persistence.stateful");
	ck_assert_uint_eq(d->nstateful_names, 0);

	ck_assert_uint_eq(c->ntargets, 4);
	const struct config_target *t = &c->targets[0];
	ck_assert_str_eq(t->name, "home-vm-100");
	ck_assert_str_eq(t->site, "home");
	ck_assert_str_eq(t->severity, "critical");
	ck_assert_int_eq(t->kind, TARGET_PVE);
	ck_assert_str_eq(t->source, "home");
	ck_assert_int_eq(t->vmid, 100);
	ck_assert_double_eq(t->max_age, 26 * 3600);
	ck_assert_str_eq(t->restore_doc, "https://wiki.lan/restore/home-vm-100");
	t = &c->targets[1];
	ck_assert_int_eq(t->kind, TARGET_MOUNT);
	ck_assert_str_eq(t->source, "synology-backups");
	ck_assert_int_eq(t->vmid, 105); /* quoted "105" accepted */
	ck_assert_str_eq(t->site, "");
	ck_assert_str_eq(t->severity, "warning");
	ck_assert_double_eq(t->max_age, 8 * 86400);
	ck_assert_ptr_null(t->restore_doc);
	t = &c->targets[2];
	ck_assert_int_eq(t->kind, TARGET_N8N);
	ck_assert_str_eq(t->severity, "info");
	ck_assert_int_eq(t->vmid, -1);
	ck_assert_double_eq(t->max_age, 7200);
	t = &c->targets[3];
	ck_assert_int_eq(t->kind, TARGET_FILE);
	ck_assert_ptr_null(t->source);
	ck_assert_str_eq(t->file_glob, "/srv/backups/stalwart/*.tar.zst");
	ck_assert_double_eq(t->max_age, 7 * 86400);

	ck_assert_ptr_eq(config_find_pve(c, "home"), &c->pve[0]);
	ck_assert_ptr_null(config_find_pve(c, "nope"));
	ck_assert_ptr_eq(config_find_mount(c, "local-dump"), &c->mounts[1]);
	ck_assert_ptr_null(config_find_mount(c, "home"));
	ck_assert_ptr_eq(config_find_n8n(c, "app"), &c->n8n[0]);
	ck_assert_ptr_null(config_find_n8n(NULL, "app"));

	ck_assert_ptr_eq(config_ref(c), c);
	ck_assert_int_eq(c->refs, 2);
	config_unref(c);
	ck_assert_int_eq(c->refs, 1);
	config_unref(c);
	config_unref(NULL);
	buf_free(&errs);
}
END_TEST

START_TEST(test_kind_str)
{
	ck_assert_str_eq(config_target_kind_str(TARGET_PVE), "pve");
	ck_assert_str_eq(config_target_kind_str(TARGET_MOUNT), "mount");
	ck_assert_str_eq(config_target_kind_str(TARGET_N8N), "n8n");
	ck_assert_str_eq(config_target_kind_str(TARGET_FILE), "file");
}
END_TEST

static const struct {
	const char *in;
	double want; /* -1: invalid */
} durations[] = {
	{"90s", 90},
	{"5m", 300},
	{"26h", 93600},
	{"7d", 604800},
	{"1w", 604800},
	{"1y", 31536000},
	{"500ms", 0.5},
	{"1h30m", 5400},
	{"0", 0},
	{"0s", 0},
	{"1d12h", 129600},
	{"2m30s500ms", 150.5},
	{"1y1w1d1h1m1s1ms", 31536000 + 604800 + 86400 + 3661.001},
	{"", -1},
	{"10", -1},
	{"10x", -1},
	{"-5s", -1},
	{"1.5h", -1},
	{"30m1h", -1},
	{"1h1h", -1},
	{"5s5ms5s", -1},
	{"ms", -1},
	{"5 s", -1},
	{" 5s", -1},
	{"5S", -1},
	{"1h 30m", -1},
	{"1000000000000000s", -1},
	{"400y", -1},
	{"5m5ms", 300.005},
	{"5ms5m", -1},
};

START_TEST(test_durations)
{
	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		double got = config_parse_duration(durations[i].in);
		ck_assert_msg(got == durations[i].want || (got > 0 && got - durations[i].want < 1e-9 &&
							   durations[i].want - got < 1e-9),
			      "duration \"%s\": got %g, want %g", durations[i].in, got, durations[i].want);
	}
	ck_assert_double_eq(config_parse_duration(NULL), -1);
}
END_TEST

START_TEST(test_unknown_key)
{
	expect_errors("bad_unknown_key.yml", "bad_unknown_key.yml:6:5: pve[0]: unknown key \"tokn_id\"\n"
					     "bad_unknown_key.yml:7:1: unknown key \"scrape_timeout\"\n");
}
END_TEST

START_TEST(test_wrong_types)
{
	expect_errors("bad_type_map.yml",
		      "bad_type_map.yml:6:10: pve[0].tls: expected a mapping, got a sequence\n"
		      "bad_type_map.yml:7:9: mounts: expected a sequence, got a mapping\n");
	expect_errors("bad_type_bool.yml",
		      "bad_type_bool.yml:4:18: mounts[0].write_probe: expected a boolean "
		      "(true or false), got \"yes\"\n");
	expect_errors("bad_toplevel.yml",
		      "bad_toplevel.yml:1:1: expected a mapping at the top level, got a sequence\n");
}
END_TEST

START_TEST(test_bad_duration)
{
	expect_errors("bad_duration.yml",
		      "bad_duration.yml:7:14: pve[0].timeout: invalid duration \"10x\"\n");
}
END_TEST

START_TEST(test_duplicates)
{
	expect_errors(
		"bad_dup_name.yml",
		"bad_dup_name.yml:4:11: mounts[1].name: duplicate name \"nas\" (also used by mounts[0])\n");
	expect_errors("bad_dup_target.yml",
		      "bad_dup_target.yml:5:11: targets[1].name: duplicate name \"stalwart\" "
		      "(also used by targets[0])\n");
}
END_TEST

START_TEST(test_unknown_source)
{
	expect_errors(
		"bad_unknown_source.yml",
		"bad_unknown_source.yml:3:19: targets[0].pve.source: no source named \"home\" under pve:\n"
		"bad_unknown_source.yml:7:15: targets[1].mount.source: no source named \"nas\" under "
		"mounts:\n");
}
END_TEST

START_TEST(test_missing_required)
{
	expect_errors("bad_missing.yml",
		      "bad_missing.yml:2:5: pve[0]: missing required key \"url\"\n"
		      "bad_missing.yml:2:5: pve[0]: missing one of token_secret_file, token_secret\n"
		      "bad_missing.yml:5:5: targets[0]: missing required key \"max_age\"\n"
		      "bad_missing.yml:6:10: targets[0].pve: missing required key \"source\"\n");
}
END_TEST

START_TEST(test_exclusive)
{
	struct config *c;
	struct buf errs;
	enum perr rc = load("bad_exclusive.yml", &c, &errs);
	ck_assert_int_eq(rc, PE_CONFIG);
	ck_assert_str_eq(
		buf_str(&errs),
		"bad_exclusive.yml:6:5: pve[0]: token_secret_file and token_secret are mutually exclusive\n"
		"bad_exclusive.yml:10:5: targets[0]: pve and file are mutually exclusive\n"
		"bad_exclusive.yml:12:5: targets[1]: missing one of pve, mount, n8n, file, pbs\n");
	ck_assert_ptr_null(strstr(buf_str(&errs), "do-not-print-me"));
	buf_free(&errs);
}
END_TEST

/* The action token: id and secret together, the secret a file name or inline; the file itself is not read. */
START_TEST(test_action_token)
{
	struct config *c;
	struct buf errs;
	struct capture cap;

	expect_errors("bad_action.yml",
		      "bad_action.yml:3:5: pve[0]: action_token_id needs action_token_secret_file or "
		      "action_token_secret\n"
		      "bad_action.yml:8:5: pve[1]: an action token secret needs action_token_id\n"
		      "bad_action.yml:19:5: pve[2]: action_token_secret_file and action_token_secret are "
		      "mutually exclusive\n"
		      "bad_action.yml:25:31: pve[3].action_token_secret_file: \"a?b\" is not a file name\n");
	capture_begin(&cap);
	ck_assert_int_eq(load("action_unreadable.yml", &c, &errs), PE_OK);
	ck_assert_ptr_null(strstr(capture_end(&cap), "no-such-action"));
	ck_assert_str_eq(buf_str(&errs), "");
	ck_assert_ptr_null(c->pve[0].action_token_secret);
	char *secret = (char *)1, why[256];
	ck_assert_int_eq(config_read_secret(c->pve[0].action_token_secret_file, &secret, why, sizeof(why)),
			 PE_IO);
	ck_assert_ptr_null(secret);
	ck_assert_str_eq(why,
			 "cannot read secret file ./secrets/no-such-action.token: No such file or directory");
	buf_free(&errs);
	config_unref(c);
}
END_TEST

START_TEST(test_vmid)
{
	expect_errors("bad_vmid.yml", "bad_vmid.yml:8:31: targets[0].pve.vmid: invalid vmid \"-1\" (expected "
				      "an integer from 100 to "
				      "999999999)\n"
				      "bad_vmid.yml:11:31: targets[1].pve.vmid: invalid vmid \"abc\" "
				      "(expected an integer from 100 to "
				      "999999999)\n"
				      "bad_vmid.yml:14:31: targets[2].pve.vmid: invalid vmid \"100.5\" "
				      "(expected an integer from 100 "
				      "to 999999999)\n");
}
END_TEST

START_TEST(test_exempt)
{
	struct config *c;
	struct buf errs;
	ck_assert_int_eq(chmod("secrets/home.token", 0600), 0);
	ck_assert_int_eq(load("exempt_good.yml", &c, &errs), PE_OK);
	ck_assert_str_eq(buf_str(&errs), "");
	ck_assert_uint_eq(c->pve[0].nexempt, 2);
	ck_assert_int_eq(c->pve[0].exempt[0].vmid, 112);
	ck_assert_ptr_null(c->pve[0].exempt[0].storage);
	ck_assert_str_eq(c->pve[0].exempt[0].reason, "scratch container, rebuilt from git");
	ck_assert_int_eq(c->pve[0].exempt[1].vmid, -1);
	ck_assert_str_eq(c->pve[0].exempt[1].storage, "usb-offsite");
	ck_assert_str_eq(c->pve[0].exempt[1].reason, "plugged in on Sundays only");
	buf_free(&errs);
	config_unref(c);
	expect_errors("bad_exempt.yml",
		      "bad_exempt.yml:7:9: pve[0].exempt[0]: missing required key \"reason\"\n"
		      "bad_exempt.yml:8:21: pve[0].exempt[1]: vmid and storage are mutually exclusive\n"
		      "bad_exempt.yml:9:9: pve[0].exempt[2]: missing one of vmid, storage\n"
		      "bad_exempt.yml:11:9: pve[0].exempt[4]: this guest is already exempted above\n"
		      "bad_exempt.yml:13:9: pve[0].exempt[6]: this storage is already exempted above\n"
		      "bad_exempt.yml:18:13: pve[1].exempt: expected a sequence, got a mapping\n");
}
END_TEST

START_TEST(test_drill)
{
	struct config *c;
	struct buf errs;
	ck_assert_int_eq(chmod("secrets/home.token", 0600), 0);
	ck_assert_int_eq(load("drill_good.yml", &c, &errs), PE_OK);
	ck_assert_str_eq(buf_str(&errs), "");
	ck_assert_str_eq(c->global.drill_state_file, "/srv/state/drills.jsonl");
	const struct config_drill *d = c->pve[0].drill;
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->token_id, "drill@pve!drill");
	ck_assert_ptr_null(d->token_secret); /* read by persistencectl, never by the loader (the daemon) */
	ck_assert_str_eq(d->token_secret_file + strlen(d->token_secret_file) -
				 strlen("/secrets/home-drill.token"),
			 "/secrets/home-drill.token");
	char *secret, why[256];
	ck_assert_int_eq(config_read_secret(d->token_secret_file, &secret, why, sizeof(why)), PE_OK);
	ck_assert_str_eq(secret, "sim-drill-secret");
	free(secret);
	ck_assert_int_eq(config_read_secret("secrets/no-such.token", &secret, why, sizeof(why)), PE_IO);
	ck_assert_str_eq(why, "cannot read secret file secrets/no-such.token: No such file or directory");
	ck_assert_int_eq(config_read_secret("secrets/empty.token", &secret, why, sizeof(why)), PE_CONFIG);
	ck_assert_ptr_null(secret);
	ck_assert_int_eq(d->vmid_lo, 9900);
	ck_assert_int_eq(d->vmid_hi, 9999);
	ck_assert_str_eq(d->storage, "local-lvm");
	ck_assert_str_eq(d->pool, "drill");
	ck_assert_double_eq(d->boot_timeout, 300);
	ck_assert_double_eq(d->restore_timeout, 4 * 3600); /* default */
	ck_assert_str_eq(d->name_prefix, "drill-"); /* default */
	d = c->pve[1].drill;
	ck_assert_int_eq(d->vmid_lo, 9000);
	ck_assert_int_eq(d->vmid_hi, 9000);
	ck_assert_str_eq(d->pool, "scratch_1");
	ck_assert_double_eq(d->boot_timeout, 600); /* default */
	ck_assert_double_eq(d->restore_timeout, 3600);
	ck_assert_str_eq(d->name_prefix, "rt-");
	ck_assert_double_eq(c->targets[0].max_restore_test_age, 30 * 86400);
	ck_assert_double_eq(c->targets[0].rto, 7200);
	ck_assert_double_eq(c->targets[1].max_restore_test_age, 0); /* unset */
	ck_assert_double_eq(c->targets[1].rto, 0);
	buf_free(&errs);
	config_unref(c);
	ck_assert_int_eq(load("good.yml", &c, &errs), PE_OK);
	ck_assert_ptr_null(c->pve[0].drill);
	ck_assert_str_eq(c->global.drill_state_file, "/var/lib/persistence_exporter/drills.jsonl");
	buf_free(&errs);
	config_unref(c);
	expect_errors(
		"bad_drill.yml",
		"bad_drill.yml:8:17: pve[0].drill.token_id: the drill token must be its own token, not the "
		"read "
		"token\n"
		"bad_drill.yml:10:19: pve[0].drill.vmid_range: first id 9999 is greater than last id 9900\n"
		"bad_drill.yml:11:16: pve[0].drill.storage: invalid PVE id (letters, digits, '-', '_', '.') "
		"\"local lvm\"\n"
		"bad_drill.yml:13:20: pve[0].drill.name_prefix: invalid name prefix (up to 20 letters, "
		"digits "
		"or '-') \"drill_\"\n"
		"bad_drill.yml:18:12: pve[1].drill: missing required key \"storage\"\n"
		"bad_drill.yml:18:97: pve[1].drill.vmid_range: expected [first, last], two guest ids\n"
		"bad_drill.yml:19:40: pve[1].drill.boot_timeout: duration must be greater than 0\n"
		"bad_drill.yml:21:83: targets[0].max_restore_test_age: invalid duration \"soon\"\n"
		"bad_drill.yml:21:94: targets[0].rto: duration must be greater than 0\n");
}
END_TEST

/* pve[].storages, mounts[].location, the targets' policy keys over global.policy. */
START_TEST(test_restore_policy)
{
	struct config *c;
	struct buf errs;
	ck_assert_int_eq(chmod("secrets/home.token", 0600), 0);
	ck_assert_int_eq(load("restore_good.yml", &c, &errs), PE_OK);
	ck_assert_str_eq(buf_str(&errs), "");
	const struct config_pve *p = &c->pve[0];
	ck_assert_uint_eq(p->nstorages, 3);
	const struct config_place *pl = config_pve_place(p, "pbs-remote");
	ck_assert_ptr_nonnull(pl);
	ck_assert_int_eq(pl->offsite, 1);
	ck_assert_int_eq(pl->immutable, 1);
	pl = config_pve_place(p, "synology-backups");
	ck_assert_int_eq(pl->offsite, 0);
	ck_assert_int_eq(pl->immutable, 0);
	ck_assert_ptr_nonnull(config_pve_place(p, "local")); /* null value: onsite */
	ck_assert_ptr_null(config_pve_place(p, "other"));
	ck_assert_int_eq(c->mounts[0].offsite, 1);
	ck_assert_int_eq(c->mounts[1].offsite, 0);
	ck_assert_int_eq(c->global.policy.min_copies, 2);
	ck_assert_int_eq(c->global.policy.require_offsite, 1);
	ck_assert_double_eq(c->global.policy.max_verify_age, 0);
	/* defaults from global.policy, then the target's own keys */
	ck_assert_int_eq(c->targets[0].policy.min_copies, 2);
	ck_assert_int_eq(c->targets[0].policy.require_offsite, 1);
	ck_assert_double_eq(c->targets[0].policy.max_verify_age, 0);
	ck_assert_int_eq(c->targets[1].policy.min_copies, 1);
	ck_assert_int_eq(c->targets[1].policy.require_offsite, 0);
	ck_assert_double_eq(c->targets[1].policy.max_verify_age, 7 * 86400);
	ck_assert_int_eq(c->targets[2].policy.min_copies, 3);
	ck_assert_int_eq(c->targets[2].policy.require_offsite, 1);
	/* the policy does not reach kinds without places */
	ck_assert_int_eq(c->targets[3].policy.min_copies, 1);
	ck_assert_int_eq(c->targets[3].policy.require_offsite, 0);
	buf_free(&errs);
	config_unref(c);
	/* without any of it: one copy, no offsite, no verification */
	ck_assert_int_eq(load("good.yml", &c, &errs), PE_OK);
	ck_assert_int_eq(c->targets[0].policy.min_copies, 1);
	ck_assert_int_eq(c->targets[0].policy.require_offsite, 0);
	ck_assert_double_eq(c->targets[0].policy.max_verify_age, 0);
	ck_assert_uint_eq(c->pve[0].nstorages, 0);
	buf_free(&errs);
	config_unref(c);
	expect_errors(
		"bad_restore.yml",
		"bad_restore.yml:3:24: global.policy.min_copies: invalid min_copies \"0\" (expected an "
		"integer from 1 "
		"to 100)\n"
		"bad_restore.yml:3:44: global.policy.require_offsite: expected a boolean (true or false), "
		"got "
		"\"maybe\"\n"
		"bad_restore.yml:3:67: global.policy.max_verify_age: duration must be greater than 0\n"
		"bad_restore.yml:3:71: global.policy: unknown key \"keep\"\n"
		"bad_restore.yml:10:36: pve[0].storages.synology-backups.location: invalid location "
		"\"nearby\" "
		"(expected onsite or offsite)\n"
		"bad_restore.yml:11:7: pve[0].storages: invalid storage id \"bad id!\" (letters, digits, "
		"'-', '_', '.')\n"
		"bad_restore.yml:12:24: pve[0].storages.pbs.immutable: expected a boolean (true or false), "
		"got "
		"\"sometimes\"\n"
		"bad_restore.yml:12:35: pve[0].storages.pbs: unknown key \"where\"\n"
		"bad_restore.yml:17:15: pve[1].storages: expected a mapping of storage ids, got a sequence\n"
		"bad_restore.yml:19:43: mounts[0].location: invalid location \"offsite-ish\" (expected "
		"onsite or "
		"offsite)\n"
		"bad_restore.yml:23:73: targets[0].min_copies: invalid min_copies \"2.5\" (expected an "
		"integer from 1 "
		"to 100)\n"
		"bad_restore.yml:23:96: targets[0].max_verify_age: invalid duration \"soon\"\n"
		"bad_restore.yml:24:78: targets[1].max_verify_age: max_verify_age does not apply to mount "
		"targets "
		"(pve and pbs targets: only PBS verifies backups)\n"
		"bad_restore.yml:25:61: targets[2].min_copies: min_copies does not apply to n8n targets (pve "
		"and "
		"mount targets count copies)\n"
		"bad_restore.yml:25:81: targets[2].require_offsite: require_offsite does not apply to n8n "
		"targets (pve "
		"and mount targets count copies)\n"
		"bad_restore.yml:26:69: targets[3].min_copies: invalid min_copies \"101\" (expected an "
		"integer from 1 "
		"to 100)\n"
		"bad_restore.yml:26:69: targets[3].min_copies: min_copies does not apply to file targets "
		"(pve and "
		"mount targets count copies)\n");
}
END_TEST

START_TEST(test_pbs)
{
	struct config *c;
	struct buf errs;
	ck_assert_int_eq(chmod("secrets/home.token", 0600), 0);
	ck_assert_int_eq(load("pbs_good.yml", &c, &errs), PE_OK);
	ck_assert_str_eq(buf_str(&errs), "");
	ck_assert_uint_eq(c->npbs, 3);
	ck_assert_str_eq(c->pbs[0].url, "https://pbs.lan:8007"); /* the port PBS listens on */
	ck_assert_str_eq(c->pbs[1].url, "https://[fd00::7]:8443");
	ck_assert_str_eq(c->pbs[2].url, "http://10.0.0.9:8007/pbs");
	ck_assert_str_eq(c->pbs[0].token_id, "monitor@pbs!exporter");
	ck_assert_ptr_nonnull(c->pbs[0].token_secret);
	ck_assert_double_eq(c->pbs[0].timeout, 10);
	ck_assert_double_eq(c->pbs[1].timeout, 20);
	ck_assert_uint_eq(c->pbs[0].ndatastores, 2);
	ck_assert_str_eq(c->pbs[0].datastores[1], "offsite");
	ck_assert_uint_eq(c->pbs[0].nnamespaces, 2);
	ck_assert_str_eq(c->pbs[0].namespaces[0], "");
	ck_assert_uint_eq(c->pbs[1].nnamespaces, 0);
	ck_assert_ptr_nonnull(config_find_pbs(c, "pbs2"));
	ck_assert_ptr_null(config_find_pbs(c, "pve"));
	ck_assert_int_eq(c->targets[0].kind, TARGET_PBS);
	ck_assert_str_eq(config_target_kind_str(TARGET_PBS), "pbs");
	ck_assert_str_eq(c->targets[0].datastore, "store1");
	ck_assert_str_eq(c->targets[0].ns, "site-b/web");
	ck_assert_str_eq(c->targets[0].backup_type, "vm");
	ck_assert_str_eq(c->targets[0].backup_id, "100");
	ck_assert_double_eq(c->targets[0].policy.max_verify_age, 8 * 86400);
	ck_assert_str_eq(c->targets[1].ns, ""); /* the root when omitted */
	ck_assert_double_eq(c->targets[1].policy.max_verify_age, 0);
	ck_assert_int_eq(c->targets[0].policy.min_copies, 1); /* a pbs target counts no copies */
	buf_free(&errs);
	config_unref(c);
	expect_errors(
		"bad_pbs.yml",
		"bad_pbs.yml:4:15: pbs[0].token_id: a PBS token id cannot contain ':'\n"
		"bad_pbs.yml:6:26: pbs[0].datastores[1]: invalid datastore name \"bad/name\"\n"
		"bad_pbs.yml:7:18: pbs[0].namespaces[0]: invalid namespace \"a//b\"\n"
		"bad_pbs.yml:7:26: pbs[0].namespaces[1]: invalid namespace \"a/b/c/d/e/f/g/h\"\n"
		"bad_pbs.yml:10:36: targets[0].pbs.datastore: datastore \"offsite\" is not in the "
		"datastores: of pbs pbs1\n"
		"bad_pbs.yml:10:56: targets[0].pbs.namespace: namespace \"site-b\" is not in the namespaces: "
		"of pbs pbs1\n"
		"bad_pbs.yml:10:77: targets[0].pbs.backup_type: invalid backup_type \"lxc\" (expected vm, ct "
		"or host)\n"
		"bad_pbs.yml:10:93: targets[0].pbs.backup_id: invalid backup_id \"1/2\"\n"
		"bad_pbs.yml:13:19: targets[1].pbs.source: no source named \"nope\" under pbs:\n"
		"bad_pbs.yml:16:19: targets[2].pve.source: no source named \"nope\" under pve:\n"
		"bad_pbs.yml:20:10: targets[3].pbs: missing required key \"datastore\"\n"
		"bad_pbs.yml:20:10: targets[3].pbs.namespace: namespace \"\" is not in the namespaces: of "
		"pbs pbs1\n"
		"bad_pbs.yml:22:17: targets[3].min_copies: min_copies does not apply to pbs targets (pve and "
		"mount targets count copies)\n");
}
END_TEST

START_TEST(test_secret_files)
{
	expect_errors("bad_secret_missing.yml",
		      "bad_secret_missing.yml:4:19: n8n[0].api_key_file: cannot read secret file "
		      "\"secrets/does-not-exist.key\": No such file or directory\n");
	expect_errors("bad_secret_empty.yml", "bad_secret_empty.yml:4:19: n8n[0].api_key_file: secret file "
					      "\"secrets/empty.token\" is empty\n");
	expect_errors(
		"bad_secret_dir.yml",
		"bad_secret_dir.yml:4:19: n8n[0].api_key_file: cannot read secret file \"secrets\": not a "
		"regular file\n");
}
END_TEST

/* A private dir with a config whose secret file has the given mode and content. */
static void make_secret_config(char *dir, const char *secret, mode_t mode, char *cfgpath, size_t size)
{
	char path[512];
	snprintf(dir, 64, "/tmp/pe-test-config-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/app.key", dir);
	write_file(path, secret, mode);
	snprintf(cfgpath, size, "%s/config.yml", dir);
	write_file(cfgpath, "n8n:\n  - name: app\n    url: http://n8n.lan\n    api_key_file: app.key\n",
		   0600);
}

static void remove_secret_config(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/app.key", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/config.yml", dir);
	unlink(path);
	rmdir(dir);
}

START_TEST(test_secret_world_readable)
{
	char dir[64], cfgpath[512];
	struct config *c;
	struct buf errs;
	struct capture cap;
	make_secret_config(dir, "world-visible-key\n", 0644, cfgpath, sizeof(cfgpath));
	capture_begin(&cap);
	ck_assert_int_eq(load(cfgpath, &c, &errs), PE_OK);
	const char *log = capture_end(&cap);
	ck_assert_ptr_nonnull(
		strstr(log, "level=warn msg=\"secret file is readable by other users; chmod o-r\""));
	ck_assert_ptr_nonnull(strstr(log, "app.key"));
	ck_assert_ptr_null(strstr(log, "world-visible-key"));
	ck_assert_str_eq(c->n8n[0].api_key, "world-visible-key");
	config_unref(c);
	buf_free(&errs);
	remove_secret_config(dir);

	/* mode 0600: no warning */
	make_secret_config(dir, "private-key-1234", 0600, cfgpath, sizeof(cfgpath));
	capture_begin(&cap);
	ck_assert_int_eq(load(cfgpath, &c, &errs), PE_OK);
	ck_assert_str_eq(capture_end(&cap), "");
	ck_assert_str_eq(c->n8n[0].api_key, "private-key-1234");
	config_unref(c);
	buf_free(&errs);
	remove_secret_config(dir);
}
END_TEST

/*
 * Loads cfgpath as an unprivileged user in a child process (root reads
 * mode-0000 files, so the check must not run as root) and compares the
 * error text. Returns the child's verdict: 0 when it matched.
 */
static int load_as_nobody(const char *dir, const char *cfgpath, const char *want)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (geteuid() == 0 && (chmod(dir, 0755) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
			_exit(3);
		struct config *c = NULL;
		struct buf errs;
		enum perr rc = load(cfgpath, &c, &errs);
		int ok = rc == PE_CONFIG && c == NULL && strcmp(buf_str(&errs), want) == 0;
		if (!ok)
			fprintf(stderr, "got rc %d: %s", rc, buf_str(&errs));
		_exit(ok ? 0 : 1);
	}
	int st = 0;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 4;
}

START_TEST(test_secret_unreadable)
{
	char dir[64], cfgpath[512], want[1024];
	make_secret_config(dir, "locked-away", 0000, cfgpath, sizeof(cfgpath));
	/* the config itself must stay readable for the unprivileged child */
	ck_assert_int_eq(chmod(cfgpath, 0644), 0);
	snprintf(want, sizeof(want),
		 "%s:4:19: n8n[0].api_key_file: cannot read secret file \"app.key\": Permission denied\n",
		 cfgpath);
	ck_assert_int_eq(load_as_nobody(dir, cfgpath, want), 0);
	remove_secret_config(dir);
}
END_TEST

START_TEST(test_secret_redacted_in_logs)
{
	struct config *c;
	struct buf errs;
	struct capture cap;
	capture_begin(&cap);
	ck_assert_int_eq(load("inline_secret.yml", &c, &errs), PE_OK);
	const char *log = capture_end(&cap);
	ck_assert_ptr_nonnull(strstr(log, "inline secret in the configuration"));
	ck_assert_ptr_nonnull(strstr(log, "key=pve[0].token_secret"));
	ck_assert_ptr_null(strstr(log, "inline-secret-value-42"));
	ck_assert_str_eq(c->pve[0].token_secret, "inline-secret-value-42");
	/* registered with the logger: a careless log line is redacted */
	capture_begin(&cap);
	log_warn("oops", "value", c->pve[0].token_secret);
	log = capture_end(&cap);
	ck_assert_ptr_nonnull(strstr(log, "value=<redacted>"));
	config_unref(c);
	buf_free(&errs);
}
END_TEST

START_TEST(test_syntax_and_empty)
{
	expect_errors("bad_syntax.yml",
		      "bad_syntax.yml:4:4: YAML syntax error: did not find expected '-' indicator "
		      "(while parsing a block collection)\n");
	expect_errors("empty.yml", "empty.yml:1:1: the configuration file is empty\n");
	expect_errors("comments_only.yml", "comments_only.yml:1:1: the configuration file is empty\n");
	expect_errors("bad_multi_doc.yml", "bad_multi_doc.yml:3:1: only one YAML document is allowed\n");
}
END_TEST

START_TEST(test_missing_file)
{
	struct config *c;
	struct buf errs;
	ck_assert_int_eq(load("no-such-config.yml", &c, &errs), PE_IO);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(buf_str(&errs), "no-such-config.yml: cannot read: No such file or directory\n");
	buf_free(&errs);
}
END_TEST

START_TEST(test_many_errors)
{
	expect_errors(
		"bad_many.yml",
		"bad_many.yml:2:19: global.scrape_timeout: invalid duration \"soon\"\n"
		"bad_many.yml:4:3: global: unknown key \"colour\"\n"
		"bad_many.yml:7:10: pve[0].url: invalid URL \"ftp://pve.lan\" (expected http://host[:port] "
		"or "
		"https://...)\n"
		"bad_many.yml:8:15: pve[0].token_id: invalid token id \"monitor\" (expected "
		"user@realm!tokenname)\n"
		"bad_many.yml:10:24: pve[0].tls.fingerprint: invalid fingerprint (expected 32 hex bytes "
		"separated by "
		"':', SHA-256)\n"
		"bad_many.yml:10:55: pve[0].tls.insecure_skip_verify: expected a boolean (true or false), "
		"got "
		"\"maybe\"\n"
		"bad_many.yml:13:5: mounts[0]: missing required key \"name\"\n"
		"bad_many.yml:13:11: mounts[0].path: \"relative/dir\" is not an absolute path\n"
		"bad_many.yml:14:15: mounts[0].dump_dir: \"/abs\" must be a relative path inside the mount\n"
		"bad_many.yml:15:14: mounts[0].timeout: duration must be greater than 0\n"
		"bad_many.yml:18:21: docker[0].stateful_names: expected a sequence, got a scalar\n"
		"bad_many.yml:21:15: targets[0].severity: invalid severity \"urgent\" (expected critical, "
		"warning or "
		"info)\n"
		"bad_many.yml:22:19: targets[0].n8n.source: no source named \"app\" under n8n:\n"
		"bad_many.yml:22:24: targets[0].n8n: unknown key \"vmid\"\n"
		"bad_many.yml:24:5: targets[0]: duplicate key \"max_age\"\n");
}
END_TEST

/* Hostile scalars: a NUL byte, control characters and an overlong value are reported, never echoed raw. */
START_TEST(test_hostile_values)
{
	char dir[64] = "/tmp/pe-test-config-XXXXXX", path[512], big[300];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/c.yml", dir);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	char text[1024];
	snprintf(text, sizeof(text),
		 "mounts:\n  - name: \"a\\0b\"\n    path: \"/mnt\\n\\x01\"\n    fstype: %s\n"
		 "    timeout: \"\\e[31m\"\n",
		 big);
	write_file(path, text, 0600);
	struct config *c;
	struct buf errs;
	ck_assert_int_eq(load(path, &c, &errs), PE_CONFIG);
	ck_assert_ptr_nonnull(strstr(buf_str(&errs), ":2:11: mounts[0].name: contains a NUL character\n"));
	ck_assert_ptr_nonnull(
		strstr(buf_str(&errs), ":3:11: mounts[0].path: \"/mnt??\" is not an absolute path\n"));
	ck_assert_ptr_nonnull(
		strstr(buf_str(&errs), ":5:14: mounts[0].timeout: invalid duration \"?[31m\"\n"));
	ck_assert_ptr_null(strchr(buf_str(&errs), '\x1b'));
	buf_free(&errs);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* deploy/config.example.yml loads once its /etc/persistence_exporter/ paths point at test data. */
START_TEST(test_example_config)
{
	char src[4200], dst[64] = "/tmp/pe-test-example-XXXXXX", secrets[4300];
	snprintf(src, sizeof(src), "%s/deploy/config.example.yml", srcroot);
	snprintf(secrets, sizeof(secrets), "%s/secrets/", datadir);
	FILE *in = fopen(src, "r");
	ck_assert_ptr_nonnull(in);
	int fd = mkstemp(dst);
	ck_assert_int_ge(fd, 0);
	FILE *out = fdopen(fd, "w");
	char line[1024];
	while (fgets(line, sizeof(line), in)) {
		char *hit = strstr(line, "/etc/persistence_exporter/");
		if (hit) {
			*hit = '\0';
			fprintf(out, "%s%s%s", line, secrets, hit + strlen("/etc/persistence_exporter/"));
		} else {
			fputs(line, out);
		}
	}
	fclose(in);
	fclose(out);
	struct config *c;
	struct buf errs;
	enum perr rc = load(dst, &c, &errs);
	ck_assert_msg(rc == PE_OK, "example config: %s", buf_str(&errs));
	ck_assert_uint_ge(c->npve, 1);
	ck_assert_uint_ge(c->ntargets, 4);
	ck_assert_str_eq(c->pve[0].token_secret, "home-secret-value");
	ck_assert_uint_eq(c->npbs, 1);
	ck_assert_str_eq(c->pbs[0].token_secret, "pbs1-secret-value");
	ck_assert_str_eq(c->pbs[0].url, "https://pbs.lan:8007");
	config_unref(c);
	buf_free(&errs);
	unlink(dst);
}
END_TEST

START_TEST(test_web_good)
{
	struct web_config *w;
	struct buf errs;
	buf_init(&errs, 0);
	ck_assert_int_eq(web_config_load_file("web_good.yml", &w, &errs), PE_OK);
	ck_assert_str_eq(buf_str(&errs), "");
	ck_assert_str_eq(w->cert_file, "./secrets/web.crt");
	ck_assert_str_eq(w->key_file, "./secrets/web.key");
	ck_assert_str_eq(w->client_ca_file, "./secrets/home-ca.pem");
	ck_assert_str_eq(w->client_auth_type, "RequireAndVerifyClientCert");
	ck_assert_str_eq(w->min_version, "TLS13");
	ck_assert_uint_eq(w->nusers, 2);
	ck_assert_str_eq(w->users[0].name, "prometheus");
	ck_assert_str_eq(w->users[0].bcrypt_hash,
			 "$2b$12$epxN60hHPM1zRQpkxL3K1OwBc7EV57J.33sQfZQVO5YN1R/4gaX3S");
	ck_assert_str_eq(w->users[1].name, "grafana");
	ck_assert_uint_eq(w->nheaders, 2);
	ck_assert_str_eq(w->headers[0].name, "X-Content-Type-Options");
	ck_assert_str_eq(w->headers[0].value, "nosniff");
	ck_assert_str_eq(w->headers[1].name, "X-Frame-Options"); /* canonical spelling */
	ck_assert_str_eq(w->headers[1].value, "DENY");
	web_config_free(w);
	web_config_free(NULL);

	/* the shipped example (also checked by promtool check web-config) */
	char example[4300];
	snprintf(example, sizeof(example), "%s/deploy/web-config.example.yml", srcroot);
	ck_assert_int_eq(web_config_load_file(example, &w, &errs), PE_OK);
	ck_assert_uint_eq(w->nusers, 1);
	ck_assert_str_eq(w->users[0].name, "prometheus");
	ck_assert_ptr_null(w->cert_file);
	ck_assert_uint_eq(w->nheaders, 2);
	web_config_free(w);

	/* an empty web config is plain HTTP without auth */
	ck_assert_int_eq(web_config_load_file("web_empty.yml", &w, &errs), PE_OK);
	ck_assert_ptr_null(w->cert_file);
	ck_assert_uint_eq(w->nusers, 0);
	web_config_free(w);
	buf_free(&errs);
}
END_TEST

START_TEST(test_web_bad)
{
	struct web_config *w = (struct web_config *)1;
	struct buf errs;
	buf_init(&errs, 0);
	ck_assert_int_eq(web_config_load_file("web_bad.yml", &w, &errs), PE_CONFIG);
	ck_assert_ptr_null(w);
	ck_assert_str_eq(
		buf_str(&errs),
		"web_bad.yml:2:3: tls_server_config: cert_file and key_file must be set together\n"
		"web_bad.yml:3:21: tls_server_config.client_auth_type: invalid value \"Sometimes\" (expected "
		"NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or "
		"RequireAndVerifyClientCert)\n"
		"web_bad.yml:4:18: tls_server_config.cipher_suites: not supported by persistence_exporter\n"
		"web_bad.yml:6:15: basic_auth_users.prometheus: not a bcrypt hash (htpasswd -nBC 10 \"\" | "
		"tr -d "
		"':\\n')\n"
		"web_bad.yml:7:3: basic_auth_users: invalid user name \"a:b\"\n"
		"web_bad.yml:10:5: http_server_config.headers: header \"Foo\" can not be configured\n"
		"web_bad.yml:11:22: http_server_config.headers.X-Frame-Options: invalid value \"allow\" "
		"(expected "
		"deny|sameorigin)\n"
		"web_bad.yml:12:1: unknown key \"listen\"\n");
	/* a plaintext password in place of a hash is never echoed */
	ck_assert_ptr_null(strstr(buf_str(&errs), "hunter2"));
	buf_free(&errs);
}
END_TEST

/* persistencectl report's --prometheus.config.file (Prometheus' HTTP client format). */
START_TEST(test_prom_client_good)
{
	struct http_client_config *c;
	struct buf errs;
	buf_init(&errs, 0);
	ck_assert_int_eq(http_client_config_load_file("prom_client_basic.yml", &c, &errs), PE_OK);
	ck_assert_str_eq(buf_str(&errs), "");
	ck_assert_str_eq(c->username, "report");
	ck_assert_str_eq(c->password, "n8n-api-key-value"); /* trailing newline stripped */
	ck_assert_ptr_null(c->credentials);
	ck_assert_str_eq(c->ca_file,
			 "./secrets/home-ca.pem"); /* relative to the file's folder, like Prometheus */
	ck_assert_ptr_nonnull(strstr(c->cert_file, "/secrets/web.crt"));
	ck_assert_int_eq(c->insecure_skip_verify, 0);
	http_client_config_free(c);

	ck_assert_int_eq(http_client_config_load_file("prom_client_bearer.yml", &c, &errs), PE_OK);
	ck_assert_str_eq(c->auth_type, "Bearer");
	ck_assert_str_eq(c->credentials, "home-secret-value");
	ck_assert_ptr_null(c->username);
	http_client_config_free(c);

	ck_assert_int_eq(http_client_config_load_file("prom_client_token.yml", &c, &errs), PE_OK);
	ck_assert_str_eq(c->auth_type, "Bearer");
	ck_assert_str_eq(c->credentials, "inline-token-0123");
	ck_assert_int_eq(c->insecure_skip_verify, 1);
	http_client_config_free(c);
	http_client_config_free(NULL);

	ck_assert_int_eq(http_client_config_load_file("empty.yml", &c, &errs), PE_OK);
	ck_assert_ptr_null(c->username);
	ck_assert_ptr_null(c->credentials);
	http_client_config_free(c);
	buf_free(&errs);
}
END_TEST

START_TEST(test_prom_client_bad)
{
	struct http_client_config *c = (struct http_client_config *)1;
	struct buf errs;
	buf_init(&errs, 0);
	ck_assert_int_eq(http_client_config_load_file("prom_client_bad.yml", &c, &errs), PE_CONFIG);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(
		buf_str(&errs),
		"prom_client_bad.yml:2:3: basic_auth: missing required key \"username\"\n"
		"prom_client_bad.yml:3:1: basic_auth and authorization are mutually exclusive\n"
		"prom_client_bad.yml:6:3: oauth2: not supported by persistence_exporter\n"
		"prom_client_bad.yml:8:3: tls_config: cert_file and key_file must be set together\n"
		"prom_client_bad.yml:8:3: tls_config: insecure_skip_verify cannot be combined with ca_file\n"
		"prom_client_bad.yml:11:16: tls_config.server_name: not supported by persistence_exporter\n"
		"prom_client_bad.yml:12:12: proxy_url: not supported by persistence_exporter\n"
		"prom_client_bad.yml:13:1: unknown key \"timeout\"\n");
	ck_assert_ptr_null(strstr(buf_str(&errs), "hunter2"));
	ck_assert_ptr_null(strstr(buf_str(&errs), "s3cret"));
	buf_reset(&errs);
	ck_assert_int_eq(http_client_config_load_file("prom_client_bad_type.yml", &c, &errs), PE_CONFIG);
	ck_assert_str_eq(
		buf_str(&errs),
		"prom_client_bad_type.yml:2:9: authorization.type: authorization type Basic is not allowed: "
		"use basic_auth\n"
		"prom_client_bad_type.yml:3:21: authorization.credentials_file: cannot read secret file "
		"\"secrets/missing.token\": No such file or directory\n");
	buf_reset(&errs);
	ck_assert_int_eq(http_client_config_load_file("no_such_file.yml", &c, &errs), PE_IO);
	buf_free(&errs);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_good_file);
	tcase_add_test(tc, test_kind_str);
	tcase_add_test(tc, test_durations);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_wrong_types);
	tcase_add_test(tc, test_bad_duration);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_unknown_source);
	tcase_add_test(tc, test_missing_required);
	tcase_add_test(tc, test_exclusive);
	tcase_add_test(tc, test_action_token);
	tcase_add_test(tc, test_vmid);
	tcase_add_test(tc, test_exempt);
	tcase_add_test(tc, test_drill);
	tcase_add_test(tc, test_restore_policy);
	tcase_add_test(tc, test_pbs);
	tcase_add_test(tc, test_secret_files);
	tcase_add_test(tc, test_secret_world_readable);
	tcase_add_test(tc, test_secret_unreadable);
	tcase_add_test(tc, test_secret_redacted_in_logs);
	tcase_add_test(tc, test_syntax_and_empty);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_many_errors);
	tcase_add_test(tc, test_hostile_values);
	tcase_add_test(tc, test_example_config);
	tcase_add_test(tc, test_web_good);
	tcase_add_test(tc, test_web_bad);
	tcase_add_test(tc, test_prom_client_good);
	tcase_add_test(tc, test_prom_client_bad);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *src = getenv("SRCDIR");
	if (!realpath(src ? src : ".", srcroot)) {
		perror("SRCDIR");
		return 1;
	}
	snprintf(datadir, sizeof(datadir), "%s/tests/fixtures/config", srcroot);
	if (chdir(datadir) != 0 || !getcwd(datadir, sizeof(datadir))) {
		perror(datadir);
		return 1;
	}
	SRunner *sr = srunner_create(config_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	log_clear_secrets();
	return failed ? 1 : 0;
}
