/* PNG samples at full depth through libpng 1.6: every channel at its depth (16 bits kept), a palette expanded to
 * its RGB colours (tRNS ignored), sub-8-bit grey stretched to 8 bits as libpng does.
 *
 * Rows are read one at a time down to the region's last and no further; an interlaced PNG, whose rows are final
 * only after the seventh pass, is read whole. libpng reports errors by longjmp: the function that calls setjmp
 * reads none of its locals after a jump, and every buffer lives in the session, which its caller frees. */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* What libpng holds beside our buffers: zlib's inflate state and window, its own row and previous row. */
enum { LIBPNG_STATE_BYTES = 64 * 1024 };

/* Bands as decoded here, or 0 for a colour type PNG does not define. */
static int bands_of(int color_type) {
  switch (color_type) {
  case PNG_COLOR_TYPE_GRAY: return 1;
  case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
  case PNG_COLOR_TYPE_RGB: return 3;
  case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
  case PNG_COLOR_TYPE_PALETTE: return 3;
  default: return 0;
  }
}

/* a * b, or INT64_MAX when that overflows. */
static int64_t saturating_product(uint64_t a, uint64_t b) {
  return b != 0 && a > (uint64_t)INT64_MAX / b ? INT64_MAX : (int64_t)(a * b);
}

himg_status himg_png_samples_info(const uint8_t *data, size_t size, const himg_options *options, himg_samples_info *info) {
  himg_png_session session;
  himg_status status = himg_png_session_open(&session, data, size);
  if (status != HIMG_OK) return status;
  status = himg_png_read_info(&session);
  if (status == HIMG_OK) {
    const uint32_t width = png_get_image_width(session.png, session.info);
    const uint32_t height = png_get_image_height(session.png, session.info);
    const int color_type = png_get_color_type(session.png, session.info);
    const int depth = png_get_bit_depth(session.png, session.info);
    const int bands = bands_of(color_type);
    status = himg_check_pixel_limit(width, height, options);
    if (status == HIMG_OK && (width > INT32_MAX || height > INT32_MAX)) {
      status = himg_fail(HIMG_ERROR_TOO_MANY_PIXELS, "PNG: %ux%u is too large", width, height);
    }
    if (status == HIMG_OK && bands == 0) status = himg_fail(HIMG_ERROR_CORRUPT, "PNG: colour type %d", color_type);
    if (status == HIMG_OK) {
      info->format = HIMG_FORMAT_PNG;
      info->width = (int32_t)width;
      info->height = (int32_t)height;
      info->bands = bands;
      info->sample_type = depth == 16 ? HIMG_SAMPLE_UINT16 : HIMG_SAMPLE_UINT8;
      info->bits_per_sample = color_type == PNG_COLOR_TYPE_PALETTE ? 8 : depth; // a palette's colours are 8-bit
      const int grey = color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA;
      info->band_kind = grey ? HIMG_BANDS_GREY : HIMG_BANDS_RGB;
      info->alpha_band = color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 1 : color_type == PNG_COLOR_TYPE_RGB_ALPHA ? 3 : -1;
      info->is_photo = depth <= 8;
      info->tile_width = (int32_t)width;
      info->tile_height = 1;
      // One decoded row (libpng keeps two more of its own), or the whole image when interlaced.
      const uint64_t row_bytes = (uint64_t)width * (uint64_t)bands * (depth == 16 ? 2u : 1u);
      const int interlaced = png_get_interlace_type(session.png, session.info) != PNG_INTERLACE_NONE;
      const int64_t rows = saturating_product(row_bytes, interlaced ? height : 3);
      info->working_bytes = rows > INT64_MAX - LIBPNG_STATE_BYTES ? INT64_MAX : rows + LIBPNG_STATE_BYTES;
    }
  }
  himg_png_session_close(&session);
  return status;
}

/* A decoded row's region columns into out (CHW), at row `y` of the region. */
static void convert_row(const uint8_t *row, int bands, int sixteen, const himg_region *region, size_t y, float *out) {
  const size_t width = (size_t)region->width, plane = width * (size_t)region->height;
  for (int band = 0; band < bands; band++) {
    float *to = out + (size_t)band * plane + y * width;
    const size_t first = (size_t)region->left * (size_t)bands + (size_t)band;
    if (sixteen) {
      for (size_t x = 0; x < width; x++) {
        uint16_t v;
        memcpy(&v, row + (first + x * (size_t)bands) * 2, 2);
        to[x] = (float)v;
      }
    } else {
      for (size_t x = 0; x < width; x++) to[x] = (float)row[first + x * (size_t)bands];
    }
  }
}

