/* libtiff reading from memory, shared by the RGB reader (tiff.c) and the full-depth one (samples_tiff.c).
 * Errors and warnings go to handlers on the handle, never to libtiff's global ones, which print. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <tiffio.h>

#include "internal.h"

static tmsize_t read_bytes(thandle_t handle, void *buffer, tmsize_t count) {
  himg_tiff_source *source = handle;
  const size_t available = source->offset < source->size ? source->size - source->offset : 0;
  size_t length = (size_t)count;
  if (length > available) {
    length = available;
    source->ran_out_of_data = 1;
  }
  if (length > 0) memcpy(buffer, source->data + source->offset, length);
  source->offset += length;
  return (tmsize_t)length;
}

static tmsize_t write_bytes(thandle_t handle, void *buffer, tmsize_t count) {
  (void)handle;
  (void)buffer;
  (void)count;
  return -1;  // opened read-only
}

static toff_t seek(thandle_t handle, toff_t offset, int whence) {
  himg_tiff_source *source = handle;
  switch (whence) {
  case SEEK_SET: source->offset = (size_t)offset; break;
  case SEEK_CUR: source->offset += (size_t)offset; break;
  case SEEK_END: source->offset = source->size + (size_t)offset; break;
  default: return (toff_t)-1;
  }
  return (toff_t)source->offset;  // past the end is allowed; a read there comes back short
}

static int close_source(thandle_t handle) {
  (void)handle;
  return 0;
}

static toff_t source_size(thandle_t handle) { return (toff_t)((himg_tiff_source *)handle)->size; }

static int map_source(thandle_t handle, void **base, toff_t *size) {
  himg_tiff_source *source = handle;
  *base = (void *)source->data;  // the data is in memory already: libtiff reads it in place
  *size = (toff_t)source->size;
  return 1;
}

static void unmap_source(thandle_t handle, void *base, toff_t size) {
  (void)handle;
  (void)base;
  (void)size;
}

static int on_error(TIFF *tiff, void *user_data, const char *module, const char *format, va_list arguments) {
  (void)tiff;
  himg_tiff_source *source = user_data;
  if (source->message[0] == '\0') {
    int length = snprintf(source->message, sizeof source->message, "%s: ", module != NULL ? module : "libtiff");
    if (length > 0 && (size_t)length < sizeof source->message) {
      vsnprintf(source->message + length, sizeof source->message - (size_t)length, format, arguments);
    }
  }
  return 1;  // handled: libtiff's global handler is not called
}

static int on_warning(TIFF *tiff, void *user_data, const char *module, const char *format, va_list arguments) {
  (void)tiff;
  (void)user_data;
  (void)module;
  (void)format;
  (void)arguments;
  return 1;  // a library stays silent
}

TIFF *himg_tiff_open_file(himg_tiff_source *source, const char *path) {
  memset(source, 0, sizeof *source);
  TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
  if (options == NULL) return NULL;
  TIFFOpenOptionsSetErrorHandlerExtR(options, on_error, source);
  TIFFOpenOptionsSetWarningHandlerExtR(options, on_warning, source);
  TIFF *tiff = TIFFOpenExt(path, "rm", options);  // "m": read(2), never a mapping a shrinking file would fault in
  TIFFOpenOptionsFree(options);
  return tiff;
}

/* mapped: strips and tiles are read in place. Unmapped, libtiff 4.5 refuses an uncompressed
   tile whose size is not a multiple of 1024 bytes (it compares the tile size with its read
   buffer, rounded up to 1 KiB), which PIL and tifffile read and write. Unmapped reads notice
   where the data ends (a short read), which tells a truncated header from a corrupt one. */
TIFF *himg_tiff_open(himg_tiff_source *source, const uint8_t *data, size_t size, int mapped) {
  memset(source, 0, sizeof *source);
  source->data = data;
  source->size = size;
  TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
  if (options == NULL) return NULL;
  TIFFOpenOptionsSetErrorHandlerExtR(options, on_error, source);
  TIFFOpenOptionsSetWarningHandlerExtR(options, on_warning, source);
  TIFF *tiff = TIFFClientOpenExt("TIFF", mapped ? "r" : "rm", source, read_bytes, write_bytes, seek, close_source, source_size,
                                 map_source, unmap_source, options);
  TIFFOpenOptionsFree(options);  // the handle keeps its own copy of the handlers
  return tiff;
}

int himg_tiff_data_ends_early(TIFF *tiff, size_t size) {
  const uint32_t count = TIFFIsTiled(tiff) ? TIFFNumberOfTiles(tiff) : TIFFNumberOfStrips(tiff);
  for (uint32_t index = 0; index < count; index++) {
    int error = 0;
    const uint64_t offset = TIFFGetStrileOffsetWithErr(tiff, index, &error);
    const uint64_t length = TIFFGetStrileByteCountWithErr(tiff, index, &error);
    if (!error && (offset > size || length > size - offset)) return 1;
  }
  return 0;
}

himg_status himg_tiff_failure(const himg_tiff_source *source, const char *stage) {
  const char *message = source->message[0] != '\0' ? source->message : "libtiff rejected the data";
  if (source->ran_out_of_data) return himg_fail(HIMG_ERROR_TRUNCATED, "TIFF %s: the data ends early (%s)", stage, message);
  return himg_fail(HIMG_ERROR_CORRUPT, "TIFF %s: %s", stage, message);
}
