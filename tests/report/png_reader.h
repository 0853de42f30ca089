// A small PNG decoder for the figure tests, so that they look at the pixels gnuplot drew and not
// only at a file header: 8-bit samples, no interlacing, colour types 0 (grey), 2 (RGB), 3
// (palette), 4 (grey + alpha) and 6 (RGBA) — what gnuplot's png and pngcairo terminals write.
// Chunk CRCs are checked, the IDAT stream is inflated with zlib and every scanline filter undone;
// alpha is composited over white. Anything else throws std::runtime_error saying what it met.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "hld/util/fs.h"

namespace hld::report::testing {

struct RgbImage {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> rgb;  ///< 3 bytes per pixel, rows top to bottom
  const uint8_t* at(uint32_t x, uint32_t y) const { return &rgb[3 * (static_cast<size_t>(y) * width + x)]; }
};

namespace png_detail {

inline uint32_t be32(const std::string& b, size_t at) {
  return (uint32_t(uint8_t(b[at])) << 24) | (uint32_t(uint8_t(b[at + 1])) << 16) | (uint32_t(uint8_t(b[at + 2])) << 8) |
         uint32_t(uint8_t(b[at + 3]));
}

inline int paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

}  // namespace png_detail

/// Decodes the PNG file at `path`.
inline RgbImage read_png(const std::string& path) {
  using namespace png_detail;
  const std::string b = util::read_file(path);
  auto fail = [&](const std::string& what) { return std::runtime_error(path + ": " + what); };
  if (b.size() < 8 || b.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) != 0) throw fail("not a PNG signature");
  RgbImage img;
  int depth = 0, type = -1;
  std::string idat, palette;
  bool ended = false;
  for (size_t at = 8; at + 12 <= b.size() && !ended;) {
    const uint32_t len = be32(b, at);
    if (at + 12 + len > b.size()) throw fail("truncated chunk");
    const std::string kind = b.substr(at + 4, 4), data = b.substr(at + 8, len);
    const uint32_t crc =
        static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(b.data() + at + 4), static_cast<uInt>(len + 4)));
    if (crc != be32(b, at + 8 + len)) throw fail("bad CRC in chunk " + kind);
    if (kind == "IHDR") {
      img.width = be32(data, 0);
      img.height = be32(data, 4);
      depth = uint8_t(data[8]);
      type = uint8_t(data[9]);
      if (uint8_t(data[12]) != 0) throw fail("interlaced PNGs are not supported");
    } else if (kind == "PLTE") {
      palette = data;
    } else if (kind == "IDAT") {
      idat += data;
    } else if (kind == "IEND") {
      ended = true;
    }
    at += 12 + len;
  }
  if (!ended) throw fail("no IEND chunk");
  if (depth != 8) throw fail("bit depth " + std::to_string(depth) + " is not supported");
  const int channels = type == 0 ? 1 : type == 2 ? 3 : type == 3 ? 1 : type == 4 ? 2 : type == 6 ? 4 : 0;
  if (channels == 0) throw fail("colour type " + std::to_string(type) + " is not supported");
  if (img.width == 0 || img.height == 0 || img.width > 20000 || img.height > 20000) throw fail("implausible size");

  const size_t stride = static_cast<size_t>(img.width) * channels;
  std::vector<uint8_t> raw(img.height * (stride + 1));
  uLongf raw_len = static_cast<uLongf>(raw.size());
  if (uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), static_cast<uLong>(idat.size())) !=
          Z_OK ||
      raw_len != raw.size())
    throw fail("the image data does not inflate to width × height");

  // Undo the per-scanline filters (None, Sub, Up, Average, Paeth) in place.
  std::vector<uint8_t> px(img.height * stride);
  for (uint32_t y = 0; y < img.height; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    uint8_t* out = &px[y * stride];
    const uint8_t* up = y ? &px[(y - 1) * stride] : nullptr;
    for (size_t i = 0; i < stride; ++i) {
      const int a = i >= static_cast<size_t>(channels) ? out[i - channels] : 0;
      const int u = up ? up[i] : 0;
      const int c = up && i >= static_cast<size_t>(channels) ? up[i - channels] : 0;
      int pred = 0;
      switch (filter) {
        case 0:
          pred = 0;
          break;
        case 1:
          pred = a;
          break;
        case 2:
          pred = u;
          break;
        case 3:
          pred = (a + u) / 2;
          break;
        case 4:
          pred = paeth(a, u, c);
          break;
        default:
          throw fail("unknown filter type " + std::to_string(filter));
      }
      out[i] = static_cast<uint8_t>(in[i] + pred);
    }
  }

  img.rgb.resize(static_cast<size_t>(img.width) * img.height * 3);
  for (size_t p = 0; p < static_cast<size_t>(img.width) * img.height; ++p) {
    const uint8_t* s = &px[p * channels];
    uint8_t rgb[3];
    int alpha = 255;
    if (type == 3) {
      if (3u * s[0] + 3 > palette.size()) throw fail("palette index out of range");
      for (int k = 0; k < 3; ++k) rgb[k] = uint8_t(palette[3 * s[0] + k]);
    } else if (type == 0 || type == 4) {
      rgb[0] = rgb[1] = rgb[2] = s[0];
      if (type == 4) alpha = s[1];
    } else {
      for (int k = 0; k < 3; ++k) rgb[k] = s[k];
      if (type == 6) alpha = s[3];
    }
    for (int k = 0; k < 3; ++k) img.rgb[3 * p + k] = static_cast<uint8_t>((rgb[k] * alpha + 255 * (255 - alpha)) / 255);
  }
  return img;
}

}  // namespace hld::report::testing
