// Copy link: a link shown as one line of monospace text with a Copy button beside it (the share box, the class
// link). It stands in for st.code, whose first use on a page loads Streamlit's 1.5 MB syntax highlighter and runs
// it for about 0.3 s on the main thread while the latent planes wait to start (benchmarks/explorer_browser.py).
//
// data (JSON): {"link": str} shows that link; {"follow": {"drop": [names], "add": [[name, value], ...]}} shows the
// page's own address instead, as the server last wrote it (ui/share.py writes a view's parameters to the URL), less
// the parameters in `drop`, plus those in `add`, commas kept readable. It follows the address by reading it a few
// times a second, so the server sends nothing when a click changes the view. "label": the button's accessible name.
// The button copies with the Clipboard API where the page may use it (https, or this computer); elsewhere (a
// classroom server on the local network, plain http) it selects the link and copies the selection; if even that is
// refused, the link stays selected and the button says to press Ctrl+C. Sends nothing to the server.
// Test hook: window.__copyLink[link] = "shown" | "copied" | "selected".

const FOLLOW_MS = 250;

function selectText(node) {
  const range = document.createRange();
  range.selectNodeContents(node);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

async function copy(text, node) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return "copied";
    } catch (e) {
      // fall through to the selection
    }
  }
  selectText(node);
  let done = false;
  try {
    done = document.execCommand("copy");
  } catch (e) {
    done = false;
  }
  return done ? "copied" : "selected";
}

function enc(text) {
  return encodeURIComponent(text).replace(/%2C/gi, ",");
}

// The page's address with the view's parameters, as ui/share.py's link() writes them.
export function followedLink(location, follow) {
  const drop = new Set((follow && follow.drop) || []);
  const parts = [];
  for (const [k, v] of new URLSearchParams(location.search)) {
    if (!drop.has(k)) parts.push(`${enc(k)}=${enc(v)}`);
  }
  for (const [k, v] of (follow && follow.add) || []) parts.push(`${enc(k)}=${enc(v)}`);
  const base = location.origin + location.pathname;
  return parts.length ? `${base}?${parts.join("&")}` : base;
}

function note(link, state) {
  window.__copyLink = window.__copyLink || {};
  if (state !== "shown" || !(link in window.__copyLink)) window.__copyLink[link] = state;
}

export default function (component) {
  const { data, parentElement } = component;
  let root = parentElement.querySelector(".cl-root");
  if (!root) {
    root = document.createElement("div");
    root.className = "cl-root";
    const text = document.createElement("code");
    text.className = "cl-link";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "cl-copy";
    button.textContent = "Copy";
    button.title = "Copy the link";
    root.append(text, button);
    parentElement.append(root);
    button.addEventListener("click", async () => {
      root.__refresh();
      const shown = root.querySelector(".cl-link");
      const result = await copy(shown.textContent, shown);
      button.textContent = result === "copied" ? "Copied" : "Press Ctrl+C";
      note(shown.textContent, result);
      clearTimeout(root.__reset);
      root.__reset = setTimeout(() => { button.textContent = "Copy"; }, 2000);
    });
  }
  const follow = data && data.follow;
  root.__refresh = () => {
    const link = follow ? followedLink(window.location, follow) : String((data && data.link) || "");
    const shown = root.querySelector(".cl-link");
    if (shown.textContent !== link) shown.textContent = link;
    note(link, "shown");
  };
  root.__refresh();
  root.querySelector(".cl-copy").setAttribute("aria-label", (data && data.label) || "Copy the link");
  clearInterval(root.__timer);
  if (follow) root.__timer = setInterval(() => root.__refresh(), FOLLOW_MS);
  return () => {
    clearInterval(root.__timer);
    clearTimeout(root.__reset);
  };
}
