/* html.h - escaping text for the HTML pages (the status page, the compliance report). */
#ifndef PE_HTML_H
#define PE_HTML_H

#include "buf.h"

/*
 * Appends s to out as HTML text safe in an element or a quoted attribute:
 * & < > " ' become entities, control characters (and DEL) become '?'.
 * A NULL s appends nothing. Errors stick in out (see buf.h).
 */
void html_escape(struct buf *out, const char *s);

#endif
