/* exempt.c - publishes the configured exemptions (accepted states) as metrics the rules can join on. */
#include "exempt.h"

#include <stdio.h>

static const struct expfmt_desc d_guest = {"persistence_pve_guest_exempt", EXPFMT_GAUGE,
					   "1 for a guest the configuration exempts from coverage and "
					   "inventory alerts (pve[].exempt, and the ids "
					   "of pve[].drill.vmid_range), with the reason given there."};
static const struct expfmt_desc d_storage = {
	"persistence_pve_storage_exempt", EXPFMT_GAUGE,
	"1 for a backup storage the configuration exempts from PVEBackupStorageDown (pve[].exempt), with "
	"the reason given there."};

/* A restore drill's scratch guests come and go (pve[].drill.vmid_range): never a coverage or inventory problem. */
static void exempt_drill_range(struct expfmt *out, const struct config_pve *p)
{
	char id[24];

	for (long v = p->drill->vmid_lo; v > 0 && v <= p->drill->vmid_hi; v++) {
		snprintf(id, sizeof(id), "%ld", v);
		expfmt_add(out, &d_guest, 1, "source", p->name, "vmid", id, "reason", EXEMPT_DRILL_REASON,
			   NULL);
	}
}

const char *exempt_guest_reason(const struct config_pve *p, long vmid)
{
	for (size_t k = 0; k < p->nexempt; k++)
		if (!p->exempt[k].storage && p->exempt[k].vmid == vmid)
			return p->exempt[k].reason ? p->exempt[k].reason : "";
	if (p->drill && vmid >= p->drill->vmid_lo && vmid <= p->drill->vmid_hi && p->drill->vmid_lo > 0)
		return EXEMPT_DRILL_REASON;
	return NULL;
}

void exempt_emit(struct expfmt *out, const struct config *cfg)
{
	for (size_t i = 0; cfg && i < cfg->npve; i++) {
		const struct config_pve *p = &cfg->pve[i];
		if (p->drill)
			exempt_drill_range(out, p);
		for (size_t k = 0; k < p->nexempt; k++) {
			const struct config_exempt *x = &p->exempt[k];
			char id[24];
			if (x->storage) {
				expfmt_add(out, &d_storage, 1, "source", p->name, "storage", x->storage,
					   "reason", x->reason ? x->reason : "", NULL);
				continue;
			}
			snprintf(id, sizeof(id), "%ld", x->vmid);
			expfmt_add(out, &d_guest, 1, "source", p->name, "vmid", id, "reason",
				   x->reason ? x->reason : "", NULL);
		}
	}
}
