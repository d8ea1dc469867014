// The same trivial task for piscina and tinypool (a worker module's default export).
export default function inc(x) {
  return x + 1;
}
