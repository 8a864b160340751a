/*
 * Shared inside the library only: ways to hand buffers to a frame without
 * copying them (the CSV reader fills columns in place and gives them over).
 * Each function takes ownership of its malloc'd arguments, also on failure,
 * when it frees them.
 */
#ifndef KEEL_DATA_FRAME_INTERNAL_H
#define KEEL_DATA_FRAME_INTERNAL_H

#include "keel/frame.h"

int kl__frame_adopt_numeric(kl_frame *f, const char *name, enum kl_type type, double *v,
                            kl_err *err);
int kl__frame_adopt_bool(kl_frame *f, const char *name, uint8_t *v, kl_err *err);
int kl__frame_adopt_time(kl_frame *f, const char *name, enum kl_type type, int64_t *v,
                         const char *format, kl_err *err);
/* codes: n_rows codes; dict: n_dict pointers into pool (one malloc'd block holding the strings). */
int kl__frame_adopt_categorical(kl_frame *f, const char *name, int32_t *codes, char **dict,
                                size_t n_dict, char *pool, kl_err *err);
/* values: n_rows pointers into pool (NULL is missing). */
int kl__frame_adopt_text(kl_frame *f, const char *name, char **values, char *pool, kl_err *err);

#endif
