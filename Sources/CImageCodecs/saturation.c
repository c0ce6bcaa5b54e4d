/* HSV saturation of 8-bit RGB pixels, for tissue masks (the loop runs over a slide's thumbnail). */
#include "CImageCodecs.h"

void himg_hsv_saturation(const uint8_t *rgb, size_t pixels, uint8_t *saturation, uint64_t *histogram) {
  for (size_t i = 0; i < pixels; i++) {
    int r = rgb[3 * i], g = rgb[3 * i + 1], b = rgb[3 * i + 2];
    int high = r > g ? (r > b ? r : b) : (g > b ? g : b);
    int low = r < g ? (r < b ? r : b) : (g < b ? g : b);
    /* OpenCV's 8-bit HSV: S = 255 * (max - min) / max, rounded. */
    int value = high == 0 ? 0 : (255 * (high - low) + high / 2) / high;
    saturation[i] = (uint8_t)value;
    histogram[value]++;
  }
}

size_t himg_indices_above(const uint8_t *values, size_t count, uint8_t threshold, int32_t *indices) {
  size_t found = 0;
  for (size_t i = 0; i < count; i++)
    if (values[i] > threshold) indices[found++] = (int32_t)i;
  return found;
}
