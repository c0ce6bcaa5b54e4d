/* Declarations shared by the codec files; not part of the public header. */
#ifndef CIMAGECODECS_INTERNAL_H
#define CIMAGECODECS_INTERNAL_H

#include "CImageCodecs.h"

/* Formats the thread-local message and returns status, so failures read `return himg_fail(...)`. */
himg_status himg_fail(himg_status status, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Clears the thread-local message at the start of a call. */
void himg_clear_error(void);

/* Applies the pixel limit to header dimensions before anything is allocated. */
himg_status himg_check_pixel_limit(int64_t width, int64_t height, const himg_options *options);

himg_status himg_jpeg_plan(const uint8_t *data, size_t size, const himg_options *options, himg_plan *plan);
himg_status himg_jpeg_decode(const uint8_t *data, size_t size, const himg_plan *plan, uint8_t *pixels);
himg_status himg_png_plan(const uint8_t *data, size_t size, const himg_options *options, himg_plan *plan);
himg_status himg_png_decode(const uint8_t *data, size_t size, const himg_plan *plan, uint8_t *pixels);

/* True for orientations 5-8, which swap width and height. */
static inline int himg_orientation_transposes(int32_t orientation) { return orientation >= 5 && orientation <= 8; }

#endif
