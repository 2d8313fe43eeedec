// `wasm-opt -Oz` on many modules in one process, through binaryen's JS API: `cargo xtask build` runs
// it on the lazily loaded chunks, where starting the `wasm-opt` CLI (about 2 s, compiling binaryen
// itself) would cost more than optimising a chunk. The same features and passes as the CLI run on the
// main module (`WASM_OPT_ARGS` in build.rs). Usage: node wasm-opt-many.mjs <binaryen/index.js> <in.wasm>...
// Writes <in>.opt.wasm beside each input.
import { readFileSync, writeFileSync } from "node:fs";

const [, , binaryenPath, ...inputs] = process.argv;
const { default: binaryen } = await import(binaryenPath);
const F = binaryen.Features;
const features =
  F.BulkMemory | F.BulkMemoryOpt | F.MutableGlobals | F.NontrappingFPToInt | F.SignExt |
  F.ReferenceTypes | F.Multivalue;
binaryen.setOptimizeLevel(2);
binaryen.setShrinkLevel(2);
binaryen.setDebugInfo(false);
for (const input of inputs) {
  const module = binaryen.readBinary(readFileSync(input));
  module.setFeatures(features);
  module.optimize();
  module.runPasses(["strip-debug", "strip-producers"]);
  if (!module.validate()) {
    console.error(`wasm-opt-many: ${input} does not validate after optimising`);
    process.exit(1);
  }
  writeFileSync(input.replace(/\.wasm$/, ".opt.wasm"), module.emitBinary());
  module.dispose();
}
