/* WebP through libwebp (Debian 12: libwebp 1.2.4): decoding lossy and lossless still images with the advanced
 * API, and encoding for generated data.
 *
 * The RGB output drops alpha without compositing, as PIL's convert("RGB") does; the orientation comes from
 * the EXIF chunk, as PIL's exif_transpose reads it. */
#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>
#include <webp/encode.h>

#include "internal.h"

static himg_status webp_failure(VP8StatusCode code, const char *stage) {
  switch (code) {
  case VP8_STATUS_NOT_ENOUGH_DATA:
    return himg_fail(HIMG_ERROR_TRUNCATED, "WebP %s: the data ends before the image does", stage);
  case VP8_STATUS_OUT_OF_MEMORY:
    return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "WebP %s: out of memory", stage);
  case VP8_STATUS_UNSUPPORTED_FEATURE:
    return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "WebP %s: a feature libwebp does not support", stage);
  case VP8_STATUS_INVALID_PARAM:
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "WebP %s: invalid parameter", stage);
  default:
    return himg_fail(HIMG_ERROR_CORRUPT, "WebP %s: invalid bitstream (libwebp status %d)", stage, (int)code);
  }
}

/* Walks the RIFF chunks after "RIFF" size "WEBP" (fourcc, little-endian length, payload padded to even) for
 * an EXIF chunk; 1 when there is none or it is malformed. */
static int32_t webp_orientation(const uint8_t *data, size_t size) {
  size_t position = 12;
  while (position + 8 <= size) {
    const size_t length = himg_le32(data + position + 4);
    if (length > size - position - 8) return 1;
    if (memcmp(data + position, "EXIF", 4) == 0) {
      const uint8_t *exif = data + position + 8;
      size_t exif_size = length;
      if (exif_size >= 6 && memcmp(exif, "Exif\0\0", 6) == 0) {  // some writers keep JPEG's APP1 prefix; PIL skips it
        exif += 6;
        exif_size -= 6;
      }
      return himg_exif_orientation(exif, exif_size);
    }
    position += 8 + length + (length & 1);
  }
  return 1;
}

himg_status himg_webp_plan(const uint8_t *data, size_t size, const himg_options *options, himg_plan *plan) {
  WebPBitstreamFeatures features;
  VP8StatusCode code = WebPGetFeatures(data, size, &features);
  if (code != VP8_STATUS_OK) return webp_failure(code, "header");
  if (features.has_animation) {
    return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "WebP: animated images are not supported; extract a frame first");
  }
  himg_status status = himg_check_pixel_limit(features.width, features.height, options);
  if (status != HIMG_OK) return status;
  himg_plan_full_resolution(plan, HIMG_FORMAT_WEBP, features.width, features.height,
                            options->ignore_orientation ? 1 : webp_orientation(data, size));
  return HIMG_OK;
}

himg_status himg_webp_decode(const uint8_t *data, size_t size, const himg_plan *plan, uint8_t *pixels) {
  uint8_t *target, *scratch;
  himg_status status = himg_decode_target(plan, pixels, &target, &scratch);
  if (status != HIMG_OK) return status;

  WebPDecoderConfig config;
  if (!WebPInitDecoderConfig(&config)) {
    return himg_finish_orientation(plan, himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "WebP: libwebp version mismatch"),
                                   scratch, pixels);
  }
  const int32_t width = himg_stored_width(plan), height = himg_stored_height(plan);
  VP8StatusCode code = WebPGetFeatures(data, size, &config.input);
  if (code == VP8_STATUS_OK && (config.input.width != width || config.input.height != height)) {
    status = himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "WebP dimensions differ from the plan's");
  } else if (code != VP8_STATUS_OK) {
    status = webp_failure(code, "header");
  }
  if (status == HIMG_OK) {
    // Decode straight into the caller's buffer: no intermediate RGBA image.
    config.output.colorspace = MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = target;
    config.output.u.RGBA.stride = width * 3;
    config.output.u.RGBA.size = (size_t)width * (size_t)height * 3;
    code = WebPDecode(data, size, &config);
    if (code != VP8_STATUS_OK) status = webp_failure(code, "decode");
    WebPFreeDecBuffer(&config.output);  // frees nothing of ours with external memory, but is the documented pairing
  }
  return himg_finish_orientation(plan, status, scratch, pixels);
}

