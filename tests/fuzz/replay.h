/* replay.h - main() for a fuzz harness built without libFuzzer: runs files and directories through LLVMFuzzerTestOneInput. */
#ifndef PE_FUZZ_REPLAY_H
#define PE_FUZZ_REPLAY_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef FUZZ_LIBFUZZER
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Each input gets its own heap copy of exactly its size, so ASan sees reads past the end. */
static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;
	uint8_t *data;

	if (!f) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		return 1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return 1;
	}
	data = malloc(n > 0 ? (size_t)n : 1);
	if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
		free(data);
		fclose(f);
		return 1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)n);
	free(data);
	return 0;
}

static int replay_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays every regular file of dir in name order; returns how many, or -1. */
static long replay_dir(const char *dir, int *fail)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	long count = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nn = realloc(names, cap * sizeof(*names));
			if (!nn)
				break;
			names = nn;
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), replay_cmp); /* an empty folder: names is NULL */
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		struct stat sb;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (names[i] && stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
			*fail |= replay_file(path);
			count++;
		}
		free(names[i]);
	}
	free(names);
	return count;
}

int main(int argc, char **argv)
{
	int fail = 0;
	long total = 0;

	for (int i = 1; i < argc; i++) {
		struct stat sb;

		if (stat(argv[i], &sb) != 0)
			continue; /* a target without crash reproducers has no crashes/ folder */
		if (S_ISDIR(sb.st_mode)) {
			long n = replay_dir(argv[i], &fail);
			total += n > 0 ? n : 0;
		} else {
			fail |= replay_file(argv[i]);
			total++;
		}
	}
	printf("%s: replayed %ld inputs%s\n", argv[0], total, fail ? " (some unreadable)" : "");
	return fail;
}
#endif

#endif
