// The playground page: two prompt editors linted live with the settings, a problems list with quick
// fixes, format and fix-all, a tag browser, and generation with progress, a gallery and reuse.

import {call, element, postCount} from "./api.js";
import {applyAction, promptEditor, showProblems} from "./editor.js";

const $ = (id) => document.getElementById(id);
const LINT_DELAY = 200;
const SETTINGS = ["width", "height", "steps", "cfg", "sampler", "scheduler", "seed", "variant"];
const LINTED_SETTINGS = ["width", "height", "steps", "cfg", "sampler", "variant"];

let info = {index: false, engine: null, engine_note: ""};
let lintTimer = null;
let lintRound = 0;

const editors = {
  prompt: promptEditor($("prompt"), {hint: "safe, 1girl, hatsune miku, smile …", onChange: scheduleLint}),
  negative: promptEditor($("negative"), {hint: "worst quality, low quality …", onChange: scheduleLint}),
};

function status(text, kind = "") {
  const line = $("status");
  line.textContent = text;
  line.className = kind;
}

// -- settings -------------------------------------------------------------------------------------------

function numberOrNull(value) {
  return value === "" ? null : Number(value);
}

function loraRows() {
  return [...document.querySelectorAll(".lora-row")].map((row) => ({
    name: row.querySelector("select").value,
    strength: Number(row.querySelector("input").value || 1),
  })).filter((lora) => lora.name);
}

function readSettings() {
  const values = {};
  for (const name of SETTINGS) {
    const input = $(name);
    values[name] = input.type === "number" ? numberOrNull(input.value) : input.value || null;
  }
  values.loras = loraRows();
  return values;
}

function lintSettings() {
  const values = readSettings();
  const settings = {loras: values.loras};
  for (const name of LINTED_SETTINGS) if (values[name] !== null) settings[name] = values[name];
  return settings;
}

function writeSettings(values) {
  for (const name of SETTINGS) if (values[name] !== undefined && values[name] !== null) $(name).value = values[name];
  $("loras").replaceChildren();
  for (const lora of values.loras || []) addLoraRow(lora.name, lora.strength);
}

function addLoraRow(name = "", strength = 1) {
  const names = info.engine ? info.engine.loras : [];
  const select = element("select", {"aria-label": "LoRA"}, element("option", {value: ""}, "(none)"),
    names.map((option) => element("option", {value: option}, option)));
  select.value = name;
  const weight = element("input", {type: "number", step: "0.05", value: strength, "aria-label": "LoRA strength"});
  const row = element("div", {class: "lora-row"}, select, weight,
    element("button", {type: "button", class: "small", onclick: () => { row.remove(); scheduleLint(); }}, "×"));
  select.addEventListener("change", scheduleLint);
  weight.addEventListener("input", scheduleLint);
  $("loras").append(row);
}

// -- lint -----------------------------------------------------------------------------------------------

function scheduleLint() {
  // Until the new findings arrive, the listed ones may point at text that moved: no fixes from them.
  $("problems").classList.add("stale");
  for (const button of $("problems").querySelectorAll("button")) button.disabled = true;
  clearTimeout(lintTimer);
  lintTimer = setTimeout(lint, LINT_DELAY);
}

async function lint() {
  const round = ++lintRound;
  const prompt = editors.prompt.state.doc.toString();
  const negative = editors.negative.state.doc.toString();
  let result;
  try {
    result = await call("/api/lint", {prompt, negative, settings: lintSettings()});
  } catch (error) {
    if (round === lintRound) renderProblems([], {prompt, negative}, error.message);
    return;
  }
  if (round !== lintRound) return;
  const texts = {prompt, negative};
  for (const target of ["prompt", "negative"]) {
    showProblems(editors, target, result.problems.filter((p) => p.target === target), texts);
  }
  renderProblems(result.problems, texts, "");
}

