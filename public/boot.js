// Loads the WebAssembly console. Kept out of index.html: the CSP allows no inline script.
import init from "/pkg/app.js";
init({ module_or_path: "/pkg/app_bg.wasm" });
