/* clock.h - the one place that reads clocks: wall and monotonic seconds as doubles, deadlines, sleeping. */
#ifndef PE_CLOCK_H
#define PE_CLOCK_H

#include <pthread.h>
#include <time.h>

/* Seconds since the Unix epoch (CLOCK_REALTIME), with fractions. */
double clock_wall(void);
/* Seconds on CLOCK_MONOTONIC: for durations and deadlines, never for timestamps. */
double clock_mono(void);
/* A monotonic time in seconds as a timespec, for pthread_cond_timedwait on a clock_cond_init() cond. */
struct timespec clock_abs(double mono);
/* Initialises c to time its waits on CLOCK_MONOTONIC. */
void clock_cond_init(pthread_cond_t *c);
/* Sleeps secs seconds (resumed after signals); nothing for secs <= 0. */
void clock_sleep(double secs);

#endif
