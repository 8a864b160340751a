/*
 * keel: the whole public C API in one include.
 *
 *     #include <keel/keel.h>
 *
 * Each header below documents its own module and ownership rules; include
 * one directly when only that module is needed. When a public header is
 * added to include/keel/, add it here too.
 */
#ifndef KEEL_KEEL_H
#define KEEL_KEEL_H

#include "keel/version.h"

/* core */
#include "keel/err.h"
#include "keel/arena.h"
#include "keel/rng.h"
#include "keel/parallel.h"
#include "keel/log.h"
#include "keel/progress.h"
#include "keel/hash.h"
#include "keel/suggest.h"

/* data */
#include "keel/frame.h"
#include "keel/csv.h"

/* spec and project */
#include "keel/spec.h"
#include "keel/project.h"

#endif
