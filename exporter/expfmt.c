/* expfmt.c - Prometheus text format: families, escaping, value formatting. */
#include "expfmt.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPFMT_MAX_LABELS 16

struct expfmt_family {
	const struct expfmt_desc *desc;
	struct buf lines; /* sample lines, each ending in \n */
	size_t nsamples;
};

struct expfmt {
	struct expfmt_family *fam;
	size_t nfam, capfam;
	size_t last; /* index of the last family used: a cheap lookup cache */
	size_t max_bytes; /* cap on the sum of all sample lines */
	size_t bytes;
	size_t nsamples;
	enum perr err;
};

struct expfmt *expfmt_new(size_t max_bytes)
{
	struct expfmt *e = calloc(1, sizeof(*e));
	if (e)
		e->max_bytes = max_bytes;
	return e;
}

void expfmt_free(struct expfmt *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nfam; i++)
		buf_free(&e->fam[i].lines);
	free(e->fam);
	free(e);
}

static int is_name_start(char c, int colon_ok)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_ok && c == ':');
}

static int valid_name(const char *s, int colon_ok)
{
	if (!s || !is_name_start(*s, colon_ok))
		return 0;
	for (s++; *s; s++)
		if (!is_name_start(*s, colon_ok) && !(*s >= '0' && *s <= '9'))
			return 0;
	return 1;
}

int expfmt_valid_metric_name(const char *s)
{
	return valid_name(s, 1);
}

