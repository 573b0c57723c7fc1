// Shared helpers of the addon: argument checks and errors that carry errno as `code`, like Node's
// own system errors, so TypeScript can branch on `err.code === 'EAGAIN'` and friends.
#pragma once
#include <napi.h>
#include <cerrno>
#include <cstring>
#include <string>

namespace vu {

// Throw an Error like Node's: message "syscall: strerror", properties code/errno/syscall.
inline Napi::Value ThrowErrno(Napi::Env env, const char* syscall, int err) {
  std::string msg = std::string(syscall) + ": " + strerror(err);
  Napi::Error e = Napi::Error::New(env, msg);
  const char* name = strerrorname_np(err);
  e.Set("code", Napi::String::New(env, name != nullptr ? name : "EUNKNOWN"));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

inline Napi::Value ThrowType(Napi::Env env, const char* msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

// An integer argument that must be a non-negative safe integer (fd, length, offset).
inline bool ArgInt(const Napi::CallbackInfo& info, size_t i, int64_t* out) {
  if (info.Length() <= i || !info[i].IsNumber()) return false;
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<int64_t>(d))) return false;
  *out = static_cast<int64_t>(d);
  return true;
}

inline bool ArgFd(const Napi::CallbackInfo& info, size_t i, int* out) {
  int64_t v;
  if (!ArgInt(info, i, &v) || v > 0x7fffffff) return false;
  *out = static_cast<int>(v);
  return true;
}

void InitSock(Napi::Env env, Napi::Object exports);
void InitMem(Napi::Env env, Napi::Object exports);
void InitPoll(Napi::Env env, Napi::Object exports);

}  // namespace vu
