/* archive_name.h - parse vzdump archive file names and turn their local time into Unix time. */
#ifndef PE_ARCHIVE_NAME_H
#define PE_ARCHIVE_NAME_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

enum archive_guest { ARCHIVE_QEMU = 0, ARCHIVE_LXC };

/* A wall-clock time as written in an archive name (in the PVE node's zone). */
struct archive_time {
	int year, mon, day; /* mon 1..12 */
	int hour, min, sec;
};

struct archive_name {
	enum archive_guest guest;
	long vmid; /* 100 .. 999999999 */
	struct archive_time t;
	char ext[16]; /* "vma.zst", "tar", "tgz", ... */
};

/*
 * Parses "vzdump-{qemu|lxc}-VMID-YYYY_MM_DD-HH_MM_SS.EXT" where EXT is
 * vma[.zst|.gz|.lzo] for qemu and tar[.zst|.gz|.lzo] or tgz for lxc.
 * PE_PARSE for anything else: side files (.log, .notes, .protected),
 * partial files (.dat, .tmp), impossible dates (month 13, Feb 30,
 * hour 24), a VMID out of PVE's range or with a leading zero.
 */
enum perr archive_name_parse(const char *name, struct archive_name *out) PE_WUR;

const char *archive_guest_str(enum archive_guest g); /* "qemu" / "lxc" */

/* A number that orders wall-clock times: YYYYMMDDhhmmss. */
int64_t archive_time_key(const struct archive_time *t);

/* 1 when zone looks like an IANA zone name and its TZif file exists; NULL/"" (local zone) is valid. */
int archive_zone_valid(const char *zone);

/*
 * Converts n wall-clock times in zone (IANA name; NULL or "" = the
 * exporter's local zone) to Unix times. The zone is switched once for
 * the whole batch. PE_INVAL for an unknown zone (msg says which).
 * Thread-safe: see the comment in archive_name.c.
 */
enum perr archive_times_to_unix(const char *zone, const struct archive_time *t, size_t n, int64_t *out,
				char *msg, size_t msglen) PE_WUR;

#endif
