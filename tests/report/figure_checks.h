// Checks of drawn figures for the report tests, on decoded pixels (png_reader.h): a PNG has the
// size its script asked for, and every panel has its plot frame with each of its series drawn
// inside it (pixels in the series' colour, method_color(); the legends are outside the frames)
// and is not covered by something dark.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "hld/report/gnuplot.h"
#include "png_reader.h"

namespace hld::report::testing {

// Hue in degrees of an RGB colour, and its chroma (max − min): 0 for white, greys and black.
inline void hue_chroma(const uint8_t* p, double* hue, int* chroma) {
  const int r = p[0], g = p[1], b = p[2];
  const int mx = std::max({r, g, b}), mn = std::min({r, g, b});
  *chroma = mx - mn;
  if (*chroma == 0) {
    *hue = 0;
    return;
  }
  double h = mx == r   ? std::fmod((g - b) / double(*chroma), 6.0)
             : mx == g ? (b - r) / double(*chroma) + 2
                       : (r - g) / double(*chroma) + 4;
  *hue = std::fmod(60 * h + 360, 360);
}

/// The inside of a panel's plot frame (the black border gnuplot draws around the data), in pixels.
struct Frame {
  uint32_t left = 0, right = 0, top = 0, bottom = 0;
  bool found = false;
};

inline bool is_dark(const uint8_t* p) { return std::max({p[0], p[1], p[2]}) < 110; }

// The frame of the panel in columns [x0, x1): its top and bottom are the rows, its left and right
// the columns, with a run of dark pixels across at least 40 % of the panel (axis labels, tick
// labels and the dashed lines are shorter runs). Legends sit outside the frame in every figure.
inline Frame plot_frame(const RgbImage& img, uint32_t x0, uint32_t x1) {
  Frame f;
  auto longest_row = [&](uint32_t y) {
    uint32_t best = 0, run = 0;
    for (uint32_t x = x0; x < x1; ++x) best = std::max(best, run = is_dark(img.at(x, y)) ? run + 1 : 0);
    return best;
  };
  auto longest_col = [&](uint32_t x) {
    uint32_t best = 0, run = 0;
    for (uint32_t y = 0; y < img.height; ++y) best = std::max(best, run = is_dark(img.at(x, y)) ? run + 1 : 0);
    return best;
  };
  bool rows = false, cols = false;
  for (uint32_t y = 0; y < img.height; ++y)
    if (longest_row(y) * 10 >= (x1 - x0) * 4) {
      f.top = rows ? f.top : y;
      f.bottom = y;
      rows = true;
    }
  for (uint32_t x = x0; x < x1; ++x)
    if (longest_col(x) * 10 >= img.height * 4) {
      f.left = cols ? f.left : x;
      f.right = x;
      cols = true;
    }
  f.found = rows && cols && f.bottom > f.top + 20 && f.right > f.left + 20;
  if (f.found) f.left += 2, f.right -= 2, f.top += 2, f.bottom -= 2;  // inside the border line
  return f;
}

// Pixels inside `f` that belong to the series drawn in `hex` ("#rrggbb"): clearly coloured
// (chroma ≥ 50; text, axes, grid and background are grey) and within 12° of its hue, which holds
// for its lines, points and for the translucent fills blended with white.
inline int series_pixels(const RgbImage& img, const std::string& hex, const Frame& f) {
  const uint8_t want[3] = {uint8_t(std::stoi(hex.substr(1, 2), nullptr, 16)),
                           uint8_t(std::stoi(hex.substr(3, 2), nullptr, 16)),
                           uint8_t(std::stoi(hex.substr(5, 2), nullptr, 16))};
  double want_hue;
  int want_chroma;
  hue_chroma(want, &want_hue, &want_chroma);
  int n = 0;
  for (uint32_t y = f.top; y <= f.bottom; ++y)
    for (uint32_t x = f.left; x <= f.right; ++x) {
      double h;
      int c;
      hue_chroma(img.at(x, y), &h, &c);
      const double d = std::abs(h - want_hue);
      if (c >= 50 && std::min(d, 360 - d) <= 12) ++n;
    }
  return n;
}

// One point marker (pt 7) is about 70 pixels, a line of lw 2 two pixels per pixel of length.
constexpr int kDrawn = 30;

// Dark pixels (text, axes, black lines) in columns [x0, x1), as a fraction: small in a readable
// panel; a glyph drawn at the wrong scale (cairo's box for a missing character) covers it.
inline double dark_fraction(const RgbImage& img, uint32_t x0, uint32_t x1) {
  size_t dark = 0;
  for (uint32_t y = 0; y < img.height; ++y)
    for (uint32_t x = x0; x < x1; ++x) dark += is_dark(img.at(x, y));
  return static_cast<double>(dark) / (static_cast<double>(x1 - x0) * img.height);
}

/// Expects `png` to be `size` and each of its `panels` (side by side, equal widths) to have a plot
/// frame with every method of `methods` drawn inside it, and not to be covered by something dark.
inline void expect_panels(const std::string& png, FigureSize size, int panels,
                          const std::vector<std::string>& methods) {
  SCOPED_TRACE(png);
  RgbImage img;
  ASSERT_NO_THROW(img = read_png(png));
  EXPECT_EQ(img.width, static_cast<uint32_t>(size.width));
  EXPECT_EQ(img.height, static_cast<uint32_t>(size.height));
  for (int p = 0; p < panels; ++p) {
    const uint32_t x0 = img.width * p / panels, x1 = img.width * (p + 1) / panels;
    const Frame f = plot_frame(img, x0, x1);
    EXPECT_TRUE(f.found) << "panel " << p << " of " << panels << " has no plot frame: it was not drawn";
    if (f.found) {
      for (const auto& m : methods)
        EXPECT_GE(series_pixels(img, method_color(m), f), kDrawn) << "panel " << p << " of " << panels << ": " << m;
    }
    EXPECT_LT(dark_fraction(img, x0, x1), 0.08) << "panel " << p << " of " << panels << " is covered";
  }
}

}  // namespace hld::report::testing
