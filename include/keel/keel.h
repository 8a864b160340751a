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
#include "keel/join.h"

/* spec and project */
#include "keel/spec.h"
#include "keel/project.h"

/* store: objects, metadata, tracking, snapshots */
#include "keel/store.h"
#include "keel/track.h"
#include "keel/snapshot.h"

/* quality: profile, PII, constraints */
#include "keel/svg.h"
#include "keel/profile.h"
#include "keel/pii.h"
#include "keel/constraints.h"

/* features and models */
#include "keel/pipeline.h"
#include "keel/model.h"
#include "keel/linear.h"
#include "keel/ar.h"
#include "keel/tree.h"
#include "keel/gbdt.h"

/* training and evaluation */
#include "keel/metrics.h"
#include "keel/split.h"
#include "keel/train.h"
#include "keel/evaluate.h"
#include "keel/curve.h"
#include "keel/search.h"
#include "keel/fselect.h"

#endif
