/* fuzz_config.c - fuzzes the YAML config and web-config loaders (config_load_file, web_config_load_file). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "replay.h"

/* The loaders take a path: the input is served from an in-memory file. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	char path[64];
	struct config *cfg = NULL;
	struct web_config *web = NULL;
	struct buf errors;
	int fd;

	if (!quiet) {
		log_setup(LOG_LVL_ERROR, LOG_FMT_LOGFMT);
		quiet = 1;
	}
	fd = memfd_create("fuzz-config", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	buf_init(&errors, 1 << 20);
	if (config_load_file(path, &cfg, &errors) == PE_OK) {
		if (!cfg)
			__builtin_trap();
		config_unref(cfg);
	}
	buf_reset(&errors);
	if (web_config_load_file(path, &web, &errors) == PE_OK) {
		if (!web)
			__builtin_trap();
		web_config_free(web);
	}
	buf_free(&errors);
	close(fd);
	return 0;
}
