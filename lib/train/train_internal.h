/*
 * Shared inside lib/train.
 */
#ifndef KEEL_TRAIN_INTERNAL_H
#define KEEL_TRAIN_INTERNAL_H

/*
 * Make sure every algorithm keel ships is in the registry: the models
 * module's built-in table holds the linear ones, and the AR lab model is
 * registered here (once) when nobody has done it yet.
 */
void kl__train_register_algos(void);

#endif
