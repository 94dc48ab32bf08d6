/* config.h - the configuration model (SPEC §5) and its loaders (config.c, web_config.c; YAML via ytree.c). */
#ifndef PE_CONFIG_H
#define PE_CONFIG_H

#include <stddef.h>
#include "buf.h"
#include "err.h"

struct config_tls {
	char *ca_file; /* NULL: system CAs */
	char *fingerprint; /* "AB:CD:..." SHA-256 of the leaf certificate, NULL if unset */
	int insecure_skip_verify;
};

#define CONFIG_PVE_TIMEOUT 10.0 /* seconds: the pve timeout when none is configured */

/* An accepted state (config pve[].exempt): a guest that needs no backup, a storage off on purpose. */
struct config_exempt {
	long vmid; /* the guest; -1 when this exempts a storage */
	char *storage; /* the storage; NULL when this exempts a guest */
	char *reason; /* required: why the state is accepted */
};

#define CONFIG_DRILL_MAX_IDS 1000 /* ids in a drill's vmid_range (each is published as exempt) */

/* pve[].drill: what persistencectl restore-test may use (a third token, a scratch range, storage and pool). */
struct config_drill {
	char *token_id; /* user@realm!tokenname: neither the read nor the action token */
	char *token_secret_file; /* resolved path; read only by persistencectl (config_read_secret) */
	char *token_secret; /* inline token_secret (with a warning); NULL with token_secret_file */
	long vmid_lo, vmid_hi; /* vmid_range: [lo, hi], scratch guests only ever get these ids */
	char *storage; /* scratch storage for the restored disks */
	char *pool; /* scratch pool the restored guest joins */
	double boot_timeout; /* seconds, default 600: start to proof of life */
	double restore_timeout; /* seconds, default 14400: the restore task */
	char *name_prefix; /* default "drill-": the restored guest's name starts with it */
};

/* Where backups land (pve[].storages, mounts[].location): places for copies counting. */
struct config_place {
	char *storage; /* PVE storage id (pve[].storages keys); NULL for a mount */
	int offsite; /* location: offsite; default onsite */
	int immutable; /* immutable: true (shown, not judged) */
};

/* Restorability policy: a target's keys, defaults under global.policy (docs/configuration.md). */
struct config_policy {
	long min_copies; /* places holding a fresh backup; default 1 */
	int require_offsite; /* one of them offsite; default 0 */
	double max_verify_age; /* seconds; 0: verification not required (default) */
};

struct config_pve {
	char *name;
	char *url; /* as configured, without /api2/json */
	char *token_id; /* user@realm!tokenname */
	char *token_secret; /* loaded from token_secret_file (or inline, with a warning) */
	char *action_token_id; /* optional, for persistencectl vzdump */
	char *action_token_secret_file; /* resolved path; read only by persistencectl (config_read_secret) */
	char *action_token_secret; /* inline action_token_secret (tests, demo; with a warning); NULL with the file */
	struct config_tls tls;
	double timeout; /* seconds, default CONFIG_PVE_TIMEOUT */
	int local; /* 1: the exporter runs on a node of this cluster */
	char *local_node; /* optional node name for local metrics; default: hostname */
	struct config_exempt *exempt;
	size_t nexempt;
	struct config_drill *drill; /* NULL: no restore drills on this source */
	struct config_place *storages; /* pve[].storages: the places of this cluster's backup storages */
	size_t nstorages;
};

struct config_mount {
	char *name;
	char *path;
	char *fstype; /* expected type, NULL if any */
	double timeout; /* seconds, default 5 */
	int write_probe; /* default 0 */
	char *dump_dir; /* relative to path, NULL if no archive scan */
	char *timezone; /* IANA zone of the PVE node that names the archives; NULL: local */
	int offsite; /* location: offsite; default onsite */
};

struct config_n8n {
	char *name;
	char *url;
	char *api_key; /* loaded from api_key_file (or inline, with a warning) */
	char *snapshots; /* folder or glob, NULL if unset */
	struct config_tls tls;
	double timeout; /* default 10 */
};

struct config_docker {
	char *name;
	char *socket; /* default /var/run/docker.sock */
	double timeout; /* default 5 */
	char *stateful_label; /* label whose value "true"/"false" marks a container; default "persistence.stateful" */
	char **stateful_names; /* fnmatch patterns on container names; empty: a writable volume or bind mount makes a container stateful */
	size_t nstateful_names;
};

/* A Proxmox Backup Server (config pbs:). */
#define CONFIG_PBS_PORT 8007 /* added to a pbs url that names no port */
struct config_pbs {
	char *name;
	char *url; /* as configured (plus :8007 when it named no port), without /api2/json */
	char *token_id; /* user@realm!tokenname */
	char *token_secret; /* loaded from token_secret_file (or inline, with a warning) */
	struct config_tls tls;
	double timeout; /* seconds, default 10 */
	char **datastores; /* empty: every datastore the token sees */
	size_t ndatastores;
	char **namespaces; /* empty: all; "" is the root; each selects itself and everything below */
	size_t nnamespaces;
};

enum target_kind { TARGET_PVE = 0, TARGET_MOUNT, TARGET_N8N, TARGET_FILE, TARGET_PBS };

