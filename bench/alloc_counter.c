// LD_PRELOAD instrument for bench/checkpointing.py and bench/oom_recipe.py: counts the
// bytes held through posix_memalign, which libtorch's CPU allocator (c10::alloc_cpu) uses
// for every tensor, and writes the peak to $ALLOC_COUNTER_OUT at exit. With
// $ALLOC_COUNTER_LIMIT (bytes) set, an allocation that would hold more fails with ENOMEM,
// which libtorch reports as an out-of-memory error: a memory budget on a CPU, the same for
// Headroom and PyTorch.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SLOTS (1u << 20)  // live aligned allocations tracked at once (open addressing)
static struct { void *pointer; size_t bytes; } table[SLOTS];
static atomic_flag lock = ATOMIC_FLAG_INIT;
static size_t live, peak, limit = SIZE_MAX;
static int (*real_memalign)(void **, size_t, size_t);
static void (*real_free)(void *);

static size_t slot_of(void *pointer) { return ((uintptr_t)pointer >> 6) * 0x9E3779B97F4A7C15ull >> 44; }
static void acquire(void) { while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire)) {} }
static void release(void) { atomic_flag_clear_explicit(&lock, memory_order_release); }

int posix_memalign(void **out, size_t alignment, size_t bytes) {
    if (!real_memalign) real_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    acquire();  // the bytes are counted before the call, so two threads cannot both pass the limit
    if (live + bytes > limit) {
        release();
        return ENOMEM;
    }
    live += bytes;
    if (live > peak) peak = live;
    release();
    int status = real_memalign(out, alignment, bytes);
    acquire();
    if (status != 0) {
        live -= bytes;
    } else {
        for (size_t i = slot_of(*out);; i = (i + 1) % SLOTS) {
            if (table[i].pointer == NULL) { table[i].pointer = *out; table[i].bytes = bytes; break; }
        }
    }
    release();
    return status;
}

void free(void *pointer) {
    if (!real_free) real_free = dlsym(RTLD_NEXT, "free");
    if (pointer != NULL) {
        acquire();
        for (size_t i = slot_of(pointer); table[i].pointer != NULL; i = (i + 1) % SLOTS) {
            if (table[i].pointer != pointer) continue;
            live -= table[i].bytes;
            // Backward-shift deletion keeps every probe chain unbroken.
            size_t hole = i;
            for (size_t j = (i + 1) % SLOTS; table[j].pointer != NULL; j = (j + 1) % SLOTS) {
                size_t home = slot_of(table[j].pointer);
                if ((j > hole && (home <= hole || home > j)) || (j < hole && home <= hole && home > j)) {
                    table[hole] = table[j];
                    hole = j;
                }
            }
            table[hole].pointer = NULL;
            break;
        }
        release();
    }
    real_free(pointer);
}

__attribute__((constructor)) static void read_limit(void) {
    const char *text = getenv("ALLOC_COUNTER_LIMIT");
    if (text) limit = strtoull(text, NULL, 10);
}

__attribute__((destructor)) static void report(void) {
    const char *path = getenv("ALLOC_COUNTER_OUT");
    if (!path) return;
    FILE *file = fopen(path, "w");
    if (!file) return;
    fprintf(file, "%zu\n", peak);
    fclose(file);
}
