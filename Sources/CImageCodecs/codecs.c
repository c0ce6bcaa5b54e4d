/* The public entry points: planning and decoding, dispatched to the format files. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

himg_status himg_plan_decode(const uint8_t *data, size_t size, const himg_options *options, himg_plan *plan) {
  himg_clear_error();
  if (data == NULL || options == NULL || plan == NULL) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "null argument to himg_plan_decode");
  }
  if (options->min_shorter_side < 0 || options->min_width < 0 || options->min_height < 0) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "negative minimum size");
  }
  memset(plan, 0, sizeof *plan);
  // DICOM: "DICM" after a 128-byte preamble, which may itself hold a TIFF header (a
  // dual-personality file), so it is told apart before the TIFF check would read one.
  if (data != NULL && size >= 132 && memcmp(data + 128, "DICM", 4) == 0) {
    return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT,
                     "a DICOM file: it is read at full depth (modality values) "
                     "by Headroom's DICOM reader, not as an 8-bit photo");
  }
  himg_status status;
  switch (himg_detect_format(data, size)) {
  case HIMG_FORMAT_JPEG: status = himg_jpeg_plan(data, size, options, plan); break;
  case HIMG_FORMAT_PNG: status = himg_png_plan(data, size, options, plan); break;
  case HIMG_FORMAT_WEBP: status = himg_webp_plan(data, size, options, plan); break;
  case HIMG_FORMAT_TIFF: status = himg_tiff_plan(data, size, options, plan); break;
  case HIMG_FORMAT_BMP: status = himg_bmp_plan(data, size, options, plan); break;
  default:
    if (size == 0) return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "empty file");
    return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT,
                     "not a JPEG, PNG, WebP, TIFF or BMP file (unrecognised leading bytes)");
  }
  // An orientation to undo needs the image as stored beside the output (himg_decode_target's scratch).
  if (status == HIMG_OK && plan->orientation != 1) plan->working_bytes += (int64_t)plan->width * plan->height * 3;
  return status;
}

himg_status himg_decode(const uint8_t *data, size_t size, const himg_plan *plan, uint8_t *pixels, size_t capacity) {
  himg_clear_error();
  if (data == NULL || plan == NULL || pixels == NULL) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "null argument to himg_decode");
  }
  if (plan->width <= 0 || plan->height <= 0 || capacity / 3 / (size_t)plan->width < (size_t)plan->height) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "output buffer of %zu bytes is too small for %dx%d RGB", capacity,
                     plan->width, plan->height);
  }
  if (himg_detect_format(data, size) != plan->format) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "data does not match the plan's format");
  }
  switch (plan->format) {
  case HIMG_FORMAT_JPEG:
    return himg_jpeg_decode(data, size, plan, pixels);
  case HIMG_FORMAT_PNG:
    return himg_png_decode(data, size, plan, pixels);
  case HIMG_FORMAT_WEBP:
    return himg_webp_decode(data, size, plan, pixels);
  case HIMG_FORMAT_TIFF:
    return himg_tiff_decode(data, size, plan, pixels);
  case HIMG_FORMAT_BMP:
    return himg_bmp_decode(data, size, plan, pixels);
  default:
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "plan has no known format");
  }
}

/* The whole image as stored, then the region copied out (for formats and files without a cheaper way). */
static himg_status decode_stored_region_whole(const uint8_t *data, size_t size, const himg_plan *plan,
                                              const himg_stored_region *region, uint8_t *pixels) {
  // Decoded as stored (orientation 1), then the region's rows copied out.
  himg_plan stored_plan = *plan;
  stored_plan.orientation = 1;
  stored_plan.width = himg_stored_width(plan);
  stored_plan.height = himg_stored_height(plan);
  const size_t row_bytes = (size_t)stored_plan.width * 3;
  uint8_t *whole = malloc(row_bytes * (size_t)stored_plan.height);
  if (whole == NULL) return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "cannot allocate %dx%d pixels", stored_plan.width, stored_plan.height);
  himg_status status = himg_decode(data, size, &stored_plan, whole, row_bytes * (size_t)stored_plan.height);
  const size_t width_bytes = (region->right - region->left) * 3;
  for (size_t y = region->top; status == HIMG_OK && y < region->bottom; y++) {
    memcpy(pixels + (y - region->top) * width_bytes, whole + y * row_bytes + region->left * 3, width_bytes);
  }
  free(whole);
  return status;
}

