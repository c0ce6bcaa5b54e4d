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
himg_status himg_webp_plan(const uint8_t *data, size_t size, const himg_options *options, himg_plan *plan);
himg_status himg_webp_decode(const uint8_t *data, size_t size, const himg_plan *plan, uint8_t *pixels);
himg_status himg_tiff_plan(const uint8_t *data, size_t size, const himg_options *options, himg_plan *plan);
himg_status himg_tiff_decode(const uint8_t *data, size_t size, const himg_plan *plan, uint8_t *pixels);
himg_status himg_bmp_plan(const uint8_t *data, size_t size, const himg_options *options, himg_plan *plan);
himg_status himg_bmp_decode(const uint8_t *data, size_t size, const himg_plan *plan, uint8_t *pixels);

/* Fills the plan of a format decoded at full resolution (all but JPEG) from its stored size and orientation. */
void himg_plan_full_resolution(himg_plan *plan, himg_format format, int32_t width, int32_t height, int32_t orientation);

/* Where a full-resolution decoder writes: `pixels` itself, or a scratch buffer (set in *scratch) when an
 * orientation must be undone afterwards by himg_finish_orientation. */
himg_status himg_decode_target(const himg_plan *plan, uint8_t *pixels, uint8_t **target, uint8_t **scratch);

/* Undoes the plan's orientation from scratch into pixels when the decode succeeded, and frees scratch. */
himg_status himg_finish_orientation(const himg_plan *plan, himg_status status, uint8_t *scratch, uint8_t *pixels);

/* True for orientations 5-8, which swap width and height. */
static inline int himg_orientation_transposes(int32_t orientation) { return orientation >= 5 && orientation <= 8; }

/* The plan's width and height as stored in the file, before the orientation is undone. */
static inline int32_t himg_stored_width(const himg_plan *plan) {
  return himg_orientation_transposes(plan->orientation) ? plan->height : plan->width;
}
static inline int32_t himg_stored_height(const himg_plan *plan) {
  return himg_orientation_transposes(plan->orientation) ? plan->width : plan->height;
}

/* Little-endian reads, for the RIFF and BMP headers. */
static inline uint32_t himg_le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static inline uint32_t himg_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
