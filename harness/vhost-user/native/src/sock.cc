// AF_UNIX stream sockets with file-descriptor passing (SCM_RIGHTS), which Node's `net` cannot do.
// Every socket is non-blocking and close-on-exec; received fds get MSG_CMSG_CLOEXEC. The caller
// waits for readiness with a Poller (poll.cc) and calls recvMsg until it returns null (EAGAIN).
#include "common.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <vector>

namespace vu {
namespace {

// The most fds one recvmsg accepts. QEMU sends at most 8 (VHOST_MEMORY_BASELINE_NREGIONS); more
// than this sets MSG_CTRUNC, the kernel drops the excess, and the caller closes the connection.
constexpr int kMaxFds = 8;

bool FillAddr(Napi::Env env, const std::string& path, sockaddr_un* addr) {
  memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr->sun_path)) {
    ThrowType(env, "socket path is empty or longer than 107 bytes");
    return false;
  }
  memcpy(addr->sun_path, path.data(), path.size());
  return true;
}

// listenUnix(path, backlog) -> fd. The socket file is created 0600: umask around bind closes the
// window in which another user could connect, chmod makes it explicit. It is bound under a
// temporary name beside `path` and renamed to `path` only once it listens, so whoever waits for
// the file to appear (the harness before it starts QEMU, a test before it connects) never finds a
// socket that refuses connections. Where the temporary name would not fit in sun_path, the socket
// is bound at `path` directly.
Napi::Value ListenUnix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t backlog;
  if (info.Length() < 2 || !info[0].IsString() || !ArgInt(info, 1, &backlog)) return ThrowType(env, "listenUnix(path, backlog)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  sockaddr_un addr;
  if (!FillAddr(env, path, &addr)) return env.Undefined();
  static unsigned serial = 0;
  std::string staged = path + ".listening-" + std::to_string(getpid()) + "-" + std::to_string(++serial);
  if (staged.size() >= sizeof(addr.sun_path)) staged = path;
  sockaddr_un bound;
  if (!FillAddr(env, staged, &bound)) return env.Undefined();
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ThrowErrno(env, "socket", errno);
  mode_t old = umask(0177);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&bound), sizeof(bound));
  int err = errno;
  umask(old);
  if (rc < 0) {
    close(fd);
    return ThrowErrno(env, "bind", err);
  }
  const char* step = nullptr;
  if (chmod(staged.c_str(), 0600) < 0) step = "chmod";
  else if (listen(fd, static_cast<int>(backlog)) < 0) step = "listen";
  else if (staged != path && rename(staged.c_str(), path.c_str()) < 0) step = "rename";
  if (step != nullptr) {
    err = errno;
    close(fd);
    unlink(staged.c_str());
    return ThrowErrno(env, step, err);
  }
  return Napi::Number::New(env, fd);
}

// acceptUnix(listenFd) -> fd, or null when no connection is pending.
Napi::Value AcceptUnix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return ThrowType(env, "acceptUnix(fd)");
  int c = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (c < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED || errno == EINTR) return env.Null();
    return ThrowErrno(env, "accept4", errno);
  }
  return Napi::Number::New(env, c);
}

// connectUnix(path, nonBlocking) -> fd. The connect itself is synchronous (AF_UNIX completes or
// fails at once unless the backlog is full).
Napi::Value ConnectUnix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return ThrowType(env, "connectUnix(path, nonBlocking)");
  bool nonBlocking = info.Length() > 1 && info[1].ToBoolean().Value();
  sockaddr_un addr;
  if (!FillAddr(env, info[0].As<Napi::String>().Utf8Value(), &addr)) return env.Undefined();
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ThrowErrno(env, "socket", errno);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
    int err = errno;
    close(fd);
    return ThrowErrno(env, "connect", err);
  }
  if (nonBlocking) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return Napi::Number::New(env, fd);
}

// socketPair(nonBlocking) -> [fd, fd]
Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool nonBlocking = info.Length() > 0 && info[0].ToBoolean().Value();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonBlocking ? SOCK_NONBLOCK : 0), 0, sv) < 0) {
    return ThrowErrno(env, "socketpair", errno);
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, sv[0]));
  out.Set(1u, Napi::Number::New(env, sv[1]));
  return out;
}

bool ArgBytes(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* len) {
  if (info.Length() <= i || !info[i].IsTypedArray()) return false;
  Napi::TypedArray ta = info[i].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_uint8_array) return false;
  Napi::Uint8Array u8 = ta.As<Napi::Uint8Array>();
  *data = u8.Data();
  *len = u8.ByteLength();
  return true;
}

