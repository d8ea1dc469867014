// The current-task slot of weft/asyncio (src/internal/context.ts), kept in V8's
// "continuation-preserved embedder data" (CPED) of the context weft's code runs in.
//
// Why: V8 copies CPED into every promise reaction when it is created (an `await`, a `then`) and
// makes it current again while the reaction runs, then clears it. That is exactly "the task that
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
using v8::String;
using v8::Value;

// Before V8 12 the slot belongs to a context, and a reaction copies the slot of the context its
// handler was made in. weft's code may run in a context other than the one this addon was
// loaded in (a test runner that evaluates modules in a `vm` context but loads addons with the
// real require), so `bind()` ties a set of functions to the context of the code that called it:
// the incumbent one, found once (it is a stack walk: too slow for every call).
struct Bound {
  Global<Context> context;
};

Local<Context> Target(const FunctionCallbackInfo<Value>& info) {
  Isolate* isolate = info.GetIsolate();
  Bound* b = static_cast<Bound*>(info.Data().As<External>()->Value());
  // The functions run in the context they were made in, which is weft's own unless weft was
  // evaluated in a `vm` context: then the current context is the one at hand, one handle
  // fewer than the Global's (this is on the path of every uncontended Lock acquire).
  // Weak: the functions live as long as the code of that context that holds them, so the
  // context is alive whenever they are called; the empty case is for safety only.
  Local<Context> here = isolate->GetCurrentContext();
  if (b->context.IsEmpty() || b->context == here) return here;
  return b->context.Get(isolate);
}

Local<Value> Read(const FunctionCallbackInfo<Value>& info) {
#if V8_MAJOR_VERSION >= 12
  return info.GetIsolate()->GetContinuationPreservedEmbedderData();
#else
  return Target(info)->GetContinuationPreservedEmbedderData();
#endif
}

void Write(const FunctionCallbackInfo<Value>& info, Local<Value> value) {
#if V8_MAJOR_VERSION >= 12
  info.GetIsolate()->SetContinuationPreservedEmbedderData(value);
#else
  Target(info)->SetContinuationPreservedEmbedderData(value);
#endif
}

// current(): the slot, null when unset (V8 leaves undefined there between jobs).
void Current(const FunctionCallbackInfo<Value>& info) {
  Local<Value> v = Read(info);
  if (v->IsUndefined()) info.GetReturnValue().SetNull();
  else info.GetReturnValue().Set(v);
}

// swap(value): sets the slot, returns what it held (null when unset).
void Swap(const FunctionCallbackInfo<Value>& info) {
  Local<Value> prev = Read(info);
  Write(info, info[0]);
  if (prev->IsUndefined()) info.GetReturnValue().SetNull();
  else info.GetReturnValue().Set(prev);
}

// set(value): sets the slot.
void Set(const FunctionCallbackInfo<Value>& info) {
  Write(info, info[0]);
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
  Bound* b = new Bound{Global<Context>(isolate, isolate->GetIncumbentContext())};
  b->context.SetWeak(b, Forget, v8::WeakCallbackType::kParameter);
  Local<External> data = External::New(isolate, b);
  Local<Object> out = Object::New(isolate);
  Export(here, out, "current", Current, data);
  Export(here, out, "swap", Swap, data);
  Export(here, out, "set", Set, data);
  info.GetReturnValue().Set(out);
}

}  // namespace

// Context-aware: loaded once per thread (each worker has its own isolate and slot).
NODE_MODULE_INIT() {
  Export(context, exports.As<Object>(), "bind", Bind, Local<Value>());
}
