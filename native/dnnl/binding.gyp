{
  "targets": [
    {
      "target_name": "lmc_dnnl",
      "sources": ["src/addon.cc", "src/conv.cc"],
      # Debian's libdnnl-dev; its absence fails the build here, and npm then drops this
      # optional package (lmc-lab falls back to its wasm convolutions).
      "libraries": ["-ldnnl", "-lgomp"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
