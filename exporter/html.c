/* html.c - escaping text for the HTML pages: one escaper for every page the project writes. */
#include "html.h"

void html_escape(struct buf *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			buf_adds(out, "&amp;");
			break;
		case '<':
			buf_adds(out, "&lt;");
			break;
		case '>':
			buf_adds(out, "&gt;");
			break;
		case '"':
			buf_adds(out, "&quot;");
			break;
		case '\'':
			buf_adds(out, "&#39;");
			break;
		default:
			buf_addc(out, ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s);
		}
	}
}
