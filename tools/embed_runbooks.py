#!/usr/bin/env python3
"""Renders docs/runbooks/*.md to HTML pages and writes them as a C table, compiled into the exporter.

Usage: embed_runbooks.py OUT.c RUNBOOK.md...

The exporter serves each page at /runbooks/<AlertName> (exporter/runbook.c), so the link in
an alert opens without any install path. Markdown subset: # headings, paragraphs, - and 1.
lists (with indented continuation, also code blocks inside items), ``` code blocks, | tables,
and `code`, **bold**, *emphasis*, [text](link) inline. A link to another runbook (X.md)
points at its page; any other relative link becomes plain text naming the file.
"""
import html
import os
import re
import sys

NAME_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
LIST_RE = re.compile(r"^( *)([-*]|\d+\.) +(.*)$")
FENCE_RE = re.compile(r"^( *)```")
STYLE = ("body{font-family:system-ui,sans-serif;max-width:52rem;margin:1.5rem auto;padding:0 1rem;"
         "line-height:1.45;color:#222}pre{background:#f4f4f4;padding:.6rem;overflow-x:auto}"
         "code{background:#f4f4f4;padding:0 .2rem}pre code{padding:0}nav{font-size:.9rem;color:#555}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}")


def inline(text):
    """Escapes text and applies the inline subset; code spans are protected from the rest."""
    out, pos = [], 0
    for m in re.finditer(r"`([^`]*)`", text):
        out.append(inline_plain(text[pos:m.start()]))
        out.append("<code>%s</code>" % html.escape(m.group(1)))
        pos = m.end()
    out.append(inline_plain(text[pos:]))
    return "".join(out)


def link(m):
    label, target = m.group(1), html.unescape(m.group(2))
    if re.match(r"^https?://", target):
        return '<a href="%s">%s</a>' % (html.escape(target), label)
    page = os.path.basename(target)
    if target == page and page.endswith(".md") and NAME_RE.match(page[:-3]):
        return '<a href="%s">%s</a>' % (page[:-3], label)
    return "%s (%s)" % (label, html.escape(target))


def inline_plain(text):
    s = html.escape(text, quote=False)
    s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
    s = re.sub(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", r"<em>\1</em>", s)
    return re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", link, s)


def dedent(lines, n):
    return [line[n:] if line[:n].strip() == "" else line.lstrip() for line in lines]


def code_block(lines, i):
    """(html, next index) for the fenced block starting at lines[i]."""
    indent = len(FENCE_RE.match(lines[i]).group(1))
    body, i = [], i + 1
    while i < len(lines) and not FENCE_RE.match(lines[i]):
        body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
        i += 1
    return "<pre><code>%s</code></pre>\n" % html.escape("\n".join(body)), i + 1


def list_block(lines, i):
    """(html, next index) for the list starting at lines[i]; items keep their indented lines."""
    m = LIST_RE.match(lines[i])
    indent, ordered = len(m.group(1)), m.group(2)[0].isdigit()
    items = []
    while i < len(lines):
        m = LIST_RE.match(lines[i])
        if not m or len(m.group(1)) != indent or m.group(2)[0].isdigit() != ordered:
            break
        body_indent = indent + len(m.group(2)) + 1
        item, i = [m.group(3)], i + 1
        while i < len(lines):
            line = lines[i]
            if line.strip() == "":
                nxt = next((x for x in lines[i + 1:] if x.strip()), "")
                if len(nxt) - len(nxt.lstrip()) > indent:
                    item.append("")
                    i += 1
                    continue
                break
            if len(line) - len(line.lstrip()) <= indent:
                break
            item.append(line)
            i += 1
        items.append(render(dedent(item, body_indent), tight=True))
        while i < len(lines) and lines[i].strip() == "" and i + 1 < len(lines) and LIST_RE.match(lines[i + 1]) \
                and len(LIST_RE.match(lines[i + 1]).group(1)) == indent:
            i += 1
    tag = "ol" if ordered else "ul"
    return "<%s>\n%s</%s>\n" % (tag, "".join("<li>%s</li>\n" % it for it in items), tag), i


def table_block(lines, i):
    rows = []
    while i < len(lines) and lines[i].lstrip().startswith("|"):
        cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
        if not all(re.match(r"^:?-+:?$", c) for c in cells):
            rows.append(cells)
        i += 1
    out = ["<table>\n"]
    for n, row in enumerate(rows):
        tag = "th" if n == 0 else "td"
        out.append("<tr>%s</tr>\n" % "".join("<%s>%s</%s>" % (tag, inline(c), tag) for c in row))
    out.append("</table>\n")
    return "".join(out), i


def render(lines, tight=False):
    """HTML for a list of markdown lines. tight: a lone paragraph is not wrapped in <p>."""
    out, para, i = [], [], 0

    def flush():
        if para:
            out.append(("%s" if tight and not out else "<p>%s</p>\n") % inline(" ".join(para)))
            para.clear()

    while i < len(lines):
        line = lines[i]
        if line.strip() == "":
            flush()
            i += 1
        elif FENCE_RE.match(line):
            flush()
            block, i = code_block(lines, i)
            out.append(block)
        elif re.match(r"^#{1,6} ", line):
            flush()
            level = len(line) - len(line.lstrip("#"))
            out.append("<h%d>%s</h%d>\n" % (level, inline(line[level:].strip()), level))
            i += 1
        elif LIST_RE.match(line) and not para:
            block, i = list_block(lines, i)
            out.append(block)
        elif line.lstrip().startswith("|") and not para:
            block, i = table_block(lines, i)
            out.append(block)
        else:
            para.append(line.strip())
            i += 1
    flush()
    return "".join(out)


def page(name, text):
    body = render(text.splitlines())
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>%s - persistence_exporter runbook</title><style>%s</style></head><body>\n"
            '<nav><a href="./">all runbooks</a> &middot; <a href="../">exporter status</a></nav>\n'
            "%s</body></html>\n" % (html.escape(name), STYLE, body))


def c_string(s):
    """A C string literal, split into lines; every non-ASCII or special byte is escaped."""
    out, line = [], []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c == "\\" or c == '"':
            line.append("\\" + c)
        elif c == "\n":
            line.append("\\n")
            out.append('"%s"' % "".join(line))
            line = []
        elif 32 <= b < 127 and not (c == "?" and line and line[-1] == "?"):
            line.append(c)
        else:
            line.append("\\%03o" % b)
    if line or not out:
        out.append('"%s"' % "".join(line))
    return "\n\t".join(out)


def main(argv):
    if len(argv) < 2:
        sys.exit("usage: embed_runbooks.py OUT.c RUNBOOK.md...")
    out_path, sources = argv[1], sorted(argv[2:], key=os.path.basename)
    entries = []
    for path in sources:
        name = os.path.basename(path)[:-3] if path.endswith(".md") else ""
        if not NAME_RE.match(name):
            sys.exit("embed_runbooks: %s: a runbook is named <AlertName>.md" % path)
        with open(path, encoding="utf-8") as f:
            entries.append((name, page(name, f.read())))
    if not entries:
        sys.exit("embed_runbooks: no runbooks given")
    lines = ["/* Generated by tools/embed_runbooks.py from docs/runbooks; do not edit. */",
             '#include "runbook.h"', "", "const struct runbook runbook_table[] = {"]
    for name, text in entries:
        lines.append('\t{"%s",\n\t%s,\n\t%d},' % (name, c_string(text), len(text.encode("utf-8"))))
    lines += ["};", "const size_t runbook_count = %d;" % len(entries), ""]
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("\n".join(lines))
    os.replace(tmp, out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
