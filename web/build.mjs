// Builds the page of `anima serve` into anima_prompt/serve/static/ (committed, shipped in the wheel):
// the bundled script (CodeMirror included, no CDN), the HTML and the stylesheet.
// Run `npm ci && npm run build` in web/ after changing anything in web/src/.

import {build} from "esbuild";
import {copyFileSync, mkdirSync} from "node:fs";
import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "anima_prompt", "serve", "static");
mkdirSync(out, {recursive: true});
await build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022"],
  legalComments: "eof",
  outfile: join(out, "playground.js"),
  logLevel: "info",
});
for (const name of ["index.html", "playground.css"]) copyFileSync(join(here, "src", name), join(out, name));
