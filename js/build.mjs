// Bundle each view's front end into attnlab/static/<view>.js (ES modules for anywidget) and copy the CSS.
// The only place the build flags live: js/build.sh and the bundle test both run this file.
// Usage: node build.mjs [--watch] [--outdir DIR]   (DIR defaults to ../attnlab/static)
import * as esbuild from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const arg = process.argv.indexOf("--outdir");
const outdir = arg > 0 ? resolve(process.argv[arg + 1]) : resolve(here, "../attnlab/static");
const views = ["attention_view", "head_grid", "ablation_lab", "sink_view"];
const options = {
  absWorkingDir: here,
  entryPoints: views.map((v) => `src/${v}.js`),
  outdir,
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: true,
  legalComments: "none",
  define: { "define.amd": "false" }, // anywidget#369: keep bundles from looking like AMD modules
  logLevel: "warning",
};
mkdirSync(outdir, { recursive: true });
copyFileSync(resolve(here, "src/style.css"), resolve(outdir, "attnlab.css"));
if (process.argv.includes("--watch")) await (await esbuild.context(options)).watch();
else await esbuild.build(options);
