// gnuplot string escaping and one gnuplot process per figure (see hld/report/gnuplot.h).
#include "hld/report/gnuplot.h"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "hld/util/fs.h"
#include "hld/spec/objective.h"

namespace fs = std::filesystem;

namespace hld::report {
namespace {

bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// The first line of gnuplot's log that says what broke ("line 12: unexpected ..."), for the warning.
std::string first_error_line(const std::string& log) {
  std::string first;
  size_t at = 0;
  while (at < log.size()) {
    size_t end = log.find('\n', at);
    if (end == std::string::npos) end = log.size();
    const std::string line = log.substr(at, end - at);
    if (first.empty() && !line.empty()) first = line;
    if (line.find("line ") != std::string::npos || line.find("rror") != std::string::npos) return line;
    at = end + 1;
  }
  return first;
}

// Whether some installed font has a glyph for code point `cp`, asked of fontconfig's fc-list once
// per code point. Without fc-list there is no one to ask: assume it does.
bool font_has(uint32_t cp) {
  static std::map<uint32_t, bool> known;
  static const bool have_fc_list = std::system("command -v fc-list >/dev/null 2>&1") == 0;
  if (!have_fc_list) return true;
  auto it = known.find(cp);
  if (it != known.end()) return it->second;
  char cmd[96];
  std::snprintf(cmd, sizeof cmd, "fc-list ':charset=%x' family 2>/dev/null", static_cast<unsigned>(cp));
  bool found = false;
  if (FILE* p = popen(cmd, "r")) {
    char buf[256];
    found = std::fgets(buf, sizeof buf, p) != nullptr;
    pclose(p);
  }
  return known[cp] = found;
}

// Length of the UTF-8 sequence that starts at s[i] and its code point; 0 when it is not valid.
size_t utf8_at(const std::string& s, size_t i, uint32_t* cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  const size_t n = c >= 0xf0 && c < 0xf8 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  uint32_t v = c & (0x7f >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    v = (v << 6) | (b(i + k) & 0x3f);
  }
  if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) || (v >= 0xd800 && v < 0xe000)) return 0;
  *cp = v;
  return n;
}

}  // namespace

std::string gp_string(const std::string& s) {
  std::string out = "'";
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (static_cast<unsigned char>(c) < 0x80) {
      out += c == '\'' ? std::string("''") : std::string(1, is_control(c) ? ' ' : c);
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const size_t n = utf8_at(s, i, &cp);
    if (n == 0) {  // not UTF-8: one '?' per stray byte
      out += '?';
      ++i;
      continue;
    }
    out += font_has(cp) ? s.substr(i, n) : "?";
    i += n;
  }
  return out + "'";
}

std::string one_line(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (is_control(c)) c = ' ';
  return out;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

bool gnuplot_available(const std::string& gnuplot) {
  return std::system((shell_quote(gnuplot) + " --version >/dev/null 2>&1").c_str()) == 0;
}

std::string gp_open_png(const std::string& gnuplot, FigureSize size, const std::string& png_name) {
  static std::map<std::string, bool> has_cairo;  // asked once per gnuplot executable
  auto it = has_cairo.find(gnuplot);
  if (it == has_cairo.end())
    it = has_cairo
             .emplace(gnuplot,
                      std::system((shell_quote(gnuplot) + " -e 'set terminal pngcairo' >/dev/null 2>&1").c_str()) == 0)
             .first;
  const std::string dims = " size " + std::to_string(size.width) + "," + std::to_string(size.height);
  std::string out = it->second ? "set terminal pngcairo" + dims + " noenhanced font ',11'\n"
                               : "set terminal png" + dims + " noenhanced\n";
  return out + "set encoding utf8\nset output " + gp_string(png_name) + "\n";
}

FigureOutcome draw_figure(const std::string& dir, const std::string& name, const std::string& script,
                          const std::string& gnuplot) {
  FigureOutcome o;
  o.name = name;
  o.png = (fs::path(dir) / (name + ".png")).string();
  const std::string log = (fs::path(dir) / (name + ".gnuplot.log")).string();
  std::error_code ec;
  fs::remove(o.png, ec);
  util::write_file_atomic((fs::path(dir) / (name + ".gp")).string(), script);
  const std::string cmd = "cd " + shell_quote(dir) + " && " + shell_quote(gnuplot) + " " + shell_quote(name + ".gp") +
                          " >" + shell_quote(name + ".gnuplot.log") + " 2>&1";
  const int rc = std::system(cmd.c_str());
  const bool drawn = fs::exists(o.png, ec) && fs::file_size(o.png, ec) > 0;
  o.ok = rc == 0 && drawn;
  std::string messages;
  if (fs::exists(log, ec)) messages = util::read_file(log);
  if (o.ok) {
    if (messages.empty()) fs::remove(log, ec);
    return o;
  }
  o.error = rc != 0 ? "gnuplot failed" : "gnuplot wrote no PNG";
  const std::string what = first_error_line(messages);
  if (!what.empty()) o.error += " (" + what + ")";
  o.error += "; see " + log;
  return o;
}

std::string method_color(const std::string& method) {
  const auto* s = spec::find(method);
  return s ? s->color : "#000000";
}

std::string safe_name(const std::string& s) {
  std::string out;
  bool replaced = false;
  for (char c : s) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    out += keep ? c : '_';
    replaced |= !keep;
  }
  if (out.empty()) return "_";
  if (!replaced) return out;
  char tag[16];
  std::snprintf(tag, sizeof tag, "-%06llx", static_cast<unsigned long long>(util::fnv1a64(s) & 0xffffffULL));
  return out + tag;
}

}  // namespace hld::report