function renderProblems(problems, texts, error) {
  const list = $("problems");
  list.replaceChildren();
  list.classList.remove("stale");
  if (error) list.append(element("li", {class: "problem error"}, error));
  for (const problem of problems) {
    const place = problem.target === "settings" ? "settings" : `${problem.target} ${problem.start}–${problem.end}`;
    const buttons = problem.actions.map((action) =>
      element("button", {type: "button", class: "small fix", onclick: () => applyAction(editors, texts, action)}, action.title));
    list.append(element("li", {class: `problem ${problem.severity}`, "data-code": problem.code},
      element("span", {class: "severity"}, problem.severity),
      element("code", {}, problem.code),
      element("span", {class: "message"}, problem.message),
      problem.suggestions.length && problem.target === "settings"
        ? element("span", {class: "hint"}, `try ${problem.suggestions.join(", ")}`) : null,
      element("span", {class: "place"}, place),
      buttons));
  }
  $("problem-count").textContent = problems.length ? `${problems.length}` : "none";
}

async function replaceWith(view, path, key) {
  const text = view.state.doc.toString();
  try {
    const result = await call(path, {prompt: text});
    if (view.state.doc.toString() === text && result[key] !== text) {
      view.dispatch({changes: {from: 0, to: text.length, insert: result[key]}});
    }
  } catch (error) {
    status(error.message, "error");
  }
}

// -- tag browser ----------------------------------------------------------------------------------------

function insertTag(text) {
  const view = editors.prompt;
  const at = view.state.selection.main.head;
  const doc = view.state.doc.toString();
  const before = doc.slice(0, at).trimEnd();
  const after = doc.slice(at).trimStart();
  const insert = (before && !before.endsWith(",") ? ", " : "") + text + (after && !after.startsWith(",") ? ", " : "");
  view.dispatch({changes: {from: at, insert}, selection: {anchor: at + insert.length}});
  view.focus();
}

async function searchTags() {
  const query = $("tag-search").value.trim();
  const list = $("tag-results");
  if (!query) return list.replaceChildren();
  try {
    const result = await call(`/api/tags?${new URLSearchParams({q: query, limit: 40})}`);
    list.replaceChildren(...result.tags.map((tag) => element("li", {class: "tag-row"},
      element("button", {type: "button", class: `link category-${tag.category_name}`, onclick: () => showTag(tag.prompt)}, tag.display),
      element("span", {class: "count"}, postCount(tag.post_count)),
      tag.aliases.length ? element("span", {class: "aliases"}, tag.aliases.slice(0, 3).join(", ").replaceAll("_", " ")) : null)));
    if (!result.tags.length) list.append(element("li", {class: "empty"}, "no tag starts with that"));
  } catch (error) {
    list.replaceChildren(element("li", {class: "error"}, error.message));
  }
}

async function showTag(name) {
  const box = $("tag-detail");
  const {hover} = await call(`/api/tag?${new URLSearchParams({name})}`);
  if (!hover) return box.replaceChildren(element("p", {}, `${name}: not in the index`));
  const names = (label, values) => values.length ? element("p", {}, element("b", {}, `${label}: `),
    values.slice(0, 30).map((value) => element("button", {type: "button", class: "link", onclick: () => showTag(value)}, value)),
    values.length > 30 ? ` and ${values.length - 30} more` : "") : null;
  box.replaceChildren(...[
    element("h3", {class: `category-${hover.category}`}, hover.insert),
    element("p", {}, `${hover.category} · ${postCount(hover.post_count)} posts · ${hover.source}`),
    hover.alias_of ? element("p", {}, `alias of ${hover.alias_of}`) : null,
    names("aliases", hover.aliases), names("implies", hover.implies), names("implied by", hover.implied_by),
    element("button", {type: "button", onclick: () => insertTag(hover.insert)}, "insert into prompt"),
  ].filter(Boolean));
}

// -- generation -----------------------------------------------------------------------------------------

let currentJob = null;

async function generate() {
  const values = readSettings();
  const body = {
    prompt: editors.prompt.state.doc.toString(),
    negative: editors.negative.state.doc.toString(),
    loras: values.loras,
  };
  for (const name of SETTINGS) if (values[name] !== null) body[name] = values[name];
  try {
    const job = await call("/api/generate", body);
    follow(job.id);
  } catch (error) {
    status(error.message, "error");
  }
}