himg_status himg_decode_region(const uint8_t *data, size_t size, const himg_plan *plan, const himg_region *region,
                               uint8_t *pixels, size_t capacity) {
  himg_clear_error();
  if (data == NULL || plan == NULL || region == NULL || pixels == NULL) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "null argument to himg_decode_region");
  }
  if (region->width <= 0 || region->height <= 0 || region->left < 0 || region->top < 0 ||
      region->left > plan->width - region->width || region->top > plan->height - region->height) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "region %dx%d at (%d, %d) is not inside the %dx%d output",
                     region->width, region->height, region->left, region->top, plan->width, plan->height);
  }
  if (capacity / 3 / (size_t)region->width < (size_t)region->height) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "output buffer of %zu bytes is too small for %dx%d RGB", capacity,
                     region->width, region->height);
  }
  if (himg_detect_format(data, size) != plan->format) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "data does not match the plan's format");
  }
  // The region in the stored (scaled, not yet oriented) image: the bounding box of its two corner pixels.
  const size_t stored_width = (size_t)himg_stored_width(plan), stored_height = (size_t)himg_stored_height(plan);
  size_t ax, ay, bx, by;
  himg_oriented_source(plan->orientation, stored_width, stored_height, (size_t)region->left, (size_t)region->top, &ax, &ay);
  himg_oriented_source(plan->orientation, stored_width, stored_height, (size_t)(region->left + region->width - 1),
                       (size_t)(region->top + region->height - 1), &bx, &by);
  const himg_stored_region stored_region = {
      .left = ax < bx ? ax : bx, .top = ay < by ? ay : by, .right = (ax < bx ? bx : ax) + 1, .bottom = (ay < by ? by : ay) + 1};

  uint8_t *stored = pixels;  // the output itself when there is no orientation to undo
  uint8_t *scratch = NULL;
  if (plan->orientation != 1) {
    scratch = malloc((size_t)region->width * (size_t)region->height * 3);
    if (scratch == NULL) return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "cannot allocate %dx%d pixels", region->width, region->height);
    stored = scratch;
  }
  // A format decodes a region alone when it can; a cut file is decoded whole, so that it fails as a whole
  // decode would, however far from the cut the region lies (JPEG checks that itself).
  const int is_cmyk = plan->colorspace == HIMG_COLORSPACE_CMYK || plan->colorspace == HIMG_COLORSPACE_YCCK;
  himg_status status;
  if (plan->format == HIMG_FORMAT_JPEG && !is_cmyk) {
    status = himg_jpeg_decode_region(data, size, plan, &stored_region, stored);
  } else if (plan->format == HIMG_FORMAT_PNG && himg_png_reads_regions(data, size)) {
    status = himg_png_decode_region(data, size, plan, &stored_region, stored);
  } else if (plan->format == HIMG_FORMAT_WEBP && himg_webp_reads_regions(data, size)) {
    status = himg_webp_decode_region(data, size, plan, &stored_region, stored);
  } else {
    status = decode_stored_region_whole(data, size, plan, &stored_region, stored);
  }
  if (status == HIMG_OK && scratch != NULL) {
    status = himg_orient_rgb(scratch, (int32_t)(stored_region.right - stored_region.left),
                             (int32_t)(stored_region.bottom - stored_region.top), plan->orientation, pixels);
  }
  free(scratch);
  return status;
}
