// Mermaid's own parser, headless: reads a JSON list of diagram texts on stdin and prints, as JSON,
// one result per diagram: {"ok": true, "type": "flowchart-v2"} or {"ok": false, "error": "..."}.
// With --lines: the same for each line of stdin (a JSON list), a line of results each.
// mermaid.parse needs a DOM (DOMPurify), so jsdom provides window and document.
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>", { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const name of ["navigator", "Element", "HTMLElement", "Node", "DOMParser", "MutationObserver"]) {
  if (!(name in globalThis)) {
    Object.defineProperty(globalThis, name, { value: dom.window[name], configurable: true });
  }
}

const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });

async function verdicts(texts) {
  const results = [];
  for (const text of texts) {
    try {
      const parsed = await mermaid.parse(text);
      results.push({ ok: true, type: parsed.diagramType });
    } catch (err) {
      results.push({ ok: false, error: String(err && err.message ? err.message : err) });
    }
  }
  return results;
}

if (process.argv.includes("--lines")) {
  // One JSON list a line in, one line of results out, until stdin closes: one process (loading
  // jsdom and mermaid takes seconds) serves every caller of a test session.
  const { createInterface } = await import("node:readline");
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim()) process.stdout.write(JSON.stringify(await verdicts(JSON.parse(line))) + "\n");
  }
} else {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  process.stdout.write(JSON.stringify(await verdicts(JSON.parse(input))) + "\n");
}
