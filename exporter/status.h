/* status.h - the status page (/) and its JSON twin (/status), rendered from a finished scrape. */
#ifndef PE_STATUS_H
#define PE_STATUS_H

#include "buf.h"
#include "err.h"
#include "scrape.h"

enum perr status_render_html(struct scrape *s, struct buf *out) PE_WUR;
enum perr status_render_json(struct scrape *s, struct buf *out) PE_WUR;
/* Aligned plain text for persistencectl; ANSI colour only when color is set (a terminal). */
enum perr status_render_text(struct scrape *s, struct buf *out, int color) PE_WUR;

/* HTML-escapes s (& < > " ') onto out. */
void status_html_escape(struct buf *out, const char *s);

#endif
