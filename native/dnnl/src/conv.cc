#include "conv.h"

#include <omp.h>

#include <vector>

namespace lmc {

using dnnl::memory;
using tag = dnnl::memory::format_tag;

struct ConvRunner::Entry {
  dnnl::primitive primitive;
  std::string implementation;
  // The caller's layouts: activations NHWC, weights HWIO.
  memory::desc aDesc, bDesc, outDesc;
  // Weights in the primitive's preferred (blocked) layout, and the reorder to or from HWIO.
  bool reorderWeights = false;
  dnnl::reorder weightsReorder;
  memory weightsBuffer;
  uint64_t lastUsed = 0;
};

ConvRunner::ConvRunner(int threads)
    : threads_(threads), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}

ConvRunner::~ConvRunner() = default;

void ConvRunner::clear() { cache_.clear(); }

void ConvRunner::setThreads(int threads) {
  if (threads == threads_) return;
  threads_ = threads;
  cache_.clear();
}

ConvRunner::Entry& ConvRunner::entry(ConvKind kind, const ConvGeometry& g) {
  auto key = std::make_pair(static_cast<int>(kind), g.key());
  auto found = cache_.find(key);
  if (found != cache_.end()) {
    found->second->lastUsed = ++clock_;
    return *found->second;
  }
  if (cache_.size() >= kCacheCapacity) {
    auto oldest = cache_.begin();
    for (auto it = cache_.begin(); it != cache_.end(); ++it) {
      if (it->second->lastUsed < oldest->second->lastUsed) oldest = it;
    }
    cache_.erase(oldest);
  }

  const memory::dims src = {g.n, g.c, g.h, g.w};
  const memory::dims dst = {g.n, g.o, g.oh, g.ow};
  const memory::dims weights = {g.o, g.c, g.kh, g.kw};
  const memory::dims strides = {g.strideH, g.strideW};
  // oneDNN counts dilation from 0 (0 = dense), tfjs from 1.
  const memory::dims dilates = {g.dilationH - 1, g.dilationW - 1};
  const memory::dims padL = {g.padTop, g.padLeft};
  const memory::dims padR = {g.padBottom, g.padRight};
  const auto f32 = memory::data_type::f32;
  const memory::desc srcDesc(src, f32, tag::nhwc);
  const memory::desc dstDesc(dst, f32, tag::nhwc);
  const memory::desc userWeights(weights, f32, tag::hwio);
  const memory::desc anyWeights(weights, f32, tag::any);
  const auto algorithm = dnnl::algorithm::convolution_direct;

  auto e = std::make_unique<Entry>();
  dnnl::convolution_forward::primitive_desc forward(
      dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algorithm, srcDesc, anyWeights,
                                      dstDesc, strides, dilates, padL, padR),
      engine_);
  memory::desc primitiveWeights;
  switch (kind) {
    case ConvKind::forward:
      e->primitive = dnnl::convolution_forward(forward);
      e->implementation = forward.impl_info_str();
      primitiveWeights = forward.weights_desc();
      e->aDesc = srcDesc;
      e->bDesc = userWeights;
      e->outDesc = dstDesc;
      break;
    case ConvKind::backwardData: {
      dnnl::convolution_backward_data::primitive_desc pd(
          dnnl::convolution_backward_data::desc(algorithm, srcDesc, anyWeights, dstDesc, strides, dilates, padL, padR),
          engine_, forward);
      e->primitive = dnnl::convolution_backward_data(pd);
      e->implementation = pd.impl_info_str();
      primitiveWeights = pd.weights_desc();
      e->aDesc = dstDesc;
      e->bDesc = userWeights;
      e->outDesc = srcDesc;
      break;
    }
    case ConvKind::backwardWeights: {
      dnnl::convolution_backward_weights::primitive_desc pd(
          dnnl::convolution_backward_weights::desc(algorithm, srcDesc, anyWeights, dstDesc, strides, dilates, padL,
                                                   padR),
          engine_, forward);
      e->primitive = dnnl::convolution_backward_weights(pd);
      e->implementation = pd.impl_info_str();
      primitiveWeights = pd.diff_weights_desc();
      e->aDesc = srcDesc;
      e->bDesc = dstDesc;
      e->outDesc = userWeights;
      break;
    }
  }
  if (primitiveWeights != userWeights) {
    e->reorderWeights = true;
    e->weightsBuffer = memory(primitiveWeights, engine_);
    e->weightsReorder = kind == ConvKind::backwardWeights
                            ? dnnl::reorder(dnnl::reorder::primitive_desc(engine_, primitiveWeights, engine_, userWeights))
                            : dnnl::reorder(dnnl::reorder::primitive_desc(engine_, userWeights, engine_, primitiveWeights));
  }
  e->lastUsed = ++clock_;
  Entry& result = *e;
  cache_.emplace(key, std::move(e));
  return result;
}

void ConvRunner::run(ConvKind kind, const ConvGeometry& g, float* a, float* b, float* out) {
  // OpenMP's thread count is per calling thread: set it on every call, so that a Node worker
  // thread that loaded this addon computes with the same team size (and the same bits) as
  // the main thread. oneDNN reads it when it builds a primitive and when it runs one.
  omp_set_num_threads(threads_);
  Entry& e = entry(kind, g);
  memory aMem(e.aDesc, engine_, a);
  memory bMem(e.bDesc, engine_, b);
  memory outMem(e.outDesc, engine_, out);
  switch (kind) {
    case ConvKind::forward:
    case ConvKind::backwardData: {
      memory weights = bMem;
      if (e.reorderWeights) {
        e.weightsReorder.execute(stream_, bMem, e.weightsBuffer);
        weights = e.weightsBuffer;
      }
      const int inputArg = kind == ConvKind::forward ? DNNL_ARG_SRC : DNNL_ARG_DIFF_DST;
      const int outputArg = kind == ConvKind::forward ? DNNL_ARG_DST : DNNL_ARG_DIFF_SRC;
      e.primitive.execute(stream_, {{inputArg, aMem}, {DNNL_ARG_WEIGHTS, weights}, {outputArg, outMem}});
      break;
    }
    case ConvKind::backwardWeights: {
      memory diffWeights = e.reorderWeights ? e.weightsBuffer : outMem;
      e.primitive.execute(stream_, {{DNNL_ARG_SRC, aMem}, {DNNL_ARG_DIFF_DST, bMem}, {DNNL_ARG_DIFF_WEIGHTS, diffWeights}});
      if (e.reorderWeights) e.weightsReorder.execute(stream_, e.weightsBuffer, outMem);
      break;
    }
  }
  stream_.wait();
}

std::string ConvRunner::implementation(ConvKind kind, const ConvGeometry& g) {
  omp_set_num_threads(threads_);
  return entry(kind, g).implementation;
}

}  // namespace lmc
