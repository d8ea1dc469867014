// A file mapped MAP_SHARED, handed to JavaScript as a SharedArrayBuffer: the memory that the
// processes of one multiprocessing tree share (src/internal/process/lock-slab.ts lays it out).
//
// Why C++ against V8 and not Node-API: Node-API makes only plain ArrayBuffers over outside
// memory, and the lock words in the slab need Atomics with their cross-agent guarantees, which
// the language gives to SharedArrayBuffers. Why a file and not an anonymous mapping: Node starts
// child processes with spawn, not fork, so a child can only find the memory by a name; the file
// lives in /dev/shm (tmpfs) and the root process unlinks it when it exits.
//
// A build failure here must not stop the other addons: native/build.mjs builds this directory
// on its own, and lock-slab.ts falls back to the broker alone when this file is not loadable.
#include <errno.h>
#include <fcntl.h>
#include <node.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace {

using v8::BackingStore;
using v8::Context;
using v8::Exception;
using v8::FunctionCallbackInfo;
using v8::Isolate;
using v8::Local;
using v8::Number;
using v8::Object;
using v8::SharedArrayBuffer;
using v8::String;
using v8::Value;

struct Mapping {
  void* data;
  size_t size;
};

// One mapping per file (device and inode) per process, shared by its threads (each isolate
// gets its own SharedArrayBuffer over the same pages). Never unmapped: a lock word may be read by
// any thread until the process ends. Its buffers are freed with V8's own empty deleter, not a function of
// this library: a worker that loaded it and ends frees its buffers as its isolate is torn down,
// and a deleter in this library would then be called from code that may be unloaded (the
// library is also linked -z nodelete, binding.gyp, so the cache outlives such a worker).
std::mutex mappings_mutex;
// Linux allows about 65,530 mappings a process (vm.max_map_count), and V8 and Node need many of
// them: past this many shared files a map() is refused, where the process would otherwise crash
// at its next allocation (a reviewer's loop of SharedMemory blocks made and unlinked).
const size_t kMaxMappings = 32768;
std::map<std::string, Mapping>* mappings = new std::map<std::string, Mapping>();

void Throw(Isolate* isolate, const std::string& message) {
  isolate->ThrowException(
      Exception::Error(String::NewFromUtf8(isolate, message.c_str()).ToLocalChecked()));
}

// map(path, size, create, keep = create): opens `path` — with `create`, making it (mode 0600) and
// growing it to `size` bytes if it is shorter (new bytes read as zero; the threads of the
// creating process ask the same size, so their races are harmless) — maps it shared and returns
// a SharedArrayBuffer over it. Without `create` a file shorter than `size` is refused: its
// creator has not sized it yet, and touching pages past its end would raise SIGBUS. With `keep`
// the file stays open under a shared lock for the life of the process (the slab: see
// `abandoned`); without it the descriptor is closed once mapped (an Array's file: a process may
// make thousands, and the mapping alone keeps the pages).
void Map(const FunctionCallbackInfo<Value>& info) {
  Isolate* isolate = info.GetIsolate();
  if (info.Length() < 3 || !info[0]->IsString() || !info[1]->IsNumber() ||
      !info[2]->IsBoolean()) {
    Throw(isolate, "map(path, size, create) expects a string, a number and a boolean");
    return;
  }
  bool create = info[2]->IsTrue();
  bool keep = info.Length() > 3 && info[3]->IsBoolean() ? info[3]->IsTrue() : create;
  String::Utf8Value path(isolate, info[0]);
  double want = info[1].As<Number>()->Value();
  if (!(want > 0) || want > (1 << 30)) {
    Throw(isolate, "map: size must be between 1 byte and 1 GiB");
    return;
  }
  size_t size = static_cast<size_t>(want);
  Mapping m{nullptr, 0};
  {
    std::lock_guard<std::mutex> guard(mappings_mutex);
    int fd = open(*path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
    if (fd < 0) {
      Throw(isolate, std::string("map: open ") + *path + ": " + strerror(errno));
      return;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
      int e = errno;
      close(fd);
      Throw(isolate, std::string("map: stat ") + *path + ": " + strerror(e));
      return;
    }
    // By the file itself, not its name: a name removed and made again (a SharedMemory unlinked
    // and created anew) is another file, which must not be served the old one's pages. And by
    // size: a file another process resized is mapped again at its new size (both mappings show
    // the same pages).
    std::string key = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
                      std::to_string(size);
    auto found = mappings->find(key);
    if (found != mappings->end()) {
      close(fd);
      m = found->second;
    } else if (mappings->size() >= kMaxMappings) {
      close(fd);
      Throw(isolate, std::string("map: limit: this process has mapped ") +
                         std::to_string(mappings->size()) +
                         " shared files already, and unmaps none before it ends");
      return;
    } else {
      // The slab's creator (keep) holds the file open with a shared lock for as long as it
      // lives: that is how `abandoned()` tells a file whose root is gone (a pid alone cannot:
      // another pid namespace sharing /dev/shm has its own pids).
      if (keep) flock(fd, LOCK_SH);
      if (static_cast<size_t>(st.st_size) < size) {
        if (!create) {
          close(fd);
          Throw(isolate, std::string("map: ") + *path + " is shorter than asked");
          return;
        }
        // Reserved, not only sized: a sparse file on a full tmpfs maps fine and then kills the
        // process with SIGBUS at the first page it cannot back. Without the room, the file goes
        // (no other process may map it) and the caller does without.
        int e = ftruncate(fd, size) != 0 ? errno : posix_fallocate(fd, 0, size);
        if (e != 0) {
          unlink(*path);
          close(fd);
          Throw(isolate, std::string("map: size ") + *path + ": " + strerror(e));
          return;
        }
      }
      void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      int e = errno;
      if (!keep || p == MAP_FAILED) close(fd);
      if (p == MAP_FAILED) {
        Throw(isolate, std::string("map: mmap ") + *path + ": " + strerror(e));
        return;
      }
      m = Mapping{p, size};
      mappings->emplace(key, m);
    }
  }
  if (m.size != size) {
    Throw(isolate, "map: the file is already mapped with another size");
    return;
  }
  std::unique_ptr<BackingStore> store =
      SharedArrayBuffer::NewBackingStore(m.data, m.size, BackingStore::EmptyDeleter, nullptr);
  info.GetReturnValue().Set(SharedArrayBuffer::New(isolate, std::move(store)));
}

// abandoned(path): true when nobody holds the file's lock, that is, the process that made it is
// gone (see map); false while it lives, or when the file cannot be opened.
void Abandoned(const FunctionCallbackInfo<Value>& info) {
  Isolate* isolate = info.GetIsolate();
  if (info.Length() < 1 || !info[0]->IsString()) {
    Throw(isolate, "abandoned(path) expects a string");
    return;
  }
  String::Utf8Value path(isolate, info[0]);
  int fd = open(*path, O_RDONLY | O_CLOEXEC);
  bool free = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;
  if (fd >= 0) close(fd);
  info.GetReturnValue().Set(free);
}

}  // namespace

NODE_MODULE_INIT(/* exports, module, context */) {
  Isolate* isolate = context->GetIsolate();
  exports
      ->Set(context, String::NewFromUtf8Literal(isolate, "map"),
            v8::FunctionTemplate::New(isolate, Map)->GetFunction(context).ToLocalChecked())
      .Check();
  exports
      ->Set(context, String::NewFromUtf8Literal(isolate, "abandoned"),
            v8::FunctionTemplate::New(isolate, Abandoned)->GetFunction(context).ToLocalChecked())
      .Check();
}
