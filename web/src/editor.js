// The CodeMirror 6 prompt editors: tag completion from /api/complete, tag hovers from /api/hover, and
// diagnostics pushed in from the page's lint call (one call lints prompt, negative prompt and settings).

import {autocompletion, acceptCompletion, completionKeymap} from "@codemirror/autocomplete";
import {defaultKeymap, history, historyKeymap} from "@codemirror/commands";
import {setDiagnostics} from "@codemirror/lint";
import {EditorState} from "@codemirror/state";
import {EditorView, hoverTooltip, keymap, placeholder} from "@codemirror/view";

import {call, element, postCount, toBrowser, toServer} from "./api.js";

async function completeTags(context) {
  const text = context.state.doc.toString();
  const offset = toServer(text, context.pos);
  let result;
  try {
    result = await call("/api/complete", {text, offset, limit: 20});
  } catch {
    return null;
  }
  if (context.aborted || !result.items.length) return null;
  return {
    from: toBrowser(text, result.start),
    to: toBrowser(text, result.end),
    filter: false,
    options: result.items.map((item, rank) => ({
      label: item.label,
      apply: item.insert,
      type: item.category,
      detail: [item.alias_of ? `→ ${item.alias_of}` : "", postCount(item.post_count)].filter(Boolean).join("  "),
      info: `${item.category} · ${item.post_count} posts${item.match === "fuzzy" ? " · did you mean this?" : ""}`,
      boost: -rank,
    })),
  };
}

function tagCard(hover) {
  const rows = [
    element("div", {class: `tag-title category-${hover.category}`}, hover.insert),
    element("div", {class: "tag-meta"}, `${hover.category} · ${postCount(hover.post_count)} posts · ${hover.source}`),
  ];
  if (hover.alias_of) rows.push(element("div", {}, `alias of ${hover.alias_of}`));
  const list = (label, names) => {
    if (!names.length) return;
    const shown = names.slice(0, 12).join(", ");
    const more = names.length > 12 ? ` and ${names.length - 12} more` : "";
    rows.push(element("div", {class: "tag-list"}, element("b", {}, `${label}: `), shown + more));
  };
  list("aliases", hover.aliases);
  list("implies", hover.implies);
  list("implied by", hover.implied_by);
  return element("div", {class: "tag-card"}, rows);
}

const tagHover = hoverTooltip(async (view, pos) => {
  const text = view.state.doc.toString();
  let result;
  try {
    result = await call("/api/hover", {text, offset: toServer(text, pos)});
  } catch {
    return null;
  }
  if (!result.hover) return null;
  const hover = result.hover;
  return {
    pos: toBrowser(text, hover.start),
    end: toBrowser(text, hover.end),
    above: true,
    create: () => ({dom: tagCard(hover)}),
  };
}, {hoverTime: 350});

/** A prompt editor in `parent`; `onChange` is called with the new text after each edit. */
export function promptEditor(parent, {text = "", hint = "", onChange}) {
  return new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        history(),
        placeholder(hint),
        EditorView.lineWrapping,
        autocompletion({override: [completeTags], activateOnTyping: true, maxRenderedOptions: 20}),
        tagHover,
        keymap.of([{key: "Tab", run: acceptCompletion}, ...completionKeymap, ...historyKeymap, ...defaultKeymap]),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) onChange(update.state.doc.toString());
        }),
      ],
    }),
  });
}

/** Apply server edits (code-point offsets into `linted`) to the view, shifted by how the text moved. */
export function applyEdits(view, linted, edits, shift = 0) {
  const text = view.state.doc.toString();
  const changes = edits.map((edit) => ({
    from: toBrowser(linted, edit.start) + shift,
    to: toBrowser(linted, edit.end) + shift,
    insert: edit.text,
  }));
  if (changes.some((change) => change.from < 0 || change.to > text.length)) return;
  view.dispatch({changes});
  view.focus();
}

/** Apply a problem's action; `shift` is how far the problem's text moved since it was linted. */
export function applyAction(views, texts, action, shift = 0) {
  const view = views[action.target];
  if (view.state.doc.toString() !== texts[action.target] && shift === 0) return;
  applyEdits(view, texts[action.target], action.edits, shift);
}

/** Show `problems` of `views[target]` as squiggles with messages and quick-fix buttons. */
export function showProblems(views, target, problems, texts) {
  const view = views[target];
  const linted = texts[target];
  if (view.state.doc.toString() !== linted) return;
  const diagnostics = problems.map((problem) => {
    const from = toBrowser(linted, problem.start);
    return {
      from,
      to: Math.max(toBrowser(linted, problem.end), from),
      severity: problem.severity,
      source: problem.code,
      message: problem.message,
      actions: problem.actions.map((action) => ({
        name: action.title,
        apply: (_, at) => applyAction(views, texts, action, action.target === target ? at - from : 0),
      })),
    };
  });
  view.dispatch(setDiagnostics(view.state, diagnostics));
}
