/* exempt.c - publishes the configured exemptions (accepted states) as metrics the rules can join on. */
#include "exempt.h"

#include <stdio.h>

static const struct expfmt_desc d_guest = {
	"persistence_pve_guest_exempt", EXPFMT_GAUGE,
	"1 for a guest the configuration exempts from coverage and inventory alerts (pve[].exempt), with "
	"the reason given there."};
static const struct expfmt_desc d_storage = {
	"persistence_pve_storage_exempt", EXPFMT_GAUGE,
	"1 for a backup storage the configuration exempts from PVEBackupStorageDown (pve[].exempt), with "
	"the reason given there."};

void exempt_emit(struct expfmt *out, const struct config *cfg)
{
	for (size_t i = 0; cfg && i < cfg->npve; i++) {
		const struct config_pve *p = &cfg->pve[i];
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