function follow(jobId) {
  currentJob = jobId;
  $("cancel").disabled = false;
  $("progress").value = 0;
  status("queued");
  const events = new EventSource(`/api/jobs/${jobId}/events`);
  const finish = (text, kind) => {
    events.close();
    status(text, kind);
    if (currentJob === jobId) $("cancel").disabled = true;
    loadGallery();
  };
  events.addEventListener("queued", (e) => status(`queued (position ${JSON.parse(e.data).position})`));
  events.addEventListener("started", () => status("loading models and encoding …"));
  events.addEventListener("step", (e) => {
    const step = JSON.parse(e.data);
    $("progress").max = step.total;
    $("progress").value = step.step;
    status(`step ${step.step} / ${step.total}`);
  });
  events.addEventListener("done", () => finish("done", "ok"));
  events.addEventListener("failed", (e) => finish(`failed: ${JSON.parse(e.data).error}`, "error"));
  events.addEventListener("cancelled", () => finish("cancelled"));
}

async function cancel() {
  if (currentJob) await call(`/api/jobs/${currentJob}/cancel`, {}).catch((error) => status(error.message, "error"));
}

function settingsSummary(settings) {
  const loras = (settings.loras || []).map((lora) => `${lora.name}:${lora.strength}`).join(" ");
  return `${settings.width}×${settings.height} · ${settings.steps} steps · CFG ${settings.cfg} · ${settings.sampler}/${settings.scheduler} · seed ${settings.seed} · ${settings.variant}${loras ? " · " + loras : ""}`;
}

function reuse(settings) {
  for (const [name, text] of [["prompt", settings.prompt], ["negative", settings.negative]]) {
    const view = editors[name];
    view.dispatch({changes: {from: 0, to: view.state.doc.length, insert: text || ""}});
  }
  writeSettings(settings);
  scheduleLint();
}

async function loadGallery() {
  if (!info.engine) return;
  const {images} = await call("/api/gallery");
  $("gallery").replaceChildren(...images.map((image) => element("figure", {class: "shot", "data-image": image.id},
    element("img", {src: image.url, alt: image.settings.prompt, width: Math.min(image.settings.width, 256)}),
    element("figcaption", {},
      element("p", {class: "shot-prompt"}, image.settings.prompt),
      element("p", {class: "shot-settings"}, settingsSummary(image.settings)),
      element("button", {type: "button", class: "small", onclick: () => reuse(image.settings)}, "reuse settings"),
      element("a", {href: `${image.url}?download=true`, download: `anima-${image.id}.png`, class: "small"}, "download")))));
}

// -- start ----------------------------------------------------------------------------------------------

async function start() {
  info = await call("/api/info");
  $("index-state").textContent = info.index ? "tag index loaded" : "no tag index (completion off)";
  $("engine-state").textContent = info.engine ? "generation on" : info.engine_note;
  const engine = info.engine;
  for (const [id, options] of [["sampler", engine ? engine.samplers : ["er_sde"]],
                               ["scheduler", engine ? engine.schedulers : ["simple"]],
                               ["variant", engine ? engine.variants : ["base", "aesthetic", "turbo"]]]) {
    $(id).replaceChildren(...options.map((option) => element("option", {value: option}, option)));
  }
  $("generate").disabled = !engine;
  $("add-lora").disabled = !engine || !engine.loras.length;
  const applyPreset = () => {
    const preset = engine && engine.defaults[$("variant").value];
    if (preset) writeSettings({...readSettings(), ...preset});
  };
  applyPreset();
  $("variant").addEventListener("change", () => { applyPreset(); scheduleLint(); });
  for (const name of SETTINGS) $(name).addEventListener("input", scheduleLint);
  $("format").addEventListener("click", () => replaceWith(editors.prompt, "/api/fmt", "formatted"));
  $("format-negative").addEventListener("click", () => replaceWith(editors.negative, "/api/fmt", "formatted"));
  $("fix-all").addEventListener("click", () => replaceWith(editors.prompt, "/api/fix", "prompt"));
  $("add-lora").addEventListener("click", () => { addLoraRow(); scheduleLint(); });
  $("generate").addEventListener("click", generate);
  $("cancel").addEventListener("click", cancel);
  let searchTimer = null;
  $("tag-search").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(searchTags, 150); });
  document.body.dataset.ready = "true";
  scheduleLint();
  loadGallery();
}

start().catch((error) => status(error.message, "error"));
