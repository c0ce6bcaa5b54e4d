/* Regions of a tiled TIFF's pages, read from only the tiles they touch, by many threads at once: the levels of a
 * whole slide (generic pyramidal TIFF, Aperio) without OpenSlide's ARGB tiles and compositing.
 *
 * Each page's tile offsets and byte counts are copied out at open, so a JPEG or uncompressed tile is read with one
 * pread (no shared position, no libtiff state) and a JPEG decoded only as far as the region needs
 * (himg_jpeg_decode_window). Other compressions are decoded by libtiff, whose handles are not thread-safe: each
 * read borrows one from a small pool. Nothing is mapped: a file cut while it is read gives a short read and a
 * clear error, not a fault. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>  // before jpeglib.h, which needs FILE
#include <jpeglib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>

#include "internal.h"

typedef struct tiled_page {
  uint32_t width, height, tile_width, tile_height;
  uint32_t across, down;       /* tiles in a row, rows of tiles */
  uint16_t compression;        /* TIFF's COMPRESSION_* */
  int jpeg_color_space;        /* libjpeg's J_COLOR_SPACE of a JPEG page's data (from the photometric) */
  uint8_t *tables;             /* a JPEG page's JPEGTables (our copy); NULL when none */
  uint32_t tables_size;
  uint64_t *offsets, *lengths; /* per tile */
  int readable;                /* 8-bit RGB, contiguous, in a compression this reader decodes */
} tiled_page;

typedef struct pooled_handle {
  himg_tiff_source source;
  struct tiff *tiff;
} pooled_handle;

enum { POOL_CAPACITY = 8 };

struct himg_tiled_tiff {
  char *path;     /* for libtiff's pooled handles */
  int descriptor; /* for pread */
  size_t size;    /* at open */
  tiled_page *pages;
  uint32_t page_count;
  pthread_mutex_t lock; /* guards the idle handles */
  pooled_handle *idle[POOL_CAPACITY];
  int idle_count;
};

/* The compressions read here: JPEG by our own windowed decode, the lossless ones libtiff has a codec for. */
static int decodes(uint16_t compression, uint16_t photometric) {
  if (compression == COMPRESSION_JPEG) return photometric == PHOTOMETRIC_RGB || photometric == PHOTOMETRIC_YCBCR;
  if (compression == COMPRESSION_OJPEG || compression == COMPRESSION_JP2000) return 0;
  return photometric == PHOTOMETRIC_RGB && TIFFIsCODECConfigured(compression);
}

static void describe_page(struct tiff *tiff, tiled_page *page) {
  uint16_t bits = 0, samples = 0, planar = PLANARCONFIG_CONTIG, photometric = 0;
  if (!TIFFIsTiled(tiff) || !TIFFGetField(tiff, TIFFTAG_IMAGEWIDTH, &page->width) ||
      !TIFFGetField(tiff, TIFFTAG_IMAGELENGTH, &page->height) || !TIFFGetField(tiff, TIFFTAG_TILEWIDTH, &page->tile_width) ||
      !TIFFGetField(tiff, TIFFTAG_TILELENGTH, &page->tile_height) || !TIFFGetField(tiff, TIFFTAG_PHOTOMETRIC, &photometric)) {
    return;
  }
  TIFFGetFieldDefaulted(tiff, TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLESPERPIXEL, &samples);
  TIFFGetFieldDefaulted(tiff, TIFFTAG_PLANARCONFIG, &planar);
  TIFFGetFieldDefaulted(tiff, TIFFTAG_COMPRESSION, &page->compression);
  if (bits != 8 || samples != 3 || planar != PLANARCONFIG_CONTIG || page->width == 0 || page->height == 0 ||
      page->tile_width == 0 || page->tile_height == 0 || !decodes(page->compression, photometric)) {
    return;
  }
  page->across = (page->width + page->tile_width - 1) / page->tile_width;
  page->down = (page->height + page->tile_height - 1) / page->tile_height;
  const uint32_t tiles = TIFFNumberOfTiles(tiff);
  if (tiles != page->across * page->down) return;
  page->offsets = calloc(tiles, sizeof *page->offsets);
  page->lengths = calloc(tiles, sizeof *page->lengths);
  if (page->offsets == NULL || page->lengths == NULL) return;
  for (uint32_t index = 0; index < tiles; index++) {
    int error = 0;
    page->offsets[index] = TIFFGetStrileOffsetWithErr(tiff, index, &error);
    page->lengths[index] = TIFFGetStrileByteCountWithErr(tiff, index, &error);
    if (error) return;
  }
  if (page->compression == COMPRESSION_JPEG) {
    page->jpeg_color_space = photometric == PHOTOMETRIC_YCBCR ? JCS_YCbCr : JCS_RGB;
    uint32_t count = 0;
    const void *tables = NULL;
    if (TIFFGetField(tiff, TIFFTAG_JPEGTABLES, &count, &tables) && count > 0 && tables != NULL) {
      page->tables = malloc(count);  // libtiff's copy goes when the handle closes
      if (page->tables == NULL) return;
      memcpy(page->tables, tables, count);
      page->tables_size = count;
    }
  }
  page->readable = 1;
}

