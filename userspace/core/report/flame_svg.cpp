// SPDX-License-Identifier: MIT
// A flame graph of packet-time as one self-contained SVG: hover, click to zoom, search.
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <cstdint>
#include <cstdio>

#include "core/format/format.h"
#include "core/report/visual.h"

namespace tunlat {

namespace {

constexpr double kWidth = 1200, kMargin = 10, kFrameH = 17, kTop = 72, kBottom = 28;

struct Node {
  std::string name, path;
  uint64_t us = 0, x = 0;    // x: us to the left of it within the root
  int level = 0, span = -2;  // -2: none seen yet, -1: a mix of spans
  Dir dir = Dir::Tx;
  bool dir_known = false;
  Histogram latency;
  std::vector<Node> children;  // in leaf (path) order
};

// One colour per span kind; frames below a span take its hue, the outer ones grey.
const char* span_colour(Dir d, int span) {
  if (span < 0) return "#b0b0b0";
  static const char* tx[] = {"#f28e2b", "#e15759", "#edc948", "#9c755f"};
  static const char* rx[] = {"#4e79a7", "#59a14f", "#76b7b2"};
  return d == Dir::Tx ? tx[span % 4] : rx[span % 3];
}

// A frame within one span takes its hue (the first such frame in full, those below it a
// little lighter, varying by name so neighbours stay apart); frames over a mix are grey.
std::string frame_fill(const Node& n, bool parent_single) {
  if (n.span < 0 || n.level < 3) return "#c8c8c8";
  unsigned r, g, b;
  std::sscanf(span_colour(n.dir, n.span) + 1, "%2x%2x%2x", &r, &g, &b);
  uint32_t hash = 2166136261u;  // FNV-1a: the same shades on every platform
  for (unsigned char c : n.name) hash = (hash ^ c) * 16777619u;
  const double k = parent_single ? 0.65 + 0.25 * (hash % 100) / 100.0 : 1.0;
  auto mix = [k](unsigned c) { return static_cast<unsigned>(c * k + 255 * (1 - k)); };
  return fmt::format("#{:02x}{:02x}{:02x}", mix(r), mix(g), mix(b));
}

// Text that fits w px at ~7 px per character (12 px Verdana), cut with "..".
std::string fit_label(const std::string& s, double w) {
  const int chars = static_cast<int>((w - 6) / 7);
  if (chars < 3) return "";
  if (static_cast<int>(s.size()) <= chars) return s;
  return s.substr(0, chars - 2) + "..";
}

Node build(const std::vector<FlameLeaf>& leaves) {
  Node root;
  root.name = "all";
  for (const FlameLeaf& leaf : leaves) {
    Node* n = &root;
    auto account = [&](Node& at) {
      at.us += leaf.us;
      at.latency.merge(leaf.latency);
      if (!at.dir_known) at.dir = leaf.dir, at.dir_known = true;
      at.span = at.span == -2 ? leaf.span : (at.span == leaf.span ? at.span : -1);
    };
    account(root);
    for (const std::string& f : leaf.frames) {
      if (n->children.empty() || n->children.back().name != f) {
        Node c;
        c.name = f;
        c.path = n->path.empty() ? f : n->path + ";" + f;
        c.level = n->level + 1;
        n->children.push_back(std::move(c));
      }
      n = &n->children.back();
      account(*n);
    }
  }
  return root;
}

int depth(const Node& n) {
  int d = 0;
  for (const Node& c : n.children) d = std::max(d, depth(c));
  return d + 1;
}

void place(Node& n, uint64_t x) {
  n.x = x;
  for (Node& c : n.children) {
    place(c, x);
    x += c.us;
  }
}

std::string hover_text(const Node& n, uint64_t total) {
  std::string s =
      fmt::format("{}\n{} packet-time ({:.1f} %)", n.path.empty() ? "all" : n.path,
                  format_duration_us(static_cast<double>(n.us)), total ? 100.0 * n.us / total : 0.0);
  if (n.span >= 0)
    s += fmt::format(", {} packets, p50 {}, p99 {}", n.latency.count(),
                     format_duration_us(n.latency.quantile(0.5) / 1e3),
                     format_duration_us(n.latency.quantile(0.99) / 1e3));
  else
    s += fmt::format(", {} span measurements over several spans", n.latency.count());
  return s;
}

void emit(std::ostream& out, const Node& n, double scale, int levels, uint64_t total, bool parent_single) {
  const double x = kMargin + n.x * scale, w = n.us * scale;
  const double y = kTop + (levels - 1 - n.level) * kFrameH;
  const std::string fill = frame_fill(n, parent_single);
  fmt::print(
      out,
      "<g class=\"f\" data-name=\"{}\" data-path=\"{}\" data-x=\"{}\" data-us=\"{}\" data-lvl=\"{}\" "
      "data-fill=\"{}\"><title>{}</title><rect x=\"{:.3f}\" y=\"{:.1f}\" width=\"{:.3f}\" height=\"{}\" "
      "rx=\"2\" fill=\"{}\"/><text x=\"{:.2f}\" y=\"{:.1f}\">{}</text></g>\n",
      escape_markup(n.name), escape_markup(n.path), n.x, n.us, n.level, fill,
      escape_markup(hover_text(n, total)), x, y, w, kFrameH - 1, fill, x + 3, y + 12,
      escape_markup(fit_label(n.name, w)));
  for (const Node& c : n.children) emit(out, c, scale, levels, total, n.level >= 3 && n.span >= 0);
}

// Zoom, reset, search and the details line; CDATA so that it parses as XML and inside HTML.
constexpr const char* kScript = R"JS(<script type="text/ecmascript"><![CDATA[
(function () {
  // This script's graph: the first not set up yet (scripts run as the page is read).
  var svg = document.querySelector('svg.tunlat-flame:not([data-ready])');
  if (!svg) return;
  var W = +svg.getAttribute('data-width'), M = +svg.getAttribute('data-margin');
  var total = +svg.getAttribute('data-total');
  var frames = Array.prototype.slice.call(svg.querySelectorAll('g.f'));
  var details = svg.querySelector('#tf-details'), unzoom = svg.querySelector('#tf-unzoom');
  var matched = svg.querySelector('#tf-matched');
  function num(f, a) { return +f.getAttribute(a); }
  function label(f, w) {
    var n = f.getAttribute('data-name'), c = Math.floor((w - 6) / 7);
    f.querySelector('text').textContent = c < 3 ? '' : (n.length <= c ? n : n.substring(0, c - 2) + '..');
  }
  function put(f, x, w, faded) {
    var r = f.querySelector('rect');
    r.setAttribute('x', x.toFixed(3)); r.setAttribute('width', w.toFixed(3));
    f.querySelector('text').setAttribute('x', (x + 3).toFixed(2));
    f.style.opacity = faded ? '0.6' : '';
    f.style.display = '';
    label(f, w);
  }
  function zoom(z) {
    var zx = num(z, 'data-x'), zw = num(z, 'data-us'), zl = num(z, 'data-lvl'), span = W - 2 * M;
    if (zw <= 0) return;
    frames.forEach(function (f) {
      var x = num(f, 'data-x'), w = num(f, 'data-us'), l = num(f, 'data-lvl');
      if (l < zl && x <= zx && x + w >= zx + zw) put(f, M, span, true);
      else if (l >= zl && x >= zx && x + w <= zx + zw) put(f, M + (x - zx) * span / zw, w * span / zw, false);
      else f.style.display = 'none';
    });
    unzoom.style.display = '';
  }
  function reset() {
    var span = W - 2 * M;
    frames.forEach(function (f) { put(f, M + num(f, 'data-x') * span / total, num(f, 'data-us') * span / total, false); });
    unzoom.style.display = 'none';
  }
  function search(term) {
    var re = null, hits = [], sum = 0;
    if (term) { try { re = new RegExp(term); } catch (e) { matched.textContent = 'bad expression'; return; } }
    frames.forEach(function (f) {
      var hit = re !== null && re.test(f.getAttribute('data-name'));
      f.querySelector('rect').setAttribute('fill', hit ? 'rgb(230,0,230)' : f.getAttribute('data-fill'));
      if (hit) hits.push(f);
    });
    hits.forEach(function (f) {  // a frame inside a matched one adds nothing more
      var x = num(f, 'data-x'), w = num(f, 'data-us'), l = num(f, 'data-lvl');
      var inside = hits.some(function (o) {
        return num(o, 'data-lvl') < l && num(o, 'data-x') <= x && num(o, 'data-x') + num(o, 'data-us') >= x + w;
      });
      if (!inside) sum += w;
    });
    matched.textContent = re ? 'Matched: ' + (total ? 100 * sum / total : 0).toFixed(1) + ' %' : '';
  }
  frames.forEach(function (f) {
    f.addEventListener('click', function () { zoom(f); });
    f.addEventListener('mouseover', function () { details.textContent = f.querySelector('title').textContent.replace('\n', ': '); });
    f.addEventListener('mouseout', function () { details.textContent = ' '; });
  });
  unzoom.addEventListener('click', reset);
  svg.querySelector('#tf-search').addEventListener('click', function () {
    var t = window.prompt('Search frames (regular expression)', '');
    if (t !== null) search(t);
  });
  (window.tunlatFlames = window.tunlatFlames || {})[svg.id] = {search: search, reset: reset};
  if (!window.tunlatFlameSearch) {  // the page's first graph: for older pages' scripts
    window.tunlatFlameSearch = search;
    window.tunlatFlameReset = reset;
  }
  svg.setAttribute('data-ready', '1');  // tests: the script ran to its end
})();
]]></script>
)JS";

}  // namespace

