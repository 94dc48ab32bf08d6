/* err.h - the project's one error enum and its message strings. */
#ifndef PE_ERR_H
#define PE_ERR_H

#define PE_WUR __attribute__((warn_unused_result))

enum perr {
	PE_OK = 0,
	PE_NOMEM, /* allocation failed */
	PE_INVAL, /* bad argument or bad input value */
	PE_IO, /* a read/write/open failed */
	PE_PARSE, /* input could not be parsed (JSON, YAML, text) */
	PE_CONFIG, /* configuration is invalid */
	PE_TIMEOUT, /* a deadline passed */
	PE_TOOBIG, /* a size cap was hit */
	PE_TLS, /* TLS handshake or verification failed */
	PE_CONNECT, /* could not connect to an upstream */
	PE_HTTP, /* upstream answered with an unexpected HTTP status */
	PE_AUTH, /* upstream refused our credentials (401) */
	PE_DENIED, /* upstream or OS refused for lack of privilege (403, EACCES) */
	PE_NOTFOUND, /* the thing asked for does not exist */
	PE_UNAVAIL, /* upstream not ready / not usable right now */
	PE_INTERNAL, /* a bug or an unexpected library failure */
	PE__COUNT
};

/* Static, human-readable name for an error; never NULL. */
const char *err_str(enum perr e);

#endif
