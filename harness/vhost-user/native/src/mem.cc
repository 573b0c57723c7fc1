// Shared memory and eventfds.
//
// mmapFd maps a window of a shared-memory fd and wraps it in ONE external ArrayBuffer (V8 must never
// see two ArrayBuffers over the same address). munmap detaches that ArrayBuffer first, so stale JS
// views read as empty instead of touching unmapped memory, and then unmaps explicitly: the GC
// finalizer is only a safety net.
//
// SIGBUS containment: a front-end can shrink an unsealed file under our mapping; touching a page past
// the new end raises SIGBUS, which would kill the process from inside JIT code. The handler below
// replaces the faulting page of OUR mappings with anonymous memory, counts the fault against the
// mapping, and returns so the access completes (reading zeros). JS polls faultCount() once per pass
// and marks the port broken. Faults outside our mappings fall through to the previous disposition.
#include "common.h"

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <unordered_map>

namespace vu {
namespace {

constexpr int kSlots = 1024;

struct Slot {
  std::atomic<uintptr_t> start{0};
  std::atomic<uintptr_t> end{0};
  std::atomic<uintptr_t> pageSize{4096};
  std::atomic<int> faulted{0};
};

Slot g_slots[kSlots];
std::atomic<uint32_t> g_faults{0};
struct sigaction g_previous;
bool g_installed = false;

struct Mapping {
  void* addr;
  size_t len;
  int slot;
  bool mapped;
};

std::unordered_map<void*, Mapping*> g_live;

void OnSigbus(int sig, siginfo_t* si, void* ctx) {
  uintptr_t a = reinterpret_cast<uintptr_t>(si->si_addr);
  for (int i = 0; i < kSlots; i++) {
    uintptr_t s = g_slots[i].start.load(std::memory_order_acquire);
    if (s == 0 || a < s || a >= g_slots[i].end.load(std::memory_order_relaxed)) continue;
    uintptr_t ps = g_slots[i].pageSize.load(std::memory_order_relaxed);
    void* page = reinterpret_cast<void*>(a & ~(ps - 1));
    // mmap is a plain system call on Linux and safe to issue here.
    if (mmap(page, ps, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) break;
    g_slots[i].faulted.store(1, std::memory_order_relaxed);
    g_faults.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Not ours: behave as if we had never been installed.
  if ((g_previous.sa_flags & SA_SIGINFO) && g_previous.sa_sigaction != nullptr) {
    g_previous.sa_sigaction(sig, si, ctx);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN && g_previous.sa_handler != nullptr) {
    g_previous.sa_handler(sig);
  } else {
    signal(SIGBUS, SIG_DFL);  // the faulting instruction re-runs and the default action applies
  }
}

void InstallHandler() {
  if (g_installed) return;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = OnSigbus;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, &g_previous);
  g_installed = true;
}

int ClaimSlot(uintptr_t start, uintptr_t end, uintptr_t pageSize) {
  for (int i = 0; i < kSlots; i++) {
    if (g_slots[i].start.load(std::memory_order_relaxed) != 0) continue;
    g_slots[i].faulted.store(0, std::memory_order_relaxed);
    g_slots[i].pageSize.store(pageSize, std::memory_order_relaxed);
    g_slots[i].end.store(end, std::memory_order_relaxed);
    g_slots[i].start.store(start, std::memory_order_release);
    return i;
  }
  return -1;
}

void Unmap(Mapping* m) {
  if (!m->mapped) return;
  if (m->slot >= 0) g_slots[m->slot].start.store(0, std::memory_order_release);
  munmap(m->addr, m->len);
  m->mapped = false;
  g_live.erase(m->addr);
}

void Finalize(napi_env, void*, void* hint) {
  Mapping* m = static_cast<Mapping*>(hint);
  Unmap(m);
  delete m;
}

// memfdCreate(name, size) -> fd (close-on-exec, sealing allowed, sized with ftruncate).
Napi::Value MemfdCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t size;
  if (info.Length() < 2 || !info[0].IsString() || !ArgInt(info, 1, &size)) return ThrowType(env, "memfdCreate(name, size)");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return ThrowErrno(env, "memfd_create", errno);
  if (ftruncate(fd, size) < 0) {
    int err = errno;
    close(fd);
    return ThrowErrno(env, "ftruncate", err);
  }
  return Napi::Number::New(env, fd);
}

// truncateFd(fd, size): for tests that shrink a file under a mapping.
Napi::Value TruncateFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  int64_t size;
  if (!ArgFd(info, 0, &fd) || !ArgInt(info, 1, &size)) return ThrowType(env, "truncateFd(fd, size)");
  if (ftruncate(fd, size) < 0) return ThrowErrno(env, "ftruncate", errno);
  return env.Undefined();
}

// mmapFd(fd, offset, length, pageSize) -> ArrayBuffer over MAP_SHARED, PROT_READ|PROT_WRITE memory.
// The caller has checked offset/length against the file (fdStat) and aligned them to pageSize.
Napi::Value MmapFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  int64_t off, len, ps;
  if (!ArgFd(info, 0, &fd) || !ArgInt(info, 1, &off) || !ArgInt(info, 2, &len) || !ArgInt(info, 3, &ps)) {
    return ThrowType(env, "mmapFd(fd, offset, length, pageSize)");
  }
  if (len == 0 || len > (int64_t{1} << 32)) return ThrowType(env, "mmapFd: length must be 1..4 GiB");
  if (ps <= 0 || (ps & (ps - 1)) != 0 || off % ps != 0) return ThrowType(env, "mmapFd: offset must be page aligned");
  InstallHandler();
  void* p = mmap(nullptr, static_cast<size_t>(len), PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(off));
  if (p == MAP_FAILED) return ThrowErrno(env, "mmap", errno);
  uintptr_t start = reinterpret_cast<uintptr_t>(p);
  Mapping* m = new Mapping{p, static_cast<size_t>(len), ClaimSlot(start, start + len, static_cast<uintptr_t>(ps)), true};
  if (m->slot < 0) {
    munmap(p, len);
    delete m;
    return ThrowErrno(env, "mmap (too many mappings)", ENOMEM);
  }
  g_live[p] = m;
  napi_value ab;
  napi_status st = napi_create_external_arraybuffer(env, p, static_cast<size_t>(len), Finalize, m, &ab);
  if (st != napi_ok) {
    Unmap(m);
    delete m;
    return ThrowType(env, "napi_create_external_arraybuffer failed (external buffers not allowed?)");
  }
  return Napi::Value(env, ab);
}