void write_flame_svg(std::ostream& out, const std::vector<FlameLeaf>& leaves, DeviceKind kind,
                     const std::string& title, bool standalone, const std::string& id) {
  Node root = build(leaves);
  place(root, 0);
  const int levels = std::max(depth(root), 1);
  const double height = kTop + levels * kFrameH + kBottom;
  const double scale = root.us ? (kWidth - 2 * kMargin) / static_cast<double>(root.us) : 0;
  if (standalone) out << "<?xml version=\"1.0\" standalone=\"no\"?>\n";
  fmt::print(out,
             "<svg id=\"{4}\" class=\"tunlat-flame\" xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
             "width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" data-width=\"{0}\" data-margin=\"{2}\" "
             "data-total=\"{3}\" font-family=\"Verdana, sans-serif\" font-size=\"12\">\n",
             kWidth, height, kMargin, root.us, escape_markup(id));
  fmt::print(out,
             "<style>g.f {{ cursor: pointer; }} g.f:hover rect {{ stroke: #000; stroke-width: 0.5; }} "
             "text {{ fill: #000; }} .ctl {{ cursor: pointer; fill: #1a5fb4; }}</style>\n"
             "<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#fafafa\"/>\n",
             kWidth, height);
  fmt::print(out, "<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"16\">{}</text>\n", kWidth / 2,
             escape_markup(title));
  fmt::print(
      out,
      "<text x=\"{}\" y=\"40\" text-anchor=\"middle\" fill=\"#555\">width = packet-time (µs summed over "
      "packets, non-overlapping spans; total {}); hover for numbers, click to zoom</text>\n",
      kWidth / 2, format_duration_us(static_cast<double>(root.us)));
  // Legend: one swatch per span kind.
  double lx = kMargin;
  const std::pair<Dir, int> kinds[] = {{Dir::Tx, 0}, {Dir::Tx, 1}, {Dir::Tx, 2}, {Dir::Rx, 0}, {Dir::Rx, 1}};
  for (auto [d, s] : kinds) {
    const std::string name = fmt::format("{} {}", dir_name(d), spans_of(d, kind)[s].name);
    fmt::print(out,
               "<g class=\"legend\"><rect x=\"{:.0f}\" y=\"50\" width=\"12\" height=\"12\" fill=\"{}\"/>"
               "<text x=\"{:.0f}\" y=\"61\">{}</text></g>\n",
               lx, span_colour(d, s), lx + 16, name);
    lx += 24 + 7.5 * name.size();
  }
  fmt::print(
      out,
      "<text id=\"tf-unzoom\" class=\"ctl\" x=\"{}\" y=\"22\" style=\"display:none\">Reset zoom</text>\n"
      "<text id=\"tf-search\" class=\"ctl\" x=\"{}\" y=\"22\" text-anchor=\"end\">Search</text>\n"
      "<text id=\"tf-details\" x=\"{}\" y=\"{}\"> </text>\n"
      "<text id=\"tf-matched\" x=\"{}\" y=\"{}\" text-anchor=\"end\"></text>\n",
      kMargin, kWidth - kMargin, kMargin, height - 9, kWidth - kMargin, height - 9);
  if (root.us)
    emit(out, root, scale, levels, root.us, false);
  else
    fmt::print(out, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">no packet-time measured</text>\n",
               kWidth / 2, kTop + 12);
  out << kScript << "</svg>\n";
}

}  // namespace tunlat