himg_tiled_tiff *himg_tiled_tiff_open(const char *path) {
  himg_clear_error();
  himg_tiled_tiff *file = calloc(1, sizeof *file);
  if (file == NULL) return NULL;
  pthread_mutex_init(&file->lock, NULL);
  file->descriptor = open(path, O_RDONLY | O_CLOEXEC);
  file->path = strdup(path);
  struct stat facts;
  if (file->descriptor < 0 || file->path == NULL || fstat(file->descriptor, &facts) != 0) {
    himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "cannot open %s", path);
    himg_tiled_tiff_close(file);
    return NULL;
  }
  file->size = (size_t)facts.st_size;
  himg_tiff_source source;
  struct tiff *tiff = himg_tiff_open_file(&source, path);
  if (tiff == NULL) {
    himg_tiff_failure(&source, "open");
    himg_tiled_tiff_close(file);
    return NULL;
  }
  const tdir_t count = TIFFNumberOfDirectories(tiff);
  file->pages = calloc(count > 0 ? count : 1, sizeof *file->pages);
  if (file->pages != NULL) {
    file->page_count = count;
    for (tdir_t index = 0; index < count && TIFFSetDirectory(tiff, index); index++) {
      describe_page(tiff, &file->pages[index]);
    }
  }
  TIFFClose(tiff);
  return file;
}

void himg_tiled_tiff_close(himg_tiled_tiff *file) {
  if (file == NULL) return;
  for (int index = 0; index < file->idle_count; index++) {
    TIFFClose(file->idle[index]->tiff);
    free(file->idle[index]);
  }
  for (uint32_t index = 0; index < file->page_count; index++) {
    free(file->pages[index].offsets);
    free(file->pages[index].lengths);
    free(file->pages[index].tables);
  }
  free(file->pages);
  pthread_mutex_destroy(&file->lock);
  if (file->descriptor >= 0) close(file->descriptor);
  free(file->path);
  free(file);
}

int32_t himg_tiled_tiff_find_page(const himg_tiled_tiff *file, int64_t width, int64_t height) {
  for (uint32_t index = 0; index < file->page_count; index++) {
    const tiled_page *page = &file->pages[index];
    if (page->width == width && page->height == height) return page->readable ? (int32_t)index : -1;
  }
  return -1;
}

/* A libtiff handle on `page`, from the pool or new; NULL with the reason set. */
static pooled_handle *borrow_handle(himg_tiled_tiff *file, uint32_t page) {
  pthread_mutex_lock(&file->lock);
  pooled_handle *handle = file->idle_count > 0 ? file->idle[--file->idle_count] : NULL;
  pthread_mutex_unlock(&file->lock);
  if (handle == NULL) {
    handle = calloc(1, sizeof *handle);
    if (handle == NULL) {
      himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "cannot allocate a TIFF handle");
      return NULL;
    }
    handle->tiff = himg_tiff_open_file(&handle->source, file->path);
    if (handle->tiff == NULL) {
      himg_tiff_failure(&handle->source, "open");
      free(handle);
      return NULL;
    }
  }
  if (TIFFCurrentDirectory(handle->tiff) != page && !TIFFSetDirectory(handle->tiff, (tdir_t)page)) {
    himg_tiff_failure(&handle->source, "directory");
    TIFFClose(handle->tiff);
    free(handle);
    return NULL;
  }
  handle->source.message[0] = '\0';
  return handle;
}

