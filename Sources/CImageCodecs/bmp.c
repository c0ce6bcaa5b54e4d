/* BMP, read by our own code: the uncompressed kinds PIL reads the same way.
 *
 * 24-bit BGR and 32-bit BGRX (BI_RGB), 32-bit with 8-bit channel masks (BI_BITFIELDS, which is how
 * RGBA BMPs are written), and 1-, 4- and 8-bit palettes, stored bottom-up or top-down (negative height),
 * with the Windows (40-124 byte) or OS/2 (12 byte) header. Alpha is dropped as by convert("RGB").
 * RLE, JPEG/PNG-in-BMP and 16-bit pixels are refused with a message that says so. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { FILE_HEADER_SIZE = 14, BI_RGB = 0, BI_RLE8 = 1, BI_RLE4 = 2, BI_BITFIELDS = 3, BI_JPEG = 4, BI_PNG = 5 };

/* What the headers say, checked. */
typedef struct bmp_header {
  int32_t width;
  int32_t height;      /* positive */
  int top_down;
  int bits;            /* 1, 4, 8, 24 or 32 */
  uint32_t pixel_offset;
  size_t row_stride;   /* rows are padded to 4 bytes */
  uint32_t masks[3];   /* red, green, blue for 32-bit pixels */
  size_t palette_offset;
  size_t palette_entry; /* 4 bytes (BGRX), or 3 for OS/2 headers */
  size_t palette_count;
} bmp_header;

static int mask_is_byte(uint32_t mask) {
  if (mask == 0) return 0;
  while ((mask & 1) == 0) mask >>= 1;
  return mask == 0xFF;
}

static int mask_shift(uint32_t mask) {
  int shift = 0;
  while (shift < 31 && ((mask >> shift) & 1) == 0) shift++;
  return shift;
}

static himg_status read_header(const uint8_t *data, size_t size, bmp_header *header) {
  memset(header, 0, sizeof *header);
  if (size < FILE_HEADER_SIZE + 4) return himg_fail(HIMG_ERROR_TRUNCATED, "BMP: the data ends inside the header");
  header->pixel_offset = himg_le32(data + 10);
  const uint32_t info_size = himg_le32(data + FILE_HEADER_SIZE);
  if (info_size != 12 && (info_size < 40 || info_size > 124)) {
    return himg_fail(HIMG_ERROR_CORRUPT, "BMP: unknown header size %u", info_size);
  }
  if (size < FILE_HEADER_SIZE + (size_t)info_size) return himg_fail(HIMG_ERROR_TRUNCATED, "BMP: the data ends inside the header");
  const uint8_t *info = data + FILE_HEADER_SIZE;
  int64_t width, height;
  uint32_t compression = BI_RGB, colours_used = 0;
  if (info_size == 12) {  // OS/2 BITMAPCOREHEADER: unsigned 16-bit sizes, 3-byte palette entries
    width = himg_le16(info + 4);
    height = himg_le16(info + 6);
    header->bits = (int)himg_le16(info + 10);
    header->palette_entry = 3;
  } else {
    width = (int32_t)himg_le32(info + 4);
    height = (int32_t)himg_le32(info + 8);
    header->bits = (int)himg_le16(info + 14);
    compression = himg_le32(info + 16);
    colours_used = himg_le32(info + 32);
    header->palette_entry = 4;
  }
  switch (compression) {
  case BI_RGB:
  case BI_BITFIELDS:
    break;
  case BI_RLE8:
  case BI_RLE4:
    return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "BMP: RLE-compressed bitmaps are not supported; save it uncompressed");
  case BI_JPEG:
  case BI_PNG:
    return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "BMP: embedded JPEG/PNG bitmaps are not supported");
  default:
    return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "BMP: compression %u is not supported", compression);
  }
  header->top_down = height < 0;
  if (height < 0) height = -height;
  header->width = (int32_t)(width > 0 && width <= INT32_MAX ? width : 0);
  header->height = (int32_t)(height > 0 && height <= INT32_MAX ? height : 0);
  if (header->width == 0 || header->height == 0) {
    return himg_fail(HIMG_ERROR_CORRUPT, "BMP: invalid dimensions %lldx%lld", (long long)width, (long long)height);
  }

  const int bits = header->bits;
  if (compression == BI_BITFIELDS) {
    if (bits != 32) return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "BMP: %d-bit bitfields are not supported", bits);
    // The masks sit at the end of a 40-byte header or inside a longer one: at the same place either way.
    if (size < FILE_HEADER_SIZE + 40 + 12) return himg_fail(HIMG_ERROR_TRUNCATED, "BMP: the data ends inside the masks");
    for (int i = 0; i < 3; i++) {
      header->masks[i] = himg_le32(data + FILE_HEADER_SIZE + 40 + 4 * (size_t)i);
      if (!mask_is_byte(header->masks[i])) {
        return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "BMP: channel mask 0x%08x is not 8 bits wide", header->masks[i]);
      }
    }
  } else if (bits == 32) {
    header->masks[0] = 0x00FF0000;  // BGRX in memory
    header->masks[1] = 0x0000FF00;
    header->masks[2] = 0x000000FF;
  } else if (bits == 1 || bits == 4 || bits == 8) {
    header->palette_offset = FILE_HEADER_SIZE + (size_t)info_size;
    header->palette_count = colours_used != 0 && colours_used < (1u << bits) ? colours_used : (size_t)1 << bits;
  } else if (bits != 24) {
    return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "BMP: %d-bit pixels are not supported (1, 4, 8, 24 and 32 are)", bits);
  }
  header->row_stride = (((size_t)header->width * (size_t)bits + 31) / 32) * 4;
  return HIMG_OK;
}

