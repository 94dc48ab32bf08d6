/* version.h - build identity: version and revision come from the Makefile (-D), with fallbacks. */
#ifndef PE_VERSION_H
#define PE_VERSION_H

#ifndef PE_VERSION
#define PE_VERSION "0.0.0"
#endif
#ifndef PE_REVISION
#define PE_REVISION "unknown"
#endif
#ifdef __clang__
#define PE_COMPILER "clang " __clang_version__
#else
#define PE_COMPILER "gcc " __VERSION__
#endif

#endif