/* libwebp crops from even offsets (it rounds crop_left and crop_top down) and upsamples chroma from the pixels beside
 * each one: the decoded window starts at an even offset at least this far outside the region. */
enum { WEBP_MARGIN = 2 };

int himg_webp_reads_regions(const uint8_t *data, size_t size) {
  return size >= 12 && (size_t)himg_le32(data + 4) <= size - 8;  // a cut file is shorter than its RIFF header says
}

himg_status himg_webp_decode_region(const uint8_t *data, size_t size, const himg_plan *plan,
                                    const himg_stored_region *region, uint8_t *pixels) {
  WebPDecoderConfig config;
  if (!WebPInitDecoderConfig(&config)) return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "WebP: libwebp version mismatch");
  const size_t width = (size_t)himg_stored_width(plan), height = (size_t)himg_stored_height(plan);
  VP8StatusCode code = WebPGetFeatures(data, size, &config.input);
  if (code != VP8_STATUS_OK) return webp_failure(code, "header");
  if ((size_t)config.input.width != width || (size_t)config.input.height != height) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "WebP dimensions differ from the plan's");
  }
  const size_t left = (region->left >= WEBP_MARGIN ? region->left - WEBP_MARGIN : 0) & ~(size_t)1;
  const size_t top = (region->top >= WEBP_MARGIN ? region->top - WEBP_MARGIN : 0) & ~(size_t)1;
  const size_t right = region->right + WEBP_MARGIN < width ? region->right + WEBP_MARGIN : width;
  const size_t bottom = region->bottom + WEBP_MARGIN < height ? region->bottom + WEBP_MARGIN : height;
  const size_t window_width = right - left, window_height = bottom - top;
  uint8_t *window = malloc(window_width * window_height * 3);
  if (window == NULL) return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "cannot allocate %zux%zu pixels", window_width, window_height);
  config.options.use_cropping = 1;
  config.options.crop_left = (int)left;
  config.options.crop_top = (int)top;
  config.options.crop_width = (int)window_width;
  config.options.crop_height = (int)window_height;
  config.output.colorspace = MODE_RGB;
  config.output.is_external_memory = 1;
  config.output.u.RGBA.rgba = window;
  config.output.u.RGBA.stride = (int)(window_width * 3);
  config.output.u.RGBA.size = window_width * window_height * 3;
  code = WebPDecode(data, size, &config);
  himg_status status = code == VP8_STATUS_OK ? HIMG_OK : webp_failure(code, "decode");
  WebPFreeDecBuffer(&config.output);
  const size_t region_bytes = (region->right - region->left) * 3;
  for (size_t y = region->top; status == HIMG_OK && y < region->bottom; y++) {
    memcpy(pixels + (y - region->top) * region_bytes, window + ((y - top) * window_width + region->left - left) * 3,
           region_bytes);
  }
  free(window);
  return status;
}

himg_status himg_encode_webp(const uint8_t *pixels, int32_t width, int32_t height, int32_t quality, int32_t lossless,
                             uint8_t **out, size_t *size) {
  himg_clear_error();
  if (pixels == NULL || out == NULL || size == NULL || width <= 0 || height <= 0 ||
      (!lossless && (quality < 1 || quality > 100))) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "himg_encode_webp: invalid arguments");
  }
  uint8_t *encoded = NULL;
  size_t length = lossless ? WebPEncodeLosslessRGB(pixels, width, height, width * 3, &encoded)
                           : WebPEncodeRGB(pixels, width, height, width * 3, (float)quality, &encoded);
  if (length == 0 || encoded == NULL) {
    WebPFree(encoded);
    return himg_fail(HIMG_ERROR_CORRUPT, "himg_encode_webp: libwebp could not encode %dx%d", width, height);
  }
  // Hand back plain malloc'd memory so that one free function serves every allocation.
  *out = malloc(length);
  if (*out == NULL) {
    WebPFree(encoded);
    return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "himg_encode_webp: out of memory");
  }
  memcpy(*out, encoded, length);
  WebPFree(encoded);
  *size = length;
  return HIMG_OK;
}
