/* log.h - logfmt/json logging to stderr, structured key/value pairs. */
#ifndef PE_LOG_H
#define PE_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_DEBUG = 0, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };
enum log_format { LOG_FMT_LOGFMT = 0, LOG_FMT_JSON };

/* Parses "debug|info|warn|error" / "logfmt|json"; -1 when unknown. */
int log_level_parse(const char *s);
int log_format_parse(const char *s);

void log_setup(enum log_level level, enum log_format format);
int log_enabled(enum log_level level);

/*
 * Registers a secret (token, API key, password): any occurrence in a
 * later log line is replaced by "<redacted>". A copy is kept. Defence in
 * depth only: callers must still never pass secrets.
 */
void log_add_secret(const char *secret);
void log_clear_secrets(void);

/*
 * Writes one line: level, msg, then key/value string pairs ended by NULL.
 * A NULL value prints as empty. Thread-safe: one write(2) per line.
 */
void log_kv(enum log_level level, const char *msg, ...) __attribute__((sentinel));

/* log_kv with the key/value pairs in a va_list (ended by NULL). */
void log_kvv(enum log_level level, const char *msg, va_list ap);

#define log_debug(...) log_kv(LOG_LVL_DEBUG, __VA_ARGS__, (const char *)NULL)
#define log_info(...) log_kv(LOG_LVL_INFO, __VA_ARGS__, (const char *)NULL)
#define log_warn(...) log_kv(LOG_LVL_WARN, __VA_ARGS__, (const char *)NULL)
#define log_error(...) log_kv(LOG_LVL_ERROR, __VA_ARGS__, (const char *)NULL)

#endif
