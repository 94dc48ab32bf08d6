/* restore_policy.c - a target's restorability verdict (pure): copies, offsite copies, verification, vzdump log. */
#include "restore_policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "inventory.h"

/* Appends one reason, "; " between reasons; a reason that does not fit is cut (the first ones matter most). */
static void restore_reason(struct restore_verdict *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void restore_reason(struct restore_verdict *v, const char *fmt, ...)
{
	size_t len = strlen(v->reason);
	va_list ap;

	if (len && len + 2 < sizeof(v->reason)) {
		memcpy(v->reason + len, "; ", 3);
		len += 2;
	}
	if (len + 1 >= sizeof(v->reason))
		return;
	va_start(ap, fmt);
	vsnprintf(v->reason + len, sizeof(v->reason) - len, fmt, ap);
	va_end(ap);
	v->ok = 0;
}

static void restore_count(const struct restore_facts *f, double max_age, double now,
			  struct restore_verdict *v)
{
	for (size_t i = 0; i < f->nplaces; i++) {
		const struct restore_place *pl = &f->places[i];
		if (pl->newest <= 0 || now - pl->newest >= max_age)
			continue;
		v->copies++;
		v->offsite_copies += pl->offsite != 0;
	}
}

static void restore_verification(const struct restore_facts *f, double max_age, double now,
				 struct restore_verdict *v)
{
	char age[32];
	int recent = f->last_failed > 0 && now - f->last_failed < max_age;

	v->verify_failed = f->newest_failed || recent ? 1 : f->verifiable || f->last_failed > 0 ? 0 : -1;
	if (f->newest_failed) {
		restore_reason(v, "newest backup failed verification");
	} else if (recent) {
		inventory_format_age(age, sizeof(age), now - f->last_failed);
		restore_reason(v, "a backup from %s ago failed verification", age);
	}
}

static void restore_log_reason(const struct restore_facts *f, struct restore_verdict *v)
{
	if (f->log == RESTORE_LOG_FAILED && f->log_error && *f->log_error)
		restore_reason(v, "newest backup's log reports an error: %.80s", f->log_error);
	else if (f->log == RESTORE_LOG_FAILED)
		restore_reason(v, "newest backup's log reports an error");
	else if (f->log == RESTORE_LOG_UNFINISHED)
		restore_reason(v, "newest backup's log does not show it finished");
}

static void restore_verified_age(const struct restore_facts *f, const struct restore_policy *p, double now,
				 struct restore_verdict *v)
{
	char age[32], max[32];

	if (p->max_verify_age <= 0)
		return;
	if (f->last_verified <= 0) {
		restore_reason(v, "no verified backup");
		return;
	}
	if (now - f->last_verified < p->max_verify_age)
		return;
	inventory_format_age(age, sizeof(age), now - f->last_verified);
	inventory_format_max_age(max, sizeof(max), p->max_verify_age);
	restore_reason(v, "newest verified backup %s old, max %s", age, max);
}

void restore_judge(const struct restore_facts *f, const struct restore_policy *p, double max_age, double now,
		   struct restore_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->ok = 1;
	restore_count(f, max_age, now, v);
	restore_verification(f, max_age, now, v);
	restore_log_reason(f, v);
	if (v->copies > 0 && v->copies < p->min_copies)
		restore_reason(v, "%ld cop%s, policy wants %ld", v->copies, v->copies == 1 ? "y" : "ies",
			       p->min_copies);
	if (p->require_offsite && v->copies > 0 && v->offsite_copies == 0)
		restore_reason(v, "no offsite copy");
	restore_verified_age(f, p, now, v);
}
