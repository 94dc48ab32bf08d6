/* fuzz_expfmt.c - fuzzes the exposition format: label/HELP escaping, value formatting, hostile names. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "expfmt.h"
#include "replay.h"

/* Escaped text must stay on one line: no raw newline may survive. */
static void check_escape(const char *s)
{
	struct buf b;

	buf_init(&b, 0);
	expfmt_escape_label_value(&b, s);
	if (memchr(buf_str(&b), '\n', b.len))
		__builtin_trap();
	buf_reset(&b);
	expfmt_escape_help(&b, s);
	if (memchr(buf_str(&b), '\n', b.len))
		__builtin_trap();
	buf_free(&b);
}

/* A formatted value parses back to the same double (NaN and the infinities by name). */
static void check_value(const uint8_t *data, size_t size)
{
	double v;
	char out[64];

	if (size < sizeof(v))
		return;
	memcpy(&v, data, sizeof(v));
	expfmt_format_value(out, sizeof(out), v);
	if (isnan(v)) {
		if (strcmp(out, "NaN") != 0)
			__builtin_trap();
		return;
	}
	if (strtod(out, NULL) != v && !(isinf(v) && strcmp(out, v > 0 ? "+Inf" : "-Inf") == 0))
		__builtin_trap();
}

/* The input split at NULs: metric name, label name, label value, HELP. */
static void check_family(const char *s, size_t size)
{
	const char *part[4] = {"persistence_fuzz", "source", "", "help"};
	size_t n = 0;
	struct expfmt *e = expfmt_new(1 << 16);
	struct buf out;

	for (size_t off = 0; off < size && n < 4; n++) {
		part[n] = s + off;
		off += strlen(s + off) + 1;
	}
	struct expfmt_desc d = {part[0], EXPFMT_GAUGE, part[3]};
	const char *labels[] = {part[1], part[2], "node", part[2]};
	expfmt_addv(e, &d, 1.5, labels, 2);
	expfmt_add(e, &d, NAN, "source", part[2], NULL);
	buf_init(&out, 0);
	if (expfmt_write(e, &out) == PE_OK && out.len > 0) {
		/* every line is a comment or starts with a valid metric name */
		if (!expfmt_valid_metric_name(part[0]))
			__builtin_trap();
	}
	buf_free(&out);
	expfmt_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_escape(s);
	check_value(data, size);
	check_family(s, size);
	(void)expfmt_valid_label_name(s);
	free(s);
	return 0;
}
