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
#include <vector>

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

// One mapping per file (device, inode and size) per process, and one V8 backing store over it,
// shared by every SharedArrayBuffer map() hands out for it in any thread. One store, not one a
// call: V8 matches Atomics.wait/notify waiters by their backing store, so a notify through a
// second store over the same pages aborted the process (a thread that attached a SharedMemory
// by name and waited, woken from another thread's handle). When V8 frees the store (no buffer,
// view or wait of any thread refers to it any more) its deleter unmaps the pages: a process that
// makes a SharedMemory block a job, closes it and unlinks it does not keep every block's memory
// until it ends. The slab's creator (`keep`) never unmaps it: its descriptor and lock must
// outlive every buffer (see `abandoned`), so its store is held for good.
//
// The deleter is a function of this library, called from whatever thread frees the store (a
// collector's, or a worker's isolate as it is torn down): the library is linked -z nodelete
// (binding.gyp), so it is still loaded then. It takes the table's mutex, so nothing that may
// collect garbage (making a JavaScript value, dropping the last reference to a store) runs while
// map() holds it: a collection there would free a store and wait for the mutex for ever.
struct Mapping {
  void* data;
  size_t size;
  std::string key;
  // Kept (`keep`): its store is held for good and one descriptor stays open under a shared lock
  // (guarded by mappings_mutex).
  bool kept;
};
struct Entry {
  Mapping* mapping;
  // Expired once V8 has let go of the store; its deleter may not have run yet.
  std::weak_ptr<BackingStore> store;
};
std::mutex mappings_mutex;
// Linux allows about 65,530 mappings a process (vm.max_map_count), and V8 and Node need many of
// them: past this many shared files mapped at once a map() is refused, where the process would
// otherwise crash at its next allocation (a reviewer's loop of SharedMemory blocks kept alive).
const size_t kMaxMappings = 32768;
std::map<std::string, Entry>* mappings = new std::map<std::string, Entry>();
// The stores of `keep` mappings: never freed.
std::vector<std::shared_ptr<BackingStore>>* kept = new std::vector<std::shared_ptr<BackingStore>>();

// V8 frees a mapping's store: unmap its pages. The table's entry goes with it unless a map()
// made a new mapping of the file meanwhile (the store had expired), which the entry then holds.
void StoreFreed(void* /* data */, size_t /* length */, void* deleter_data) {
  Mapping* m = static_cast<Mapping*>(deleter_data);
  {
    std::lock_guard<std::mutex> guard(mappings_mutex);
    auto it = mappings->find(m->key);
    if (it != mappings->end() && it->second.mapping == m) mappings->erase(it);
  }
  munmap(m->data, m->size);
  delete m;
}

// mapped(): how many files this process has mapped now (tests: freed buffers unmap theirs).
void Mapped(const FunctionCallbackInfo<Value>& info) {
  size_t n;
  {
    std::lock_guard<std::mutex> guard(mappings_mutex);
    n = mappings->size();
  }
  info.GetReturnValue().Set(static_cast<double>(n));
}

void Throw(Isolate* isolate, const std::string& message) {
  isolate->ThrowException(
      Exception::Error(String::NewFromUtf8(isolate, message.c_str()).ToLocalChecked()));
}

// Opens, sizes and maps the file under the table's mutex; returns its store, or an error
// message (thrown by the caller once the mutex is released). See Map for the arguments.
std::shared_ptr<BackingStore> MapLocked(const char* path, size_t size, bool create, bool keep,
                                        std::string* error) {
  int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
  if (fd < 0) {
    *error = std::string("map: open ") + path + ": " + strerror(errno);
    return nullptr;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    *error = std::string("map: stat ") + path + ": " + strerror(e);
    return nullptr;
  }
  // By the file itself, not its name: a name removed and made again (a SharedMemory unlinked
  // and created anew) is another file, which must not be served the old one's pages. And by
  // size: a file another process resized is mapped again at its new size (both mappings show
  // the same pages).
  std::string key = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
                    std::to_string(size);
  auto found = mappings->find(key);
  if (found != mappings->end()) {
    std::shared_ptr<BackingStore> store = found->second.store.lock();
    if (store) {
      Mapping* m = found->second.mapping;
      if (keep && !m->kept) {
        // The slab's creator keeps it, whoever mapped it first: one descriptor stays open under
        // a shared lock for the life of the process (see `abandoned`), once.
        flock(fd, LOCK_SH);
        m->kept = true;
        kept->push_back(store);
      } else {
        close(fd);
      }
      return store;
    }
    // Expired: its deleter is on its way; this file gets a mapping of its own again.
  } else if (mappings->size() >= kMaxMappings) {
    close(fd);
    *error = std::string("map: limit: this process has ") + std::to_string(mappings->size()) +
             " shared files mapped and in use already";
    return nullptr;
  }
  // The slab's creator (keep) holds the file open with a shared lock for as long as it lives:
  // that is how `abandoned()` tells a file whose root is gone (a pid alone cannot: another pid
  // namespace sharing /dev/shm has its own pids).
  if (keep) flock(fd, LOCK_SH);
  if (static_cast<size_t>(st.st_size) < size) {
    if (!create) {
      close(fd);
      *error = std::string("map: ") + path + " is shorter than asked";
      return nullptr;
    }
    // Reserved, not only sized: a sparse file on a full tmpfs maps fine and then kills the
    // process with SIGBUS at the first page it cannot back. Without the room, the file goes
    // (no other process may map it) and the caller does without.
    int e = ftruncate(fd, size) != 0 ? errno : posix_fallocate(fd, 0, size);
    if (e != 0) {
      unlink(path);
      close(fd);
      *error = std::string("map: size ") + path + ": " + strerror(e);
      return nullptr;
    }
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int e = errno;
  if (!keep || p == MAP_FAILED) close(fd);
  if (p == MAP_FAILED) {
    *error = std::string("map: mmap ") + path + ": " + strerror(e);
    return nullptr;
  }
  Mapping* m = new Mapping{p, size, key, keep};
  std::shared_ptr<BackingStore> store =
      SharedArrayBuffer::NewBackingStore(p, size, StoreFreed, m);
  (*mappings)[key] = Entry{m, store};
  if (keep) kept->push_back(store);
  return store;
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
  std::string error;
  std::shared_ptr<BackingStore> store;
  {
    std::lock_guard<std::mutex> guard(mappings_mutex);
    store = MapLocked(*path, static_cast<size_t>(want), create, keep, &error);
  }
  // Outside the mutex (see the notes above): the error's allocation, and the buffer's.
  if (!store) {
    Throw(isolate, error);
    return;
  }
  info.GetReturnValue().Set(SharedArrayBuffer::New(isolate, store));
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
      ->Set(context, String::NewFromUtf8Literal(isolate, "mapped"),
            v8::FunctionTemplate::New(isolate, Mapped)->GetFunction(context).ToLocalChecked())
      .Check();
  exports
      ->Set(context, String::NewFromUtf8Literal(isolate, "abandoned"),
            v8::FunctionTemplate::New(isolate, Abandoned)->GetFunction(context).ToLocalChecked())
      .Check();
}
