/* status.h - the status page (/), its JSON twin (/status) and persistencectl's text, from a finished scrape. */
#ifndef PE_STATUS_H
#define PE_STATUS_H

#include "buf.h"
#include "err.h"
#include "scrape.h"

enum perr status_render_html(struct scrape *s, struct buf *out) PE_WUR;
enum perr status_render_json(struct scrape *s, struct buf *out) PE_WUR;
/* Aligned plain text for persistencectl; ANSI colour only when color is set (a terminal). */
enum perr status_render_text(struct scrape *s, struct buf *out, int color) PE_WUR;

/*
 * persistencectl's exit code for a finished scrape: 0 every target OK and
 * every source up, 1 degraded (a target not OK or a source down), 2 the
 * inventory was not evaluated although targets are configured.
 */
int status_verdict(struct scrape *s);

#endif
