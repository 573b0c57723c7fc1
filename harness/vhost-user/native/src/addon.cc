// Entry of the vhost-user native addon. Each source file registers its own functions:
//   sock.cc  AF_UNIX listen/accept/connect, recvmsg/sendmsg with SCM_RIGHTS, close, fstat
//   mem.cc   memfd, mmap/munmap as external ArrayBuffers, SIGBUS containment, eventfd
//   poll.cc  uv_poll readiness of fds on the calling thread's event loop
// Nothing here is called per packet: the data path is JavaScript over the mapped memory.
#include "common.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  vu::InitSock(env, exports);
  vu::InitMem(env, exports);
  vu::InitPoll(env, exports);
  return exports;
}

NODE_API_MODULE(vhost_user_native, Init)
