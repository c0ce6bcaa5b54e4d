/* COpenSlide: see include/COpenSlide.h. */
#define _GNU_SOURCE
#include "COpenSlide.h"

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef HSL_DEFAULT_LIBRARY
#define HSL_DEFAULT_LIBRARY ""
#endif

/* OpenSlide's functions we call, as openslide.h declares them. */
typedef struct _openslide openslide_t;
static struct {
  const char *(*detect_vendor)(const char *);
  openslide_t *(*open)(const char *);
  void (*close)(openslide_t *);
  int32_t (*get_level_count)(openslide_t *);
  void (*get_level_dimensions)(openslide_t *, int32_t, int64_t *, int64_t *);
  double (*get_level_downsample)(openslide_t *, int32_t);
  const char *(*get_property_value)(openslide_t *, const char *);
  const char *const *(*get_property_names)(openslide_t *);
  const char *(*get_error)(openslide_t *);
  void (*read_region)(openslide_t *, uint32_t *, int64_t, int64_t, int32_t, int64_t, int64_t);
  const char *(*get_version)(void);
} api;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_problem[2048];
static char loaded_path[1024];
static int loaded;

static void append(char *buffer, size_t size, const char *format, ...) {
  size_t used = strlen(buffer);
  if (used + 1 >= size) return;
  va_list args;
  va_start(args, format);
  vsnprintf(buffer + used, size - used, format, args);
  va_end(args);
}

/* Binds every function from `library`; returns 0, or -1 naming the first one missing. */
static int bind(void *library, const char *path) {
#define BIND(field, name)                                                           \
  do {                                                                              \
    *(void **)&api.field = dlsym(library, name);                                    \
    if (!api.field) {                                                               \
      append(load_problem, sizeof load_problem, "\n  %s lacks %s", path, name);     \
      return -1;                                                                    \
    }                                                                               \
  } while (0)
  BIND(detect_vendor, "openslide_detect_vendor");
  BIND(open, "openslide_open");
  BIND(close, "openslide_close");
  BIND(get_level_count, "openslide_get_level_count");
  BIND(get_level_dimensions, "openslide_get_level_dimensions");
  BIND(get_level_downsample, "openslide_get_level_downsample");
  BIND(get_property_value, "openslide_get_property_value");
  BIND(get_property_names, "openslide_get_property_names");
  BIND(get_error, "openslide_get_error");
  BIND(read_region, "openslide_read_region");
  BIND(get_version, "openslide_get_version");
#undef BIND
  return 0;
}

static void load(void) {
  const char *candidates[] = {getenv("HEADROOM_OPENSLIDE"), HSL_DEFAULT_LIBRARY, "libopenslide.so.1", "libopenslide.so.0"};
  for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
    const char *path = candidates[i];
    if (!path || !*path) continue;
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
      append(load_problem, sizeof load_problem, "\n  %s", dlerror());
      continue;
    }
    if (bind(library, path) == 0) {
      snprintf(loaded_path, sizeof loaded_path, "%s", path);
      loaded = 1;
      return;
    }
    dlclose(library);
  }
}

const char *hsl_load(void) {
  pthread_once(&load_once, load);
  return loaded ? NULL : load_problem;
}

const char *hsl_version(void) { return loaded ? api.get_version() : NULL; }
const char *hsl_library_path(void) { return loaded ? loaded_path : NULL; }

const char *hsl_detect_vendor(const char *path) { return hsl_load() ? NULL : api.detect_vendor(path); }

struct hsl_slide {
  openslide_t *osr;
};

hsl_slide *hsl_open(const char *path, char *error, size_t error_size) {
  if (error_size) error[0] = 0;
  const char *problem = hsl_load();
  if (problem) {
    snprintf(error, error_size, "OpenSlide could not be loaded (run `make setup`, or set HEADROOM_OPENSLIDE):%s", problem);
    return NULL;
  }
  openslide_t *osr = api.open(path);
  if (!osr) {
    snprintf(error, error_size, "OpenSlide reads no slide in this file");
    return NULL;
  }
  const char *failure = api.get_error(osr);
  if (failure) {
    snprintf(error, error_size, "%s", failure);
    api.close(osr);
    return NULL;
  }
  hsl_slide *slide = malloc(sizeof *slide);
  if (!slide) {
    snprintf(error, error_size, "out of memory");
    api.close(osr);
    return NULL;
  }
  slide->osr = osr;
  return slide;
}

