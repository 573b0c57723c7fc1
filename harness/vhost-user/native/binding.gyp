# The vhost-user switch's native addon: only what Node cannot do (SCM_RIGHTS fd passing on UNIX
# sockets, mmap of shared-memory fds as external ArrayBuffers, eventfd, uv_poll readiness).
# Build: npx node-gyp rebuild --directory harness/vhost-user/native
{
  "targets": [
    {
      "target_name": "vhost_user_native",
      "sources": ["src/addon.cc", "src/sock.cc", "src/mem.cc", "src/poll.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