// recvMsg(fd, buf, offset, length) -> { bytes, fds, truncated } | null (EAGAIN). bytes == 0 is EOF.
// Reads at most `length` bytes into buf[offset..], collecting any SCM_RIGHTS fds that came with them.
Napi::Value RecvMsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint8_t* data;
  size_t cap;
  int64_t off, len;
  if (!ArgFd(info, 0, &fd) || !ArgBytes(info, 1, &data, &cap) || !ArgInt(info, 2, &off) || !ArgInt(info, 3, &len) ||
      static_cast<uint64_t>(off) + static_cast<uint64_t>(len) > cap) {
    return ThrowType(env, "recvMsg(fd, Uint8Array, offset, length) with offset+length inside the array");
  }
  iovec iov{data + off, static_cast<size_t>(len)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    return ThrowErrno(env, "recvmsg", errno);
  }
  std::vector<int> fds;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const unsigned char* p = CMSG_DATA(c);
    for (size_t i = 0; i < count; i++) {
      int v;
      memcpy(&v, p + i * sizeof(int), sizeof(int));
      fds.push_back(v);
    }
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("bytes", Napi::Number::New(env, static_cast<double>(n)));
  Napi::Array arr = Napi::Array::New(env, fds.size());
  for (size_t i = 0; i < fds.size(); i++) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(env, fds[i]));
  out.Set("fds", arr);
  out.Set("truncated", Napi::Boolean::New(env, (msg.msg_flags & MSG_CTRUNC) != 0));
  return out;
}

// sendMsg(fd, buf, offset, length, fds?) -> bytes sent | null (EAGAIN). MSG_NOSIGNAL: a closed peer
// gives EPIPE as an exception, never a SIGPIPE.
Napi::Value SendMsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint8_t* data;
  size_t cap;
  int64_t off, len;
  if (!ArgFd(info, 0, &fd) || !ArgBytes(info, 1, &data, &cap) || !ArgInt(info, 2, &off) || !ArgInt(info, 3, &len) ||
      static_cast<uint64_t>(off) + static_cast<uint64_t>(len) > cap) {
    return ThrowType(env, "sendMsg(fd, Uint8Array, offset, length, fds?)");
  }
  std::vector<int> fds;
  if (info.Length() > 4 && info[4].IsArray()) {
    Napi::Array arr = info[4].As<Napi::Array>();
    // Senders are tests and front-ends we write; allow more than kMaxFds so tests can provoke CTRUNC.
    if (arr.Length() > 253) return ThrowType(env, "sendMsg: too many fds");
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value v = arr.Get(i);
      if (!v.IsNumber()) return ThrowType(env, "sendMsg: fds must be numbers");
      fds.push_back(v.As<Napi::Number>().Int32Value());
    }
  }
  iovec iov{data + off, static_cast<size_t>(len)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control;
  if (!fds.empty()) {
    control.resize(CMSG_SPACE(sizeof(int) * fds.size()));
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do {
    n = sendmsg(fd, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    return ThrowErrno(env, "sendmsg", errno);
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

// closeFd(fd): close, ignoring EINTR (Linux releases the fd anyway).
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return ThrowType(env, "closeFd(fd)");
  if (close(fd) < 0 && errno != EINTR) return ThrowErrno(env, "close", errno);
  return env.Undefined();
}

// setNonBlocking(fd): O_NONBLOCK on the open file description (shared with the sender's copy).
Napi::Value SetNonBlocking(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return ThrowType(env, "setNonBlocking(fd)");
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return ThrowErrno(env, "fcntl", errno);
  return env.Undefined();
}

// fdStat(fd) -> { type, size, dev, ino, blksize }. type: file, socket, fifo, char, block, dir, link, other.
Napi::Value FdStat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return ThrowType(env, "fdStat(fd)");
  struct stat st;
  if (fstat(fd, &st) < 0) return ThrowErrno(env, "fstat", errno);
  const char* type = "other";
  switch (st.st_mode & S_IFMT) {
    case S_IFREG: type = "file"; break;
    case S_IFSOCK: type = "socket"; break;
    case S_IFIFO: type = "fifo"; break;
    case S_IFCHR: type = "char"; break;
    case S_IFBLK: type = "block"; break;
    case S_IFDIR: type = "dir"; break;
    case S_IFLNK: type = "link"; break;
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("type", Napi::String::New(env, type));
  out.Set("size", Napi::Number::New(env, static_cast<double>(st.st_size)));
  out.Set("dev", Napi::Number::New(env, static_cast<double>(st.st_dev)));
  out.Set("ino", Napi::Number::New(env, static_cast<double>(st.st_ino)));
  out.Set("blksize", Napi::Number::New(env, static_cast<double>(st.st_blksize)));
  return out;
}

}  // namespace

void InitSock(Napi::Env env, Napi::Object exports) {
  exports.Set("listenUnix", Napi::Function::New(env, ListenUnix, "listenUnix"));
  exports.Set("acceptUnix", Napi::Function::New(env, AcceptUnix, "acceptUnix"));
  exports.Set("connectUnix", Napi::Function::New(env, ConnectUnix, "connectUnix"));
  exports.Set("socketPair", Napi::Function::New(env, SocketPair, "socketPair"));
  exports.Set("recvMsg", Napi::Function::New(env, RecvMsg, "recvMsg"));
  exports.Set("sendMsg", Napi::Function::New(env, SendMsg, "sendMsg"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
  exports.Set("setNonBlocking", Napi::Function::New(env, SetNonBlocking, "setNonBlocking"));
  exports.Set("fdStat", Napi::Function::New(env, FdStat, "fdStat"));
}

}  // namespace vu