static void return_handle(himg_tiled_tiff *file, pooled_handle *handle) {
  pthread_mutex_lock(&file->lock);
  if (file->idle_count < POOL_CAPACITY) {
    file->idle[file->idle_count++] = handle;
    handle = NULL;
  }
  pthread_mutex_unlock(&file->lock);
  if (handle != NULL) {
    TIFFClose(handle->tiff);
    free(handle);
  }
}

/* HIMG_OK when the tile's bytes lie within the file, as the directory says; a named refusal when they do not. */
static himg_status check_tile_extent(const himg_tiled_tiff *file, uint32_t page_index, uint32_t index) {
  const uint64_t offset = file->pages[page_index].offsets[index], length = file->pages[page_index].lengths[index];
  if (offset <= file->size && length <= file->size - offset) return HIMG_OK;
  return himg_fail(HIMG_ERROR_TRUNCATED, "tile %u of page %u lies past the end of the file (%llu bytes at %llu, the file has %zu)",
                   index, page_index, (unsigned long long)length, (unsigned long long)offset, file->size);
}

/* The tile's stored bytes (malloc'd), read with pread; NULL with the reason set. */
static uint8_t *read_stored_tile(const himg_tiled_tiff *file, uint32_t page_index, uint32_t index, size_t *length) {
  const uint64_t offset = file->pages[page_index].offsets[index];
  *length = (size_t)file->pages[page_index].lengths[index];
  if (check_tile_extent(file, page_index, index) != HIMG_OK) return NULL;
  uint8_t *stored = malloc(*length > 0 ? *length : 1);
  if (stored == NULL) {
    himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "cannot allocate %zu bytes for tile %u", *length, index);
    return NULL;
  }
  size_t done = 0;
  while (done < *length) {
    const ssize_t got = pread(file->descriptor, stored + done, *length - done, (off_t)(offset + done));
    if (got <= 0) {
      himg_fail(HIMG_ERROR_TRUNCATED, "tile %u of page %u: the file ends early (%zu of %zu bytes read)", index, page_index, done, *length);
      free(stored);
      return NULL;
    }
    done += (size_t)got;
  }
  return stored;
}

/* Copies columns [left, right) and rows [top, bottom) of a whole decoded tile into `pixels`, `row_bytes` apart. */
static void copy_window(const uint8_t *tile, size_t tile_row_bytes, size_t left, size_t top, size_t right, size_t bottom,
                        uint8_t *pixels, size_t row_bytes) {
  for (size_t y = top; y < bottom; y++) memcpy(pixels + (y - top) * row_bytes, tile + y * tile_row_bytes + left * 3, (right - left) * 3);
}