himg_status himg_bmp_plan(const uint8_t *data, size_t size, const himg_options *options, himg_plan *plan) {
  bmp_header header;
  himg_status status = read_header(data, size, &header);
  if (status != HIMG_OK) return status;
  status = himg_check_pixel_limit(header.width, header.height, options);
  if (status != HIMG_OK) return status;
  himg_plan_full_resolution(plan, HIMG_FORMAT_BMP, header.width, header.height, 1);
  return HIMG_OK;
}

static void palette_row(const bmp_header *header, const uint8_t *data, const uint8_t *row, uint8_t *out) {
  const int bits = header->bits;
  const uint8_t *palette = data + header->palette_offset;
  for (int32_t x = 0; x < header->width; x++) {
    // Pixels are packed from the most significant bit of each byte.
    const size_t bit = (size_t)x * (size_t)bits;
    const unsigned index = (row[bit / 8] >> (8 - bits - (int)(bit % 8))) & ((1u << bits) - 1);
    if (index < header->palette_count) {
      const uint8_t *entry = palette + index * header->palette_entry;  // B, G, R
      out[x * 3] = entry[2];
      out[x * 3 + 1] = entry[1];
      out[x * 3 + 2] = entry[0];
    } else {
      out[x * 3] = out[x * 3 + 1] = out[x * 3 + 2] = 0;  // an index past the palette is black
    }
  }
}

himg_status himg_bmp_decode(const uint8_t *data, size_t size, const himg_plan *plan, uint8_t *pixels) {
  bmp_header header;
  himg_status status = read_header(data, size, &header);
  if (status != HIMG_OK) return status;
  if (header.width != plan->width || header.height != plan->height) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "BMP dimensions differ from the plan's");
  }
  if (header.palette_count > 0 &&
      (header.palette_offset + header.palette_count * header.palette_entry > size)) {
    return himg_fail(HIMG_ERROR_TRUNCATED, "BMP: the data ends inside the palette");
  }
  const size_t last_row_end = (size_t)header.pixel_offset + header.row_stride * (size_t)(header.height - 1) +
                              ((size_t)header.width * (size_t)header.bits + 7) / 8;
  if (header.pixel_offset >= size || last_row_end > size) {
    return himg_fail(HIMG_ERROR_TRUNCATED, "BMP: %zu bytes of pixel data needed, %zu present", last_row_end, size);
  }
  const int shifts[3] = {mask_shift(header.masks[0]), mask_shift(header.masks[1]), mask_shift(header.masks[2])};
  for (int32_t y = 0; y < header.height; y++) {
    const size_t stored_row = header.top_down ? (size_t)y : (size_t)(header.height - 1 - y);
    const uint8_t *row = data + header.pixel_offset + stored_row * header.row_stride;
    uint8_t *out = pixels + (size_t)y * (size_t)header.width * 3;
    if (header.bits == 24) {
      for (int32_t x = 0; x < header.width; x++) {
        out[x * 3] = row[x * 3 + 2];
        out[x * 3 + 1] = row[x * 3 + 1];
        out[x * 3 + 2] = row[x * 3];
      }
    } else if (header.bits == 32) {
      for (int32_t x = 0; x < header.width; x++) {
        const uint32_t value = himg_le32(row + (size_t)x * 4);
        for (int channel = 0; channel < 3; channel++) out[x * 3 + channel] = (uint8_t)(value >> shifts[channel]);
      }
    } else {
      palette_row(&header, data, row, out);
    }
  }
  return HIMG_OK;
}