void hsl_close(hsl_slide *slide) {
  if (!slide) return;
  api.close(slide->osr);
  free(slide);
}

int32_t hsl_level_count(hsl_slide *slide) { return api.get_level_count(slide->osr); }

void hsl_level_dimensions(hsl_slide *slide, int32_t level, int64_t *width, int64_t *height) {
  api.get_level_dimensions(slide->osr, level, width, height);
}

double hsl_level_downsample(hsl_slide *slide, int32_t level) { return api.get_level_downsample(slide->osr, level); }
const char *hsl_property(hsl_slide *slide, const char *name) { return api.get_property_value(slide->osr, name); }
const char *const *hsl_property_names(hsl_slide *slide) { return api.get_property_names(slide->osr); }
const char *hsl_error(hsl_slide *slide) { return api.get_error(slide->osr); }

/* Premultiplied ARGB over an opaque background: c + bg * (255 - a) / 255, rounded. */
static void composite(const uint32_t *argb, size_t count, const uint8_t *background, uint8_t *rgb) {
  for (size_t i = 0; i < count; i++) {
    uint32_t p = argb[i];
    uint32_t a = p >> 24;
    uint8_t *out = rgb + 3 * i;
    if (a == 255) {
      out[0] = (uint8_t)(p >> 16);
      out[1] = (uint8_t)(p >> 8);
      out[2] = (uint8_t)p;
    } else {
      uint32_t rest = 255 - a;
      for (int c = 0; c < 3; c++) {
        uint32_t value = (p >> (16 - 8 * c)) & 255;
        uint32_t mixed = value + (background[c] * rest + 127) / 255;
        out[c] = (uint8_t)(mixed > 255 ? 255 : mixed);
      }
    }
  }
}

int32_t hsl_read_region(
  hsl_slide *slide, int64_t x, int64_t y, int32_t level, int64_t width, int64_t height,
  const uint8_t *background, uint8_t *rgb, char *error, size_t error_size) {
  if (error_size) error[0] = 0;
  if (width <= 0 || height <= 0 || level < 0 || level >= api.get_level_count(slide->osr)) {
    snprintf(error, error_size, "no such region: level %d, %lld x %lld", level, (long long)width, (long long)height);
    return -1;
  }
  /* Bands of rows of at most 4 Mpx (16 MB of ARGB) at a time. */
  int64_t rows = (4 << 20) / width;
  if (rows < 1) rows = 1;
  if (rows > height) rows = height;
  uint32_t *argb = malloc((size_t)(rows * width) * sizeof *argb);
  if (!argb) {
    snprintf(error, error_size, "out of memory for a %lld x %lld band", (long long)width, (long long)rows);
    return -1;
  }
  double downsample = api.get_level_downsample(slide->osr, level);
  for (int64_t top = 0; top < height; top += rows) {
    int64_t band = height - top < rows ? height - top : rows;
    /* The band's location in level-0 pixels, as OpenSlide takes it. Regions under 4 Mpx are one
     * call, as openslide-python makes it; a taller one's bands meet exactly where the level's
     * downsample is whole (a fractional one shifts a seam by under half a pixel of level 0). */
    int64_t band_y = y + llround((double)top * downsample);
    api.read_region(slide->osr, argb, x, band_y, level, width, band);
    const char *failure = api.get_error(slide->osr);
    if (failure) {
      snprintf(error, error_size, "%s", failure);
      free(argb);
      return -1;
    }
    composite(argb, (size_t)(band * width), background, rgb + (size_t)(top * width) * 3);
  }
  free(argb);
  return 0;
}
