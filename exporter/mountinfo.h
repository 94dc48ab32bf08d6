/* mountinfo.h - pure parser for /proc/self/mountinfo lines. */
#ifndef PE_MOUNTINFO_H
#define PE_MOUNTINFO_H

#include <stddef.h>
#include "err.h"

#define MOUNTINFO_PATH_MAX 4096
#define MOUNTINFO_FIELD_MAX 256

/* One mount, with octal escapes (\040 \011 \012 \134) decoded. */
struct mountinfo_entry {
	char devno[32]; /* "major:minor" */
	char root[MOUNTINFO_PATH_MAX];
	char mount_point[MOUNTINFO_PATH_MAX];
	char fstype[MOUNTINFO_FIELD_MAX]; /* "nfs4", "fuse.hangfs", ... */
	char source[MOUNTINFO_PATH_MAX]; /* mount source: "nas:/volume1/backups", "/dev/sda1", "none" */
};

/*
 * Parses one line (without or with its trailing newline):
 *   id parent major:minor root mount_point options [optional...] - fstype source super_options
 * PE_PARSE for a malformed line (too few fields, no " - " separator,
 * a field too long for the entry).
 */
enum perr mountinfo_parse_line(const char *line, size_t len, struct mountinfo_entry *e) PE_WUR;

/*
 * Finds the mount whose mount point equals path (trailing slashes of path
 * ignored) in a whole mountinfo text. The last matching line wins: it is
 * the top of a stack of over-mounts. Malformed lines are skipped.
 * PE_OK and *e filled, or PE_NOTFOUND.
 */
enum perr mountinfo_find(const char *text, size_t len, const char *path, struct mountinfo_entry *e) PE_WUR;

/* Decodes the kernel's octal escapes of src[0..n) into dst (size dstlen); PE_TOOBIG when it does not fit. */
enum perr mountinfo_unescape(const char *src, size_t n, char *dst, size_t dstlen) PE_WUR;

#endif
