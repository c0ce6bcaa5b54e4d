/* Orientation: reading the EXIF tag from a TIFF-structured block, and undoing it on RGB pixels
 * through a scratch buffer the full-resolution decoders write into. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { ORIENTATION_TAG = 0x0112, TIFF_TYPE_SHORT = 3 };

static uint32_t read_u16(const uint8_t *p, int big_endian) {
  return big_endian ? ((uint32_t)p[0] << 8 | p[1]) : ((uint32_t)p[1] << 8 | p[0]);
}

static uint32_t read_u32(const uint8_t *p, int big_endian) {
  return big_endian ? ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3])
                    : ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]);
}

int32_t himg_exif_orientation(const uint8_t *tiff, size_t size) {
  if (tiff == NULL || size < 8) return 1;
  int big_endian;
  if (memcmp(tiff, "II*\0", 4) == 0) {
    big_endian = 0;
  } else if (memcmp(tiff, "MM\0*", 4) == 0) {
    big_endian = 1;
  } else {
    return 1;
  }
  // Only IFD0 holds the orientation of the main image; every read is bounds-checked.
  uint32_t ifd = read_u32(tiff + 4, big_endian);
  if (ifd > size - 2) return 1;
  uint32_t count = read_u16(tiff + ifd, big_endian);
  for (uint32_t i = 0; i < count; i++) {
    size_t entry = (size_t)ifd + 2 + (size_t)i * 12;
    if (entry + 12 > size) return 1;
    if (read_u16(tiff + entry, big_endian) != ORIENTATION_TAG) continue;
    if (read_u16(tiff + entry + 2, big_endian) != TIFF_TYPE_SHORT) return 1;
    // A SHORT value sits left-justified in the 4-byte value field, in the file's byte order.
    uint32_t value = read_u16(tiff + entry + 8, big_endian);
    return (value >= 1 && value <= 8) ? (int32_t)value : 1;
  }
  return 1;
}

himg_status himg_orient_rgb(const uint8_t *src, int32_t width, int32_t height, int32_t orientation, uint8_t *dst) {
  if (src == NULL || dst == NULL || width <= 0 || height <= 0 || orientation < 1 || orientation > 8) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "invalid arguments to himg_orient_rgb");
  }
  const size_t w = (size_t)width, h = (size_t)height;
  const int transposes = himg_orientation_transposes(orientation);
  const size_t out_width = transposes ? h : w;
  const size_t out_height = transposes ? w : h;
  // For each output pixel, the source pixel PIL's exif_transpose would place there.
  for (size_t y = 0; y < out_height; y++) {
    for (size_t x = 0; x < out_width; x++) {
      size_t sx, sy;
      himg_oriented_source(orientation, w, h, x, y, &sx, &sy);
      const uint8_t *from = src + (sy * w + sx) * 3;
      uint8_t *to = dst + (y * out_width + x) * 3;
      to[0] = from[0];
      to[1] = from[1];
      to[2] = from[2];
    }
  }
  return HIMG_OK;
}

himg_status himg_decode_target(const himg_plan *plan, uint8_t *pixels, uint8_t **target, uint8_t **scratch) {
  *scratch = NULL;
  *target = pixels;
  if (plan->orientation == 1) return HIMG_OK;
  const size_t count = (size_t)plan->width * (size_t)plan->height;
  *scratch = malloc(count * 3);
  if (*scratch == NULL) return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "cannot allocate %zu pixels", count);
  *target = *scratch;
  return HIMG_OK;
}

himg_status himg_finish_orientation(const himg_plan *plan, himg_status status, uint8_t *scratch, uint8_t *pixels) {
  if (status == HIMG_OK && scratch != NULL) {
    status = himg_orient_rgb(scratch, himg_stored_width(plan), himg_stored_height(plan), plan->orientation, pixels);
  }
  free(scratch);
  return status;
}
