// The current-task slot of weft/asyncio (src/internal/context.ts), kept in V8's
// "continuation-preserved embedder data" (CPED) of the current context.
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
using v8::FunctionCallbackInfo;
using v8::FunctionTemplate;
using v8::Isolate;
using v8::Local;
using v8::Object;
using v8::String;
using v8::Value;

Local<Value> Read(Isolate* isolate) {
#if V8_MAJOR_VERSION >= 12
  return isolate->GetContinuationPreservedEmbedderData();
#else
  return isolate->GetCurrentContext()->GetContinuationPreservedEmbedderData();
#endif
}

void Write(Isolate* isolate, Local<Value> value) {
#if V8_MAJOR_VERSION >= 12
  isolate->SetContinuationPreservedEmbedderData(value);
#else
  isolate->GetCurrentContext()->SetContinuationPreservedEmbedderData(value);
#endif
}

// current(): the slot, null when unset (V8 leaves undefined there between jobs).
void Current(const FunctionCallbackInfo<Value>& info) {
  Local<Value> v = Read(info.GetIsolate());
  if (v->IsUndefined()) info.GetReturnValue().SetNull();
  else info.GetReturnValue().Set(v);
}

// swap(value): sets the slot, returns what it held (null when unset).
void Swap(const FunctionCallbackInfo<Value>& info) {
  Isolate* isolate = info.GetIsolate();
  Local<Value> prev = Read(isolate);
  Write(isolate, info[0]);
  if (prev->IsUndefined()) info.GetReturnValue().SetNull();
  else info.GetReturnValue().Set(prev);
}

// set(value): sets the slot.
void Set(const FunctionCallbackInfo<Value>& info) {
  Write(info.GetIsolate(), info[0]);
}

void Export(Local<Context> context, Local<Object> exports, const char* name,
            v8::FunctionCallback fn) {
  Isolate* isolate = context->GetIsolate();
  Local<FunctionTemplate> t = FunctionTemplate::New(isolate, fn);
  exports
      ->Set(context, String::NewFromUtf8(isolate, name).ToLocalChecked(),
            t->GetFunction(context).ToLocalChecked())
      .Check();
}

}  // namespace

// Context-aware: loaded once per thread (each worker has its own isolate and slot).
NODE_MODULE_INIT() {
  Export(context, exports.As<Object>(), "current", Current);
  Export(context, exports.As<Object>(), "swap", Swap);
  Export(context, exports.As<Object>(), "set", Set);
}
