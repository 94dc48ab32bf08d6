/* drill_isolate.c - pure pieces of a restore drill: cutting netN, the isolation check, names, leftovers. */
#include "drill.h"
#include "fetch.h"
#include "pve.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cJSON.h"

static int di_is_net_key(const char *k)
{
	if (!k || strncmp(k, "net", 3) != 0 || !k[3])
		return 0;
	for (const char *p = k + 3; *p; p++)
		if (!isdigit((unsigned char)*p))
			return 0;
	return 1;
}

/* The value of key=... in a property string, or NULL; *len is its length. */
static const char *di_prop(const char *value, const char *key, size_t *len)
{
	size_t klen = strlen(key);
	const char *p = value;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			*len = n - klen - 1;
			return p + klen + 1;
		}
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

static int di_truthy(const char *v, size_t n)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	for (size_t i = 0; i < 4; i++)
		if (n == strlen(yes[i]) && strncasecmp(v, yes[i], n) == 0)
			return 1;
	return 0;
}

int drill_net_is_down(const char *value)
{
	size_t n;
	const char *v = value ? di_prop(value, "link_down", &n) : NULL;
	return v && di_truthy(v, n);
}

void drill_net_down(const char *value, struct buf *out)
{
	const char *p = value;
	int first = 1;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (!(n >= 10 && strncmp(p, "link_down=", 10) == 0) && n > 0) {
			if (!first)
				buf_addc(out, ',');
			buf_add(out, p, n);
			first = 0;
		}
		p = end ? end + 1 : NULL;
	}
	buf_adds(out, first ? "link_down=1" : ",link_down=1");
}

int drill_isolate_form(const cJSON *conf, int qemu, struct buf *form)
{
	const cJSON *it;
	int nets = 0;

	cJSON_ArrayForEach(it, conf)
	{
		if (!di_is_net_key(it->string) || !cJSON_IsString(it))
			continue;
		struct buf v;
		buf_init(&v, 0);
		drill_net_down(it->valuestring, &v);
		buf_addf(form, "%s%s=", form->len ? "&" : "", it->string);
		fetch_urlencode(form, buf_str(&v));
		buf_free(&v);
		nets++;
	}
	if (qemu)
		buf_addf(form, "%sfreeze=1", form->len ? "&" : "");
	if (form->len && pve_json_str(conf, "digest")) {
		buf_adds(form, "&digest=");
		fetch_urlencode(form, pve_json_str(conf, "digest"));
	}
	return nets;
}

int drill_is_isolated(const cJSON *conf, int qemu, struct buf *why)
{
	const cJSON *it;
	int ok = 1;

	if (!cJSON_IsObject(conf)) {
		buf_adds(why, "the config could not be read");
		return 0;
	}
	cJSON_ArrayForEach(it, conf)
	{
		if (!di_is_net_key(it->string))
			continue;
		if (!cJSON_IsString(it) || !drill_net_is_down(it->valuestring)) {
			buf_addf(why, "%s%s has no link_down=1", ok ? "" : "; ", it->string);
			ok = 0;
		}
	}
	if (qemu && !pve_json_bool(conf, "freeze", 0)) {
		buf_addf(why, "%sfreeze is not set", ok ? "" : "; ");
		ok = 0;
	}
	return ok;
}

const char *drill_boot_hazard(const cJSON *conf, int qemu)
{
	const char *args = pve_json_str(conf, "args");

	if (pve_json_str(conf, "hookscript"))
		return "the config has a hookscript: it would run on the node at start and stop, and only "
		       "root "
		       "can remove it";
	if (qemu && args && (strstr(args, "netdev") || strstr(args, "-nic") || strstr(args, "-net ")))
		return "the config's raw args add a network device that link_down does not cover";
	return NULL;
}

int drill_agent_enabled(const cJSON *conf)
{
	const char *a = pve_json_str(conf, "agent");
	size_t n;
	const char *en;
	double num;

	if (!a) /* a number, as some API versions print it */
		return pve_json_num(conf, "agent", &num) && num == 1;
	if (a[0] == '1' && (a[1] == '\0' || a[1] == ','))
		return 1;
	en = di_prop(a, "enabled", &n);
	return en && di_truthy(en, n);
}

void drill_guest_name(const char *prefix, const char *source, long vmid, char *out, size_t n)
{
	char raw[160];
	size_t len;

	snprintf(raw, sizeof(raw), "%s%s-%ld", prefix ? prefix : "", source ? source : "", vmid);
	len = strlen(raw);
	if (len > 63)
		len = 63;
	for (size_t i = 0; i < len && i + 1 < n; i++) {
		unsigned char c = (unsigned char)raw[i];
		out[i] = isalnum(c) || c == '-' ? (char)c : '-';
		out[i + 1] = '\0';
	}
	if (n && len == 0)
		out[0] = '\0';
}

/* An empty config: only the keys PVE adds itself (what a failed VM restore leaves). */
static int di_stub(const cJSON *conf)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, conf)
	{
		if (strcmp(it->string, "digest") != 0 && strcmp(it->string, "lock") != 0 &&
		    strcmp(it->string, "meta") != 0)
			return 0;
	}
	return 1;
}

enum drill_leftover drill_classify(const cJSON *item, const cJSON *conf, const struct config_drill *d)
{
	const char *pool = pve_json_str(item, "pool"), *name = pve_json_str(item, "name");
	const char *desc = pve_json_str(conf, "description");

	if (pool && d->pool && strcmp(pool, d->pool) == 0)
		return DRILL_LEFTOVER;
	if (name && d->name_prefix && *d->name_prefix &&
	    strncmp(name, d->name_prefix, strlen(d->name_prefix)) == 0)
		return DRILL_LEFTOVER;
	if (desc && strstr(desc, DRILL_MARKER))
		return DRILL_LEFTOVER;
	if (cJSON_IsObject(conf) && di_stub(conf))
		return DRILL_STUB;
	return DRILL_FOREIGN;
}

void drill_format_duration(double secs, char *out, size_t n)
{
	long s = secs > 0 ? (long)(secs + 0.5) : 0;

	if (s >= 3600)
		snprintf(out, n, "%ldh %ldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, n, "%ldm %lds", s / 60, s % 60);
	else
		snprintf(out, n, "%lds", s);
}
