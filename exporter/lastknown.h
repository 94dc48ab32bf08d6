/* lastknown.h - values remembered across scrapes, so an outage of a source does not erase what was known. */
#ifndef PE_LASTKNOWN_H
#define PE_LASTKNOWN_H

#include "err.h"

/*
 * A thread-safe map from a key to the last value read while its source
 * answered, with the time it was read. Owned by the scrape state (one per
 * process): an exporter restart forgets everything. At most
 * LASTKNOWN_MAX_KEYS keys; past that new keys are not remembered.
 */
#define LASTKNOWN_MAX_KEYS 65536
/* How long a value is handed out after it was last read. */
#define LASTKNOWN_MAX_AGE (7 * 86400.0)

struct lastknown;

struct lastknown *lastknown_new(void);
void lastknown_free(struct lastknown *m); /* takes NULL */

/* Remembers v for key, read at time now (unix seconds). PE_NOMEM / PE_TOOBIG when not stored. */
enum perr lastknown_put(struct lastknown *m, const char *key, double v, double now) PE_WUR;
/* The source answered that key has no value any more: forget it. */
void lastknown_forget(struct lastknown *m, const char *key);
/*
 * 1 with *v and *read_at when key was put at most LASTKNOWN_MAX_AGE
 * before now; 0 otherwise (an expired value is dropped).
 */
int lastknown_get(struct lastknown *m, const char *key, double now, double *v, double *read_at);

#endif
