// Float32 NHWC convolutions and their two gradients on oneDNN, on memory the caller owns.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <oneapi/dnnl/dnnl.hpp>

namespace lmc {

// A forward convolution y = conv(x, w): x [n, h, w, c] NHWC, w [kh, kw, c, o] (tfjs's HWIO),
// y [n, oh, ow, o]. Every kind below is described by the forward convolution it belongs to.
struct ConvGeometry {
  int n, h, w, c, o, kh, kw, oh, ow;
  int strideH, strideW, dilationH, dilationW;
  int padTop, padLeft, padBottom, padRight;
  std::array<int, 17> key() const {
    return {n, h, w, c, o, kh, kw, oh, ow, strideH, strideW, dilationH, dilationW,
            padTop, padLeft, padBottom, padRight};
  }
};

// forward: (x, w) -> y; backwardData: (dy, w) -> dx; backwardWeights: (x, dy) -> dw.
enum class ConvKind { forward = 0, backwardData = 1, backwardWeights = 2 };

// Runs convolutions with a fixed OpenMP thread count, caching one primitive per kind and shape.
class ConvRunner {
 public:
  explicit ConvRunner(int threads);
  ~ConvRunner();

  // out = kind(a, b); all three are caller-owned float32 buffers in the layouts above.
  void run(ConvKind kind, const ConvGeometry& g, float* a, float* b, float* out);
  // oneDNN's name for the implementation it picked (for diagnostics and the benchmark notes).
  std::string implementation(ConvKind kind, const ConvGeometry& g);

  int threads() const { return threads_; }
  // Changing the thread count drops the cache: a primitive is built for one thread count.
  void setThreads(int threads);
  size_t cached() const { return cache_.size(); }
  void clear();

 private:
  struct Entry;
  Entry& entry(ConvKind kind, const ConvGeometry& g);

  int threads_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::map<std::pair<int, std::array<int, 17>>, std::unique_ptr<Entry>> cache_;
  uint64_t clock_ = 0;
};

// Keeps this many primitives (ResNet-20 training needs 27; ResNet-50 about 60).
constexpr size_t kCacheCapacity = 96;

}  // namespace lmc