/* Decodes columns [left, right) and rows [top, bottom) of tile `index` into `pixels`, `row_bytes` apart. */
static himg_status read_tile_window(himg_tiled_tiff *file, uint32_t page_index, uint32_t index, size_t left, size_t top,
                                    size_t right, size_t bottom, uint8_t *pixels, size_t row_bytes) {
  const tiled_page *page = &file->pages[page_index];
  const size_t tile_row_bytes = (size_t)page->tile_width * 3;
  const himg_status extent = check_tile_extent(file, page_index, index);
  if (extent != HIMG_OK) return extent;
  if (page->compression == COMPRESSION_JPEG || page->compression == COMPRESSION_NONE) {
    size_t length = 0;
    uint8_t *stored = read_stored_tile(file, page_index, index, &length);
    if (stored == NULL) return HIMG_ERROR_TRUNCATED;  // the message is set
    himg_status status = HIMG_OK;
    if (page->compression == COMPRESSION_NONE) {
      if (length < tile_row_bytes * bottom) {
        status = himg_fail(HIMG_ERROR_CORRUPT, "tile %u of page %u holds %zu bytes, not a %ux%u RGB tile", index, page_index,
                           length, page->tile_width, page->tile_height);
      } else {
        copy_window(stored, tile_row_bytes, left, top, right, bottom, pixels, row_bytes);
      }
    } else {
      const himg_jpeg_window window = {
          .tables = page->tables, .tables_size = page->tables_size, .stored_color_space = page->jpeg_color_space,
          .left = left, .top = top, .right = right, .bottom = bottom, .pixels = pixels, .row_bytes = row_bytes,
      };
      status = himg_jpeg_decode_window(stored, length, &window);
      if (status != HIMG_OK) {
        char reason[512];
        snprintf(reason, sizeof reason, "%s", himg_last_error());  // the message himg_fail rewrites
        status = himg_fail(status, "tile %u of page %u: %s", index, page_index, reason);
      }
    }
    free(stored);
    return status;
  }
  uint8_t *tile = malloc(tile_row_bytes * page->tile_height);
  if (tile == NULL) return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "cannot allocate a %ux%u tile", page->tile_width, page->tile_height);
  himg_status status = HIMG_OK;
  pooled_handle *handle = borrow_handle(file, page_index);
  if (handle == NULL) {
    status = HIMG_ERROR_CORRUPT;  // the message is set
  } else if (TIFFReadEncodedTile(handle->tiff, index, tile, (tmsize_t)(tile_row_bytes * page->tile_height)) < 0) {
    status = himg_fail(HIMG_ERROR_CORRUPT, "tile %u of page %u: %s", index, page_index,
                       handle->source.message[0] != '\0' ? handle->source.message : "libtiff could not decode it");
  } else {
    copy_window(tile, tile_row_bytes, left, top, right, bottom, pixels, row_bytes);
  }
  if (handle != NULL) return_handle(file, handle);
  free(tile);
  return status;
}

static void fill(uint8_t *pixels, size_t row_bytes, size_t width, size_t height, const uint8_t background[3]) {
  for (size_t y = 0; y < height; y++) {
    uint8_t *row = pixels + y * row_bytes;
    for (size_t x = 0; x < width; x++) memcpy(row + 3 * x, background, 3);
  }
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

himg_status himg_tiled_tiff_read(himg_tiled_tiff *file, int32_t page_index, int64_t x, int64_t y, int64_t width,
                                 int64_t height, const uint8_t background[3], uint8_t *rgb) {
  himg_clear_error();
  if (file == NULL || rgb == NULL || background == NULL || page_index < 0 || (uint32_t)page_index >= file->page_count ||
      !file->pages[page_index].readable || width <= 0 || height <= 0) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "himg_tiled_tiff_read: no such page, or an empty region");
  }
  const tiled_page *page = &file->pages[page_index];
  const size_t row_bytes = (size_t)width * 3;
  // The part inside the page; the rest (and tiles the file leaves out, with no bytes) is the background.
  const int64_t inside_left = max64(x, 0), inside_top = max64(y, 0);
  const int64_t inside_right = min64(x + width, page->width), inside_bottom = min64(y + height, page->height);
  if (inside_left > x || inside_top > y || inside_right < x + width || inside_bottom < y + height) {
    fill(rgb, row_bytes, (size_t)width, (size_t)height, background);
  }
  if (inside_left >= inside_right || inside_top >= inside_bottom) return HIMG_OK;
  const int64_t tile_width = page->tile_width, tile_height = page->tile_height;
  for (int64_t row = inside_top / tile_height; row * tile_height < inside_bottom; row++) {
    for (int64_t column = inside_left / tile_width; column * tile_width < inside_right; column++) {
      const int64_t left = max64(inside_left, column * tile_width), right = min64(inside_right, (column + 1) * tile_width);
      const int64_t top = max64(inside_top, row * tile_height), bottom = min64(inside_bottom, (row + 1) * tile_height);
      uint8_t *target = rgb + (size_t)(top - y) * row_bytes + (size_t)(left - x) * 3;
      const uint32_t index = (uint32_t)(row * page->across + column);
      if (page->lengths[index] == 0) {
        fill(target, row_bytes, (size_t)(right - left), (size_t)(bottom - top), background);
        continue;
      }
      const himg_status status =
          read_tile_window(file, (uint32_t)page_index, index, (size_t)(left - column * tile_width), (size_t)(top - row * tile_height),
                           (size_t)(right - column * tile_width), (size_t)(bottom - row * tile_height), target, row_bytes);
      if (status != HIMG_OK) return status;
    }
  }
  return HIMG_OK;
}