int expfmt_valid_label_name(const char *s)
{
	return valid_name(s, 0) && strncmp(s, "__", 2) != 0;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t utf8_seq_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	size_t n;
	unsigned int min;
	unsigned int cp;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2, min = 0x80, cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3, min = 0x800, cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4, min = 0x10000, cp = p[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void expfmt_escape_label_value(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t plain = 0;

	while (p[plain] >= 0x20 && p[plain] < 0x7f && p[plain] != '\\' && p[plain] != '"')
		plain++;
	if (!p[plain]) { /* the usual value: printable ASCII with nothing to escape */
		buf_add(out, p, plain);
		return;
	}
	while (*p) {
		if (*p == '\\') {
			buf_adds(out, "\\\\");
			p++;
		} else if (*p == '"') {
			buf_adds(out, "\\\"");
			p++;
		} else if (*p == '\n') {
			buf_adds(out, "\\n");
			p++;
		} else {
			size_t n = utf8_seq_len(p);
			if (n == 0) {
				buf_adds(out, "\xef\xbf\xbd");
				p++;
			} else {
				buf_add(out, p, n);
				p += n;
			}
		}
	}
}

void expfmt_escape_help(struct buf *out, const char *s)
{
	size_t plain = strcspn(s, "\\\n");

	buf_add(out, s, plain); /* the usual help text has nothing to escape */
	for (s += plain; *s; s++) {
		if (*s == '\\')
			buf_adds(out, "\\\\");
		else if (*s == '\n')
			buf_adds(out, "\\n");
		else
			buf_addc(out, *s);
	}
}

/* A whole number below 1e15 as "%.0f" writes it (including "-0"), without printf's float path. */
static void expfmt_format_integer(char *out, size_t n, double v)
{
	char tmp[24];
	size_t len = 0;
	long long x = (long long)v;
	unsigned long long u = x < 0 ? (unsigned long long)-x : (unsigned long long)x;

	do {
		tmp[len++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (signbit(v))
		tmp[len++] = '-';
	if (n == 0)
		return;
	size_t w = 0;
	while (len && w + 1 < n)
		out[w++] = tmp[--len];
	out[w] = '\0';
}

void expfmt_format_value(char *out, size_t n, double v)
{
	if (isnan(v)) {
		snprintf(out, n, "NaN");
	} else if (isinf(v)) {
		snprintf(out, n, v > 0 ? "+Inf" : "-Inf");
	} else if (v == floor(v) && fabs(v) < 1e15) {
		expfmt_format_integer(out, n, v);
	} else {
		/* shortest of %.15g..%.17g that reads back exactly */
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(out, n, "%.*g", prec, v);
			if (strtod(out, NULL) == v)
				break;
		}
	}
}

/* Finds or creates the family for d; NULL on error (sticky). */
static struct expfmt_family *expfmt_find(struct expfmt *e, const struct expfmt_desc *d)
{
	/* the same desc first (collectors keep theirs static), from the family used last: runs are common */
	for (size_t k = 0; k < e->nfam; k++) {
		size_t i = (e->last + k) % e->nfam;
		if (e->fam[i].desc == d)
			return &e->fam[i];
	}
	for (size_t i = 0; i < e->nfam; i++) /* another desc of the same name */
		if (strcmp(e->fam[i].desc->name, d->name) == 0)
			return &e->fam[i];
	return NULL;
}

static struct expfmt_family *expfmt_family(struct expfmt *e, const struct expfmt_desc *d)
{
	struct expfmt_family *f = expfmt_find(e, d);

	if (f) {
		if (f->desc->type != d->type) {
			e->err = PE_INVAL;
			return NULL;
		}
		e->last = (size_t)(f - e->fam);
		return f;
	}
	if (!expfmt_valid_metric_name(d->name)) {
		e->err = PE_INVAL;
		return NULL;
	}
	if (e->nfam == e->capfam) {
		size_t ncap = e->capfam ? e->capfam * 2 : 16;
		struct expfmt_family *nf = realloc(e->fam, ncap * sizeof(*nf));
		if (!nf) {
			e->err = PE_NOMEM;
			return NULL;
		}
		e->fam = nf;
		e->capfam = ncap;
	}
	f = &e->fam[e->nfam];
	f->desc = d;
	f->nsamples = 0;
	buf_init(&f->lines, 0);
	e->last = e->nfam++;
	return f;
}

/* Writes v escaped as a label value at w (room for 3 bytes per input byte); returns the end. */
static char *expfmt_escape_to(char *w, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;

	while (*p) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\' && *p != '"') {
			*w++ = (char)*p++;
		} else if (*p == '\\' || *p == '"' || *p == '\n') {
			*w++ = '\\';
			*w++ = *p == '\n' ? 'n' : (char)*p;
			p++;
		} else {
			size_t n = utf8_seq_len(p);
			if (n == 0) {
				memcpy(w, "\xef\xbf\xbd", 3);
				w += 3;
				p++;
			} else {
				memcpy(w, p, n);
				w += n;
				p += n;
			}
		}
	}
	return w;
}

/*
 * One sample line, written straight into room reserved once for its
 * longest escaping (a collection adds tens of thousands of these).
 */
void expfmt_addv(struct expfmt *e, const struct expfmt_desc *d, double value, const char *const *labels,
		 size_t npairs)
{
	if (!e || e->err)
		return;
	struct expfmt_family *f = expfmt_family(e, d);
	if (!f)
		return;
	struct buf *b = &f->lines;
	size_t nlen = strlen(d->name), need = nlen + 48; /* the value takes at most 40 bytes */
	char num[40];

	for (size_t i = 0; i < npairs; i++) {
		if (!expfmt_valid_label_name(labels[2 * i])) {
			e->err = PE_INVAL;
			return;
		}
		need += strlen(labels[2 * i]) + 4 + 3 * strlen(labels[2 * i + 1] ? labels[2 * i + 1] : "");
	}
	if (buf_reserve(b, need) != PE_OK) {
		e->err = buf_err(b);
		return;
	}
	char *w = b->data + b->len;
	memcpy(w, d->name, nlen);
	w += nlen;
	for (size_t i = 0; i < npairs; i++) {
		size_t klen = strlen(labels[2 * i]);
		*w++ = i == 0 ? '{' : ',';
		memcpy(w, labels[2 * i], klen);
		w += klen;
		*w++ = '=';
		*w++ = '"';
		w = expfmt_escape_to(w, labels[2 * i + 1] ? labels[2 * i + 1] : "");
		*w++ = '"';
	}
	if (npairs)
		*w++ = '}';
	expfmt_format_value(num, sizeof(num), value);
	*w++ = ' ';
	size_t vlen = strlen(num);
	memcpy(w, num, vlen);
	w += vlen;
	*w++ = '\n';
	size_t added = (size_t)(w - (b->data + b->len));
	if (e->max_bytes && e->bytes + added > e->max_bytes) {
		e->err = PE_TOOBIG;
		b->data[b->len] = '\0';
		return;
	}
	b->len += added;
	b->data[b->len] = '\0';
	e->bytes += added;
	f->nsamples++;
	e->nsamples++;
}

void expfmt_add(struct expfmt *e, const struct expfmt_desc *d, double value, ...)
{
	const char *labels[2 * EXPFMT_MAX_LABELS];
	size_t n = 0;
	va_list ap;
	va_start(ap, value);
	for (;;) {
		const char *k = va_arg(ap, const char *);
		if (!k)
			break;
		const char *v = va_arg(ap, const char *);
		if (n == EXPFMT_MAX_LABELS) {
			if (e)
				e->err = PE_INVAL;
			va_end(ap);
			return;
		}
		labels[2 * n] = k;
		labels[2 * n + 1] = v;
		n++;
	}
	va_end(ap);
	expfmt_addv(e, d, value, labels, n);
}

enum perr expfmt_err(const struct expfmt *e)
{
	return e ? e->err : PE_INVAL;
}

size_t expfmt_samples(const struct expfmt *e)
{
	return e ? e->nsamples : 0;
}

enum perr expfmt_merge(struct expfmt *dst, struct expfmt *src)
{
	for (size_t i = 0; i < src->nfam; i++) {
		struct expfmt_family *sf = &src->fam[i];
		if (!sf->nsamples)
			continue;
		struct expfmt_family *df = expfmt_family(dst, sf->desc);
		if (!df)
			return dst->err;
		size_t moved = sf->lines.len;
		if (df->lines.len == 0) {
			/* the usual case (one source per family): hand the lines over, no copy */
			struct buf empty = df->lines;
			df->lines = sf->lines;
			sf->lines = empty;
		} else if (buf_add(&df->lines, sf->lines.data, sf->lines.len)) {
			return dst->err = buf_err(&df->lines);
		}
		df->nsamples += sf->nsamples;
		dst->nsamples += sf->nsamples;
		dst->bytes += moved;
		buf_free(&sf->lines);
		sf->nsamples = 0;
	}
	src->nsamples = 0;
	src->bytes = 0;
	return PE_OK;
}

static int family_cmp(const void *a, const void *b)
{
	const struct expfmt_family *const *fa = a;
	const struct expfmt_family *const *fb = b;
	return strcmp((*fa)->desc->name, (*fb)->desc->name);
}

static const char *const type_names[] = {"gauge", "counter", "untyped"};

/* Appends every family in name order; with release, each family's lines are freed once copied. */
static enum perr expfmt_write_mode(struct expfmt *e, struct buf *out, int release)
{
	if (!e->nfam)
		return PE_OK;
	struct expfmt_family **order = malloc(e->nfam * sizeof(*order));
	if (!order)
		return PE_NOMEM;
	size_t total = 0;
	for (size_t i = 0; i < e->nfam; i++) {
		order[i] = &e->fam[i];
		total += e->fam[i].lines.len + 2 * strlen(e->fam[i].desc->name) +
			 strlen(e->fam[i].desc->help) + 32;
	}
	qsort(order, e->nfam, sizeof(*order), family_cmp);
	if (total <= out->max - out->len) /* an estimate: never let it fail a write that would fit */
		(void)buf_reserve(out, total); /* one allocation instead of doubling */
	for (size_t i = 0; i < e->nfam; i++) {
		struct expfmt_family *f = order[i];
		if (!f->nsamples)
			continue;
		buf_adds(out, "# HELP ");
		buf_adds(out, f->desc->name);
		buf_addc(out, ' ');
		expfmt_escape_help(out, f->desc->help);
		buf_adds(out, "\n# TYPE ");
		buf_adds(out, f->desc->name);
		buf_addc(out, ' ');
		buf_adds(out, type_names[f->desc->type]);
		buf_addc(out, '\n');
		buf_add(out, f->lines.data, f->lines.len);
		if (release) {
			buf_free(&f->lines);
			f->nsamples = 0;
		}
	}
	free(order);
	if (release)
		e->nsamples = e->bytes = 0;
	return buf_err(out);
}

enum perr expfmt_write(const struct expfmt *e, struct buf *out)
{
	return expfmt_write_mode((struct expfmt *)e, out, 0); /* release 0: nothing in e changes */
}

enum perr expfmt_write_release(struct expfmt *e, struct buf *out)
{
	return expfmt_write_mode(e, out, 1);
}
