/* COpenSlide: whole-slide images through OpenSlide, loaded at run time.
 *
 * OpenSlide comes from its published wheel (openslide-bin, installed by `make setup` into
 * .deps/python, as libtorch comes from torch's) and is opened with dlopen on first use, so a
 * machine without it builds and runs everything but slides, and says so when a slide is met.
 * Its C API is small and stable since 3.4; we call nine functions of it, declared here, so no
 * OpenSlide header is needed at build time.
 *
 * Regions follow OpenSlide's conventions: the location in level-0 pixels, the size in the
 * level's pixels. OpenSlide hands premultiplied ARGB; hsl_read_region composites it over a
 * background colour into 8-bit RGB (opaque pixels keep their exact values), in row bands so
 * that a large region needs no second full-size buffer. Nothing here prints or aborts. */
#ifndef COPENSLIDE_H
#define COPENSLIDE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hsl_slide hsl_slide;

/* Loads OpenSlide if it is not loaded yet: $HEADROOM_OPENSLIDE, then the library `make setup`
 * installed, then the system's libopenslide.so.1 and .so.0. Returns NULL once loaded, or why it
 * could not be (every place tried). Thread-safe. */
const char *hsl_load(void);
/* OpenSlide's version string, after hsl_load succeeded. */
const char *hsl_version(void);
/* The library file that was loaded. */
const char *hsl_library_path(void);

/* OpenSlide's vendor for the file ("aperio", "generic-tiff", ...), or NULL when it reads no slide there. */
const char *hsl_detect_vendor(const char *path);

/* Opens a slide; NULL with the reason in `error` (always NUL-terminated) when it cannot. */
hsl_slide *hsl_open(const char *path, char *error, size_t error_size);
void hsl_close(hsl_slide *slide);

int32_t hsl_level_count(hsl_slide *slide);
/* Width and height of a level; -1 when the slide is in error. */
void hsl_level_dimensions(hsl_slide *slide, int32_t level, int64_t *width, int64_t *height);
double hsl_level_downsample(hsl_slide *slide, int32_t level);
/* A property's value, or NULL. Valid while the slide is open. */
const char *hsl_property(hsl_slide *slide, const char *name);
/* The NULL-terminated property names. Valid while the slide is open. */
const char *const *hsl_property_names(hsl_slide *slide);
/* The slide's error, or NULL: once set, every later read fails (OpenSlide's rule). */
const char *hsl_error(hsl_slide *slide);

/* Reads the region into `rgb` (width * height * 3 bytes, rows top to bottom), compositing over
 * `background` (3 bytes) where the slide is transparent or absent. Returns 0, or -1 with the
 * reason in `error`. */
int32_t hsl_read_region(
  hsl_slide *slide, int64_t x, int64_t y, int32_t level, int64_t width, int64_t height,
  const uint8_t *background, uint8_t *rgb, char *error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif
