// Bundle each view's front end into attnlab/static/<view>.js (ES modules for anywidget) and copy the CSS.
// Usage: node build.mjs [--watch]
import * as esbuild from "esbuild";
import { copyFileSync } from "node:fs";

const views = ["attention_view", "head_grid", "ablation_lab", "sink_view"];
const options = {
  entryPoints: views.map((v) => `src/${v}.js`),
  outdir: "../attnlab/static",
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: true,
  legalComments: "none",
  define: { "define.amd": "false" }, // anywidget#369: keep bundles from looking like AMD modules
  logLevel: "info",
};
copyFileSync("src/style.css", "../attnlab/static/attnlab.css");
if (process.argv.includes("--watch")) await (await esbuild.context(options)).watch();
else await esbuild.build(options);