// munmap(arrayBuffer): detach the buffer (every view becomes empty), then unmap. Idempotent.
Napi::Value Munmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) return ThrowType(env, "munmap(ArrayBuffer)");
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  void* data = ab.Data();
  auto it = g_live.find(data);
  if (it == g_live.end()) return env.Undefined();
  Mapping* m = it->second;
  napi_detach_arraybuffer(env, ab);
  Unmap(m);
  return env.Undefined();
}

// mappingFaulted(arrayBuffer) -> whether SIGBUS was contained inside this mapping.
Napi::Value MappingFaulted(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) return ThrowType(env, "mappingFaulted(ArrayBuffer)");
  auto it = g_live.find(info[0].As<Napi::ArrayBuffer>().Data());
  bool faulted = it != g_live.end() && it->second->slot >= 0 && g_slots[it->second->slot].faulted.load() != 0;
  return Napi::Boolean::New(env, faulted);
}

Napi::Value FaultCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), g_faults.load(std::memory_order_relaxed));
}

Napi::Value LiveMappings(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(g_live.size()));
}

Napi::Value PageSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(sysconf(_SC_PAGESIZE)));
}

// eventfdCreate(initial, nonBlocking) -> fd
Napi::Value EventfdCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t initial = 0;
  if (info.Length() > 0 && !ArgInt(info, 0, &initial)) return ThrowType(env, "eventfdCreate(initial, nonBlocking)");
  bool nonBlocking = info.Length() < 2 || info[1].ToBoolean().Value();
  int fd = eventfd(static_cast<unsigned>(initial), EFD_CLOEXEC | (nonBlocking ? EFD_NONBLOCK : 0));
  if (fd < 0) return ThrowErrno(env, "eventfd", errno);
  return Napi::Number::New(env, fd);
}

// eventfdWrite(fd, value) -> 0 or -errno. Never throws: the data path counts failures (a call fd
// that is a full pipe gives -EAGAIN) instead of unwinding.
Napi::Value EventfdWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  int64_t v = 1;
  if (!ArgFd(info, 0, &fd)) return Napi::Number::New(env, -EBADF);
  if (info.Length() > 1) ArgInt(info, 1, &v);
  uint64_t value = static_cast<uint64_t>(v);
  ssize_t n;
  do {
    n = write(fd, &value, sizeof(value));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Napi::Number::New(env, -errno);
  return Napi::Number::New(env, 0);
}

// eventfdRead(fd) -> counter value, or -errno (-EAGAIN when nothing is pending), or -1 on EOF.
Napi::Value EventfdRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return Napi::Number::New(env, -EBADF);
  uint64_t value = 0;
  ssize_t n;
  do {
    n = read(fd, &value, sizeof(value));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Napi::Number::New(env, -errno);
  if (n == 0) return Napi::Number::New(env, -1);
  return Napi::Number::New(env, static_cast<double>(value));
}

}  // namespace

void InitMem(Napi::Env env, Napi::Object exports) {
  exports.Set("memfdCreate", Napi::Function::New(env, MemfdCreate, "memfdCreate"));
  exports.Set("truncateFd", Napi::Function::New(env, TruncateFd, "truncateFd"));
  exports.Set("mmapFd", Napi::Function::New(env, MmapFd, "mmapFd"));
  exports.Set("munmap", Napi::Function::New(env, Munmap, "munmap"));
  exports.Set("mappingFaulted", Napi::Function::New(env, MappingFaulted, "mappingFaulted"));
  exports.Set("faultCount", Napi::Function::New(env, FaultCount, "faultCount"));
  exports.Set("liveMappings", Napi::Function::New(env, LiveMappings, "liveMappings"));
  exports.Set("pageSize", Napi::Function::New(env, PageSize, "pageSize"));
  exports.Set("eventfdCreate", Napi::Function::New(env, EventfdCreate, "eventfdCreate"));
  exports.Set("eventfdWrite", Napi::Function::New(env, EventfdWrite, "eventfdWrite"));
  exports.Set("eventfdRead", Napi::Function::New(env, EventfdRead, "eventfdRead"));
}

}  // namespace vu
