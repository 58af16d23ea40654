#define P2M_IMPLEMENTATION /* the whole library: see lib/README.md */
#include "profile2metrics.h"
