// Node-API glue: each Node environment (main thread or worker) gets its own ConvRunner, and
// every call computes on a caller's ArrayBuffer (the wasm backend's heap) at byte offsets.
#include <node_api.h>
#include <omp.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "conv.h"

namespace {

using lmc::ConvGeometry;
using lmc::ConvKind;
using lmc::ConvRunner;

struct Failure {
  std::string message;
};

void check(napi_env env, napi_status status, const char* what) {
  if (status != napi_ok) throw Failure{std::string("lmc-dnnl: ") + what};
}

ConvRunner& runner(napi_env env) {
  void* data = nullptr;
  check(env, napi_get_instance_data(env, &data), "no instance data");
  return *static_cast<ConvRunner*>(data);
}

// Wraps a callback so that any failure becomes a JS exception.
template <typename F>
napi_value guarded(napi_env env, F body) {
  try {
    return body();
  } catch (const Failure& f) {
    napi_throw_error(env, nullptr, f.message.c_str());
  } catch (const dnnl::error& e) {
    std::string m = std::string("lmc-dnnl: oneDNN failed (status ") + std::to_string(e.status) + "): " + e.what();
    napi_throw_error(env, nullptr, m.c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("lmc-dnnl: ") + e.what()).c_str());
  }
  return nullptr;
}

std::vector<napi_value> arguments(napi_env env, napi_callback_info info, size_t expected) {
  std::vector<napi_value> args(expected);
  size_t count = expected;
  check(env, napi_get_cb_info(env, info, &count, args.data(), nullptr, nullptr), "bad call");
  if (count < expected) throw Failure{"lmc-dnnl: expected " + std::to_string(expected) + " arguments"};
  return args;
}

int32_t toInt(napi_env env, napi_value v, const char* what) {
  int32_t out;
  check(env, napi_get_value_int32(env, v, &out), what);
  return out;
}

double toNumber(napi_env env, napi_value v, const char* what) {
  double out;
  check(env, napi_get_value_double(env, v, &out), what);
  return out;
}

ConvKind toKind(napi_env env, napi_value v) {
  int32_t k = toInt(env, v, "kind must be a number");
  if (k < 0 || k > 2) throw Failure{"lmc-dnnl: kind must be 0 (forward), 1 (backward data) or 2 (backward weights)"};
  return static_cast<ConvKind>(k);
}

ConvGeometry toGeometry(napi_env env, napi_value v) {
  napi_typedarray_type type;
  size_t length;
  void* data;
  check(env, napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr), "geometry must be an Int32Array");
  if (type != napi_int32_array || length != 17) throw Failure{"lmc-dnnl: geometry must be an Int32Array of 17"};
  const int32_t* p = static_cast<const int32_t*>(data);
  ConvGeometry g{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15], p[16]};
  for (int i = 0; i < 13; i++) {
    if (p[i] < 1) throw Failure{"lmc-dnnl: geometry sizes, strides and dilations must be positive"};
  }
  return g;
}

// run(kind, memory: ArrayBuffer, geometry: Int32Array, aOffset, bOffset, outOffset): out = kind(a, b).
napi_value Run(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = arguments(env, info, 6);
    ConvKind kind = toKind(env, args[0]);
    void* base;
    size_t byteLength;
    check(env, napi_get_arraybuffer_info(env, args[1], &base, &byteLength), "memory must be an ArrayBuffer");
    ConvGeometry g = toGeometry(env, args[2]);
    const double x = 4.0 * g.n * g.h * g.w * g.c;
    const double y = 4.0 * g.n * g.oh * g.ow * g.o;
    const double w = 4.0 * g.kh * g.kw * g.c * g.o;
    const double sizes[3][3] = {{x, w, y}, {y, w, x}, {x, y, w}};
    const double* size = sizes[static_cast<int>(kind)];
    float* pointers[3];
    for (int i = 0; i < 3; i++) {
      double offset = toNumber(env, args[3 + i], "offsets must be numbers");
      if (offset < 0 || offset + size[i] > static_cast<double>(byteLength) || static_cast<uint64_t>(offset) % 4 != 0) {
        throw Failure{"lmc-dnnl: operand " + std::to_string(i) + " lies outside the memory or is misaligned"};
      }
      pointers[i] = reinterpret_cast<float*>(static_cast<char*>(base) + static_cast<size_t>(offset));
    }
    runner(env).run(kind, g, pointers[0], pointers[1], pointers[2]);
    return nullptr;
  });
}

napi_value Implementation(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = arguments(env, info, 2);
    std::string name = runner(env).implementation(toKind(env, args[0]), toGeometry(env, args[1]));
    napi_value out;
    check(env, napi_create_string_utf8(env, name.c_str(), name.size(), &out), "string");
    return out;
  });
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = arguments(env, info, 1);
    int32_t n = toInt(env, args[0], "threads must be a number");
    if (n < 1 || n > 1024) throw Failure{"lmc-dnnl: threads must be between 1 and 1024"};
    runner(env).setThreads(n);
    return nullptr;
  });
}

napi_value IntValue(napi_env env, int32_t v) {
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

napi_value Threads(napi_env env, napi_callback_info) { return IntValue(env, runner(env).threads()); }
napi_value Cached(napi_env env, napi_callback_info) { return IntValue(env, static_cast<int32_t>(runner(env).cached())); }
napi_value Clear(napi_env env, napi_callback_info) {
  runner(env).clear();
  return nullptr;
}

void Finalize(napi_env, void* data, void*) { delete static_cast<ConvRunner*>(data); }

}  // namespace

NAPI_MODULE_INIT() {
  napi_value result = nullptr;
  try {
    auto* r = new ConvRunner(1);
    if (napi_set_instance_data(env, r, Finalize, nullptr) != napi_ok) {
      delete r;
      napi_throw_error(env, nullptr, "lmc-dnnl: could not attach instance data");
      return nullptr;
    }
    const dnnl_version_t* v = dnnl_version();
    std::string version = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
    napi_value versionValue, runtime, cores;
    napi_create_string_utf8(env, version.c_str(), version.size(), &versionValue);
    napi_create_string_utf8(env, "OpenMP", NAPI_AUTO_LENGTH, &runtime);
    napi_create_int32(env, omp_get_num_procs(), &cores);
    napi_property_descriptor props[] = {
        {"version", nullptr, nullptr, nullptr, nullptr, versionValue, napi_enumerable, nullptr},
        {"runtime", nullptr, nullptr, nullptr, nullptr, runtime, napi_enumerable, nullptr},
        {"cores", nullptr, nullptr, nullptr, nullptr, cores, napi_enumerable, nullptr},
        {"run", nullptr, Run, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
        {"implementation", nullptr, Implementation, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
        {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
        {"threads", nullptr, Threads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
        {"cached", nullptr, Cached, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
        {"clear", nullptr, Clear, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
    };
    napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
    result = exports;
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("lmc-dnnl: ") + e.what()).c_str());
  }
  return result;
}
