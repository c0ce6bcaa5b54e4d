/* A window of a JPEG (a photo's region, a slide tile's part) decoded through libjpeg's scanline API, which TurboJPEG 2.x (Debian 12) cannot do:
 * jpeg_crop_scanline keeps only the iMCU columns the region needs, jpeg_skip_scanlines passes over the rows
 * above it without the IDCT or colour conversion, and decoding stops after its last row. Same decoder, same
 * settings (accurate integer IDCT, fancy upsampling) as TurboJPEG's tjDecompress2, so the same pixels. */
#include <setjmp.h>
#include <stdio.h>  // jpeglib.h needs FILE
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "internal.h"

typedef struct region_error {
  struct jpeg_error_mgr manager;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
} region_error;

static void fail_with_jump(j_common_ptr decoder) {
  region_error *error = (region_error *)decoder->err;
  decoder->err->format_message(decoder, error->message);
  longjmp(error->jump, 1);
}

/* Warnings (recoverable damage) are accepted as tjDecompress2's callers accept them; cut files are refused
 * before decoding starts. */
static void ignore_message(j_common_ptr decoder, int level) {
  (void)decoder;
  (void)level;
}

/* Fancy upsampling reads the chroma sample beside a pixel: one more pixel on each side of the region keeps the
 * edge of the cropped decode (where the missing neighbour is replicated) out of the region. */
enum { MARGIN = 1 };

himg_status himg_jpeg_decode_window(const uint8_t *data, size_t size, const himg_jpeg_window *window) {
  if (!himg_jpeg_is_complete(data, size)) {
    return himg_fail(HIMG_ERROR_TRUNCATED, "JPEG decode: the data ends before the end-of-image marker");
  }
  const size_t left = window->left, right = window->right, top = window->top, bottom = window->bottom;
  uint8_t *volatile row = NULL;  // set after setjmp, freed after a longjmp

  struct jpeg_decompress_struct decoder;
  region_error error;
  decoder.err = jpeg_std_error(&error.manager);
  error.manager.error_exit = fail_with_jump;
  error.manager.emit_message = ignore_message;
  error.message[0] = '\0';
  volatile himg_status status = HIMG_OK;
  jpeg_create_decompress(&decoder);
  if (setjmp(error.jump) != 0) {
    status = strstr(error.message, "Insufficient memory") != NULL
                 ? himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "JPEG decode: %s", error.message)
                 : himg_fail(HIMG_ERROR_CORRUPT, "JPEG decode: %s", error.message);
  } else {
    if (window->tables != NULL && window->tables_size > 0) {
      // An abbreviated stream (TIFF's JPEGTables): the tables come first, the tile's data refers to them.
      jpeg_mem_src(&decoder, window->tables, (unsigned long)window->tables_size);
      jpeg_read_header(&decoder, FALSE);
    }
    jpeg_mem_src(&decoder, data, (unsigned long)size);
    jpeg_read_header(&decoder, TRUE);
    if (window->stored_color_space != 0) decoder.jpeg_color_space = (J_COLOR_SPACE)window->stored_color_space;
    if (window->scale_denominator > 0) {
      decoder.scale_num = window->scale_numerator;
      decoder.scale_denom = window->scale_denominator;
    }
    decoder.out_color_space = JCS_RGB;
    jpeg_start_decompress(&decoder);
    const size_t width = decoder.output_width, height = decoder.output_height;
    const int exact = window->expected_width > 0;
    if (exact ? width != window->expected_width || height != window->expected_height : width < right || height < bottom) {
      status = himg_fail(HIMG_ERROR_CORRUPT, "JPEG decode: %zux%zu output, %s %zux%zu", width, height,
                         exact ? "the plan said" : "the window needs", exact ? window->expected_width : right,
                         exact ? window->expected_height : bottom);
    } else {
      // What is decoded: the window and its margin, within the image.
      const size_t decode_left = left >= MARGIN ? left - MARGIN : 0;
      const size_t decode_right = right + MARGIN <= width ? right + MARGIN : width;
      const size_t decode_top = top >= MARGIN ? top - MARGIN : 0;
      // Widened by libjpeg to whole iMCU columns: crop_left <= decode_left.
      JDIMENSION crop_left = (JDIMENSION)decode_left, crop_width = (JDIMENSION)(decode_right - decode_left);
      jpeg_crop_scanline(&decoder, &crop_left, &crop_width);
      row = malloc((size_t)crop_width * 3);
      if (row == NULL) {
        status = himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "cannot allocate a row of %u pixels", crop_width);
      } else {
        if (decode_top > 0) jpeg_skip_scanlines(&decoder, (JDIMENSION)decode_top);
        for (size_t y = decode_top; y < bottom; y++) {
          JSAMPROW rows[1] = {row};
          if (jpeg_read_scanlines(&decoder, rows, 1) != 1) {
            status = himg_fail(HIMG_ERROR_TRUNCATED, "JPEG decode: no data for row %zu", y);
            break;
          }
          if (y >= top) memcpy(window->pixels + (y - top) * window->row_bytes, row + (left - crop_left) * 3, (right - left) * 3);
        }
      }
    }
  }
  jpeg_destroy_decompress(&decoder);  // also abandons the rows below the window
  free(row);
  return status;
}

himg_status himg_jpeg_decode_region(const uint8_t *data, size_t size, const himg_plan *plan,
                                    const himg_stored_region *region, uint8_t *pixels) {
  const himg_jpeg_window window = {
      .scale_numerator = (unsigned)plan->scale_numerator,
      .scale_denominator = (unsigned)plan->scale_denominator,
      .expected_width = (size_t)himg_stored_width(plan),
      .expected_height = (size_t)himg_stored_height(plan),
      .left = region->left, .top = region->top, .right = region->right, .bottom = region->bottom,
      .pixels = pixels,
      .row_bytes = (region->right - region->left) * 3,
  };
  return himg_jpeg_decode_window(data, size, &window);
}
