// Poller: readiness of one fd on the calling thread's libuv loop (uv_poll), for the vhost-user
// control socket and for kick eventfds. In `drain` mode the poller reads the eventfd counter itself
// before calling JS, so a kick costs one JS callback and no extra native call.
//
// libuv rules followed here: one poll handle per fd; stop (and close) the handle BEFORE the fd is
// closed; spurious wake-ups happen (EAGAIN on read) and are swallowed. The callback gets
// (status, value): status 0 = readable (value = eventfd count in drain mode, else 0); status < 0 =
// error (-errno, or -1 for EOF on a drained fd), after which the poller has stopped itself.
#include "common.h"

#include <unistd.h>
#include <uv.h>

namespace vu {
namespace {

class Poller : public Napi::ObjectWrap<Poller> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Poller",
                       {InstanceMethod<&Poller::Start>("start"), InstanceMethod<&Poller::Stop>("stop"),
                        InstanceMethod<&Poller::Close>("close")});
  }

  Poller(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Poller>(info) {
    Napi::Env env = info.Env();
    if (!ArgFd(info, 0, &fd_) || info.Length() < 2 || !info[1].IsFunction()) {
      ThrowType(env, "new Poller(fd, callback, drain)");
      return;
    }
    drain_ = info.Length() > 2 && info[2].ToBoolean().Value();
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      ThrowType(env, "Poller: no event loop");
      return;
    }
    handle_ = new uv_poll_t;
    int rc = uv_poll_init(loop, handle_, fd_);
    if (rc != 0) {
      delete handle_;
      handle_ = nullptr;
      ThrowErrno(env, "uv_poll_init", -rc);
      return;
    }
    handle_->data = this;
  }

  ~Poller() override { CloseHandle(); }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info) {
    if (handle_ == nullptr) return ThrowType(info.Env(), "Poller is closed");
    int rc = uv_poll_start(handle_, UV_READABLE, OnReady);
    if (rc != 0) return ThrowErrno(info.Env(), "uv_poll_start", -rc);
    if (!active_) {
      active_ = true;
      Ref();  // keep the JS object (and its callback) alive while the handle can fire
    }
    return info.Env().Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    StopHandle();
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    CloseHandle();
    return info.Env().Undefined();
  }

  void StopHandle() {
    if (handle_ != nullptr) uv_poll_stop(handle_);
    if (active_) {
      active_ = false;
      Unref();
    }
  }

  void CloseHandle() {
    StopHandle();
    if (handle_ == nullptr) return;
    handle_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(handle_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    handle_ = nullptr;
  }

  static void OnReady(uv_poll_t* h, int status, int events) {
    Poller* self = static_cast<Poller*>(h->data);
    if (self == nullptr) return;
    double value = 0;
    int result = status;
    if (status == 0 && self->drain_) {
      uint64_t v = 0;
      ssize_t n;
      do {
        n = read(self->fd_, &v, sizeof(v));
      } while (n < 0 && errno == EINTR);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // spurious wake-up
      if (n < 0) result = -errno;
      else if (n == 0) result = -1;
      else value = static_cast<double>(v);
    }
    if (result < 0) self->StopHandle();
    self->Invoke(result, value);
  }

  void Invoke(int status, double value) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Value recv = Value();
    callback_.MakeCallback(recv, {Napi::Number::New(env, status), Napi::Number::New(env, value)});
    if (env.IsExceptionPending()) {
      Napi::Error e = env.GetAndClearPendingException();
      napi_fatal_exception(env, e.Value());
    }
  }

  int fd_ = -1;
  bool drain_ = false;
  bool active_ = false;
  uv_poll_t* handle_ = nullptr;
  Napi::FunctionReference callback_;
};

}  // namespace

void InitPoll(Napi::Env env, Napi::Object exports) {
  exports.Set("Poller", Poller::Define(env));
}

}  // namespace vu
