// The current-task slot of weft/asyncio (src/internal/context.ts), kept in V8's
// "continuation-preserved embedder data" (CPED) of the context weft's code runs in.
//
// Why: V8 copies CPED into every promise reaction when it is created (an `await`, a `then`) and
// makes it current again while the reaction runs, then clears it (when the reaction carried a
// value: one made with the slot unset neither sets nor clears it). That is exactly "the task that
// awaited resumes as the current task", and V8 does it for free, where promise hooks cost a call
// into JavaScript three times per await. Node 20 and 22 (without --experimental-async-context-
// frame) do not use CPED themselves; context.ts checks that before loading this addon.
//
// A build failure here must not stop the other addons: native/build.mjs builds this directory
// on its own, and context.ts falls back to promise hooks when this file is not loadable.
#include <node.h>

namespace {

using v8::Context;
using v8::External;
using v8::FunctionCallbackInfo;
using v8::FunctionTemplate;
using v8::Global;
using v8::Isolate;
using v8::Local;
using v8::Object;
using v8::Promise;
using v8::String;
using v8::Value;

// Before V8 12 the slot belongs to a context, and a reaction copies the slot of the context its
// handler was made in. weft's code may run in a context other than the one this addon was
// loaded in (a test runner that evaluates modules in a `vm` context but loads addons with the
// real require), so `bind()` ties a set of functions to the context of the code that called it:
// the incumbent one, found once (it is a stack walk: too slow for every call).
//
// Two sets exist. An API function runs in the context it was made in, which is where bind() made
// it; when that is also the caller's context (weft not inside a `vm` context: the usual case),
// the current context is the target and the functions need no data at all: the "Here" set. The
// other set carries the target in a weak handle. The difference is about 1.5 ns a call, measured
// on a loop of reads, and a read is on the path of every uncontended Lock acquire.
struct Bound {
  Global<Context> context;
};

Local<Context> Target(const FunctionCallbackInfo<Value>& info) {
  Isolate* isolate = info.GetIsolate();
  Bound* b = static_cast<Bound*>(info.Data().As<External>()->Value());
  // Weak: the functions live as long as the code of that context that holds them, so the
  // context is alive whenever they are called; the empty case is for safety only.
  if (b->context.IsEmpty()) return isolate->GetCurrentContext();
  return b->context.Get(isolate);
}

Local<Context> Here(const FunctionCallbackInfo<Value>& info) {
  return info.GetIsolate()->GetCurrentContext();
}

template <Local<Context> (*Where)(const FunctionCallbackInfo<Value>&)>
Local<Value> Read(const FunctionCallbackInfo<Value>& info) {
#if V8_MAJOR_VERSION >= 12
  return info.GetIsolate()->GetContinuationPreservedEmbedderData();
#else
  return Where(info)->GetContinuationPreservedEmbedderData();
#endif
}

template <Local<Context> (*Where)(const FunctionCallbackInfo<Value>&)>
void Write(const FunctionCallbackInfo<Value>& info, Local<Value> value) {
#if V8_MAJOR_VERSION >= 12
  info.GetIsolate()->SetContinuationPreservedEmbedderData(value);
#else
  Where(info)->SetContinuationPreservedEmbedderData(value);
#endif
}

// current(): the slot, null when unset (V8 leaves undefined there between jobs).
template <Local<Context> (*Where)(const FunctionCallbackInfo<Value>&)>
void Current(const FunctionCallbackInfo<Value>& info) {
  Local<Value> v = Read<Where>(info);
  if (v->IsUndefined()) info.GetReturnValue().SetNull();
  else info.GetReturnValue().Set(v);
}

// swap(value): sets the slot, returns what it held (null when unset).
template <Local<Context> (*Where)(const FunctionCallbackInfo<Value>&)>
void Swap(const FunctionCallbackInfo<Value>& info) {
  Local<Value> prev = Read<Where>(info);
  Write<Where>(info, info[0]);
  if (prev->IsUndefined()) info.GetReturnValue().SetNull();
  else info.GetReturnValue().Set(prev);
}

// set(value): sets the slot.
template <Local<Context> (*Where)(const FunctionCallbackInfo<Value>&)>
void Set(const FunctionCallbackInfo<Value>& info) {
  Write<Where>(info, info[0]);
}

// fulfilled(p, otherwise): p's value if p is a native promise already fulfilled, else
// `otherwise`. A task's body that ran to its end without suspending returns such a promise; the
// task then ends inside its first step, as a coroutine that returns at once does in CPython,
// instead of one reaction job later (a promise, a reaction and a job fewer per task).
void Fulfilled(const FunctionCallbackInfo<Value>& info) {
  Local<Value> v = info[0];
  if (v->IsPromise()) {
    Local<Promise> p = v.As<Promise>();
    if (p->State() == Promise::kFulfilled) {
      info.GetReturnValue().Set(p->Result());
      return;
    }
  }
  info.GetReturnValue().Set(info[1]);
}

void Export(Local<Context> context, Local<Object> target, const char* name,
            v8::FunctionCallback fn, Local<Value> data) {
  Isolate* isolate = context->GetIsolate();
  Local<FunctionTemplate> t = FunctionTemplate::New(isolate, fn, data);
  target
      ->Set(context, String::NewFromUtf8(isolate, name).ToLocalChecked(),
            t->GetFunction(context).ToLocalChecked())
      .Check();
}

void Forget(const v8::WeakCallbackInfo<Bound>& info) {
  Bound* b = info.GetParameter();
  b->context.Reset();
  delete b;
}

// bind(): { current, swap, set } for the slot of the calling code's context.
void Bind(const FunctionCallbackInfo<Value>& info) {
  Isolate* isolate = info.GetIsolate();
  Local<Context> here = isolate->GetCurrentContext();
  Local<Context> caller = isolate->GetIncumbentContext();
  Local<Object> out = Object::New(isolate);
  if (caller == here) {
    Export(here, out, "current", Current<Here>, Local<Value>());
    Export(here, out, "swap", Swap<Here>, Local<Value>());
    Export(here, out, "set", Set<Here>, Local<Value>());
  } else {
    Bound* b = new Bound{Global<Context>(isolate, caller)};
    b->context.SetWeak(b, Forget, v8::WeakCallbackType::kParameter);
    Local<External> data = External::New(isolate, b);
    Export(here, out, "current", Current<Target>, data);
    Export(here, out, "swap", Swap<Target>, data);
    Export(here, out, "set", Set<Target>, data);
  }
  info.GetReturnValue().Set(out);
}

}  // namespace

// Context-aware: loaded once per thread (each worker has its own isolate and slot).
NODE_MODULE_INIT() {
  Export(context, exports.As<Object>(), "bind", Bind, Local<Value>());
  Export(context, exports.As<Object>(), "fulfilled", Fulfilled, Local<Value>());
}