struct config_target {
	char *name;
	char *site; /* "" when unset */
	char *severity; /* critical|warning|info, default warning */
	enum target_kind kind;
	char *source; /* pve/mount/n8n/pbs source name; NULL for file */
	long vmid; /* pve and mount kinds; -1 otherwise */
	char *file_glob; /* file kind */
	char *datastore, *ns, *backup_type, *backup_id; /* pbs kind (ns "" is the root namespace) */
	double max_age; /* seconds, required */
	char *restore_doc; /* URL or path, NULL when unset */
	double max_restore_test_age; /* seconds; 0 when unset: a successful restore drill is due this often */
	double rto; /* seconds; 0 when unset: a drill's restore + boot must not take longer */
	/* the target's keys over global.policy: copies for pve and mount targets, max_verify_age for pve and pbs */
	struct config_policy policy;
};

struct config_global {
	double scrape_timeout; /* default 10 */
	double cache_ttl; /* default 30 */
	double max_staleness; /* default 300 */
	char *drill_state_file; /* restore-drill results; default DRILL_STATE_FILE */
	struct config_policy policy; /* global.policy: defaults of the targets' policy keys */
};

#define DRILL_STATE_FILE "/var/lib/persistence_exporter/drills.jsonl"

/* Filesystem roots from flags (not from YAML): tests point them at fake trees. */
struct config_paths {
	char procfs[256]; /* default /proc */
	char sysfs[256]; /* default /sys */
	char pvelib[256]; /* default /var/lib/pve-manager */
	char rundir[256]; /* default /run */
};

struct config {
	char *file; /* path it was loaded from */
	struct config_global global;
	struct config_pve *pve;
	size_t npve;
	struct config_mount *mounts;
	size_t nmounts;
	struct config_n8n *n8n;
	size_t nn8n;
	struct config_docker *docker;
	size_t ndocker;
	struct config_pbs *pbs;
	size_t npbs;
	struct config_target *targets;
	size_t ntargets;
	struct config_paths paths;
	int refs; /* atomic; config_unref frees at 0 */
};

/* The --path.* flags of the daemon and of persistencectl; a NULL field keeps the default above. */
struct config_path_flags {
	const char *procfs, *sysfs, *pvelib, *rundir;
};
/* Lays the given flags over c->paths (the one place flags meet the config). */
void config_apply_path_flags(struct config *c, const struct config_path_flags *f);

/*
 * Loads and validates a config file. On failure returns PE_CONFIG (or
 * PE_IO/PE_NOMEM) and appends to errors one "file:line:col: message\n"
 * line per problem found (all of them, not just the first). Warnings
 * (inline secrets, world-readable secret files) go to the log.
 * The result has refs == 1 and paths set to the defaults.
 */
enum perr config_load_file(const char *path, struct config **out, struct buf *errors) PE_WUR;
struct config *config_ref(struct config *c);
void config_unref(struct config *c); /* takes NULL */

/*
 * Reads a secret file as the loader reads *_secret_file (size cap, one
 * line, trailing newline dropped, registered with the logger for
 * redaction, a warning when others may read it). *secret is the caller's
 * (secret_free()). PE_IO/PE_CONFIG/PE_NOMEM with why set (never the secret).
 */
enum perr config_read_secret(const char *file, char **secret, char *why, size_t n) PE_WUR;

/* Prometheus duration ("90s", "1h30m", "7d", "500ms"); -1 when invalid. */
double config_parse_duration(const char *s);

const char *config_target_kind_str(enum target_kind k);
const struct config_pve *config_find_pve(const struct config *c, const char *name);
const struct config_mount *config_find_mount(const struct config *c, const char *name);
const struct config_n8n *config_find_n8n(const struct config *c, const char *name);
const struct config_pbs *config_find_pbs(const struct config *c, const char *name);
/* pve[].storages entry of storage id sid, or NULL (not configured: onsite, not immutable). */
const struct config_place *config_pve_place(const struct config_pve *p, const char *sid);

/* The exporter-toolkit web config (--web.config.file). */
struct web_user {
	char *name;
	char *bcrypt_hash;
};
struct web_header {
	char *name;
	char *value;
};
struct web_config {
	char *cert_file; /* tls_server_config.cert_file; NULL: plain HTTP */
	char *key_file;
	char *client_ca_file; /* optional */
	char *client_auth_type; /* NoClientCert (default), RequireAndVerifyClientCert, ... */
	char *min_version; /* TLS12 (default), TLS13 */
	struct web_user *users;
	size_t nusers;
	struct web_header *headers;
	size_t nheaders;
};

enum perr web_config_load_file(const char *path, struct web_config **out, struct buf *errors) PE_WUR;
void web_config_free(struct web_config *w);

/*
 * How persistencectl reaches Prometheus (--prometheus.config.file): the part
 * of Prometheus' own HTTP client configuration (prometheus/common
 * http_config: basic_auth, authorization, bearer_token(_file), tls_config)
 * that it supports; other keys are refused by name. File paths are made
 * absolute against the file's folder; secrets are read at load time,
 * registered with the logger for redaction, and wiped by
 * http_client_config_free.
 */
struct http_client_config {
	char *username; /* basic_auth.username; NULL without basic_auth */
	char *password; /* basic_auth.password(_file): secret */
	char *auth_type; /* authorization.type, "Bearer" by default and for bearer_token(_file) */
	char *credentials; /* authorization.credentials(_file) or bearer_token(_file): secret */
	char *ca_file, *cert_file, *key_file; /* tls_config */
	int insecure_skip_verify;
};

enum perr http_client_config_load_file(const char *path, struct http_client_config **out,
				       struct buf *errors) PE_WUR;
void http_client_config_free(struct http_client_config *c); /* takes NULL */

#endif