/* Sets the transformations and reads rows through the region's last (or the image's, when `all_rows`). */
static himg_status read_samples(himg_png_session *session, const himg_samples_info *info, const himg_region *region,
                                int all_rows, float *out) {
  if (setjmp(png_jmpbuf(session->png))) return session->status;
  png_structp png = session->png;
  png_infop png_info = session->info;
  const int color_type = png_get_color_type(png, png_info);
  const int depth = png_get_bit_depth(png, png_info);
  if (color_type == PNG_COLOR_TYPE_PALETTE) {
    png_set_palette_to_rgb(png);
    png_set_strip_alpha(png); // a tRNS chunk would add alpha to the colours
  } else if (depth < 8) {
    png_set_expand_gray_1_2_4_to_8(png);
  }
  // PNG stores 16-bit samples big-endian; libpng hands them over as stored unless asked to swap.
  const int little_endian = *(const uint8_t *)&(uint16_t){1} == 1;
  if (depth == 16 && little_endian) png_set_swap(png);
  const int passes = png_set_interlace_handling(png);
  png_read_update_info(png, png_info);

  const size_t width = png_get_image_width(png, png_info), height = png_get_image_height(png, png_info);
  const int sixteen = info->sample_type == HIMG_SAMPLE_UINT16;
  const size_t row_bytes = width * (size_t)info->bands * (sixteen ? 2 : 1);
  if (png_get_channels(png, png_info) != info->bands || png_get_bit_depth(png, png_info) != (sixteen ? 16 : 8) ||
      png_get_rowbytes(png, png_info) != row_bytes) {
    return himg_fail(HIMG_ERROR_CORRUPT, "PNG: unexpected layout after expansion to %d bands", info->bands);
  }
  const size_t top = (size_t)region->top, bottom = top + (size_t)region->height;
  if (passes > 1) {
    // Row pointers, then the rows, in one allocation that the session frees.
    if (height > SIZE_MAX / (sizeof(png_bytep) + row_bytes)) {
      return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "PNG: an interlaced %zux%zu image does not fit in memory", width, height);
    }
    session->rows = malloc(height * (sizeof(png_bytep) + row_bytes));
    if (session->rows == NULL) {
      return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "cannot allocate an interlaced PNG of %zux%zu", width, height);
    }
    uint8_t *image = (uint8_t *)(session->rows + height);
    for (size_t y = 0; y < height; y++) session->rows[y] = image + y * row_bytes;
    png_read_image(png, session->rows);
    for (size_t y = top; y < bottom; y++) convert_row(session->rows[y], info->bands, sixteen, region, y - top, out);
  } else {
    session->rows = malloc(sizeof(png_bytep) + row_bytes);
    if (session->rows == NULL) return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "cannot allocate a PNG row of %zu bytes", row_bytes);
    png_bytep row = (png_bytep)(session->rows + 1);
    const size_t last = all_rows ? height : bottom;
    for (size_t y = 0; y < last; y++) {
      png_read_row(png, row, NULL);
      if (y >= top && y < bottom) convert_row(row, info->bands, sixteen, region, y - top, out);
    }
  }
  return HIMG_OK;
}

himg_status himg_png_decode_samples(const uint8_t *data, size_t size, const himg_samples_info *info,
                                    const himg_region *region, float *out) {
  // libdeflate in one call where the file is the common kind (about twice zlib's speed); libpng for the rest and to
  // say what is wrong with a file the fast reader refuses.
  if (himg_png_fast_decode_samples(data, size, info, region, out)) {
    return HIMG_OK;
  }
  himg_png_session session;
  himg_status status = himg_png_session_open(&session, data, size);
  if (status != HIMG_OK) return status;
  status = himg_png_read_info(&session);
  if (status == HIMG_OK) {
    const int color_type = png_get_color_type(session.png, session.info);
    const int depth = png_get_bit_depth(session.png, session.info);
    if ((int64_t)png_get_image_width(session.png, session.info) != info->width ||
        (int64_t)png_get_image_height(session.png, session.info) != info->height || bands_of(color_type) != info->bands ||
        (depth == 16 ? HIMG_SAMPLE_UINT16 : HIMG_SAMPLE_UINT8) != info->sample_type) {
      status = himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "the info does not describe this PNG");
    }
  }
  if (status == HIMG_OK) {
    // A cut file (no IEND at the end) is read to its last row, so that it fails whichever region is asked for,
    // as a whole decode would.
    static const uint8_t iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    const int complete = size >= 12 && memcmp(data + size - 12, iend, 12) == 0;
    status = read_samples(&session, info, region, !complete, out);
  }
  himg_png_session_close(&session);
  return status;
}
